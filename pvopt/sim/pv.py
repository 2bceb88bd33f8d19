"""PV production: a clear-sky model of the array times a seeded cloud process.

**Clear sky** (what the array makes under a cloudless sky) comes from one of two models,
chosen per plant (:class:`PvPlant` ``model=``, recorded in :attr:`PvPlant.model`):

- ``"pvlib"``: `pvlib <https://pvlib-python.readthedocs.io>`_, when it is installed
  (``pip install 'pvopt[sim]'``; never needed by the daemons). The Ineichen–Perez
  clear-sky irradiance (GHI, DNI, DHI) of :meth:`pvlib.location.Location.get_clearsky`
  with pvlib's bundled monthly Linke turbidity climatology and altitude lookup (both
  offline), the sun's position from :func:`pvlib.solarposition.get_solarposition`, then
  the plane-of-array irradiance of :func:`pvlib.irradiance.get_total_irradiance` for the
  array's tilt and azimuth (Hay–Davies sky diffuse, albedo 0.25). The day is computed once
  at 1-min resolution and interpolated linearly. AC power as below (peak × POA / 1000 ×
  derate, clipped at the inverter).
- ``"textbook"``: textbook solar geometry, standard library only (Duffie & Beckman,
  *Solar Engineering of Thermal Processes*, ch. 1–2), below.
- ``"auto"``: pvlib when it can be imported, else the textbook model.

The reference days of :mod:`pvopt.sim.scenarios` and the figures of ``tests/sim`` use the
textbook model, so they do not depend on what is installed; for the reference site the two
agree within a few per cent in summer (June peak 3.38 kW with pvlib 0.16, 3.46 kW
textbook) and differ most in winter, where the fixed Meinel atmosphere is too hazy
(January peak 2.51 kW with pvlib, 2.17 kW textbook).

The textbook model:

- declination ``δ = 23.44° · sin(360° · (284 + n) / 365)`` (Cooper), ``n`` = day of year;
- solar time = UTC + longitude / 15 h + equation of time
  (``9.87 sin 2B − 7.53 cos B − 1.5 sin B`` min, ``B = 360° (n − 81) / 364``);
- hour angle ``ω = 15° · (solar time − 12 h)``;
- sun elevation ``sin h = sin φ sin δ + cos φ cos δ cos ω`` (``φ`` = latitude);
- incidence on an array tilted by ``β``: facing south,
  ``cos θ = sin δ sin(φ − β) + cos δ cos(φ − β) cos ω`` (D&B eq. 1.6.3); turned by
  ``γ`` from south (west positive: ``γ = azimuth − 180°``), the general eq. 1.6.2;
- air mass (Kasten & Young 1989) and beam irradiance (Meinel:
  ``1353 · 0.7^(AM^0.678)`` W/m²); clear-sky diffuse taken as 10 % of the beam, seen by
  the array through the sky view factor ``(1 + cos β) / 2``;
- AC power = peak × plane-of-array irradiance / 1000 W/m² × ``derate`` (temperature,
  wiring and inverter losses, 0.86), clipped at the inverter's rating.

The result is a bell over the day whose height and width follow the sun: at 45° N a
4 kWc array gives ≈ 3.4 kW at solar noon in June and ≈ 2 kW in January. Altitude is
ignored by this model.

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

import importlib
import math
import operator
import random
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Final, Literal, get_args

from pvopt.sim.timeseries import Linear

#: Solar constant used by Meinel's beam model, W/m².
SOLAR_CONSTANT = 1353.0
#: How a plant's clear-sky power is computed (see the module docstring).
PvModelChoice = Literal["auto", "pvlib", "textbook"]
PV_MODELS: Final[tuple[str, ...]] = get_args(PvModelChoice)
#: :attr:`PvPlant.model` of the textbook model.
TEXTBOOK = "textbook"
#: Step of pvlib's precomputed clear-sky day, s.
PVLIB_STEP_S = 60.0


@dataclass(frozen=True)
class PvSite:
    """The array: peak power, where it is, how it is tilted and turned."""

    peak_w: float = 4000.0
    latitude_deg: float = 45.0
    longitude_deg: float = 4.85  # east positive (Lyon)
    tilt_deg: float = 30.0
    derate: float = 0.86
    inverter_w: float | None = None  # AC rating; defaults to peak_w
    azimuth_deg: float = 180.0  # where the array faces: 90 east, 180 south, 270 west
    altitude_m: float | None = None  # pvlib only; None: pvlib's bundled lookup

    @property
    def cap_w(self) -> float:
        """The inverter's AC rating (W)."""
        return self.inverter_w if self.inverter_w is not None else self.peak_w


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
    gamma = rad(site.azimuth_deg - 180.0)
    if gamma == 0.0:  # facing south: the compact form (D&B 1.6.3)
        tilted = phi - rad(site.tilt_deg)
        cos_theta = math.sin(decl) * math.sin(tilted) + math.cos(decl) * math.cos(
            tilted
        ) * math.cos(omega)
        return elevation, cos_theta
    beta = rad(site.tilt_deg)  # D&B 1.6.2, γ from south, west positive
    sin_d, cos_d = math.sin(decl), math.cos(decl)
    sin_p, cos_p = math.sin(phi), math.cos(phi)
    sin_b, cos_b = math.sin(beta), math.cos(beta)
    cos_theta = (
        sin_d * sin_p * cos_b
        - sin_d * cos_p * sin_b * math.cos(gamma)
        + cos_d * cos_p * cos_b * math.cos(omega)
        + cos_d * sin_p * sin_b * math.cos(gamma) * math.cos(omega)
        + cos_d * sin_b * math.sin(gamma) * math.sin(omega)
    )
    return elevation, cos_theta


