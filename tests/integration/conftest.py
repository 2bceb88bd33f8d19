"""Fixtures of the integration tests: private mosquitto / influxd, ptys, the daemon, a subscriber.

Everything runs on free 127.0.0.1 ports in pytest's temporary folders, and every fixture
stops what it started, whatever the test did. Nothing touches the machine's own brokers.

- :func:`find_binary`: a server binary, or skip (fail when ``CI=true``).
- ``mosquitto`` / ``influxd``: a server with ``.host``, ``.port``, ``.stop()`` and
  ``.start()`` (restart on the same port; influxd also keeps its data directory).
- ``pty_port`` / ``pty_factory``: pseudo-terminals standing in for the TIC serial port;
  the test writes to the master (never blocking forever), the daemon opens the slave.
- ``teleinfo``: starts ``python -m pvopt teleinfo`` subprocesses with the right
  environment; their stderr is attached to the report of a failed test.
- ``subscriber``: a paho 2 client recording every message, with ``wait_for``.
- ``meter``: a ``tic/frame`` published every 0.5 s, so that a ``pvopt regulate`` evaluates.
- ``chromium``: Debian's headless Chromium driven by Playwright, one per test module.

Under pytest-xdist (``make test``: ``-n 4 --dist loadgroup``) each module's tests run on
one worker (one Chromium per module, as without workers), and the modules of
:data:`REALTIME_MODULES` share one worker, first: they never run beside each other.
"""

from __future__ import annotations

import itertools
import json
import os
import pty
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import tty
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from pvopt.tic.encoder import linky_standard_frame

HOST = "127.0.0.1"
HERE = Path(__file__).parent

#: Modules that judge the real chain against real-time bounds (a start within 60 s, a
#: command within a frame of another, commands after a pause, a reconnection within 2 s)
#: or load both cores (a flood of 20,000 messages): one xdist worker runs them one after
#: another, so none of them runs beside another.
REALTIME_MODULES = frozenset({"test_thermostat_cut", "test_yield_chain", "test_regulation_faults"})
REALTIME = "realtime"


def xdist_group(item: pytest.Item) -> str:
    """The worker group of an integration test: ``realtime`` or its module's name."""
    module = item.path.stem
    return REALTIME if module in REALTIME_MODULES else module


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each integration test with its xdist group (before pytest-xdist reads the
    groups under ``--dist loadgroup``), the ``realtime`` ones first: the longest group,
    it is the first handed out (with ``--no-loadscope-reorder``) and never the last to
    end. The other tests keep their places."""
    places = [n for n, item in enumerate(items) if item.path.parent == HERE]
    ours = sorted((items[n] for n in places), key=lambda item: xdist_group(item) != REALTIME)
    for n, item in zip(places, ours, strict=True):
        item.add_marker(pytest.mark.xdist_group(xdist_group(item)))
        items[n] = item


# -- helpers -------------------------------------------------------------------------------


def missing(reason: str) -> None:
    """Skip the test, or fail it on CI (where every prerequisite must be installed)."""
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def find_binary(name: str) -> str:
    """The path of ``name``: on PATH, else in /usr/sbin or /usr/bin; skip/fail if absent."""
    found = shutil.which(name)
    if found:
        return found
    for folder in ("/usr/sbin", "/usr/bin"):
        candidate = Path(folder) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    missing(f"{name} not found on PATH, in /usr/sbin or /usr/bin (apt-get install it)")
    raise AssertionError("unreachable")


#: Each pytest-xdist worker hands out ports from its own block, below the kernel's
#: ephemeral range (32768-60999 on Linux): a port is checked free, then bound later by a
#: server, and in between the kernel's own choice (``bind(0)``) could give the same port
#: to a server of another worker (seen once: "address already in use", and the test
#: then spoke to the other test's pvopt web).
PORT_BASE = 20_000
PORTS_PER_WORKER = 1_000
_ports_given: set[int] = set()


def _worker_block() -> range:
    """This process's block of ports (``gw3``: the 4th; no xdist: the first)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else 0
    first = PORT_BASE + (index % 12) * PORTS_PER_WORKER
    return range(first, first + PORTS_PER_WORKER)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now, from this worker's block, not handed out
    before by this process (a server it was given for may not have bound it yet)."""
    block = _worker_block()
    if len(_ports_given) >= len(block):
        _ports_given.clear()  # a whole block used: its first servers are long gone
    for port in block:
        if port in _ports_given:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((HOST, port))
            except OSError:
                continue  # in use, or still in TIME_WAIT
        _ports_given.add(port)
        return port
    raise AssertionError(f"no free port in {block.start}-{block.stop - 1}")


def port_open(host: str, port: int) -> bool:
    """True when something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_until(
    condition: Callable[[], object], timeout: float, interval: float = 0.05, what: str = ""
) -> Any:
    """Poll ``condition`` until it returns a truthy value (returned) or fail at the deadline.

    Exceptions raised by ``condition`` count as "not yet" (e.g. a database not created yet);
    the last one is shown if the deadline passes.
    """
    deadline = time.monotonic() + timeout
    last_exc: BaseException | None = None
    while True:
        try:
            result = condition()
        except Exception as exc:
            last_exc = exc
            result = None
        if result:
            return result
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_exc!r})" if last_exc else ""
            raise AssertionError(f"timed out after {timeout:.1f} s waiting for {what}{detail}")
        time.sleep(interval)


