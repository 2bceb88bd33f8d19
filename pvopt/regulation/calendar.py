"""The site's local time as the regulation needs it: the day, the off-peak window and the
``min_energy`` periods.

Frames come about 50 times a minute and each evaluation asks several times: the answers
are remembered (the minute in progress, the period in progress), which never changes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pvopt.equipment.model import RegulationConfig

#: A day, the default length of a period.
DAY_S = 86_400.0


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


class Calendar:
    """Local day, off-peak window and periods of one site."""

    def __init__(self, cfg: RegulationConfig, tz: ZoneInfo) -> None:
        self.tz = tz
        start, end = cfg.offpeak_start, cfg.offpeak_end
        #: The configured off-peak window (local times), if any.
        self.window: tuple[time, time] | None = (
            (start, end) if start is not None and end is not None else None
        )
        self._periods: dict[float, Period] = {}  # period_s → the last one asked for
        self._minute: Minute | None = None

    def today(self, now: datetime) -> date:
        """The local date."""
        return self.minute(now).local_start.date()

    def minute(self, now: datetime) -> Minute:
        """The wall-clock minute holding ``now`` (one zone conversion serves ~50 frames)."""
        known = self._minute
        if known is None or not known.start <= now < known.end:
            begins = now.replace(second=0, microsecond=0)  # zone offsets are whole minutes
            known = Minute(begins, begins + timedelta(minutes=1), begins.astimezone(self.tz))
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
        known = Period(begins, begins.astimezone(UTC), ends.astimezone(UTC))
        self._periods[period_s] = known
        return known

    def offpeak(self, now: datetime, meter_says: bool | None) -> bool:
        """Off-peak now? The meter's tariff wins where it sends one; else the window."""
        if meter_says is not None:
            return meter_says
        window = self.window
        if window is None:
            return False
        start, end = window
        if start.second or start.microsecond or end.second or end.microsecond:
            t = now.astimezone(self.tz).time()  # not HH:MM (only built in code)
        else:
            t = self.minute(now).local_start.time()
        return start <= t < end if start <= end else (t >= start or t < end)

    def window_end(self, now: datetime) -> datetime | None:
        """End of the off-peak window in progress (the next anchor of the periods), UTC."""
        if self.window is None:
            return None
        return self.period(now).end
