"""The meter view's state (pure): every label of the last frame, STGE field by field, the
frame rate and the rejected groups.

Built from a :class:`~pvopt.web.live.Live` (which keeps the last ``tic/frame`` it
accepted, its frame rate and its counts of rejected groups), at a given time; nothing here
reads a clock. Units and meanings come from the TIC's own label tables
(:mod:`pvopt.tic.labels`, by the frame's mode), STGE from :mod:`pvopt.tic.status`.

A label that is not a TIC label (not 1–16 letters, digits, ``+ - _``) or whose value is
neither a whole number nor a short printable text is left out of the table and counted in
``ignored_labels``; the rest of the frame is shown.

Document (``GET /api/meter``; times ISO-8601 with offset, ages in seconds to 0.1)::

    time    the server's now
    meter   null (no frame since the page started), or
            {mode (standard, historic or null), time (the frame's), age_s, stale,
             stale_after_s (the limit: the page keeps counting between two answers),
             frames_per_minute (frames received in the last minute), rejected_groups
             (in the last frame; null when the frame does not say),
             rejected_groups_total (since pvopt web started),
             labels: [{label, value, unit, description (in the page's language),
             known (in the mode's label table), horodate (null or ISO-8601 as
             sent)}]: first the labels without data (DATE, value ""), then the
             others in the frame's order,
             ignored_labels, stge (null when the frame has no valid STGE, as in
             historic mode; else {raw, fields: [{name, bits, description, raw, value,
             code, text}]} in bit order)}
    decoder null (no ``tic/stats`` since the page started), or teleinfo's own counts
            since it started (pvopt.tic.counts), which also count what never reaches
            tic/frame (frames dropped whole): {mode, frames_accepted, frames_rejected,
            groups_rejected, checksum_errors, malformed_groups, frames_per_minute (as
            teleinfo decoded them), time (when teleinfo counted), age_s, stale (older
            than STATS_STALE_S: teleinfo stopped saying)}
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from pvopt.tic.counts import INTERVAL_S
from pvopt.tic.labels import HISTORIC_LABELS, STANDARD_LABELS, LabelSpec
from pvopt.tic.status import StatusValue, decode_status_register
from pvopt.web.i18n import Lang, label_meaning
from pvopt.web.live import Live

#: Labels shown at most (a frame has about 50 in standard mode).
MAX_LABELS = 100
#: Longest text value shown (PJOURF+1: eleven 8-character blocks and their spaces).
MAX_TEXT = 128
#: Largest whole number shown (TIC indexes have at most 9 digits).
MAX_INT = 10**12
MAX_HORODATE = 40
_LABEL = re.compile(r"[A-Za-z0-9+_-]{1,16}")
#: teleinfo's counts are stale after three missed messages (s).
STATS_STALE_S = 3 * INTERVAL_S


@dataclass(frozen=True, slots=True)
class LabelRow:
    """One label of the frame, with what its mode's table says of it."""

    label: str
    value: int | str
    unit: str
    description: str
    known: bool
    horodate: str | None


@dataclass(frozen=True, slots=True)
class MeterView:
    """The meter view at one time."""

    time: datetime
    mode: str | None
    age_s: float
    stale: bool
    frames_per_minute: int
    rejected_groups: int | None
    rejected_groups_total: int
    labels: tuple[LabelRow, ...]
    ignored_labels: int
    stge_raw: str | None
    stge: tuple[StatusValue, ...] | None


def _table(mode: str | None, label: str) -> dict[str, LabelSpec]:
    if mode == "historic" or (mode is None and label not in STANDARD_LABELS):
        return HISTORIC_LABELS
    return STANDARD_LABELS


def _shown(value: object) -> int | str | None:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < MAX_INT:
        return value
    if isinstance(value, str) and len(value) <= MAX_TEXT and value.isprintable():
        return value
    return None


def _horodate(value: object) -> str | None:
    return value if isinstance(value, str) and len(value) <= MAX_HORODATE else None


