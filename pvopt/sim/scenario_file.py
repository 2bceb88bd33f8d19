"""Scenario files: a simulated day in YAML, loaded into a :class:`~pvopt.sim.scenarios.Scenario`.

What and why: the built-in days (:data:`pvopt.sim.scenarios.SCENARIOS`) are one array,
one household, one meter. A scenario file describes *your* house — the array's peak
power, place, tilt and azimuth, the household's base load, the meter's timing, the water
heater's tank — or replays a day it recorded (``replay:``, :mod:`pvopt.sim.replay`).
``pvopt simulate --scenario FILE`` runs one; the equipment and the regulation's tunables
stay in ``equipment_config.yml`` (``--config``).

Every key is optional but ``day`` (or ``replay``); sections may be left out. A complete
file, every key at its default but ``day``, ``sky``, ``pv.model`` and the base load's
extra loads, is :data:`EXAMPLE`; a replay is :data:`EXAMPLE_REPLAY`; the table of every
key, unit, default and bound is :func:`reference_markdown` (``python -m
pvopt.sim.scenario_file``). With ``replay:``, the recording replaces the PV model and the
household load, so ``day``, ``sky``, ``pv:`` and ``base_load:`` other than ``extra``
are errors (the recording says them).

The file is read like ``equipment_config.yml`` (:mod:`pvopt.equipment.loader`, same
machinery): safe YAML only, unquoted numbers such as ``4e3`` are numbers, ``HH:MM`` times
as written, repeated keys are errors, and every problem is reported at once, one per
line, naming the file, the line and the key path::

    house.yml:4: pv.tilt: expected a number from 0 to 90, got 95
    house.yml:12: base_load.extra[0].start: expected a time of day HH:MM, got '25:00'
    house.yml:20: replay.file: day.csv:17: grid_w: expected a number, got 'n/a'

Errors raise :class:`~pvopt.schema.ConfigFileError` (a :class:`ValueError`).
"""

from __future__ import annotations

import dataclasses
import os
import typing
from dataclasses import dataclass, replace
from datetime import date, time
from pathlib import Path
from typing import Any, Final

import yaml

from pvopt.equipment.model import option
from pvopt.equipment.reference import TABLE_HEADER, table_rows
from pvopt.schema import (
    INVALID,
    ConfigFileError,
    Entry,
    SchemaParser,
    keys_of,
    read_text,
    required,
    shown,
    suggest,
)
from pvopt.sim.equipment import TankParams
from pvopt.sim.load import DEFAULT_PROFILE
from pvopt.sim.pv import PV_MODELS, PvModelChoice, PvSite, Sky
from pvopt.sim.replay import INTERPOLATIONS, RecordedDay, load_csv
from pvopt.sim.scenarios import (
    PARIS,
    REFERENCE_PV,
    SCENARIOS,
    BaseLoadParams,
    ExtraLoad,
    MeterParams,
    Scenario,
)

__all__ = [
    "EXAMPLE",
    "EXAMPLE_REPLAY",
    "SECTIONS",
    "load_scenario",
    "parse_scenario",
    "reference_markdown",
    "resolve",
]

_TANK = TankParams()
_METER = MeterParams()
_BASE = BaseLoadParams()
_NULL_TAG: Final = "tag:yaml.org,2002:null"
_STR_TAG: Final = "tag:yaml.org,2002:str"
_DATE_TAG: Final = "tag:yaml.org,2002:timestamp"


# -- the schema ---------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class TopOptions:
    """The keys at the top level of the file."""

    name: str | None = option(
        "name",
        "name of the scenario in reports (default: the file's name without .yml)",
        default=None,
    )
    description: str = option("description", "one line saying what the day is", default="")
    day: date | None = option(
        "day", "local date YYYY-MM-DD (Europe/Paris); required unless replay", default=None
    )
    sky: Sky = option(
        "sky",
        "clouds over the clear sky: clear (haze), broken (fair-weather cumulus: fast "
        "30–80 % dips), overcast (stratus: 12–35 % of clear sky)",
        default=Sky.CLEAR,
        choices=tuple(s.value for s in Sky),
    )


