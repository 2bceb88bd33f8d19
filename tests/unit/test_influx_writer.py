"""The Influx writer rides out a database outage with a spool it cannot write.

The database is either a port where nothing listens or :class:`FakeInflux`, a small HTTP
server answering like InfluxDB 1.x (``/write`` stores the lines, ``/query`` succeeds) that
the test can make fail (HTTP 503) or refuse malformed lines (HTTP 400). The unwritable
spool is a folder under a regular file: mkdir fails there even as root.
"""

from __future__ import annotations

import errno
import logging
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from pvopt.config import InfluxSettings
from pvopt.database_state import DatabaseState
from pvopt.io.influx import InfluxWriter
from pvopt.io.spool import Spool
from pvopt.points import FieldValue, Point

HOST = "127.0.0.1"
T0 = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
_V = re.compile(r"[ ,]v=(\d+)i[ ,]")  # field v of a line
_POLICIES = (
    b'{"results":[{"statement_id":0,"series":[{"columns":["name","duration",'
    b'"shardGroupDuration","replicaN","default"],'
    b'"values":[["one_year","8760h0m0s","168h0m0s",1,true]]}]}]}'
)


class FakeInflux:
    """InfluxDB 1.x as the writer sees it; ``down`` makes it answer 503 to everything, a
    ``refuse`` substring in a written line makes it answer 400 to the whole batch."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.requests = 0
        self.down = False
        self.refuse: tuple[str, ...] = ()
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake.answer(self)

            def do_POST(self) -> None:
                fake.answer(self)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        self.server.daemon_threads = False  # server_close() joins them: no socket left open
        self.port = int(self.server.server_address[1])
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def answer(self, request: BaseHTTPRequestHandler) -> None:
        """Store a /write body, or fail as asked."""
        body = request.rfile.read(int(request.headers.get("Content-Length", 0)))
        lines = body.decode("utf-8").splitlines()
        with self._lock:
            self.requests += 1
            if self.down:
                status, reply = 503, b'{"error":"down"}'
            elif not request.path.startswith("/write"):
                status, reply = 200, _POLICIES
            elif any(r in line for line in lines for r in self.refuse):
                status, reply = 400, b'{"error":"unable to parse"}'
            else:
                self.lines += lines
                status, reply = 204, b""
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(reply)))
        request.end_headers()
        request.wfile.write(reply)

    def values(self) -> list[int]:
        """The ``v`` field of every stored line, in the order received."""
        with self._lock:
            return [int(m.group(1)) for line in self.lines if (m := _V.search(line))]

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake() -> Iterator[FakeInflux]:
    """A running FakeInflux."""
    server = FakeInflux()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def unreachable_port() -> int:
    """A port of 127.0.0.1 where nothing listens (connections are refused at once)."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@pytest.fixture
def unwritable_spool(tmp_path: Path) -> Path:
    """A spool folder that cannot be created: its parent is a regular file."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    return blocker / "spool"


@pytest.fixture
def writers() -> Iterator[Callable[..., InfluxWriter]]:
    """Starts fast writers (small batches, short intervals); closes them all at the end."""
    made: list[InfluxWriter] = []

    def make(port: int, spool_dir: Path, **options: Any) -> InfluxWriter:
        settings = {"batch_size": 10, "flush_interval_s": 0.01, "retry_interval_s": 0.05}
        settings.update(options)
        writer = InfluxWriter(InfluxSettings(HOST, port, "db"), spool_dir, **settings)
        writer.start()
        made.append(writer)
        return writer

    try:
        yield make
    finally:
        for writer in made:
            writer.close()


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Callable[[], list[logging.LogRecord]]:
    """The records pvopt logged so far (INFO and up)."""
    caplog.set_level(logging.INFO, logger="pvopt")
    return lambda: [r for r in caplog.records if r.name.startswith("pvopt")]


def point(i: int, **fields: FieldValue) -> Point:
    """Point number ``i``: field ``v`` = i, one second after the previous one."""
    return Point("m", {"v": i, **fields}, T0 + timedelta(seconds=i))


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    """Poll ``condition`` every 10 ms; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def messages(records: list[logging.LogRecord], text: str) -> list[str]:
    """The messages that contain ``text``."""
    return [r.getMessage() for r in records if text in r.getMessage()]


