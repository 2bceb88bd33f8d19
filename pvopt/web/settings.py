"""The settings view (pure): a save request checked, the backups named and pruned, the
reload message built, the regulation's confirmation read.

A save is ``{"text": …, "version": …}``: the YAML as edited and the version the page
was shown (:func:`pvopt.equipment.check.config_version` of the file then). The server
refuses a file changed meanwhile (409), checks the text with the very function
``pvopt check-config`` uses (422 with each problem's line), and only then writes it,
the previous file kept as ``<name>.<YYYY-MM-DDTHH-MM-SS>.bak`` next to it (local time;
the newest :data:`KEEP_BACKUPS` kept). Then it asks the regulation to reload
(``regulation/reload`` ``config``); whether it did shows in the regulation's own
retained ``regulation/config`` (:func:`regulation_config`), never assumed here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path
from typing import Final

from pvopt import topics
from pvopt.equipment.check import MAX_CONFIG_BYTES
from pvopt.web.config_messages import with_french
from pvopt.web.steer import Message, Publisher, Refused

#: Backups kept next to the file (older ones are deleted after each save).
KEEP_BACKUPS: Final = 10
#: A version is a hex SHA-256.
VERSION_PATTERN: Final = re.compile(r"[0-9a-f]{64}")
BACKUP_STAMP: Final = "%Y-%m-%dT%H-%M-%S"
_BACKUP_SUFFIX: Final = re.compile(r"\.(\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d)(?:-(\d+))?\.bak")


@dataclass(frozen=True)
class SaveRequest:
    """A checked save request: the text to write and the version it replaces."""

    text: str
    version: str


def save_request(body: object) -> SaveRequest:
    """``POST /api/settings`` ``{"text": str, "version": str}`` (400 or 413 otherwise)."""
    if not isinstance(body, dict):
        raise Refused(400, "bad_body", "expected a JSON object with text and version")
    unknown = sorted(str(k)[:40] for k in body if k not in ("text", "version"))
    if unknown:
        raise Refused(400, "unknown_field", f"unexpected field(s): {', '.join(unknown)}")
    text, version = body.get("text"), body.get("version")
    if not isinstance(text, str):
        raise Refused(400, "bad_text", "text must be the YAML file as a string")
    if not isinstance(version, str) or not VERSION_PATTERN.fullmatch(version):
        raise Refused(400, "bad_version", "version must be the one GET /api/settings gave")
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:  # a lone surrogate ("\ud800") is valid JSON, not text
        raise Refused(400, "bad_text", "text is not valid Unicode") from None
    if size > MAX_CONFIG_BYTES:
        raise Refused(413, "too_big", f"the file may be at most {MAX_CONFIG_BYTES // 1024} KiB")
    return SaveRequest(text=text, version=version)


def backup_name(config_name: str, when: datetime, taken: Iterable[str] = ()) -> str:
    """The backup of ``config_name`` made at ``when`` (local time): a second save in the
    same second gets ``-1``, ``-2``… (``taken``: the names already in the folder)."""
    stamp = when.strftime(BACKUP_STAMP)
    existing = set(taken)
    name = f"{config_name}.{stamp}.bak"
    n = 0
    while name in existing:
        n += 1
        name = f"{config_name}.{stamp}-{n}.bak"
    return name


def _backup_key(config_name: str, name: str) -> tuple[str, int] | None:
    if not name.startswith(config_name):
        return None
    match = _BACKUP_SUFFIX.fullmatch(name[len(config_name) :])
    if match is None:
        return None
    return match[1], int(match[2] or 0)


def backups(config_name: str, names: Iterable[str]) -> list[str]:
    """The backups of ``config_name`` among ``names``, newest first."""
    found = [(key, n) for n in names if (key := _backup_key(config_name, n)) is not None]
    return [name for _, name in sorted(found, reverse=True)]


def to_prune(config_name: str, names: Iterable[str], keep: int = KEEP_BACKUPS) -> list[str]:
    """The backups beyond the newest ``keep`` (to delete)."""
    return backups(config_name, names)[keep:]


def reload_message() -> Message:
    """What asks ``pvopt regulate`` to reload its configuration."""
    return Message(topics.REGULATION_RELOAD, "config")


def regulation_config(payload: bytes) -> dict[str, object] | None:
    """The regulation's ``regulation/config`` document, or None when it is not one (the
    page is handed it as is: it is the regulation's own confirmation; a refused reload's
    errors get their ``message_fr`` beside the English, as the save's)."""
    try:
        document = json.loads(payload)
    except (ValueError, RecursionError):
        return None
    if not isinstance(document, dict):
        return None
    last = document.get("last_reload")
    if not isinstance(document.get("version"), str) or not isinstance(last, Mapping):
        return None
    if not isinstance(document.get("loads"), list):
        return None
    errors = last.get("errors")
    if isinstance(errors, list):
        french = [with_french(e) if isinstance(e, Mapping) else e for e in errors]
        document["last_reload"] = {**last, "errors": french}
    return document


@dataclass
class SettingsSite:
    """What the settings routes work on: the file, the environment's off-peak window (the
    check's default, as ``pvopt check-config`` and ``pvopt regulate`` read it), the
    publisher of the reload message, and the regulation's last ``regulation/config``
    (replaced whole by the MQTT thread: one reference, read by the event loop)."""

    path: Path
    settings_hc: tuple[time, time] | None
    publisher: Publisher | None
    keep_backups: int = KEEP_BACKUPS
    regulation: dict[str, object] | None = None

    def on_regulation_config(self, topic: str, payload: bytes) -> None:
        """The MQTT handler of ``regulation/config`` (an empty retained message clears it)."""
        self.regulation = regulation_config(payload) if payload else None
