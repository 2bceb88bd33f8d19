"""``pvopt regulate``: the regulation daemon (DESIGN §4–6).

Thin wiring around :class:`pvopt.regulation.core.Regulator`. paho's network thread only
parses and queues messages; this module's main thread owns the regulator: one evaluation
per meter frame, a tick every 0.5 s for the stale-data timeout and command re-sends.

MQTT in: ``tic/frame`` (SINSTS and SINSTI of one frame; ``tic/SINSTS`` + ``tic/SINSTI``
are paired as a fallback for a publisher without ``tic/frame``), ``scr/<id>/temperature``,
``scr/<id>/control``, ``regulation/control``, ``pvopt/teleinfo/status``.
MQTT out: device commands (QoS 1, not retained unless configured), ``regulation/status``
JSON each evaluation, ``pvopt/regulation/status`` online/offline, and with ``HA_DISCOVERY``
the Home Assistant discovery configs (:mod:`pvopt.homeassistant`).
InfluxDB: a ``regulation`` point per evaluation and an ``equipment`` point per load,
through the same writer and spool as teleinfo.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from pvopt.config import Settings
from pvopt.equipment.model import SiteConfig
from pvopt.io.systemd import Heartbeat, Notifier
from pvopt.points import FieldValue, Point
from pvopt.regulation.core import Regulator
from pvopt.regulation.inputs import (
    Control,
    InputError,
    parse_int_payload,
    parse_regulation_control,
    parse_scr_control,
    parse_temperature,
    sample_from_frame,
)
from pvopt.regulation.model import Decision, MeterSample

if TYPE_CHECKING:
    from pvopt.io.influx import InfluxWriter
    from pvopt.io.mqtt import MqttClient

_LOG = logging.getLogger(__name__)

STATUS_TOPIC = "pvopt/regulation/status"
DECISION_TOPIC = "regulation/status"
TELEINFO_STATUS_TOPIC = "pvopt/teleinfo/status"
TICK_S = 0.5
SAVE_EVERY_S = 60.0
#: Without tic/frame for this long, SINSTS/SINSTI topics are paired instead.
FRAME_TOPIC_GRACE_S = 10.0

Event = Callable[[datetime], Decision | None]


def status_document(decision: Decision) -> dict[str, object]:
    """The ``regulation/status`` JSON of one decision."""
    return {
        "time": decision.time.isoformat(),
        "grid_power_w": decision.grid_w,
        "surplus_w": decision.surplus_w,
        "target_w": decision.target_w,
        "safe": decision.safe,
        "reason": decision.reason,
        "equipment": [
            {
                "name": o.name,
                "id": o.id,
                "power_w": o.power_w,
                "energy_wh": o.energy_wh,
                "mode": o.mode.value,
                "forced": o.forced,
                "state": "on" if o.on else "off",
                "percent": o.percent,
                "temperature_c": o.temperature_c,
                "reason": o.reason,
            }
            for o in decision.outputs
        ],
    }


def decision_points(decision: Decision) -> list[Point]:
    """The InfluxDB points of one decision (DESIGN §5)."""
    fields: dict[str, FieldValue] = {
        "target_w": float(decision.target_w),
        "safe": decision.safe,
        "diverted_w": float(sum(o.power_w for o in decision.outputs)),
    }
    if decision.grid_w is not None:
        fields["grid_power_w"] = float(decision.grid_w)
        fields["error_w"] = float(decision.grid_w - decision.target_w)
    if decision.surplus_w is not None:
        fields["surplus_w"] = float(decision.surplus_w)
    points = [Point("regulation", fields, decision.time)]
    for o in decision.outputs:
        eq: dict[str, FieldValue] = {
            "power_w": float(o.power_w),
            "energy_wh": float(o.energy_wh),
            "forced": o.forced,
            "mode": o.mode.value,
            "on": o.on,
            "reason": o.reason,
        }
        if o.temperature_c is not None:
            eq["temperature_c"] = float(o.temperature_c)
        points.append(Point("equipment", eq, decision.time, {"name": o.name}))
    return points


def _category(reason: str) -> str:
    """The part of a reason that changes with the state, not with the numbers."""
    head = reason.split(":", maxsplit=1)[0]
    return "".join(c for c in head if not c.isdigit()).strip()


@dataclass
class _Pairing:
    """Fallback for publishers without tic/frame: SINSTS then SINSTI of the same frame."""

    sinsts: tuple[int, float] | None = None  # value, monotonic time
    last_frame_topic: float = -1e9
    last_sinsti: float = -1e9


class RegulationDaemon:
    """Owns the regulator; MQTT callbacks hand it events through a queue."""

    def __init__(
        self,
        site: SiteConfig,
        settings: Settings,
        mqtt: MqttClient | None,
        writer: InfluxWriter | None,
        dry_run: bool,
    ) -> None:
        self.regulator = Regulator(site, settings.tz)
        self.mqtt = mqtt
        self.writer = writer
        self.dry_run = dry_run
        self.events: queue.Queue[Event] = queue.Queue(maxsize=10_000)
        self.counters_path = settings.state_dir / "regulation_counters.json"
        self._pairing = _Pairing()
        self._last_reasons: dict[str, str] = {}
        self._was_safe = False
        self._last_status: Decision | None = None  # the last decision with a new status

    # -- MQTT side (network thread): parse, then queue ---------------------------------------

    def subscriptions(self) -> dict[str, Callable[[str, bytes], None]]:
        """Topic filters and their handlers."""
        return {
            "tic/frame": self._on_frame,
            "tic/SINSTS": self._on_sinsts,
            "tic/SINSTI": self._on_sinsti,
            "scr/+/temperature": self._on_temperature,
            "scr/+/control": self._on_scr_control,
            "regulation/control": self._on_regulation_control,
            TELEINFO_STATUS_TOPIC: self._on_teleinfo_status,
        }

    def _queue(self, event: Event) -> None:
        try:
            self.events.put_nowait(event)
        except queue.Full:
            _LOG.error("event queue full: message dropped")

    def _guard(self, topic: str, action: Callable[[], None]) -> None:
        try:
            action()
        except InputError as exc:
            _LOG.warning("ignored: %s", exc)
        except KeyError as exc:
            _LOG.warning("ignored %s: no equipment %s in the configuration", topic, exc)

    def _on_frame(self, topic: str, payload: bytes) -> None:
        def act() -> None:
            sample = sample_from_frame(payload, datetime.now(UTC))
            self._pairing.last_frame_topic = time.monotonic()
            self._queue(lambda now: self.regulator.evaluate(sample, now))

        self._guard(topic, act)

    def _paired(self) -> bool:
        return time.monotonic() - self._pairing.last_frame_topic < FRAME_TOPIC_GRACE_S

    def _on_sinsts(self, topic: str, payload: bytes) -> None:
        def act() -> None:
            value = parse_int_payload(topic, payload)
            if self._paired():
                return
            now = time.monotonic()
            self._pairing.sinsts = (value, now)
            if now - self._pairing.last_sinsti > FRAME_TOPIC_GRACE_S:  # consumer meter
                sample = MeterSample(datetime.now(UTC), value, 0)
                self._queue(lambda t: self.regulator.evaluate(sample, t))

        self._guard(topic, act)

    def _on_sinsti(self, topic: str, payload: bytes) -> None:
        def act() -> None:
            value = parse_int_payload(topic, payload)
            now = time.monotonic()
            self._pairing.last_sinsti = now
            pending = self._pairing.sinsts
            if self._paired() or pending is None or now - pending[1] > 1.0:
                return
            self._pairing.sinsts = None
            sample = MeterSample(datetime.now(UTC), pending[0], value)
            self._queue(lambda t: self.regulator.evaluate(sample, t))

        self._guard(topic, act)

    def _on_temperature(self, topic: str, payload: bytes) -> None:
        def act() -> None:
            load_id = topic.split("/")[1]
            celsius = parse_temperature(topic, payload)
            if self.regulator.load(load_id) is None:
                raise KeyError(load_id)

            def event(now: datetime) -> None:
                self.regulator.set_temperature(load_id, celsius, now)

            self._queue(event)

        self._guard(topic, act)

    def _on_scr_control(self, topic: str, payload: bytes) -> None:
        def act() -> None:
            load_id = topic.split("/")[1]
            control = parse_scr_control(topic, payload)
            if self.regulator.load(load_id) is None:
                raise KeyError(load_id)
            _LOG.info("%s: %s", topic, payload.decode("ascii", "replace").strip())
            self._queue(lambda now: self._control(load_id, control, now))

        self._guard(topic, act)

    def _on_regulation_control(self, topic: str, payload: bytes) -> None:
        def act() -> None:
            name, control = parse_regulation_control(payload)
            if self.regulator.load(name) is None:
                raise KeyError(name)
            _LOG.info("regulation/control: %s", payload.decode("utf-8", "replace")[:200])
            self._queue(lambda now: self._control(name, control, now))

        self._guard(topic, act)

    def _control(self, key: str, control: Control, now: datetime) -> None:
        try:
            self.regulator.apply_control(key, control, now)
        except ValueError as exc:
            _LOG.warning("ignored control for %s: %s", key, exc)

    def _on_teleinfo_status(self, topic: str, payload: bytes) -> None:
        online = payload.strip() != b"offline"
        self._queue(lambda now: self.regulator.set_teleinfo_online(online, now))

    # -- main thread ----------------------------------------------------------------------

    def run(self, stop: threading.Event, heartbeat: Heartbeat | None = None) -> None:
        """Process events and ticks until ``stop``.

        ``heartbeat`` (systemd): READY once MQTT is connected, the watchdog pinged on every
        iteration of this loop (at least every TICK_S), so an evaluation or a publish that
        hangs stops the pings; STATUS on state changes; STOPPING when ``stop`` ends it.
        """
        hb = heartbeat or Heartbeat(Notifier(None))
        self._restore()
        next_tick = time.monotonic()
        next_save = time.monotonic() + SAVE_EVERY_S
        while not stop.is_set():
            if hb.enabled:
                up, state = self._service_state()
                hb.beat(up, state, self._service_detail)
            timeout = max(0.0, next_tick - time.monotonic())
            try:
                event = self.events.get(timeout=timeout)
            except queue.Empty:
                event = None
            now = datetime.now(UTC)
            if event is not None:
                self._publish(event(now))
            if time.monotonic() >= next_tick:
                next_tick = time.monotonic() + TICK_S
                self._publish(self.regulator.tick(now))
            if time.monotonic() >= next_save:
                next_save = time.monotonic() + SAVE_EVERY_S
                self._save()
        hb.stopping("stopping: every load off")
        self._publish(self.regulator.shutdown(datetime.now(UTC)))
        self._save()

    def _service_state(self) -> tuple[bool, str]:
        """(up, the STATUS line's state) for systemd: up once the broker is connected."""
        if self.mqtt is not None and not self.mqtt.connected:
            return False, "waiting for the MQTT broker"
        last = self._last_status
        count = len(self.regulator.loads)
        loads = f"{count} load{'' if count == 1 else 's'}"
        if last is not None and last.safe:
            state = f"every load off: {last.reason}"
        elif last is None or last.grid_w is None:
            state = f"regulating {loads}, waiting for meter data"
        else:
            state = f"regulating {loads}"
        return True, state + (" (dry run)" if self.dry_run else "")

    def _service_detail(self) -> str:
        """The STATUS line's figures: the last grid power and what is diverted."""
        last = self._last_status
        if last is None or last.grid_w is None:
            return "no grid power yet" if last is None else "no fresh grid power"
        diverted = sum(o.power_w for o in last.outputs)
        return f"grid {last.grid_w:.0f} W, diverting {diverted:.0f} W"

    def _publish(self, decision: Decision | None) -> None:
        if decision is None:
            return
        self._log_changes(decision)
        for command in decision.commands:
            if self.dry_run:
                _LOG.info("dry run: would send %s to %s", command.payload, command.topic)
            elif self.mqtt is not None:
                self.mqtt.publish(command.topic, command.payload, command.qos, command.retain)
        if decision.grid_w is None and not decision.safe:
            return  # a re-send only: no new status
        self._last_status = decision
        if self.mqtt is not None:
            self.mqtt.publish(DECISION_TOPIC, json.dumps(status_document(decision)))
        if self.writer is not None:
            for point in decision_points(decision):
                self.writer.write(point)

    def _log_changes(self, decision: Decision) -> None:
        if decision.safe != self._was_safe:
            self._was_safe = decision.safe
            if decision.safe:
                _LOG.warning("every load off: %s", decision.reason)
            else:
                _LOG.info("meter data back: regulating")
        if _LOG.isEnabledFor(logging.DEBUG) and decision.grid_w is not None:
            _LOG.debug(
                "grid %.0f W (target %.0f): %s",
                decision.grid_w,
                decision.target_w,
                ", ".join(f"{o.name} {o.power_w:.0f} W [{o.reason}]" for o in decision.outputs),
            )
        for o in decision.outputs:
            category = _category(o.reason)
            if not decision.safe and self._last_reasons.get(o.name) != category:
                _LOG.info("%s: %s", o.name, o.reason)
            self._last_reasons[o.name] = category

    def _save(self) -> None:
        try:
            self.counters_path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.counters_path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.regulator.export_counters()))
            os.replace(tmp, self.counters_path)
        except OSError as exc:
            _LOG.error("cannot save the energy counters to %s: %s", self.counters_path, exc)

    def _restore(self) -> None:
        try:
            data = json.loads(self.counters_path.read_text())
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            _LOG.warning("ignoring unreadable counters %s: %s", self.counters_path, exc)
            return
        if isinstance(data, dict):
            self.regulator.restore_counters(data, datetime.now(UTC))
            _LOG.info("energy counters restored from %s", self.counters_path)


