"""The decoder's counts as ``pvopt teleinfo`` publishes them on ``tic/stats`` (pure: time
is an argument), and as ``pvopt web``'s meter view reads them back.

``tic/frame`` only carries the frames that had a valid group, each with its own rejected
groups: what the decoder threw away whole (a frame interrupted, oversized, or whose every
group failed its checksum) never reaches MQTT. Every :data:`INTERVAL_S` seconds teleinfo
publishes its counts since it started, and its own frame rate:

Payload (JSON, QoS 0, not retained)::

    time                when teleinfo counted (ISO-8601 with offset)
    mode                standard, historic (the mode being read)
    frames_accepted     frames with at least one valid group (published on tic/frame)
    frames_rejected     frames dropped whole: interrupted, oversized, every group bad
    groups_rejected     groups dropped (bad checksum or malformed), in all frames
    checksum_errors     of which: bad checksum
    malformed_groups    of which: malformed
    frames_per_minute   frames accepted in the last minute
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from pvopt.regulation.inputs import InputError, count_field, load_json, report_time

#: Seconds between two ``tic/stats`` messages.
INTERVAL_S: Final = 10.0
#: The window of the frame rate (s).
RATE_WINDOW_S: Final = 60.0
#: A count beyond this is not a decoder's.
MAX_COUNT: Final = 10**12
#: Frames remembered for the rate (a frame every ~1.2 s in standard mode: a minute's 50).
_KEPT: Final = 200


@dataclass(frozen=True, slots=True)
class TicCounts:
    """The decoder's counts since teleinfo started, and its frame rate."""

    mode: str
    frames_accepted: int
    frames_rejected: int
    groups_rejected: int
    checksum_errors: int
    malformed_groups: int
    frames_per_minute: int


@dataclass(frozen=True, slots=True)
class CountsReport:
    """Counts as received, and when teleinfo counted them."""

    time: datetime
    counts: TicCounts


class FrameRate:
    """Frames accepted in the last minute; times are monotonic seconds."""

    def __init__(self) -> None:
        self._times: deque[float] = deque(maxlen=_KEPT)

    def add(self, now: float) -> None:
        """A frame accepted at ``now``."""
        self._times.append(now)

    def per_minute(self, now: float) -> int:
        """Frames accepted in the :data:`RATE_WINDOW_S` up to ``now``."""
        since = now - RATE_WINDOW_S
        return sum(1 for t in self._times if since < t <= now)


def counts_document(counts: TicCounts, now: datetime) -> str:
    """The ``tic/stats`` payload (keys: the module's docstring)."""
    return json.dumps(
        {
            "time": now.isoformat(),
            "mode": counts.mode,
            "frames_accepted": counts.frames_accepted,
            "frames_rejected": counts.frames_rejected,
            "groups_rejected": counts.groups_rejected,
            "checksum_errors": counts.checksum_errors,
            "malformed_groups": counts.malformed_groups,
            "frames_per_minute": counts.frames_per_minute,
        },
        separators=(",", ":"),
    )


def parse_counts(topic: str, payload: bytes, received: datetime) -> CountsReport:
    """A :class:`CountsReport` from a :func:`counts_document` payload; anything else raises
    :class:`InputError`. A time after the arrival is taken as the arrival."""
    doc = load_json(topic, payload)
    if not isinstance(doc, dict):
        raise InputError(f"{topic}: expected a JSON object")
    mode = doc.get("mode")
    if mode not in ("standard", "historic"):
        raise InputError(f"{topic}: mode must be standard or historic")
    when = report_time(doc, topic, received)
    counts = TicCounts(
        mode=str(mode),
        frames_accepted=count_field(doc, "frames_accepted", topic, MAX_COUNT),
        frames_rejected=count_field(doc, "frames_rejected", topic, MAX_COUNT),
        groups_rejected=count_field(doc, "groups_rejected", topic, MAX_COUNT),
        checksum_errors=count_field(doc, "checksum_errors", topic, MAX_COUNT),
        malformed_groups=count_field(doc, "malformed_groups", topic, MAX_COUNT),
        frames_per_minute=count_field(doc, "frames_per_minute", topic, MAX_COUNT),
    )
    return CountsReport(time=when, counts=counts)
