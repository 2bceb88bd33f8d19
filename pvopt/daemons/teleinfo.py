"""``pvopt teleinfo``: Linky TIC frames from the serial port (or a capture) to MQTT and InfluxDB.

Thin wiring: the pure decoder and mode search from :mod:`pvopt.tic`, the adapters from
:mod:`pvopt.io`. The reader loop never waits on MQTT or InfluxDB: publishing is handed to
paho's network thread and points to the Influx writer's queue.

Outputs (docs/design.md §4–5):
- ``tic/<LABEL>``: every numeric label of every valid group, as a decimal integer, QoS 0.
  MQTT forbids ``+`` in a topic, so ``NJOURF+1`` is published as ``tic/NJOURF_PLUS_1``.
- ``tic/ERQT``: **derived**, ERQ1+ERQ2+ERQ3+ERQ4 (VArh), once per frame where all four
  were valid. Not a meter label.
- ``tic/frame``: the frame as JSON (the ``--dump`` shape).
- ``pvopt/teleinfo/status``: ``online`` / ``offline`` (retained, last will).
- ``tic/stats``: the decoder's counts since the start and its frame rate, every 10 s
  while reading the port (:mod:`pvopt.tic.counts`).
- ``pvopt/teleinfo/database``: the Influx writer's state (:mod:`pvopt.database_state`).
- With ``HA_DISCOVERY``: the meter's Home Assistant discovery configs (retained, on every
  connect and on HA's birth message; :mod:`pvopt.homeassistant`).
- InfluxDB measurement ``teleinfo``: one point per frame with a field per valid label
  (integers for numeric labels, strings for text), ``ERQT``, ``rejected_groups``, tag
  ``meter`` (ADSC or ADCO).
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from pvopt import homeassistant, topics
from pvopt.config import Settings
from pvopt.daemons.wiring import announce_discovery, report_database, stop_on_signals
from pvopt.io.systemd import Heartbeat, Notifier
from pvopt.points import FieldValue, Point
from pvopt.tic import Frame, FrameDecoder, Mode, detect_mode
from pvopt.tic.autodetect import LOST_AFTER_S, Event, ModeSearch
from pvopt.tic.counts import INTERVAL_S, FrameRate, TicCounts, counts_document
from pvopt.tic.decoder import DecoderStats
from pvopt.tic.labels import Kind, spec_for

if TYPE_CHECKING:
    from pvopt.io.influx import InfluxWriter
    from pvopt.io.mqtt import MqttClient
    from pvopt.io.serial_port import PortLost, TicPort

_LOG = logging.getLogger(__name__)

MEASUREMENT = "teleinfo"
REPLAY_CHUNK = 64 * 1024
REJECT_LOG_INTERVAL_S = 60.0
#: Longest wait without a watchdog ping (the port back-off is cut into such slices).
WAIT_SLICE_S = 1.0
#: The longest wait between two attempts to open an unavailable serial port.
MAX_OPEN_BACKOFF_S = 30.0


def mqtt_messages(frame: Frame) -> list[tuple[str, str]]:
    """The (topic, payload) pairs one frame produces, in frame order, ``tic/frame`` last."""
    table = frame.mode.labels
    messages = [
        (topics.label_topic(label), str(value))
        for label, value in frame.values.items()
        if isinstance(value, int) and spec_for(label, table).kind is Kind.INT
    ]
    erqt = frame.erqt
    if erqt is not None:
        messages.append((topics.ERQT, str(erqt)))
    messages.append((topics.FRAME, json.dumps(frame.to_json_dict(), separators=(",", ":"))))
    return messages


def frame_point(frame: Frame, meter_id: str | None, time_: datetime) -> Point:
    """The InfluxDB point of one frame (docs/design.md §5)."""
    fields: dict[str, FieldValue] = dict(frame.values)
    erqt = frame.erqt
    if erqt is not None:
        fields["ERQT"] = erqt
    fields["rejected_groups"] = frame.rejected_groups
    if frame.horodates:
        fields["clock_degraded"] = frame.clock_degraded
    return Point(MEASUREMENT, fields, time_, {"meter": meter_id} if meter_id else None)


class FrameSink:
    """Where decoded frames go: MQTT, InfluxDB, and/or JSON lines on ``dump``."""

    def __init__(
        self,
        mqtt: MqttClient | None,
        writer: InfluxWriter | None,
        dump: TextIO | None,
    ) -> None:
        self.mqtt = mqtt
        self.writer = writer
        self.dump = dump
        self.meter_id: str | None = None
        self._last_time: datetime | None = None
        self.frames = 0
        self.accepted = 0  # frames with a valid group (the others are not published)
        self.rate = FrameRate()

    def handle(self, frame: Frame) -> None:
        """Publish, store and/or print one frame."""
        self.frames += 1
        if self.dump is not None:
            self.dump.write(json.dumps(frame.to_json_dict()) + "\n")
        if not frame.values:
            return  # every group was rejected: nothing to publish or store
        self.accepted += 1
        self.rate.add(time.monotonic())
        self.meter_id = frame.meter_id or self.meter_id
        if self.mqtt is not None:
            for topic, payload in mqtt_messages(frame):
                self.mqtt.publish(topic, payload)
        if self.writer is not None:
            self.writer.write(frame_point(frame, self.meter_id, self._unique_time(frame.time)))

    def _unique_time(self, t: datetime) -> datetime:
        # Two frames decoded in the same microsecond (a replay) must not overwrite each
        # other in InfluxDB, where (series, time) is the key.
        if self._last_time is not None and t <= self._last_time:
            t = self._last_time + timedelta(microseconds=1)
        self._last_time = t
        return t


class RejectLog:
    """Logs decoder error counters at most once a minute, never per byte or group."""

    def __init__(self, now: float) -> None:
        self._next = now + REJECT_LOG_INTERVAL_S
        self._seen = (0, 0, 0, 0)

    def maybe_log(self, stats: DecoderStats, now: float, force: bool = False) -> None:
        """Log what changed since the last line, if a minute has passed (or ``force``)."""
        if now < self._next and not force:
            return
        self._next = now + REJECT_LOG_INTERVAL_S
        current = (
            stats.checksum_errors,
            stats.malformed_groups,
            stats.interrupted_frames,
            stats.oversized_frames,
        )
        delta = [c - s for c, s in zip(current, self._seen, strict=True)]
        self._seen = current
        if any(delta):
            _LOG.warning(
                "rejected %d groups (%d bad checksum, %d malformed); %d frames interrupted, "
                "%d oversized",
                delta[0] + delta[1],
                delta[0],
                delta[1],
                delta[2],
                delta[3],
            )


@dataclass(frozen=True)
class TeleinfoOptions:
    """Command-line options of ``pvopt teleinfo``."""

    port: str
    mode: str  # auto | standard | historic
    replay: Path | None = None
    dump: bool = False
    mqtt: bool = True
    influx: bool = True


def _fixed_mode(name: str) -> Mode | None:
    return None if name == "auto" else Mode(name)


def _wait(
    stop: threading.Event,
    seconds: float,
    hb: Heartbeat,
    state: str,
    detail: Callable[[], str],
) -> None:
    """Wait ``seconds`` (or until ``stop``), beating at least every WAIT_SLICE_S."""
    deadline = time.monotonic() + seconds
    while not stop.is_set():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        stop.wait(min(remaining, WAIT_SLICE_S))
        hb.beat(False, state, detail)


@dataclass
class _LiveReader:
    """The state :func:`run_live` carries from one iteration to the next.

    One object rather than a dozen locals so that each step of the loop (open the port,
    lose it, decode a read, follow the mode search) is a method of its own. ``port_state``
    and ``receiving`` remember what was last logged, so an outage or a recovery is logged
    once, not on every iteration; ``service_state`` is the systemd STATUS.
    """

    options: TeleinfoOptions
    sink: FrameSink
    stop: threading.Event
    hb: Heartbeat
    search: ModeSearch
    decoder: FrameDecoder
    rejects: RejectLog
    service_state: str
    port: TicPort | None = None
    backoff_s: float = 1.0
    port_state: str = ""  # "" | "unavailable" | "open" | "lost"
    receiving: bool = False
    next_counts: float = 0.0  # monotonic: when tic/stats is next due

    @classmethod
    def create(
        cls,
        options: TeleinfoOptions,
        sink: FrameSink,
        stop: threading.Event,
        heartbeat: Heartbeat | None,
    ) -> _LiveReader:
        """The state before the first iteration: no port yet, the mode search started."""
        hb = heartbeat or Heartbeat(Notifier(None))
        search = ModeSearch(_fixed_mode(options.mode), time.monotonic())
        decoder = FrameDecoder(search.mode)
        rejects = RejectLog(time.monotonic())
        return cls(options, sink, stop, hb, search, decoder, rejects, f"opening {options.port}")

    def detail(self) -> str:
        """The figures appended to the systemd STATUS (computed only when it is sent)."""
        stats = self.decoder.stats
        text = f"{self.sink.frames} frames, {stats.rejected_groups} groups rejected"
        if self.sink.mqtt is not None and not self.sink.mqtt.connected:
            text += ", MQTT broker unreachable"
        return text

    def run(self) -> None:
        """The loop: beat, (re)open the port if needed, read, decode; until ``stop``.

        The port is closed on the way out, whatever ends the loop.
        """
        from pvopt.io.serial_port import PortLost, TicPort

        try:
            while not self.stop.is_set():
                self.hb.beat(self.port is not None, self.service_state, self.detail)
                self._publish_counts(time.monotonic())
                if self.port is None:
                    try:
                        self.port = TicPort(self.options.port, self.search.mode)
                    except PortLost as exc:
                        self._port_unavailable(exc)
                        continue
                    self._port_opened()
                try:
                    chunk = self.port.read()
                except PortLost as exc:
                    self._port_lost(exc)
                    continue
                self._process(chunk)
            self.hb.stopping(f"stopping; {self.detail()}")
        finally:
            self._close_port()

    def counts(self, now: float) -> TicCounts:
        """The decoder's counts since the start, and the frame rate at ``now``."""
        stats = self.decoder.stats
        return TicCounts(
            mode=self.search.mode.value,
            frames_accepted=self.sink.accepted,
            frames_rejected=(
                self.sink.frames
                - self.sink.accepted
                + stats.interrupted_frames
                + stats.oversized_frames
            ),
            groups_rejected=stats.rejected_groups,
            checksum_errors=stats.checksum_errors,
            malformed_groups=stats.malformed_groups,
            frames_per_minute=self.sink.rate.per_minute(now),
        )

    def _publish_counts(self, now: float) -> None:
        """``tic/stats`` every INTERVAL_S (the first at once), when publishing to MQTT."""
        mqtt = self.sink.mqtt
        if mqtt is None or now < self.next_counts:
            return
        self.next_counts = now + INTERVAL_S
        mqtt.publish(topics.TIC_STATS, counts_document(self.counts(now), datetime.now(UTC)))

    def _port_unavailable(self, exc: PortLost) -> None:
        """The port cannot be opened: log it once per outage, wait with back-off (≤ 30 s)
        while still pinging the watchdog."""
        if self.port_state != "unavailable":
            _LOG.error("%s; retrying with back-off", exc)
            self.port_state = "unavailable"
        self.service_state = f"waiting for the serial port: {exc}"
        _wait(self.stop, self.backoff_s, self.hb, self.service_state, self.detail)
        self.backoff_s = min(self.backoff_s * 2, MAX_OPEN_BACKOFF_S)

    def _port_opened(self) -> None:
        """The port is open: log it, reset the back-off, and start afresh: the decoder drops
        any partial frame from before, the mode search gives this mode a full window."""
        search = self.search
        _LOG.info(
            "opened %s at %d bd 7E1 (%s mode%s)",
            self.options.port,
            search.mode.baudrate,
            search.mode.value,
            "" if search.fixed else ", searching",
        )
        self.port_state = "open"
        self.service_state = (
            f"reading {self.options.port} ({search.mode.value} mode"
            f"{'' if search.fixed else ', searching'}), waiting for valid frames"
        )
        self.backoff_s = 1.0
        self.decoder.reset()
        search.restart_window(time.monotonic())

    def _port_lost(self, exc: PortLost) -> None:
        """A read failed (device unplugged): close the port; the next iteration reopens."""
        _LOG.error("serial port lost: %s; reopening", exc)
        self.port_state = "lost"
        self.service_state = f"serial port lost ({exc}), reopening"
        self._close_port()

    def _close_port(self) -> None:
        """Close the port if open (on loss, on a mode switch, on the way out)."""
        if self.port is not None:
            self.port.close()
            self.port = None

    def _process(self, chunk: bytes) -> None:
        """Decode one read, tell the mode search how it went, and act on its verdict."""
        valid = self._decode(chunk)
        now = time.monotonic()
        if valid:
            self.service_state = (
                f"receiving {self.search.mode.value}-mode frames from {self.options.port}"
            )
        event = self.search.observe(valid, now)
        self._log_reception(event, valid)
        if event in (Event.SWITCH, Event.LOST) and self.search.fixed is None:
            self._switch_mode(now)
        self.rejects.maybe_log(self.decoder.stats, now)

    def _decode(self, chunk: bytes) -> int:
        """Hand the frames completed by ``chunk`` to the sink; returns how many valid groups
        it brought (what the mode search judges by)."""
        before = self.decoder.stats.valid_groups
        for frame in self.decoder.feed(chunk, datetime.now(UTC)):
            self.sink.handle(frame)
        return self.decoder.stats.valid_groups - before

    def _log_reception(self, event: Event | None, valid: int) -> None:
        """Log when valid frames start to come and when they stop for 10 s (then, in auto
        mode, the search tries the other mode); a steady state logs nothing."""
        search = self.search
        if event is Event.FOUND or (valid and not self.receiving):
            _LOG.info("receiving valid %s-mode frames", search.mode.value)
            self.receiving = True
        elif event is Event.LOST:
            self.receiving = False
            self.service_state = f"no valid frame for {LOST_AFTER_S:.0f} s on {self.options.port}"
            _LOG.warning(
                "no valid frame for %.0f s%s",
                LOST_AFTER_S,
                "" if search.fixed else f"; searching the mode again, trying {search.mode.value}",
            )

    def _switch_mode(self, now: float) -> None:
        """Auto mode: reopen the port at the other mode's speed (next iteration) with a
        decoder for it; the error counters carry over so the reject log spans modes."""
        _LOG.debug("trying %s mode", self.search.mode.value)
        self._close_port()
        self.rejects.maybe_log(self.decoder.stats, now)
        stats = self.decoder.stats
        self.decoder = FrameDecoder(self.search.mode)
        self.decoder.stats = stats  # counters span mode changes


