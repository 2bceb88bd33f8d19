"""The daemons under a fake systemd: READY, STATUS, the watchdog from the main loop, STOPPING.

The test plays systemd: it binds the datagram socket that ``$NOTIFY_SOCKET`` names (in a
short temporary directory: AF_UNIX paths are limited to 107 bytes) and sets
``WATCHDOG_USEC`` small, so pings come every half second instead of every 10 s.

- The real ``pvopt regulate`` and ``pvopt teleinfo`` processes, against a real mosquitto
  and a pty: READY once connected / once the port is open, regular pings, STOPPING=1 on
  SIGTERM.
- A blocked main loop: the daemons' loops run in this process (the same code ``run()``
  calls) with a real MQTT client; one unit of work hangs, as a stuck publish or decision
  would. The pings stop although paho's network thread is alive and connected, and
  resume when the work finishes: the watchdog watches the loop, not the process.
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import time as clock_time
from pathlib import Path

import pytest

from pvopt.config import MqttSettings, Settings
from pvopt.daemons.power_regulation import RegulationDaemon
from pvopt.daemons.teleinfo import FrameSink, TeleinfoOptions, run_live
from pvopt.equipment.loader import load_site_config
from pvopt.io.mqtt import MqttClient
from pvopt.io.systemd import Heartbeat, Notifier
from pvopt.tic import Frame
from pvopt.tic.encoder import linky_standard_frame

from .conftest import DaemonFactory, FrameStreamer, Mosquitto, PtyPort

pytestmark = pytest.mark.integration

#: WatchdogSec=1: the daemons ping every 0.5 s.
WATCHDOG_USEC = "1000000"
CONFIG = """\
equipment:
  - type: VariablePowerEquipment
    id: 0
    name: water_heater
    max_power: 2400
"""


def frame(i: int) -> bytes:
    """A standard-mode producer frame."""
    return linky_standard_frame(
        date=f"E2606151230{i % 60:02d}", sinsts_va=0, sinsti_va=1500, erq_varh=(1, 2, 3, 4)
    )


class FakeSystemd:
    """systemd's end of ``$NOTIFY_SOCKET``: records every datagram, in order."""

    def __init__(self, folder: Path) -> None:
        self.address = str(folder / "notify")
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(self.address)
        self._sock.settimeout(0.1)
        self._messages: list[str] = []
        self._cond = threading.Condition()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._receive, name="fake-systemd", daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        while not self._closed.is_set():
            try:
                data = self._sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            with self._cond:
                self._messages.append(data.decode("utf-8", "replace"))
                self._cond.notify_all()

    def env(self) -> dict[str, str]:
        """What systemd would set for a unit with WatchdogSec=1."""
        return {"NOTIFY_SOCKET": self.address, "WATCHDOG_USEC": WATCHDOG_USEC}

    @property
    def messages(self) -> list[str]:
        """Everything received so far."""
        with self._cond:
            return list(self._messages)

    def mark(self) -> int:
        """The number of datagrams so far: pass it as ``since``."""
        with self._cond:
            return len(self._messages)

    def sync(self) -> int:
        """The mark after everything sent so far: a datagram of ours, queued behind them."""
        token = f"TEST_SYNC={time.monotonic_ns()}"
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as client:
            client.sendto(token.encode(), self.address)
        index, _ = self.wait_for(lambda m: m == token, timeout=5.0)
        return index + 1

    def count(self, assignment: str, since: int = 0) -> int:
        """How many datagrams (from ``since``) carry ``assignment`` (e.g. ``WATCHDOG=1``)."""
        return sum(assignment in m.split("\n") for m in self.messages[since:])

    def wait_for(
        self, predicate: Callable[[str], bool], since: int = 0, timeout: float = 15.0
    ) -> tuple[int, str]:
        """(index, datagram) of the first one from ``since`` matching ``predicate``."""

        def find() -> tuple[int, str] | None:
            for i, message in enumerate(self._messages[since:], start=since):
                if predicate(message):
                    return i, message
            return None

        with self._cond:
            found = self._cond.wait_for(find, timeout)
        if found is None:
            raise AssertionError(f"no matching notification in {timeout} s: {self.messages}")
        return found

    def wait_count(self, assignment: str, count: int, since: int = 0) -> None:
        """Wait until ``count`` datagrams from ``since`` carry ``assignment``."""
        with self._cond:
            ok = self._cond.wait_for(lambda: self.count(assignment, since) >= count, 15.0)
        if not ok:
            raise AssertionError(f"fewer than {count} {assignment}: {self.messages[since:]}")

    def close(self) -> None:
        """Stop receiving."""
        self._closed.set()
        self._thread.join(5)
        self._sock.close()