def run(config_path: Path, settings: Settings, dry_run: bool) -> int:
    """Load the configuration, wire MQTT and InfluxDB, regulate until SIGTERM."""
    from pvopt.equipment.loader import ConfigFileError, load_site_config

    try:
        site = load_site_config(config_path, (settings.hc_start, settings.hc_end))
    except ConfigFileError as exc:
        _LOG.error("%s", exc)
        return 2
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    from pvopt.io.influx import InfluxWriter
    from pvopt.io.mqtt import MqttClient, client_id

    mqtt = MqttClient(settings.mqtt, client_id("regulation"), STATUS_TOPIC)
    writer = InfluxWriter(settings.influx, settings.state_dir / "spool" / "regulation")
    daemon = RegulationDaemon(site, settings, mqtt, writer, dry_run)
    for topic, handler in daemon.subscriptions().items():
        mqtt.subscribe(topic, handler)
    if settings.ha_discovery:
        from pvopt import homeassistant

        prefix = settings.ha_discovery_prefix
        announcements = homeassistant.regulation_messages(site, prefix)
        mqtt.announce(announcements, repeat_on=homeassistant.status_topic(prefix))
        _LOG.info("Home Assistant discovery: %d entities under %s/", len(announcements), prefix)
    _LOG.info(
        "regulating %d loads from %s%s",
        len(site.equipment),
        config_path,
        " (dry run: nothing is sent to equipment)" if dry_run else "",
    )
    mqtt.start()
    writer.start()
    try:
        daemon.run(stop, Heartbeat(Notifier.from_environ()))
    finally:
        _LOG.info("stopping")
        writer.close()
        mqtt.stop()
    return 0
