"""A recorded day as the PV and the household load of a simulated house.

What and why: a simulated day is only as real as its PV and household load. A recorded
day — your own meter's — replays them, so that the regulation (or another configuration)
can be tried on what the house really did. :func:`load_csv` reads the recording,
:class:`RecordedPv` and :class:`RecordedLoad` stand in for the PV model and the base
load in :func:`pvopt.sim.scenarios.build` (a scenario file's ``replay:`` section, or
:attr:`pvopt.sim.scenarios.Scenario.replay`).

**The CSV** (UTF-8, a header line, ``,`` separated, ``#`` comment lines and blank lines
skipped; column names are case-insensitive, other columns are ignored and named in the
notes):

- ``time``: ISO 8601 with a UTC offset (``2026-06-21T12:00:00+02:00``,
  ``2026-06-21T10:00:00.123Z``), or POSIX time as a number — seconds, or milliseconds,
  microseconds or nanoseconds (told apart by magnitude: InfluxDB's default is ns).
  Times must not decrease.
- one or more of ``grid_w`` (grid power, import positive), ``pv_w`` (PV production),
  ``load_w`` (household consumption), in W. The missing one is derived (``load = grid +
  pv``):

  ===================== ===============================================================
  columns               used
  ===================== ===============================================================
  grid, pv              load = grid + pv
  grid, load            pv = load − grid
  pv, load              grid = load − pv
  grid, pv, load        grid and pv; load = grid + pv (the recorded load's largest
                        difference from it is given in the notes: three sensors never
                        agree exactly, and the grid is what the meter billed)
  grid only             the net power is split: load = max(grid, 0) (what was
                        imported), pv = max(−grid, 0) (what was exported: the
                        surplus); the production the house used itself is unknown.
                        Linear interpolation adds a sample where the grid crosses 0
  ===================== ===============================================================

**The InfluxDB export** that pvopt writes is accepted as is: columns ``name``, ``tags``
(ignored), ``time``, ``SINSTS``, ``SINSTI`` (TIC apparent powers drawn / injected, VA
taken as W): ``grid = SINSTS − SINSTI``, split as "grid only" above. A
missing SINSTI column, or one empty on every row (a meter that does not inject), counts
as 0. Export one local day of measurement ``teleinfo`` from the database of the teleinfo
daemon (``$INFLUXDB_DATABASE``, default ``teleinfo``), with the ``influx`` shell of
InfluxDB 1.x (Debian package ``influxdb-client``)::

    influx -host localhost -database teleinfo -format csv -precision rfc3339 -execute \\
      "SELECT SINSTS, SINSTI FROM teleinfo WHERE time >= '2026-06-21T00:00:00+02:00' \\
       AND time < '2026-06-22T00:00:00+02:00'" > 2026-06-21.csv

or without it, over HTTP (times then come in ns)::

    curl -sG http://localhost:8086/query -H 'Accept: application/csv' \\
      --data-urlencode db=teleinfo \\
      --data-urlencode "q=SELECT SINSTS, SINSTI FROM teleinfo \\
        WHERE time >= '2026-06-21T00:00:00+02:00' AND time < '2026-06-22T00:00:00+02:00'" \\
      > 2026-06-21.csv

which gives::

    name,tags,time,SINSTS,SINSTI
    teleinfo,,1781992800112000000,1250,0
    teleinfo,,1781992801321000000,0,830

(the ``influx`` shell writes ``name,time,SINSTS,SINSTI`` with RFC 3339 times). A row with
an empty value in a column used (a frame whose group failed its checksum) is skipped and
counted in the notes. Keep the full precision: ``epoch=s`` / ``-precision s`` truncates
times to the second.

What a replay is and is not:

- between samples the powers are linear (``interpolation="linear"``, for instantaneous
  readings such as meter frames) or held until the next sample (``"step"``, for
  averages over the interval that follows each time stamp); the simulation covers the
  recorded span only (:func:`pvopt.sim.scenarios.build` clips its window to it);
- with no equipment configured the simulated grid power is the recorded one (within
  floating-point rounding) and the meter frames carry its 1 s means;
- the recorded grid contains whatever a router diverted *that* day: replaying it under a
  router adds the simulated diversion on top. Record a day without a router, or with
  the router off, for a fair comparison;
- a grid-only recording (the InfluxDB export) knows only the net power: its "PV" is the
  surplus that was exported and its "load" what was imported, both at most the real
  ones. The grid, what a router could take and what it buys are exact; PV energy,
  consumption and self-consumption are those of the surplus (a router that diverts all
  of it self-consumes 100 % of that "PV"). Why not PV = 0 and load = grid: the load
  would go negative while exporting, and so would consumption and self-consumption.

Errors are collected and raised together (:class:`~pvopt.schema.ConfigFileError`),
one per line, ``file:line: column: message``.
"""