def _terminate(proc: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGTERM, wait, SIGKILL if needed; always reaps the process."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _tail(path: Path, chars: int = 6000) -> str:
    try:
        text = path.read_text("utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return text if len(text) <= chars else "…" + text[-chars:]


# -- servers -------------------------------------------------------------------------------


class Server:
    """A server subprocess on a fixed port: ``start()`` again after ``stop()`` reuses it."""

    name = "server"

    def __init__(self, binary: str, workdir: Path) -> None:
        self.binary = binary
        self.workdir = workdir
        self.host = HOST
        self.log_path = workdir / f"{self.name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    def command(self) -> list[str]:
        """The command line (the config file is written by ``prepare``)."""
        raise NotImplementedError

    def prepare(self) -> None:
        """Pick ports and write the config (once, so restarts keep the same ports)."""
        raise NotImplementedError

    def ready(self) -> bool:
        """True once the server answers."""
        raise NotImplementedError

    @property
    def running(self) -> bool:
        """True while the process is alive."""
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = 10.0) -> None:
        """Start and wait until ready; retries when the port is briefly busy after a stop."""
        if self.running:
            return
        deadline = time.monotonic() + timeout
        while True:
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen(
                    self.command(), stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir
                )
            while self.proc.poll() is None and time.monotonic() < deadline:
                if self.ready():
                    return
                time.sleep(0.02)
            if self.proc.poll() is None:  # alive but never ready
                _terminate(self.proc, 5)
                raise AssertionError(
                    f"{self.name} not ready after {timeout} s:\n{_tail(self.log_path)}"
                )
            self.proc.wait()
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"{self.name} exited with {self.proc.returncode}:\n{_tail(self.log_path)}"
                )
            time.sleep(0.2)  # e.g. "Address already in use" right after a kill: retry

    def stop(self, kill: bool = False) -> None:
        """Stop the server (SIGKILL with ``kill=True``, as a crash would)."""
        if self.proc is None:
            return
        if kill and self.proc.poll() is None:
            self.proc.kill()
        _terminate(self.proc, 10)


