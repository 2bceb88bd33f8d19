"""The live page's state (pure), folded from what the daemons already publish on MQTT.

:class:`Live` takes every message of :data:`pvopt.topics.WEB_SUBSCRIPTIONS` with the time
it arrived and tells whether anything the page shows changed; :meth:`Live.snapshot` is
what the server sends (JSON, server-sent events). Nothing here reads a clock or opens a
socket. A malformed message (not JSON, wrong types, out of range, a probe of no known load)
is logged (rate-limited) and counted under its topic filter, and changes nothing: the
previous readings stay shown. Nothing raises out of :meth:`Live.update`. One thread owns a
:class:`Live` (the server hands it each message from the MQTT thread); it is not locked.

Stale is an error, never a zero: a reading older than its limit keeps its value and
time, and says ``"stale": true``. Meter and regulation data go stale after
``stale_after_s`` (10 s, the regulation's default ``stale_timeout``), probes after
``probe_stale_after_s`` (600 s, the default ``probe_timeout``), the PV forecast after
``forecast_max_age_s`` (24 h, ``FORECAST_MAX_AGE_H``). Data never received since the page
started count as stale once the limit has passed since the start.

Snapshot (stable keys; times ISO-8601 with offset, ages in seconds to 0.1; ``null`` where
nothing is known)::

    time            the server's now (ages are counted from it)
    alerts          codes for the banner, in this order when present: "meter_stale",
                    "teleinfo_offline", "regulation_offline", "regulation_stale",
                    "regulation_safe" (every load shed: inputs not trusted),
                    "database_down" (a daemon online finds InfluxDB unreachable)
    grid            null, or {power_w (SINSTS − SINSTI, the VA used as W as the regulation
                    does; positive = import, negative = export), import_va, export_va,
                    time (the frame's), age_s, stale}
    tariff          null, or {period (PTEC/LTARF decoded: BASE, HC, HP, HCJB … HPJR, HN,
                    PM), offpeak, colour_today, colour_tomorrow (BLUE, WHITE, RED or null),
                    ejp_peak, supplier_index, label (LTARF or PTEC as sent), contract
                    (NGTF or OPTARIF), ejp (null, or on an ejp contract what the
                    regulation was told on regulation/ejp, its last decision's
                    {today, tomorrow}: true EJP day, false ordinary day, null not
                    announced), time, age_s, stale}
    meter           null, or {mode (standard/historic), rejected_groups (last frame),
                    rejected_groups_total (since the page started), frames_last_minute,
                    time, age_s, stale}
    regulation      null, or the last decision: {grid_power_w, surplus_w (what would be
                    exported without the loads), target_w, safe, reason, reason_fr (the
                    reason in French, pvopt.web.reasons), diverted_w (sum of
                    the loads' power), loads_energy_today_wh (sum of their energy today,
                    surplus and grid alike), time, age_s, stale}
    today           null (not known yet, or a regulation that does not say), or today's
                    energy and money as the regulation counts them (its last decision;
                    pvopt.regulation.today): {day (local date), imported_today_wh,
                    exported_today_wh, diverted_today_wh, import_cost_today_eur,
                    saved_today_eur, time, age_s, stale}
    loads           in priority order: {name, id, power_w, energy_today_wh, mode (auto,
                    on, off, forced), forced, on, percent (dimmers, else null), reason (the
                    regulation's, English), reason_fr (in French: pvopt.web.reasons),
                    temperature (null, or {temperature_c, source ("probe":
                    scr/<id>/temperature, else "regulation": its status), time, age_s,
                    stale}), time, age_s, stale (the decision's)}
    pv              {forecast_power_w (the forecast's mean power of the slot holding now,
                    0 in a gap between slots; null without a fresh forecast covering
                    now), forecast_issued, forecast_age_s, forecast_stale,
                    forecast_energy_today_wh, forecast_energy_tomorrow_wh (the
                    regulation's summary in its last decision)}. No PV production is
                    measured or estimated by the daemons: this is the forecast only.
    daemons         {"teleinfo": …, "regulation": …}: {state (online, offline, unknown),
                    time (when the page heard it), age_s}
    database        {state (up: every daemon online that reported reaches it; down: one
                    does not; unknown: none has said), waiting_points (spool + memory,
                    all daemons), dropped_points, by_daemon: {"teleinfo": …,
                    "regulation": …}: null (never reported), or {state (up, down,
                    unknown: no write tried yet, or its daemon is offline and the
                    report is old), spool_points, memory_points, dropped_points, time
                    (when the daemon looked), age_s}} (pvopt.database_state)
    rejected        {total, by_topic: {topic filter: count}} malformed messages
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from pvopt import topics
from pvopt.database_state import DatabaseReport, parse_state
from pvopt.forecast import PvForecast, parse_forecast
from pvopt.logthrottle import Throttle
from pvopt.regulation.inputs import (
    LIMITS,
    InputError,
    frame_time,
    frame_values,
    is_number,
    load_json,
    parse_availability,
    parse_temperature,
    sample_from_document,
    within,
)
from pvopt.regulation.model import MeterSample, Mode
from pvopt.tic.counts import CountsReport, parse_counts
from pvopt.tic.tariff import MeterTariff, meter_tariff
from pvopt.web import reasons

_LOG = logging.getLogger(__name__)

#: A power in a status (W): a meter reads up to 99,999 VA, a surplus adds the loads.
POWER_W = (-200_000.0, 200_000.0)
#: A load's energy today (Wh).
ENERGY_WH = (0.0, 10_000_000.0)
PERCENT = (0.0, 100.0)
#: Loads in one status, and the probe ids remembered (a flood of topics stays bounded).
MAX_LOADS = 100
MAX_PROBES = 100
#: Today's money either way (€).
MONEY_EUR = (-1_000_000.0, 1_000_000.0)
#: Longest name or id, and reason, accepted from a status.
MAX_NAME = 100
MAX_REASON = 1000
#: Longest text label shown from a frame (the TIC's are at most 16 characters).
MAX_LABEL = 32
#: Frame arrivals remembered for the frame rate (a frame every 1 … 2 s: a minute's worth).
FRAME_WINDOW = timedelta(minutes=1)
_FRAMES_KEPT = 200


@dataclass(frozen=True, slots=True)
class LiveLimits:
    """When each kind of reading goes stale (s)."""

    stale_after_s: float = 10.0
    probe_stale_after_s: float = 600.0
    forecast_max_age_s: float = 24 * 3600.0


@dataclass(frozen=True, slots=True)
class FrameInfo:
    """What the last frame says besides the power: the tariff and the meter's health."""

    time: datetime
    mode: str | None
    tariff: MeterTariff
    label: str | None  # LTARF or PTEC as sent
    contract: str | None  # NGTF or OPTARIF
    rejected_groups: int | None


