"""The systemd service notification protocol (sd_notify(3)), for ``Type=notify`` units.

systemd passes a datagram socket in ``$NOTIFY_SOCKET`` (a filesystem path, or an abstract
socket when it starts with ``@``); the service sends newline-separated assignments to it:

- ``READY=1``: start-up is finished (``systemctl start`` returns, the watchdog arms);
- ``STATUS=…``: one line shown by ``systemctl status``;
- ``WATCHDOG=1``: the keep-alive ping. ``WatchdogSec=`` is exported as ``$WATCHDOG_USEC``
  (and ``$WATCHDOG_PID``, the process it is meant for); a service that stays silent for
  longer is killed with SIGABRT and, with ``Restart=on-failure``, restarted;
- ``STOPPING=1``: shutdown has begun.

:class:`Notifier` is the daemons' side of it. Outside systemd (no ``$NOTIFY_SOCKET``) every
method is a no-op, and no method ever raises: a notification that cannot be sent is logged
once and the daemon carries on. :meth:`Notifier.watchdog` is meant to be called on *every*
iteration of a daemon's main loop and only sends at half the watchdog interval, so a loop
that hangs stops the pings and gets restarted, while a live one costs one clock read per
iteration. Never call it from a side thread: that thread would keep pinging for a stuck loop.
:class:`Heartbeat` bundles what a daemon's main loop does on each turn: the ping, READY
once the daemon is up (or degraded after a grace period), and the STATUS line.

The variables belong to systemd, not to pvopt's configuration, so this module reads them
itself (:meth:`Notifier.from_environ`), like :mod:`pvopt.logsetup` reads ``$JOURNAL_STREAM``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping

_LOG = logging.getLogger(__name__)

#: Pings go out at this fraction of ``WatchdogSec=`` (the man page's advice: half).
PING_FRACTION = 0.5
#: A send never blocks the main loop longer than this (the manager's queue is full).
SEND_TIMEOUT_S = 1.0
#: A daemon whose input never comes up still reports READY after this long (degraded, with
#: a STATUS saying what is missing) instead of failing its start and restarting in a loop.
READY_GRACE_S = 15.0
#: The STATUS line's figures are refreshed this often (a state change is sent at once).
STATUS_REFRESH_S = 15.0


def watchdog_usec(environ: Mapping[str, str], pid: int) -> int | None:
    """``$WATCHDOG_USEC`` if it is meant for process ``pid`` and valid, else None.

    As sd_watchdog_enabled(3): a ``$WATCHDOG_PID`` naming another process (a child that
    inherited the environment) means the watchdog is not ours.
    """
    raw = environ.get("WATCHDOG_USEC", "").strip()
    if not raw:
        return None
    owner = environ.get("WATCHDOG_PID", "").strip()
    if owner:
        try:
            if int(owner) != pid:
                return None
        except ValueError:
            return None
    try:
        usec = int(raw)
    except ValueError:
        return None
    return usec if usec > 0 else None


def _socket_address(value: str) -> str:
    """The address to ``sendto``: ``@name`` is the abstract socket ``\\0name``."""
    return "\0" + value[1:] if value.startswith("@") else value


def _one_line(text: str) -> str:
    """A STATUS value must not contain a newline (it would start a new assignment)."""
    return " ".join(text.split())


class Notifier:
    """Sends sd_notify messages to systemd; a silent no-op when not run by systemd."""

    def __init__(
        self,
        notify_socket: str | None,
        watchdog_usec: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``notify_socket``: the ``$NOTIFY_SOCKET`` value; ``watchdog_usec``: ``WatchdogSec=``."""
        self._address = _socket_address(notify_socket) if notify_socket else None
        self._display = notify_socket or ""
        self._interval_s = (
            watchdog_usec * PING_FRACTION / 1e6 if self._address and watchdog_usec else None
        )
        self._clock = clock
        self._lock = threading.Lock()
        self._last_ping: float | None = None
        self._last_status: str | None = None
        self._ready = False
        self._failing = False

    @classmethod
    def from_environ(
        cls,
        environ: Mapping[str, str] | None = None,
        pid: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> Notifier:
        """The notifier systemd set up for this process (``os.environ`` by default)."""
        env = os.environ if environ is None else environ
        return cls(
            env.get("NOTIFY_SOCKET") or None,
            watchdog_usec(env, os.getpid() if pid is None else pid),
            clock,
        )

    @property
    def enabled(self) -> bool:
        """True when running under systemd with a notification socket."""
        return self._address is not None

    @property
    def watchdog_interval_s(self) -> float | None:
        """Seconds between two pings (half of ``WatchdogSec=``), None without a watchdog."""
        return self._interval_s

    @property
    def ready_sent(self) -> bool:
        """True once ``READY=1`` was sent (or attempted)."""
        return self._ready

    def notify(self, *assignments: str) -> bool:
        """Send ``assignments`` in one datagram; True if systemd got it. Never raises.

        A socket per message, as libsystemd does: nothing to keep open or to close, and a
        few per minute cost nothing.
        """
        if self._address is None or not assignments:
            return False
        data = "\n".join(assignments).encode("utf-8", "replace")
        with self._lock:
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                    sock.settimeout(SEND_TIMEOUT_S)
                    sock.sendto(data, self._address)
            except (OSError, ValueError) as exc:
                if not self._failing:
                    _LOG.warning("cannot notify systemd at %s: %s", self._display, exc)
                    self._failing = True
                return False
            if self._failing:
                _LOG.info("notifying systemd at %s again", self._display)
                self._failing = False
            return True

    def ready(self, status: str | None = None) -> None:
        """``READY=1`` (once; later calls only update the status)."""
        if self._ready:
            if status is not None:
                self.status(status)
            return
        self._ready = True
        lines = ["READY=1"]
        if status is not None:
            self._last_status = _one_line(status)
            lines.append(f"STATUS={self._last_status}")
        self.notify(*lines)

    def status(self, text: str) -> None:
        """``STATUS=text`` for ``systemctl status``; sent only when the text changes."""
        line = _one_line(text)
        if line != self._last_status:
            self._last_status = line
            self.notify(f"STATUS={line}")

    def watchdog(self) -> None:
        """Ping the watchdog if half the interval has passed; call it every loop iteration."""
        if self._interval_s is None:
            return
        now = self._clock()
        if self._last_ping is None or now - self._last_ping >= self._interval_s:
            self._last_ping = now
            self.notify("WATCHDOG=1")

    def stopping(self, status: str | None = None) -> None:
        """``STOPPING=1``: shutdown has begun (the stop timeout now applies)."""
        lines = ["STOPPING=1"]
        if status is not None:
            self._last_status = _one_line(status)
            lines.append(f"STATUS={self._last_status}")
        self.notify(*lines)


class Heartbeat:
    """A daemon main loop's systemd duties, in one :meth:`beat` per iteration.

    - the watchdog ping (rate-limited by the notifier);
    - ``READY=1`` the first time the daemon reports itself ``up`` (port open, broker
      connected), or after ``ready_grace_s`` without it: the daemon then runs degraded, keeps
      retrying, and says why in its STATUS, rather than failing ``TimeoutStartSec=``;
    - ``STATUS=<state>[; <detail>]``: at once when ``state`` changes, else every
      ``refresh_s`` (``detail`` carries figures such as frame counts and is only computed then).
    """

    def __init__(
        self,
        notifier: Notifier,
        ready_grace_s: float = READY_GRACE_S,
        refresh_s: float = STATUS_REFRESH_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Start the grace period now."""
        self.notifier = notifier
        self._clock = clock
        self._ready_by = clock() + ready_grace_s
        self._refresh_s = refresh_s
        self._state: str | None = None
        self._next_refresh = 0.0
        if notifier.enabled:
            interval = notifier.watchdog_interval_s
            _LOG.info(
                "systemd notifications on%s",
                f", watchdog ping every {interval:g} s" if interval is not None else "",
            )

    @property
    def enabled(self) -> bool:
        """False outside systemd: :meth:`beat` does nothing, callers may skip building it."""
        return self.notifier.enabled

    def beat(self, up: bool, state: str, detail: Callable[[], str] | None = None) -> None:
        """Call on every main-loop iteration (never from another thread)."""
        notifier = self.notifier
        notifier.watchdog()
        if not notifier.enabled:
            return
        now = self._clock()
        ready_now = not notifier.ready_sent and (up or now >= self._ready_by)
        if not (ready_now or state != self._state or now >= self._next_refresh):
            return
        text = f"{state}; {detail()}" if detail is not None else state
        self._state = state
        self._next_refresh = now + self._refresh_s
        if ready_now:
            notifier.ready(text)
        else:
            notifier.status(text)

    def stopping(self, status: str) -> None:
        """``STOPPING=1`` with a last STATUS."""
        self.notifier.stopping(status)
