"""Typed, frozen configuration of the equipment and of the regulation.

Each equipment type of docs/design.md §6 has a config dataclass here; the YAML ``type:`` picks it
from :data:`pvopt.equipment.registry.EQUIPMENT_TYPES`. Fields carry their YAML key, unit,
bounds and documentation as metadata (see :func:`option`): the loader validates from it
and the reference documentation is generated from it, so there is one schema.

Names keep the original system's YAML keys (``max_power``, ``nominal_power``,
``temp_min``…) while the Python fields carry units (``max_power_w``).
Powers are in W, energies in Wh, temperatures in °C, durations in seconds.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field
from datetime import time
from typing import Any

from pvopt.equipment.dimmer import Curve


def option(
    key: str,
    doc: str,
    *,
    default: Any = MISSING,
    unit: str = "",
    low: float | None = None,
    high: float | None = None,
    positive: bool = False,
    choices: tuple[str, ...] | None = None,
) -> Any:
    """A dataclass field with its YAML key, unit, bounds and documentation."""
    metadata = {
        "key": key,
        "doc": doc,
        "unit": unit,
        "low": low,
        "high": high,
        "positive": positive,
        "choices": choices,
    }
    if default is MISSING:
        return field(metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass(frozen=True)
class Command:
    """How one device is commanded (resolved from a preset and overrides)."""

    topic: str
    payload_on: str = "1"
    payload_off: str = "0"
    payload_percent: str = "{percent:.1f}"
    qos: int = 1
    retain: bool = False


@dataclass(frozen=True, kw_only=True)
class EquipmentConfig:
    """What every equipment has. List order in the YAML is priority (first = highest)."""

    name: str = option("name", "unique name, used in status, InfluxDB and regulation/control")
    id: str = option("id", "device id, used in the device topics (scr/<id>/...); unique")
    command: Command = field(metadata={"key": None})  # built from preset/topic/payload_*

    @property
    def is_variable(self) -> bool:
        """True for loads driven continuously (dimmers), False for on/off loads."""
        return isinstance(self, VariablePowerConfig)


@dataclass(frozen=True, kw_only=True)
class VariablePowerConfig(EquipmentConfig):
    """``VariablePowerEquipment``: a resistive load behind a phase-angle dimmer."""

    max_power_w: float = option("max_power", "power at 100 %", unit="W", positive=True)
    min_power_w: float = option(
        "min_power",
        "smallest power worth commanding; below it the load is off",
        default=0.0,
        unit="W",
        low=0,
    )
    min_energy_wh: float | None = option(
        "min_energy",
        "energy to deliver per period; reached from the sun it stops the diversion, "
        "a shortfall is completed from the grid late in the off-peak window",
        default=None,
        unit="Wh",
        positive=True,
    )
    period_s: int = option(
        "period",
        "length of a min_energy period, aligned on local midnight (86400 = a day)",
        default=86_400,
        unit="s",
        low=3600,
        high=7 * 86_400,
    )
    dimmer_curve: Curve = option(
        "dimmer_curve",
        "power → percent conversion: phase_angle (triac firing angle) or linear",
        default=Curve.PHASE_ANGLE,
        choices=tuple(c.value for c in Curve),
    )


@dataclass(frozen=True, kw_only=True)
class TempDrivenVariablePowerConfig(VariablePowerConfig):
    """``TempDrivenVariablePowerEquipment``: a water heater with a probe on scr/<id>/temperature."""

    temp_min_c: float = option(
        "temp_min", "below it, heat from the grid in off-peak hours", unit="°C", low=0, high=90
    )
    temp_eco_c: float = option(
        "temp_eco", "off-peak grid heating stops here", unit="°C", low=0, high=90
    )
    temp_sol_min_c: float = option(
        "temp_sol_min", "solar heating re-arms below it", unit="°C", low=0, high=95
    )
    temp_max_c: float = option(
        "temp_max", "never heated above it, in any mode", unit="°C", low=0, high=95
    )
    probe_timeout_s: float = option(
        "probe_timeout",
        "a probe silent for longer is unknown (not cold)",
        default=600.0,
        unit="s",
        positive=True,
    )


@dataclass(frozen=True, kw_only=True)
class ConstantPowerConfig(EquipmentConfig):
    """``ConstantPowerEquipment``: an on/off load of known power (plug, relay)."""

    nominal_power_w: float = option("nominal_power", "power drawn when on", unit="W", positive=True)
    min_on_s: float = option("min_on", "shortest run once started", default=300.0, unit="s", low=0)
    min_off_s: float = option(
        "min_off", "shortest pause once stopped", default=300.0, unit="s", low=0
    )


@dataclass(frozen=True, kw_only=True)
class UnknownPowerConfig(EquipmentConfig):
    """``UnknownPowerEquipment``: an on/off load whose power is learnt from the meter."""

    expected_power_w: float = option(
        "expected_power",
        "first guess of its power, replaced by what the meter shows when it switches",
        default=1000.0,
        unit="W",
        positive=True,
    )
    min_on_s: float = option("min_on", "shortest run once started", default=300.0, unit="s", low=0)
    min_off_s: float = option(
        "min_off", "shortest pause once stopped", default=300.0, unit="s", low=0
    )


@dataclass(frozen=True, kw_only=True)
class RegulationConfig:
    """The ``regulation:`` section: tunables with their defaults."""

    target_grid_w: float = option(
        "target_grid_power",
        "grid power aimed at (negative = slight export, so the meter never bills a trim)",
        default=-20.0,
        unit="W",
        low=-5000,
        high=5000,
    )
    dead_band_w: float = option(
        "dead_band",
        "errors smaller than this leave the outputs alone",
        default=10.0,
        unit="W",
        low=0,
        high=500,
    )
    stale_timeout_s: float = option(
        "stale_timeout",
        "meter data older than this: every load off",
        default=10.0,
        unit="s",
        positive=True,
        high=300,
    )
    gain: float = option(
        "gain",
        "fraction of the grid error the trim loop corrects at each settled meter reading "
        "(integral action; 1 = dead-beat)",
        default=0.9,
        low=0.05,
        high=1.0,
    )
    settle_time_s: float = option(
        "settle_time",
        "after a command, meter readings received within this time cannot show its effect "
        "in full (actuation + a 1 s mean + up to one frame of meter delay); the part not yet "
        "visible is predicted, and on/off switches wait for it",
        default=2.6,
        unit="s",
        low=0,
        high=30,
    )
    thermostat_probe_s: float = option(
        "thermostat_probe_interval",
        "a variable load found drawing nothing (thermostat cut) is tried again after this",
        default=900.0,
        unit="s",
        low=60,
    )
    start_margin_w: float = option(
        "start_margin",
        "spare surplus needed beyond an on/off load's power to start it",
        default=300.0,
        unit="W",
        low=0,
    )
    start_delay_s: float = option(
        "start_delay",
        "an on/off load starts when its surplus, averaged over this time, covers it "
        "(a passing gap in the clouds starts nothing)",
        default=600.0,
        unit="s",
        low=0,
    )
    stop_delay_s: float = option(
        "stop_delay",
        "an on/off load stops when the power it could have, averaged over this time, "
        "no longer covers it (a passing cloud stops nothing)",
        default=120.0,
        unit="s",
        low=0,
    )
    start_max_import: float = option(
        "start_max_import",
        "an on/off load does not start when, over start_delay, the surplus left this "
        "fraction of its power uncovered on average (it would import in every cloud "
        "shadow); raise it to run on/off loads more on broken-cloud days",
        default=0.05,
        low=0,
        high=1,
    )
    stop_max_import: float = option(
        "stop_max_import",
        "a running on/off load stops (after min-on) when it imported this fraction of its "
        "power on average over start_delay",
        default=0.1,
        low=0,
        high=1,
    )
    offpeak_start: time | None = option(
        "offpeak_start", "off-peak window start HH:MM (default: $HC_START_TIME)", default=None
    )
    offpeak_end: time | None = option(
        "offpeak_end", "off-peak window end HH:MM (default: $HC_END_TIME)", default=None
    )
    resend_interval_s: float = option(
        "resend_interval",
        "commands are re-sent at least this often",
        default=60.0,
        unit="s",
        low=5,
        high=60,
    )


@dataclass(frozen=True)
class SiteConfig:
    """A loaded ``equipment_config.yml``: equipment in priority order, and tunables."""

    equipment: tuple[EquipmentConfig, ...]
    regulation: RegulationConfig = field(default_factory=RegulationConfig)