@dataclass(frozen=True, slots=True)
class FrameLabels:
    """The last frame's labels as sent (for the meter view, :mod:`pvopt.web.meter`; kept
    apart from :class:`FrameInfo` so that a new index value does not push the live view)."""

    time: datetime
    mode: str | None
    values: dict[str, object]
    horodates: dict[str, object]


@dataclass(frozen=True, slots=True)
class LoadStatus:
    """One load in a regulation decision."""

    name: str
    id: str
    power_w: float
    energy_today_wh: float
    mode: Mode
    forced: bool
    on: bool
    percent: float | None
    temperature_c: float | None
    reason: str


@dataclass(frozen=True, slots=True)
class ForecastSummary:
    """The regulation's view of the PV forecast, in its decision."""

    issued: datetime
    slots: int
    stale: bool
    energy_today_wh: float | None
    energy_tomorrow_wh: float | None


@dataclass(frozen=True, slots=True)
class TodayStatus:
    """Today's energy and money, as the regulation counts them (its ``today`` block)."""

    day: date
    imported_wh: float
    exported_wh: float
    diverted_wh: float
    import_cost_eur: float
    saved_eur: float


@dataclass(frozen=True, slots=True)
class EjpStatus:
    """What the regulation was told of today and tomorrow (its decision's ``ejp``)."""

    today: bool | None
    tomorrow: bool | None


