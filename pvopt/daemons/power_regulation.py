"""``pvopt regulate``: the regulation daemon (docs/design.md §4–6).

Thin wiring around a :class:`~pvopt.regulation.policy.Policy` (pvopt's :class:`Regulator`). paho's
parses and queues messages; this module's main thread owns the regulator: one evaluation
per meter frame, a tick every 0.5 s for the stale-data timeout and command re-sends.

Hostile or broken input never stops it (README, "Bad input"): every message is parsed
and range-checked before it is queued, refusals are logged rate-limited
(:mod:`pvopt.logthrottle`). A frame is judged by its own time: after a pause the backlog
collapses to the newest frame, and a frame older than ``MAX_FRAME_AGE_S`` (or the stale
timeout) is not acted on. Any exit, an unexpected error included, sends every load to
0 / off before the availability topic says ``offline``.

MQTT in: ``tic/frame`` (SINSTS and SINSTI of one frame; ``tic/SINSTS`` + ``tic/SINSTI``
are paired as a fallback for a publisher without ``tic/frame``), ``scr/<id>/temperature``,
``scr/<id>/control``, ``regulation/control``, ``pvopt/teleinfo/status``, the optional PV
forecast ``regulation/forecast`` (shown in the status; the off-peak heating reads it), the
optional day-ahead EJP signal ``regulation/ejp`` (:mod:`pvopt.ejp`: the night before a
mobile peak is priced as dear), and
``regulation/reload`` (payload ``config``; SIGHUP does the same): ``equipment_config.yml``
read again and validated; invalid, the running configuration stays; valid, the loads are
rebuilt keeping their counters, modes and latches (:mod:`pvopt.regulation.reload`), the
removed ones switched off, and the regulation re-plans at once.
MQTT out: device commands (QoS 1, not retained unless configured), ``regulation/status``
JSON each evaluation, ``regulation/config`` (retained: the version it runs and the last
reload's result), ``pvopt/regulation/status`` online/offline, with ``HA_DISCOVERY``
the Home Assistant discovery configs (:mod:`pvopt.homeassistant`), and with
``FORECAST_OPENMETEO=on`` the Open-Meteo forecast (:mod:`pvopt.io.openmeteo`, retained).
InfluxDB: a ``regulation`` point per evaluation and an ``equipment`` point per load,
through the same writer and spool as teleinfo.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import queue
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pvopt import ejp, forecast, homeassistant, topics
from pvopt.config import Settings
from pvopt.daemons.wiring import announce_discovery, report_database, stop_on_signals
from pvopt.equipment.check import check_config_bytes, issue_document
from pvopt.equipment.loader import type_name
from pvopt.equipment.model import Contract, SiteConfig
from pvopt.io.systemd import Heartbeat, Notifier
from pvopt.logthrottle import Throttle
from pvopt.points import FieldValue, Point
from pvopt.regulation.core import Regulator
from pvopt.regulation.inputs import (
    Control,
    InputError,
    parse_availability,
    parse_regulation_control,
    parse_scr_control,
    parse_temperature,
    parse_va_payload,
    sample_from_frame,
)
from pvopt.regulation.model import Decision, MeterSample, MqttCommand
from pvopt.regulation.outputs import off_commands
from pvopt.regulation.policy import Policy
from pvopt.regulation.reload import ConfigState, config_document, reload
from pvopt.regulation.today import DayLedger, TodayTotals, today_document
from pvopt.schema import ConfigFileError, ConfigIssue

if TYPE_CHECKING:
    from pvopt.io.influx import InfluxWriter
    from pvopt.io.mqtt import MqttClient

_LOG = logging.getLogger(__name__)

TICK_S = 0.5
SAVE_EVERY_S = 60.0
#: Without tic/frame for this long, SINSTS/SINSTI topics are paired instead; after a
#: (re)connection they wait this long to learn whether tic/frame is published.
FRAME_TOPIC_GRACE_S = 10.0
#: A frame older than this when the regulation gets to it is not acted on: the process was
#: paused or fell behind (a newer frame is on its way), or the hosts' clocks disagree. A
#: frame normally arrives within milliseconds of its decoding.
MAX_FRAME_AGE_S = 3.0
#: A reading older than this in what was taken from the queue means a backlog is being
#: delivered (paho hands it over message by message): take until the queue stays empty
#: for BURST_GAP_S, so that only the newest frame of the whole backlog is acted on.
BACKLOG_AGE_S = 0.3
BURST_GAP_S = 0.02
#: Queued items handled per loop iteration at most (the watchdog keeps being pinged).
DRAIN_MAX = 10_000

Event = Callable[[datetime], Decision | None]
#: What the network thread queues: a meter reading, or an event for the regulator.
Item = MeterSample | Event


def status_document(
    decision: Decision,
    forecast_summary: dict[str, object] | None = None,
    today: TodayTotals | None = None,
    ejp_summary: dict[str, bool | None] | None = None,
) -> dict[str, object]:
    """The ``regulation/status`` JSON of one decision (``forecast``: the PV forecast's
    :func:`pvopt.forecast.summary`, ``null`` without one; ``today``: today's energy and
    money, :func:`pvopt.regulation.today.today_document`, ``null`` until known; ``ejp``:
    on an ``ejp`` contract, today and tomorrow as announced on ``regulation/ejp``,
    :func:`pvopt.ejp.summary`, else ``null``)."""
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
        "forecast": forecast_summary,
        "today": today_document(today),
        "ejp": ejp_summary,
    }


def decision_points(decision: Decision, today: TodayTotals | None = None) -> list[Point]:
    """The InfluxDB points of one decision (docs/design.md §5); with ``today``, today's
    counters as the ``regulation`` point's ``*_today_*`` fields (their last value of a
    local day is that day's total)."""
    fields: dict[str, FieldValue] = {
        "target_w": float(decision.target_w),
        "safe": decision.safe,
        "diverted_w": float(sum(o.power_w for o in decision.outputs)),
    }
    if today is not None:
        fields["imported_today_wh"] = float(today.imported_wh)
        fields["exported_today_wh"] = float(today.exported_wh)
        fields["diverted_today_wh"] = float(today.diverted_wh)
        fields["import_cost_today_eur"] = float(today.import_cost_eur)
        fields["saved_today_eur"] = float(today.saved_eur)
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


