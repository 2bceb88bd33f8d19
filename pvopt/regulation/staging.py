"""Staging of on/off loads: which one starts or stops, at most one per decision.

An on/off load starts when the power it could have (its *budget*: export beyond the
target, plus what lower-priority dimmers take, minus what higher-priority dimmers still
want) exceeds its power plus ``start_margin`` for ``start_delay``, and recent shadows
would not have left more than ``start_max_import`` of its power uncovered; it stops when
that falls below its power for ``stop_delay`` or once it imports more than
``stop_max_import`` of its power; min on / min off hold. The budget is averaged
(exponentially, over ``start_delay`` while off and ``stop_delay`` while on): a passing
cloud neither starts nor stops anything, a lasting surplus or deficit does.

Power a dimmer found drawing nothing gave up (a thermostat cut) is no passing sun: for
``FAST_START_WINDOW_S`` an on/off load it covers ``FAST_START_FACTOR`` times over for
``FAST_START_S`` starts without waiting out ``start_delay``. (Power freed by temp_max is
not included: on the reference days it started loads that a heater re-armed by a draw then
took back from, importing; starts in general are reworked with prices.)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from pvopt.equipment.model import RegulationConfig
from pvopt.regulation.rules import Plan, minutes
from pvopt.regulation.state import BudgetAverage, LoadState

FAST_START_FACTOR = 2.0
FAST_START_S = 30.0
FAST_START_WINDOW_S = 300.0


@dataclass(frozen=True, slots=True)
class Staged:
    """The load a decision switched, and the change of the dimmers' total that keeps the
    grid where it was (−its power when it starts, +its power when it stops)."""

    state: LoadState
    dimmers_w: float


@dataclass(frozen=True, slots=True)
class Budget:
    """What an on/off load could have, as its verdict needs it."""

    now_w: float  # on this reading
    average_w: float
    shortfall_w: float  # averaged power it would import
    averaged_s: float  # how long it has been averaged
    since_switch_s: float | None
    power_w: float


@dataclass(frozen=True, slots=True)
class Verdict:
    """Switch or not, and why."""

    switch: bool
    reason: str


#: The verdict of an on load its budget covers (most of them, most of the time).
STAYS_ON = Verdict(switch=False, reason="on: surplus")


def average(
    budget: BudgetAverage,
    budget_w: float,
    power_w: float,
    tau_s: float,
    shortfall_tau_s: float,
    now: datetime,
) -> None:
    """Average, since the last switch, the budget over ``tau_s`` and the shortfall (the
    part of the load's power that the budget does not cover: what it imports, or would)
    over ``shortfall_tau_s``. A deep cloud shadow holds starts back for a while, which is
    what broken clouds need."""
    last = budget.at
    shortfall = max(power_w - budget_w, 0.0)
    if budget.average_w is None or last is None:
        budget.average_w, budget.since = budget_w, now
        budget.shortfall_avg_w = shortfall
    else:
        dt = (now - last).total_seconds()
        weight = 1.0 - math.exp(-dt / tau_s) if tau_s > 0 else 1.0
        budget.average_w += (budget_w - budget.average_w) * weight
        weight = 1.0 - math.exp(-dt / shortfall_tau_s) if shortfall_tau_s > 0 else 1.0
        budget.shortfall_avg_w += (shortfall - budget.shortfall_avg_w) * weight
    budget.at = now


def covered_s(
    budget: BudgetAverage, budget_w: float, power_w: float, now: datetime
) -> float | None:
    """How long the budget has covered the load FAST_START_FACTOR times over on every
    settled reading (None when it does not now)."""
    if budget_w < FAST_START_FACTOR * power_w:
        budget.covered_since = None
        return None
    if budget.covered_since is None:
        budget.covered_since = now
    return (now - budget.covered_since).total_seconds()


def start_verdict(
    b: Budget, covered: float | None, min_off_s: float, reg: RegulationConfig
) -> Verdict:
    """Does an off load start? ``covered``: how long a freed power has covered it twice
    over (None: no such power)."""
    power = b.power_w
    fast = covered is not None and covered >= FAST_START_S
    needed = power + reg.start_margin_w
    if covered is not None and not fast:
        return Verdict(
            switch=False,
            reason=f"off: surplus {b.now_w / 1000:.1f} kW steady, starts in "
            f"{FAST_START_S - covered:.0f} s if it lasts",
        )
    if not fast and (b.average_w < needed or b.now_w < power):
        return Verdict(
            switch=False, reason=f"off: surplus {max(b.average_w, 0):.0f} W of {needed:.0f}"
        )
    if not fast and b.shortfall_w > reg.start_max_import * power:
        return Verdict(
            switch=False, reason=f"off: surplus unsteady, would import {b.shortfall_w / power:.0%}"
        )
    since = b.since_switch_s
    if since is not None and since < min_off_s:
        return Verdict(switch=False, reason=f"off: min-off {minutes(min_off_s - since)} left")
    if not fast and b.averaged_s < reg.start_delay_s:
        return Verdict(
            switch=False,
            reason=f"off: starts in {minutes(reg.start_delay_s - b.averaged_s)} if surplus lasts",
        )
    return Verdict(
        switch=True, reason=f"on: surplus {b.now_w / 1000:.1f} kW steady" if fast else "on: surplus"
    )


def stop_verdict(b: Budget, min_on_s: float, reg: RegulationConfig) -> Verdict:
    """Does an on load stop?"""
    power = b.power_w
    if b.average_w >= power and b.shortfall_w <= reg.stop_max_import * power:
        return STAYS_ON
    since = b.since_switch_s
    if since is not None and since < min_on_s:
        return Verdict(switch=False, reason=f"on: min-on {minutes(min_on_s - since)} left")
    if b.averaged_s < reg.stop_delay_s:
        return Verdict(
            switch=False,
            reason=f"on: stops in {minutes(reg.stop_delay_s - b.averaged_s)} if import lasts",
        )
    return Verdict(
        switch=True,
        reason="off: not enough surplus"
        if b.average_w < power
        else f"off: imported {b.shortfall_w / power:.0%} of its power",
    )


def stage(
    loads: Sequence[LoadState],
    now: datetime,
    error_w: float,
    plan: Plan,
    reg: RegulationConfig,
    freed: bool,
) -> Staged | None:
    """Start or stop at most one on/off load (the first in priority order whose verdict
    says so). ``freed``: a dimmer was found drawing nothing within FAST_START_WINDOW_S."""
    caps, fixed = plan.caps, plan.fixed
    # The auto dimmers (the loads with a cap): the power they draw, and the power still
    # wanted up to their cap by those of higher priority than the load in hand.
    drawn = [s.power_w for s in loads if s.variable and s.name in caps]
    wanted: list[float] = []
    for state in loads:
        name = state.name
        if state.variable:  # dimmers have no budget to average
            state.budget.restart()
            cap = caps.get(name)
            if cap is not None:
                wanted.append(cap - state.power_w)
            continue
        if name in fixed:
            state.budget.restart()
            continue
        lower_var = sum(drawn[len(wanted) :])  # the lower-priority dimmers' power
        higher_want = sum(wanted)
        power = state.onoff_power_w
        budget_w = -error_w + lower_var - higher_want + (power if state.on else 0.0)
        tau = reg.stop_delay_s if state.on else reg.start_delay_s
        average(state.budget, budget_w, power, tau, reg.start_delay_s, now)
        assert state.budget.average_w is not None
        b = Budget(
            now_w=budget_w,
            average_w=state.budget.average_w,
            shortfall_w=state.budget.shortfall_avg_w,
            averaged_s=(now - state.budget.since).total_seconds() if state.budget.since else 0,
            since_switch_s=state.since_switch_s(now),
            power_w=power,
        )
        min_on, min_off = state.min_on_off_s
        if state.on:
            verdict = stop_verdict(b, min_on, reg)
        else:
            covered = covered_s(state.budget, budget_w, power, now)
            verdict = start_verdict(b, covered if freed else None, min_off, reg)
        plan.reasons[name] = verdict.reason
        if verdict.switch:
            starting = not state.on
            state.switch(power if starting else 0.0, now)
            return Staged(state=state, dimmers_w=-power if starting else power)
    return None