def test_with_no_database_and_no_spool_points_wait_in_memory_and_the_log_stays_quiet(
    writers: Callable[..., InfluxWriter],
    unreachable_port: int,
    unwritable_spool: Path,
    logs: Callable[[], list[logging.LogRecord]],
) -> None:
    """200 batches, each failing twice (database refused, spool unwritable), and many
    retries: no exception, every point held in memory, one log line per state change and
    no traceback."""
    writer = writers(unreachable_port, unwritable_spool, batch_size=1, retry_interval_s=0.005)
    for i in range(200):
        writer.write(point(i))
    wait_until(lambda: writer.pending_memory_points == 200, "200 points in memory")
    assert (writer.written_points, writer.dropped_points, writer.pending_spool_points) == (0, 0, 0)

    records = logs()
    assert len(records) <= 4, [r.getMessage() for r in records]
    assert len(messages(records, "InfluxDB unreachable")) == 1
    assert len(messages(records, "cannot write the spool")) == 1
    assert not [r for r in records if r.exc_info]


def test_past_its_bound_the_memory_drops_the_oldest_points(
    writers: Callable[..., InfluxWriter],
    fake: FakeInflux,
    unwritable_spool: Path,
    logs: Callable[[], list[logging.LogRecord]],
) -> None:
    """With room for 50 points, 120 written in the outage leave the newest 50, which
    arrive in order once the database is back; the overflow is counted and logged once."""
    fake.down = True
    writer = writers(fake.port, unwritable_spool, memory_max_points=50)
    for i in range(120):
        writer.write(point(i))
    wait_until(lambda: writer.dropped_points == 70, "70 points dropped")
    assert writer.pending_memory_points == 50

    fake.down = False
    wait_until(lambda: writer.written_points == 50, "the 50 points kept")
    assert fake.values() == list(range(70, 120))
    assert len(messages(logs(), "memory buffer full")) == 1


def test_the_database_is_retried_on_its_own_while_the_spool_is_unwritable(
    writers: Callable[..., InfluxWriter],
    fake: FakeInflux,
    unwritable_spool: Path,
    logs: Callable[[], list[logging.LogRecord]],
) -> None:
    """The bug of the read-only spool: once the database failed, only a spool replay
    retried it. Now the points held in memory are sent within a retry interval of the
    database's return, with no new point to push them, and later points follow in order."""
    fake.down = True
    writer = writers(fake.port, unwritable_spool)
    for i in range(30):
        writer.write(point(i))
    wait_until(lambda: writer.pending_memory_points == 30, "30 points in memory")

    fake.down = False
    wait_until(lambda: writer.written_points == 30, "the points held in memory", timeout=2)
    for i in range(30, 60):
        writer.write(point(i))
    wait_until(lambda: writer.written_points == 60, "the later points")
    assert fake.values() == list(range(60))
    assert writer.dropped_points == 0
    assert len(messages(logs(), "InfluxDB is back")) == 1


@pytest.mark.parametrize("disk_back_first", [False, True], ids=["db-back", "disk-then-db-back"])
def test_spool_then_memory_then_new_points_keep_their_order(
    writers: Callable[..., InfluxWriter],
    fake: FakeInflux,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    logs: Callable[[], list[logging.LogRecord]],
    disk_back_first: bool,
) -> None:
    """Database down: points 0-9 go to the spool; the disk fills up: 10-19 wait in memory;
    then 20-29 come, with the disk still full (they queue in memory behind 10-19) or free
    again (memory goes to disk first, then 20-29). The database receives 0-29 in order."""
    disk_full = threading.Event()
    append = Spool.append

    def append_unless_full(spool: Spool, lines: list[str]) -> None:
        if disk_full.is_set():
            raise OSError(errno.ENOSPC, "No space left on device")
        append(spool, lines)

    monkeypatch.setattr(Spool, "append", append_unless_full)
    fake.down = True
    writer = writers(fake.port, tmp_path / "spool")
    for i in range(10):
        writer.write(point(i))
    wait_until(lambda: writer.pending_spool_points == 10, "0-9 in the spool")
    disk_full.set()
    for i in range(10, 20):
        writer.write(point(i))
    wait_until(lambda: writer.pending_memory_points == 10, "10-19 in memory")
    if disk_back_first:
        disk_full.clear()
    for i in range(20, 30):
        writer.write(point(i))
    if disk_back_first:
        wait_until(lambda: writer.pending_spool_points == 30, "0-29 in the spool")
        assert len(messages(logs(), "writable again")) == 1
    else:
        wait_until(lambda: writer.pending_memory_points == 20, "10-29 in memory")

    fake.down = False
    wait_until(lambda: writer.written_points == 30, "every point")
    assert fake.values() == list(range(30))
    wait_until(
        lambda: writer.pending_spool_points + writer.pending_memory_points == 0,
        "an empty backlog (a batch leaves it just after it is sent)",
    )


