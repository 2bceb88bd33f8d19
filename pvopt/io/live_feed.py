"""The live page's feed in ``pvopt web``: MQTT messages in, snapshots out to every stream.

The event loop's thread owns the :class:`~pvopt.web.live.Live` (it is not locked): the
MQTT network thread hands each message over with :meth:`LiveFeed.post_message` (which
uses ``loop.call_soon_threadsafe``, stamping the arrival time in the network thread), and
the broker's state with :meth:`LiveFeed.post_broker`. :meth:`LiveFeed.run` (a task)
pushes a snapshot to every open :class:`Stream` when :class:`~pvopt.web.push.PushSchedule`
says so: after a change (coalesced) or when a reading goes stale by itself. Each stream
keeps only the newest snapshot: a slow browser gets the latest, never a backlog.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from pvopt.web.live import Live
from pvopt.web.push import BrokerState, PushSchedule, live_document

_LOG = logging.getLogger(__name__)

#: Streams open at once at most (each browser tab holds one); more get 503.
MAX_STREAMS = 50
#: Snapshots pushed per second at most, to each stream.
PUSH_INTERVAL_S = 0.1
#: Wake a little after a reading's deadline, so the snapshot surely says it is stale.
EXPIRY_MARGIN_S = 0.005


def encode(document: dict[str, object]) -> str:
    """The compact JSON of a document (one line: an SSE ``data:`` field)."""
    return json.dumps(document, separators=(",", ":"), allow_nan=False)


class Stream:
    """One browser's stream: the newest snapshot not yet sent, and whether it ended."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self._data: str | None = None
        self.closed = False

    def put(self, data: str) -> None:
        """Replace the snapshot waiting to be sent."""
        self._data = data
        self._event.set()

    def close(self) -> None:
        """End the stream (shutdown): :meth:`get` returns at once."""
        self.closed = True
        self._event.set()

    async def get(self, timeout_s: float) -> str | None:
        """The next snapshot, or None after ``timeout_s`` (a heartbeat is due) or once
        closed."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), timeout_s)
        self._event.clear()
        if self.closed:
            return None
        data, self._data = self._data, None
        return data


class LiveFeed:
    """Owns the live state on the event loop's thread; fans snapshots out to streams."""

    def __init__(
        self,
        live: Live,
        *,
        max_streams: int = MAX_STREAMS,
        interval_s: float = PUSH_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.live = live
        self.max_streams = max_streams
        self.clock = clock
        self.wall = wall
        self.schedule = PushSchedule(interval_s)
        self.broker = BrokerState(False, live.started)
        self.streams: set[Stream] = set()
        self.pushes = 0
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    # -- in (the MQTT network thread posts; the loop's thread runs) ------------------------

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """The loop whose thread owns the state (call from it, before MQTT starts)."""
        self._loop = loop

    def _post(self, callback: Callable[..., None], *args: object) -> None:
        loop = self._loop
        if loop is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop has closed: shutting down
            loop.call_soon_threadsafe(callback, *args)

    def post_message(self, topic: str, payload: bytes) -> None:
        """From any thread: hand one MQTT message to the loop's thread."""
        self._post(self.message, topic, payload, self.wall())

    def post_broker(self, connected: bool) -> None:
        """From any thread: the broker took or lost the connection."""
        self._post(self.broker_state, connected, self.wall())

    def message(self, topic: str, payload: bytes, received: datetime) -> None:
        """Fold one message in (loop's thread)."""
        if self.live.update(topic, payload, received):
            self.schedule.changed()
            self._wake.set()

    def broker_state(self, connected: bool, when: datetime) -> None:
        """Note the broker's state (loop's thread); a change is pushed."""
        if connected != self.broker.connected:
            self.broker = BrokerState(connected, when)
            _LOG.debug("broker %s", "connected" if connected else "disconnected")
            self.schedule.changed()
            self._wake.set()

    # -- out ------------------------------------------------------------------------------

    def document(self) -> dict[str, object]:
        """The snapshot now, with the broker's state."""
        now = self.wall()
        return live_document(self.live.snapshot(now), self.broker, now)

    def open_stream(self) -> Stream | None:
        """A new stream holding the snapshot now, or None when :attr:`max_streams` are
        open (or the feed is closed)."""
        if self._closed or len(self.streams) >= self.max_streams:
            return None
        stream = Stream()
        stream.put(encode(self.document()))
        self.streams.add(stream)
        return stream

    def close_stream(self, stream: Stream) -> None:
        """Forget a stream (its request has ended)."""
        self.streams.discard(stream)

    def close(self) -> None:
        """End every stream and refuse new ones (shutdown)."""
        self._closed = True
        for stream in self.streams:
            stream.close()
        self._wake.set()

    def flush_log(self) -> None:
        """Close the live state's log windows (the daemon's tick)."""
        self.live.flush_log(self.wall())

    def _expiry(self, now: float, wall: datetime) -> float | None:
        expiry = self.live.next_expiry(wall)
        if expiry is None:
            return None
        return now + (expiry - wall).total_seconds() + EXPIRY_MARGIN_S

    def step(self) -> float | None:
        """Push if due; the seconds to sleep before the next step (None: until woken)."""
        now = self.clock()
        if self.schedule.take(now):
            self.pushes += 1
            if self.streams:
                data = encode(self.document())
                for stream in self.streams:
                    stream.put(data)
        self.schedule.expires_at(self._expiry(now, self.wall()))
        return self.schedule.wait_s(now)

    async def run(self) -> None:
        """Push snapshots until :meth:`close` (a task of the daemon)."""
        while not self._closed:
            try:
                wait_s = self.step()
            except Exception:  # a bug must not stop the page: logged, the loop goes on
                _LOG.exception("live feed: unexpected error")
                wait_s = 1.0
            self._wake.clear()
            with contextlib.suppress(TimeoutError):  # always yields, even when due at once
                await asyncio.wait_for(
                    self._wake.wait(), None if wait_s is None else max(wait_s, 0.001)
                )
