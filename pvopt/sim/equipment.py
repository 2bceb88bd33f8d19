"""What the regulated loads really draw, given the regulator's commands.

- :class:`DimmerLoad`: a resistive element behind a dimmer draws the commanded power
  (the core's ``power_w``, clamped to ``[0, max_power]``) — unless its tank's own
  thermostat is open, then it draws nothing whatever the command. That is the case the
  regulation must detect: it cannot see the thermostat, only the meter.
- :class:`Tank`: a fully mixed water tank (one temperature; a real tank stratifies,
  so its top is hotter than the probe says after a draw — a simplification) with
  heat capacity ``volume × 1.163 Wh/(L·K)`` (200 L: 232.6 Wh/K), standing losses
  ``loss × (T − ambient)`` (1.5 W/K to 20 °C: ~60 W at 60 °C, ~1.4 kWh/day), hot-water
  draws replaced by cold mains water (``flow × 4186.8 J/(L·K) × (T − T_cold)``), and a
  mechanical thermostat with hysteresis: it opens at ``cut_c`` (65 °C) and closes
  again at ``close_c`` (60 °C). With the element's power ``P`` and the flow constant,
  ``C·dT/dt = P − loss·(T − ambient) − D·(T − cold)`` (``D = flow × 4186.8 / 60`` W/K) is
  linear: the temperature relaxes exponentially towards ``T∞ = (P + loss·ambient +
  D·cold) / (loss + D)`` at the rate ``λ = (loss + D) / C``, and :meth:`Tank.hold`
  integrates it exactly (``T(τ) = T + (T − T∞)·(e^{−λτ} − 1)``) over any number of the
  house's steps, and the heat counters with it (the losses and the draws are integrals
  of ``T``), so they balance to rounding; the thermostat acts at a step boundary, and
  :meth:`Tank.steps_to_switch` says at which one. Until 2026-12 the house advanced it by
  Euler steps of 0.2 s: that took ~0.007 % too much heat away during a shower (its time
  constant is 25 min): ~0.5 mK per shower, ~1 mK over a reference day.
- :class:`HotWaterDraws`: seeded draws — morning showers, small daytime draws, evening
  dishes and showers.
- :class:`OnOffLoad`: draws its power when on (by default its nominal power; a test may
  give it a different real power).

Every load integrates its own energy, so the house's energy balance is checked across
independently kept counters.
"""

from __future__ import annotations

import math
import operator
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import accumulate, repeat
from typing import NamedTuple
from zoneinfo import ZoneInfo

from pvopt.sim.timeseries import LevelChange, Steps, step_sum

#: Specific heat of water per litre, J/(L·K) and Wh/(L·K).
WATER_J_PER_L_K = 4186.8
WATER_WH_PER_L_K = WATER_J_PER_L_K / 3600.0


@dataclass(frozen=True)
class TankParams:
    """A water heater's tank (defaults: a common 200 L French *chauffe-eau*)."""

    volume_l: float = 200.0
    loss_w_per_k: float = 1.5
    ambient_c: float = 20.0
    cold_c: float = 12.0
    cut_c: float = 65.0  # the heater's own thermostat opens here...
    close_c: float = 60.0  # ...and closes again here

    @property
    def capacity_wh_per_k(self) -> float:
        """Heat capacity of the water, Wh/K."""
        return self.volume_l * WATER_WH_PER_L_K


@dataclass(frozen=True)
class Draw:
    """A hot-water draw: ``flow_l_min`` from ``start`` to ``end`` (POSIX seconds)."""

    start: float
    end: float
    flow_l_min: float

    @property
    def litres(self) -> float:
        """Volume drawn."""
        return self.flow_l_min * (self.end - self.start) / 60.0


def daily_draws(rng: random.Random, day: date, tz: ZoneInfo) -> list[Draw]:
    """Hot-water draws of one local day: 1–2 morning showers (40–60 L at 8 L/min),
    2–4 small daytime draws (2–5 L at 4 L/min), 1–2 evening draws (20–50 L at 8 L/min)."""
    midnight = datetime.combine(day, datetime.min.time(), tz)

    def at(hour: float) -> float:
        return (midnight + timedelta(hours=hour)).timestamp()

    draws: list[Draw] = []

    def add(start: float, litres: float, flow: float) -> None:
        draws.append(Draw(start, start + litres / flow * 60.0, flow))

    t = at(rng.uniform(6.6, 7.3))
    for _ in range(rng.randint(1, 2)):
        add(t, rng.uniform(40, 60), 8.0)
        t += rng.uniform(15, 30) * 60
    for _ in range(rng.randint(2, 4)):
        add(at(rng.uniform(9.0, 18.0)), rng.uniform(2, 5), 4.0)
    t = at(rng.uniform(19.0, 21.0))
    for _ in range(rng.randint(1, 2)):
        add(t, rng.uniform(20, 50), 8.0)
        t += rng.uniform(20, 60) * 60
    return draws


