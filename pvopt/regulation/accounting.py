"""Energy accounting: each load's commanded power integrated into its counters (today's,
and its ``min_energy`` period's), and an on/off load's time on today (its
``daily_run_time`` need), saved across restarts.

The counters count what the loads were commanded, not what the meter saw: they are what
``min_energy`` and the status report, and the regulation's only memory of a day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeGuard

from pvopt.regulation.calendar import DAY_S, Calendar
from pvopt.regulation.inputs import LIMITS, is_number, within
from pvopt.regulation.state import LoadState

#: A saved energy counter above this (1 GWh) is corrupt, not a day's energy.
COUNTER_MAX_WH = 1e9


@dataclass(frozen=True, slots=True)
class ClosedPeriod:
    """A load's ``min_energy`` period that has just ended, and the energy it got."""

    state: LoadState
    energy_wh: float


def account(
    loads: Sequence[LoadState], calendar: Calendar, last: datetime | None, now: datetime
) -> list[ClosedPeriod]:
    """Add each load's power since ``last`` (the previous accounting) to its counters,
    and the time an on/off load was on to its run time; a new day or period starts at 0.
    Returns the periods that ended."""
    today = calendar.minute(now).day  # calendar.today, one call less
    seconds = (now - last).total_seconds() if last is not None and now > last else 0.0
    closed: list[ClosedPeriod] = []
    period_s: float | None = None  # loads mostly share a period: the last one asked for
    period: datetime | None = None
    for state in loads:
        counters = state.counters
        if state.period_s != period_s:
            period_s = state.period_s
            period = calendar.period(now, period_s).local_start
        added = state.power_w * seconds / 3600.0
        if counters.day != today:
            counters.day = today
            counters.energy_wh = 0.0
            counters.run_s = 0.0
        else:
            counters.energy_wh += added
            if added and not state.variable:
                counters.run_s += seconds
        start = counters.period_start
        if start is not period and start != period:  # the same object while it lasts
            if start is not None:
                closed.append(ClosedPeriod(state=state, energy_wh=counters.period_energy_wh))
            counters.period_start = period
            counters.period_energy_wh = 0.0
        else:
            counters.period_energy_wh += added
    return closed


def _counter(value: object) -> TypeGuard[int | float]:
    """A saved counter worth restoring: a finite number from 0 to COUNTER_MAX_WH."""
    return is_number(value) and within(value, (0.0, COUNTER_MAX_WH))


def export_counters(loads: Sequence[LoadState]) -> dict[str, dict[str, object]]:
    """The counters to persist, by load name."""
    return {
        s.cfg.name: {
            "day": s.counters.day.isoformat() if s.counters.day else None,
            "energy_wh": round(s.counters.energy_wh, 3),
            "run_s": round(s.counters.run_s, 3),
            "period_start": (
                s.counters.period_start.isoformat() if s.counters.period_start else None
            ),
            "period_energy_wh": round(s.counters.period_energy_wh, 3),
            "learnt_power_w": s.learnt_power_w,
        }
        for s in loads
    }


def restore_counters(loads: Sequence[LoadState], data: dict[str, dict[str, object]]) -> None:
    """Restore what :func:`export_counters` saved, into counters already accounted to
    now: a saved day or period that is not the current one is ignored, and so is any
    value that is not a plausible counter (a file saved before run times were counted has
    none: today's run time stays 0)."""
    for state in loads:
        saved = data.get(state.cfg.name)
        if not isinstance(saved, dict):
            continue
        counters = state.counters
        energy, period_energy = saved.get("energy_wh"), saved.get("period_energy_wh")
        day = counters.day.isoformat() if counters.day else None
        same_day = saved.get("day") == day
        if same_day and _counter(energy):
            counters.energy_wh = float(energy)
        run = saved.get("run_s")
        if same_day and _counter(run) and within(run, (0.0, DAY_S + 3600.0)):  # 25 h: DST
            counters.run_s = float(run)
        start = counters.period_start.isoformat() if counters.period_start else None
        if saved.get("period_start") == start and _counter(period_energy):
            counters.period_energy_wh = float(period_energy)
        learnt = saved.get("learnt_power_w")
        if _counter(learnt) and within(learnt, LIMITS.force_power_w) and learnt > 0:
            state.learnt_power_w = float(learnt)