@dataclass(frozen=True, kw_only=True)
class PvOptions:
    """``pv:``: the array and its clear-sky model."""

    peak_power_w: float = option(
        "peak_power",
        "peak power of the array (kWc × 1000)",
        default=REFERENCE_PV.peak_w,
        unit="W",
        positive=True,
        high=100_000,
    )
    latitude_deg: float = option(
        "latitude", "north positive", default=REFERENCE_PV.latitude_deg, unit="°", low=-66, high=66
    )
    longitude_deg: float = option(
        "longitude",
        "east positive",
        default=REFERENCE_PV.longitude_deg,
        unit="°",
        low=-180,
        high=180,
    )
    altitude_m: float | None = option(
        "altitude",
        "pvlib model only (default: pvlib's bundled lookup of the location)",
        default=None,
        unit="m",
        low=-500,
        high=9000,
    )
    tilt_deg: float = option(
        "tilt", "0 = flat, 90 = vertical", default=REFERENCE_PV.tilt_deg, unit="°", low=0, high=90
    )
    azimuth_deg: float = option(
        "azimuth",
        "where the array faces: 90 east, 180 south, 270 west",
        default=REFERENCE_PV.azimuth_deg,
        unit="°",
        low=0,
        high=360,
    )
    derate: float = option(
        "derate",
        "AC power at 1000 W/m² per W of peak power (temperature, wiring, inverter losses)",
        default=REFERENCE_PV.derate,
        positive=True,
        high=1,
    )
    inverter_power_w: float | None = option(
        "inverter_power",
        "AC rating of the inverter (default: peak_power)",
        default=None,
        unit="W",
        positive=True,
    )
    model: str = option(
        "model",
        "clear-sky model: pvlib (needs pip install 'pvopt[sim]'), textbook (standard "
        "library), auto (pvlib when installed)",
        default="auto",
        choices=PV_MODELS,
    )


@dataclass(frozen=True, kw_only=True)
class ExtraLoadOptions:
    """An item of ``base_load.extra``: a scheduled household load, every simulated day."""

    label: str = option("label", "what it is, in reports")
    start: time = option("start", "local time it starts")
    end: time = option("end", "local time it stops; at or before start: the next day")
    power_w: float = option("power", "power drawn", unit="W", positive=True, high=36_000)


@dataclass(frozen=True, kw_only=True)
class BaseLoadOptions:
    """``base_load:``: what the household draws besides the regulated equipment."""

    scale: float = option(
        "scale",
        "multiplies the daily profile (not the ripple, appliances or extra loads)",
        default=_BASE.scale,
        positive=True,
        high=20,
    )
    profile: tuple[tuple[float, float], ...] | None = option(
        "profile",
        "the daily profile: a list of [local hour, W] from hour 0 to hour 24, linear "
        "between points (default: a French household without electric heating, 180 W at "
        "night, 500 W at 08:00, 650 W at 20:00)",
        default=None,
        unit="h, W",
    )
    ripple_w: float = option(
        "ripple",
        "standard deviation of the small loads' noise (AR(1), 20 s)",
        default=_BASE.ripple_w,
        unit="W",
        low=0,
        high=500,
    )
    appliances: bool = option(
        "appliances",
        "seeded appliances: fridge, kettles, microwave, oven, washing machine, dishwasher",
        default=_BASE.appliances,
    )
    extra: tuple[ExtraLoadOptions, ...] = option(
        "extra",
        "scheduled loads added every day: a list of {label, start, end, power}",
        default=(),
    )


@dataclass(frozen=True, kw_only=True)
class MeterOptions:
    """``meter:``: the Linky's timing, as the regulation receives its frames."""

    period_s: float = option(
        "period",
        "a frame every period (standard TIC: ≈ 1.2 s)",
        default=_METER.period_s,
        unit="s",
        positive=True,
        high=60,
    )
    jitter_s: float = option(
        "jitter",
        "each period ± up to this (uniform); below period",
        default=_METER.jitter_s,
        unit="s",
        low=0,
        high=60,
    )
    window_s: float = option(
        "window",
        "each frame carries the mean power over the last window",
        default=_METER.window_s,
        unit="s",
        positive=True,
        high=10,
    )
    max_delay_s: float | None = option(
        "max_delay",
        "a frame is received up to this after it was measured, uniform (default: period)",
        default=None,
        unit="s",
        low=0,
        high=60,
    )