@dataclass(frozen=True, slots=True)
class DecisionStatus:
    """The regulation's last decision (``regulation/status``)."""

    time: datetime
    grid_power_w: float | None
    surplus_w: float | None
    target_w: float
    safe: bool
    reason: str
    loads: tuple[LoadStatus, ...]
    forecast: ForecastSummary | None
    today: TodayStatus | None = None
    ejp: EjpStatus | None = None


@dataclass(frozen=True, slots=True)
class ProbeReading:
    """A probe's temperature (``scr/<id>/temperature``) and when it arrived."""

    time: datetime
    temperature_c: float


@dataclass(frozen=True, slots=True)
class Availability:
    """A daemon's ``online`` / ``offline`` and when the page heard it."""

    time: datetime
    online: bool


def _iso(when: datetime | None) -> str | None:
    return None if when is None else when.isoformat()


def _age(now: datetime, when: datetime) -> float:
    return round((now - when).total_seconds(), 1)


def _timed(now: datetime, when: datetime, limit_s: float) -> dict[str, object]:
    """``time``, ``age_s`` and ``stale`` of a reading."""
    return {"time": when.isoformat(), "age_s": _age(now, when), "stale": _older(now, when, limit_s)}


def _older(now: datetime, when: datetime, limit_s: float) -> bool:
    return (now - when).total_seconds() > limit_s


def _short_text(values: dict[str, object], *labels: str) -> str | None:
    for label in labels:
        value = values.get(label)
        if isinstance(value, str) and value.strip() and len(value) <= MAX_LABEL:
            return value.strip()
    return None