def check_finite(decision: Decision) -> None:
    """Raise if a number of ``decision`` is NaN or infinite: a bug, never sent (the daemon
    then sheds every load and exits, rather than send ``nan`` to a dimmer)."""
    numbers = [decision.target_w, decision.grid_w, decision.surplus_w]
    for o in decision.outputs:
        numbers += [o.power_w, o.energy_wh, o.percent, o.temperature_c]
    if not all(math.isfinite(n) for n in numbers if n is not None):
        raise ValueError(f"non-finite value in the decision of {decision.time}: {decision}")


def _category(reason: str) -> str:
    """The part of a reason that changes with the state, not with the numbers."""
    head = reason.split(":", maxsplit=1)[0]
    return "".join(c for c in head if not c.isdigit()).strip()


@dataclass
class _PendingSinsts:
    """A SINSTS waiting for the SINSTI of the same frame (fallback pairing)."""

    value_va: int
    at: float  # monotonic


@dataclass
class _Pairing:
    """Fallback for publishers without tic/frame: SINSTS then SINSTI of the same frame.

    Times are monotonic. Until ``FRAME_TOPIC_GRACE_S`` after each (re)connection the
    topics are ignored: teleinfo publishes SINSTS before tic/frame, so a SINSTS taken alone
    right after a broker restart would read an exporting house as importing nothing.
    """

    connected_at: float = 0.0
    pending: _PendingSinsts | None = None
    last_frame_topic: float = -1e9
    last_sinsti: float = -1e9