class Mosquitto(Server):
    """A private mosquitto 2 broker (ecosystem.md §3)."""

    name = "mosquitto"

    def prepare(self) -> None:
        """Write mosquitto.conf with a free port."""
        self.port = free_port()
        lines = [
            "per_listener_settings true",
            "persistence false",
            "log_dest stdout",
            "log_type error",
            "log_type warning",
            "log_type notice",
            f"listener {self.port} {HOST}",
            "allow_anonymous true",
        ]
        if os.geteuid() == 0:
            # As root, mosquitto switches to user "mosquitto", which cannot read tmp_path.
            lines.insert(2, "user root")
        self.config = self.workdir / "mosquitto.conf"
        self.config.write_text("\n".join(lines) + "\n")

    def command(self) -> list[str]:
        """``mosquitto -c CONFIG``."""
        return [self.binary, "-c", str(self.config)]

    def ready(self) -> bool:
        """The listener accepts TCP connections."""
        return port_open(self.host, self.port)


class Influxd(Server):
    """A private InfluxDB 1.x server (ecosystem.md §2), data kept across restarts."""

    name = "influxd"

    def prepare(self) -> None:
        """Write influxd.conf with a free HTTP port and a free RPC port."""
        self.port = free_port()
        self.rpc_port = free_port()
        while self.rpc_port == self.port:
            self.rpc_port = free_port()
        root = self.workdir
        self.config = root / "influxd.conf"
        self.config.write_text(
            f"""reporting-enabled = false
bind-address = "{HOST}:{self.rpc_port}"
[meta]
  dir = "{root / "meta"}"
[data]
  dir = "{root / "data"}"
  wal-dir = "{root / "wal"}"
  query-log-enabled = false
[monitor]
  store-enabled = false
[http]
  bind-address = "{HOST}:{self.port}"
  auth-enabled = false
  log-enabled = false
[[udp]]
  enabled = false
[[graphite]]
  enabled = false
"""
        )

    def command(self) -> list[str]:
        """``influxd -config CONFIG``."""
        return [self.binary, "-config", str(self.config)]

    def ready(self) -> bool:
        """``GET /ping`` answers 204."""
        try:
            with urllib.request.urlopen(
                f"http://{self.host}:{self.port}/ping", timeout=0.5
            ) as response:
                return bool(response.status == 204)
        except (OSError, urllib.error.URLError):
            return False

    def query(self, q: str, database: str | None = None) -> Any:
        """Run an InfluxQL query with the ``influxdb`` client (epoch ns); returns a ResultSet."""
        from influxdb import InfluxDBClient

        client = InfluxDBClient(self.host, self.port, database=database, timeout=5, retries=1)
        try:
            return client.query(q, epoch="ns")
        finally:
            client.close()


S = TypeVar("S", bound=Server)


def _run_server(server: S) -> Iterator[S]:
    server.prepare()
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    """A running private broker; ``.stop(kill=...)`` / ``.start()`` restart it on its port."""
    workdir = tmp_path / "mosquitto"
    workdir.mkdir()
    yield from _run_server(Mosquitto(find_binary("mosquitto"), workdir))


@pytest.fixture
def influxd(tmp_path: Path) -> Iterator[Influxd]:
    """A running private influxd with no database; restarts keep its port and data."""
    workdir = tmp_path / "influxd"
    workdir.mkdir()
    yield from _run_server(Influxd(find_binary("influxd"), workdir))


# -- pseudo-terminals ------------------------------------------------------------------------


class PtyPort:
    """A pty standing in for the TIC port: the test writes to the master.

    The fixture keeps the slave open too (in raw mode), so the line discipline never echoes
    and the pty is not hung up when the daemon closes and reopens the port (as it does when
    searching the mode). Writes are non-blocking with a deadline: a pty nobody reads fills
    up, and the test must never hang on it.
    """

    def __init__(self) -> None:
        self.master, self._slave = pty.openpty()
        tty.setraw(self._slave)
        os.set_blocking(self.master, False)
        self.slave_path = os.ttyname(self._slave)
        self.closed = False

    def write(self, data: bytes, timeout: float = 2.0) -> bool:
        """Write ``data`` to the master; False if it could not all be written in time."""
        view = memoryview(data)
        deadline = time.monotonic() + timeout
        while view:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.closed:
                return False
            try:
                written = os.write(self.master, view)
            except BlockingIOError:
                select.select([], [self.master], [], min(remaining, 0.1))
                continue
            except OSError:
                return False
            view = view[written:]
        return True

    def close(self) -> None:
        """Close both sides: the device vanishes (a reader gets EOF/EIO)."""
        if not self.closed:
            self.closed = True
            os.close(self.master)
            os.close(self._slave)