@dataclass(frozen=True, kw_only=True)
class TankOptions:
    """``tank:``: the water heater's tank (every water heater of the configuration)."""

    volume_l: float = option(
        "volume", "water volume", default=_TANK.volume_l, unit="L", positive=True, high=2000
    )
    loss_w_per_k: float = option(
        "loss",
        "standing losses per kelvin above ambient (1.5 W/K: 60 W at 60 °C)",
        default=_TANK.loss_w_per_k,
        unit="W/K",
        low=0,
        high=50,
    )
    ambient_c: float = option(
        "ambient",
        "temperature around the tank",
        default=_TANK.ambient_c,
        unit="°C",
        low=-20,
        high=45,
    )
    cold_c: float = option(
        "cold_water",
        "mains water replacing what is drawn",
        default=_TANK.cold_c,
        unit="°C",
        low=0,
        high=30,
    )
    start_c: float = option(
        "start_temperature",
        "temperature at the start of the simulation",
        default=50.0,
        unit="°C",
        low=0,
        high=95,
    )
    cut_c: float = option(
        "thermostat_cut",
        "the heater's own thermostat opens here",
        default=_TANK.cut_c,
        unit="°C",
        low=30,
        high=95,
    )
    close_c: float = option(
        "thermostat_close",
        "and closes again here; below thermostat_cut",
        default=_TANK.close_c,
        unit="°C",
        low=20,
        high=95,
    )
    hot_water_draws: bool = option(
        "hot_water_draws", "seeded showers and small draws (morning, day, evening)", default=True
    )


@dataclass(frozen=True, kw_only=True)
class ReplayOptions:
    """``replay:``: a recorded day (CSV) as PV and household load (:mod:`pvopt.sim.replay`)."""

    file: str = option(
        "file",
        "the CSV (time + grid_w/pv_w/load_w, or an InfluxDB export of SINSTS, SINSTI), "
        "relative to the scenario file",
    )
    interpolation: str = option(
        "interpolation",
        "between samples: linear (instantaneous readings), step (each value held until "
        "the next: averages)",
        default="linear",
        choices=INTERPOLATIONS,
    )


#: The sections of a scenario file, in file order.
SECTIONS: Final[dict[str, type[Any]]] = {
    "pv": PvOptions,
    "base_load": BaseLoadOptions,
    "meter": MeterOptions,
    "tank": TankOptions,
    "replay": ReplayOptions,
}
#: Keys that a replay's recording replaces: using them with ``replay:`` is an error.
_REPLACED_BY_REPLAY: Final = {
    "day": "the recording's first local date",
    "sky": "the recorded PV",
    "pv": "the recorded PV",
    "base_load.scale": "the recorded load",
    "base_load.profile": "the recorded load",
    "base_load.ripple": "the recorded load",
    "base_load.appliances": "the recorded load",
}

#: A complete scenario file: every key (at its default unless said).
EXAMPLE: Final = """\
# A simulated day of my house (pvopt simulate --scenario house.yml).
name: my-house                  # default: the file's name
description: 18 March, 3 kWc facing south-west, evening car charging
day: 2026-03-18                 # local date, Europe/Paris (required without replay)
sky: broken                     # clear, broken or overcast

pv:
  peak_power: 3000              # W
  latitude: 45.0                # °, north positive
  longitude: 4.85               # °, east positive
  altitude: null                # m; null: pvlib's lookup (pvlib model only)
  tilt: 30                      # °, 0 = flat
  azimuth: 225                  # °, 180 = south, 270 = west
  derate: 0.86                  # AC W at 1000 W/m² per W peak
  inverter_power: null          # W; null: peak_power
  model: auto                   # auto (pvlib when installed), pvlib or textbook

base_load:
  scale: 1.0                    # times the profile
  profile:                      # [local hour, W], 0 to 24, linear between points
    - [0, 210]
    - [5, 180]
    - [6.5, 250]
    - [7, 450]
    - [8, 500]
    - [9, 300]
    - [12, 340]
    - [13, 400]
    - [14, 280]
    - [17, 300]
    - [18.5, 480]
    - [20, 650]
    - [21.5, 500]
    - [23, 250]
    - [24, 210]
  ripple: 15                    # W, small loads' noise
  appliances: true              # fridge, kettles, oven, washing machine, dishwasher…
  extra:                        # scheduled loads, every day
    - {label: electric car, start: "18:30", end: "21:00", power: 3700}
    - {label: heat pump, start: "22:00", end: "06:00", power: 800}   # past midnight

meter:
  period: 1.2                   # s between frames
  jitter: 0.15                  # s, ± on each period
  window: 1.0                   # s averaged by each frame
  max_delay: null               # s; null: one period

tank:
  volume: 200                   # L
  loss: 1.5                     # W/K above ambient
  ambient: 20                   # °C
  cold_water: 12                # °C
  start_temperature: 50         # °C at the start
  thermostat_cut: 65            # °C, the heater's own thermostat opens…
  thermostat_close: 60          # °C …and closes
  hot_water_draws: true         # showers, small draws
"""