@pytest.fixture
def fake_systemd() -> Iterator[FakeSystemd]:
    """A listening notification socket in a short temporary directory."""
    with tempfile.TemporaryDirectory(prefix="pvopt-sd-") as folder:
        fake = FakeSystemd(Path(folder))
        try:
            yield fake
        finally:
            fake.close()


def status_of(message: str) -> str:
    """The STATUS= value of a datagram ('' if none)."""
    for line in message.split("\n"):
        if line.startswith("STATUS="):
            return line.removeprefix("STATUS=")
    return ""


# -- the real processes ----------------------------------------------------------------------


def test_regulate_is_ready_once_connected_pings_and_says_stopping(
    tmp_path: Path, mosquitto: Mosquitto, teleinfo: DaemonFactory, fake_systemd: FakeSystemd
) -> None:
    config = tmp_path / "equipment_config.yml"
    config.write_text(CONFIG)
    reg = teleinfo.regulate(config, **fake_systemd.env())

    ready_at, ready = fake_systemd.wait_for(lambda m: "READY=1" in m.split("\n"))
    assert status_of(ready).startswith("regulating 1 load")
    fake_systemd.wait_count("WATCHDOG=1", 3, since=ready_at)
    reg.wait_log("watchdog ping every 0.5 s")

    stopped_at = fake_systemd.mark()
    assert reg.stop() == 0
    _, stopping = fake_systemd.wait_for(lambda m: "STOPPING=1" in m.split("\n"), stopped_at)
    assert status_of(stopping) == "stopping: every load off"
    assert fake_systemd.count("READY=1") == 1


def test_regulate_waits_for_the_broker_pinging_then_is_ready_once_connected(
    tmp_path: Path, mosquitto: Mosquitto, teleinfo: DaemonFactory, fake_systemd: FakeSystemd
) -> None:
    """The broker down at start: alive (pings) and saying why, not READY until it connects."""
    config = tmp_path / "equipment_config.yml"
    config.write_text(CONFIG)
    mosquitto.stop()
    reg = teleinfo.regulate(config, **fake_systemd.env())
    fake_systemd.wait_for(lambda m: status_of(m).startswith("waiting for the MQTT broker"))
    fake_systemd.wait_count("WATCHDOG=1", 3)
    assert fake_systemd.count("READY=1") == 0

    mosquitto.start()
    _, ready = fake_systemd.wait_for(lambda m: "READY=1" in m.split("\n"))
    assert status_of(ready).startswith("regulating 1 load")
    assert reg.stop() == 0


def test_teleinfo_waits_for_its_port_pinging_then_is_ready_once_it_opens(
    tmp_path: Path,
    mosquitto: Mosquitto,
    teleinfo: DaemonFactory,
    pty_port: PtyPort,
    streamers: Callable[..., FrameStreamer],
    fake_systemd: FakeSystemd,
) -> None:
    """The TIC interface plugged in late (its /dev/serial/by-id link appears): meanwhile
    the daemon is alive and says why it is not ready; READY comes with the open port."""
    link = tmp_path / "usb-TIC-if00-port0"
    tele = teleinfo(str(link), "standard", **fake_systemd.env())

    _, waiting = fake_systemd.wait_for(lambda m: "waiting for the serial port" in m)
    assert str(link) in status_of(waiting)
    fake_systemd.wait_count("WATCHDOG=1", 2)  # the back-off wait beats too
    assert fake_systemd.count("READY=1") == 0

    link.symlink_to(pty_port.slave_path)
    ready_at, ready = fake_systemd.wait_for(lambda m: "READY=1" in m.split("\n"))
    assert status_of(ready).startswith(f"reading {link} (standard mode)")
    streamers(pty_port, frame, 0.1)
    fake_systemd.wait_for(
        lambda m: status_of(m).startswith("receiving standard-mode frames"), ready_at
    )
    fake_systemd.wait_count("WATCHDOG=1", 2, since=ready_at)

    stopped_at = fake_systemd.mark()
    assert tele.stop() == 0
    _, stopping = fake_systemd.wait_for(lambda m: "STOPPING=1" in m.split("\n"), stopped_at)
    assert status_of(stopping).startswith("stopping; ")


# -- a blocked main loop ---------------------------------------------------------------------