class RegulationDaemon:
    """Owns the regulator; MQTT callbacks hand it readings and events through a queue."""

    def __init__(
        self,
        site: SiteConfig,
        settings: Settings,
        mqtt: MqttClient | None,
        writer: InfluxWriter | None,
        dry_run: bool,
        config: ConfigState | None = None,
    ) -> None:
        self.site = site
        #: The file it runs and the last reload (None: not from a file, no reload).
        self.config = config
        #: Set by SIGHUP (a plain flag: a signal handler must not take the queue's lock).
        self.reload_requested = False
        self.settings = settings
        #: The newest valid PV forecast (main thread), for the status; the regulation
        #: has its own copy (``set_forecast``).
        self.forecast: forecast.PvForecast | None = None
        self._forecast_summary = forecast.SummaryCache()
        self.regulator: Policy = Regulator(site, settings.tz)
        self.mqtt = mqtt
        self.writer = writer
        self.dry_run = dry_run
        self.events: queue.Queue[Item] = queue.Queue(maxsize=10_000)
        self.counters_path = settings.state_dir / "regulation_counters.json"
        #: Today's grid energy and money (saved beside the counters).
        self.ledger = DayLedger(site, settings.tz, site.regulation.stale_timeout_s)
        self.today_path = settings.state_dir / "regulation_today.json"
        self.max_frame_age_s = min(MAX_FRAME_AGE_S, site.regulation.stale_timeout_s)
        self._pairing = _Pairing(connected_at=time.monotonic())
        self._last_reading: datetime | None = None  # the newest reading acted on
        self._refused = Throttle(_LOG, logging.WARNING)
        self._controls = Throttle(_LOG, logging.INFO)
        self._last_reasons: dict[str, str] = {}
        self._was_safe = False
        self._target_w = site.regulation.target_grid_w  # the last one logged
        self._last_status: Decision | None = None  # the last decision with a new status

    # -- MQTT side (network thread): parse, then queue ---------------------------------------

    def subscriptions(self) -> dict[str, Callable[[str, bytes], None]]:
        """Topic filters and their handlers."""
        return {
            topics.FRAME: self._on_frame,
            topics.SINSTS: self._on_sinsts,
            topics.SINSTI: self._on_sinsti,
            topics.SCR_TEMPERATURES: self._on_temperature,
            topics.SCR_CONTROLS: self._on_scr_control,
            topics.REGULATION_CONTROL: self._on_regulation_control,
            topics.TELEINFO_STATUS: self._on_teleinfo_status,
            topics.FORECAST: self._on_forecast,
            topics.EJP: self._on_ejp,
            topics.REGULATION_RELOAD: self._on_reload,
        }

    def connected(self) -> None:
        """Called on every (re)connection to the broker: SINSTS/SINSTI pairing starts over."""
        self._pairing = _Pairing(connected_at=time.monotonic())

    def _queue(self, item: Item) -> None:
        try:
            self.events.put_nowait(item)
        except queue.Full:
            self._refused.report("queue", "event queue full: message dropped", time.monotonic())

    def _guard(self, key: str, action: Callable[[], None]) -> None:
        """Run a handler; refused input is logged rate-limited per topic filter ``key``."""
        try:
            action()
        except InputError as exc:
            self._refused.report(key, f"ignored: {exc}", time.monotonic())
        except KeyError as exc:
            self._refused.report(
                key, f"ignored {key}: no equipment {exc} in the configuration", time.monotonic()
            )

    def _on_frame(self, topic: str, payload: bytes) -> None:
        def act() -> None:
            sample = sample_from_frame(payload, datetime.now(UTC))
            self._pairing.last_frame_topic = time.monotonic()
            self._queue(sample)

        self._guard(topics.FRAME, act)

    def _paired(self, now: float) -> bool:
        """True while tic/frame is the source (or may be: just connected)."""
        pairing = self._pairing
        recent = max(pairing.last_frame_topic, pairing.connected_at)
        return now - recent < FRAME_TOPIC_GRACE_S

    def _on_sinsts(self, topic: str, payload: bytes) -> None:
        def act() -> None:
            value = parse_va_payload(topic, payload)
            now = time.monotonic()
            if self._paired(now):
                return
            self._pairing.pending = _PendingSinsts(value, now)
            if now - self._pairing.last_sinsti > FRAME_TOPIC_GRACE_S:  # consumer meter
                self._queue(MeterSample(datetime.now(UTC), value, 0))

        self._guard(topics.SINSTS, act)

    def _on_sinsti(self, topic: str, payload: bytes) -> None:
        def act() -> None:
            value = parse_va_payload(topic, payload)
            now = time.monotonic()
            self._pairing.last_sinsti = now
            pending = self._pairing.pending
            if self._paired(now) or pending is None or now - pending.at > 1.0:
                return
            self._pairing.pending = None
            self._queue(MeterSample(datetime.now(UTC), pending.value_va, value))

        self._guard(topics.SINSTI, act)

    def _on_temperature(self, topic: str, payload: bytes) -> None:
        def act() -> None:
            load_id = topics.equipment_id(topic)
            celsius = parse_temperature(topic, payload)
            if not self.regulator.knows(load_id):
                raise KeyError(load_id)

            def event(now: datetime) -> None:
                self.regulator.set_temperature(load_id, celsius, now)

            self._queue(event)

        self._guard(topics.SCR_TEMPERATURES, act)

    def _on_scr_control(self, topic: str, payload: bytes) -> None:
        def act() -> None:
            load_id = topics.equipment_id(topic)
            control = parse_scr_control(topic, payload)
            if not self.regulator.knows(load_id):
                raise KeyError(load_id)
            text = payload.decode("ascii").strip()
            self._controls.report(topic, f"{topic}: {text}", time.monotonic())
            self._queue(lambda now: self._control(load_id, control, now))

        self._guard(topics.SCR_CONTROLS, act)

    def _on_regulation_control(self, topic: str, payload: bytes) -> None:
        def act() -> None:
            name, control = parse_regulation_control(payload)
            if not self.regulator.knows(name):
                raise KeyError(name)
            text = payload.decode("utf-8", "replace")[:200]
            self._controls.report(topic, f"{topic}: {text}", time.monotonic())
            self._queue(lambda now: self._control(name, control, now))

        self._guard(topic, act)

    def _control(self, key: str, control: Control, now: datetime) -> None:
        try:
            self.regulator.apply_control(key, control, now)
        except ValueError as exc:
            self._refused.report(
                f"control {key}", f"ignored control for {key}: {exc}", time.monotonic()
            )

    def _on_teleinfo_status(self, topic: str, payload: bytes) -> None:
        def act() -> None:
            online = parse_availability(topic, payload)
            self._queue(lambda now: self.regulator.set_teleinfo_online(online, now))

        self._guard(topic, act)

    def _on_forecast(self, topic: str, payload: bytes) -> None:
        def act() -> None:
            received = forecast.parse_forecast(payload, datetime.now(UTC))

            def event(now: datetime) -> None:
                self.forecast = received
                self.regulator.set_forecast(received, self.settings.forecast.max_age_s)

            _LOG.info(
                "PV forecast issued %s: %d slots", received.issued.isoformat(), len(received.slots)
            )
            self._queue(event)

        self._guard(topic, act)

    def _on_ejp(self, topic: str, payload: bytes) -> None:
        def act() -> None:
            announced = ejp.parse_ejp(payload)

            def event(now: datetime) -> None:
                self.regulator.set_ejp_day(announced, now)
                _LOG.info(
                    "EJP day %s: %s",
                    announced.day.isoformat(),
                    "mobile peak" if announced.ejp else "no mobile peak",
                )

            self._queue(event)

        self._guard(topic, act)

    def _on_reload(self, topic: str, payload: bytes) -> None:
        def act() -> None:
            if payload.strip() != b"config":
                raise InputError(f"{topic}: expected the payload 'config', got {payload[:40]!r}")
            _LOG.info("%s: reload of the configuration asked", topic)
            self._queue(self.reload)

        self._guard(topic, act)

    # -- reload (main thread) ---------------------------------------------------------------

    def publish_config(self) -> None:
        """The retained ``regulation/config``: what runs, and how the last reload went."""
        if self.config is None or self.mqtt is None:
            return
        kinds = {cfg.id: type_name(cfg) for cfg in self.config.site.equipment}
        document = json.dumps(config_document(self.config, kinds), allow_nan=False)
        self.mqtt.publish(topics.REGULATION_CONFIG, document, qos=1, retain=True)

    def reload(self, now: datetime) -> Decision | None:
        """Read and validate the file again: invalid, keep running the old configuration
        (errors logged and published); valid, carry each load's state over, switch the
        removed loads off, and re-plan at once (the decision returned)."""
        config = self.config
        if config is None:
            _LOG.warning("reload asked, but this regulation was not started from a file")
            return None
        hc = (self.settings.hc_start, self.settings.hc_end)
        try:
            checked = check_config_bytes(Path(config.path).read_bytes(), config.path, hc)
        except OSError as exc:
            reason = f"cannot read the file: {exc.strerror or exc}"
            self._refuse_reload(now, "", (ConfigIssue(None, "", reason),))
            return None
        site = checked.site
        if not isinstance(self.regulator, Regulator):
            reason = "this regulation policy cannot reload: restart it"
            self._refuse_reload(now, checked.version, (ConfigIssue(None, "", reason),))
            return None
        if site is None:
            self._refuse_reload(now, checked.version, checked.issues)
            return None
        try:
            reloaded = reload(self.regulator, site, now)
        except Exception:  # a bug: the regulation goes on as it was, never dies of it
            _LOG.exception("cannot rebuild the regulation from %s", config.path)
            reason = "internal error while rebuilding the loads (see the journal)"
            self._refuse_reload(now, checked.version, (ConfigIssue(None, "", reason),))
            return None
        self._send(reloaded.off_commands)
        self.regulator = reloaded.regulator
        self.site = site
        self.ledger.use_site(site)  # today's money at the new tariff from now on
        self.max_frame_age_s = min(MAX_FRAME_AGE_S, site.regulation.stale_timeout_s)
        self._last_reasons.clear()
        carried = reloaded.carried
        self.config = ConfigState(
            path=config.path,
            version=checked.version,
            loaded_at=now,
            site=site,
            result="loaded",
            attempted_at=now,
            attempted_version=checked.version,
            carried=carried,
        )
        _LOG.info(
            "configuration reloaded from %s: %d loads (kept %s; new %s; removed %s)",
            config.path,
            len(site.equipment),
            ", ".join(carried.kept) or "none",
            ", ".join(carried.fresh) or "none",
            ", ".join(carried.removed) or "none",
        )
        self.publish_config()
        sample = self.regulator.plant.sample
        return None if sample is None else self.regulator.evaluate(sample, now)

    def _refuse_reload(self, now: datetime, version: str, issues: tuple[ConfigIssue, ...]) -> None:
        """Keep running the configuration loaded before; say why (log, regulation/config)."""
        config = self.config
        assert config is not None
        _LOG.error(
            "reload refused, still running %s as loaded at %s:\n%s",
            config.path,
            config.loaded_at.isoformat(timespec="seconds"),
            ConfigFileError(config.path, issues),
        )
        self.config = dataclasses.replace(
            config,
            result="refused",
            attempted_at=now,
            attempted_version=version,
            errors=tuple(issue_document(issue) for issue in issues),
            carried=None,
        )
        self.publish_config()

    # -- main thread ----------------------------------------------------------------------

    def run(self, stop: threading.Event, heartbeat: Heartbeat | None = None) -> None:
        """Process readings, events and ticks until ``stop``; then, and on any error that
        escapes the loop, every load is sent to 0 / off (the error is then re-raised).

        ``heartbeat`` (systemd): READY once MQTT is connected, the watchdog pinged on every
        iteration of this loop (at least every TICK_S), so an evaluation or a publish that
        hangs stops the pings; STATUS on state changes; STOPPING when ``stop`` ends it.
        """
        hb = heartbeat or Heartbeat(Notifier(None))
        try:
            self._restore()
            self._loop(stop, hb)
        finally:
            hb.stopping("stopping: every load off")
            self.shed()

    def _loop(self, stop: threading.Event, hb: Heartbeat) -> None:
        next_tick = time.monotonic()
        next_save = time.monotonic() + SAVE_EVERY_S
        while not stop.is_set():
            if hb.enabled:
                up, state = self._service_state()
                hb.beat(up, state, self._service_detail)
            items = self._take(max(0.0, next_tick - time.monotonic()))
            mono = time.monotonic()
            if mono >= next_tick:  # first: after a pause, the stale data is shed before
                next_tick = mono + TICK_S  # anything new is acted on
                self._publish(self.regulator.tick(datetime.now(UTC)))
                self._refused.flush(mono)
                self._controls.flush(mono)
            self.handle(items, datetime.now(UTC))
            if self.reload_requested:  # SIGHUP
                self.reload_requested = False
                self._publish(self.reload(datetime.now(UTC)))
            if mono >= next_save:
                next_save = mono + SAVE_EVERY_S
                self._save()

    def _take(self, timeout_s: float) -> list[Item]:
        """Everything queued (at most DRAIN_MAX), waiting up to ``timeout_s`` for the first;
        while what was taken shows a backlog, the rest of the burst too."""
        wait_s = timeout_s
        items: list[Item] = []
        while len(items) < DRAIN_MAX:
            try:
                items.append(
                    self.events.get(timeout=wait_s) if wait_s else self.events.get_nowait()
                )
            except queue.Empty:
                if wait_s == BURST_GAP_S or not self._behind(items):
                    break
                wait_s = BURST_GAP_S
                continue
            wait_s = 0.0
        return items

    @staticmethod
    def _behind(items: list[Item]) -> bool:
        """True when the newest reading taken is old: a backlog is arriving."""
        times = [item.time for item in items if isinstance(item, MeterSample)]
        return bool(times) and (datetime.now(UTC) - max(times)).total_seconds() > BACKLOG_AGE_S

    def handle(self, items: list[Item], now: datetime) -> None:
        """Apply queued items: the events in order, then the newest reading alone (a backlog
        of frames collapses to the last one; the others are out of date)."""
        newest: MeterSample | None = None
        for item in items:
            if isinstance(item, MeterSample):
                if newest is None or item.time >= newest.time:
                    newest = item
            else:
                self._publish(item(now))
        if newest is not None:
            self._evaluate(newest, now)

    def _evaluate(self, sample: MeterSample, now: datetime) -> None:
        """Evaluate a reading unless it is older than one already used or too old to act on
        (the stale-data timeout then sheds the loads if nothing fresh comes)."""
        if self._last_reading is not None and self._last_reading > now:
            self._last_reading = None  # the clock was set back: order starts over
        if self._last_reading is not None and sample.time <= self._last_reading:
            return
        age_s = (now - sample.time).total_seconds()
        if age_s > self.max_frame_age_s:
            self._refused.report(
                "late frames",
                f"meter data {age_s:.1f} s old not acted on (more than "
                f"{self.max_frame_age_s:g} s: the regulation was paused or fell behind, or "
                "the clocks of teleinfo's and this host differ)",
                time.monotonic(),
            )
            return
        self._last_reading = sample.time
        decision = self.regulator.evaluate(sample, now)
        if decision.grid_w is not None and not decision.safe:
            loads_w = sum(o.power_w for o in decision.outputs)
            self.ledger.reading(decision.time, decision.grid_w, loads_w, sample.tariff)
        self._publish(decision)

    def shed(self) -> None:
        """Every load to 0 / off, and the counters saved: on every exit. When the regulator
        itself fails, the off commands come from the configuration alone."""
        try:
            self._publish(self.regulator.shutdown(datetime.now(UTC)))
        except Exception:
            _LOG.exception("cannot compute the stop decision: sending every load off as configured")
            self._send(off_commands(self.site))
        try:
            self._save()
        except Exception:
            _LOG.exception("cannot save the energy counters")

    def _service_state(self) -> tuple[bool, str]:
        """(up, the STATUS line's state) for systemd: up once the broker is connected."""
        if self.mqtt is not None and not self.mqtt.connected:
            return False, "waiting for the MQTT broker"
        last = self._last_status
        count = len(self.site.equipment)
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
        check_finite(decision)
        self._log_changes(decision)
        self._send(decision.commands)
        if decision.safe:
            self.ledger.gap()
        if decision.grid_w is None and not decision.safe:
            return  # a re-send only: no new status
        self._last_status = decision
        today = self.ledger.today(decision.time)
        if self.mqtt is not None:
            summary = self._forecast_summary.summary(
                self.forecast,
                decision.time,
                self.settings.tz,
                self.settings.forecast.max_age_s,
            )
            document = json.dumps(
                status_document(decision, summary, today, self._ejp_summary(decision.time)),
                allow_nan=False,
            )
            self.mqtt.publish(topics.DECISION, document)
        if self.writer is not None:
            for point in decision_points(decision, today):
                self.writer.write(point)

    def _ejp_summary(self, now: datetime) -> dict[str, bool | None] | None:
        """The status's ``ejp`` (an ``ejp`` contract only): what the regulation was told."""
        regulator = self.regulator
        if self.site.tariff.contract is not Contract.EJP or not isinstance(regulator, Regulator):
            return None
        return ejp.summary(regulator.prices.ejp_days, now, self.settings.tz)

    def _send(self, commands: tuple[MqttCommand, ...]) -> None:
        for command in commands:
            if self.dry_run:
                _LOG.info("dry run: would send %s to %s", command.payload, command.topic)
            elif self.mqtt is not None:
                self.mqtt.publish(command.topic, command.payload, command.qos, command.retain)

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
        if not decision.safe and decision.target_w != self._target_w:
            self._target_w = decision.target_w
            why = decision.reason or "as configured"
            _LOG.info("grid target %.0f W: %s", decision.target_w, why)
        for o in decision.outputs:
            category = _category(o.reason)
            if not decision.safe and self._last_reasons.get(o.name) != category:
                _LOG.info("%s: %s", o.name, o.reason)
            self._last_reasons[o.name] = category

    def _save(self) -> None:
        for path, data in (
            (self.counters_path, self.regulator.export_counters()),
            (self.today_path, self.ledger.export()),
        ):
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(".tmp")
                tmp.write_text(json.dumps(data))
                os.replace(tmp, path)
            except OSError as exc:
                _LOG.error("cannot save the energy counters to %s: %s", path, exc)

    @staticmethod
    def _read_saved(path: Path) -> object:
        """A saved JSON file, or None (missing, or unreadable: logged)."""
        try:
            return json.loads(path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError, RecursionError) as exc:
            _LOG.warning("ignoring unreadable counters %s: %s", path, exc)
            return None

    def _restore(self) -> None:
        now = datetime.now(UTC)
        data = self._read_saved(self.counters_path)
        if isinstance(data, dict):
            self.regulator.restore_counters(data, now)
            _LOG.info("energy counters restored from %s", self.counters_path)
        if self.ledger.restore(self._read_saved(self.today_path), now):
            _LOG.info("today's energy and money restored from %s", self.today_path)


