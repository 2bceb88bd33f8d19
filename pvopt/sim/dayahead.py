"""The day-ahead PV forecast a simulated house's regulation is given.

A real house gets its forecast from a weather service (Open-Meteo, Solcast, Home
Assistant); the simulator makes one from the simulated PV itself, with an error: each
local day's 15-minute means of the PV, multiplied by that day's factor
``exp(N(0, ERROR_SIGMA))`` (about ±30 %: a day-ahead forecast of a broken-cloud day is
often that far off; it knows the day's weather, not its clouds minute by minute). The
factor is drawn from the run's seed and the date alone, so every controller of a run
is told the same. A forecast is issued at each local midnight for that day and the next
(a real one comes the evening before: the night's off-peak decisions see it the same).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Final, Protocol
from zoneinfo import ZoneInfo

from pvopt.forecast import PvForecast, Slot

#: The spread of a day's error factor (σ of its logarithm).
ERROR_SIGMA: Final = 0.3
SLOT_S: Final = 900.0
#: A forecast covers this long after its issue.
SPAN_S: Final = 48 * 3600.0
#: PV samples per slot, averaged.
SAMPLES: Final = 15


class PvSource(Protocol):
    """The simulated PV (:class:`~pvopt.sim.pv.PvPlant`, a replayed recording)."""

    def sample(self, t0: float, dt: float, n: int) -> list[float]: ...


@dataclass(frozen=True, slots=True)
class DayAhead:
    """Forecasts of one run's PV (``pv`` known from ``start`` to ``end``, POSIX s)."""

    pv: PvSource
    start: float
    end: float
    seed: str
    tz: ZoneInfo

    def factor(self, day: date) -> float:
        """The error factor of a local day."""
        return random.Random(f"{self.seed}:forecast:{day.isoformat()}").lognormvariate(
            0.0, ERROR_SIGMA
        )

    def issued_at(self, issued: float) -> PvForecast:
        """The forecast issued at ``issued`` (POSIX s): 15-minute slots from it for
        :data:`SPAN_S`, within the PV's span."""
        first = max(self.start, issued - issued % SLOT_S)
        last = min(self.end, issued + SPAN_S)
        slots: list[Slot] = []
        factors: dict[date, float] = {}
        t = first
        while t + SLOT_S <= last + 1e-6:
            day = datetime.fromtimestamp(t, self.tz).date()
            factor = factors.get(day)
            if factor is None:
                factor = factors[day] = self.factor(day)
            samples = self.pv.sample(t + SLOT_S / SAMPLES / 2, SLOT_S / SAMPLES, SAMPLES)
            power_w = math.fsum(samples) / len(samples) * factor
            slots.append(
                Slot(
                    start=datetime.fromtimestamp(t, UTC),
                    duration_s=SLOT_S,
                    power_w=min(max(power_w, 0.0), 100_000.0),
                )
            )
            t += SLOT_S
        return PvForecast(issued=datetime.fromtimestamp(issued, UTC), slots=tuple(slots))
