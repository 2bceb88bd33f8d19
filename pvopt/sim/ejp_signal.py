"""When a simulated household learns its EJP days: the day before, as EDF announces them.

EDF announces a mobile peak the day before: "généralement la veille à 17h30, mais
l'annonce peut être faite jusqu'à 5h le matin même" (kelwatt.fr, guide EJP); a local
distributor's page is updated "vers 20h pour le lendemain" (cesml.com, jours EJP). The
simulation takes the later, conservative 20:00 local, still before a night window. The
first day's own announcement was made before the run: it is known from the start.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from pvopt.ejp import EjpDay
from pvopt.tariff import EjpCalendar

#: When (local) the next day's EJP status is announced in a simulation.
ANNOUNCED_AT: Final = time(20, 0)


@dataclass(frozen=True, slots=True)
class Announcement:
    """One day's EJP status, published at ``at_s`` (POSIX seconds)."""

    at_s: float
    day: EjpDay


def announcements(
    calendar: EjpCalendar, start_s: float, end_s: float, tz: ZoneInfo
) -> list[Announcement]:
    """Every announcement in ``[start_s, end_s)``, in order: the first day's at the start,
    then each next day's at :data:`ANNOUNCED_AT` the day before."""
    first = datetime.fromtimestamp(start_s, tz).date()
    said = [Announcement(start_s, _day(calendar, first))]
    day = first
    while True:
        at_s = datetime.combine(day, ANNOUNCED_AT, tz).timestamp()
        if at_s >= end_s:
            return said
        tomorrow = day + timedelta(days=1)
        said.append(Announcement(max(at_s, start_s), _day(calendar, tomorrow)))
        day = tomorrow


def _day(calendar: EjpCalendar, day: date) -> EjpDay:
    return EjpDay(day=day, ejp=calendar.is_peak_day(day))
