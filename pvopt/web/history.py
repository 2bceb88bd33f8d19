"""The history view (pure): which InfluxQL for which local day, and the answers shaped into
typed records, then JSON. Nothing here reads a clock or opens a socket: the server passes
``now`` and the house's time zone, :mod:`pvopt.io.influx_reader` runs the statements.

What is read (docs/design.md §5), and what it honestly says:

- **Grid**: the meter's mean SINSTS (or PAPP) − SINSTI per 5 minutes (``teleinfo``), the
  VA taken as W as the regulation does; positive = import, negative = export.
- **PV surplus**: the regulation's mean ``surplus_w`` per 5 minutes, below 0 shown as 0:
  what was exported plus what the loads diverted. No PV production is measured and the
  household's own consumption is unknown: the PV production was *at least* this.
- **Each load's power** and **tank temperature**: ``equipment`` ``power_w`` and
  ``temperature_c`` (tag ``name``), mean per 5 minutes.
- **Per day** (the last N local days): energy imported and exported from the meter's
  index counters (``EAST``, ``EAIT``: last − first of the day) or, where a day has none,
  the power's energy (``SINSTS``/``PAPP``, ``SINSTI``: 5-minute means × 5 minutes, so
  a time without frames adds nothing and the figure is a lower bound); each load's energy (the
  highest of its daily counter ``energy_wh``); € from the regulation's running totals
  ``import_cost_today_eur`` and ``saved_today_eur`` (the day's last value).

Gaps are gaps: a 5-minute bucket without data is ``null``, never 0, and a day without a
figure says ``null`` (the page shows "—"). Days are local days of the house's time zone:
23 or 25 hours at a change of daylight saving time. The statements hold only times this
module formats from ``date``/``datetime`` objects and fixed names: no request text ever
reaches a query. The days are read in hourly buckets (15 minutes in a zone whose
midnights fall off the hour), summed here into local days: no reliance on InfluxDB's
``tz()`` across a change of time.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo

#: One point per 5 minutes: 276 to 300 per day and series (the page draws ≤ 300).
STEP_S = 300
#: How far back a day may be asked for (today and the 30 days before it).
HISTORY_DAYS = 30
#: Days asked for by default, and at most, by ``GET /api/history/days``.
DEFAULT_DAYS = 30
MAX_DAYS = 31
#: A day's totals are kept (not asked again) once it ended this long ago (s), for
#: :data:`KEEP_S`.
SETTLE_S = 3600
KEEP_S = 3600
#: The time axis is labelled every this many local hours.
TICK_EVERY_H = 3
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_COUNT = re.compile(r"[0-9]{1,3}")


class BadRequest(ValueError):
    """A request the history cannot answer; ``reason`` says why (a 400)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# -- what is asked ----------------------------------------------------------------------------


def local_today(now: datetime, tz: tzinfo) -> date:
    """The house's date at ``now``."""
    return now.astimezone(tz).date()


def parse_date(text: str | None, now: datetime, tz: tzinfo) -> date:
    """The day of ``?date=YYYY-MM-DD`` (today when absent), within the last
    :data:`HISTORY_DAYS` days; :class:`BadRequest` otherwise."""
    today = local_today(now, tz)
    if text is None:
        return today
    if not _DATE.fullmatch(text):
        raise BadRequest("date: expected YYYY-MM-DD")
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise BadRequest("date: no such day") from None
    oldest = today - timedelta(days=HISTORY_DAYS)
    if not oldest <= day <= today:
        raise BadRequest(f"date: from {oldest.isoformat()} to {today.isoformat()} only")
    return day


def parse_count(text: str | None) -> int:
    """The ``?n=`` of the days view (:data:`DEFAULT_DAYS` when absent), 1 … :data:`MAX_DAYS`."""
    if text is None:
        return DEFAULT_DAYS
    if not _COUNT.fullmatch(text) or not 1 <= int(text) <= MAX_DAYS:
        raise BadRequest(f"n: a whole number of days from 1 to {MAX_DAYS}")
    return int(text)