#: A replayed day: the recording replaces PV and household load (no day, sky, pv:).
EXAMPLE_REPLAY: Final = """\
name: 21-june-recorded
description: my meter on 21 June, router off
base_load:
  extra:                        # still added on top of the recording
    - {label: electric car, start: "19:00", end: "21:00", power: 3700}
meter:
  max_delay: 2.0
tank:
  start_temperature: 45
replay:
  file: 2026-06-21.csv          # relative to this file
  interpolation: linear         # linear or step
"""


# -- loading ------------------------------------------------------------------------------------


def load_scenario(path: Path) -> Scenario:
    """Read and validate the scenario file ``path``; raise
    :class:`~pvopt.schema.ConfigFileError` naming every problem."""
    source = str(path)
    text = read_text(path)
    return parse_scenario(text, source, path.parent, default_name=path.stem)


def parse_scenario(
    text: str,
    source: str = "<string>",
    base_dir: Path | None = None,
    default_name: str = "scenario",
) -> Scenario:
    """Validate the YAML ``text`` (named ``source`` in messages) into a :class:`Scenario`.

    ``base_dir`` is where a replay's ``file`` is looked for (default: the current
    directory); ``default_name`` names a scenario without ``name:``."""
    return _ScenarioParser(text, source, base_dir or Path(), default_name).parse_scenario()


