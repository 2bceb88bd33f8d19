"""When the live page gets a new snapshot, and what it says of the broker. Pure.

The server pushes a snapshot to every open stream (server-sent events) when
:meth:`pvopt.web.live.Live.update` says something shown changed, and when a reading goes
stale by itself (:meth:`~pvopt.web.live.Live.next_expiry`: no message will say so).
:class:`PushSchedule` coalesces: the first change after a quiet spell goes out at once,
changes arriving within ``interval_s`` of the last push wait until ``interval_s`` after it
(one push then carries them all), so a burst of messages is at most one snapshot per
``interval_s`` per browser. Times are monotonic seconds given by the caller.

:func:`live_document` adds the broker's state to a snapshot: ``broker`` is
``{state: "connected" | "disconnected", since, age_s}`` and the alert ``"broker_down"``
comes first in ``alerts`` while the broker is away (the readings then go stale one after
the other: their own alerts follow).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

#: Alert code of a broker that is away, before :class:`~pvopt.web.live.Live`'s codes.
BROKER_DOWN = "broker_down"


class PushSchedule:
    """Coalesces changes into pushes at most one per ``interval_s``; wakes for expiries."""

    def __init__(self, interval_s: float = 0.1) -> None:
        self.interval_s = interval_s
        self._pending = False
        self._last: float | None = None
        self._expiry: float | None = None

    @property
    def pending(self) -> bool:
        """True when a change waits to be pushed."""
        return self._pending

    def changed(self) -> None:
        """Something shown changed: push at the next allowed instant."""
        self._pending = True

    def expires_at(self, when: float | None) -> None:
        """The next instant a reading goes stale (None: none will): a push is due then."""
        self._expiry = when

    def take(self, now: float) -> bool:
        """True when a push is due at ``now`` (and counts it as done)."""
        if self._expiry is not None and now >= self._expiry:
            self._pending = True
            self._expiry = None
        if not self._pending:
            return False
        last = self._last
        # A clock that went back (it should not: monotonic) never blocks the pushes.
        if last is not None and last <= now < last + self.interval_s:
            return False
        self._pending = False
        self._last = now
        return True

    def wait_s(self, now: float) -> float | None:
        """How long to sleep from ``now`` before calling :meth:`take` again (None: until
        a change comes)."""
        deadlines: list[float] = []
        if self._pending:
            last = self._last
            deadlines.append(now if last is None or now < last else last + self.interval_s)
        if self._expiry is not None:
            deadlines.append(self._expiry)
        if not deadlines:
            return None
        return max(0.0, min(deadlines) - now)


@dataclass(frozen=True, slots=True)
class BrokerState:
    """Whether the MQTT broker has the connection, and since when."""

    connected: bool
    since: datetime

    def document(self, now: datetime) -> dict[str, object]:
        """``{state, since, age_s}`` of the snapshot."""
        return {
            "state": "connected" if self.connected else "disconnected",
            "since": self.since.isoformat(),
            "age_s": round((now - self.since).total_seconds(), 1),
        }


def live_document(
    snapshot: dict[str, object], broker: BrokerState, now: datetime
) -> dict[str, object]:
    """``snapshot`` (:meth:`~pvopt.web.live.Live.snapshot` at ``now``) with ``broker`` and,
    while the broker is away, ``"broker_down"`` first in ``alerts``."""
    alerts = snapshot.get("alerts")
    codes = list(alerts) if isinstance(alerts, list) else []
    if not broker.connected:
        codes.insert(0, BROKER_DOWN)
    return {**snapshot, "alerts": codes, "broker": broker.document(now)}
