"""Parsing what the regulation receives (pure): meter frames and control messages.

Malformed input raises :class:`InputError` with a message fit for one log line; the
daemon logs it and ignores the message (DESIGN §4).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from typing import TypeGuard

from pvopt.regulation.model import MeterSample, Mode


class InputError(ValueError):
    """A message that cannot be used."""


def tariff_offpeak(values: dict[str, object]) -> bool | None:
    """Off-peak now according to the meter, or None when it does not say.

    Historic mode: PTEC ``HC..``/``HCJB``… is off-peak, ``HP..``/``TH..``/``HN``/``PM`` not.
    Standard mode: LTARF holds the supplier's label (``HEURE CREUSE``, ``HC BLEU``…).
    NTARF is only an index number whose meaning depends on the contract: not used.
    """
    ptec = values.get("PTEC")
    if isinstance(ptec, str) and ptec:
        return ptec.upper().startswith("HC")
    ltarf = values.get("LTARF")
    if isinstance(ltarf, str) and ltarf:
        label = " ".join(ltarf.upper().split())
        if "CREUSE" in label or label.startswith("HC") or " HC" in label:
            return True
        if "PLEINE" in label or label.startswith("HP") or " HP" in label:
            return False
    return None


def sample_from_frame(payload: bytes, received: datetime) -> MeterSample:
    """A :class:`MeterSample` from a ``tic/frame`` JSON document (SINSTS and SINSTI of the
    same frame; PAPP for historic-mode meters, which cannot show export)."""
    try:
        doc = json.loads(payload)
        values = doc["values"]
        if not isinstance(values, dict):
            raise TypeError("values is not an object")
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"tic/frame: not a frame document ({exc})") from None
    drawn = values.get("SINSTS", values.get("PAPP"))
    injected = values.get("SINSTI", 0)
    if not _is_va(drawn) or not _is_va(injected):
        raise InputError("tic/frame: no valid SINSTS/SINSTI (or PAPP) in this frame")
    return MeterSample(received, drawn, injected, tariff_offpeak(values))


def _is_va(value: object) -> TypeGuard[int]:
    """An apparent power as the meter sends it: a whole, non-negative number of VA (a JSON
    ``true`` is an int to Python, not a power)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def parse_int_payload(topic: str, payload: bytes) -> int:
    """A plain-text integer (``tic/SINSTS``…)."""
    try:
        return int(payload.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        raise InputError(f"{topic}: expected an integer, got {payload[:40]!r}") from None


def parse_temperature(topic: str, payload: bytes) -> float:
    """A probe reading in °C; the DS18B20 "disconnected" value (−127) is refused."""
    try:
        value = float(payload.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        raise InputError(f"{topic}: expected a temperature, got {payload[:40]!r}") from None
    if not math.isfinite(value) or not -50.0 < value < 150.0:
        raise InputError(f"{topic}: temperature {value} out of range (probe disconnected?)")
    return value


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
    try:
        text = payload.decode("ascii").strip().upper()
    except UnicodeDecodeError:
        raise InputError(f"{topic}: not ASCII") from None
    simple = {"ON": Mode.ON, "OFF": Mode.OFF, "AUTO": Mode.AUTO}
    if text in simple:
        return Control(mode=simple[text])
    name, sep, value = text.partition(";")
    if sep and name in ("MIN", "MAX", "ECO"):
        try:
            celsius = float(value)
        except ValueError:
            raise InputError(f"{topic}: {name};<°C> needs a number, got {value!r}") from None
        if not 0.0 <= celsius <= 95.0:
            raise InputError(f"{topic}: {celsius} °C is out of range 0..95")
        return Control(threshold=name.lower(), celsius=celsius)
    raise InputError(f"{topic}: expected ON, OFF, AUTO, MIN;t, MAX;t or ECO;t, got {text[:40]!r}")


def parse_regulation_control(payload: bytes) -> tuple[str, Control]:
    """``regulation/control`` JSON: force (power W, duration s) or unforce, by name."""
    try:
        doc = json.loads(payload)
        command, name = doc["command"], doc["name"]
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(
            f"regulation/control: expected JSON with command and name ({exc})"
        ) from None
    if not isinstance(name, str):
        raise InputError("regulation/control: name must be a string")
    if command == "unforce":
        return name, Control(mode=Mode.AUTO)
    if command != "force":
        raise InputError(f"regulation/control: unknown command {command!r} (force, unforce)")
    power, duration = doc.get("power"), doc.get("duration")
    if not isinstance(power, int | float) or isinstance(power, bool) or power < 0:
        raise InputError("regulation/control: force needs power >= 0 (W)")
    if duration is not None and (
        not isinstance(duration, int | float) or isinstance(duration, bool) or duration <= 0
    ):
        raise InputError("regulation/control: duration must be a positive number of seconds")
    return name, Control(mode=Mode.FORCED, power_w=float(power), duration_s=duration)