from __future__ import annotations

import csv
import itertools
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Final, Literal, get_args
from zoneinfo import ZoneInfo

from pvopt.schema import ConfigFileError, ConfigIssue, read_text
from pvopt.sim.load import BaseLoad
from pvopt.sim.pv import PvPlant, PvSite
from pvopt.sim.timeseries import Linear

Interpolation = Literal["linear", "step"]
INTERPOLATIONS: Final[tuple[str, ...]] = get_args(Interpolation)
#: Columns of the plain form.
POWER_COLUMNS: Final = ("grid_w", "pv_w", "load_w")
#: Columns of an InfluxDB export of measurement ``teleinfo``.
INFLUX_COLUMNS: Final = ("SINSTS", "SINSTI")
#: Columns an InfluxDB export carries besides time and the fields: ignored.
INFLUX_META_COLUMNS: Final = ("name", "tags")
#: At most this many problems are listed; the rest are counted.
MAX_ISSUES: Final = 30
#: POSIX times above these are ns, µs, ms (seconds would be after the year 5000): divisors.
_EPOCH_SCALES: Final = ((1e17, 1e9), (1e14, 1e6), (1e11, 1e3))


@dataclass(frozen=True)
class RecordedDay:
    """A recorded span: powers in W at ``times`` (POSIX seconds, not decreasing).

    ``load_w − pv_w`` is ``grid_w`` up to rounding (see the module docstring for how a
    missing column was derived); ``notes`` say what was derived, skipped or ignored."""

    source: str
    times: tuple[float, ...]
    grid_w: tuple[float, ...]
    pv_w: tuple[float, ...]
    load_w: tuple[float, ...]
    interpolation: Interpolation = "linear"
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        n = len(self.times)
        if n < 2 or any(len(s) != n for s in (self.grid_w, self.pv_w, self.load_w)):
            raise ValueError("a recorded day needs at least two samples of every series")
        if any(b < a for a, b in itertools.pairwise(self.times)):
            raise ValueError("the times of a recorded day must not decrease")
        if self.interpolation not in INTERPOLATIONS:
            raise ValueError(f"interpolation must be one of {', '.join(INTERPOLATIONS)}")

    @property
    def start(self) -> float:
        """First sample (POSIX seconds)."""
        return self.times[0]

    @property
    def end(self) -> float:
        """Last sample (POSIX seconds): the recorded span ends there."""
        return self.times[-1]

    def day(self, tz: ZoneInfo) -> date:
        """The local date of the first sample."""
        return datetime.fromtimestamp(self.start, tz).date()

    def series(self, values: Sequence[float]) -> Linear:
        """One of the power series as a function of time, interpolated as asked (a step
        is a zero-length segment of :class:`Linear`)."""
        if self.interpolation == "linear":
            return Linear(self.times, values)
        times: list[float] = [self.times[0]]
        held: list[float] = [values[0]]
        for t, previous, value in zip(self.times[1:], values, values[1:], strict=False):
            times += [t, t]
            held += [previous, value]
        return Linear(times, held)