def run_live(
    options: TeleinfoOptions,
    sink: FrameSink,
    stop: threading.Event,
    heartbeat: Heartbeat | None = None,
) -> None:
    """Read the serial port until ``stop``: reopen on loss, search the mode if auto.

    ``heartbeat`` (systemd): READY once the port is open, the watchdog pinged on every
    iteration of this loop (a read returns within 0.5 s; the back-off waits are sliced),
    STATUS on every state change, STOPPING when ``stop`` ends the loop.
    """
    _LiveReader.create(options, sink, stop, heartbeat).run()


def run_replay(path: Path, options: TeleinfoOptions, sink: FrameSink) -> int:
    """Decode a capture file at full speed; returns the exit code."""
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed below, streamed in chunks
    except OSError as exc:
        _LOG.error("cannot read %s: %s", path, exc)
        return 1
    with fh:
        chunk = fh.read(REPLAY_CHUNK)
        mode = _fixed_mode(options.mode) or detect_mode(chunk, datetime.now(UTC))
        if mode is None:
            _LOG.error(
                "%s: no valid TIC group in the first %d bytes in either mode "
                "(is it a raw capture of the port?)",
                path,
                len(chunk),
            )
            return 1
        decoder = FrameDecoder(mode)
        while chunk:
            for frame in decoder.feed(chunk, datetime.now(UTC)):
                sink.handle(frame)
            chunk = fh.read(REPLAY_CHUNK)
    stats = decoder.stats
    _LOG.info(
        "replayed %s (%s mode): %d frames, %d groups valid, %d rejected",
        path,
        mode.value,
        stats.frames,
        stats.valid_groups,
        stats.rejected_groups,
    )
    return 0


