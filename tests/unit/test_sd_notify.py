"""The sd_notify adapter (pvopt/io/systemd.py) against a real datagram socket.

The test plays systemd's side of ``$NOTIFY_SOCKET``: a unix datagram socket bound in a
temporary directory (or in the abstract namespace, as ``@name``). Time is a fake clock.
"""

from __future__ import annotations

import logging
import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from pvopt.io.systemd import Heartbeat, Notifier, watchdog_usec


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Manager:
    """systemd's end of the notification socket: receives what the service sends."""

    def __init__(self, address: str) -> None:
        self.address = address  # as in $NOTIFY_SOCKET
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind("\0" + address[1:] if address.startswith("@") else address)
        self.sock.setblocking(False)

    def received(self) -> list[str]:
        """Every datagram received since the last call, in order."""
        got: list[str] = []
        while True:
            try:
                got.append(self.sock.recv(4096).decode())
            except BlockingIOError:
                return got

    def close(self) -> None:
        """Stop listening (the path stays until removed)."""
        self.sock.close()


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A directory with a short path: AF_UNIX paths are limited to 107 bytes."""
    with tempfile.TemporaryDirectory(prefix="pvopt-sd-") as name:
        yield Path(name)


@pytest.fixture
def manager(short_dir: Path) -> Iterator[Manager]:
    """A listening notification socket at a filesystem path."""
    m = Manager(str(short_dir / "notify"))
    try:
        yield m
    finally:
        m.close()


# -- outside systemd -------------------------------------------------------------------------


def test_without_notify_socket_every_call_is_a_silent_no_op() -> None:
    notifier = Notifier.from_environ({"WATCHDOG_USEC": "1000000"})
    assert not notifier.enabled
    assert notifier.watchdog_interval_s is None
    assert notifier.notify("READY=1") is False
    notifier.ready("up")
    notifier.status("x")
    notifier.watchdog()
    notifier.stopping()


# -- the messages ----------------------------------------------------------------------------


def test_ready_status_and_stopping_reach_the_socket_path(manager: Manager) -> None:
    notifier = Notifier.from_environ({"NOTIFY_SOCKET": manager.address})
    assert notifier.enabled
    notifier.ready("reading /dev/ttyAMA0")
    notifier.status("receiving frames")
    notifier.stopping("stopping")
    assert manager.received() == [
        "READY=1\nSTATUS=reading /dev/ttyAMA0",
        "STATUS=receiving frames",
        "STOPPING=1\nSTATUS=stopping",
    ]


def test_an_abstract_socket_is_named_with_a_leading_at() -> None:
    manager = Manager(f"@pvopt-test-{os.getpid()}-{id(object())}")
    try:
        Notifier.from_environ({"NOTIFY_SOCKET": manager.address}).ready()
        assert manager.received() == ["READY=1"]
    finally:
        manager.close()


def test_ready_is_sent_once(manager: Manager) -> None:
    notifier = Notifier(manager.address)
    notifier.ready("a")
    notifier.ready("b")  # only a status update now
    notifier.ready()
    assert manager.received() == ["READY=1\nSTATUS=a", "STATUS=b"]
    assert notifier.ready_sent


def test_a_status_is_one_line_and_sent_only_when_it_changes(manager: Manager) -> None:
    notifier = Notifier(manager.address)
    notifier.status("port lost:\n[Errno 5] I/O error")
    notifier.status("port lost: [Errno 5] I/O error")
    assert manager.received() == ["STATUS=port lost: [Errno 5] I/O error"]


# -- the watchdog ----------------------------------------------------------------------------


def test_the_watchdog_is_pinged_at_half_its_interval(manager: Manager) -> None:
    clock = FakeClock()
    notifier = Notifier.from_environ(
        {"NOTIFY_SOCKET": manager.address, "WATCHDOG_USEC": "2000000"}, clock=clock
    )
    assert notifier.watchdog_interval_s == 1.0
    sent = []
    for step in range(9):  # a main loop turning every 0.25 s for 2 s
        clock.now = 1000.0 + step * 0.25
        notifier.watchdog()
        sent += [clock.now - 1000.0 for _ in manager.received()]
    assert sent == [0.0, 1.0, 2.0]


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"WATCHDOG_USEC": "30000000"}, 30_000_000),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "4242"}, 30_000_000),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}, None),  # a parent's watchdog
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "x"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
        ({"WATCHDOG_USEC": "0"}, None),
        ({}, None),
    ],
)
def test_the_watchdog_is_ours_only_if_watchdog_pid_names_us(
    env: dict[str, str], expected: int | None
) -> None:
    assert watchdog_usec(env, pid=4242) == expected


def test_no_watchdog_without_a_notification_socket() -> None:
    assert Notifier(None, watchdog_usec=1_000_000).watchdog_interval_s is None


# -- never raising ---------------------------------------------------------------------------


def test_a_vanished_socket_is_logged_once_and_never_raises(
    manager: Manager, short_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    notifier = Notifier(manager.address, watchdog_usec=1_000_000, clock=clock)
    manager.close()
    os.unlink(manager.address)
    with caplog.at_level(logging.INFO, logger="pvopt.io.systemd"):
        for _ in range(3):
            clock.now += 1
            notifier.watchdog()
            notifier.status(f"status {clock.now}")
        assert [r.levelname for r in caplog.records] == ["WARNING"]
        assert "cannot notify systemd" in caplog.text
        back = Manager(manager.address)  # systemd re-executed: the socket is back
        try:
            clock.now += 1
            notifier.watchdog()
            assert back.received() == ["WATCHDOG=1"]
        finally:
            back.close()
        assert "notifying systemd at" in caplog.records[-1].getMessage()


def test_an_impossible_address_is_a_warning_not_an_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    notifier = Notifier("/" + "x" * 200)  # longer than sun_path
    with caplog.at_level(logging.WARNING, logger="pvopt.io.systemd"):
        assert notifier.notify("READY=1") is False
    assert "cannot notify systemd" in caplog.text


# -- the daemons' heartbeat ------------------------------------------------------------------


def test_heartbeat_reports_ready_when_the_daemon_is_up(manager: Manager) -> None:
    clock = FakeClock()
    hb = Heartbeat(Notifier(manager.address), ready_grace_s=15, refresh_s=15, clock=clock)
    hb.beat(False, "waiting for the serial port")
    clock.now += 1
    hb.beat(True, "reading /dev/ttyAMA0")
    assert manager.received() == [
        "STATUS=waiting for the serial port",
        "READY=1\nSTATUS=reading /dev/ttyAMA0",
    ]


def test_heartbeat_reports_ready_after_the_grace_period_when_never_up(manager: Manager) -> None:
    """Degrade, don't die: a missing device must not fail the start and loop on restarts."""
    clock = FakeClock()
    hb = Heartbeat(Notifier(manager.address), ready_grace_s=15, refresh_s=100, clock=clock)
    hb.beat(False, "waiting for the serial port")
    clock.now += 14
    hb.beat(False, "waiting for the serial port")
    assert manager.received() == ["STATUS=waiting for the serial port"]
    clock.now += 1
    hb.beat(False, "waiting for the serial port")
    assert manager.received() == ["READY=1\nSTATUS=waiting for the serial port"]