class RecordedPv(PvPlant):
    """The recorded PV production in place of the model: no clear sky, no clouds, no
    clipping (the recording is what the inverter fed)."""

    def __init__(self, day: RecordedDay, site: PvSite) -> None:
        # Nothing of the model's state is needed: every method is overridden.
        self.site = site
        self.clouds = None
        self.model = f"recorded ({Path(day.source).name})"
        self.recorded = day
        self._power = day.series(day.pv_w)

    def clear_sky_w(self, t: float) -> float:
        """The recorded power (a recording has no clear sky to tell apart)."""
        return self._power(t)

    def power_w(self, t: float) -> float:
        """The recorded power at ``t`` (W)."""
        return self._power(t)

    def sample(self, t0: float, dt: float, n: int) -> list[float]:
        """:meth:`power_w` at ``t0 + k·dt`` for ``k < n``."""
        return self._power.sample(t0, dt, n)


class RecordedLoad(BaseLoad):
    """The recorded household load in place of the profile, ripple and appliances.

    Scripted appliances (:meth:`BaseLoad.add`, a scenario's extra loads) still add on
    top. No 50 W floor: the recording is what it is (a grid-only recording's load is
    0 while the house exported)."""

    def __init__(
        self, day: RecordedDay, rng: random.Random, start: float, end: float, tz: ZoneInfo
    ) -> None:
        super().__init__(
            rng, start, end, tz, appliances=False, ripple_w=0.0, profile=((0.0, 0.0), (24.0, 0.0))
        )
        self.recorded = day
        self._load = day.series(day.load_w)

    def power_w(self, t: float) -> float:
        """The recorded load plus scripted appliances at ``t`` (W)."""
        return self._load(t) + self._steps(t)

    def sample(self, t0: float, dt: float, n: int) -> list[float]:
        """:meth:`power_w` at ``t0 + k·dt`` for ``k < n``."""
        load = self._load.sample(t0, dt, n)
        steps = self._steps.sample(t0, dt, n)
        return [a + b for a, b in zip(load, steps, strict=True)]


def load_csv(path: Path, interpolation: Interpolation = "linear") -> RecordedDay:
    """Read a recorded day (see the module docstring); raise
    :class:`~pvopt.schema.ConfigFileError` listing every problem."""
    source = str(path)
    text = read_text(path)
    return parse_csv(text, source, interpolation)


def parse_time(text: str) -> float | None:
    """POSIX seconds of an ISO 8601 time with offset or a POSIX number; None if neither
    (or an ISO time without offset, which would be ambiguous)."""
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        if not math.isfinite(number):
            return None
        for above, per_second in _EPOCH_SCALES:
            if abs(number) > above:
                return number / per_second
        return number
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.timestamp() if moment.tzinfo is not None else None


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