class Hang:
    """One unit of work that blocks until released, as a stuck call would."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def __call__(self, *args: object) -> None:
        self.entered.set()
        self.release.wait(30)


def assert_pings_stop_while_blocked(
    fake: FakeSystemd, hang: Hang, side_thread_alive: Callable[[], bool]
) -> None:
    """Once ``hang`` holds the loop, no ping for 4 intervals; pings resume after release."""
    assert hang.entered.wait(15), "the loop never reached the blocking work"
    blocked_at = fake.sync()  # pings sent before the block are all behind this mark
    time.sleep(4 * 0.5)  # four ping intervals: a live loop would have pinged 4 times
    assert fake.count("WATCHDOG=1", since=blocked_at) == 0
    assert side_thread_alive()
    released_at = fake.mark()
    hang.release.set()
    fake.wait_count("WATCHDOG=1", 1, since=released_at)


def test_a_blocked_regulation_loop_stops_pinging_while_mqtt_lives_on(
    tmp_path: Path, mosquitto: Mosquitto, fake_systemd: FakeSystemd
) -> None:
    config = tmp_path / "equipment_config.yml"
    config.write_text(CONFIG)
    site = load_site_config(config, (clock_time(2, 5), clock_time(6, 50)))
    settings = Settings(
        mqtt=MqttSettings(host=mosquitto.host, port=mosquitto.port), state_dir=tmp_path
    )
    mqtt = MqttClient(settings.mqtt, f"pvopt-test-watchdog-{os.getpid()}", "test/status")
    daemon = RegulationDaemon(site, settings, mqtt, None, dry_run=True)
    for topic, handler in daemon.subscriptions().items():
        mqtt.subscribe(topic, handler)
    notifier = Notifier(fake_systemd.address, int(WATCHDOG_USEC))
    stop = threading.Event()
    loop = threading.Thread(target=daemon.run, args=(stop, Heartbeat(notifier)), daemon=True)
    mqtt.start()
    loop.start()
    try:
        ready_at, _ = fake_systemd.wait_for(lambda m: "READY=1" in m.split("\n"))
        fake_systemd.wait_count("WATCHDOG=1", 2, since=ready_at)

        hang = Hang()
        daemon.events.put(hang)  # an evaluation that never returns
        assert_pings_stop_while_blocked(fake_systemd, hang, lambda: mqtt.connected)
    finally:
        stop.set()
        loop.join(10)
        mqtt.stop()
    assert not loop.is_alive()
    # the datagram is sent before the loop ends but read by the receiver thread later
    fake_systemd.sync()
    assert fake_systemd.count("STOPPING=1") == 1


class HangingSink(FrameSink):
    """A sink whose output blocks on the 3rd frame (a stuck publish)."""

    def __init__(self, mqtt: MqttClient, hang: Hang) -> None:
        super().__init__(mqtt, None, None)
        self.hang = hang

    def handle(self, frame: Frame) -> None:
        super().handle(frame)
        if self.frames == 3:
            self.hang()


def test_a_blocked_teleinfo_loop_stops_pinging_while_mqtt_lives_on(
    mosquitto: Mosquitto,
    pty_port: PtyPort,
    streamers: Callable[..., FrameStreamer],
    fake_systemd: FakeSystemd,
) -> None:
    mqtt = MqttClient(
        MqttSettings(host=mosquitto.host, port=mosquitto.port),
        f"pvopt-test-watchdog-tic-{os.getpid()}",
        "test/status",
    )
    hang = Hang()
    sink = HangingSink(mqtt, hang)
    options = TeleinfoOptions(port=pty_port.slave_path, mode="standard")
    notifier = Notifier(fake_systemd.address, int(WATCHDOG_USEC))
    stop = threading.Event()
    loop = threading.Thread(
        target=run_live, args=(options, sink, stop, Heartbeat(notifier)), daemon=True
    )
    mqtt.start()
    assert mqtt.wait_connected(10)
    loop.start()
    try:
        fake_systemd.wait_for(lambda m: "READY=1" in m.split("\n"))
        streamers(pty_port, frame, 0.1)
        assert_pings_stop_while_blocked(fake_systemd, hang, lambda: mqtt.connected)
    finally:
        stop.set()
        hang.release.set()
        loop.join(10)
        mqtt.stop()
    assert not loop.is_alive()
    # the datagram is sent before the loop ends but read by the receiver thread later
    fake_systemd.sync()
    assert fake_systemd.count("STOPPING=1") == 1
