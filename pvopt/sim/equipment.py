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
  again at ``close_c`` (60 °C). Euler steps of the house's step (0.2 s) are exact to far
  better than the model itself: the tank's time constant is ~150 h.
- :class:`HotWaterDraws`: seeded draws — morning showers, small daytime draws, evening
  dishes and showers.
- :class:`OnOffLoad`: draws its power when on (by default its nominal power; a test may
  give it a different real power).

Every load integrates its own energy, so the house's energy balance is checked across
independently kept counters.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from pvopt.sim.timeseries import Steps, step_sum

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

    def advance(self, t: float, dt: float, heat_w: float, flow_l_min: float | None = None) -> None:
        """Heat the tank with ``heat_w`` from ``t`` to ``t + dt`` while ``flow_l_min`` of hot
        water leaves it (default: its draws' flow at ``t``); the thermostat acts at the end
        of the step (the element's power over the step was decided at its start)."""
        p = self.params
        temp = self.temperature_c
        loss_w = p.loss_w_per_k * (temp - p.ambient_c)
        flow = self.draws.flow_l_min(t) if flow_l_min is None else flow_l_min
        draw_w = flow / 60.0 * WATER_J_PER_L_K * (temp - p.cold_c) if flow else 0.0
        self.temperature_c = temp + (heat_w - loss_w - draw_w) * dt / self._capacity_j_per_k
        hours = dt / 3600.0
        self.heat_in_wh += heat_w * hours
        self.loss_wh += loss_w * hours
        self.draw_wh += draw_w * hours
        if self.closed and self.temperature_c >= p.cut_c:
            self.closed = False
            self.cuts.append(t + dt)
        elif not self.closed and self.temperature_c <= p.close_c:
            self.closed = True
            self.closes.append(t + dt)

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
        self.energy_wh += drawn_w * dt / 3600.0


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

    def probe_c(self) -> float | None:
        """What the temperature probe publishes (0.1 °C resolution), None without a tank."""
        return None if self.tank is None else round(self.tank.temperature_c, 1)


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