def test_heartbeat_sends_a_state_change_at_once_and_figures_every_refresh(
    manager: Manager,
) -> None:
    clock = FakeClock()
    hb = Heartbeat(Notifier(manager.address), refresh_s=15, clock=clock)
    frames = iter(range(100))

    def detail() -> str:
        return f"{next(frames)} frames"

    hb.beat(True, "receiving")
    hb.beat(True, "receiving", detail)  # no change, not due: detail() not even called
    clock.now += 15
    hb.beat(True, "receiving", detail)
    clock.now += 1
    hb.beat(True, "no valid frame for 10 s", detail)
    assert manager.received() == [
        "READY=1\nSTATUS=receiving",
        "STATUS=receiving; 0 frames",
        "STATUS=no valid frame for 10 s; 1 frames",
    ]


def test_heartbeat_pings_on_every_beat_when_due(manager: Manager) -> None:
    clock = FakeClock()
    hb = Heartbeat(Notifier(manager.address, watchdog_usec=1_000_000, clock=clock), clock=clock)
    hb.beat(True, "up")
    clock.now += 0.5
    hb.beat(True, "up")
    assert manager.received() == ["WATCHDOG=1", "READY=1\nSTATUS=up", "WATCHDOG=1"]
    hb.stopping("stopping")
    assert manager.received() == ["STOPPING=1\nSTATUS=stopping"]