class Live:
    """The live page's state: :meth:`update` with every message, :meth:`snapshot` to show."""

    def __init__(self, started: datetime, limits: LiveLimits | None = None) -> None:
        self.started = started
        self.limits = limits or LiveLimits()
        self.grid: MeterSample | None = None
        self.frame: FrameInfo | None = None
        self.labels: FrameLabels | None = None
        self.decision: DecisionStatus | None = None
        self.forecast: PvForecast | None = None
        self.probes: dict[str, ProbeReading] = {}
        self.daemons: dict[str, Availability | None] = {"teleinfo": None, "regulation": None}
        self.databases: dict[str, DatabaseReport | None] = {"teleinfo": None, "regulation": None}
        #: teleinfo's decoder counts (``tic/stats``), for the meter view alone.
        self.tic_counts: CountsReport | None = None
        self.rejected: dict[str, int] = dict.fromkeys(topics.WEB_SUBSCRIPTIONS, 0)
        self.rejected_groups_total = 0
        self._arrivals: deque[datetime] = deque(maxlen=_FRAMES_KEPT)
        self._throttle = Throttle(_LOG)
        self._handlers: dict[str, Callable[[str, bytes, datetime], bool]] = {
            topics.FRAME: self._on_frame,
            topics.DECISION: self._on_decision,
            topics.FORECAST: self._on_forecast,
            topics.TELEINFO_STATUS: self._on_availability,
            topics.REGULATION_STATUS: self._on_availability,
            topics.TELEINFO_DATABASE: self._on_database,
            topics.REGULATION_DATABASE: self._on_database,
            topics.TIC_STATS: self._on_tic_counts,
        }

    # -- messages in ---------------------------------------------------------------------

    def update(self, topic: str, payload: bytes, now: datetime) -> bool:
        """Fold one message in; True when something the page shows changed (a new value
        or a stale reading made fresh, not a mere newer time). Never raises."""
        handler = self._handlers.get(topic)
        key = topic
        if handler is None and _is_probe_topic(topic):
            handler, key = self._on_probe, topics.SCR_TEMPERATURES
        if handler is None:
            return False  # not a topic of the page
        try:
            return handler(topic, payload, now)
        except InputError as exc:
            self._refuse(key, str(exc), now)
        except Exception:  # a bug must not stop the page: counted, logged with its trace
            self._refuse(
                key, f"{topic}: unexpected error on a {len(payload)}-byte payload", now, True
            )
        return False

    def _refuse(self, key: str, text: str, now: datetime, trace: bool = False) -> None:
        self.rejected[key] += 1
        self._throttle.report(key, f"ignored: {text}", now.timestamp(), exc_info=trace)

    def flush_log(self, now: datetime) -> None:
        """Close the log windows that have ended (the count of refusals since the first)."""
        self._throttle.flush(now.timestamp())

    def _on_frame(self, topic: str, payload: bytes, now: datetime) -> bool:
        doc = load_json(topic, payload)
        values = frame_values(doc)
        assert isinstance(doc, dict)  # frame_values checked it
        mode = doc.get("mode")
        if mode is not None and mode not in ("standard", "historic"):
            raise InputError(f"{topic}: mode must be standard or historic")
        rejected = doc.get("rejected_groups")
        if rejected is not None and not (
            isinstance(rejected, int) and not isinstance(rejected, bool) and 0 <= rejected < 10_000
        ):
            raise InputError(f"{topic}: rejected_groups must be a count")
        grid: MeterSample | None = None
        if any(label in values for label in ("SINSTS", "PAPP", "SINSTI")):
            grid = sample_from_document(doc, now)  # present but unusable: refused
        # else a frame whose power group was rejected: the tariff still counts, the power
        # stays as it was and goes stale
        time = frame_time(doc, now)
        frame = FrameInfo(
            time=time,
            mode=mode,
            tariff=meter_tariff(values),
            label=_short_text(values, "LTARF", "PTEC"),
            contract=_short_text(values, "NGTF", "OPTARIF"),
            rejected_groups=rejected,
        )
        limit = self.limits.stale_after_s
        changed = self._fresher(self.frame, frame, limit, now)
        if grid is not None:
            changed = self._fresher(self.grid, grid, limit, now) or changed
            self.grid = grid
        self.frame = frame
        horodates = doc.get("horodates")
        self.labels = FrameLabels(
            time, mode, values, horodates if isinstance(horodates, dict) else {}
        )
        self._arrivals.append(now)
        self.rejected_groups_total += rejected or 0
        return changed

    @staticmethod
    def _fresher(
        old: FrameInfo | MeterSample | DecisionStatus | ProbeReading | None,
        new: FrameInfo | MeterSample | DecisionStatus | ProbeReading,
        limit_s: float,
        now: datetime,
    ) -> bool:
        """A shown change: a first reading, another value, or a stale one made fresh."""
        if old is None or replace(old, time=new.time) != new:
            return True
        return _older(now, old.time, limit_s) != _older(now, new.time, limit_s)

    def _on_decision(self, topic: str, payload: bytes, now: datetime) -> bool:
        decision = parse_decision(load_json(topic, payload), now)
        changed = self._fresher(self.decision, decision, self.limits.stale_after_s, now)
        self.decision = decision
        return changed

    def _on_forecast(self, topic: str, payload: bytes, now: datetime) -> bool:
        if not payload:  # the retained forecast was cleared
            changed = self.forecast is not None
            self.forecast = None
            return changed
        forecast = parse_forecast(payload, now)
        changed = forecast != self.forecast
        self.forecast = forecast
        return changed

    def _on_probe(self, topic: str, payload: bytes, now: datetime) -> bool:
        load_id = topics.equipment_id(topic)
        celsius = parse_temperature(topic, payload)
        decision = self.decision
        if decision is not None and all(load.id != load_id for load in decision.loads):
            raise InputError(f"{topic}: no load has the id {load_id[:MAX_NAME]!r}")
        if load_id not in self.probes and len(self.probes) >= MAX_PROBES:
            raise InputError(f"{topic}: more than {MAX_PROBES} probes")
        reading = ProbeReading(time=now, temperature_c=celsius)
        old = self.probes.get(load_id)
        self.probes[load_id] = reading
        return self._fresher(old, reading, self.limits.probe_stale_after_s, now)

    def _on_availability(self, topic: str, payload: bytes, now: datetime) -> bool:
        daemon = "teleinfo" if topic == topics.TELEINFO_STATUS else "regulation"
        old = self.daemons[daemon]
        if not payload:  # the retained status was cleared
            self.daemons[daemon] = None
            return old is not None
        online = parse_availability(topic, payload)
        self.daemons[daemon] = Availability(time=now, online=online)
        return old is None or old.online != online

    def _on_tic_counts(self, topic: str, payload: bytes, now: datetime) -> bool:
        """Kept for the meter view (:mod:`pvopt.web.meter`), which the page asks for:
        nothing the live snapshot shows changes."""
        self.tic_counts = parse_counts(topic, payload, now)
        return False

    def _on_database(self, topic: str, payload: bytes, now: datetime) -> bool:
        daemon = "teleinfo" if topic == topics.TELEINFO_DATABASE else "regulation"
        old = self.databases[daemon]
        if not payload:  # the retained state was cleared
            self.databases[daemon] = None
            return old is not None
        report = parse_state(topic, payload, now)
        self.databases[daemon] = report
        return old is None or old.state != report.state

    # -- the page ------------------------------------------------------------------------

    def snapshot(self, now: datetime) -> dict[str, object]:
        """What the page shows at ``now`` (keys: the module's docstring)."""
        return {
            "time": now.isoformat(),
            "alerts": self.alerts(now),
            "grid": self._grid(now),
            "tariff": self._tariff(now),
            "meter": self._meter(now),
            "regulation": self._regulation(now),
            "today": self._today(now),
            "loads": self._loads(now),
            "pv": self._pv(now),
            "daemons": {
                name: {
                    "state": "unknown" if a is None else "online" if a.online else "offline",
                    "time": None if a is None else a.time.isoformat(),
                    "age_s": None if a is None else _age(now, a.time),
                }
                for name, a in self.daemons.items()
            },
            "database": self._database(now),
            "rejected": {"total": sum(self.rejected.values()), "by_topic": dict(self.rejected)},
        }

    def alerts(self, now: datetime) -> list[str]:
        """The banner's codes (the module's docstring), in a fixed order."""
        limit = self.limits.stale_after_s
        grid = self.grid
        decision = self.decision
        teleinfo, regulation = self.daemons["teleinfo"], self.daemons["regulation"]
        found = {
            "meter_stale": _older(now, self.started if grid is None else grid.time, limit),
            "teleinfo_offline": teleinfo is not None and not teleinfo.online,
            "regulation_offline": regulation is not None and not regulation.online,
            "regulation_stale": _older(
                now, self.started if decision is None else decision.time, limit
            ),
            "regulation_safe": decision is not None and decision.safe,
            "database_down": any(state == "down" for state, _ in self._database_states().values()),
        }
        return [code for code, present in found.items() if present]

    def next_expiry(self, now: datetime) -> datetime | None:
        """The next instant after ``now`` when a fresh reading goes stale (the server pushes
        a snapshot then, as no message will say so), or None."""
        limits = self.limits
        deadlines = [
            (self.started if self.grid is None else self.grid.time)
            + timedelta(seconds=limits.stale_after_s),
            (self.started if self.decision is None else self.decision.time)
            + timedelta(seconds=limits.stale_after_s),
            *(p.time + timedelta(seconds=limits.probe_stale_after_s) for p in self.probes.values()),
        ]
        if self.forecast is not None:
            deadlines.append(self.forecast.issued + timedelta(seconds=limits.forecast_max_age_s))
        # "stale" is strictly older than the limit: it shows just after the deadline
        upcoming = [d for d in deadlines if d >= now]
        return min(upcoming) + timedelta(microseconds=1) if upcoming else None

    def _database_states(self) -> dict[str, tuple[str, DatabaseReport]]:
        """Each daemon's report and what it says now: up, down, or unknown (no write
        tried yet, or the daemon is offline: its retained report is old news)."""
        states: dict[str, tuple[str, DatabaseReport]] = {}
        for name, report in self.databases.items():
            if report is None:
                continue
            availability = self.daemons[name]
            reachable = report.state.reachable
            if (availability is not None and not availability.online) or reachable is None:
                states[name] = ("unknown", report)
            else:
                states[name] = ("up" if reachable else "down", report)
        return states

    def _database(self, now: datetime) -> dict[str, object]:
        states = self._database_states()
        said = {state for state, _ in states.values()}
        overall = "down" if "down" in said else "up" if "up" in said else "unknown"
        by_daemon: dict[str, object] = dict.fromkeys(self.databases)
        for name, (state, report) in states.items():
            by_daemon[name] = {
                "state": state,
                "spool_points": report.state.spool_points,
                "memory_points": report.state.memory_points,
                "dropped_points": report.state.dropped_points,
                "time": report.time.isoformat(),
                "age_s": _age(now, report.time),
            }
        return {
            "state": overall,
            "waiting_points": sum(r.state.waiting_points for _, r in states.values()),
            "dropped_points": sum(r.state.dropped_points for _, r in states.values()),
            "by_daemon": by_daemon,
        }

    def _grid(self, now: datetime) -> dict[str, object] | None:
        grid = self.grid
        if grid is None:
            return None
        return {
            "power_w": grid.grid_w,
            "import_va": grid.import_va,
            "export_va": grid.export_va,
            **_timed(now, grid.time, self.limits.stale_after_s),
        }

    def _tariff(self, now: datetime) -> dict[str, object] | None:
        frame = self.frame
        if frame is None:
            return None
        tariff = frame.tariff
        return {
            "period": tariff.period,
            "offpeak": tariff.offpeak,
            "colour_today": None if tariff.colour_today is None else tariff.colour_today.value,
            "colour_tomorrow": (
                None if tariff.colour_tomorrow is None else tariff.colour_tomorrow.value
            ),
            "ejp_peak": tariff.ejp_peak,
            "supplier_index": tariff.supplier_index,
            "label": frame.label,
            "contract": frame.contract,
            "ejp": self._ejp(),
            **_timed(now, frame.time, self.limits.stale_after_s),
        }

    def _ejp(self) -> dict[str, bool | None] | None:
        decision = self.decision
        said = None if decision is None else decision.ejp
        return None if said is None else {"today": said.today, "tomorrow": said.tomorrow}

    def frames_last_minute(self, now: datetime) -> int:
        """Frames received in the minute up to ``now``."""
        since = now - FRAME_WINDOW
        return sum(1 for t in self._arrivals if since < t <= now)

    def _meter(self, now: datetime) -> dict[str, object] | None:
        frame = self.frame
        if frame is None:
            return None
        return {
            "mode": frame.mode,
            "rejected_groups": frame.rejected_groups,
            "rejected_groups_total": self.rejected_groups_total,
            "frames_last_minute": self.frames_last_minute(now),
            **_timed(now, frame.time, self.limits.stale_after_s),
        }

    def _regulation(self, now: datetime) -> dict[str, object] | None:
        d = self.decision
        if d is None:
            return None
        return {
            "grid_power_w": d.grid_power_w,
            "surplus_w": d.surplus_w,
            "target_w": d.target_w,
            "safe": d.safe,
            "reason": d.reason,
            "reason_fr": reasons.french(d.reason),
            "diverted_w": round(sum(load.power_w for load in d.loads), 1),
            "loads_energy_today_wh": round(sum(load.energy_today_wh for load in d.loads), 1),
            **_timed(now, d.time, self.limits.stale_after_s),
        }

    def _today(self, now: datetime) -> dict[str, object] | None:
        d = self.decision
        today = None if d is None else d.today
        if d is None or today is None:
            return None
        return {
            "day": today.day.isoformat(),
            "imported_today_wh": today.imported_wh,
            "exported_today_wh": today.exported_wh,
            "diverted_today_wh": today.diverted_wh,
            "import_cost_today_eur": today.import_cost_eur,
            "saved_today_eur": today.saved_eur,
            **_timed(now, d.time, self.limits.stale_after_s),
        }

    def _loads(self, now: datetime) -> list[dict[str, object]]:
        d = self.decision
        if d is None:
            return []
        timed = _timed(now, d.time, self.limits.stale_after_s)
        return [
            {
                "name": load.name,
                "id": load.id,
                "power_w": load.power_w,
                "energy_today_wh": load.energy_today_wh,
                "mode": load.mode.value,
                "forced": load.forced,
                "on": load.on,
                "percent": load.percent,
                "reason": load.reason,
                "reason_fr": reasons.french(load.reason),
                "temperature": self._temperature(load, d.time, now),
                **timed,
            }
            for load in d.loads
        ]

    def _temperature(self, load: LoadStatus, decided: datetime, now: datetime) -> object:
        probe = self.probes.get(load.id)
        limit = self.limits.probe_stale_after_s
        if probe is not None:
            celsius, source, when = probe.temperature_c, "probe", probe.time
        elif load.temperature_c is not None:
            celsius, source, when = load.temperature_c, "regulation", decided
        else:
            return None
        return {"temperature_c": celsius, "source": source, **_timed(now, when, limit)}

    def _pv(self, now: datetime) -> dict[str, object]:
        forecast = self.forecast
        summary = self.decision.forecast if self.decision is not None else None
        issued = forecast.issued if forecast is not None else None
        stale = None if forecast is None else forecast.stale(now, self.limits.forecast_max_age_s)
        return {
            "forecast_power_w": (None if forecast is None or stale else forecast.power_w(now)),
            "forecast_issued": _iso(issued),
            "forecast_age_s": None if issued is None else _age(now, issued),
            "forecast_stale": stale,
            "forecast_energy_today_wh": None if summary is None else summary.energy_today_wh,
            "forecast_energy_tomorrow_wh": (
                None if summary is None else summary.energy_tomorrow_wh
            ),
        }