class _Reader:
    """Parse the CSV text, collecting problems."""

    def __init__(self, text: str, source: str) -> None:
        self.text = text
        self.source = source
        self.issues: list[ConfigIssue] = []
        self.more = 0
        self.ignored: list[str] = []

    def error(self, line: int | None, column: str, message: str) -> None:
        if len(self.issues) < MAX_ISSUES:
            self.issues.append(ConfigIssue(line, column, message))
        else:
            self.more += 1

    def fail(self) -> ConfigFileError:
        issues = list(self.issues)
        if self.more:
            issues.append(ConfigIssue(None, "", f"… and {self.more} more problems"))
        return ConfigFileError(self.source, issues)

    def rows(self) -> list[tuple[int, list[str]]]:
        """Non-blank, non-comment rows with their 1-based line, cells stripped."""
        lines = self.text.splitlines()
        reader = csv.reader(lines)
        out: list[tuple[int, list[str]]] = []
        try:
            for row in reader:
                line = reader.line_num
                cells = [cell.strip() for cell in row]
                if not any(cells) or cells[0].startswith("#"):
                    continue
                out.append((line, cells))
        except csv.Error as exc:
            self.error(reader.line_num, "", f"CSV syntax error: {exc}")
        return out

    def parse(self, interpolation: Interpolation) -> RecordedDay:
        if interpolation not in INTERPOLATIONS:
            raise ValueError(f"interpolation must be one of {', '.join(INTERPOLATIONS)}")
        rows = self.rows()
        if not rows:
            if not self.issues:
                self.error(
                    1, "", "no header and no data (an InfluxDB query over a span without data?)"
                )
            raise self.fail()
        header_line, header = rows[0]
        columns = self.columns(header_line, header)
        if columns is None or self.issues:
            raise self.fail()
        return self.data(rows[1:], header, columns, interpolation)

    def columns(self, line: int, header: list[str]) -> dict[str, int] | None:
        """Column name (lower case for the plain form, upper case for SINSTS/SINSTI) →
        index; None after an error."""
        found: dict[str, int] = {}
        ignored: list[str] = []
        for index, name in enumerate(header):
            key = name.upper() if name.upper() in INFLUX_COLUMNS else name.lower()
            if key in found:
                self.error(line, name, "column repeated")
            elif key in ("time", *POWER_COLUMNS, *INFLUX_COLUMNS):
                found[key] = index
            elif key not in INFLUX_META_COLUMNS:
                ignored.append(name)
        self.ignored = ignored
        if "time" not in found:
            self.error(line, "time", "required column is missing (ISO 8601 with offset or POSIX)")
        plain = [c for c in POWER_COLUMNS if c in found]
        influx = [c for c in INFLUX_COLUMNS if c in found]
        if plain and influx:
            self.error(
                line,
                influx[0],
                f"cannot mix an InfluxDB export ({', '.join(influx)}) with {', '.join(plain)}",
            )
        elif not plain and "SINSTS" not in found:
            shown = ", ".join(header) or "nothing"
            self.error(
                line,
                "",
                "no power column: expected grid_w, pv_w and/or load_w (or SINSTS and "
                f"SINSTI of an InfluxDB export), found {shown}",
            )
        elif plain and "grid_w" not in found and not ("pv_w" in found and "load_w" in found):
            self.error(
                line,
                "grid_w",
                f"required column is missing: with only {plain[0]}, the grid power cannot "
                "be derived (give grid_w, or both pv_w and load_w)",
            )
        return None if self.issues else found

    def data(
        self,
        rows: list[tuple[int, list[str]]],
        header: list[str],
        columns: dict[str, int],
        interpolation: Interpolation,
    ) -> RecordedDay:
        # A column empty on every row (SINSTI of a meter that does not inject) is absent.
        wanted = [c for c in columns if c != "time"]
        for name in list(wanted):
            index = columns[name]
            if all(index >= len(cells) or not cells[index] for _, cells in rows):
                wanted.remove(name)
        empty_keys = [c for c in columns if c != "time" and c not in wanted]
        empty = [header[columns[c]] for c in empty_keys]
        if not ("grid_w" in wanted or "SINSTS" in wanted or {"pv_w", "load_w"} <= set(wanted)):
            for name in empty:
                self.error(None, name, "empty on every row: no grid power to replay")
            raise self.fail()
        notes: list[str] = []
        if empty and empty_keys != ["SINSTI"]:
            notes.append(f"columns empty on every row, ignored: {', '.join(empty)}")
        times: list[float] = []
        values: dict[str, list[float]] = {name: [] for name in wanted}
        skipped = 0
        last: tuple[int, float] | None = None
        for line, cells in rows:
            if len(cells) > len(header):
                self.error(line, "", f"{len(cells)} values for {len(header)} columns")
                continue
            padded = cells + [""] * (len(header) - len(cells))
            if any(not padded[columns[name]] for name in [*wanted, "time"]):
                skipped += 1
                continue
            raw_time = padded[columns["time"]]
            t = parse_time(raw_time)
            if t is None:
                self.error(
                    line,
                    header[columns["time"]],
                    "expected ISO 8601 with a UTC offset (2026-06-21T12:00:00+02:00) or "
                    f"POSIX time, got {raw_time!r}",
                )
                continue
            if last is not None and t < last[1]:
                self.error(
                    line, header[columns["time"]], f"time goes backwards (line {last[0]} is later)"
                )
            last = (line, t)
            row: dict[str, float] = {}
            for name in wanted:
                value = _number(padded[columns[name]])
                if value is None:
                    shown = padded[columns[name]]
                    self.error(line, header[columns[name]], f"expected a number, got {shown!r}")
                else:
                    row[name] = value
            if len(row) == len(wanted):
                times.append(t)
                for name in wanted:
                    values[name].append(row[name])
        if self.issues:
            raise self.fail()
        if len(times) < 2:
            self.error(None, "", f"{len(times)} usable rows: a replay needs at least two")
            raise self.fail()
        if skipped:
            notes.append(f"rows with an empty value, skipped: {skipped}")
        if self.ignored:
            notes.append(f"columns ignored: {', '.join(self.ignored)}")
        grid, pv, load = self.derive(values, notes)
        if "pv_w" not in values and "load_w" not in values and interpolation == "linear":
            times, grid, pv, load = _zero_crossings(times, grid)
        return RecordedDay(
            self.source,
            tuple(times),
            tuple(grid),
            tuple(pv),
            tuple(load),
            interpolation,
            tuple(notes),
        )

    @staticmethod
    def derive(
        values: dict[str, list[float]], notes: list[str]
    ) -> tuple[list[float], list[float], list[float]]:
        """grid, pv, load from the columns given (see the module docstring)."""
        if "SINSTS" in values:
            drawn = values["SINSTS"]
            injected = values.get("SINSTI", [0.0] * len(drawn))
            grid = [a - b for a, b in zip(drawn, injected, strict=True)]
            notes.append(
                "InfluxDB export: grid = SINSTS − SINSTI (VA taken as W)"
                + ("" if "SINSTI" in values else ", no SINSTI: taken as 0")
            )
            return (grid, *_split(grid, notes))
        grid_in, pv_in, load_in = (values.get(c) for c in POWER_COLUMNS)
        if grid_in is not None and pv_in is not None:
            load = [g + p for g, p in zip(grid_in, pv_in, strict=True)]
            if load_in is None:
                notes.append("load = grid + pv")
            else:
                worst = max(abs(a - b) for a, b in zip(load, load_in, strict=True))
                notes.append(
                    f"grid, pv and load given: load = grid + pv (the recorded load differs "
                    f"by up to {worst:.0f} W)"
                )
            return list(grid_in), list(pv_in), load
        if grid_in is not None and load_in is not None:
            notes.append("pv = load − grid")
            return list(grid_in), [a - g for g, a in zip(grid_in, load_in, strict=True)], load_in
        if pv_in is not None and load_in is not None:
            notes.append("grid = load − pv")
            return [a - p for p, a in zip(pv_in, load_in, strict=True)], list(pv_in), load_in
        assert grid_in is not None  # the header check leaves only this case
        return (list(grid_in), *_split(grid_in, notes))


