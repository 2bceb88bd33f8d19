"""The trim loop: the dimmers' total follows the grid error, shared out in priority order.

On a settled reading the total power of the auto dimmers moves by ``−gain × (grid −
target)``: integral action, dead-beat at gain 1. The meter reports every ~1.2 s, up to a
frame late: :class:`DeadTime` remembers the recent commands, so that a reading that
cannot show them yet neither counts as settled nor is corrected twice (a Smith
predictor).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from pvopt.equipment.model import RegulationConfig
from pvopt.regulation.state import LoadState

#: Trim corrections smaller than this do not stop a reading from counting as settled.
SETTLE_IGNORE_W = 50.0
#: Smallest change of a dimmer command worth sending.
MIN_CHANGE_W = 5.0


@dataclass(slots=True)
class InFlight:
    """A command not yet in every reading: when, the net change of the loads' power, and
    the sum of each load's |change| (read-only, ``Final``: one per decision that moves a
    load)."""

    at: Final[datetime]
    net_w: Final[float]
    moved_w: Final[float]


class DeadTime:
    """The commands of the last ``settle_time``."""

    def __init__(self, settle_time_s: float) -> None:
        self.settle_time_s = settle_time_s
        # A reading is the mean of about 1 s, received up to ``settle_time − 1 s`` after
        # the end of that second (actuation + meter delay); halfway is assumed.
        self._lag_s = max(settle_time_s - 1.0, 0.0) / 2
        self.inflight: list[InFlight] = []

    def pending_w(self, now: datetime) -> float:
        """The part of the commands of the last ``settle_time`` not yet in a reading
        (forgets the older ones)."""
        inflight = self.inflight
        if not inflight:
            return 0.0  # most readings: nothing in flight
        settle = self.settle_time_s
        lag = self._lag_s
        pending = 0.0
        expired = False
        for command in inflight:
            age = (now - command.at).total_seconds()
            if age >= settle:
                expired = True
                continue
            pending += command.net_w * (1.0 - min(max(age - lag, 0.0), 1.0))
        if expired:
            self.inflight = [c for c in inflight if (now - c.at).total_seconds() < settle]
        return pending

    def settled(self) -> bool:
        """Is every significant command so far fully in this reading? Gross, not net: when
        a dimmer makes room for an on/off load, or power moves between two dimmers, the
        grid should not move, but a reading that predates the move cannot tell whether
        each load really did."""
        inflight = self.inflight
        if not inflight:
            return True  # most readings: nothing in flight
        return all(command.moved_w < SETTLE_IGNORE_W for command in inflight)

    def record(self, now: datetime, moves_w: Sequence[float]) -> None:
        """The loads' changes of a decision (W, one per load)."""
        self.inflight.append(InFlight(at=now, net_w=sum(moves_w), moved_w=sum(map(abs, moves_w))))

    def clear(self) -> None:
        """Forget every command (the loads were shed)."""
        self.inflight.clear()


def correction_w(expected_error_w: float, cfg: RegulationConfig) -> float:
    """How the dimmers' total moves for an error (dead band: not at all)."""
    if abs(expected_error_w) > cfg.dead_band_w:
        return -cfg.gain * expected_error_w
    return 0.0


def share(
    loads: Sequence[LoadState],
    delta_w: float,
    caps: Mapping[str, float],
    last: AbstractSet[str] = frozenset(),
) -> None:
    """Move the auto dimmers' total by ``delta_w``, filled in priority order, each up to its
    cap, the dimmers named in ``last`` (full tanks topping up) after the others; a share
    below the dimmer's ``min_power`` is none. (One pass to gather them: the sums add in
    the same order as ``sum`` would, to the same bits.)"""
    dimmers: list[LoadState] = []
    limits: list[float] = []
    for state in loads:
        if state.variable and (cap := caps.get(state.name)) is not None:
            dimmers.append(state)
            limits.append(cap)
    if not dimmers:
        return
    if last:  # stable: priority order otherwise
        order = sorted(range(len(dimmers)), key=lambda i: dimmers[i].name in last)
        dimmers = [dimmers[i] for i in order]
        limits = [limits[i] for i in order]
    drawn_w: float = 0
    room_w: float = 0
    for state, cap in zip(dimmers, limits, strict=True):
        drawn_w += state.power_w
        room_w += cap
    total = drawn_w + delta_w
    # min(max(total, 0.0), room_w) without the two calls (each keeps its first argument
    # unless the second is strictly beyond it: the same result, -0.0 and NaN included)
    total = 0.0 if total < 0.0 else total
    total = room_w if room_w < total else total
    for state, cap in zip(dimmers, limits, strict=True):
        portion = total if total < cap else cap  # min(cap, total)
        if portion < state.min_power_w or portion < MIN_CHANGE_W:
            portion = 0.0
        state.power_w = portion
        total -= portion
