"""Staging of on/off loads: which one starts or stops, at most one per decision.

An on/off load's *budget* is the power it could have: export beyond the target, plus
what lower-priority dimmers take, plus what the lower-priority on/off loads that
staging runs take (they stop once it starts), plus what higher-priority dimmers whose
need is met take, minus what the other higher-priority dimmers still want.

It starts on evidence. A clear surplus (the budget covers it ``FAST_START_FACTOR``
times over on every settled reading for ``FAST_START_S``, and no shadow fell on the
budget, a reading short of its power after one that covered it, within
``FAST_START_CLEAR_S``) starts it without waiting (``off: surplus 2.6 kW steady, starts
in 20 s if it lasts``), whatever freed the power: the sun, a heater reaching temp_max,
a thermostat cut (a cut's power, no passing sun, is not asked for that history). Any
other surplus, marginal or cloud-broken, waits as before: the averaged budget exceeds
its power plus ``start_margin`` for ``start_delay``, and recent shadows would not have
left more than ``start_max_import`` of its power uncovered (a load short of run time:
the square of the share it may import, :func:`start_verdict`). It stops when the averaged
budget falls below its power for ``stop_delay`` or once it imports more than
``stop_max_import`` of its power; min on / min off hold. The budget is averaged
(exponentially, over ``start_delay`` while off and ``stop_delay`` while on): a passing
cloud neither starts nor stops anything, a lasting surplus or deficit does. Each time
staging stopped the load for want of surplus in the last hour, its next averaged start
waits ``start_delay`` once more (:func:`recent_stops`): a load the clouds keep stopping
tries less and less often, so it never flaps.

Priority decides who gets a scarce surplus; it never leaves surplus on the grid. A
higher-priority dimmer gives way once its own need is met (``Plan.yielding``, see
:func:`~pvopt.regulation.rules.need_met`: a water heater from ``temp_eco`` +
``YIELD_HYSTERESIS_K`` until below ``temp_eco``, no ``min_energy`` short; ``yields:
false`` never): a water heater at its cap with 550 W exported no longer keeps a 750 W
pump off, the pump starts and the trim loop takes its power from the heater in the
same decision (:class:`Staged`). Below its need, the dimmer keeps strict priority,
and an on/off load started on its power stops once the need returns (after
``stop_delay``, min on holding). A heater re-armed below ``temp_sol_min`` after
temp_max is still above ``temp_eco``: it gives way to the load that its freed power
started, which runs on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from math import exp
from typing import Final

from pvopt.equipment.model import RegulationConfig
from pvopt.regulation.rules import Plan, minutes
from pvopt.regulation.state import BudgetAverage, LoadState

FAST_START_FACTOR = 2.0
FAST_START_S = 30.0
FAST_START_WINDOW_S = 300.0
#: … and without a shadow on its budget for this long (broken clouds wait the average).
FAST_START_CLEAR_S = 3600.0


@dataclass(frozen=True, slots=True)
class Staged:
    """The load a decision switched, and the change of the dimmers' total that keeps the
    grid where it was (−its power when it starts, +its power when it stops)."""

    state: LoadState
    dimmers_w: float


@dataclass(slots=True)
class Verdict:
    """Switch or not, and why (read-only: ``Final``, not frozen, one per on/off load and
    settled reading; see :class:`~pvopt.regulation.model.Decision`)."""

    switch: Final[bool]
    reason: Final[str]


#: The verdict of an on load its budget covers (most of them, most of the time).
STAYS_ON = Verdict(switch=False, reason="on: surplus")


#: Up to this many watts, :func:`short_of` keys its words on whole watts (far beyond any
#: load: it keeps ``round`` away from an infinite budget, which it cannot round).
WHOLE_WATTS_MAX = 1e9


def short_of(average_w: float, needed_w: float) -> Verdict:
    """The verdict of an off load whose averaged budget is short of ``needed_w``."""
    if average_w < 0:
        # keyed on whole watts, as the words say it: an import share moves needed_w by
        # fractions of a watt from one frame to the next
        return no_surplus(round(needed_w))
    if 0.5 <= average_w < WHOLE_WATTS_MAX and 0.5 <= needed_w < WHOLE_WATTS_MAX:
        # the same words, remembered per whole watts (the average moves by less than a
        # watt from one frame to the next, every sunny frame asks): from 0.5 W up,
        # round() and the ".0f" format both round half to even, to the same integer
        return surplus_short(round(average_w), round(needed_w))
    return Verdict(switch=False, reason=f"off: surplus {average_w:.0f} W of {needed_w:.0f}")


@lru_cache(maxsize=256)
def surplus_short(average_w: int, needed_w: int) -> Verdict:
    """The verdict of an off load whose averaged budget, ``average_w`` whole watts, is
    short of ``needed_w``: the words of :func:`short_of`, made once per pair."""
    return Verdict(switch=False, reason=f"off: surplus {average_w} W of {needed_w}")


@lru_cache(maxsize=16)
def no_surplus(needed_w: int) -> Verdict:
    """The verdict of an off load whose averaged budget is below zero (every night), one
    per power needed: the words of :func:`short_of`, made once."""
    return Verdict(switch=False, reason=f"off: surplus 0 W of {needed_w}")


def average(
    budget: BudgetAverage,
    budget_w: float,
    power_w: float,
    tau_s: float,
    shortfall_tau_s: float,
    now: datetime,
) -> float:
    """Average, since the last switch, the budget over ``tau_s`` and the shortfall (the
    part of the load's power that the budget does not cover: what it imports, or would)
    over ``shortfall_tau_s``; returns the budget's new average. A deep cloud shadow holds
    starts back for a while, which is what broken clouds need."""
    last = budget.at
    average_w = budget.average_w
    shortfall = power_w - budget_w
    shortfall = 0.0 if shortfall < 0.0 else shortfall  # max(shortfall, 0.0) without a call
    budget.at = now
    covering = shortfall == 0.0
    if budget.covering and not covering:
        budget.shadow_at = now  # a shadow: a running load would import from here
    budget.covering = covering
    if average_w is None or last is None:
        budget.average_w, budget.since = budget_w, now
        budget.shortfall_avg_w = shortfall
        return budget_w
    dt = (now - last).total_seconds()
    weight = 1.0 - exp(-dt / tau_s) if tau_s > 0 else 1.0
    average_w += (budget_w - average_w) * weight
    budget.average_w = average_w
    if shortfall_tau_s != tau_s:  # an off load averages both over start_delay: same weight
        weight = 1.0 - exp(-dt / shortfall_tau_s) if shortfall_tau_s > 0 else 1.0
    budget.shortfall_avg_w += (shortfall - budget.shortfall_avg_w) * weight
    return average_w


def averaged_s(budget: BudgetAverage, now: datetime) -> float:
    """How long the budget has been averaged (since its last restart)."""
    since = budget.since
    return (now - since).total_seconds() if since else 0


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


def shadow_s(budget: BudgetAverage, now: datetime) -> float | None:
    """How long ago the budget last fell short of the load after covering it (None:
    never)."""
    at = budget.shadow_at
    return None if at is None else (now - at).total_seconds()


def start_verdict(
    state: LoadState,
    budget_w: float,
    average_w: float,
    covered: float | None,
    freed: bool,
    now: datetime,
    reg: RegulationConfig,
    import_share: float = 0.0,
) -> Verdict:
    """Does an off load start? ``budget_w``: its budget on this reading, ``average_w``
    its average (its shortfall averaged in ``state.budget``); ``covered``: how long the
    budget has covered it FAST_START_FACTOR times over (None: it does not now);
    ``freed``: a dimmer was found drawing nothing lately. Such a clear surplus is
    evidence enough, unless a shadow fell on the budget within FAST_START_CLEAR_S (a
    power freed by a thermostat cut is no passing sun: no such history asked). How long it has been
    off, or averaged, is looked at only when the surplus would start it. ``import_share``:
    what a load short of run time may import of its power (:func:`~.rules.run_short`);
    a start, which commits its min_on, allows the square of it (a share of 44 % lets it
    start importing 19 %, and stay on importing 44 %): the choosier the more slack its
    run still has, as choosy as staying on once it has none."""
    power = state.onoff_power_w
    shadowed = ""  # a clear surplus held back by a recent shadow, for the reason
    if covered is not None and not freed:
        shadow = shadow_s(state.budget, now)
        if shadow is not None and shadow < FAST_START_CLEAR_S:
            covered = None  # broken clouds: the averaged wait decides
            shadowed = f"shadow {minutes(shadow)} ago, "
    fast = covered is not None and covered >= FAST_START_S
    steady = None  # the reason of a clear surplus that has not lasted FAST_START_S yet
    if covered is not None and not fast:
        steady = Verdict(
            switch=False,
            reason=f"off: surplus {budget_w / 1000:.1f} kW steady, starts in "
            f"{FAST_START_S - covered:.0f} s if it lasts",
        )
    start_share = import_share * import_share  # a start commits min_on: see above
    covers = 1.0 - start_share
    needed = (power + reg.start_margin_w) * covers
    if not fast and (average_w < needed or budget_w < power * covers):
        return steady or short_of(average_w, needed)
    shortfall_w = state.budget.shortfall_avg_w
    if not fast and shortfall_w > max(reg.start_max_import, start_share) * power:
        return steady or Verdict(
            switch=False, reason=f"off: surplus unsteady, would import {shortfall_w / power:.0%}"
        )
    since = state.since_switch_s(now)
    min_off_s = state.min_on_off_s[1]
    if since is not None and since < min_off_s:
        return Verdict(switch=False, reason=f"off: min-off {minutes(min_off_s - since)} left")
    waited_s = averaged_s(state.budget, now)
    wait_s = reg.start_delay_s * (1 + recent_stops(state.budget, now))
    if not fast and waited_s < wait_s:
        return steady or Verdict(
            switch=False,
            reason=f"off: {shadowed}starts in {minutes(wait_s - waited_s)} if surplus lasts",
        )
    return Verdict(
        switch=True,
        reason=f"on: surplus {budget_w / 1000:.1f} kW steady" if fast else "on: surplus",
    )


#: How long staging remembers that it stopped a load for want of surplus.
RESTART_MEMORY_S = 3600.0


def recent_stops(budget: BudgetAverage, now: datetime) -> int:
    """How many times staging stopped the load for want of surplus in the last
    RESTART_MEMORY_S: its next start waits start_delay once more for each (a load that
    the clouds keep stopping tries less and less often, so it never flaps)."""
    stops = budget.stops
    while stops and (now - stops[0]).total_seconds() > RESTART_MEMORY_S:
        del stops[0]
    return len(stops)


def stop_verdict(
    state: LoadState,
    average_w: float,
    now: datetime,
    reg: RegulationConfig,
    import_share: float = 0.0,
) -> Verdict:
    """Does an on load stop? ``average_w``: its budget's average (its shortfall averaged
    in ``state.budget``). How long it has been on, or averaged, is looked at only when
    the surplus no longer covers it."""
    power = state.onoff_power_w
    shortfall_w = state.budget.shortfall_avg_w
    limit = max(reg.stop_max_import, import_share)
    if average_w >= power * (1.0 - import_share) and shortfall_w <= limit * power:
        return STAYS_ON
    since = state.since_switch_s(now)
    min_on_s = state.min_on_off_s[0]
    if since is not None and since < min_on_s:
        return Verdict(switch=False, reason=f"on: min-on {minutes(min_on_s - since)} left")
    waited_s = averaged_s(state.budget, now)
    if waited_s < reg.stop_delay_s:
        return Verdict(
            switch=False,
            reason=f"on: stops in {minutes(reg.stop_delay_s - waited_s)} if import lasts",
        )
    return Verdict(
        switch=True,
        reason="off: not enough surplus"
        if average_w < power * (1.0 - import_share)
        else f"off: imported {shortfall_w / power:.0%} of its power",
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
    caps, fixed, reasons, yielding = plan.caps, plan.fixed, plan.reasons, plan.yielding
    start_tau_s, stop_tau_s = reg.start_delay_s, reg.stop_delay_s
    # The auto dimmers (the loads with a cap): the power they draw, and what those of
    # higher priority than the load in hand leave it: the power a yielding one draws, or
    # minus the power another still wants up to its cap.
    drawn: list[float] = []
    # The on/off loads staging runs (on, no rule fixing them): a higher-priority one may
    # take their power, they stop once it starts (their own budget falls short).
    staged_on: list[float] = []
    for s in loads:  # one pass for both
        power_w, variable = s.power_w, s.variable
        staged_on.append(power_w if not variable and power_w > 0 and s.name not in fixed else 0.0)
        if variable and s.name in caps:
            drawn.append(power_w)
    higher: list[float] = []
    # the same for a load short of its run time, which a water heater may also give way to
    higher_runs: list[float] = []
    gives, short = plan.gives_to_runs, plan.short
    counted = -1  # the dimmers counted in lower_var and higher_left (none yet)
    lower_var = higher_left = higher_runs_left = 0.0
    for index, state in enumerate(loads):
        name = state.name
        if state.variable:  # dimmers have no budget to average (theirs stays restarted)
            cap = caps.get(name)
            if cap is not None:
                power_w = state.power_w
                left_w = power_w if name in yielding else power_w - cap
                higher.append(left_w)
                higher_runs.append(power_w if name in gives else left_w)
            continue
        budget = state.budget
        if name in fixed:
            budget.restart()
            continue
        if counted != len(higher):  # a dimmer since the last on/off load (or the first)
            counted = len(higher)
            lower_var = sum(drawn[counted:])  # the lower-priority dimmers' power
            higher_left = sum(higher)
            higher_runs_left = sum(higher_runs)
        higher_w = higher_runs_left if name in short else higher_left
        power = state.onoff_power_w
        on = state.power_w > 0
        lower_onoff = sum(staged_on[index + 1 :])  # lower-priority loads it may displace
        budget_w = -error_w + lower_var + higher_w + lower_onoff + (power if on else 0.0)
        average_w = average(
            budget, budget_w, power, stop_tau_s if on else start_tau_s, start_tau_s, now
        )
        import_share = short.get(name, 0.0)
        if on:
            verdict = stop_verdict(state, average_w, now, reg, import_share)
        else:
            covered = covered_s(budget, budget_w, power, now)
            verdict = start_verdict(
                state, budget_w, average_w, covered, freed, now, reg, import_share
            )
        reasons[name] = verdict.reason
        if verdict.switch:
            return switch(state, power, now)
    return None


def switch(state: LoadState, power_w: float, now: datetime) -> Staged:
    """Switch an on/off load as its verdict says (``power_w``: its power when on); a stop
    is remembered (:func:`recent_stops`)."""
    on = state.power_w > 0
    if on:
        state.budget.stops.append(now)
    state.switch(0.0 if on else power_w, now)
    return Staged(state=state, dimmers_w=power_w if on else -power_w)