def _zero_crossings(
    times: list[float], grid: list[float]
) -> tuple[list[float], list[float], list[float], list[float]]:
    """times, grid, pv, load of a split grid-only recording, with a sample added where
    the linear grid crosses zero: there the split series bend, so without it both would
    be positive across the crossing and PV and load energies too high."""
    out_t, out_g = [times[0]], [grid[0]]
    for t0, t1, g0, g1 in zip(times, times[1:], grid, grid[1:], strict=False):
        if g0 * g1 < 0 and t1 > t0:
            out_t.append(t0 + (t1 - t0) * g0 / (g0 - g1))
            out_g.append(0.0)
        out_t.append(t1)
        out_g.append(g1)
    return out_t, out_g, _exported(out_g), _imported(out_g)


def _split(grid: list[float], notes: list[str]) -> tuple[list[float], list[float]]:
    """pv, load of a grid-only recording: the surplus exported, what was imported."""
    notes.append(
        "no PV column: pv = what was exported, max(−grid, 0); load = what was imported, "
        "max(grid, 0)"
    )
    return _exported(grid), _imported(grid)


def _exported(grid: list[float]) -> list[float]:
    return [-g if g < 0 else 0.0 for g in grid]


def _imported(grid: list[float]) -> list[float]:
    return [g if g > 0 else 0.0 for g in grid]


def parse_csv(
    text: str, source: str = "<string>", interpolation: Interpolation = "linear"
) -> RecordedDay:
    """Parse the CSV ``text`` (named ``source`` in messages) into a :class:`RecordedDay`."""
    return _Reader(text, source).parse(interpolation)