def test_a_point_with_a_non_finite_field_is_refused_alone(
    writers: Callable[..., InfluxWriter],
    fake: FakeInflux,
    tmp_path: Path,
    logs: Callable[[], list[logging.LogRecord]],
) -> None:
    """InfluxDB answers 400 to a whole batch holding ``nan`` or ``inf``: such points are
    dropped by ``write`` so the others of their batch arrive; one log line quotes the
    first (the count of the others comes at most once a minute)."""
    fake.refuse = ("=nan", "=inf", "=-inf")
    writer = writers(fake.port, tmp_path / "spool", flush_interval_s=0.5)
    writer.write(point(0, w=1.5))
    for i, bad in enumerate([float("nan"), float("inf"), float("-inf")], start=1):
        writer.write(point(i, w=bad))
    writer.write(point(4, w=2.5))
    wait_until(lambda: writer.written_points == 2, "the two valid points")
    assert fake.values() == [0, 4]
    assert writer.dropped_points == 3
    refused = messages(logs(), "NaN or infinite")
    assert len(refused) == 1
    assert "'w': nan" in refused[0]


def test_a_batch_refused_as_malformed_is_dropped_and_the_next_ones_go_on(
    writers: Callable[..., InfluxWriter],
    fake: FakeInflux,
    tmp_path: Path,
    logs: Callable[[], list[logging.LogRecord]],
) -> None:
    """HTTP 400 is not an outage: the batch is dropped with a log line (retrying it would
    block everything behind it), counted as dropped, not written."""
    fake.refuse = ("malformed",)
    writer = writers(fake.port, tmp_path / "spool", batch_size=1)
    writer.write(point(0))
    writer.write(point(1, s="malformed"))
    writer.write(point(2))
    wait_until(lambda: writer.written_points + writer.dropped_points == 3, "three batches")
    assert fake.values() == [0, 2]
    assert (writer.written_points, writer.dropped_points) == (2, 1)
    assert len(messages(logs(), "refused 1 points as invalid")) == 1


def test_an_unexpected_error_is_logged_once_and_the_points_are_kept(
    writers: Callable[..., InfluxWriter],
    fake: FakeInflux,
    unwritable_spool: Path,
    monkeypatch: pytest.MonkeyPatch,
    logs: Callable[[], list[logging.LogRecord]],
) -> None:
    """A bug in a dependency (here the client raising RuntimeError) neither kills the
    worker nor floods the log: one traceback for 20 failing batches, the points kept and
    sent once the error is gone."""
    broken = threading.Event()
    broken.set()
    writer = writers(fake.port, unwritable_spool, batch_size=1)
    write_points = writer._client.write_points

    def flaky(*args: Any, **kwargs: Any) -> Any:
        if broken.is_set():
            raise RuntimeError("bug")
        return write_points(*args, **kwargs)

    monkeypatch.setattr(writer._client, "write_points", flaky)
    for i in range(20):
        writer.write(point(i))
    wait_until(lambda: writer.pending_memory_points == 20, "20 points kept")
    broken.clear()
    wait_until(lambda: writer.written_points == 20, "the 20 points")
    assert fake.values() == list(range(20))
    tracebacks = [r for r in logs() if r.exc_info]
    assert len(tracebacks) == 1
    assert "unexpected error" in tracebacks[0].getMessage()


def test_close_sends_what_memory_holds_if_the_database_answers(
    writers: Callable[..., InfluxWriter], fake: FakeInflux, unwritable_spool: Path
) -> None:
    """Points in memory die with the process: ``close`` tries the database once more
    even before the retry time, instead of leaving them."""
    fake.down = True
    writer = writers(fake.port, unwritable_spool, retry_interval_s=3600)
    for i in range(10):
        writer.write(point(i))
    wait_until(lambda: writer.pending_memory_points == 10, "10 points in memory")
    fake.down = False
    writer.close()
    assert fake.values() == list(range(10))


def test_the_writer_says_whether_the_database_is_reachable_and_what_waits(
    writers: Callable[..., InfluxWriter], fake: FakeInflux, tmp_path: Path
) -> None:
    """What the daemons publish on pvopt/<daemon>/database: unknown before any write,
    down with the points spooled while the database fails, up and nothing waiting once
    it is back."""
    writer = writers(fake.port, tmp_path / "spool")
    assert writer.state() == DatabaseState(None, 0, 0, 0)
    fake.down = True
    for i in range(5):
        writer.write(point(i))
    wait_until(lambda: writer.state().reachable is False, "the database down")
    # the writer holds a failed batch in memory while it appends it to the spool
    wait_until(lambda: writer.state().spool_points == 5, "5 points spooled")
    assert writer.state() == DatabaseState(False, 5, 0, 0)
    fake.down = False
    wait_until(lambda: writer.state() == DatabaseState(True, 0, 0, 0), "the database back")
