"""Rate-limited log lines: a flood of bad input must not flood the journal (an SD card).

:class:`Throttle` logs the first occurrence of each key (an MQTT topic, a kind of error)
at once, so a user sending one bad message sees why at once; further occurrences in the
same window are only counted, and one line per key closes the window with the count and
the first example. Time is an argument (a monotonic clock in seconds); the daemons call
:meth:`Throttle.flush` from their main loop so a count is not held back until the next
occurrence. Thread-safe: MQTT handlers report from paho's network thread.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

#: One summary line per key and window at most.
WINDOW_S = 60.0


@dataclass
class _Window:
    """Occurrences of one key since ``start``, the first one's text kept as the example."""

    start: float
    example: str
    more: int = 0


class Throttle:
    """At most two lines per key and window: the first occurrence, then a count."""

    def __init__(
        self, logger: logging.Logger, level: int = logging.WARNING, window_s: float = WINDOW_S
    ) -> None:
        self._logger = logger
        self._level = level
        self._window_s = window_s
        self._windows: dict[str, _Window] = {}
        self._lock = threading.Lock()

    def report(self, key: str, text: str, now: float, exc_info: bool = False) -> None:
        """One occurrence: logged at once if it opens a window (with the traceback of the
        exception being handled if ``exc_info``), else counted."""
        with self._lock:
            window = self._windows.get(key)
            if window is not None and now - window.start >= self._window_s:
                self._close(key, window)
                window = None
            if window is None:
                self._windows[key] = _Window(now, text)
                self._logger.log(self._level, "%s", text, exc_info=exc_info)
            else:
                window.more += 1

    def flush(self, now: float) -> None:
        """Close the windows that have ended: one line each with its count, if any."""
        with self._lock:
            for key, window in list(self._windows.items()):
                if now - window.start >= self._window_s:
                    self._close(key, window)

    def _close(self, key: str, window: _Window) -> None:
        del self._windows[key]
        if window.more:
            self._logger.log(
                self._level,
                "%s: %d more in the last %.0f s (the first: %s)",
                key,
                window.more,
                self._window_s,
                window.example,
            )