def _is_probe_topic(topic: str) -> bool:
    parts = topic.split("/")
    return len(parts) == 3 and parts[0] == "scr" and parts[2] == "temperature" and bool(parts[1])


# -- regulation/status ---------------------------------------------------------------------

_WHERE = topics.DECISION


def _field(doc: dict[str, object], key: str, where: str) -> object:
    if key not in doc:
        raise InputError(f"{_WHERE}: {where}{key} is missing")
    return doc[key]


def _number(
    doc: dict[str, object], key: str, bounds: tuple[float, float], where: str = ""
) -> float:
    value = _field(doc, key, where)
    if not is_number(value) or not within(value, bounds):
        low, high = bounds
        raise InputError(f"{_WHERE}: {where}{key} must be a number from {low:g} to {high:g}")
    return float(value)


def _optional_number(
    doc: dict[str, object], key: str, bounds: tuple[float, float], where: str = ""
) -> float | None:
    return None if _field(doc, key, where) is None else _number(doc, key, bounds, where)


def _text(doc: dict[str, object], key: str, longest: int, where: str = "") -> str:
    value = _field(doc, key, where)
    if not isinstance(value, str) or len(value) > longest:
        raise InputError(f"{_WHERE}: {where}{key} must be a text of at most {longest} characters")
    return value