class HotWaterDraws:
    """The flow of hot water leaving a tank over time (L/min)."""

    def __init__(self, draws: list[Draw]) -> None:
        self.draws = sorted(draws, key=lambda d: d.start)
        self._flow: Steps = step_sum([(d.start, d.end, d.flow_l_min) for d in self.draws])

    @classmethod
    def seeded(cls, rng: random.Random, start: float, end: float, tz: ZoneInfo) -> HotWaterDraws:
        """The draws of every local day overlapping ``[start, end]``."""
        draws: list[Draw] = []
        day = datetime.fromtimestamp(start, tz).date()
        last = datetime.fromtimestamp(end, tz).date()
        while day <= last:
            draws.extend(d for d in daily_draws(rng, day, tz) if d.end > start and d.start < end)
            day += timedelta(days=1)
        return cls(draws)

    def add(self, draw: Draw) -> None:
        """A scripted draw (a test's shower)."""
        self.draws.append(draw)
        self.draws.sort(key=lambda d: d.start)
        self._flow = step_sum([(d.start, d.end, d.flow_l_min) for d in self.draws])

    def flow_l_min(self, t: float) -> float:
        """Flow at ``t``."""
        return self._flow(t)

    def sample(self, t0: float, dt: float, n: int) -> list[float]:
        """The flows at ``t0 + k·dt`` for ``k < n`` (one pass: faster than n calls)."""
        return self._flow.sample(t0, dt, n)

    def runs(self, t0: float, dt: float, n: int) -> list[LevelChange]:
        """Where the flow at ``t0 + k·dt`` (``k < n``) changes (L/min), ``k = 0`` first
        (see :meth:`pvopt.sim.timeseries.Steps.runs`)."""
        return self._flow.runs(t0, dt, n)


class Relaxation(NamedTuple):
    """A tank holding a heat input and a flow relaxes exponentially towards ``T∞``."""

    rate_per_s: float  # λ
    equilibrium_c: float  # T∞
    draw_w_per_k: float  # D: the draw's conductance