class _ScenarioParser(SchemaParser):
    """The schema machinery (YAML nodes, scalars, error collection) on the scenario
    schema."""

    def __init__(self, text: str, source: str, base_dir: Path, default_name: str) -> None:
        super().__init__(text, source)
        self.base_dir = base_dir
        self.default_name = default_name

    def parse_scenario(self) -> Scenario:
        try:
            scenario = self.scenario(self.root())
        finally:
            self.loader.dispose()
        if self.issues or scenario is None:
            raise self.fail()
        return scenario

    # -- structure ---------------------------------------------------------------------------

    def scenario(self, root: yaml.Node | None) -> Scenario | None:
        if root is None:
            self.error(1, "", "the file is empty; expected a mapping with 'day:' or 'replay:'")
            return None
        top = self.mapping(root, "", "a mapping of scenario keys and sections")
        if top is None:
            return None
        known = [*keys_of(TopOptions), *SECTIONS]
        for key, entry in top.items():
            if key not in known:
                self.error(entry.key_node, key, suggest(key, known))
        main = self.section(TopOptions, top, "", root)
        parts: dict[str, dict[str, Any]] = {}
        for key, cls in SECTIONS.items():
            given = top.get(key)
            if given is None or self.null(given.node):  # left out: every key at its default
                parts[key] = {} if key == "replay" else self.section(cls, {}, key, root)
                continue
            found = self.mapping(given.node, key, f"a mapping of {key} keys")
            parts[key] = (
                self.section(cls, found or {}, key, given.node) if found is not None else {}
            )
        replay_entry = top.get("replay")
        replaying = replay_entry is not None and not self.null(replay_entry.node)
        if replaying:
            self.replaced(top)
        elif "day" not in top:
            self.error(
                root,
                "day",
                "required key is missing (local date YYYY-MM-DD, Europe/Paris), unless "
                "a day is replayed (replay:)",
            )
        self.between_keys(parts, top)
        recorded = None
        if replaying and "file" in parts["replay"]:
            assert replay_entry is not None
            recorded = self.recorded(parts["replay"], replay_entry)
        if self.issues:
            return None
        return self.build(main, parts, recorded)

    @staticmethod
    def null(node: yaml.Node) -> bool:
        return isinstance(node, yaml.ScalarNode) and node.tag == _NULL_TAG

    def section(
        self, cls: type[Any], entries: dict[str, Entry], path: str, node: yaml.Node
    ) -> dict[str, Any]:
        """Field name → checked value of the keys given (unknown keys reported; the top
        level reports its own, as it also holds the sections)."""
        fields = keys_of(cls)
        if path:
            for key, entry in entries.items():
                if key not in fields:
                    self.error(entry.key_node, self.join(path, key), suggest(key, list(fields)))
        values: dict[str, Any] = {}
        for key, (f, hint) in fields.items():
            key_path = self.join(path, key)
            if key not in entries:
                if required(f):
                    doc, unit = f.metadata["doc"], f.metadata["unit"]
                    detail = f"{doc}, in {unit}" if unit else doc
                    self.error(node, key_path, f"required key is missing ({detail})")
                continue
            value_node = entries[key].node
            if key == "day":
                value = self.day(value_node, key_path)
            elif key == "profile":
                value = self.profile(value_node, key_path)
            elif key == "extra":
                value = self.extra(value_node, key_path)
            else:
                value = self.value(key, hint, f.metadata, value_node, key_path)
                choices = f.metadata.get("choices")
                if value is not INVALID and choices and hint is str and value not in choices:
                    self.error(
                        value_node,
                        key_path,
                        f"expected one of {', '.join(choices)}, got {shown(value_node)}",
                    )
                    value = INVALID
            if value is not INVALID:
                values[f.name] = value
        return values

    # -- special values ----------------------------------------------------------------------

    def day(self, node: yaml.Node, path: str) -> Any:
        # From the text: YAML's own timestamp constructor raises on 2026-13-01.
        if isinstance(node, yaml.ScalarNode) and node.tag in (_STR_TAG, _DATE_TAG):
            try:
                return date.fromisoformat(str(node.value).strip())
            except ValueError:
                pass
        self.error(node, path, f"expected a date YYYY-MM-DD, got {shown(node)}")
        return INVALID

    def profile(self, node: yaml.Node, path: str) -> Any:
        if self.null(node):
            return None
        if not isinstance(node, yaml.SequenceNode) or len(node.value) < 2:
            self.error(node, path, f"expected a list of [hour, W] points, got {shown(node)}")
            return INVALID
        before = len(self.issues)
        points: list[tuple[float, float]] = []
        hours: list[float] = []  # every valid hour, to check their order
        for index, item in enumerate(node.value):
            item_path = f"{path}[{index}]"
            if not isinstance(item, yaml.SequenceNode) or len(item.value) != 2:
                self.error(item, item_path, f"expected [hour, W], got {shown(item)}")
                continue
            hour_node, watts_node = item.value
            hour = self.number(hour_node, {"low": 0, "high": 24}, f"{item_path}[0]", integer=False)
            watts = self.number(
                watts_node, {"low": 0, "high": 36_000}, f"{item_path}[1]", integer=False
            )
            if hour is INVALID:
                continue
            if hours and hour <= hours[-1]:
                self.error(
                    hour_node,
                    f"{item_path}[0]",
                    f"hours must increase, got {hour:g} after {hours[-1]:g}",
                )
            hours.append(hour)
            if watts is not INVALID:
                points.append((hour, watts))
        if len(hours) == len(node.value) and (hours[0] != 0 or hours[-1] != 24):
            self.error(node, path, "the profile must start at hour 0 and end at hour 24")
        if len(self.issues) > before:
            return INVALID
        return tuple(points)

    def extra(self, node: yaml.Node, path: str) -> Any:
        if self.null(node):
            return ()
        if not isinstance(node, yaml.SequenceNode):
            self.error(node, path, f"expected a list of scheduled loads, got {shown(node)}")
            return INVALID
        before = len(self.issues)
        loads: list[ExtraLoadOptions] = []
        for index, item in enumerate(node.value):
            item_path = f"{path}[{index}]"
            entries = self.mapping(item, item_path, "a mapping {label, start, end, power}")
            if entries is None:
                continue
            values = self.section(ExtraLoadOptions, entries, item_path, item)
            if len(values) == len(keys_of(ExtraLoadOptions)):
                if values["start"] == values["end"]:
                    self.error(
                        entries["end"].node, self.join(item_path, "end"), "must differ from start"
                    )
                else:
                    loads.append(ExtraLoadOptions(**values))
        return tuple(loads) if len(self.issues) == before else INVALID

    # -- checks between keys ---------------------------------------------------------------

    def replaced(self, top: dict[str, Entry]) -> None:
        """Keys a replay makes meaningless are errors rather than silently unused."""
        base = top.get("base_load")
        base_entries: dict[str, Entry] = {}
        if base is not None and isinstance(base.node, yaml.MappingNode):
            base_entries = {
                str(k.value): Entry(k, v)
                for k, v in base.node.value
                if isinstance(k, yaml.ScalarNode)
            }
        for key_path, by in _REPLACED_BY_REPLAY.items():
            section, _, key = key_path.rpartition(".")
            entry = base_entries.get(key) if section else top.get(key)
            if entry is not None:
                self.error(entry.key_node, key_path, f"not used with replay: {by} replaces it")

    def between_keys(self, parts: dict[str, dict[str, Any]], top: dict[str, Entry]) -> None:
        def node_of(section: str, key: str) -> yaml.Node | None:
            entry = top.get(section)
            if entry is None or not isinstance(entry.node, yaml.MappingNode):
                return None
            for k, v in entry.node.value:
                if isinstance(k, yaml.ScalarNode) and k.value == key:
                    return typing.cast(yaml.Node, v)
            return None

        meter = parts["meter"]
        period = meter.get("period_s", _METER.period_s)
        if "jitter_s" in meter and meter["jitter_s"] >= period:
            self.error(
                node_of("meter", "jitter"),
                "meter.jitter",
                f"must be below meter.period ({period:g}), got {meter['jitter_s']:g}",
            )
        tank = parts["tank"]
        cut = tank.get("cut_c", _TANK.cut_c)
        close = tank.get("close_c", _TANK.close_c)
        if ("cut_c" in tank or "close_c" in tank) and close >= cut:
            self.error(
                node_of("tank", "thermostat_close"),
                "tank.thermostat_close",
                f"must be below tank.thermostat_cut ({cut:g}), got {close:g}",
            )

    def recorded(self, replay: dict[str, Any], entry: Entry) -> RecordedDay | None:
        """The recorded day, or None after reporting the CSV's problems on ``replay.file``."""
        file_node = next(
            (
                v
                for k, v in entry.node.value
                if isinstance(k, yaml.ScalarNode) and k.value == "file"
            ),
            entry.node,
        )
        path = self.base_dir / replay["file"]
        try:
            return load_csv(path, replay.get("interpolation", "linear"))
        except ConfigFileError as exc:
            for issue in exc.issues:
                self.error(file_node, "replay.file", issue.format(str(path)))
            return None

    # -- the result --------------------------------------------------------------------------

    def build(
        self, main: dict[str, Any], parts: dict[str, dict[str, Any]], recorded: RecordedDay | None
    ) -> Scenario:
        pv = PvOptions(**parts["pv"])
        base = BaseLoadOptions(**parts["base_load"])
        meter = MeterOptions(**parts["meter"])
        tank = TankOptions(**parts["tank"])
        top = TopOptions(**main)
        day = recorded.day(PARIS) if recorded is not None else top.day
        assert day is not None
        return Scenario(
            name=top.name or self.default_name,
            day=day,
            sky=top.sky,
            tank_start_c=tank.start_c,
            description=top.description,
            pv=PvSite(
                peak_w=pv.peak_power_w,
                latitude_deg=pv.latitude_deg,
                longitude_deg=pv.longitude_deg,
                tilt_deg=pv.tilt_deg,
                derate=pv.derate,
                inverter_w=pv.inverter_power_w,
                azimuth_deg=pv.azimuth_deg,
                altitude_m=pv.altitude_m,
            ),
            pv_model=typing.cast(PvModelChoice, pv.model),
            base_load=BaseLoadParams(
                scale=base.scale,
                profile=base.profile if base.profile is not None else DEFAULT_PROFILE,
                ripple_w=base.ripple_w,
                appliances=base.appliances,
                extra=tuple(ExtraLoad(e.label, e.start, e.end, e.power_w) for e in base.extra),
            ),
            meter=MeterParams(meter.period_s, meter.jitter_s, meter.window_s, meter.max_delay_s),
            tank=TankParams(
                volume_l=tank.volume_l,
                loss_w_per_k=tank.loss_w_per_k,
                ambient_c=tank.ambient_c,
                cold_c=tank.cold_c,
                cut_c=tank.cut_c,
                close_c=tank.close_c,
            ),
            hot_water=tank.hot_water_draws,
            replay=recorded,
        )


