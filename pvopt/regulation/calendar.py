"""The site's local time as the regulation needs it: the day, the off-peak window, the
``min_energy`` periods and the day's ``latest_end`` deadlines.

Frames come about 50 times a minute and each evaluation asks several times: the answers
are remembered (the minute in progress, the period in progress), which never changes them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from pvopt.equipment.model import RegulationConfig, local_end

#: A day, the default length of a period.
DAY_S = 86_400.0


def at_least(seconds: float) -> timedelta:
    """The shortest duration ``d`` with ``d.total_seconds() >= seconds``: comparing a
    timedelta with it decides exactly what comparing its seconds would, without them
    (``total_seconds`` divides a whole number of microseconds, rounding to nearest)."""
    microseconds = math.ceil(seconds * 1e6)
    while (microseconds - 1) / 1e6 >= seconds:
        microseconds -= 1
    while microseconds / 1e6 < seconds:
        microseconds += 1
    return timedelta(microseconds=microseconds)


@lru_cache(maxsize=64)
def span(seconds: float) -> timedelta:
    """``timedelta(seconds=seconds)``, remembered: building one from a float costs more
    than the rest of a rule that asks it each frame with the same seconds (a run time
    left that does not move while its load is off)."""
    return timedelta(seconds=seconds)


def beyond(seconds: float) -> timedelta:
    """The shortest duration ``d`` with ``d.total_seconds() > seconds`` (see
    :func:`at_least`)."""
    shortest = at_least(seconds)
    return shortest if shortest.total_seconds() > seconds else shortest + timedelta.resolution


@dataclass(frozen=True, slots=True)
class Period:
    """A ``min_energy`` period: its start in local time, and its bounds in UTC (comparing
    datetimes of different zones costs a zone lookup each time)."""

    local_start: datetime
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Minute:
    """The wall-clock minute holding an instant: its bounds in UTC and its local start.
    The day and an HH:MM off-peak window cannot change within it."""

    start: datetime
    end: datetime
    local_start: datetime
    day: date  # the local date
    offpeak: bool  # within an HH:MM off-peak window


@dataclass(frozen=True, slots=True)
class Deadline:
    """A ``latest_end`` on one local day, and the instant (UTC) it falls on."""

    day: date
    at: datetime


class Calendar:
    """Local day, off-peak window and periods of one site."""

    def __init__(self, cfg: RegulationConfig, tz: ZoneInfo) -> None:
        self.tz = tz
        start, end = cfg.offpeak_start, cfg.offpeak_end
        #: The configured off-peak window (local times), if any.
        self.window: tuple[time, time] | None = (
            (start, end) if start is not None and end is not None else None
        )
        #: The window is HH:MM (as the configuration gives it): whole minutes are in or out.
        self._whole_minutes = (
            start is not None
            and end is not None
            and not (start.second or start.microsecond or end.second or end.microsecond)
        )
        self._periods: dict[float, Period] = {}  # period_s → the last one asked for
        self._deadlines: dict[time, Deadline] = {}  # latest_end → the last one asked for
        self._minute: Minute | None = None

    def today(self, now: datetime) -> date:
        """The local date."""
        return self.minute(now).day

    def minute(self, now: datetime) -> Minute:
        """The wall-clock minute holding ``now`` (one zone conversion serves ~50 frames)."""
        known = self._minute
        if known is None or not known.start <= now < known.end:
            begins = now.replace(second=0, microsecond=0)  # zone offsets are whole minutes
            local = begins.astimezone(self.tz)
            known = Minute(
                start=begins,
                end=begins + timedelta(minutes=1),
                local_start=local,
                day=local.date(),
                offpeak=self._whole_minutes and self.in_window(local.time()),
            )
            self._minute = known
        return known

    def period(self, now: datetime, period_s: float = DAY_S) -> Period:
        """The period holding ``now``. Periods end when the off-peak window ends (so a
        day's sun and the following night's completion count together), or at local
        midnight without a window; they follow the wall clock across DST."""
        known = self._periods.get(period_s)
        if known is not None and known.start <= now < known.end:
            return known
        anchor = self.window[1] if self.window else time(0, 0)
        local = now.astimezone(self.tz).replace(tzinfo=None)
        reference = datetime.combine(date(2000, 1, 1), anchor)
        periods = (local - reference).total_seconds() // period_s
        start = reference + timedelta(seconds=periods * period_s)
        begins = start.replace(tzinfo=self.tz)
        # The next period starts at the same wall-clock time (DST: 23 or 25 h later).
        ends = (start + timedelta(seconds=period_s)).replace(tzinfo=self.tz)
        known = Period(local_start=begins, start=begins.astimezone(UTC), end=ends.astimezone(UTC))
        self._periods[period_s] = known
        return known

    def deadline(self, now: datetime, latest_end: time) -> datetime:
        """Today's ``latest_end`` (UTC): the first instant the local clock shows it, 00:00
        being the midnight that ends the local day (remembered for the day)."""
        day = self.minute(now).day
        known = self._deadlines.get(latest_end)
        if known is not None and known.day == day:
            return known.at
        at = local_end(day, latest_end, self.tz)
        self._deadlines[latest_end] = Deadline(day=day, at=at)
        return at

    def offpeak(self, now: datetime, meter_says: bool | None) -> bool:
        """Off-peak now? The meter's tariff wins where it sends one; else the window."""
        if meter_says is not None:
            return meter_says
        if self._whole_minutes:
            return self.minute(now).offpeak
        if self.window is None:
            return False
        return self.in_window(now.astimezone(self.tz).time())  # not HH:MM (only in code)

    def in_window(self, t: time) -> bool:
        """Is this local time within the off-peak window?"""
        if self.window is None:
            return False
        start, end = self.window
        return start <= t < end if start <= end else (t >= start or t < end)

    def window_end(self, now: datetime) -> datetime | None:
        """End of the off-peak window in progress (the next anchor of the periods), UTC."""
        if self.window is None:
            return None
        return self.period(now).end