def run(options: TeleinfoOptions, settings: Settings) -> int:
    """Wire the outputs, run live or replay, shut down cleanly; returns the exit code."""
    stop = threading.Event()
    if options.replay is None:
        stop_on_signals(stop)
    mqtt_client: MqttClient | None = None
    writer: InfluxWriter | None = None
    if options.mqtt:
        from pvopt.io.mqtt import MqttClient, client_id

        mqtt_client = MqttClient(settings.mqtt, client_id("teleinfo"), topics.TELEINFO_STATUS)
        announce_discovery(
            mqtt_client, settings, lambda prefix: homeassistant.meter_messages(prefix, options.mode)
        )
        mqtt_client.start()
    if options.influx:
        from pvopt.io.influx import InfluxWriter

        writer = InfluxWriter(settings.influx, settings.state_dir / "spool" / "teleinfo")
        writer.start()
        if mqtt_client is not None and options.replay is None:
            report_database(writer, mqtt_client, topics.TELEINFO_DATABASE, stop)
    sink = FrameSink(mqtt_client, writer, sys.stdout if options.dump else None)
    code = 0
    try:
        if options.replay is not None:
            if mqtt_client is not None and not mqtt_client.wait_connected(5.0):
                _LOG.warning("MQTT broker not reachable: the replay publishes nothing")
            code = run_replay(options.replay, options, sink)
        else:
            run_live(options, sink, stop, Heartbeat(Notifier.from_environ()))
            _LOG.info("stopping")
    finally:
        if options.dump:
            sys.stdout.flush()
        if writer is not None:
            writer.close()
            if writer.pending_spool_points:
                _LOG.warning(
                    "%d points stay in the spool until InfluxDB is back",
                    writer.pending_spool_points,
                )
        if mqtt_client is not None:
            mqtt_client.stop()
    return code