def run(config_path: Path, settings: Settings, dry_run: bool) -> int:
    """Load the configuration, wire MQTT and InfluxDB, regulate until SIGTERM."""
    try:
        data = config_path.read_bytes()
    except OSError as exc:
        _LOG.error("%s: cannot read the file: %s", config_path, exc.strerror or exc)
        return 2
    checked = check_config_bytes(data, str(config_path), (settings.hc_start, settings.hc_end))
    site = checked.site
    if site is None:
        _LOG.error("%s", checked.report(str(config_path)))
        return 2
    started = datetime.now(UTC)
    config = ConfigState(
        path=str(config_path),
        version=checked.version,
        loaded_at=started,
        site=site,
        result="started",
        attempted_at=started,
        attempted_version=checked.version,
    )
    stop = threading.Event()
    stop_on_signals(stop)

    from pvopt.io.influx import InfluxWriter
    from pvopt.io.mqtt import MqttClient, client_id

    mqtt = MqttClient(settings.mqtt, client_id("regulation"), topics.REGULATION_STATUS)
    writer = InfluxWriter(settings.influx, settings.state_dir / "spool" / "regulation")
    daemon = RegulationDaemon(site, settings, mqtt, writer, dry_run, config)
    for topic, handler in daemon.subscriptions().items():
        mqtt.subscribe(topic, handler)
    mqtt.on_connected(daemon.connected)
    mqtt.on_connected(daemon.publish_config)  # retained, again after a broker restart

    def reload_on_hup(signum: int, frame: object) -> None:
        daemon.reload_requested = True

    signal.signal(signal.SIGHUP, reload_on_hup)
    announce_discovery(
        mqtt, settings, lambda prefix: homeassistant.regulation_messages(site, prefix)
    )
    _LOG.info(
        "regulating %d loads from %s%s",
        len(site.equipment),
        config_path,
        " (dry run: nothing is sent to equipment)" if dry_run else "",
    )
    mqtt.start()
    writer.start()
    report_database(writer, mqtt, topics.REGULATION_DATABASE, stop)
    openmeteo = settings.forecast.openmeteo
    if openmeteo is not None:
        from pvopt.io.openmeteo import OpenMeteoPublisher

        OpenMeteoPublisher(
            openmeteo,
            lambda document: mqtt.publish(topics.FORECAST, document, qos=1, retain=True),
            stop,
        ).start()
        _LOG.info(
            "Open-Meteo forecast every %g h from %s",
            openmeteo.interval_s / 3600,
            openmeteo.base_url,
        )
    code = 0
    try:
        daemon.run(stop, Heartbeat(Notifier.from_environ()))
    except Exception:
        _LOG.exception("unexpected error: every load was sent off; exiting")
        code = 1
    finally:
        _LOG.info("stopping")
        writer.close()
        mqtt.stop()
    return code
