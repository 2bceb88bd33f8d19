"""The PV forecast (pure): what the panels are expected to produce, slot by slot.

An optional input (docs/design.md §4, "PV forecast"): a JSON document on
``regulation/forecast``, published (retained) by Home Assistant, a cron job or pvopt's own
Open-Meteo client (:mod:`pvopt.io.openmeteo`)::

    {"issued": "2026-12-07T05:00:00+01:00",
     "slots": [{"start": "2026-12-07T10:00:00+01:00", "duration_s": 900, "power_w": 1234.5},
               ...]}

``power_w`` is the mean PV power expected over the slot. Slots are in time order and do not
overlap; a gap between two slots is a time without PV (night, say), so that a publisher
may leave the night out; before the first slot and after the last, nothing is known.

A forecast older than its maximum age is stale: a query on a stale or absent forecast
answers ``None`` (unknown), never 0 — no sun expected and no idea are different answers.
Time is an argument: nothing here reads a clock.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from pvopt.equipment.model import MIDNIGHT, local_instant
from pvopt.regulation.inputs import InputError, is_number, load_json, within
from pvopt.topics import FORECAST as TOPIC_NAME


@dataclass(frozen=True)
class ForecastLimits:
    """What a forecast document may hold (bounds included)."""

    #: Mean PV power of a slot: a household array is well under 100 kW.
    power_w: tuple[float, float] = (0.0, 100_000.0)
    #: A slot's duration: one minute to one day.
    duration_s: tuple[float, float] = (60.0, 86_400.0)
    #: Enough for 15-minute slots over 10 days.
    max_slots: int = 1000
    #: A slot may start this long before the arrival (the forecast of today's morning) …
    past: timedelta = timedelta(days=2)
    #: … and end this long after it.
    future: timedelta = timedelta(days=10)
    #: The issue time may be ahead of the receiver's clock by this much (clocks differ).
    clock_skew: timedelta = timedelta(minutes=10)
    #: A document larger than this is not parsed (1000 slots are about 80 kB).
    payload_bytes: int = 200_000


FORECAST_LIMITS = ForecastLimits()


@dataclass(frozen=True)
class Slot:
    """The mean PV power expected from ``start`` (aware, UTC) for ``duration_s``."""

    start: datetime
    duration_s: float
    power_w: float

    @property
    def end(self) -> datetime:
        return self.start + timedelta(seconds=self.duration_s)


@dataclass(frozen=True)
class PvForecast:
    """A forecast as issued: when (aware, UTC), and its slots in time order."""

    issued: datetime
    slots: tuple[Slot, ...]

    def age_s(self, now: datetime) -> float:
        return (now - self.issued).total_seconds()

    def stale(self, now: datetime, max_age_s: float) -> bool:
        """Older than ``max_age_s`` at ``now``: no longer to be relied on."""
        return self.age_s(now) > max_age_s

    def energy_wh(self, start: datetime, end: datetime) -> float | None:
        """The PV energy (Wh) expected from ``start`` to ``end``, or ``None`` when the
        interval reaches outside the forecast's span (unknown, not zero). Staleness is the
        caller's question: see :func:`expected_energy_wh`."""
        if end < start:
            raise ValueError(f"the interval ends ({end}) before it starts ({start})")
        slots = self.slots
        if not slots or start < slots[0].start or end > slots[-1].end:
            return None
        total = 0.0
        # slots are in order without overlap: from the last one starting at or before start
        first = max(bisect_right(slots, start, key=_slot_start) - 1, 0)
        for slot in slots[first:]:
            if slot.start >= end:
                break
            overlap_s = (min(end, slot.end) - max(start, slot.start)).total_seconds()
            if overlap_s > 0:
                total += slot.power_w * overlap_s / 3600.0
        return total

    def covered_until(self, power_w: float, start: datetime, end: datetime) -> datetime | None:
        """Until when the forecast expects the PV to cover ``power_w``: the end of the
        last whole hour (on the hour, from the one holding ``start``, ending by ``end``)
        whose mean expected power is at least ``power_w``, or ``start`` when no hour left
        does. Hour means, not slots: a day-ahead forecast knows the afternoon's weather
        and the sun's height, not when one cloud passes. ``None`` when those hours reach
        outside the forecast's span (unknown)."""
        hour = timedelta(hours=1)
        at = start.replace(minute=0, second=0, microsecond=0)
        until = start
        while at + hour <= end:
            energy_wh = self.energy_wh(at, at + hour)
            if energy_wh is None:
                return None
            if energy_wh >= power_w:
                until = at + hour
            at += hour
        return until

    def power_w(self, at: datetime) -> float | None:
        """The mean PV power (W) expected in the slot holding ``at``: 0 in a gap between
        slots (a time without PV), ``None`` before the first slot or after the last
        (unknown, not zero). Staleness is the caller's question."""
        slots = self.slots
        if not slots or at < slots[0].start or at >= slots[-1].end:
            return None
        slot = slots[bisect_right(slots, at, key=_slot_start) - 1]
        return slot.power_w if at < slot.end else 0.0

    def to_json(self) -> str:
        """The documented JSON document (times in UTC)."""
        return json.dumps(
            {
                "issued": self.issued.isoformat(),
                "slots": [
                    {"start": s.start.isoformat(), "duration_s": s.duration_s, "power_w": s.power_w}
                    for s in self.slots
                ],
            },
            allow_nan=False,
        )


