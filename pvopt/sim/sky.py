"""A seasonal sky: each local day's sky drawn from its month's clear-sky index.

A fixed sky (:class:`~pvopt.sim.pv.Sky`) is one weather for the whole run: 30 days of
``broken`` are 30 days of May cumulus, even in January. The seasonal sky draws every local
day's sky — clear, broken or overcast, the cloud processes of :mod:`pvopt.sim.pv` — so
that the expected ratio of the day's PV energy to its clear-sky energy is the month's
clear-sky index ``K_c`` at the site's latitude (:func:`pvopt.sim.climate.clear_sky_index`).

The mean ratio of each sky, :data:`SKY_RATIOS`, was measured on the cloud processes by
``benchmarks/sky_table.py``: the reference array (4 kWc, 45° N, textbook clear sky,
1-min steps, inverter cap applied), one day on each of the 365 days of 2026 with 4 seeds
per sky, Σ PV / Σ clear-sky energy. A month's ``K_c`` fixes only the mean of the mix, not
how it splits between the three skies (the source has no daily statistics); the split is
the one of maximum entropy with that mean — ``p(sky) ∝ exp(λ · ratio(sky))``, the
least-committal choice: a middling month gets all three skies, a bright one mostly clear
days, a grey one mostly overcast ones. ``K_c`` beyond the clear sky's ratio (0.98) gives
only clear days, below the overcast sky's (0.26) only overcast ones.

Determinism: a day's sky and its clouds come from streams of their own, seeded by the
run's seed, the scenario and the date, and each day's clouds are drawn over the whole
local day: the days of a run do not change when the run is made longer or starts later.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from pvopt.sim.climate import clear_sky_index
from pvopt.sim.pv import DailyClouds, Sky, SkyPiece

#: Mean daily PV / clear-sky energy ratio of each sky (see the module docstring).
SKY_RATIOS: dict[Sky, float] = {Sky.CLEAR: 0.980, Sky.BROKEN: 0.794, Sky.OVERCAST: 0.260}


@dataclass(frozen=True)
class SeasonalSky:
    """A sky drawn day by day from the month's clear-sky index at ``latitude_deg`` (None:
    the PV array's latitude)."""

    latitude_deg: float | None = None


@dataclass(frozen=True)
class SkyShares:
    """The probability of each sky on a day (they sum to 1)."""

    clear: float
    broken: float
    overcast: float

    def pick(self, u: float) -> Sky:
        """The sky at ``u`` in [0, 1) (clear, then broken, then overcast)."""
        if u < self.clear:
            return Sky.CLEAR
        if u < self.clear + self.broken:
            return Sky.BROKEN
        return Sky.OVERCAST

    def mean_ratio(self) -> float:
        """The expected daily PV / clear-sky energy ratio of these shares."""
        return (
            self.clear * SKY_RATIOS[Sky.CLEAR]
            + self.broken * SKY_RATIOS[Sky.BROKEN]
            + self.overcast * SKY_RATIOS[Sky.OVERCAST]
        )


def _gibbs(weight: float) -> SkyShares:
    """Shares ``∝ exp(weight · ratio)``, the ratios centred for numerical range."""
    centre = SKY_RATIOS[Sky.BROKEN]
    e = {sky: math.exp(weight * (r - centre)) for sky, r in SKY_RATIOS.items()}
    total = sum(e.values())
    return SkyShares(e[Sky.CLEAR] / total, e[Sky.BROKEN] / total, e[Sky.OVERCAST] / total)


def sky_shares(clear_sky_index_: float) -> SkyShares:
    """The maximum-entropy shares whose mean ratio is ``clear_sky_index_`` (clamped to the
    clear and overcast skies' ratios)."""
    if clear_sky_index_ >= SKY_RATIOS[Sky.CLEAR]:
        return SkyShares(1.0, 0.0, 0.0)
    if clear_sky_index_ <= SKY_RATIOS[Sky.OVERCAST]:
        return SkyShares(0.0, 0.0, 1.0)
    low, high = -500.0, 500.0  # the mean ratio grows with the weight
    for _ in range(100):
        mid = (low + high) / 2
        if _gibbs(mid).mean_ratio() < clear_sky_index_:
            low = mid
        else:
            high = mid
    return _gibbs((low + high) / 2)


def day_sky(seed: str, day: date, latitude_deg: float) -> Sky:
    """The sky of local ``day``: a draw of its own stream (``seed`` and the date) from the
    shares of the month's clear-sky index at ``latitude_deg``."""
    shares = sky_shares(clear_sky_index(latitude_deg, day.month))
    return shares.pick(random.Random(f"{seed}:sky:{day.isoformat()}").random())


def seasonal_clouds(
    seed: str, latitude_deg: float, start: float, end: float, tz: ZoneInfo
) -> DailyClouds:
    """The cloud factor over ``[start, end]`` (POSIX seconds): one piece per local day
    overlapping it, each over the whole day, of the day's sky (:func:`day_sky`) from a
    stream of its own."""
    day = datetime.fromtimestamp(start, tz).date()
    pieces: list[SkyPiece] = []
    while True:
        midnight = datetime.combine(day, datetime.min.time(), tz).timestamp()
        if midnight >= end and pieces:
            break
        following = day + timedelta(days=1)
        next_midnight = datetime.combine(following, datetime.min.time(), tz).timestamp()
        sky = day_sky(seed, day, latitude_deg)
        pieces.append(
            SkyPiece(
                sky=sky, start=midnight, end=next_midnight, seed=f"{seed}:clouds:{day.isoformat()}"
            )
        )
        day = following
    return DailyClouds(pieces)
