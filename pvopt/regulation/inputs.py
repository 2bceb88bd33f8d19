"""Parsing what the regulation receives (pure): meter frames and control messages.

Malformed input raises :class:`InputError` with a message fit for one log line; the
daemon logs it (rate-limited) and ignores the message (docs: README, "Bad input"). Every
number is checked finite and within the physical range of :data:`LIMITS` before it is
converted: a 401-digit integer, ``NaN`` or ``Infinity`` never reaches the core, a device,
the status or InfluxDB.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from typing import TypeGuard

from pvopt.regulation.model import MeterSample, Mode
from pvopt.tic.tariff import meter_tariff


class InputError(ValueError):
    """A message that cannot be used."""


@dataclass(frozen=True)
class Limits:
    """The physical ranges of the numbers the regulation accepts (bounds included)."""

    #: SINSTS, SINSTI and PAPP have five digits (TIC spec): 0 … 99,999 VA.
    meter_va: tuple[int, int] = (0, 99_999)
    #: A forced power: no household load draws more (the core caps it at the load's own).
    force_power_w: tuple[float, float] = (0.0, 100_000.0)
    #: A forced duration: more than zero, up to a week.
    force_duration_s: tuple[float, float] = (0.0, 7 * 86_400.0)
    #: A probe reading, bounds excluded (a DS18B20 reports −127 when disconnected).
    probe_c: tuple[float, float] = (-50.0, 150.0)
    #: A MIN;t / MAX;t / ECO;t threshold.
    threshold_c: tuple[float, float] = (0.0, 95.0)
    #: Longest text payload worth parsing on the plain-text topics.
    text_bytes: int = 64


LIMITS = Limits()


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not a number")


def load_json(topic: str, payload: bytes) -> object:
    """A JSON document, refusing ``NaN``/``Infinity`` and nesting too deep to parse."""
    try:
        return json.loads(payload, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise InputError(f"{topic}: not a JSON document ({str(exc)[:80]})") from None


def is_number(value: object) -> TypeGuard[int | float]:
    """A JSON number (a JSON ``true`` is an int to Python, not a number)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def within(value: int | float, bounds: tuple[float, float]) -> bool:
    """``value`` finite and within ``bounds`` (compared before any float conversion, so a
    huge integer is refused instead of overflowing)."""
    low, high = bounds
    return low <= value <= high  # False for NaN; a huge int compares without overflow


def count_field(doc: dict[str, object], key: str, topic: str, maximum: int) -> int:
    """``doc[key]``, a JSON integer from 0 to ``maximum``; else :class:`InputError`."""
    value = doc.get(key)
    if not (is_number(value) and isinstance(value, int) and within(value, (0, maximum))):
        raise InputError(f"{topic}: {key} must be a count")
    return value


def report_time(doc: dict[str, object], topic: str, received: datetime) -> datetime:
    """A report's ``time``: ISO 8601 with its offset, else :class:`InputError`; a time
    after the report's arrival (a fast clock) is taken as the arrival."""
    text = doc.get("time")
    try:
        when = datetime.fromisoformat(text) if isinstance(text, str) and len(text) <= 40 else None
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise InputError(f"{topic}: time must be an ISO-8601 time with its offset")
    return min(when, received)


def _text(topic: str, payload: bytes) -> str:
    if len(payload) > LIMITS.text_bytes:
        raise InputError(f"{topic}: {len(payload)} bytes, expected a short text")
    try:
        return payload.decode("ascii").strip()
    except UnicodeDecodeError:
        raise InputError(f"{topic}: not ASCII") from None


def sample_from_frame(payload: bytes, received: datetime) -> MeterSample:
    """A :class:`MeterSample` from a ``tic/frame`` JSON document (SINSTS and SINSTI of the
    same frame; PAPP for historic-mode meters, which cannot show export).

    The sample is timed by the frame's own ``time`` (when teleinfo decoded it), so a frame
    that waited in a queue is judged by its real age; a frame without a usable time (another
    publisher) is timed by its arrival. A time later than the arrival means the clocks
    disagree: the arrival is used, so the stale-data timeout can never be pushed back.
    """
    return sample_from_document(load_json("tic/frame", payload), received)


def frame_values(doc: object) -> dict[str, object]:
    """The ``values`` of a parsed ``tic/frame`` document."""
    if not isinstance(doc, dict) or not isinstance(values := doc.get("values"), dict):
        raise InputError("tic/frame: not a frame document (no values object)")
    return values


def frame_time(doc: object, received: datetime) -> datetime:
    """When a parsed ``tic/frame`` document's frame was decoded, never later than its
    arrival (see :func:`sample_from_frame`)."""
    when = _frame_time(doc) if isinstance(doc, dict) else None
    return min(when or received, received)


