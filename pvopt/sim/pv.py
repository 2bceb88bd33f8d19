"""PV production: a clear-sky model of the array times a seeded cloud process.

**Clear sky** (what the array makes under a cloudless sky), from textbook solar geometry
(Duffie & Beckman, *Solar Engineering of Thermal Processes*, ch. 1–2):

- declination ``δ = 23.44° · sin(360° · (284 + n) / 365)`` (Cooper), ``n`` = day of year;
- solar time = UTC + longitude / 15 h + equation of time
  (``9.87 sin 2B − 7.53 cos B − 1.5 sin B`` min, ``B = 360° (n − 81) / 364``);
- hour angle ``ω = 15° · (solar time − 12 h)``;
- sun elevation ``sin h = sin φ sin δ + cos φ cos δ cos ω`` (``φ`` = latitude);
- incidence on a south-facing array tilted by ``β``:
  ``cos θ = sin δ sin(φ − β) + cos δ cos(φ − β) cos ω``;
- air mass (Kasten & Young 1989) and beam irradiance (Meinel:
  ``1353 · 0.7^(AM^0.678)`` W/m²); clear-sky diffuse taken as 10 % of the beam, seen by
  the array through the sky view factor ``(1 + cos β) / 2``;
- AC power = peak × plane-of-array irradiance / 1000 W/m² × ``derate`` (temperature,
  wiring and inverter losses, 0.86), clipped at the inverter's rating.

The result is a bell over the day whose height and width follow the sun: at 45° N a
4 kWc array gives ≈ 3.4 kW at solar noon in June and ≈ 2 kW in January.

**Clouds** multiply the clear-sky power by a factor ``k(t)`` (piecewise linear, seeded):

- ``CLEAR``: a slow haze, ``k`` drifting in [0.96, 1] over ~10 min;
- ``BROKEN`` (fair-weather cumulus): sunny spells (exponential, mean 150 s, ≥ 15 s) and
  cloud shadows (exponential, mean 90 s, ≥ 10 s) that cut 30–80 % of the power, with
  shadow edges crossing the array in 2–8 s, thickness changes inside a shadow, and —
  a real effect routers must live with — a short cloud-edge enhancement (+5–20 % for
  5–20 s) after 30 % of the shadows;
- ``OVERCAST`` (winter stratus): ``k`` wanders slowly in [0.12, 0.35] (a new level every
  2–10 min, linear in between), with an occasional thinner patch (0.45–0.65).

Not modelled: the module temperature's effect beyond the fixed derate, snow, shading by
the surroundings, partial shading of a string.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum

from pvopt.sim.timeseries import Linear

#: Solar constant used by Meinel's beam model, W/m².
SOLAR_CONSTANT = 1353.0


@dataclass(frozen=True)
class PvSite:
    """The array: peak power, where it is, how it is tilted (facing south)."""

    peak_w: float = 4000.0
    latitude_deg: float = 45.0
    longitude_deg: float = 4.85  # east positive (Lyon)
    tilt_deg: float = 30.0
    derate: float = 0.86
    inverter_w: float | None = None  # AC rating; defaults to peak_w


def _day_and_hours(t: float) -> tuple[int, float]:
    d = datetime.fromtimestamp(t, UTC)
    hours = d.hour + d.minute / 60 + (d.second + d.microsecond / 1e6) / 3600
    return d.timetuple().tm_yday, hours


def sun(site: PvSite, t: float) -> tuple[float, float]:
    """(sun elevation in degrees, cosine of the incidence angle on the array) at ``t``."""
    n, utc_hours = _day_and_hours(t)
    rad = math.radians
    decl = rad(23.44) * math.sin(rad(360.0 * (284 + n) / 365.0))
    b = rad(360.0 * (n - 81) / 364.0)
    eot_min = 9.87 * math.sin(2 * b) - 7.53 * math.cos(b) - 1.5 * math.sin(b)
    solar_hours = utc_hours + site.longitude_deg / 15.0 + eot_min / 60.0
    omega = rad(15.0 * (solar_hours - 12.0))
    phi = rad(site.latitude_deg)
    sin_h = math.sin(phi) * math.sin(decl) + math.cos(phi) * math.cos(decl) * math.cos(omega)
    elevation = math.degrees(math.asin(max(-1.0, min(1.0, sin_h))))
    tilted = phi - rad(site.tilt_deg)
    cos_theta = math.sin(decl) * math.sin(tilted) + math.cos(decl) * math.cos(tilted) * math.cos(
        omega
    )
    return elevation, cos_theta


def clear_sky_w(site: PvSite, t: float) -> float:
    """AC power of the array under a cloudless sky at ``t`` (W)."""
    elevation, cos_theta = sun(site, t)
    if elevation <= 0.0:
        return 0.0
    sin_h = math.sin(math.radians(elevation))
    air_mass = 1.0 / (sin_h + 0.50572 * math.pow(elevation + 6.07995, -1.6364))
    beam = SOLAR_CONSTANT * math.pow(0.7, math.pow(air_mass, 0.678))
    diffuse = 0.1 * beam
    poa = beam * max(cos_theta, 0.0) + diffuse * (1 + math.cos(math.radians(site.tilt_deg))) / 2
    power = site.peak_w * poa / 1000.0 * site.derate
    return min(power, site.inverter_w if site.inverter_w is not None else site.peak_w)


class Sky(Enum):
    """Weather of a simulated day."""

    CLEAR = "clear"
    BROKEN = "broken"
    OVERCAST = "overcast"


def _clear_points(rng: random.Random, start: float, end: float) -> list[tuple[float, float]]:
    points = [(start, rng.uniform(0.96, 1.0))]
    t = start
    while t < end:
        t += rng.uniform(300.0, 900.0)
        points.append((t, rng.uniform(0.96, 1.0)))
    return points


def _broken_points(rng: random.Random, start: float, end: float) -> list[tuple[float, float]]:
    points = [(start, 1.0)]
    t = start
    sunny = rng.random() < 0.6
    while t < end:
        if sunny:
            t += max(15.0, rng.expovariate(1 / 150.0))
            points.append((t, rng.uniform(0.97, 1.0)))
        else:
            shadow_end = t + max(10.0, rng.expovariate(1 / 90.0))
            t += rng.uniform(2.0, 8.0)  # the shadow's edge crosses the array
            points.append((t, 1.0 - rng.uniform(0.3, 0.8)))
            while True:  # thickness changes inside the shadow
                hold = rng.uniform(8.0, 30.0)
                if t + hold >= shadow_end:
                    break
                t += hold
                points.append((t, points[-1][1]))
                t += rng.uniform(2.0, 8.0)
                points.append((t, 1.0 - rng.uniform(0.3, 0.8)))
            t = max(t, shadow_end)
            points.append((t, points[-1][1]))
            t += rng.uniform(2.0, 8.0)  # the sun comes back
            if rng.random() < 0.3:  # cloud-edge enhancement
                points.append((t, rng.uniform(1.05, 1.2)))
                t += rng.uniform(5.0, 20.0)
                points.append((t, points[-1][1]))
                t += rng.uniform(2.0, 5.0)
            points.append((t, rng.uniform(0.97, 1.0)))
        sunny = not sunny
    return points


def _overcast_points(rng: random.Random, start: float, end: float) -> list[tuple[float, float]]:
    points = [(start, rng.uniform(0.12, 0.35))]
    t = start
    while t < end:
        t += rng.uniform(120.0, 600.0)
        level = rng.uniform(0.45, 0.65) if rng.random() < 0.08 else rng.uniform(0.12, 0.35)
        points.append((t, level))
    return points


class CloudProcess:
    """The seeded cloud factor ``k(t)`` (see the module docstring) over ``[start, end]``."""

    def __init__(self, sky: Sky, rng: random.Random, start: float, end: float) -> None:
        self.sky = sky
        make = {
            Sky.CLEAR: _clear_points,
            Sky.BROKEN: _broken_points,
            Sky.OVERCAST: _overcast_points,
        }[sky]
        points = make(rng, start, end)
        self._k = Linear([p[0] for p in points], [p[1] for p in points])

    def factor(self, t: float) -> float:
        """Fraction of the clear-sky power that reaches the array at ``t``."""
        return self._k(t)

    def sample(self, t0: float, dt: float, n: int) -> list[float]:
        """The factor at ``t0 + k·dt`` for ``k < n``."""
        return self._k.sample(t0, dt, n)


class PvPlant:
    """The array's AC power over a day: clear sky (precomputed every ``grid_s`` seconds,
    linear in between — the sun moves slowly) times the clouds."""

    def __init__(
        self,
        site: PvSite,
        clouds: CloudProcess,
        start: float,
        end: float,
        grid_s: float = 30.0,
    ) -> None:
        self.site = site
        self.clouds = clouds
        count = math.ceil((end - start) / grid_s) + 2
        times = [start + i * grid_s for i in range(count)]
        self._clear = Linear(times, [clear_sky_w(site, x) for x in times])
        self._cap = site.inverter_w if site.inverter_w is not None else site.peak_w

    def clear_sky_w(self, t: float) -> float:
        """Clear-sky power at ``t`` (W)."""
        return self._clear(t)

    def power_w(self, t: float) -> float:
        """AC power fed by the inverter at ``t`` (W), clipped at its rating."""
        clear = self._clear(t)
        if clear <= 0.0:
            return 0.0
        return min(clear * self.clouds.factor(t), self._cap)

    def sample(self, t0: float, dt: float, n: int) -> list[float]:
        """:meth:`power_w` at ``t0 + k·dt`` for ``k < n`` (one pass)."""
        cap = self._cap
        clear = self._clear.sample(t0, dt, n)
        if max(clear) <= 0.0:
            return [0.0] * n
        factor = self.clouds.sample(t0, dt, n)
        return [min(c * f, cap) if c > 0.0 else 0.0 for c, f in zip(clear, factor, strict=True)]