class Tank:
    """A mixed tank with a thermostat; integrates its heat flows (Wh)."""

    def __init__(
        self,
        params: TankParams,
        temperature_c: float,
        draws: HotWaterDraws | None = None,
    ) -> None:
        self.params = params
        self.temperature_c = temperature_c
        self.initial_c = temperature_c
        self.draws = draws or HotWaterDraws([])
        self.closed = temperature_c < params.cut_c  # thermostat contact
        self.heat_in_wh = 0.0
        self.loss_wh = 0.0
        self.draw_wh = 0.0
        self.cuts: list[float] = []  # times the thermostat opened
        self.closes: list[float] = []  # times it closed again
        self._capacity_j_per_k = params.capacity_wh_per_k * 3600.0

    def _relaxation(self, heat_w: float, flow_l_min: float) -> Relaxation:
        """How the tank relaxes holding ``heat_w`` and ``flow_l_min`` (see the module
        docstring); ``rate = 0`` (no loss, no draw): no equilibrium, ``T∞`` is 0."""
        p = self.params
        draw_w_per_k = flow_l_min / 60.0 * WATER_J_PER_L_K if flow_l_min else 0.0
        conductance = p.loss_w_per_k + draw_w_per_k
        if conductance <= 0.0:
            return Relaxation(rate_per_s=0.0, equilibrium_c=0.0, draw_w_per_k=draw_w_per_k)
        equilibrium = (heat_w + p.loss_w_per_k * p.ambient_c + draw_w_per_k * p.cold_c) / (
            conductance
        )
        return Relaxation(
            rate_per_s=conductance / self._capacity_j_per_k,
            equilibrium_c=equilibrium,
            draw_w_per_k=draw_w_per_k,
        )

    def temperature_after(self, seconds: float, heat_w: float, flow_l_min: float = 0.0) -> float:
        """The temperature ``seconds`` from now holding ``heat_w`` and ``flow_l_min`` (the
        tank is not changed; exactly :attr:`temperature_c` for 0 s)."""
        temp = self.temperature_c
        if seconds <= 0.0:
            return temp
        rate, equilibrium, _ = self._relaxation(heat_w, flow_l_min)
        if rate == 0.0:
            return temp + heat_w * seconds / self._capacity_j_per_k
        return temp + (temp - equilibrium) * math.expm1(-rate * seconds)

    def temperatures(
        self, dt: float, n: int, heat_w: float, flow_l_min: float = 0.0
    ) -> list[float]:
        """The temperatures at the start of ``n`` steps of ``dt`` holding ``heat_w`` and
        ``flow_l_min``, the current one first (the tank is not changed; the steps after
        the first are a geometric progression towards ``T∞``, equal to
        :meth:`temperature_after` to rounding)."""
        if n <= 0:
            return []
        temp = self.temperature_c
        rate, equilibrium, _ = self._relaxation(heat_w, flow_l_min)
        if rate == 0.0:
            return list(
                accumulate(repeat(heat_w * dt / self._capacity_j_per_k, n - 1), initial=temp)
            )
        gaps = accumulate(
            repeat(math.exp(-rate * dt), n - 1), operator.mul, initial=temp - equilibrium
        )
        out = list(map(operator.add, repeat(equilibrium), gaps))
        out[0] = temp
        return out

    def steps_to_switch(
        self, dt: float, n: int, heat_w: float, flow_l_min: float = 0.0
    ) -> int | None:
        """The first step boundary ``j`` (``1 ≤ j ≤ n``) at which the thermostat would act
        holding ``heat_w`` and ``flow_l_min`` for steps of ``dt`` (open at ``cut_c`` if it
        is closed, close at ``close_c`` if it is open); None if not within ``n`` steps.
        :meth:`hold` for ``j`` steps makes it act."""
        if n < 1:
            return None
        p = self.params
        closed = self.closed

        def acts(j: int) -> bool:
            temp = self.temperature_after(j * dt, heat_w, flow_l_min)
            return temp >= p.cut_c if closed else temp <= p.close_c

        if acts(1):
            return 1
        if not acts(n):
            return None
        # The temperature moves monotonically: it crosses the level once, between 1 and n.
        low, high = 1, n  # acts(low) is false, acts(high) true
        while high - low > 1:
            middle = (low + high) // 2
            if acts(middle):
                high = middle
            else:
                low = middle
        return high

    def hold(self, t: float, dt: float, n: int, heat_w: float, flow_l_min: float = 0.0) -> None:
        """Heat the tank with ``heat_w`` for ``n`` steps of ``dt`` from ``t`` while
        ``flow_l_min`` of hot water leaves it: the temperature and the heat counters
        advance exactly (see the module docstring); the thermostat acts at the end
        (``t + n·dt``) if the temperature has reached its level there — to make it act at
        the boundary where it does, hold until :meth:`steps_to_switch`."""
        if n <= 0:
            return
        p = self.params
        seconds = n * dt
        temp = self.temperature_c
        rate, equilibrium, draw_w_per_k = self._relaxation(heat_w, flow_l_min)
        if rate == 0.0:  # no loss, no draw: the heat only warms the water
            end = temp + heat_w * seconds / self._capacity_j_per_k
            loss_ks = draw_ks = 0.0
        else:
            decay = math.expm1(-rate * seconds)  # e^{−λτ} − 1
            end = temp + (temp - equilibrium) * decay
            excess = (temp - equilibrium) * -decay / rate  # ∫ (T − T∞) dt, K·s
            loss_ks = excess + (equilibrium - p.ambient_c) * seconds  # ∫ (T − ambient) dt
            draw_ks = excess + (equilibrium - p.cold_c) * seconds  # ∫ (T − cold) dt
        self.temperature_c = end
        self.heat_in_wh += heat_w * seconds / 3600.0
        self.loss_wh += p.loss_w_per_k * loss_ks / 3600.0
        self.draw_wh += draw_w_per_k * draw_ks / 3600.0
        if self.closed and end >= p.cut_c:
            self.closed = False
            self.cuts.append(t + seconds)
        elif not self.closed and end <= p.close_c:
            self.closed = True
            self.closes.append(t + seconds)

    def advance(self, t: float, dt: float, heat_w: float, flow_l_min: float | None = None) -> None:
        """One step: :meth:`hold` for ``dt`` (``flow_l_min`` by default: its draws' flow
        at ``t``); the thermostat acts at the end of the step (the element's power over
        the step was decided at its start)."""
        flow = self.draws.flow_l_min(t) if flow_l_min is None else flow_l_min
        self.hold(t, dt, 1, heat_w, flow)

    @property
    def stored_wh(self) -> float:
        """Heat stored since the start (relative to the initial temperature)."""
        return self.params.capacity_wh_per_k * (self.temperature_c - self.initial_c)

    def balance_error_wh(self) -> float:
        """heat in − (stored + losses + draws): zero up to rounding."""
        return self.heat_in_wh - (self.stored_wh + self.loss_wh + self.draw_wh)