def _flag(doc: dict[str, object], key: str, where: str = "") -> bool:
    value = _field(doc, key, where)
    if not isinstance(value, bool):
        raise InputError(f"{_WHERE}: {where}{key} must be true or false")
    return value


def _instant(doc: dict[str, object], key: str, where: str = "") -> datetime:
    value = _field(doc, key, where)
    try:
        when = (
            datetime.fromisoformat(value) if isinstance(value, str) and len(value) <= 40 else None
        )
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise InputError(f"{_WHERE}: {where}{key} must be an ISO-8601 time with its offset")
    return when


_MODES = {m.value: m for m in Mode}


def _load(item: object, n: int) -> LoadStatus:
    where = f"equipment[{n}]."
    if not isinstance(item, dict):
        raise InputError(f"{_WHERE}: {where[:-1]} must be an object")
    mode = _MODES.get(_text(item, "mode", 20, where))
    if mode is None:
        raise InputError(f"{_WHERE}: {where}mode must be one of {', '.join(_MODES)}")
    state = _text(item, "state", 3, where)
    if state not in ("on", "off"):
        raise InputError(f"{_WHERE}: {where}state must be on or off")
    return LoadStatus(
        name=_text(item, "name", MAX_NAME, where),
        id=_text(item, "id", MAX_NAME, where),
        power_w=_number(item, "power_w", POWER_W, where),
        energy_today_wh=_number(item, "energy_wh", ENERGY_WH, where),
        mode=mode,
        forced=_flag(item, "forced", where),
        on=state == "on",
        percent=_optional_number(item, "percent", PERCENT, where),
        temperature_c=_optional_number(item, "temperature_c", LIMITS.probe_c, where),
        reason=_text(item, "reason", MAX_REASON, where),
    )