@pytest.fixture
def pty_factory() -> Iterator[Callable[[], PtyPort]]:
    """Makes as many ptys as the test needs; closes them all at the end."""
    made: list[PtyPort] = []

    def make() -> PtyPort:
        port = PtyPort()
        made.append(port)
        return port

    try:
        yield make
    finally:
        for port in made:
            port.close()


@pytest.fixture
def pty_port(pty_factory: Callable[[], PtyPort]) -> PtyPort:
    """One pty; the daemon reads ``.slave_path``, the test ``.write()``s TIC bytes."""
    return pty_factory()


class FrameStreamer:
    """A thread writing ``make_frame(i)`` to a pty every ``interval`` s (i = 0, 1, …).

    ``written`` lists the indexes of the frames written whole, in order.
    """

    def __init__(
        self, port: PtyPort, make_frame: Callable[[int], bytes], interval: float = 0.15
    ) -> None:
        self.port = port
        self.make_frame = make_frame
        self.interval = interval
        self.written: list[int] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._counter = itertools.count()
        self._thread = threading.Thread(target=self._run, name="frame-streamer", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            i = next(self._counter)
            if self.port.write(self.make_frame(i), timeout=1.0):
                with self._lock:
                    self.written.append(i)
            self._stop.wait(self.interval)

    @property
    def count(self) -> int:
        """How many frames were written whole so far."""
        with self._lock:
            return len(self.written)

    def snapshot(self) -> list[int]:
        """The indexes written so far."""
        with self._lock:
            return list(self.written)

    def start(self) -> FrameStreamer:
        """Start writing; returns self."""
        self._thread.start()
        return self

    def stop(self) -> list[int]:
        """Stop writing (idempotent); returns the indexes written."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)
        return self.snapshot()


@pytest.fixture
def streamers() -> Iterator[Callable[..., FrameStreamer]]:
    """``streamers(port, make_frame, interval)`` starts a FrameStreamer, stopped at teardown."""
    started: list[FrameStreamer] = []

    def start(
        port: PtyPort, make_frame: Callable[[int], bytes], interval: float = 0.15
    ) -> FrameStreamer:
        streamer = FrameStreamer(port, make_frame, interval).start()
        started.append(streamer)
        return streamer

    try:
        yield start
    finally:
        for streamer in started:
            streamer.stop()


class HouseMeter:
    """TIC frames of a house with ``surplus_w`` to export whose heater and pump draw what
    the test sets (from the commands the regulation sent, or not at all)."""

    def __init__(self, surplus_w: int) -> None:
        self.surplus_w = surplus_w
        self.heater_w = 0.0
        self.pump_w = 0.0

    def frame(self, i: int) -> bytes:
        grid = -self.surplus_w + self.heater_w + self.pump_w
        return linky_standard_frame(
            date=f"E2606151230{i % 60:02d}",
            sinsts_va=max(int(grid), 0),
            sinsti_va=max(int(-grid), 0),
            eait_wh=1000 + i,
            erq_varh=(1, 2, 3, 4),
        )


# -- the daemon ------------------------------------------------------------------------------

_OWN_ENV_PREFIXES = ("MQTT_", "INFLUXDB_", "TELEINFO_", "PVOPT_", "HA_")
DAEMONS_KEY = pytest.StashKey[list["Daemon"]]()


def clean_env(**overrides: str) -> dict[str, str]:
    """``os.environ`` without any pvopt setting of the caller's shell, plus ``overrides``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OWN_ENV_PREFIXES)}
    env.update(PYTHONUNBUFFERED="1", PVOPT_LOG_LEVEL="DEBUG")
    env.update(overrides)
    return env


class Daemon:
    """One ``python -m pvopt COMMAND`` subprocess (teleinfo by default), stderr in a file."""

    def __init__(
        self,
        args: list[str],
        env: dict[str, str],
        log_path: Path,
        command: str = "teleinfo",
        prelude: str | None = None,
    ) -> None:
        self.args = [command, *args]
        self.log_path = log_path
        # ``prelude``: Python run before ``pvopt`` in the same process (to inject a fault).
        start = ["-m", "pvopt"]
        if prelude is not None:
            start = ["-c", f"{prelude}\nfrom pvopt.cli import main\nraise SystemExit(main())"]
        with open(log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, *start, command, *args],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
                env=env,
            )

    @property
    def log(self) -> str:
        """Everything the daemon logged so far."""
        return self.log_path.read_text("utf-8", errors="replace")

    def running(self) -> bool:
        """True while the process is alive."""
        return self.proc.poll() is None

    def wait_log(self, text: str, timeout: float = 15.0, count: int = 1) -> None:
        """Wait until ``text`` appears ``count`` times in the log (fails if the daemon exits)."""

        def seen() -> bool:
            if self.log.count(text) >= count:
                return True
            if not self.running():
                raise AssertionError(
                    f"daemon exited ({self.proc.returncode}) before logging {text!r}:\n"
                    + _tail(self.log_path)
                )
            return False

        deadline = time.monotonic() + timeout
        while not seen():
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"daemon did not log {text!r} in {timeout} s:\n{_tail(self.log_path)}"
                )
            time.sleep(0.05)

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM and wait (SIGKILL after ``timeout``); returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                raise AssertionError(
                    f"daemon ignored SIGTERM for {timeout} s:\n{_tail(self.log_path)}"
                ) from None
        return int(self.proc.returncode)


