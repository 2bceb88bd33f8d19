"""The one logging set-up: journald-aware, to stderr.

Under systemd (``$JOURNAL_STREAM`` matches stderr) lines carry no timestamp, since
journald adds one, and start with a ``<N>`` syslog priority so ``journalctl -p warning``
works. Elsewhere a timestamp is added for people reading a terminal.
"""

from __future__ import annotations

import logging
import os
import sys

_SYSLOG_PRIORITY = {
    logging.DEBUG: 7,
    logging.INFO: 6,
    logging.WARNING: 4,
    logging.ERROR: 3,
    logging.CRITICAL: 2,
}


class _JournalFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        priority = _SYSLOG_PRIORITY.get(record.levelno, 6)
        return f"<{priority}>{super().format(record)}"


def under_journald() -> bool:
    """True when stderr is connected to the journal (sd_journal_stream_fd(3))."""
    stream = os.environ.get("JOURNAL_STREAM", "")
    try:
        dev, ino = (int(x) for x in stream.split(":"))
        st = os.fstat(sys.stderr.fileno())
    except (ValueError, OSError):
        return False
    return (st.st_dev, st.st_ino) == (dev, ino)


def setup_logging(level: str) -> None:
    """Configure the root logger once for a daemon or a command."""
    handler = logging.StreamHandler(sys.stderr)
    if under_journald():
        handler.setFormatter(_JournalFormatter("%(name)s: %(message)s"))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # paho logs through its own logger only when asked; requests/urllib3 are chatty at DEBUG.
    logging.getLogger("urllib3").setLevel(max(logging.INFO, root.level))