def _slot_start(slot: Slot) -> datetime:
    return slot.start


def expected_energy_wh(
    forecast: PvForecast | None, start: datetime, end: datetime, now: datetime, max_age_s: float
) -> float | None:
    """The PV energy (Wh) expected from ``start`` to ``end`` as known at ``now``: ``None``
    (unknown) without a forecast, with a stale one, or outside its span."""
    if forecast is None or forecast.stale(now, max_age_s):
        return None
    return forecast.energy_wh(start, end)


def summary(
    forecast: PvForecast | None, now: datetime, tz: ZoneInfo, max_age_s: float
) -> dict[str, object] | None:
    """The status's ``forecast``: ``None`` without one; else its issue time, slot count,
    whether it is stale, and the energy (Wh, to 0.1) expected today and tomorrow (local
    days, ``None`` when unknown)."""
    if forecast is None:
        return None
    today = now.astimezone(tz).date()
    bounds = [local_instant(today + timedelta(days=n), MIDNIGHT, tz) for n in range(3)]

    def day_wh(n: int) -> float | None:
        energy = expected_energy_wh(forecast, bounds[n], bounds[n + 1], now, max_age_s)
        return None if energy is None else round(energy, 1)

    return {
        "issued": forecast.issued.isoformat(),
        "slots": len(forecast.slots),
        "stale": forecast.stale(now, max_age_s),
        "energy_today_wh": day_wh(0),
        "energy_tomorrow_wh": day_wh(1),
    }


@dataclass
class SummaryCache:
    """The status's ``forecast`` field as last computed: what it says changes only with a
    new forecast, a new local day or the forecast going stale, so the status of each meter
    frame need not add up the slots again."""

    forecast: PvForecast | None = None
    day: date | None = None
    stale: bool = False
    document: dict[str, object] | None = None

    def summary(
        self, forecast: PvForecast | None, now: datetime, tz: ZoneInfo, max_age_s: float
    ) -> dict[str, object] | None:
        """:func:`summary`, recomputed only when it can have changed."""
        if forecast is None:
            return None
        day = now.astimezone(tz).date()
        stale = forecast.stale(now, max_age_s)
        if forecast is not self.forecast or day != self.day or stale != self.stale:
            self.forecast, self.day, self.stale = forecast, day, stale
            self.document = summary(forecast, now, tz, max_age_s)
        return self.document


def _instant(where: str, value: object) -> datetime:
    if not isinstance(value, str) or len(value) > 40:
        raise InputError(f"{TOPIC_NAME}: {where} must be an ISO-8601 date and time")
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(
            f"{TOPIC_NAME}: {where} {value!r} is not an ISO-8601 date and time"
        ) from None
    if when.tzinfo is None:
        raise InputError(f"{TOPIC_NAME}: {where} {value!r} needs a UTC offset (+01:00, Z)")
    return when.astimezone(UTC)


def _number(where: str, value: object, bounds: tuple[float, float], unit: str) -> float:
    low, high = bounds
    if not is_number(value) or not within(value, bounds):
        raise InputError(f"{TOPIC_NAME}: {where} must be a number from {low:g} to {high:g} {unit}")
    return float(value)


