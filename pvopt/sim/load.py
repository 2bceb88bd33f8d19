"""The household base load: what the house draws besides the regulated loads.

Three parts, summed (W):

1. **A daily profile** in local time, linear between hours: a night floor of
   ~180–250 W (fridge, router, standby), a morning peak (~500 W around 07:00–08:00),
   a modest midday, an evening peak (~650 W at 20:00). Values are typical of a French
   all-electric-but-heating household and documented in :data:`DEFAULT_PROFILE`.
2. **Ripple**: electronics and small loads make a few tens of watts of noise; an AR(1)
   process (σ ≈ 15 W, correlation ~20 s) sampled every 5 s, linear in between.
3. **Appliances** (seeded, optional), each a rectangle or a train of rectangles:
   the fridge compressor (90 W, 12–18 min on, 25–40 min off, all day); kettles
   (2 kW for 2–4 min, morning almost always, sometimes midday, afternoon, evening);
   a microwave (1.2 kW, 2–5 min); an oven (2 kW preheat for 8–12 min, then its own
   thermostat cycling 1.5–3 min on / 2–4 min off for 30–50 min); a washing machine
   started in the sunny hours (2 kW heating 12–18 min, then a 150–300 W drum for
   40–60 min and two 500 W spins); a dishwasher after dinner (two 2 kW heating phases).
   These are the fast ±2 kW steps a router must absorb.

Scripted steps (a test's kettle) are added with :meth:`BaseLoad.add`.
"""

from __future__ import annotations

import itertools
import operator
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from pvopt.sim.timeseries import Linear, step_sum

#: (local hour, W): the base profile without appliances, linear between points.
DEFAULT_PROFILE: tuple[tuple[float, float], ...] = (
    (0.0, 210.0),
    (5.0, 180.0),
    (6.5, 250.0),
    (7.0, 450.0),
    (8.0, 500.0),
    (9.0, 300.0),
    (12.0, 340.0),
    (13.0, 400.0),
    (14.0, 280.0),
    (17.0, 300.0),
    (18.5, 480.0),
    (20.0, 650.0),
    (21.5, 500.0),
    (23.0, 250.0),
    (24.0, 210.0),
)


@dataclass(frozen=True)
class Pulse:
    """An appliance drawing ``power_w`` from ``start`` to ``end`` (POSIX seconds)."""

    start: float
    end: float
    power_w: float
    label: str


def _profile_at(profile: tuple[tuple[float, float], ...], hour: float) -> float:
    for (h0, w0), (h1, w1) in itertools.pairwise(profile):
        if h0 <= hour <= h1:
            return w0 if h1 == h0 else w0 + (w1 - w0) * (hour - h0) / (h1 - h0)
    return profile[-1][1]


def _local_hour(t: float, tz: ZoneInfo) -> float:
    d = datetime.fromtimestamp(t, tz)
    return d.hour + d.minute / 60 + d.second / 3600


class _Day:
    """Helper: local clock times of one date as POSIX seconds."""

    def __init__(self, day: date, tz: ZoneInfo, rng: random.Random) -> None:
        self.day, self.tz, self.rng = day, tz, rng

    def at(self, hour: float, spread_h: float = 0.0) -> float:
        h = hour + (self.rng.uniform(-spread_h, spread_h) if spread_h else 0.0)
        midnight = datetime.combine(self.day, datetime.min.time(), self.tz)
        return (midnight + timedelta(hours=h)).timestamp()


def appliance_pulses(rng: random.Random, day: date, tz: ZoneInfo) -> list[Pulse]:
    """The appliances of one local day (see the module docstring)."""
    d = _Day(day, tz, rng)
    pulses: list[Pulse] = []
    u = rng.uniform
    # Fridge compressor, all day, random phase.
    t = d.at(0.0) - u(0, 45 * 60)
    end_of_day = d.at(24.0)
    while t < end_of_day:
        on = u(12, 18) * 60
        pulses.append(Pulse(t, t + on, 90.0, "fridge"))
        t += on + u(25, 40) * 60
    # Kettles.
    kettles = ((7.25, 0.5, 0.9), (12.5, 0.5, 0.3), (16.5, 1.0, 0.5), (20.5, 0.75, 0.4))
    for hour, spread, chance in kettles:  # (local hour, ± hours, probability)
        if rng.random() < chance:
            start = d.at(hour, spread)
            pulses.append(Pulse(start, start + u(2, 4) * 60, 2000.0, "kettle"))
    # Microwave.
    for hour in (12.5, 19.5):
        if rng.random() < 0.6:
            start = d.at(hour, 0.5)
            pulses.append(Pulse(start, start + u(2, 5) * 60, 1200.0, "microwave"))
    # Oven: preheat, then its thermostat cycles.
    for hour in (11.75, 19.0):
        if rng.random() < 0.5:
            t = d.at(hour, 0.5)
            preheat = u(8, 12) * 60
            pulses.append(Pulse(t, t + preheat, 2000.0, "oven"))
            stop = t + preheat + u(30, 50) * 60
            t += preheat + u(2, 4) * 60
            while t < stop:
                on = u(1.5, 3) * 60
                pulses.append(Pulse(t, t + on, 2000.0, "oven"))
                t += on + u(2, 4) * 60
    # Washing machine in the sunny hours.
    if rng.random() < 0.6:
        t = d.at(9.0) + u(0, 5 * 3600)
        heat = u(12, 18) * 60
        t += 3 * 60  # filling
        pulses.append(Pulse(t, t + heat, 2000.0, "washer heating"))
        t += heat
        drum = u(40, 60) * 60
        pulses.append(Pulse(t, t + drum, u(150, 300), "washer drum"))
        for spin in (drum * 0.5, drum - 5 * 60):
            pulses.append(Pulse(t + spin, t + spin + 5 * 60, 500.0, "washer spin"))
    # Dishwasher after dinner.
    if rng.random() < 0.5:
        t = d.at(21.0, 0.5)
        pulses.append(Pulse(t, t + 15 * 60, 2000.0, "dishwasher heating"))
        pulses.append(Pulse(t + 15 * 60, t + 75 * 60, 100.0, "dishwasher pump"))
        pulses.append(Pulse(t + 75 * 60, t + 85 * 60, 2000.0, "dishwasher heating"))
    return pulses


