"""The live feed of pvopt web (pvopt/io/live_feed.py) on fake clocks: what reaches the
streams, when; no event loop runs (each step is called by hand)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from pvopt import topics
from pvopt.io.live_feed import LiveFeed, Stream
from pvopt.web.live import Live

T0 = datetime(2026, 6, 14, 10, 0, tzinfo=UTC)


class Clocks:
    def __init__(self) -> None:
        self.s = 0.0

    def mono(self) -> float:
        return self.s

    def wall(self) -> datetime:
        return T0 + timedelta(seconds=self.s)


def frame(va: int, when: datetime) -> bytes:
    doc = {
        "time": when.isoformat(),
        "mode": "standard",
        "values": {"SINSTS": va, "SINSTI": 0},
        "horodates": {},
        "rejected_groups": 0,
    }
    return json.dumps(doc).encode()


def feed_and_stream(max_streams: int = 50) -> tuple[LiveFeed, Clocks, Stream]:
    clocks = Clocks()
    feed = LiveFeed(Live(started=T0), max_streams=max_streams, clock=clocks.mono, wall=clocks.wall)
    feed.broker_state(True, T0)
    stream = feed.open_stream()
    assert stream is not None
    return feed, clocks, stream


def taken(stream: Stream) -> dict[str, object] | None:
    data, stream._data = stream._data, None  # what get() would hand over
    return None if data is None else json.loads(data)


def test_a_stream_opens_with_the_snapshot_and_the_broker_state() -> None:
    _, _, stream = feed_and_stream()
    first = taken(stream)
    assert first is not None and first["broker"]["state"] == "connected"  # type: ignore[index]


def test_changes_are_pushed_coalesced_and_the_newest_wins() -> None:
    feed, clocks, stream = feed_and_stream()
    taken(stream)
    feed.step()  # the broker's change, pushed
    taken(stream)
    clocks.s = 1.0
    feed.message(topics.FRAME, frame(100, clocks.wall()), clocks.wall())
    assert feed.step() is not None
    assert taken(stream)["grid"]["power_w"] == 100.0  # type: ignore[index]
    clocks.s = 1.02
    feed.message(topics.FRAME, frame(200, clocks.wall()), clocks.wall())
    clocks.s = 1.04
    feed.message(topics.FRAME, frame(300, clocks.wall()), clocks.wall())
    wait = feed.step()
    assert taken(stream) is None  # within 100 ms of the last push: held back
    assert wait is not None and abs(wait - 0.06) < 1e-6
    clocks.s = 1.1
    feed.step()
    assert taken(stream)["grid"]["power_w"] == 300.0  # type: ignore[index]


def test_an_unchanged_message_pushes_nothing() -> None:
    feed, clocks, stream = feed_and_stream()
    feed.step()
    clocks.s = 1.0
    feed.message(topics.TELEINFO_STATUS, b"online", clocks.wall())
    feed.step()
    taken(stream)
    clocks.s = 2.0
    feed.message(topics.TELEINFO_STATUS, b"online", clocks.wall())
    feed.step()
    assert taken(stream) is None


def test_a_reading_turning_stale_is_pushed_at_its_deadline_with_no_message() -> None:
    feed, clocks, stream = feed_and_stream()
    clocks.s = 5.0
    feed.message(topics.FRAME, frame(100, clocks.wall()), clocks.wall())
    feed.step()
    taken(stream)
    # no decision ever came: the regulation's silence turns stale 10 s after the start
    clocks.s = 6.0
    wait = feed.step()
    assert wait is not None and 3.99 < wait < 4.05
    clocks.s = 6.0 + wait
    wait = feed.step()
    pushed = taken(stream)
    assert pushed is not None and pushed["alerts"] == ["regulation_stale"]
    # then the meter's reading, 10 s after it came
    assert wait is not None and 4.95 < wait < 5.01
    clocks.s += wait
    assert taken(stream) is None
    feed.step()
    pushed = taken(stream)
    assert pushed is not None and pushed["alerts"] == ["meter_stale", "regulation_stale"]
    assert pushed["grid"]["stale"] is True  # type: ignore[index]
    assert feed.step() is None  # nothing left to turn stale, nothing pending


def test_the_broker_going_away_is_pushed_once() -> None:
    feed, clocks, stream = feed_and_stream()
    feed.step()
    taken(stream)
    clocks.s = 1.0
    feed.broker_state(False, clocks.wall())
    feed.broker_state(False, clocks.wall())  # every failed attempt says so again
    feed.step()
    pushed = taken(stream)
    assert pushed is not None and pushed["alerts"][0] == "broker_down"  # type: ignore[index]
    clocks.s = 2.0
    feed.step()
    assert taken(stream) is None


def test_streams_are_capped_and_closed_with_the_feed() -> None:
    feed, _, stream = feed_and_stream(max_streams=2)
    other = feed.open_stream()
    assert other is not None and feed.open_stream() is None
    feed.close_stream(other)
    assert feed.open_stream() is not None
    feed.close()
    assert stream.closed and feed.open_stream() is None
