"""The database's state as a daemon that writes InfluxDB sees it, and when it says so on
MQTT (pure: time is an argument).

``pvopt teleinfo`` and ``pvopt regulate`` each publish their Influx writer's state on their
own topic (:data:`pvopt.topics.DATABASE_STATES`, retained): is the database reachable,
how many points wait for it on disk (the spool) and in memory, how many were dropped.
:class:`ReportSchedule` decides when: at once when reachability changes (the banner must
not wait), otherwise on a change at most every :data:`MIN_INTERVAL_S` (the counts move
with every point while the database is away). ``pvopt web`` parses it back
(:func:`parse_state`).

Payload (JSON)::

    time            when the daemon looked (ISO-8601 with offset)
    reachable       true, false, or null (no write tried yet)
    spool_points    points waiting on disk
    memory_points   points waiting in memory (the spool could not take them)
    dropped_points  points lost since the daemon started
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from pvopt.regulation.inputs import InputError, count_field, load_json, report_time

#: Counts change at most this often on MQTT (s); reachability changes go out at once.
MIN_INTERVAL_S: Final = 5.0
#: A count beyond this is not a writer's.
MAX_POINTS: Final = 10**12


@dataclass(frozen=True, slots=True)
class DatabaseState:
    """An Influx writer's state."""

    reachable: bool | None  # None: no write tried yet
    spool_points: int
    memory_points: int
    dropped_points: int

    @property
    def waiting_points(self) -> int:
        """Points not yet in the database (disk and memory)."""
        return self.spool_points + self.memory_points


@dataclass(frozen=True, slots=True)
class DatabaseReport:
    """A daemon's published state, and when it looked."""

    time: datetime
    state: DatabaseState


def state_document(state: DatabaseState, now: datetime) -> str:
    """The JSON payload of ``state`` seen at ``now`` (keys: the module's docstring)."""
    return json.dumps(
        {
            "time": now.isoformat(),
            "reachable": state.reachable,
            "spool_points": state.spool_points,
            "memory_points": state.memory_points,
            "dropped_points": state.dropped_points,
        },
        separators=(",", ":"),
    )


def parse_state(topic: str, payload: bytes, received: datetime) -> DatabaseReport:
    """A :class:`DatabaseReport` from a payload of :func:`state_document`; anything else
    raises :class:`InputError`. A time after the arrival is taken as the arrival."""
    doc = load_json(topic, payload)
    if not isinstance(doc, dict):
        raise InputError(f"{topic}: expected a JSON object")
    reachable = doc.get("reachable")
    if reachable is not None and not isinstance(reachable, bool):
        raise InputError(f"{topic}: reachable must be true, false or null")
    when = report_time(doc, topic, received)
    state = DatabaseState(
        reachable=reachable,
        spool_points=count_field(doc, "spool_points", topic, MAX_POINTS),
        memory_points=count_field(doc, "memory_points", topic, MAX_POINTS),
        dropped_points=count_field(doc, "dropped_points", topic, MAX_POINTS),
    )
    return DatabaseReport(time=when, state=state)


class ReportSchedule:
    """When a state is worth publishing (the module's docstring); times are monotonic."""

    def __init__(self, min_interval_s: float = MIN_INTERVAL_S) -> None:
        self.min_interval_s = min_interval_s
        self._last: DatabaseState | None = None
        self._at = 0.0

    def due(self, state: DatabaseState, now: float) -> bool:
        """True when ``state`` should be published at ``now`` (then counted as published)."""
        last = self._last
        if last == state:
            return False
        same_reach = last is not None and last.reachable == state.reachable
        if same_reach and now - self._at < self.min_interval_s:
            return False
        self._last, self._at = state, now
        return True

    def forget(self) -> None:
        """Publish the next state whatever it is (a new connection to the broker: the
        retained message may have been lost with a broker that kept nothing)."""
        self._last = None