class SimLoad:
    """A regulated load as the house sees it: a command in, a power drawn out."""

    def __init__(self, name: str, load_id: str) -> None:
        self.name = name
        self.id = load_id
        self.energy_wh = 0.0  # the load's own counter of what it drew

    @property
    def variable(self) -> bool:
        """Dimmer-driven."""
        return False

    def command(self, power_w: float, on: bool) -> None:
        """Apply the regulator's output (``Output.power_w`` / ``Output.on``)."""
        raise NotImplementedError

    def drawn_w(self) -> float:
        """Power drawn now."""
        raise NotImplementedError

    def able(self) -> bool:
        """False when it cannot draw whatever the command (thermostat open)."""
        return True

    def advance(self, t: float, dt: float, drawn_w: float) -> None:
        """Physics over ``[t, t + dt]`` having drawn ``drawn_w``."""
        self.hold(t, dt, 1, drawn_w)

    def hold(self, t: float, dt: float, n: int, drawn_w: float, flow_l_min: float = 0.0) -> None:
        """Physics over ``n`` steps of ``dt`` from ``t`` having drawn ``drawn_w`` all along
        (``flow_l_min``: the hot water leaving a tank it heats)."""
        self.energy_wh += drawn_w * (n * dt) / 3600.0


class DimmerLoad(SimLoad):
    """A resistive element behind a dimmer, optionally heating a tank."""

    def __init__(
        self,
        name: str,
        load_id: str,
        max_power_w: float,
        tank: Tank | None = None,
    ) -> None:
        super().__init__(name, load_id)
        self.max_power_w = max_power_w
        self.tank = tank
        self.commanded_w = 0.0

    @property
    def variable(self) -> bool:
        """Dimmer-driven."""
        return True

    def command(self, power_w: float, on: bool) -> None:
        """The commanded power, clamped to what the element can draw."""
        self.commanded_w = min(max(power_w, 0.0), self.max_power_w)

    def able(self) -> bool:
        """The thermostat is closed (or there is none)."""
        return self.tank is None or self.tank.closed

    def drawn_w(self) -> float:
        """The commanded power, or nothing when the thermostat is open."""
        return self.commanded_w if self.able() else 0.0

    def advance(self, t: float, dt: float, drawn_w: float, flow_l_min: float | None = None) -> None:
        """Count the energy and heat the tank (``flow_l_min``: see :meth:`Tank.advance`)."""
        self.energy_wh += drawn_w * dt / 3600.0
        if self.tank is not None:
            self.tank.advance(t, dt, drawn_w, flow_l_min)

    def hold(self, t: float, dt: float, n: int, drawn_w: float, flow_l_min: float = 0.0) -> None:
        """Count the energy and heat the tank for ``n`` steps (see :meth:`Tank.hold`)."""
        self.energy_wh += drawn_w * (n * dt) / 3600.0
        if self.tank is not None:
            self.tank.hold(t, dt, n, drawn_w, flow_l_min)

    def probe_c(self, after_s: float = 0.0, flow_l_min: float = 0.0) -> float | None:
        """What the temperature probe publishes (0.1 °C resolution), None without a tank:
        now, or ``after_s`` from now if the element keeps drawing what it draws and
        ``flow_l_min`` leaves the tank."""
        if self.tank is None:
            return None
        return round(self.tank.temperature_after(after_s, self.drawn_w(), flow_l_min), 1)


class OnOffLoad(SimLoad):
    """A relay or smart plug: ``power_w`` when on."""

    def __init__(self, name: str, load_id: str, power_w: float) -> None:
        super().__init__(name, load_id)
        self.power_w = power_w
        self.on = False

    def command(self, power_w: float, on: bool) -> None:
        """On or off."""
        self.on = on

    def drawn_w(self) -> float:
        """Its power when on."""
        return self.power_w if self.on else 0.0
