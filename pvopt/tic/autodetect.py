"""Which mode to listen in: the ``--mode auto`` search as a small state machine.

Pure: it is told how many valid groups arrived and the (monotonic) time, and answers
with an event the daemon acts on (reopen the port at the other speed, log a line).

- SEARCHING in a mode: a valid group (its checksum passed in that mode) → LOCKED;
  no valid group within the mode's window → try the other mode.
- LOCKED: no valid frame for ``LOST_AFTER_S`` (10 s, the spec's receiver fault threshold,
  CPT_54E §9.4.1) → the meter may have been switched remotely: search again, starting
  with the other mode. With a fixed mode there is no search, only SILENT and back.
"""

from __future__ import annotations

from enum import Enum

from pvopt.tic.decoder import Mode

#: How long to listen in a mode before trying the other: up to one partial frame plus a
#: whole one (standard ≈ 1–1.5 s a frame at 9600 bd, historic ≈ 1.2–2.5 s at 1200 bd).
TRY_WINDOW_S = {Mode.STANDARD: 4.0, Mode.HISTORIC: 7.0}
LOST_AFTER_S = 10.0


class State(Enum):
    """Where the search stands."""

    SEARCHING = "searching"
    LOCKED = "locked"
    SILENT = "silent"  # fixed mode, no valid frame for LOST_AFTER_S


class Event(Enum):
    """What the daemon must do or log after an observation."""

    FOUND = "found"  # valid data in the current mode (log it)
    SWITCH = "switch"  # reopen the port in ``ModeSearch.mode``
    LOST = "lost"  # no valid frame for LOST_AFTER_S (log it; SWITCH is implied in auto)


def _other(mode: Mode) -> Mode:
    return Mode.HISTORIC if mode is Mode.STANDARD else Mode.STANDARD


class ModeSearch:
    """Tracks the current mode; ``fixed`` disables switching."""

    def __init__(self, fixed: Mode | None, now: float) -> None:
        self.fixed = fixed
        self.mode = fixed or Mode.STANDARD  # Linky standard mode is what producers have
        self.state = State.LOCKED if fixed else State.SEARCHING
        self._since = now  # start of the current try, or time of the last valid frame

    def restart_window(self, now: float) -> None:
        """The port was (re)opened: time spent without a port does not count."""
        self._since = now

    def observe(self, valid_groups: int, now: float) -> Event | None:
        """Account for ``valid_groups`` received up to ``now``."""
        if valid_groups > 0:
            self._since = now
            if self.state is not State.LOCKED:
                self.state = State.LOCKED
                return Event.FOUND
            return None
        elapsed = now - self._since
        if self.state is State.SEARCHING:
            if elapsed >= TRY_WINDOW_S[self.mode]:
                self.mode = _other(self.mode)
                self._since = now
                return Event.SWITCH
            return None
        if self.state is State.LOCKED and elapsed >= LOST_AFTER_S:
            self._since = now
            if self.fixed is not None:
                self.state = State.SILENT
            else:
                self.state = State.SEARCHING
                self.mode = _other(self.mode)
            return Event.LOST
        return None