def clear_sky_w(site: PvSite, t: float) -> float:
    """AC power of the array under a cloudless sky at ``t`` (W), textbook model."""
    elevation, cos_theta = sun(site, t)
    if elevation <= 0.0:
        return 0.0
    sin_h = math.sin(math.radians(elevation))
    air_mass = 1.0 / (sin_h + 0.50572 * math.pow(elevation + 6.07995, -1.6364))
    beam = SOLAR_CONSTANT * math.pow(0.7, math.pow(air_mass, 0.678))
    diffuse = 0.1 * beam
    poa = beam * max(cos_theta, 0.0) + diffuse * (1 + math.cos(math.radians(site.tilt_deg))) / 2
    power = site.peak_w * poa / 1000.0 * site.derate
    return min(power, site.cap_w)


def pvlib_version() -> str | None:
    """pvlib's version, or None when it cannot be imported."""
    try:
        module = importlib.import_module("pvlib")
    except ImportError:
        return None
    return str(module.__version__)


def resolve_model(choice: PvModelChoice) -> Literal["pvlib", "textbook"]:
    """The model ``choice`` stands for here: ``"auto"`` is pvlib when it is installed.

    Raises :class:`ImportError` (saying what to install) for ``"pvlib"`` without pvlib."""
    if choice not in PV_MODELS:
        raise ValueError(f"unknown PV model {choice!r}; expected one of {', '.join(PV_MODELS)}")
    if choice == "textbook":
        return "textbook"
    if pvlib_version() is None:
        if choice == "pvlib":
            raise ImportError(
                "the pvlib PV model needs pvlib: pip install 'pvopt[sim]' (or 'pvlib>=0.11')"
            )
        return "textbook"
    return "pvlib"


