"""The one InfluxDB writer: batched, in a worker thread, holding points while the database is away.

``write(point)`` never blocks: it puts the point on a queue. A worker thread sends
batches with the ``influxdb`` client (InfluxDB 1.x HTTP API, what Debian 12 ships).

When InfluxDB is unreachable, slow (5 s timeout) or failing, batches wait in a backlog:
a :class:`Spool` under the state directory, which survives a restart, or, while the spool
cannot be written (read-only or full file system), a buffer in memory bounded to
``memory_max_points`` (past it the oldest points are dropped). InfluxDB is tried again
every ``retry_interval_s`` whatever the spool does; once it answers, the backlog goes
first (spool, then memory) and new points queue behind it, so the order is kept.
Re-writing a point is idempotent in InfluxDB, so a batch replayed twice after a crash
does no harm.

A point with a NaN or infinite float field is refused by ``write``: InfluxDB would refuse
its whole batch. Batches the database refuses as malformed (HTTP 400) are logged and
dropped: retrying them would block everything behind them forever. Changes of state
(database down or back, spool unwritable or writable again, memory full) are logged
once, never per batch, and a lasting outage or overflow once a minute: the journal lives
on an SD card.
"""

from __future__ import annotations

import itertools
import logging
import math
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import requests
from influxdb import InfluxDBClient
from influxdb.exceptions import InfluxDBClientError, InfluxDBServerError
from influxdb.line_protocol import make_lines

from pvopt.config import InfluxSettings
from pvopt.database_state import DatabaseState
from pvopt.io.spool import Spool
from pvopt.logthrottle import Throttle
from pvopt.points import Point

_LOG = logging.getLogger(__name__)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: Longest silence of a lasting problem in the log (still unreachable, memory full).
_REMIND_S = 60.0

#: Retention policy created with the database (the original system kept one year).
RETENTION_POLICY = "one_year"
RETENTION_DURATION = "365d"