def offpeak_far_from_now(now: datetime) -> tuple[str, str]:
    """``HC_START_TIME``/``HC_END_TIME`` of a one-hour off-peak window starting 12 h after
    ``now`` in the daemons' zone (Europe/Paris). The daemons run on the real clock: with
    the default 02:05–06:50, a test run in those hours met the off-peak rules (grid
    heating, the morning top-up, the thermostat probe) that a daytime test never
    expects, and failed only at that time of day."""
    local = now.astimezone(ZoneInfo("Europe/Paris")) + timedelta(hours=12)
    end = local + timedelta(hours=1)
    return f"{local:%H:%M}", f"{end:%H:%M}"


@dataclass
class DaemonFactory:
    """Starts daemons wired to the test's servers; ``state_dir`` is shared by default."""

    tmp_path: Path
    mosquitto: Mosquitto | None = None
    influxd: Influxd | None = None
    database: str = "teleinfo"
    started: list[Daemon] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.state_dir = self.tmp_path / "state"
        self.state_dir.mkdir(exist_ok=True)

    def env(self, **overrides: str) -> dict[str, str]:
        """The daemon's environment. Its off-peak hours are 12 h away from now
        (:func:`offpeak_far_from_now`) unless a test sets them."""
        hc_start, hc_end = offpeak_far_from_now(datetime.now(UTC))
        values = {
            "HC_START_TIME": hc_start,
            "HC_END_TIME": hc_end,
            "PVOPT_STATE_DIR": str(self.state_dir),
            "INFLUXDB_DATABASE": self.database,
            # Nothing listens there: a test without a server sees it unreachable.
            "MQTT_BROKER_HOST": HOST,
            "MQTT_BROKER_PORT": "1",
            "INFLUXDB_HOST": HOST,
            "INFLUXDB_PORT": "1",
        }
        if self.mosquitto is not None:
            values["MQTT_BROKER_PORT"] = str(self.mosquitto.port)
        if self.influxd is not None:
            values["INFLUXDB_PORT"] = str(self.influxd.port)
        values.update(overrides)
        return clean_env(**values)

    def __call__(
        self,
        port: str | None = None,
        mode: str = "standard",
        extra: list[str] | None = None,
        **env: str,
    ) -> Daemon:
        """Start ``pvopt teleinfo --port PORT --mode MODE [extra…]``."""
        args = ["--port", port, "--mode", mode] if port is not None else ["--mode", mode]
        args += extra or []
        log_path = self.tmp_path / f"teleinfo-{len(self.started) + 1}.stderr"
        daemon = Daemon(args, self.env(**env), log_path)
        self.started.append(daemon)
        return daemon

    def regulate(
        self,
        config: Path,
        extra: list[str] | None = None,
        prelude: str | None = None,
        **env: str,
    ) -> Daemon:
        """Start ``pvopt regulate --config CONFIG [extra…]``, after ``prelude`` if given."""
        log_path = self.tmp_path / f"regulate-{len(self.started) + 1}.stderr"
        args = ["--config", str(config), *(extra or [])]
        daemon = Daemon(args, self.env(**env), log_path, command="regulate", prelude=prelude)
        self.started.append(daemon)
        return daemon