def _forecast_summary(value: object) -> ForecastSummary | None:
    if value is None:
        return None
    where = "forecast."
    if not isinstance(value, dict):
        raise InputError(f"{_WHERE}: forecast must be an object or null")
    return ForecastSummary(
        issued=_instant(value, "issued", where),
        slots=int(_number(value, "slots", (0, 100_000), where)),
        stale=_flag(value, "stale", where),
        energy_today_wh=_optional_number(value, "energy_today_wh", ENERGY_WH, where),
        energy_tomorrow_wh=_optional_number(value, "energy_tomorrow_wh", ENERGY_WH, where),
    )


def _today_status(value: object) -> TodayStatus | None:
    if value is None:
        return None
    where = "today."
    if not isinstance(value, dict):
        raise InputError(f"{_WHERE}: today must be an object or null")
    day_text = _field(value, "day", where)
    try:
        day = (
            date.fromisoformat(day_text)
            if isinstance(day_text, str) and len(day_text) <= 10
            else None
        )
    except ValueError:
        day = None
    if day is None:
        raise InputError(f"{_WHERE}: today.day must be a date (YYYY-MM-DD)")
    return TodayStatus(
        day=day,
        imported_wh=_number(value, "imported_today_wh", ENERGY_WH, where),
        exported_wh=_number(value, "exported_today_wh", ENERGY_WH, where),
        diverted_wh=_number(value, "diverted_today_wh", ENERGY_WH, where),
        import_cost_eur=_number(value, "import_cost_today_eur", MONEY_EUR, where),
        saved_eur=_number(value, "saved_today_eur", MONEY_EUR, where),
    )


