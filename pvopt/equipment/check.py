"""The one check of ``equipment_config.yml``: what ``pvopt check-config`` prints, what the
settings page shows next to each line, and what ``pvopt regulate`` does on a reload.

Pure: text in, a :class:`ConfigCheck` out (the site, or every problem with its line and
column). The text is identified by its :func:`config_version`, a SHA-256 of its UTF-8
bytes: the page saves against the version it showed (a file changed meanwhile is not
overwritten) and the regulation reports the version it runs.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import time

from pvopt.equipment.loader import parse_site_config
from pvopt.equipment.model import SiteConfig
from pvopt.schema import ConfigFileError, ConfigIssue

#: The largest ``equipment_config.yml`` taken from the page (a real one is a few kB).
MAX_CONFIG_BYTES = 60 * 1024


@dataclass(frozen=True)
class ConfigCheck:
    """The result of checking one text: ``site`` when valid, else the ``issues``."""

    version: str
    site: SiteConfig | None
    issues: tuple[ConfigIssue, ...]

    @property
    def ok(self) -> bool:
        """True when the text is a valid configuration."""
        return self.site is not None

    def report(self, source: str) -> str:
        """Every problem, one per line, as ``pvopt check-config`` prints them."""
        return str(ConfigFileError(source, self.issues))


def config_version(data: bytes) -> str:
    """The version of a file's bytes (hex SHA-256)."""
    return hashlib.sha256(data).hexdigest()


def check_config_text(
    text: str, source: str = "equipment_config.yml", settings_hc: tuple[time, time] | None = None
) -> ConfigCheck:
    """Validate ``text`` as the one loader does (``settings_hc``: the off-peak window of the
    environment, the default of the file's ``regulation:`` section)."""
    version = config_version(text.encode("utf-8"))
    try:
        site = parse_site_config(text, source, settings_hc)
    except ConfigFileError as exc:
        return ConfigCheck(version=version, site=None, issues=exc.issues)
    return ConfigCheck(version=version, site=site, issues=())


def check_config_bytes(
    data: bytes, source: str, settings_hc: tuple[time, time] | None = None
) -> ConfigCheck:
    """Validate a file's bytes (not UTF-8: one problem, at the line of the first bad byte)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        issue = ConfigIssue(line, "", f"not UTF-8 text ({exc.reason})")
        return ConfigCheck(version=config_version(data), site=None, issues=(issue,))
    return check_config_text(text, source, settings_hc)


def issue_document(issue: ConfigIssue) -> dict[str, object]:
    """One problem as JSON, for the page and ``regulation/config``."""
    return {
        "line": issue.line,
        "column": issue.column,
        "path": issue.path,
        "message": issue.message,
    }
