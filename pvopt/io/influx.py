"""The one InfluxDB writer: batched, in a worker thread, spooled to disk when the database is away.

``write(point)`` never blocks: it puts the point on a queue. A worker thread sends
batches with the ``influxdb`` client (InfluxDB 1.x HTTP API, what Debian 12 ships). When
InfluxDB is unreachable, slow (5 s timeout) or failing, batches go to a :class:`Spool`
under the state directory and are replayed, oldest first, once it answers again; new
points queue behind the spool so the order is kept. The spool survives a restart.
Re-writing a point is idempotent in InfluxDB, so a batch replayed twice after a crash
does no harm. Batches the database refuses as malformed (HTTP 400) are logged and dropped:
retrying them would block everything behind them forever.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import requests
from influxdb import InfluxDBClient
from influxdb.exceptions import InfluxDBClientError, InfluxDBServerError
from influxdb.line_protocol import make_lines

from pvopt.config import InfluxSettings
from pvopt.io.spool import Spool
from pvopt.points import Point

_LOG = logging.getLogger(__name__)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

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


class _Transient(Exception):
    """The database is unreachable or failing: keep the batch and try again later."""


class InfluxWriter:
    """Batching writer with a disk spool. ``start()``, ``write()`` … ``close()``."""

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
        self._queue: queue.Queue[Point] = queue.Queue(queue_max)
        self._batch_size = batch_size
        self._flush_interval_s = flush_interval_s
        self._retry_interval_s = retry_interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="influx-writer", daemon=True)
        self._database_ready = False
        self._up: bool | None = None  # unknown until the first attempt
        self._next_retry = 0.0
        self._next_size_log = 0.0
        self.written_points = 0
        self.dropped_points = 0
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

    def start(self) -> None:
        """Start the worker thread."""
        self._thread.start()

    def write(self, point: Point) -> None:
        """Queue ``point``; never blocks (a full queue drops it, with a log line)."""
        try:
            self._queue.put_nowait(point)
        except queue.Full:
            self.dropped_points += 1
            if self.dropped_points in (1, 10, 100) or self.dropped_points % 1000 == 0:
                _LOG.error("Influx queue full: %d points dropped", self.dropped_points)

    def close(self, timeout_s: float = 10.0) -> None:
        """Flush what is queued (to the database or the spool) and stop the worker."""
        self._stop.set()
        self._thread.join(timeout_s)
        self._client.close()

    # -- worker -------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            batch = self._collect(self._flush_interval_s)
            try:
                if batch:
                    self._handle(batch)
                if not self._spool.empty and time.monotonic() >= self._next_retry:
                    self._replay()
            except Exception:  # the writer must never die: log, keep the data, go on
                _LOG.exception("unexpected error in the Influx writer")
                self._spool_safely(batch)
                self._next_retry = time.monotonic() + self._retry_interval_s
        # Stopping: whatever is still queued goes to disk first (write-ahead), so a
        # process killed during the last send loses nothing; then one replay attempt.
        while batch := self._collect(0.0):
            self._spool_safely(batch)
        if self._up is not False:
            try:
                self._replay()
            except Exception:
                _LOG.exception("unexpected error in the Influx writer")

    def _spool_safely(self, batch: list[Point]) -> None:
        try:
            self._spool.append([to_line(p) for p in batch])
        except Exception:
            self.dropped_points += len(batch)
            _LOG.exception("cannot spool %d points: dropped", len(batch))

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

    def _handle(self, batch: list[Point]) -> None:
        lines = [to_line(p) for p in batch]
        if self._spool.empty and self._up is not False:
            try:
                self._send(lines)
                return
            except _Transient as exc:
                self._mark_down(exc)
        self._spool.append(lines)

    def _replay(self) -> None:
        if self._spool.empty:
            return
        while (oldest := self._spool.oldest()) is not None:
            path, lines = oldest
            try:
                self._send(lines)
            except _Transient as exc:
                self._mark_down(exc)
                return
            self._spool.remove(path)
        _LOG.info("spool replayed: InfluxDB is up to date")

    def _send(self, lines: list[str]) -> None:
        try:
            if not self._database_ready:
                self._ensure_database()
            self._client.write_points(lines, protocol="line", time_precision="n")
        except (requests.RequestException, InfluxDBServerError, OSError) as exc:
            raise _Transient(str(exc)) from exc
        except InfluxDBClientError as exc:
            if exc.code == 400:
                self.dropped_points += len(lines)
                _LOG.error("InfluxDB refused %d points as invalid: %s", len(lines), exc.content)
            elif exc.code == 404:
                self._database_ready = False  # database dropped under us: create it again
                raise _Transient(str(exc)) from exc
            else:
                raise _Transient(f"HTTP {exc.code}: {exc.content}") from exc
        self.written_points += len(lines)
        if self._up is not True:
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
        self._next_retry = time.monotonic() + self._retry_interval_s
        if self._up is not False:
            _LOG.warning(
                "InfluxDB unreachable (%s): spooling points to %s", exc, self._spool.directory
            )
            self._up = False
        elif time.monotonic() >= self._next_size_log:
            _LOG.info("InfluxDB still unreachable: %d points spooled", self._spool.pending_lines)
        else:
            return
        self._next_size_log = time.monotonic() + 60.0