# -- documentation --------------------------------------------------------------------------


def reference_markdown() -> str:
    """The Markdown reference of every key of a scenario file, from the schema."""
    special = {
        "day": ("**required** unless replay", "`YYYY-MM-DD`"),
        "name": ("the file's name", "text"),
        "description": ("empty", "text"),
        "profile": ("see description", "≥ 2 points, hours 0 … 24 increasing, W ≥ 0"),
        "extra": ("none", "list of mappings"),
        "altitude": ("pvlib's lookup", "-500 … 9000"),
        "inverter_power": ("`peak_power`", "> 0"),
        "max_delay": ("`period`", "0 … 60"),
    }
    out = ["### Top level", "", TABLE_HEADER, *table_rows(TopOptions, special=special), ""]
    for key, cls in SECTIONS.items():
        doc = (cls.__doc__ or "").split("``: ", 1)[-1].strip()
        doc = doc[:1].upper() + doc[1:]
        out += [f"### `{key}:`", "", doc, "", TABLE_HEADER, *table_rows(cls, special=special), ""]
        if key == "base_load":
            out += [
                "Each item of `base_load.extra`:",
                "",
                TABLE_HEADER,
                *table_rows(ExtraLoadOptions, special=special),
                "",
            ]
    out += ["### Example", "", "```yaml", EXAMPLE.rstrip(), "```", ""]
    out += ["### Example: a replayed day", "", "```yaml", EXAMPLE_REPLAY.rstrip(), "```"]
    return "\n".join(out) + "\n"


