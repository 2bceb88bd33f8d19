"""The day-ahead EJP signal: whether a local date has a mobile peak (``regulation/ejp``).

On an ``ejp`` contract the meter says PM only once the mobile peak has begun (07:00), too
late to heat the tank and buy a run at the night's price. EDF announces an EJP day the
day before (from about 17:30, possibly later); Home Assistant or a cron job publishes it,
retained, as ``{"date": "YYYY-MM-DD", "ejp": true|false}``. Pure: the parsing, and the
status's summary of what was announced.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from pvopt import topics
from pvopt.regulation.inputs import InputError, load_json

#: Larger payloads are refused unread (the document is a few dozen bytes).
MAX_PAYLOAD_BYTES: Final = 256


@dataclass(frozen=True, slots=True)
class EjpDay:
    """One announced day: its local date and whether it has a mobile peak (07:00–01:00)."""

    day: date
    ejp: bool

    def to_json(self) -> str:
        """The documented payload (what :func:`parse_ejp` reads)."""
        return f'{{"date": "{self.day.isoformat()}", "ejp": {"true" if self.ejp else "false"}}}'


def parse_ejp(payload: bytes) -> EjpDay:
    """An :class:`EjpDay` from the documented JSON; anything else raises
    :class:`InputError` with the reason (garbage is never taken as "no EJP")."""
    topic = topics.EJP
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise InputError(f"{topic}: {len(payload)} bytes, more than {MAX_PAYLOAD_BYTES}")
    doc = load_json(topic, payload)
    if not isinstance(doc, dict) or set(doc) != {"date", "ejp"}:
        raise InputError(f'{topic}: expected a JSON object {{"date": "YYYY-MM-DD", "ejp": true}}')
    text, ejp = doc["date"], doc["ejp"]
    if not isinstance(ejp, bool):
        raise InputError(f"{topic}: ejp must be true or false, got {ejp!r:.40}")
    if not isinstance(text, str) or len(text) != 10:
        raise InputError(f"{topic}: date must be YYYY-MM-DD, got {text!r:.40}")
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{topic}: date must be YYYY-MM-DD, got {text!r:.40}") from None
    return EjpDay(day=day, ejp=ejp)


def summary(days: Mapping[date, bool], now: datetime, tz: ZoneInfo) -> dict[str, bool | None]:
    """The status's ``ejp``: whether today and tomorrow (local dates) were announced as
    EJP days (``True``), as ordinary days (``False``), or not announced (``None``)."""
    today = now.astimezone(tz).date()
    return {"today": days.get(today), "tomorrow": days.get(today + timedelta(days=1))}