def label_rows(
    mode: str | None, values: dict[str, object], horodates: dict[str, object]
) -> tuple[tuple[LabelRow, ...], int]:
    """The rows of a frame's labels, and how many were left out."""
    rows: list[LabelRow] = []
    ignored = 0
    # A label with no data (DATE: its value is its horodate) is only in the horodates.
    dated_only: dict[str, object] = {k: "" for k in horodates if k not in values}
    for label, raw in {**dated_only, **values}.items():
        value = _shown(raw)
        if value is None or not _LABEL.fullmatch(label) or len(rows) >= MAX_LABELS:
            ignored += 1
            continue
        table = _table(mode, label)
        spec = table.get(label)
        rows.append(
            LabelRow(
                label=label,
                value=value,
                unit=spec.unit if spec else "",
                description=spec.description if spec else "",
                known=spec is not None,
                horodate=_horodate(horodates.get(label)),
            )
        )
    return tuple(rows), ignored


def meter_view(live: Live, now: datetime) -> MeterView | None:
    """The meter view at ``now``; None before the first frame."""
    labels, frame = live.labels, live.frame
    if labels is None or frame is None:
        return None
    rows, ignored = label_rows(labels.mode, labels.values, labels.horodates)
    raw_stge = labels.values.get("STGE")
    stge = decode_status_register(raw_stge)
    age = (now - labels.time).total_seconds()
    return MeterView(
        time=labels.time,
        mode=labels.mode,
        age_s=round(age, 1),
        stale=age > live.limits.stale_after_s,
        frames_per_minute=live.frames_last_minute(now),
        rejected_groups=frame.rejected_groups,
        rejected_groups_total=live.rejected_groups_total,
        labels=rows,
        ignored_labels=ignored,
        stge_raw=raw_stge.strip().upper()
        if stge is not None and isinstance(raw_stge, str)
        else None,
        stge=stge,
    )


def _stge_field(item: StatusValue) -> dict[str, object]:
    return {
        "name": item.field.name,
        "bits": item.field.bits,
        "description": item.field.description,
        "raw": item.raw,
        "value": item.value,
        "code": item.code,
        "text": item.text,
    }


def decoder_document(live: Live, now: datetime) -> dict[str, object] | None:
    """The ``decoder`` block: teleinfo's counts (``tic/stats``), or None."""
    report = live.tic_counts
    if report is None:
        return None
    counts = report.counts
    age = (now - report.time).total_seconds()
    return {
        "mode": counts.mode,
        "frames_accepted": counts.frames_accepted,
        "frames_rejected": counts.frames_rejected,
        "groups_rejected": counts.groups_rejected,
        "checksum_errors": counts.checksum_errors,
        "malformed_groups": counts.malformed_groups,
        "frames_per_minute": counts.frames_per_minute,
        "time": report.time.isoformat(),
        "age_s": round(age, 1),
        "stale": age > STATS_STALE_S,
    }


def meter_document(live: Live, now: datetime, lang: Lang = "en") -> dict[str, object]:
    """The JSON document of ``GET /api/meter`` (keys: the module's docstring), the labels'
    meanings in ``lang``."""
    view = meter_view(live, now)
    decoder = decoder_document(live, now)
    if view is None:
        return {"time": now.isoformat(), "meter": None, "decoder": decoder}
    return {
        "time": now.isoformat(),
        "decoder": decoder,
        "meter": {
            "mode": view.mode,
            "time": view.time.isoformat(),
            "age_s": view.age_s,
            "stale": view.stale,
            "stale_after_s": live.limits.stale_after_s,
            "frames_per_minute": view.frames_per_minute,
            "rejected_groups": view.rejected_groups,
            "rejected_groups_total": view.rejected_groups_total,
            "labels": [
                {
                    "label": row.label,
                    "value": row.value,
                    "unit": row.unit,
                    "description": label_meaning(row.description, lang),
                    "known": row.known,
                    "horodate": row.horodate,
                }
                for row in view.labels
            ],
            "ignored_labels": view.ignored_labels,
            "stge": (
                None
                if view.stge is None
                else {"raw": view.stge_raw, "fields": [_stge_field(f) for f in view.stge]}
            ),
        },
    }