def parse_decision(doc: object, received: datetime) -> DecisionStatus:
    """A :class:`DecisionStatus` from a parsed ``regulation/status`` document (the shape of
    :func:`pvopt.daemons.power_regulation.status_document`); anything missing, of the wrong
    type or out of range raises :class:`InputError`. A time later than the arrival (clocks
    that disagree) is taken as the arrival, so a decision cannot stay fresh longer."""
    if not isinstance(doc, dict):
        raise InputError(f"{_WHERE}: expected a JSON object")
    items = _field(doc, "equipment", "")
    if not isinstance(items, list) or len(items) > MAX_LOADS:
        raise InputError(f"{_WHERE}: equipment must be a list of at most {MAX_LOADS} loads")
    loads = tuple(_load(item, n) for n, item in enumerate(items))
    return DecisionStatus(
        time=min(_instant(doc, "time"), received),
        grid_power_w=_optional_number(doc, "grid_power_w", POWER_W),
        surplus_w=_optional_number(doc, "surplus_w", POWER_W),
        target_w=_number(doc, "target_w", POWER_W),
        safe=_flag(doc, "safe"),
        reason=_text(doc, "reason", MAX_REASON),
        loads=loads,
        forecast=_forecast_summary(doc.get("forecast")),
        today=_today_status(doc.get("today")),
        ejp=_ejp_status(doc.get("ejp")),
    )


def _ejp_status(value: object) -> EjpStatus | None:
    if value is None:  # not an ejp contract, or a regulation that does not say
        return None
    if not isinstance(value, dict):
        raise InputError(f"{_WHERE}: ejp must be an object or null")

    def day(key: str) -> bool | None:
        said = value.get(key)
        if said is not None and not isinstance(said, bool):
            raise InputError(f"{_WHERE}: ejp.{key} must be true, false or null")
        return said

    return EjpStatus(today=day("today"), tomorrow=day("tomorrow"))