@pytest.fixture
def teleinfo(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DaemonFactory]:
    """Starts ``pvopt teleinfo`` subprocesses; SIGTERMs (then kills) them at teardown.

    Uses the ``mosquitto`` / ``influxd`` fixtures only if the test asked for them.
    """
    names = request.fixturenames
    factory = DaemonFactory(
        tmp_path,
        mosquitto=request.getfixturevalue("mosquitto") if "mosquitto" in names else None,
        influxd=request.getfixturevalue("influxd") if "influxd" in names else None,
    )
    request.node.stash[DAEMONS_KEY] = factory.started
    try:
        yield factory
    finally:
        for daemon in factory.started:
            if daemon.proc.poll() is None:
                daemon.proc.terminate()
                try:
                    daemon.proc.wait(20)
                except subprocess.TimeoutExpired:
                    daemon.proc.kill()
                    daemon.proc.wait(5)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Attach each daemon's stderr to the report of a failed test."""
    report = yield
    if report.failed and call.when in ("call", "teardown"):
        daemons: list[Daemon] = item.stash.get(DAEMONS_KEY, [])
        for n, daemon in enumerate(daemons, start=1):
            report.sections.append(
                (f"pvopt #{n} {' '.join(daemon.args)} stderr", _tail(daemon.log_path))
            )
    return report


# -- MQTT subscriber -------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    """One received MQTT message."""

    topic: str
    payload: str
    retain: bool

    def json(self) -> Any:
        """The payload parsed as JSON."""
        return json.loads(self.payload)