def day_bounds(day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """The UTC start and end of the local ``day`` (23, 24 or 25 hours long)."""
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    following = day + timedelta(days=1)
    end = datetime(following.year, following.month, following.day, tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def _literal(moment: datetime) -> str:
    """An InfluxQL time literal (RFC 3339, UTC) of an aware ``datetime``."""
    return moment.astimezone(UTC).strftime("'%Y-%m-%dT%H:%M:%SZ'")


def _where(start: datetime, end: datetime) -> str:
    return f"time >= {_literal(start)} AND time < {_literal(end)}"


@dataclass(frozen=True)
class DayQuery:
    """The statements of one local day's curves, in the order :func:`day_history` reads."""

    day: date
    start: datetime
    end: datetime
    statements: tuple[str, ...]

    @property
    def buckets(self) -> int:
        """How many 5-minute buckets the day has (276, 288 or 300)."""
        return int((self.end - self.start).total_seconds()) // STEP_S


def day_query(day: date, tz: tzinfo) -> DayQuery:
    """What to ask InfluxDB for the curves of ``day``."""
    start, end = day_bounds(day, tz)
    where = _where(start, end)
    group = f"GROUP BY time({STEP_S}s) fill(none)"
    return DayQuery(
        day,
        start,
        end,
        (
            'SELECT mean("SINSTS") AS "drawn", mean("PAPP") AS "papp", '
            f'mean("SINSTI") AS "injected" FROM "teleinfo" WHERE {where} {group}',
            f'SELECT mean("surplus_w") AS "surplus_w" FROM "regulation" WHERE {where} {group}',
            'SELECT mean("power_w") AS "power_w", mean("temperature_c") AS "temperature_c" '
            f'FROM "equipment" WHERE {where} GROUP BY time({STEP_S}s), "name" fill(none)',
        ),
    )


@dataclass(frozen=True)
class DaysQuery:
    """The statements of the last days' totals, in the order :func:`days_history` reads."""

    days: tuple[date, ...]
    start: datetime
    end: datetime
    bucket_s: int
    statements: tuple[str, ...]


def _bucket_s(days: Sequence[date], tz: tzinfo) -> int:
    """Hourly buckets when every local midnight of ``days`` falls on a UTC hour, else 15
    minutes: a bucket never straddles two local days."""
    for day in days:
        for edge in day_bounds(day, tz):
            if int(edge.timestamp()) % 3600:
                return 900
    return 3600


def last_days(count: int, now: datetime, tz: tzinfo) -> tuple[date, ...]:
    """The ``count`` local days ending today, oldest first."""
    today = local_today(now, tz)
    return tuple(today - timedelta(days=back) for back in range(count - 1, -1, -1))


def settled(day: date, now: datetime, tz: tzinfo) -> bool:
    """Whether ``day``'s totals may be kept: it ended :data:`SETTLE_S` ago (points a
    daemon held in its spool while the database was away have had time to arrive)."""
    return now >= day_bounds(day, tz)[1] + timedelta(seconds=SETTLE_S)


def days_query(days: Sequence[date], tz: tzinfo) -> DaysQuery:
    """What to ask InfluxDB first for ``days`` (consecutive, oldest first): the meter's
    index counters (first and last per bucket: InfluxDB reads them from its blocks'
    ends, 5 times faster than max/min on a month of frames) and whether it sent powers,
    the loads' daily counters and the € running totals."""
    days = tuple(days)
    start, end = day_bounds(days[0], tz)[0], day_bounds(days[-1], tz)[1]
    bucket = _bucket_s(days, tz)
    where = _where(start, end)
    group = f"GROUP BY time({bucket}s) fill(none)"
    return DaysQuery(
        days,
        start,
        end,
        bucket,
        (
            'SELECT first("EAST") AS "east_first", last("EAST") AS "east_last", '
            'first("EAIT") AS "eait_first", last("EAIT") AS "eait_last", '
            'last("SINSTS") AS "drawn", last("PAPP") AS "papp", last("SINSTI") AS "injected" '
            f'FROM "teleinfo" WHERE {where} {group}',
            'SELECT max("energy_wh") AS "energy_wh" FROM "equipment" '
            f'WHERE {where} GROUP BY time({bucket}s), "name" fill(none)',
            'SELECT last("import_cost_today_eur") AS "import_cost_eur", '
            'last("saved_today_eur") AS "saved_eur" '
            f'FROM "regulation" WHERE {where} {group}',
        ),
    )


@dataclass(frozen=True)
class PowerQuery:
    """The second question, only for days that have powers but no index: their energy
    from 5-minute means of the power (a bucket without a frame adds nothing; InfluxDB's
    ``integral()`` would draw a line across a gap of hours)."""

    days: tuple[date, ...]
    statements: tuple[str, ...]


def power_query(query: DaysQuery, results: Sequence[object], tz: tzinfo) -> PowerQuery | None:
    """What to ask next, from the answers to ``query``: None when every day that has
    powers also has its index (the usual case: no second question)."""
    read = _read_meter(query, results, tz)
    needed = tuple(
        day
        for day, meter in read.items()
        if (not meter.east and meter.has_drawn) or (not meter.eait and meter.has_injected)
    )
    if not needed:
        return None
    start, end = day_bounds(needed[0], tz)[0], day_bounds(needed[-1], tz)[1]
    where = _where(start, end)
    hours = STEP_S / 3600
    return PowerQuery(
        needed,
        (
            f'SELECT sum("drawn") * {hours} AS "drawn_wh", sum("papp") * {hours} AS "papp_wh", '
            f'sum("injected") * {hours} AS "injected_wh" FROM ('
            'SELECT mean("SINSTS") AS "drawn", mean("PAPP") AS "papp", '
            'mean("SINSTI") AS "injected" FROM "teleinfo" '
            f"WHERE {where} GROUP BY time({STEP_S}s) fill(none)) "
            f"WHERE {where} GROUP BY time({query.bucket_s}s) fill(none)",
        ),
    )


# -- what comes back --------------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    """One series of a statement's answer: its tags and its rows (time first, epoch s)."""

    name: str
    tags: Mapping[str, str]
    columns: tuple[str, ...]
    rows: tuple[tuple[object, ...], ...]

    def records(self) -> Iterator[tuple[int, dict[str, float]]]:
        """Each row's time (epoch s) and its finite numbers by column; rows without a
        whole-number time are skipped."""
        for row in self.rows:
            values = dict(zip(self.columns, row, strict=False))
            when = values.pop("time", None)
            if not isinstance(when, int) or isinstance(when, bool):
                continue
            numbers = {
                k: float(v)
                for k, v in values.items()
                if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
            }
            yield when, numbers


def series_of(result: object) -> list[Series]:
    """The series of one statement's result (InfluxDB 1.x JSON, ``epoch=s``); anything
    of another shape is left out."""
    if not isinstance(result, dict):
        return []
    found = []
    for item in result.get("series") or []:
        if not isinstance(item, dict):
            continue
        columns, rows, tags = item.get("columns"), item.get("values"), item.get("tags") or {}
        if not isinstance(columns, list) or not isinstance(rows, list):
            continue
        if not isinstance(tags, dict):
            tags = {}
        found.append(
            Series(
                name=str(item.get("name", "")),
                tags={str(k): str(v) for k, v in tags.items()},
                columns=tuple(str(c) for c in columns),
                rows=tuple(tuple(r) for r in rows if isinstance(r, list)),
            )
        )
    return found


def _result(results: Sequence[object], index: int) -> list[Series]:
    return series_of(results[index]) if index < len(results) else []


# -- one day's curves -------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """One curve of a day: a value per 5-minute bucket, ``None`` where nothing is known."""

    key: str  # "grid", "pv", "load:<name>", "temperature:<name>"
    kind: str  # "grid", "pv", "load", "temperature"
    name: str | None  # the load's
    unit: str  # "W" or "°C"
    values: tuple[float | None, ...]


@dataclass(frozen=True)
class Tick:
    """A labelled time on the axis: every :data:`TICK_EVERY_H` local hours."""

    at_s: int
    label: str


@dataclass(frozen=True)
class DayHistory:
    """A local day's curves."""

    day: date
    start: datetime
    end: datetime
    lines: tuple[Line, ...]
    ticks: tuple[Tick, ...]
    complete: bool  # the day is over (else it is today, filled up to now)


def ticks(start: datetime, end: datetime, tz: tzinfo) -> tuple[Tick, ...]:
    """The local hours 00:00, 03:00 … of the day from ``start`` to ``end`` (UTC)."""
    found = []
    moment = start
    while moment < end:
        local = moment.astimezone(tz)
        if local.minute == 0 and local.hour % TICK_EVERY_H == 0:
            found.append(Tick(int(moment.timestamp()), f"{local.hour:02d}:00"))
        moment += timedelta(hours=1)
    return tuple(found)


def _rounded(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def _grid(numbers: Mapping[str, float]) -> float | None:
    drawn = numbers.get("drawn", numbers.get("papp"))
    if drawn is None:
        return None
    return drawn - numbers.get("injected", 0.0)


def day_history(
    query: DayQuery, results: Sequence[object], now: datetime, tz: tzinfo
) -> DayHistory:
    """The curves of ``query.day`` from the answers to its statements."""
    origin = int(query.start.timestamp())
    count = query.buckets

    def fill(records: Iterator[tuple[int, dict[str, float]]], pick: str) -> list[float | None]:
        out: list[float | None] = [None] * count
        for when, numbers in records:
            index = (when - origin) // STEP_S
            if 0 <= index < count:
                out[index] = _rounded(_picked(numbers, pick))
        return out

    lines: list[Line] = []
    meter = _result(results, 0)
    grid = fill(_all_records(meter), "grid")
    if any(v is not None for v in grid):
        lines.append(Line("grid", "grid", None, "W", tuple(grid)))
    surplus = fill(_all_records(_result(results, 1)), "surplus_w")
    if any(v is not None for v in surplus):
        pv = tuple(None if v is None else max(v, 0.0) for v in surplus)
        lines.append(Line("pv", "pv", None, "W", pv))
    temperatures: list[Line] = []
    for series in sorted(_result(results, 2), key=lambda s: s.tags.get("name", "")):
        name = series.tags.get("name", "")
        power = fill(series.records(), "power_w")
        if any(v is not None for v in power):
            lines.append(Line(f"load:{name}", "load", name, "W", tuple(power)))
        celsius = fill(series.records(), "temperature_c")
        if any(v is not None for v in celsius):
            temperatures.append(
                Line(f"temperature:{name}", "temperature", name, "°C", tuple(celsius))
            )
    return DayHistory(
        day=query.day,
        start=query.start,
        end=query.end,
        lines=(*lines, *temperatures),
        ticks=ticks(query.start, query.end, tz),
        complete=now >= query.end,
    )


def _all_records(found: list[Series]) -> Iterator[tuple[int, dict[str, float]]]:
    for series in found:
        yield from series.records()


def _picked(numbers: Mapping[str, float], pick: str) -> float | None:
    return _grid(numbers) if pick == "grid" else numbers.get(pick)


def day_document(history: DayHistory) -> dict[str, object]:
    """The JSON of ``GET /api/history/day``::

    date, start, end (ISO-8601 UTC), start_s (epoch s), step_s (300), buckets (276, 288
    or 300), complete (false: today, filled up to now), ticks [{at_s, label}] (local
    hours), lines [{key, kind (grid, pv, load, temperature), name, unit, values: one
    per bucket from start_s, null where nothing is known}]
    """
    return {
        "date": history.day.isoformat(),
        "start": history.start.isoformat(),
        "end": history.end.isoformat(),
        "start_s": int(history.start.timestamp()),
        "step_s": STEP_S,
        "buckets": int((history.end - history.start).total_seconds()) // STEP_S,
        "complete": history.complete,
        "ticks": [{"at_s": t.at_s, "label": t.label} for t in history.ticks],
        "lines": [
            {"key": k.key, "kind": k.kind, "name": k.name, "unit": k.unit, "values": list(k.values)}
            for k in history.lines
        ],
    }


# -- the last days' totals --------------------------------------------------------------------


@dataclass(frozen=True)
class LoadEnergy:
    """A load's energy of one day (the highest value of its daily counter)."""

    name: str
    energy_wh: float


@dataclass(frozen=True)
class DayTotals:
    """One local day's energy and €; ``None`` where the database has nothing."""

    day: date
    import_wh: float | None
    import_source: str | None  # "meter_index" (EAST) or "power" (SINSTS/PAPP means)
    export_wh: float | None
    export_source: str | None  # "meter_index" (EAIT) or "power" (SINSTI means)
    loads: tuple[LoadEnergy, ...]
    import_cost_eur: float | None
    saved_eur: float | None

    @property
    def diverted_wh(self) -> float | None:
        """What the loads took in all (None when no load reported)."""
        return sum(load.energy_wh for load in self.loads) if self.loads else None


@dataclass
class _Day:
    """What the buckets of one day add up to, while reading."""

    east: list[float] = field(default_factory=list)
    eait: list[float] = field(default_factory=list)
    has_drawn: bool = False
    has_injected: bool = False
    drawn_wh: float | None = None
    injected_wh: float | None = None
    import_cost_eur: float | None = None
    saved_eur: float | None = None


def _local_day(when: int, tz: tzinfo) -> date:
    return datetime.fromtimestamp(when, UTC).astimezone(tz).date()


def _read_meter(query: DaysQuery, results: Sequence[object], tz: tzinfo) -> dict[date, _Day]:
    """The meter's index readings of each day, and whether it sent powers."""
    days = {day: _Day() for day in query.days}
    for when, numbers in _all_records(_result(results, 0)):
        read = days.get(_local_day(when, tz))
        if read is None:
            continue
        read.east += [numbers[k] for k in ("east_first", "east_last") if k in numbers]
        read.eait += [numbers[k] for k in ("eait_first", "eait_last") if k in numbers]
        read.has_drawn = read.has_drawn or "drawn" in numbers or "papp" in numbers
        read.has_injected = read.has_injected or "injected" in numbers
    return days


def _add(total: float | None, value: float | None) -> float | None:
    if value is None:
        return total
    return value if total is None else total + value


def _spread(values: list[float]) -> float | None:
    return max(values) - min(values) if values else None


def days_history(
    query: DaysQuery,
    results: Sequence[object],
    tz: tzinfo,
    power: Sequence[object] = (),
) -> tuple[DayTotals, ...]:
    """Each day of ``query`` (oldest first) from the answers to its statements, and to
    those of :func:`power_query` when it asked any (``power``)."""
    days = _read_meter(query, results, tz)
    loads: dict[date, dict[str, float]] = {day: {} for day in query.days}
    for when, numbers in _all_records(_result(power, 0)):
        read = days.get(_local_day(when, tz))
        if read is not None:
            read.drawn_wh = _add(read.drawn_wh, numbers.get("drawn_wh", numbers.get("papp_wh")))
            read.injected_wh = _add(read.injected_wh, numbers.get("injected_wh"))
    for series in _result(results, 1):
        name = series.tags.get("name", "")
        for when, numbers in series.records():
            day = _local_day(when, tz)
            if day in loads and "energy_wh" in numbers:
                loads[day][name] = max(loads[day].get(name, 0.0), numbers["energy_wh"])
    for when, numbers in sorted(_all_records(_result(results, 2)), key=lambda r: r[0]):
        read = days.get(_local_day(when, tz))
        if read is not None:
            read.import_cost_eur = numbers.get("import_cost_eur", read.import_cost_eur)
            read.saved_eur = numbers.get("saved_eur", read.saved_eur)
    return tuple(_totals(day, days[day], loads[day]) for day in query.days)


def _totals(day: date, read: _Day, loads: dict[str, float]) -> DayTotals:
    import_index, export_index = _spread(read.east), _spread(read.eait)
    import_wh, import_source = (
        (import_index, "meter_index")
        if import_index is not None
        else (read.drawn_wh, "power" if read.drawn_wh is not None else None)
    )
    export_wh, export_source = (
        (export_index, "meter_index")
        if export_index is not None
        else (read.injected_wh, "power" if read.injected_wh is not None else None)
    )
    return DayTotals(
        day=day,
        import_wh=_rounded(import_wh, 0),
        import_source=import_source,
        export_wh=_rounded(export_wh, 0),
        export_source=export_source,
        loads=tuple(LoadEnergy(n, round(wh, 0)) for n, wh in sorted(loads.items())),
        import_cost_eur=_rounded(read.import_cost_eur, 3),
        saved_eur=_rounded(read.saved_eur, 3),
    )


class KeptDays:
    """The totals of days that are over, kept :data:`KEEP_S` seconds
    (monotonic clock): a month of frames takes seconds to sum on a Pi, today alone not."""

    def __init__(self) -> None:
        self._days: dict[date, tuple[float, DayTotals]] = {}

    def get(self, day: date, clock: float) -> DayTotals | None:
        """The totals of ``day`` if kept and not older than :data:`KEEP_S`."""
        kept = self._days.get(day)
        if kept is None or clock - kept[0] > KEEP_S:
            return None
        return kept[1]

    def put(self, totals: DayTotals, clock: float) -> None:
        """Keep ``totals`` (and forget what is too old)."""
        self._days[totals.day] = (clock, totals)
        for day in [d for d, (at, _) in self._days.items() if clock - at > KEEP_S]:
            del self._days[day]

    def split(
        self, days: Sequence[date], clock: float
    ) -> tuple[tuple[DayTotals, ...], tuple[date, ...]]:
        """The totals kept of the first of ``days``, and the days from the first one not
        kept to the last (usually today alone), to be asked."""
        found: list[DayTotals] = []
        for day in days:
            totals = self.get(day, clock)
            if totals is None:
                break
            found.append(totals)
        return tuple(found), tuple(days[len(found) :])


def days_document(totals: Sequence[DayTotals]) -> dict[str, object]:
    """The JSON of ``GET /api/history/days``::

    first, last (dates), loads [names], days (oldest first) [{date, import_wh,
    import_source ("meter_index", "power" or null), export_wh, export_source,
    loads {name: energy_wh}, diverted_wh (their sum), import_cost_eur, saved_eur}];
    null where the database has nothing for the day (never 0)
    """
    names = sorted({load.name for day in totals for load in day.loads})
    return {
        "first": totals[0].day.isoformat(),
        "last": totals[-1].day.isoformat(),
        "loads": names,
        "days": [
            {
                "date": day.day.isoformat(),
                "import_wh": day.import_wh,
                "import_source": day.import_source,
                "export_wh": day.export_wh,
                "export_source": day.export_source,
                "loads": {load.name: load.energy_wh for load in day.loads},
                "diverted_wh": day.diverted_wh,
                "import_cost_eur": day.import_cost_eur,
                "saved_eur": day.saved_eur,
            }
            for day in totals
        ],
    }