def parse_forecast(payload: bytes, received: datetime) -> PvForecast:
    """A :class:`PvForecast` from the documented JSON, checked against
    :data:`FORECAST_LIMITS` around ``received`` (aware); anything wrong raises
    :class:`InputError` with the reason, and nothing of the document is kept."""
    limits = FORECAST_LIMITS
    if len(payload) > limits.payload_bytes:
        raise InputError(f"{TOPIC_NAME}: {len(payload)} bytes, more than {limits.payload_bytes}")
    doc = load_json(TOPIC_NAME, payload)
    if not isinstance(doc, dict) or "issued" not in doc or "slots" not in doc:
        raise InputError(f"{TOPIC_NAME}: expected a JSON object with issued and slots")
    issued = _instant("issued", doc["issued"])
    if issued > received + limits.clock_skew:
        raise InputError(f"{TOPIC_NAME}: issued {issued.isoformat()} is in the future")
    items = doc["slots"]
    if not isinstance(items, list):
        raise InputError(f"{TOPIC_NAME}: slots must be a list")
    if len(items) > limits.max_slots:
        raise InputError(f"{TOPIC_NAME}: {len(items)} slots, at most {limits.max_slots}")
    slots: list[Slot] = []
    for n, item in enumerate(items):
        where = f"slots[{n}]"
        if not isinstance(item, dict):
            raise InputError(
                f"{TOPIC_NAME}: {where} must be an object (start, duration_s, power_w)"
            )
        slot = Slot(
            start=_instant(f"{where}.start", item.get("start")),
            duration_s=_number(
                f"{where}.duration_s", item.get("duration_s"), limits.duration_s, "s"
            ),
            power_w=_number(f"{where}.power_w", item.get("power_w"), limits.power_w, "W"),
        )
        if slot.start < received - limits.past or slot.end > received + limits.future:
            raise InputError(
                f"{TOPIC_NAME}: {where} ({slot.start.isoformat()}) is outside the window "
                f"from {limits.past.days} days before to {limits.future.days} days after now"
            )
        if slots and slot.start < slots[-1].end:
            raise InputError(
                f"{TOPIC_NAME}: {where} starts before the previous slot ends "
                "(slots must be in time order, without overlap)"
            )
        slots.append(slot)
    return PvForecast(issued=issued, slots=tuple(slots))


#: Open-Meteo's 15-minute radiation is the mean over the 15 minutes before each time.
OPENMETEO_STEP_S = 900


def from_openmeteo(
    doc: object,
    issued: datetime,
    peak_w: float,
    performance_ratio: float,
    inverter_w: float | None = None,
) -> PvForecast:
    """A forecast from Open-Meteo's answer to ``minutely_15=global_tilted_irradiance`` with
    ``timeformat=unixtime``: each value (W/m², the mean over the 15 minutes *before* its
    time) becomes a slot of ``peak_w × irradiance / 1000 × performance_ratio``, capped at
    ``inverter_w``. Missing values (``null``) are left out; a negative irradiance (a model
    artefact) counts as 0. A malformed answer raises :class:`InputError`."""
    block = doc.get("minutely_15") if isinstance(doc, dict) else None
    if not isinstance(block, dict):
        raise InputError("open-meteo: no minutely_15 in the answer")
    times, values = block.get("time"), block.get("global_tilted_irradiance")
    if not isinstance(times, list) or not isinstance(values, list) or len(times) != len(values):
        raise InputError("open-meteo: minutely_15 needs time and global_tilted_irradiance lists")
    cap = FORECAST_LIMITS.power_w[1] if inverter_w is None else inverter_w
    slots: list[Slot] = []
    for stamp, irradiance in zip(times, values, strict=True):
        if irradiance is None:
            continue
        if (
            not is_number(stamp)
            or not is_number(irradiance)
            or not within(irradiance, (-2000, 2000))
        ):
            raise InputError(f"open-meteo: bad value {str(irradiance)[:20]} at {str(stamp)[:20]}")
        try:
            start = datetime.fromtimestamp(stamp - OPENMETEO_STEP_S, UTC)
        except (OverflowError, OSError, ValueError):
            raise InputError(f"open-meteo: bad time {str(stamp)[:20]}") from None
        power = min(cap, peak_w * max(0.0, irradiance) / 1000.0 * performance_ratio)
        slots.append(Slot(start=start, duration_s=OPENMETEO_STEP_S, power_w=round(power, 1)))
    slots.sort(key=lambda slot: slot.start)
    return PvForecast(issued=issued.astimezone(UTC), slots=tuple(slots))