def sample_from_document(doc: object, received: datetime) -> MeterSample:
    """:func:`sample_from_frame` of a document already parsed (one parse for every reader of
    the same message)."""
    values = frame_values(doc)
    drawn = values.get("SINSTS", values.get("PAPP"))
    injected = values.get("SINSTI", 0)
    if not _is_va(drawn) or not _is_va(injected):
        raise InputError(
            "tic/frame: SINSTS/SINSTI (or PAPP) missing or not a whole number of VA from "
            f"{LIMITS.meter_va[0]} to {LIMITS.meter_va[1]}"
        )
    return MeterSample(frame_time(doc, received), drawn, injected, meter_tariff(values))


def _frame_time(doc: dict[str, object]) -> datetime | None:
    text = doc.get("time")
    if not isinstance(text, str) or len(text) > 40:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo is not None else None


def _is_va(value: object) -> TypeGuard[int]:
    """An apparent power as the meter sends it: a whole number of VA within the range of
    five digits."""
    return isinstance(value, int) and not isinstance(value, bool) and within(value, LIMITS.meter_va)


def parse_va_payload(topic: str, payload: bytes) -> int:
    """A plain-text apparent power in VA (``tic/SINSTS``, ``tic/SINSTI``)."""
    text = _text(topic, payload)
    try:
        value = int(text)
    except ValueError:
        raise InputError(f"{topic}: expected a whole number of VA, got {text!r}") from None
    if not within(value, LIMITS.meter_va):
        raise InputError(f"{topic}: {value} VA is out of range {LIMITS.meter_va}")
    return value


def parse_temperature(topic: str, payload: bytes) -> float:
    """A probe reading in °C; the DS18B20 "disconnected" value (−127) is refused."""
    text = _text(topic, payload)
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{topic}: expected a temperature, got {text!r}") from None
    low, high = LIMITS.probe_c
    if not (math.isfinite(value) and low < value < high):
        raise InputError(f"{topic}: temperature {value} out of range (probe disconnected?)")
    return value


def parse_availability(topic: str, payload: bytes) -> bool:
    """A daemon's ``online`` / ``offline`` status."""
    text = _text(topic, payload)
    if text not in ("online", "offline"):
        raise InputError(f"{topic}: expected online or offline, got {text!r}")
    return text == "online"


@dataclass(frozen=True)
class Control:
    """A manual control: a mode, or a temperature threshold change."""

    mode: Mode | None = None
    power_w: float = 0.0
    duration_s: float | None = None
    threshold: str | None = None  # "min" | "max" | "eco"
    celsius: float | None = None


def parse_scr_control(topic: str, payload: bytes) -> Control:
    """``scr/<id>/control``: ``ON``, ``OFF``, ``AUTO``, ``MIN;t``, ``MAX;t``, ``ECO;t``."""
    text = _text(topic, payload).upper()
    simple = {"ON": Mode.ON, "OFF": Mode.OFF, "AUTO": Mode.AUTO}
    if text in simple:
        return Control(mode=simple[text])
    name, sep, value = text.partition(";")
    if sep and name in ("MIN", "MAX", "ECO"):
        try:
            celsius = float(value)
        except ValueError:
            raise InputError(f"{topic}: {name};<°C> needs a number, got {value!r}") from None
        low, high = LIMITS.threshold_c
        if not within(celsius, LIMITS.threshold_c):
            raise InputError(f"{topic}: {celsius} °C is out of range {low:g}..{high:g}")
        return Control(threshold=name.lower(), celsius=celsius)
    raise InputError(f"{topic}: expected ON, OFF, AUTO, MIN;t, MAX;t or ECO;t, got {text!r}")


def parse_regulation_control(payload: bytes) -> tuple[str, Control]:
    """``regulation/control`` JSON: force (power W, duration s) or unforce, by name."""
    doc = load_json("regulation/control", payload)
    if not isinstance(doc, dict) or "command" not in doc or "name" not in doc:
        raise InputError("regulation/control: expected a JSON object with command and name")
    command, name = doc["command"], doc["name"]
    if not isinstance(name, str) or not 0 < len(name) <= 100:
        raise InputError("regulation/control: name must be an equipment name or id")
    if command == "unforce":
        return name, Control(mode=Mode.AUTO)
    if command != "force":
        shown = command[:40] if isinstance(command, str) else type(command).__name__
        raise InputError(f"regulation/control: unknown command {shown!r} (force, unforce)")
    power, duration = doc.get("power"), doc.get("duration")
    low, high = LIMITS.force_power_w
    if not is_number(power) or not within(power, LIMITS.force_power_w):
        raise InputError(f"regulation/control: force needs a power from {low:g} to {high:g} W")
    low, high = LIMITS.force_duration_s
    if duration is not None and (
        not is_number(duration) or not within(duration, LIMITS.force_duration_s) or duration == 0
    ):
        raise InputError(
            f"regulation/control: duration must be more than {low:g} and at most {high:g} s"
        )
    return name, Control(
        mode=Mode.FORCED,
        power_w=float(power),
        duration_s=None if duration is None else float(duration),
    )