def _all_keys() -> list[str]:
    """Every key path of the schema (``base_load.extra[].power``), for tests and docs."""
    keys = [f.metadata["key"] for f in dataclasses.fields(TopOptions)]
    for section, cls in SECTIONS.items():
        keys += [f"{section}.{f.metadata['key']}" for f in dataclasses.fields(cls)]
    keys += [f"base_load.extra[].{f.metadata['key']}" for f in dataclasses.fields(ExtraLoadOptions)]
    return keys


ALL_KEYS: Final = tuple(_all_keys())


if __name__ == "__main__":
    print(reference_markdown(), end="")


def resolve(name_or_path: str, builtin_pv_model: PvModelChoice = "auto") -> Scenario:
    """A built-in scenario by name, or a scenario file (YAML, :mod:`pvopt.sim.scenario_file`).

    A built-in comes with ``pv_model=builtin_pv_model``: ``"auto"`` (pvlib when
    installed) for users such as ``pvopt simulate``; ``SCENARIOS[name]`` keeps the
    textbook model of the reference figures. A file keeps its own ``pv.model``.

    Raises :class:`ValueError` for an unknown name (listing the built-ins) and
    :class:`~pvopt.schema.ConfigFileError` (a ValueError) for a bad file."""
    if name_or_path in SCENARIOS:
        return replace(SCENARIOS[name_or_path], pv_model=builtin_pv_model)
    path = Path(name_or_path)
    if path.suffix.lower() in (".yml", ".yaml") or os.sep in name_or_path or path.exists():
        return load_scenario(path)
    raise ValueError(
        f"unknown scenario {name_or_path!r}: expected one of {', '.join(SCENARIOS)} "
        "or the path of a scenario file (.yml)"
    )
