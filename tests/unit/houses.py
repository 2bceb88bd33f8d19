"""The regulation's unit-test houses: the equipment the tests regulate, and two closed
loops that feed the Regulator meter readings on a fake clock (no broker, no sleep).

Plumbing only: a test module states its own scenario (powers, temperatures, tariff, the
hour: a subclass's defaults), and each test what happens in it.

- :class:`House`: a reading every meter frame (1.2 s), each showing the grid a frame late, like a
  Linky in standard mode: the trim loop, staging, yielding.
- :class:`Day`: a reading every 30 s, each settled: an on/off load's day.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pvopt.equipment.model import (
    Command,
    ConstantPowerConfig,
    TempDrivenVariablePowerConfig,
    VariablePowerConfig,
)
from pvopt.regulation.core import Regulator
from pvopt.regulation.model import Decision, MeterSample

T0 = datetime(2026, 6, 14, 10, 0, tzinfo=UTC)
PARIS = ZoneInfo("Europe/Paris")
FRAME_S = 1.2
HEATER_W = 2400.0
STEP_S = 30.0  # a reading every 30 s: each one settled, a day in 2,880 evaluations
POOL_PUMP_W = 750.0


def dimmer(name: str, max_w: float = 2400, **kw: Any) -> VariablePowerConfig:
    """A plain dimmer ``name`` on ``scr/<name>/in``; ``kw``: its other options."""
    return VariablePowerConfig(
        name=name, id=name, command=Command(f"scr/{name}/in"), max_power_w=max_w, **kw
    )


def heater(name: str = "heater", **kw: Any) -> TempDrivenVariablePowerConfig:
    """A 2.4 kW water heater ``name`` behind a dimmer on ``scr/<name>/in``: temp_min 45 °C,
    temp_eco 50 °C, temp_sol_min 55 °C, temp_max 60 °C; ``kw``: its other options."""
    return TempDrivenVariablePowerConfig(
        name=name,
        id=name,
        command=Command(f"scr/{name}/in"),
        max_power_w=HEATER_W,
        temp_min_c=45,
        temp_eco_c=50,
        temp_sol_min_c=55,
        temp_max_c=60,
        **kw,
    )


def plug(name: str, power_w: float = 500, **kw: Any) -> ConstantPowerConfig:
    """An on/off load ``name`` of ``power_w`` on ``wifi_plug/<name>/in``; ``kw``: its other
    options."""
    return ConstantPowerConfig(
        name=name,
        id=name,
        command=Command(f"wifi_plug/{name}/in"),
        nominal_power_w=power_w,
        **kw,
    )


def pool_pump(
    run_s: float = 4 * 3600.0,
    latest_end: time = time(20),
    min_on_s: float = 1800,
    min_off_s: float = 600,
) -> ConstantPowerConfig:
    """The shipped template's pool pump: 750 W, ``run_s`` (4 h) a day by ``latest_end``
    (20:00), min on 30 min, min off 10 min."""
    return ConstantPowerConfig(
        name="pool_pump",
        id="pool",
        command=Command("shellies/pool/relay/0/command"),
        nominal_power_w=POOL_PUMP_W,
        min_on_s=min_on_s,
        min_off_s=min_off_s,
        daily_run_s=run_s,
        latest_end=latest_end,
    )


@dataclass
class House:
    """Base load and PV (W) from ``start``; grid = base load + what the loads really draw −
    PV. Loads draw what they are told, except those whose thermostat has cut, and on/off
    loads whose real power when on is given in ``real_w``. The probe of the load "heater"
    reports ``celsius`` every frame (None: it says nothing)."""

    regulator: Regulator
    pv_w: float = 3000.0
    base_w: float = 500.0
    celsius: float | None = None
    start: datetime = T0
    cut: set[str] = field(default_factory=set)
    real_w: dict[str, float] = field(default_factory=dict)
    t: float = 0.0
    history: list[tuple[float, float, Decision]] = field(default_factory=list)

    def drawn_w(self) -> float:
        return sum(
            self.real_w.get(s.cfg.name, s.power_w) if s.on else 0.0
            for s in self.regulator.loads
            if s.cfg.name not in self.cut
        )

    def grid_now(self) -> float:
        return self.base_w + self.drawn_w() - self.pv_w

    def run(self, seconds: float) -> None:
        """Frames every 1.2 s; each shows the grid of the previous frame (worst delay)."""
        end = self.t + seconds
        shown = self.grid_now()
        while self.t < end:
            self.t += FRAME_S
            now = self.start + timedelta(seconds=self.t)
            if self.celsius is not None:
                self.regulator.set_temperature("heater", self.celsius, now)
            sample = MeterSample(now, max(int(shown), 0), max(int(-shown), 0))
            shown = self.grid_now()  # what the next frame will show
            decision = self.regulator.evaluate(sample, now)
            self.history.append((self.t, sample.grid_w, decision))

    def grid_series(self) -> list[float]:
        return [g for _, g, _ in self.history]

    def on(self, index: int) -> list[bool]:
        """Whether the output ``index`` was on, decision by decision."""
        return [d.outputs[index].on for _, _, d in self.history]


def no_sun(_: datetime) -> float:
    return 0.0


@dataclass
class Day:
    """A house whose meter shows ``base_w`` plus its one load, minus the PV: one reading
    every STEP_S from ``now``, the load's state and reason recorded after each."""

    regulator: Regulator
    now: datetime
    base_w: float
    pv_w: Callable[[datetime], float] = no_sun
    on: list[tuple[datetime, bool, str]] = field(default_factory=list)

    def pv_at(self, now: datetime) -> float:
        """The PV at ``now`` (W)."""
        return self.pv_w(now)

    def run_until(self, end: datetime) -> None:
        state = self.regulator.loads[0]
        while self.now < end:
            grid_w = self.base_w + state.power_w - self.pv_at(self.now)
            sample = MeterSample(self.now, max(int(grid_w), 0), max(int(-grid_w), 0))
            out = self.regulator.evaluate(sample, self.now).outputs[0]
            self.on.append((self.now, out.on, out.reason))
            self.now += timedelta(seconds=STEP_S)

    def run(self, minutes: float) -> None:
        self.run_until(self.now + timedelta(minutes=minutes))

    def started(self) -> datetime | None:
        """When the load was first on (None: never)."""
        return next((t for t, on, _ in self.on if on), None)

    def starts(self) -> list[datetime]:
        """When the load was switched on."""
        was = False
        starts = []
        for t, on, _ in self.on:
            if on and not was:
                starts.append(t)
            was = on
        return starts

    def reason_at(self, t: datetime) -> str:
        return next(reason for when, _, reason in self.on if when >= t)

    def on_at(self, t: datetime) -> bool:
        return next(on for when, on, _ in self.on if when >= t)