def pvlib_clear_sky(
    site: PvSite, start: float, end: float, step_s: float = PVLIB_STEP_S
) -> tuple[list[float], list[float]]:
    """``(times, AC power W)`` under a cloudless sky every ``step_s`` from ``start``
    (POSIX seconds) until past ``end``, from pvlib (see the module docstring).

    pvlib is imported here, never at module level: importing :mod:`pvopt.sim` must not
    need it. Its deprecation noise (pvlib lagging a newer pandas) is silenced: it says
    nothing about this computation, and a test suite running with warnings as errors
    would otherwise fail on it."""
    pd: Any = importlib.import_module("pandas")
    pvlib: Any = importlib.import_module("pvlib")
    count = math.ceil((end - start) / step_s) + 2
    times = [start + i * step_s for i in range(count)]
    index = pd.DatetimeIndex(pd.to_datetime(times, unit="s", utc=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        location = pvlib.location.Location(
            site.latitude_deg, site.longitude_deg, tz="UTC", altitude=site.altitude_m
        )
        sky = location.get_clearsky(index, model="ineichen")
        position = location.get_solarposition(index)
        poa = pvlib.irradiance.get_total_irradiance(
            surface_tilt=site.tilt_deg,
            surface_azimuth=site.azimuth_deg,
            solar_zenith=position["apparent_zenith"],
            solar_azimuth=position["azimuth"],
            dni=sky["dni"],
            ghi=sky["ghi"],
            dhi=sky["dhi"],
            dni_extra=pvlib.irradiance.get_extra_radiation(index),
            model="haydavies",
        )
        irradiance = poa["poa_global"].fillna(0.0).clip(lower=0.0).to_numpy().tolist()
    cap = site.cap_w
    power = [min(site.peak_w * float(g) / 1000.0 * site.derate, cap) for g in irradiance]
    return times, power


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


#: How each sky's factor points are drawn.
_POINTS = {
    Sky.CLEAR: _clear_points,
    Sky.BROKEN: _broken_points,
    Sky.OVERCAST: _overcast_points,
}


@dataclass(frozen=True)
class SkyPiece:
    """A stretch ``[start, end)`` (POSIX seconds) of one sky, drawn from a stream of its
    own seeded by ``seed`` (a seasonal run: a local day each, so that a day's clouds do
    not depend on the days before it or on how long the run is)."""

    sky: Sky
    start: float
    end: float
    seed: str


class CloudProcess:
    """The seeded cloud factor ``k(t)`` (see the module docstring) over ``[start, end]``,
    one sky throughout (:class:`DailyClouds`: skies that change from day to day)."""

    sky: Sky | None  # None: pieces of several skies

    def __init__(self, sky: Sky, rng: random.Random, start: float, end: float) -> None:
        self.sky = sky
        points = _POINTS[sky](rng, start, end)
        self._k = Linear([p[0] for p in points], [p[1] for p in points])

    def factor(self, t: float) -> float:
        """Fraction of the clear-sky power that reaches the array at ``t``."""
        return self._k(t)

    def sample(self, t0: float, dt: float, n: int, progression: bool = False) -> list[float]:
        """The factor at ``t0 + k·dt`` for ``k < n`` (``progression``: see
        :meth:`pvopt.sim.timeseries.Linear.sample`)."""
        return self._k.sample(t0, dt, n, progression)


class DailyClouds(CloudProcess):
    """The cloud factor of consecutive :class:`SkyPiece` (in time order, not overlapping):
    each piece's points before its end, then the next piece's from its start (linear in
    between: at night for pieces cut at local midnight); the last piece runs past its end
    as a single sky does. :attr:`sky` is the pieces' sky when they all share one, else
    None; :attr:`pieces` are the pieces."""

    def __init__(self, pieces: Sequence[SkyPiece]) -> None:  # its own factor, no super()
        if not pieces:
            raise ValueError("a cloud process needs at least one piece")
        times: list[float] = []
        factors: list[float] = []
        for i, piece in enumerate(pieces):
            points = _POINTS[piece.sky](random.Random(piece.seed), piece.start, piece.end)
            if i < len(pieces) - 1:
                points = [p for p in points if p[0] < piece.end]
            if times and points[0][0] <= times[-1]:
                raise ValueError("cloud pieces must be in time order and not overlap")
            times.extend(p[0] for p in points)
            factors.extend(p[1] for p in points)
        skies = {piece.sky for piece in pieces}
        self.sky = skies.pop() if len(skies) == 1 else None
        self.pieces = tuple(pieces)
        self._k = Linear(times, factors)


class PvPlant:
    """The array's AC power over a day: clear sky (precomputed every ``grid_s`` seconds
    by the textbook model, every minute by pvlib, linear in between — the sun moves
    slowly) times the clouds.

    ``model`` picks the clear-sky model (``"auto"``: pvlib when installed); the one used
    is in :attr:`model`: ``"textbook"`` or ``"pvlib <version> Ineichen"``. A subclass may
    stand for a production that is not modelled (a recorded day,
    :class:`pvopt.sim.replay.RecordedPv`): its :attr:`clouds` is None."""

    site: PvSite
    model: str
    clouds: CloudProcess | None

    def __init__(
        self,
        site: PvSite,
        clouds: CloudProcess,
        start: float,
        end: float,
        grid_s: float = 30.0,
        model: PvModelChoice = "textbook",
    ) -> None:
        self.site = site
        self.clouds = clouds
        self._clouds = clouds
        if resolve_model(model) == "pvlib":
            times, power = pvlib_clear_sky(site, start, end)
            self.model = f"pvlib {pvlib_version()} Ineichen"
        else:
            count = math.ceil((end - start) / grid_s) + 2
            times = [start + i * grid_s for i in range(count)]
            power = [clear_sky_w(site, x) for x in times]
            self.model = TEXTBOOK
        self._clear = Linear(times, power)
        self._cap = site.cap_w

    def clear_sky_w(self, t: float) -> float:
        """Clear-sky power at ``t`` (W)."""
        return self._clear(t)

    def power_w(self, t: float) -> float:
        """AC power fed by the inverter at ``t`` (W), clipped at its rating."""
        clear = self._clear(t)
        if clear <= 0.0:
            return 0.0
        return min(clear * self._clouds.factor(t), self._cap)

    def sample(self, t0: float, dt: float, n: int) -> list[float]:
        """:meth:`power_w` at ``t0 + k·dt`` for ``k < n`` (one pass; clear sky and clouds
        each sampled as a progression, see :meth:`pvopt.sim.timeseries.Linear.sample`: equal
        to the calls but for the rounding of the times, a few µW at most)."""
        if n <= 0:
            return []
        cap = self._cap
        clear = self._clear.sample(t0, dt, n, progression=True)
        if max(clear) <= 0.0:
            return [0.0] * n
        factor = self._clouds.sample(t0, dt, n, progression=True)
        # The clear sky is never negative and the cloud factor is positive: the product
        # is 0 where the clear sky is; only the inverter's cap needs a test, and only
        # when some step reaches it.
        power = list(map(operator.mul, clear, factor))
        if max(power) > cap:
            return [x if x < cap else cap for x in power]
        return power
