"""Inputs and outputs of the regulation core, and the sign convention.

Sign convention (stated once, used everywhere): grid power
``grid_w = SINSTS − SINSTI``, **positive = import** from the grid, negative = export.
``error_w = grid_w − target_w``: positive means too much import, so loads must shed.

Every reading carries the time it was received; the core never reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Final

from pvopt.tic.tariff import MeterTariff

# The records made for every meter frame or command are read-only through ``Final``
# (mypy refuses an assignment), not ``frozen``: a frozen dataclass's __init__ sets each
# field through object.__setattr__, 3× the cost of a plain one, and there is a sample and
# a Decision per meter frame and an Output per frame for each load that is on (~0.2 s of
# CPU a simulated day).


@dataclass(slots=True)
class MeterSample:
    """SINSTS and SINSTI of one meter frame (VA, used as W), and what the same frame says
    of the tariff (PTEC / LTARF / NTARF / STGE / DEMAIN; None: nothing, as from a
    publisher of ``tic/SINSTS`` alone). Read-only (``Final``, see above)."""

    time: Final[datetime]
    import_va: Final[int]
    export_va: Final[int] = 0
    tariff: Final[MeterTariff | None] = None

    @property
    def grid_w(self) -> float:
        """Grid power, positive = import."""
        return float(self.import_va - self.export_va)

    @property
    def offpeak(self) -> bool | None:
        """Off-peak, as the meter says (None: it does not)."""
        tariff = self.tariff
        return None if tariff is None else tariff.offpeak


class Mode(Enum):
    """How an equipment is driven (``scr/<id>/control``, ``regulation/control``)."""

    AUTO = "auto"  # the regulation decides
    ON = "on"  # manual: full power / on
    OFF = "off"  # manual: off
    FORCED = "forced"  # regulation/control force: a given power until a deadline


@dataclass(slots=True)
class MqttCommand:
    """A message for a device (read-only, ``Final``: one per command sent)."""

    topic: Final[str]
    payload: Final[str]
    qos: Final[int] = 1
    retain: Final[bool] = False


@dataclass(slots=True)
class Output:
    """What one equipment was given by an evaluation, and why (read-only: the core hands
    the same one to every decision while the load's output is unchanged)."""

    name: Final[str]
    id: Final[str]
    power_w: Final[float]
    on: Final[bool]
    mode: Final[Mode]
    forced: Final[bool]
    reason: Final[str]
    energy_wh: Final[float]
    percent: Final[float | None] = None  # dimmers only
    temperature_c: Final[float | None] = None


@dataclass(frozen=True, slots=True)
class Setpoint:
    """The grid power a policy aims at, and why when it is not the configured target
    ("": it is; :mod:`~pvopt.regulation.setpoint`)."""

    target_w: float
    why: str = ""


@dataclass(slots=True)
class Decision:
    """The result of one evaluation (read-only)."""

    time: Final[datetime]
    grid_w: Final[float | None]  # None when the meter data is stale
    target_w: Final[float]
    surplus_w: Final[float | None]  # power that would be exported without our loads
    outputs: Final[tuple[Output, ...]]
    commands: Final[tuple[MqttCommand, ...]]
    safe: Final[bool] = False  # every load off because the inputs cannot be trusted
    reason: Final[str] = ""

    @property
    def error_w(self) -> float | None:
        """grid − target (positive = too much import)."""
        return None if self.grid_w is None else self.grid_w - self.target_w