class Subscriber:
    """A paho 2 client (VERSION2 callbacks) recording every message it receives.

    Subscribes in ``on_connect``, so it survives a broker restart on its own.
    """

    def __init__(self, host: str, port: int, topics: list[str]) -> None:
        self.topics = topics
        self._messages: list[Message] = []
        self._cond = threading.Condition()
        self.connects = 0
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"pvopt-test-{os.getpid()}-{id(self)}"
        )
        self.client.suppress_exceptions = True
        self.client.reconnect_delay_set(1, 2)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.connect_async(host, port, keepalive=10)
        self.client.loop_start()

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any, props: Any
    ) -> None:
        if reason_code.is_failure:
            return
        for topic in self.topics:
            client.subscribe(topic, qos=1)
        with self._cond:
            self.connects += 1
            self._cond.notify_all()

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        message = Message(msg.topic, msg.payload.decode("utf-8", "replace"), bool(msg.retain))
        with self._cond:
            self._messages.append(message)
            self._cond.notify_all()

    def wait_connected(self, timeout: float = 10.0, connects: int = 1) -> None:
        """Wait for the ``connects``-th CONNACK (and a moment for the SUBACK)."""
        with self._cond:
            if not self._cond.wait_for(lambda: self.connects >= connects, timeout):
                raise AssertionError("the test subscriber could not connect to the broker")
        time.sleep(0.1)  # let the SUBSCRIBE reach the broker before anything is published

    @property
    def messages(self) -> list[Message]:
        """A snapshot of everything received, in order."""
        with self._cond:
            return list(self._messages)

    def mark(self) -> int:
        """The number of messages so far: pass it as ``since`` to look at newer ones only."""
        with self._cond:
            return len(self._messages)

    def on(self, topic: str, since: int = 0) -> list[Message]:
        """The messages received on ``topic`` (from index ``since``)."""
        return [m for m in self.messages[since:] if m.topic == topic]

    def wait_for(
        self, predicate: Callable[[Message], bool], timeout: float = 10.0, since: int = 0
    ) -> Message:
        """The first message (from index ``since``) matching ``predicate``; fails at timeout."""

        def find() -> Message | None:
            for message in self._messages[since:]:
                if predicate(message):
                    return message
            return None

        with self._cond:
            found = self._cond.wait_for(find, timeout)
            if found is None:
                recent = self._messages[-15:]
                raise AssertionError(
                    f"no matching MQTT message in {timeout} s ({len(self._messages)} received; "
                    f"last: {[(m.topic, m.payload[:40], m.retain) for m in recent]})"
                )
            return found

    def close(self) -> None:
        """Disconnect and stop the network thread."""
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def subscriber_factory(
    mosquitto: Mosquitto,
) -> Iterator[Callable[..., Subscriber]]:
    """``subscriber_factory(topics)`` connects a recording subscriber (and waits for it)."""
    made: list[Subscriber] = []

    def make(topics: list[str] | None = None, wait: bool = True) -> Subscriber:
        sub = Subscriber(mosquitto.host, mosquitto.port, topics or ["#"])
        made.append(sub)
        if wait:
            sub.wait_connected()
        return sub

    try:
        yield make
    finally:
        for sub in made:
            sub.close()


@pytest.fixture
def subscriber(subscriber_factory: Callable[..., Subscriber]) -> Subscriber:
    """A subscriber to ``tic/#`` and ``pvopt/#``, connected before the test body runs."""
    return subscriber_factory(["tic/#", "pvopt/#"])


def frame_document(export_va: int, import_va: int = 0) -> str:
    """A ``tic/frame`` document as teleinfo publishes it, timed now."""
    frame = {
        "time": datetime.now(UTC).isoformat(),
        "mode": "standard",
        "values": {"SINSTS": import_va, "SINSTI": export_va},
        "horodates": {},
        "rejected_groups": 0,
    }
    return json.dumps(frame)


def publish_frame(sub: Subscriber, export_va: int) -> None:
    """Publish one ``tic/frame`` document, as teleinfo would, without a meter."""
    sub.client.publish("tic/frame", frame_document(export_va), qos=1)


@pytest.fixture
def meter(subscriber_factory: Callable[..., Subscriber]) -> Iterator[None]:
    """A frame every 0.5 s (nothing exported): a ``pvopt regulate`` evaluates, and reports."""
    publisher = subscriber_factory(["pvopt/nothing"])
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():
            publish_frame(publisher, 0)
            stop.wait(0.5)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(5)


#: Debian's chromium, launched as is: never ``playwright install`` (no browser download).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # no calls home: on a closed network they fail slowly and load the machine
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One headless Chromium for the module's tests (each test makes its own context)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("playwright not installed (pip install -e '.[test]')")
    executable = find_binary("chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