class BaseLoad:
    """Profile + ripple + appliances over ``[start, end]`` (POSIX seconds)."""

    def __init__(
        self,
        rng: random.Random,
        start: float,
        end: float,
        tz: ZoneInfo,
        appliances: bool = True,
        ripple_w: float = 15.0,
        profile: tuple[tuple[float, float], ...] = DEFAULT_PROFILE,
    ) -> None:
        self.start, self.end, self.tz = start, end, tz
        # Profile every minute (local time, so DST days come out right).
        minutes = int((end - start) // 60) + 2
        times = [start + 60.0 * i for i in range(minutes)]
        profile_w = [_profile_at(profile, _local_hour(x, tz)) for x in times]
        self._profile = Linear(times, profile_w)
        # Ripple: AR(1) every 5 s, stationary σ = ripple_w, correlation time 20 s.
        rho = 0.78  # exp(−5 s / 20 s)
        innovation = ripple_w * (1 - rho * rho) ** 0.5
        ripple_times = [start + 5.0 * i for i in range(int((end - start) // 5) + 2)]
        level = rng.gauss(0.0, ripple_w) if ripple_w else 0.0
        ripple: list[float] = []
        for _ in ripple_times:
            ripple.append(level)
            level = rho * level + (rng.gauss(0.0, innovation) if ripple_w else 0.0)
        self._ripple = Linear(ripple_times, ripple)
        # Their sum, one piecewise-linear function through both sets of breakpoints:
        # what :meth:`sample` reads (one lookup per step instead of two and an addition).
        knots = sorted({*times, *ripple_times})
        self._smooth = Linear(knots, [self._profile(x) + self._ripple(x) for x in knots])
        self.pulses: list[Pulse] = []
        if appliances:
            first = datetime.fromtimestamp(start, tz).date()
            last = datetime.fromtimestamp(end, tz).date()
            day = first
            while day <= last:
                self.pulses.extend(
                    p for p in appliance_pulses(rng, day, tz) if p.end > start and p.start < end
                )
                day += timedelta(days=1)
        self._rebuild()

    def _rebuild(self) -> None:
        self._steps = step_sum([(p.start, p.end, p.power_w) for p in self.pulses])

    def add(self, start: float, end: float, power_w: float, label: str = "scripted") -> None:
        """Add a scripted appliance (a kettle switched on by a test)."""
        self.pulses.append(Pulse(start, end, power_w, label))
        self._rebuild()

    def power_w(self, t: float) -> float:
        """What the household draws at ``t`` (W), never below 50 W."""
        return max(50.0, self._profile(t) + self._ripple(t) + self._steps(t))

    def sample(self, t0: float, dt: float, n: int) -> list[float]:
        """:meth:`power_w` at ``t0 + k·dt`` for ``k < n`` (one pass; profile and ripple are
        summed at their breakpoints and sampled as a progression, see
        :meth:`pvopt.sim.timeseries.Linear.sample`: equal to the calls but for rounding, a
        few µW at most)."""
        if n <= 0:
            return []
        smooth = self._smooth.sample(t0, dt, n, progression=True)
        out: list[float] = []
        for (k, level), (end, _) in itertools.pairwise([*self._steps.runs(t0, dt, n), (n, 0.0)]):
            out.extend(
                smooth[k:end]
                if level == 0.0
                else map(operator.add, smooth[k:end], itertools.repeat(level))
            )
        if min(out) < 50.0:
            return [x if x > 50.0 else 50.0 for x in out]
        return out