def to_line(point: Point) -> str:
    """The line-protocol text of ``point``, with a nanosecond timestamp."""
    delta = point.time - _EPOCH
    ns = (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000
    data = {
        "points": [
            {
                "measurement": point.measurement,
                "tags": point.tags or {},
                "fields": point.fields,
                "time": ns,
            }
        ]
    }
    return str(make_lines(data)).rstrip("\n")


def is_finite(point: Point) -> bool:
    """False when a float field is NaN or infinite (InfluxDB refuses it)."""
    return all(math.isfinite(v) for v in point.fields.values() if isinstance(v, float))


class _Transient(Exception):
    """The database is unreachable or failing: keep the batch and try again later."""


class InfluxWriter:
    """Batching writer with a disk spool and a memory buffer. ``start()``, ``write()`` …"""

    def __init__(
        self,
        settings: InfluxSettings,
        spool_dir: Path,
        *,
        batch_size: int = 500,
        flush_interval_s: float = 1.0,
        retry_interval_s: float = 5.0,
        queue_max: int = 100_000,
        timeout_s: float = 5.0,
        spool_max_bytes: int = 64 * 1024 * 1024,
        memory_max_points: int = 50_000,
    ) -> None:
        self._settings = settings
        self._client = InfluxDBClient(
            host=settings.host,
            port=settings.port,
            username=settings.username,  # None: no credentials sent (auth=None)
            password=settings.password,
            database=settings.database,
            timeout=timeout_s,
            retries=1,  # 0 would mean "forever" in this client
        )
        self._spool = Spool(spool_dir, spool_max_bytes)
        self._memory: deque[str] = deque()  # lines the spool could not take, oldest first
        self._memory_max = memory_max_points
        self._queue: queue.Queue[Point] = queue.Queue(queue_max)
        self._batch_size = batch_size
        self._flush_interval_s = flush_interval_s
        self._retry_interval_s = retry_interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="influx-writer", daemon=True)
        self._database_ready = False
        self._up: bool | None = None  # unknown until the first attempt
        self._spool_writable = True  # until an append fails
        self._next_retry = 0.0  # no attempt before this time (monotonic) after a failure
        self._next_down_log = 0.0
        self._next_full_log = 0.0
        self._throttle = Throttle(_LOG)  # non-finite points, unexpected errors
        self.written_points = 0
        self._refused = 0  # by write(), in the caller's thread
        self._lost = 0  # by the worker thread
        if not self._spool.empty:
            _LOG.warning(
                "%d points left in the spool %s from a previous run: they will be replayed",
                self._spool.pending_lines,
                spool_dir,
            )

    @property
    def pending_spool_points(self) -> int:
        """Points waiting on disk for the database."""
        return self._spool.pending_lines

    @property
    def pending_memory_points(self) -> int:
        """Points waiting in memory for the database (the spool could not take them)."""
        return len(self._memory)

    @property
    def dropped_points(self) -> int:
        """Points lost: queue or memory full, non-finite fields, refused by the database."""
        return self._refused + self._lost

    def state(self) -> DatabaseState:
        """Reachable or not (None: nothing tried yet), the points waiting, the points
        dropped: what the daemons publish (:mod:`pvopt.database_state`); any thread."""
        return DatabaseState(
            reachable=self._up,
            spool_points=self.pending_spool_points,
            memory_points=self.pending_memory_points,
            dropped_points=self.dropped_points,
        )

    def start(self) -> None:
        """Start the worker thread."""
        self._thread.start()

    def write(self, point: Point) -> None:
        """Queue ``point``; never blocks (a full queue or a non-finite field drops it)."""
        if not is_finite(point):
            self._refused += 1
            self._throttle.report(
                "points with a NaN or infinite field dropped",
                f"point with a NaN or infinite field dropped (InfluxDB would refuse its "
                f"whole batch): {point!r}",
                time.monotonic(),
            )
            return
        try:
            self._queue.put_nowait(point)
        except queue.Full:
            self._refused += 1
            if self._refused in (1, 10, 100) or self._refused % 1000 == 0:
                _LOG.error("Influx queue full: %d points dropped", self._refused)

    def close(self, timeout_s: float = 10.0) -> None:
        """Flush what is queued (to the database, the spool or memory) and stop the worker."""
        self._stop.set()
        self._thread.join(timeout_s)
        self._client.close()

    # -- worker -------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            batch = self._collect(self._flush_interval_s)
            self._throttle.flush(time.monotonic())
            self._safely(self._step, batch)
        # Stopping: whatever is still queued goes behind the backlog, on disk if it can
        # (write-ahead: a process killed during the last send loses nothing). Then one
        # attempt to send it all, unless the database is known down and nothing would be
        # lost by not trying (points in memory are lost at exit).
        while batch := self._collect(0.0):
            self._safely(self._keep, batch)
        if time.monotonic() >= self._next_retry or self._memory:
            self._safely(lambda _: self._drain(), [])
        if self._memory:
            _LOG.error("%d points held in memory are lost at exit", len(self._memory))

    def _safely(self, action: Callable[[list[str]], object], batch: list[Point]) -> None:
        """``action`` on the batch's lines. The writer must never die: an unexpected error
        is logged (its traceback at most once a minute), the lines are kept in memory and
        the database is tried again after the retry interval."""
        lines: list[str] = []
        try:
            lines = [to_line(p) for p in batch]
            action(lines)
        except Exception:
            self._throttle.report(
                "unexpected errors in the Influx writer",
                "unexpected error in the Influx writer: points kept in memory",
                time.monotonic(),
                exc_info=True,
            )
            self._next_retry = time.monotonic() + self._retry_interval_s
            self._memory.extend(lines)  # a point already kept may come twice: harmless
            self._trim_memory()

    def _collect(self, wait_s: float) -> list[Point]:
        batch: list[Point] = []
        deadline = time.monotonic() + wait_s
        while len(batch) < self._batch_size:
            remaining = deadline - time.monotonic()
            try:
                batch.append(
                    self._queue.get(timeout=max(remaining, 0.0))
                    if remaining > 0
                    else self._queue.get_nowait()
                )
            except queue.Empty:
                break
        return batch

    def _step(self, lines: list[str]) -> None:
        """Send the backlog then ``lines``; until the retry time after a failure, or if
        the database fails again, keep ``lines`` behind the backlog."""
        if time.monotonic() >= self._next_retry and self._drain() and self._deliver(lines):
            return
        self._keep(lines)

    def _drain(self) -> bool:
        """Send the backlog, the spool first then memory; False when the database fails."""
        if self._spool.empty and not self._memory:
            return True
        while (oldest := self._spool.oldest()) is not None:
            path, lines = oldest
            if not self._deliver(lines):
                return False
            self._spool.remove(path)
        if not self._empty_memory_into(self._deliver):
            return False
        _LOG.info("backlog sent: InfluxDB is up to date")
        return True

    def _keep(self, lines: list[str]) -> None:
        """Put ``lines`` behind the backlog: on disk if the spool takes them, else in memory."""
        self._memory.extend(lines)  # behind what memory holds, which goes to disk first
        if not self._empty_memory_into(self._to_spool):
            self._trim_memory()

    def _empty_memory_into(self, sink: Callable[[list[str]], bool]) -> bool:
        """Hand the memory to ``sink`` a batch at a time, oldest first; False if it fails."""
        while self._memory:
            chunk = list(itertools.islice(self._memory, self._batch_size))
            if not sink(chunk):
                return False
            for _ in chunk:
                self._memory.popleft()
        return True

    def _to_spool(self, lines: list[str]) -> bool:
        try:
            self._spool.append(lines)
        except OSError as exc:
            if self._spool_writable:
                _LOG.warning(
                    "cannot write the spool %s (%s): holding up to %d points in memory",
                    self._spool.directory,
                    exc,
                    self._memory_max,
                )
                self._spool_writable = False
            return False
        if not self._spool_writable:
            _LOG.info("spool %s writable again", self._spool.directory)
            self._spool_writable = True
        return True

    def _trim_memory(self) -> None:
        excess = len(self._memory) - self._memory_max
        if excess <= 0:
            return
        for _ in range(excess):
            self._memory.popleft()
        self._lost += excess
        now = time.monotonic()
        if now >= self._next_full_log:
            _LOG.error(
                "memory buffer full (%d points): dropping the oldest points (%d dropped in all)",
                self._memory_max,
                self.dropped_points,
            )
            self._next_full_log = now + _REMIND_S

    def _deliver(self, lines: list[str]) -> bool:
        """Send ``lines``; False (and a retry scheduled) when the database fails."""
        if not lines:
            return True
        try:
            self._send(lines)
        except _Transient as exc:
            self._mark_down(exc)
            return False
        return True

    def _send(self, lines: list[str]) -> None:
        try:
            if not self._database_ready:
                self._ensure_database()
            self._client.write_points(lines, protocol="line", time_precision="n")
        except (requests.RequestException, InfluxDBServerError, OSError) as exc:
            raise _Transient(str(exc)) from exc
        except InfluxDBClientError as exc:
            if exc.code == 404:
                self._database_ready = False  # database dropped under us: create it again
                raise _Transient(str(exc)) from exc
            if exc.code != 400:
                raise _Transient(f"HTTP {exc.code}: {exc.content}") from exc
            self._lost += len(lines)
            _LOG.error("InfluxDB refused %d points as invalid: %s", len(lines), exc.content)
        else:
            self.written_points += len(lines)
        if self._up is False:
            _LOG.info("InfluxDB is back")
        self._up = True

    def _ensure_database(self) -> None:
        name = self._settings.database
        try:
            self._client.create_database(name)  # idempotent
            policies = {p["name"] for p in self._client.get_list_retention_policies(name)}
            if RETENTION_POLICY not in policies:
                self._client.create_retention_policy(
                    RETENTION_POLICY, RETENTION_DURATION, 1, database=name, default=True
                )
        except InfluxDBClientError as exc:
            if exc.code in (401, 403):
                # A write-only user cannot create databases: assume an admin made it.
                _LOG.warning("cannot create database %s (HTTP %s): writing anyway", name, exc.code)
            else:
                raise
        self._database_ready = True

    def _mark_down(self, exc: _Transient) -> None:
        now = time.monotonic()
        self._next_retry = now + self._retry_interval_s
        if self._up is not False:
            _LOG.warning(
                "InfluxDB unreachable (%s): spooling points to %s", exc, self._spool.directory
            )
            self._up = False
        elif now >= self._next_down_log:
            _LOG.info(
                "InfluxDB still unreachable: %d points waiting (%d spooled, %d in memory)",
                self._spool.pending_lines + len(self._memory),
                self._spool.pending_lines,
                len(self._memory),
            )
        else:
            return
        self._next_down_log = now + _REMIND_S
