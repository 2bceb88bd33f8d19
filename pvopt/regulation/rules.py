"""Per-load rules: which loads a mode, a limit or a grid-heating rule fixes this
evaluation, and the caps of the dimmers left to the trim loop.

In order, the first rule that applies wins: manual OFF; ``temp_max`` (whatever the mode);
manual ON; a forced run; off-peak grid heating below ``temp_min`` (up to ``temp_eco``;
in the window's last hour from below ``temp_eco`` too, unless the forecast expects the
sun to heat the tank, :func:`morning_top_up`; once the tank's rate is learnt, from the
latest start that still reaches the target by the window's end, :func:`heat_start`,
unless the sun is expected to fill the tank, :func:`sun_fills`);
the off-peak completion of a ``min_energy`` shortfall; an on/off load's
``daily_run_time`` need; ``min_energy`` done; a thermostat cut. A dimmer no rule fixes
is regulated up to its cap, and gives way to lower-priority on/off loads once its need
is met (:func:`need_met`); a tank full since ``temp_max`` (until below ``temp_sol_min``)
takes only the surplus left by every other load (:attr:`Plan.topping`); an on/off load
no rule fixes is staged. Safety sheds (stale data,
teleinfo offline) come before any rule (:mod:`~pvopt.regulation.plant`).

The run-time need (:func:`run_need`) starts an on/off load at the latest start that
still gets the run time it lacks today by ``latest_end`` (a margin of 2 % and a minute),
and holds it on until that run is done: whatever ran on surplus before counts, so the
sun has the day first and a sunny day needs no grid. Without a price forecast the
latest start is also the cheapest choice that leaves the sun first; placing the run in
a cheaper tariff period is left for later. Past ``latest_end`` the day's shortfall is
lost: the load is no longer forced, and its reason says how much it missed until local
midnight (:func:`missed`). Those rules and :func:`run_short` read the run left and today's
deadline from one :class:`RunTime` per load and evaluation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from functools import lru_cache
from math import exp
from statistics import NormalDist
from typing import Final

from pvopt.equipment.model import MIDNIGHT, VariablePowerConfig, clock_text
from pvopt.regulation.calendar import Calendar, span
from pvopt.regulation.model import Mode
from pvopt.regulation.prices import PriceView
from pvopt.regulation.state import Fixed, LoadState, TankState, Thresholds


@dataclass(slots=True)
class Plan:
    """What the rules decided for one evaluation (the later steps amend it)."""

    fixed: dict[str, float] = field(default_factory=dict)  # name → power, not regulated
    caps: dict[str, float] = field(default_factory=dict)  # name → cap of auto dimmers
    reasons: dict[str, str] = field(default_factory=dict)  # name → why
    notes: dict[str, str] = field(default_factory=dict)  # name → added to its reason
    #: auto dimmers whose need is met and that may give way to on/off loads (staging)
    yielding: set[str] = field(default_factory=set)
    #: water heaters full since ``temp_max`` (until below ``temp_sol_min``): they take
    #: only the surplus that no other load takes (last in the trim loop, yielding)
    topping: set[str] = field(default_factory=set)
    #: on/off loads fixed on by their run-time need: what the sun did not give them is
    #: bought, so they never take the sun from a water heater short of its need
    bought: set[str] = field(default_factory=set)
    #: on/off loads left to staging whose run time today is still short before their
    #: ``latest_end`` (what the sun does not give them will be bought) → the share of
    #: their power they may import (:func:`run_short`)
    short: dict[str, float] = field(default_factory=dict)
    #: auto water heaters that give way to those (:func:`gives_to_runs`)
    gives_to_runs: set[str] = field(default_factory=set)


def minutes(seconds: float) -> str:
    """A duration for a reason: seconds up to 90 s, minutes beyond."""
    if seconds >= 90:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"


#: The run-time need's margin: the run left, 2 % longer and a minute more, ends by
#: ``latest_end`` (``completion`` allows 5 %: a dimmer's power varies, a pump's does not).
RUN_MARGIN = 1.02
RUN_MARGIN_S = 60.0


def duration(seconds: float) -> str:
    """A duration for a reason: ``1 h 40`` (``4 h``) from an hour, else as
    :func:`minutes`."""
    if seconds < 3600:
        return minutes(seconds)
    hours, mins = divmod(round(seconds / 60), 60)
    return f"{hours} h {mins:02d}" if mins else f"{hours} h"


def clock(end: time) -> str:
    """``latest_end`` for a reason: ``20:00``, or ``midnight`` for 00:00."""
    return "midnight" if end == MIDNIGHT else clock_text(end)


#: A water heater whose need is met (``temp_eco`` reached) keeps giving way to on/off
#: loads until this far below ``temp_eco``: a tank hovering at ``temp_eco`` does not
#: toggle between giving way and strict priority, stopping a load it let start.
YIELD_HYSTERESIS_K = 2.0


def update_latches(state: LoadState, celsius: float | None, t: Thresholds | None) -> None:
    """The tank's latches: full from ``temp_max`` until below ``temp_sol_min``; grid
    heating from below ``temp_min`` until ``temp_eco``; need met from ``temp_eco`` +
    YIELD_HYSTERESIS_K until below ``temp_eco``; warm from ``temp_min`` +
    YIELD_HYSTERESIS_K until below ``temp_min`` (a silent probe: neither met nor warm)."""
    if t is None:
        return
    tank = state.tank
    if celsius is None:
        tank.need_met = tank.warm = False
        return
    if celsius >= t.eco_c + YIELD_HYSTERESIS_K:
        tank.need_met = True
    elif celsius < t.eco_c:
        tank.need_met = False
    if celsius >= t.min_c + YIELD_HYSTERESIS_K:
        tank.warm = True
    elif celsius < t.min_c:
        tank.warm = False
    if celsius >= t.max_c:
        tank.solar_full = True
    elif celsius < t.sol_min_c:
        tank.solar_full = False
    if celsius < t.min_c:
        tank.grid_heat, tank.top_up = True, False
    elif celsius >= t.eco_c:
        tank.grid_heat = tank.top_up = False


def completion(state: LoadState, calendar: Calendar, now: datetime, offpeak: bool) -> str | None:
    """Grid completion of a ``min_energy`` shortfall: only the missing energy, at full
    power, starting as late in the off-peak window as still completes it."""
    target = state.min_energy_wh
    if target is None or not offpeak:
        return None
    end = calendar.window_end(now)
    if end is None:
        return None
    cfg = state.cfg
    assert isinstance(cfg, VariablePowerConfig)
    short_wh = target - state.counters.period_energy_wh
    period_end = calendar.period(now, cfg.period_s).end
    if short_wh <= 0 or abs((period_end - end).total_seconds()) > 60:
        return None  # nothing missing, or not the last window of the period
    needed_s = short_wh / cfg.max_power_w * 3600.0 * 1.05 + 60.0  # 5 % + 1 min margin
    if now < end - timedelta(seconds=needed_s):
        return None
    return f"off-peak completion: {short_wh:.0f} Wh short"


@dataclass(slots=True)
class RunTime:
    """An on/off load's ``daily_run_time`` on one evaluation: the run it still lacks today
    and when that is due. Worked out once per evaluation (:func:`run_time`) for the three
    rules that read it (:func:`run_need`, :func:`missed`, :func:`run_short`). Read-only
    (``Final``, not frozen: one a frame, see :class:`~pvopt.regulation.model.Decision`)."""

    end: Final[time]  # latest_end (local)
    left_s: Final[float]  # the run time still missing today (≤ 0: met)
    deadline: Final[datetime]  # today's latest_end (UTC)


def run_time(state: LoadState, end: time, calendar: Calendar, now: datetime) -> RunTime:
    """The run-time state of an on/off load whose ``latest_end`` is ``end``."""
    return RunTime(
        end=end,
        left_s=state.daily_run_s - state.counters.run_s,
        deadline=calendar.deadline(now, end),
    )


def run_need(
    state: LoadState,
    run: RunTime,
    now: datetime,
    prices: PriceView,
    sun_wh: float | None = None,
) -> Fixed | None:
    """An on/off load's ``daily_run_time``: on from the latest start that still gets the
    run it lacks today by ``latest_end``, held on until that run is done (as it runs, the
    latest start moves no closer: only the hold keeps it on). A load already on is kept
    on from ``min_off`` earlier: stopped, it could not restart in time. In an off-peak
    window followed by dear peak hours (a red Tempo day) before ``latest_end``, the run is
    bought in the window instead, as late in it as still ends it there, less what the PV
    forecast's coming day is expected to give it (:data:`SUN_SHARE` of ``sun_wh`` at the
    forecast's quantile where a shortfall, ``peak_ratio`` times dearer, pays off:
    :func:`sun_quantile`); a load that is off starts at least its ``min_on`` before the
    window ends, since once started it runs that long. None:
    no need now (met, not yet due, or past ``latest_end``), left to staging."""
    need = state.need
    idle = need.idle_until
    if idle is not None and now < idle and not prices.offpeak:
        return None  # ~50 frames a minute, most hours of the day (a night may buy)
    need.idle_until = None
    left_s, deadline = run.left_s, run.deadline
    if left_s <= 0 or now >= deadline:
        need.until = None
        return None
    lead_s = left_s * RUN_MARGIN + RUN_MARGIN_S
    if state.on:
        lead_s += state.min_on_off_s[1]
    # Off-peak now, dearer later: buy now what the sun will not give. Before dear hours
    # whatever the forecast; before merely dearer ones only with a forecast (without,
    # the day's sun comes first).
    dear, ratio, why = prices.dear_from, prices.peak_ratio, prices.dear_why
    if dear is None and sun_wh is not None and ratio > 1.0:
        dear, why = prices.offpeak_until, f"{sun_wh / 1000:.1f} kWh of sun expected"
    if dear is not None and dear < deadline:
        # A shortfall would cost ratio times the night: count the sun's 1/ratio quantile.
        counted_wh = 0.0 if sun_wh is None else sun_wh * SUN_SHARE * sun_quantile(ratio)
        sun_s = counted_wh / state.onoff_power_w * 3600.0
        night_s = left_s - sun_s
        night_lead_s = lead_s - sun_s * RUN_MARGIN
        if not state.on:  # once started it runs min_on: all of it in the window
            night_lead_s = max(night_lead_s, state.min_on_off_s[0] + RUN_MARGIN_S)
        if night_s > 0 and (need.until == dear or now >= dear - timedelta(seconds=night_lead_s)):
            need.until = dear
            return Fixed(
                power_w=state.onoff_power_w,
                reason=f"run time: {duration(night_s)} to buy, off-peak: {why}",
                bought=True,
            )
        if need.until == dear:
            need.until = None
    if need.until != deadline:  # not held yet (or held for another day's need)
        latest = deadline - timedelta(seconds=lead_s)
        if now < latest:
            need.until = None
            need.idle_until = latest
            return None
        need.until = deadline
    return Fixed(
        power_w=state.onoff_power_w,
        reason=f"run time: {duration(left_s)} left by {clock(run.end)}",
        bought=True,
    )


def missed(run: RunTime, now: datetime) -> str | None:
    """What an on/off load lacked of its ``daily_run_time`` at ``latest_end``, said from
    then until local midnight (its run time starts afresh); None otherwise."""
    left_s = run.left_s
    if left_s <= 0 or now < run.deadline:
        return None
    return f"run time: {duration(left_s)} short at {clock(run.end)}"


def manual(state: LoadState, now: datetime) -> Fixed | None:
    """Manual ON, or a forced run (an on/off load runs when forced to half its power or
    more); None in AUTO."""
    full_power = state.full_power_w
    control = state.manual
    if control.mode is Mode.ON:
        return Fixed(power_w=full_power, reason="on: manual")
    if control.mode is not Mode.FORCED:
        return None
    power = min(control.forced_w, full_power)
    if not state.variable:
        power = full_power if control.forced_w >= full_power / 2 else 0.0
    until = control.forced_until
    left = f" for {minutes((until - now).total_seconds())}" if until else ""
    return Fixed(power_w=power, reason=f"forced {power:.0f} W{left}")


#: The share of the coming day's forecast PV an on/off load's run time counts on (the
#: house, the water heater and the clouds take the rest).
SUN_SHARE = 0.25
#: How far a day-ahead forecast of a day's PV energy may be off: the standard deviation
#: of the logarithm of actual over forecast (day-ahead errors of daily totals run at
#: 20-50 %, worst in winter).
SUN_SIGMA = 0.4


@lru_cache(maxsize=16)  # a function of the ratio alone, asked each frame of some nights
def sun_quantile(ratio: float) -> float:
    """How much of the forecast sun a night buy counts on, when a shortfall costs
    ``ratio`` times the night: buying x now at price 1 against the later price ``ratio``
    for what the sun leaves short is cheapest when the sun falls short of the rest with
    probability 1 / ratio (the newsvendor's quantile), i.e. counting the forecast's
    1 / ratio quantile: 0.70 of it before a red day (4.75), 1.0 at equal prices."""
    q = min(max(1.0 / ratio, 0.01), 0.99) if ratio > 0 else 0.99
    return exp(SUN_SIGMA * NormalDist().inv_cdf(q))


#: The coming day's sun: the PV forecast from the end of the off-peak night, this long.
SUN_DAY = timedelta(hours=14)
#: The sun is expected to heat the tank when the forecast brings this many hours of the
#: heater's full power (a house's own use, forecast errors and clouds leave it less).
SUN_HEATS_H = 2.0
#: Above the largest fall of the tank on the last mornings (:func:`watch_morning`), what
#: the off-peak heating keeps above ``temp_min`` when the sun is expected to bring the rest.
MORNING_MARGIN_K = 1.0
#: How many mornings are remembered, and how long one is watched at most.
MORNINGS = 7
MORNING_WATCH = timedelta(hours=8)


def watch_morning(state: LoadState, celsius: float | None, offpeak: bool, now: datetime) -> None:
    """Learn how far the morning's draws take the tank: from the end of each off-peak
    night, the fall to its lowest until it warms again by 1 K (the sun) or
    :data:`MORNING_WATCH` passes; the last :data:`MORNINGS` falls are kept. A silent probe
    abandons the morning."""
    watch = state.tank.morning
    if offpeak:
        watch.night, watch.since = True, None
        return
    if celsius is None:
        watch.night, watch.since = False, None
        return
    if watch.night:
        watch.night, watch.since = False, now
        watch.start_c = watch.low_c = celsius
        return
    if watch.since is None:
        return
    watch.low_c = min(watch.low_c, celsius)
    if celsius >= watch.low_c + 1.0 or now - watch.since >= MORNING_WATCH:
        watch.drops_k.append(watch.start_c - watch.low_c)
        del watch.drops_k[:-MORNINGS]
        watch.since = None


def morning_margin_k(state: LoadState) -> float | None:
    """What the off-peak heating keeps above ``temp_min`` for the morning: the largest
    fall of the last mornings and :data:`MORNING_MARGIN_K`; None before a morning is
    known."""
    drops = state.tank.morning.drops_k
    return max(drops) + MORNING_MARGIN_K if drops else None


@dataclass(frozen=True, slots=True)
class HeatTarget:
    """How far the off-peak hours heat a tank from the grid, and why."""

    celsius: float
    why: str  # "off-peak heating:" or "heating off-peak: red day from 06:00,"
    sun_wh: float | None  # the sun the forecast expects, when it lowered the target
    #: before dear hours: the forecast sun the target leaves room for (red_eve_target)
    room_wh: float | None = None


def sun_heats(sun_wh: float | None, heater_w: float) -> float | None:
    """The forecast sun (Wh) when it is expected to heat the tank: at least
    :data:`SUN_HEATS_H` hours of the heater's full power; None: not expected, or no
    forecast."""
    return sun_wh if sun_wh is not None and sun_wh >= heater_w * SUN_HEATS_H else None


def heat_target(
    tank: TankState,
    prices: PriceView,
    t: Thresholds,
    sun_wh: float | None,
    heater_w: float,
    margin_k: float | None,
) -> HeatTarget | None:
    """Before dear peak hours, ``temp_max`` less the room for the sun the forecast expects
    (:func:`red_eve_target`; unless full since it last reached it), or only
    ``temp_eco`` when the PV forecast expects the coming day's sun to bring the rest
    (``sun_wh``: at least :data:`SUN_HEATS_H` of the heater's power times the dear
    hours' price ratio; None, unknown: no). Else, from below ``temp_min``, ``temp_eco``,
    or only ``temp_min`` + ``margin_k`` (:func:`morning_margin_k`; None, no morning known
    yet: no) when the sun is expected. None: no grid heating."""
    sunny = sun_heats(sun_wh, heater_w)
    if prices.dear_from is not None:
        # hot water short in dear hours costs peak_ratio times the night: as much more sun
        needed_wh = heater_w * SUN_HEATS_H * prices.peak_ratio
        sunny = sun_wh if sun_wh is not None and sun_wh >= needed_wh else None
        dear = f"heating off-peak: {prices.dear_why},"
        if sunny is not None:
            return HeatTarget(celsius=t.eco_c, why=dear, sun_wh=sunny)
        if not tank.solar_full:
            return red_eve_target(tank, prices, t, sun_wh, dear)
    if not tank.grid_heat:
        return None
    if sunny is not None and margin_k is not None and t.min_c + margin_k < t.eco_c:
        margin_c = round(t.min_c + margin_k, 1)
        return HeatTarget(celsius=margin_c, why="off-peak heating:", sun_wh=sunny)
    return HeatTarget(celsius=t.eco_c, why="off-peak heating:", sun_wh=None)


#: The share of the dear day's forecast PV the night before it counts on to heat the
#: tank (the house, the on/off loads' run time and the clouds take the rest; measured:
#: the sun gave the heater a third of a red January day's PV, the pump running too).
HEAT_SUN_SHARE = 0.4
#: Learning how fast grid heating warms the tank takes at least this long a run.
RATE_LEARN = timedelta(minutes=10)
#: Readings further apart than this belong to different runs of grid heating.
RATE_GAP = timedelta(minutes=2)


def learn_heat_rate(tank: TankState, celsius: float, now: datetime, heater_w: float) -> None:
    """While the heater heats from the grid at full power, learn the tank's rise per Wh
    (:class:`~.state.HeatRate`) from the probe: over the run so far (a gap over
    :data:`RATE_GAP` starts a new one), once it lasted :data:`RATE_LEARN`. A draw
    meanwhile makes it look slower, never faster: the room it leaves for the sun is then
    smaller (:func:`red_eve_target`)."""
    rate = tank.rate
    last = rate.at
    rate.at = now
    if last is None or now - last > RATE_GAP or rate.since is None or rate.start_c is None:
        rate.start_c, rate.since = celsius, now
        return
    elapsed_s = (now - rate.since).total_seconds()
    if elapsed_s >= RATE_LEARN.total_seconds() and celsius > rate.start_c and heater_w > 0:
        rate.k_per_wh = (celsius - rate.start_c) / (heater_w * elapsed_s / 3600.0)


def red_eve_target(
    tank: TankState, prices: PriceView, t: Thresholds, sun_wh: float | None, dear: str
) -> HeatTarget:
    """The night before dear peak hours heats the tank to ``temp_max``, less the room for
    what the PV forecast expects the dear day's sun to give it (:data:`HEAT_SUN_SHARE`
    of ``sun_wh`` at the forecast's quantile where a shortfall, ``peak_ratio`` times
    dearer, pays off: :func:`sun_quantile`), in kelvins at the rate grid heating was
    learnt to warm it (:func:`learn_heat_rate`); never below ``temp_eco``. Without a
    forecast or before a rate is learnt: ``temp_max``."""
    k_per_wh = tank.rate.k_per_wh
    if sun_wh is None or k_per_wh is None:
        return HeatTarget(celsius=t.max_c, why=dear, sun_wh=None)
    counted_wh = sun_wh * HEAT_SUN_SHARE * sun_quantile(prices.peak_ratio)
    celsius = max(t.eco_c, round(t.max_c - counted_wh * k_per_wh, 1))
    room_wh = counted_wh if celsius < t.max_c else None
    return HeatTarget(celsius=celsius, why=dear, sun_wh=None, room_wh=room_wh)


#: The last part of an off-peak window, in which a tank below ``temp_eco`` is heated to
#: its :func:`heat_target` (:func:`morning_top_up`).
MORNING_BAND = timedelta(hours=1)


def top_up_due(
    tank: TankState, prices: PriceView, now: datetime, celsius: float, t: Thresholds
) -> bool:
    """Is this tank, not yet latched for off-peak heating, one the morning top-up is
    about: in the last :data:`MORNING_BAND` of an off-peak window cheaper than the peak
    hours after it (not on a base contract nor an EJP normal day: heat bought then costs
    what the morning's shortfall it spares would, and a warmer tank loses more), below
    ``temp_eco``?"""
    ends = prices.offpeak_until
    return (
        not tank.grid_heat
        and ends is not None
        and prices.peak_ratio > 1.0
        and now >= ends - MORNING_BAND
        and celsius < t.eco_c
    )


def morning_top_up(
    tank: TankState,
    prices: PriceView,
    now: datetime,
    celsius: float,
    t: Thresholds,
    sunny_wh: float | None,
) -> None:
    """In the last :data:`MORNING_BAND` of the off-peak window, latch the off-peak heating
    of a tank below ``temp_eco`` as of one below ``temp_min`` (:attr:`TankState.top_up`):
    the night ends at its :func:`heat_target`; heated late, the heat is kept for the
    morning's draws (a tank a tenth of a degree above ``temp_min`` is below it at the
    first one). Not when the forecast expects the sun to heat the tank (``sunny_wh``,
    :func:`sun_heats`; None: not expected, or no forecast): the morning's draws take the
    tank ~15 K, so the top-up's few kelvins only warm the start of the first shower (a
    tenth to a third of its heat spares water drawn below ``temp_min``: measured 0.16 of
    1.41 kWh on the winter day when a base contract still topped up, 0.24 of 0.74 on
    broken clouds) and the rest is heat the sun would have brought for nothing. Without a
    forecast, or on a grey day, the heat left after the draws is not lost: the tank keeps
    it for the evening."""
    if sunny_wh is None and top_up_due(tank, prices, now, celsius, t):
        tank.grid_heat = tank.top_up = True


def top_up_note(
    state: LoadState, prices: PriceView, now: datetime, sun_wh: float | None
) -> str | None:
    """The status note of a water heater whose morning top-up is left to the sun
    (:func:`morning_top_up`), or None."""
    t = state.thresholds
    celsius = state.celsius(now) if t is not None and prices.offpeak else None
    if celsius is None or t is None or celsius < t.min_c:
        return None
    sunny_wh = sun_heats(sun_wh, state.full_power_w)
    if sunny_wh is None or not top_up_due(state.tank, prices, now, celsius, t):
        return None
    return f"no morning top-up: sun expected {sunny_wh / 1000:.1f} kWh"


#: Off-peak grid heating starts as late as still reaches its target by the window's end
#: (:func:`heat_start`): the heat's time at the learnt rate, this much longer ...
LATE_FACTOR = 1.3
#: ... and this much earlier again (a draw meanwhile, a slower run than the last one).
LATE_PAD = timedelta(minutes=20)


def heat_start(
    rate_k_per_wh: float | None, ends: datetime, celsius: float, target_c: float, heater_w: float
) -> datetime | None:
    """The latest start of off-peak grid heating from ``celsius`` that still reaches
    ``target_c`` by ``ends`` (the window's end), at the rise per Wh the tank showed in its
    last run of grid heating (:func:`learn_heat_rate`), :data:`LATE_FACTOR` and
    :data:`LATE_PAD` to spare. Heat bought late loses less before the morning's draws
    (~60 W at 60 °C, 1.5 W/K in the simulator: 0.15 kWh a night for a 4 kWh top-up
    bought at 22:00 rather than 04:00) and leaves the window's first hours to what else
    may come (the sun of an afternoon window, a reload). None, no rate learnt yet (the
    first run of the first night, a restart): now."""
    if rate_k_per_wh is None or rate_k_per_wh <= 0 or heater_w <= 0:
        return None
    heat_s = (target_c - celsius) / rate_k_per_wh / heater_w * 3600.0
    return ends - timedelta(seconds=heat_s * LATE_FACTOR) - LATE_PAD


def sun_fills(
    rate_k_per_wh: float | None,
    t: Thresholds,
    target_c: float,
    sun_wh: float | None,
    margin_k: float | None,
) -> bool:
    """Does the PV forecast expect the coming day's sun (``sun_wh``) to fill the tank
    from its off-peak target up to ``temp_max``, and to make up what the morning's draws
    take (``margin_k``, :func:`morning_margin_k`)? Counted as the dear day's room is
    (:data:`HEAT_SUN_SHARE` of it), in kelvins at the learnt rate. Then the heat the night
    buys only has to carry the morning: what it loses overnight the sun brings back for
    nothing, so it is bought at once (bought late it would be more, kept warmer for the
    sun to find the tank fuller); else the tank keeps all of it, and it is put off
    (:func:`heat_start`). No forecast or no rate: no."""
    if sun_wh is None or rate_k_per_wh is None:
        return False
    room_k = t.max_c - target_c + (margin_k or 0.0)
    return sun_wh * HEAT_SUN_SHARE * rate_k_per_wh >= room_k


@dataclass(frozen=True, slots=True)
class PutOff:
    """Off-peak grid heating put off to its :func:`heat_start`: the heater is left to the
    regulation (the sun of an afternoon window) until then, and its reason says so."""

    note: str


def grid_heating(
    state: LoadState,
    calendar: Calendar,
    now: datetime,
    prices: PriceView,
    celsius: float | None,
    t: Thresholds | None,
    sun_wh: float | None,
) -> Fixed | PutOff | None:
    """Off-peak grid heating of a water heater at full power up to its
    :func:`heat_target`, from the latest start that still reaches it by the window's end
    (:func:`heat_start`; once begun, on to the target), unless the sun is expected to
    fill the tank (:func:`sun_fills`); None: none now."""
    if celsius is None or t is None:
        return None
    tank = state.tank
    margin_k = morning_margin_k(state)
    target = heat_target(tank, prices, t, sun_wh, state.full_power_w, margin_k)
    if target is None or celsius >= target.celsius:
        return None
    sun = "" if target.sun_wh is None else f", sun expected: {target.sun_wh / 1000:.1f} kWh"
    if target.room_wh is not None:
        sun = f", room for {target.room_wh / 1000:.1f} kWh of sun"
    morning = " for the morning's draws" if tank.top_up and prices.dear_from is None else ""
    heating = f"{target.why} {celsius:.1f} °C, up to {target.celsius:g} °C{morning}"
    ends = prices.offpeak_until
    k_per_wh = tank.rate.k_per_wh
    if (
        ends is not None
        and tank.heating_for != ends
        and not sun_fills(k_per_wh, t, target.celsius, sun_wh, margin_k)
    ):
        start = heat_start(k_per_wh, ends, celsius, target.celsius, state.full_power_w)
        if start is not None and now < start:
            return PutOff(note=f"{heating}, starts {start.astimezone(calendar.tz):%H:%M}{sun}")
    tank.heating_for = ends  # begun: on to the target, whatever comes
    return Fixed(power_w=state.full_power_w, reason=f"{heating}{sun}")


def automatic(
    state: LoadState,
    calendar: Calendar,
    now: datetime,
    prices: PriceView,
    celsius: float | None,
    t: Thresholds | None,
    sun_wh: float | None,
) -> Fixed | PutOff | None:
    """The rules of a dimmer in AUTO (below ``temp_max``); None or :class:`PutOff`: left
    to the regulation. (An on/off load's only rule in AUTO is its run-time need,
    :func:`run_need`.)"""
    tank = state.tank
    offpeak = prices.offpeak
    put_off = None
    if offpeak and celsius is not None and t is not None:
        morning_top_up(tank, prices, now, celsius, t, sun_heats(sun_wh, state.full_power_w))
        heating = grid_heating(state, calendar, now, prices, celsius, t, sun_wh)
        if isinstance(heating, Fixed):
            learn_heat_rate(tank, celsius, now, heating.power_w)
            return heating
        put_off = heating
    target = state.min_energy_wh
    if (
        target is not None
        and offpeak
        and (done := completion(state, calendar, now, offpeak)) is not None
    ):
        return Fixed(power_w=state.full_power_w, reason=done)
    if target is not None and state.counters.period_energy_wh >= target:
        return Fixed(
            power_w=0.0,
            reason=f"done: {state.counters.period_energy_wh:.0f} Wh of {target:.0f} Wh",
        )
    until = state.cut.until
    if until is not None and now < until:
        return Fixed(power_w=0.0, reason="full: thermostat cut")
    return put_off


def full(state: LoadState, celsius: float, t: Thresholds) -> Fixed:
    """A water heater kept off at ``temp_max``. The same probe reading (the same float
    object) and thresholds make the same words: remembered (:class:`~.state.FullWords`)."""
    said = state.tank.full
    fixed = said.fixed
    if fixed is not None and said.celsius is celsius and said.thresholds is t:
        return fixed
    fixed = Fixed(power_w=0.0, reason=f"full: {celsius:.1f} °C ≥ temp_max {t.max_c:g} °C")
    said.celsius, said.thresholds, said.fixed = celsius, t, fixed
    return fixed


def rule(
    state: LoadState,
    calendar: Calendar,
    now: datetime,
    prices: PriceView,
    sun_wh: float | None = None,
    run: RunTime | None = None,
) -> Fixed | PutOff | None:
    """The first rule that fixes this load now (see the module docstring), or None (or
    off-peak heating put off: :class:`PutOff`, left to the regulation as None is).
    ``run``: an on/off load's run-time state, when the caller worked it out already."""
    control = state.manual
    if control.forced_until is not None:
        control.expire(now)
    t = state.thresholds
    celsius = None
    if t is not None:  # a temperature-driven load
        celsius = state.celsius(now)
        update_latches(state, celsius, t)
        watch_morning(state, celsius, prices.offpeak, now)
    mode = control.mode
    if mode is Mode.OFF:
        return Fixed(power_w=0.0, reason="off: manual")
    if celsius is not None and t is not None and celsius >= t.max_c:
        return full(state, celsius, t)
    if mode is not Mode.AUTO:
        return manual(state, now)
    end = state.latest_end
    if end is not None:  # an on/off load: the dimmers' rules do not apply
        if run is None:
            run = run_time(state, end, calendar, now)
        return run_need(state, run, now, prices, sun_wh)
    return automatic(state, calendar, now, prices, celsius, t, sun_wh)


def need_met(state: LoadState, sun_left_wh: float | None = None) -> bool:
    """May this auto dimmer give way to a lower-priority on/off load (``yields``, the
    default)? Only once its own need is met "enough": a water heater that reached
    ``temp_eco`` (what off-peak heating would bring it to) + YIELD_HYSTERESIS_K and has
    not cooled below ``temp_eco`` since (the tank's latch, :func:`update_latches`; a
    silent probe is unknown, not met), and, with a PV forecast (``sun_left_wh``: what it
    expects from now to midnight), while the day's sun left can still bring it
    :data:`SUN_HEATS_H` of its full power (else the evening's draws would find a tank
    that gave its sun away); and no ``min_energy`` still short this period; a plain
    dimmer has no need. Below it, strict priority: the surplus is the dimmer's first."""
    cfg = state.cfg
    if not isinstance(cfg, VariablePowerConfig) or not cfg.yields:
        return False
    if state.thresholds is not None and not state.tank.solar_full:
        if not state.tank.need_met:
            return False
        if sun_left_wh is not None and sun_heats(sun_left_wh, state.full_power_w) is None:
            return False
    return min_energy_met(state)


def min_energy_met(state: LoadState) -> bool:
    """No ``min_energy`` still short this period (none set: met)."""
    target = state.min_energy_wh
    return target is None or state.counters.period_energy_wh >= target


def gives_to_runs(state: LoadState, prices: PriceView) -> bool:
    """Does this auto water heater, whose need is not met yet, give way to the on/off
    loads still short of their run time today (:attr:`Plan.short`)? In peak hours
    followed by a cheaper night (:attr:`PriceView.night_ratio`), while the tank is warm
    (from ``temp_min`` + YIELD_HYSTERESIS_K until below ``temp_min``) and no
    ``min_energy`` is short: a run time the sun does not give is bought at latest start,
    in peak hours, when the sun's heat would only have saved the night's cheaper grid
    heating. Not on a base contract (every hour costs the same), nor with ``yields:
    false``."""
    cfg = state.cfg
    if not isinstance(cfg, VariablePowerConfig) or not cfg.yields or state.thresholds is None:
        return False
    if prices.offpeak or prices.night_ratio <= 1.0 or not state.tank.warm:
        return False
    return min_energy_met(state)


def run_short(
    run: RunTime, now: datetime, prices: PriceView, sun_until: datetime | None = None
) -> float | None:
    """An on/off load whose run time today is still short before its ``latest_end``: the
    share of its power it may import when staged (a start, which commits its min_on,
    the square of it: :func:`~.staging.start_verdict`; None: not short). What the sun does not
    give it will be bought at its latest start, in peak hours: importing part of it now,
    during a cloud, costs no more, only the sun a later hour might have given. So the
    share is the part of the time the sun can still give it that its run left needs
    (the closer to the sun's end, the less choosy): that time ends at ``latest_end``, or
    earlier at ``sun_until``, when the PV forecast expects the sun to stop covering its
    power (:attr:`Sun.runs_covered`; passed: all of it, as the rest is bought anyway);
    0 (the usual limits) off-peak, or when its latest start falls in cheaper off-peak
    hours ahead, where the run would be bought for less."""
    left_s, deadline = run.left_s, run.deadline
    if left_s <= 0 or now >= deadline:
        return None
    if prices.offpeak:
        return 0.0
    starts = prices.next_offpeak
    if prices.night_ratio > 1.0 and starts is not None:  # a cheaper night ahead
        latest = deadline - span(left_s * RUN_MARGIN + RUN_MARGIN_S)
        if latest >= starts:
            return 0.0
    if sun_until is not None and sun_until < deadline:
        if sun_until <= now:
            return 1.0
        deadline = sun_until
    return min(left_s / (deadline - now).total_seconds(), 1.0)


def bought_w(loads: Sequence[LoadState], plan: Plan) -> float:
    """The power of the loads run for their run-time need (already on) that a
    higher-priority water heater short of its need (an auto dimmer with a probe, not
    yielding) would otherwise lose its sun to: the trim loop lets the grid carry it, so
    the heater keeps the sun it had and the run is bought, as it would be anyway."""
    if not plan.bought:
        return 0.0
    short = False
    total_w = 0.0
    for state in loads:
        name = state.name
        if state.variable:
            gives = name in plan.yielding or name in plan.gives_to_runs
            if name in plan.caps and not gives and state.thresholds is not None:
                short = True
        elif short and name in plan.bought and state.power_w > 0:
            total_w += state.power_w
    return total_w


@dataclass(frozen=True, slots=True)
class Sun:
    """What the PV forecast expects (Wh; None: unknown, never 0)."""

    ahead_wh: float | None  # the day after the off-peak window in progress (SUN_DAY)
    left_today_wh: float | None  # from now to local midnight
    #: per on/off load with a run time: until when today the forecast expects the PV to
    #: cover its power (:meth:`~pvopt.forecast.PvForecast.covered_until`; now or
    #: earlier: no longer today); a load absent: unknown
    runs_covered: Mapping[str, datetime] = field(default_factory=dict)


NO_SUN = Sun(ahead_wh=None, left_today_wh=None)


def plan(
    loads: Sequence[LoadState],
    calendar: Calendar,
    now: datetime,
    prices: PriceView,
    sun: Sun = NO_SUN,
) -> Plan:
    """The rules of every load: what they fix, the caps of the auto dimmers, and the
    notes of on/off loads left to staging that missed their run time today."""
    result = Plan()
    fixed, caps, reasons, notes = result.fixed, result.caps, result.reasons, result.notes
    yielding, topping, bought = result.yielding, result.topping, result.bought
    short, gives = result.short, result.gives_to_runs
    ahead_wh = sun.ahead_wh
    for state in loads:
        end = state.latest_end
        run = None if end is None else run_time(state, end, calendar, now)
        ruling = (
            rule(state, calendar, now, prices, ahead_wh, run)
            # could a rule fix it? Not an AUTO load without configured rules nor a
            # thermostat cut (opportunistic on/off loads, plain dimmers): rule() says None
            if state.configured_rules
            or state.manual.mode is not Mode.AUTO
            or state.cut.until is not None
            else None
        )
        if isinstance(ruling, Fixed):
            fixed[state.name] = ruling.power_w
            reasons[state.name] = ruling.reason
            if ruling.bought:
                bought.add(state.name)
        elif state.variable:
            caps[state.name] = state.full_power_w
            if need_met(state, sun.left_today_wh):
                yielding.add(state.name)
            elif gives_to_runs(state, prices):
                gives.add(state.name)
            t = state.thresholds
            if t is not None and state.tank.solar_full:
                topping.add(state.name)
                reasons[state.name] = f"full: surplus left only, re-arms below {t.sol_min_c:g} °C"
            elif ruling is not None:
                notes[state.name] = ruling.note
            elif note := top_up_note(state, prices, now, ahead_wh):
                notes[state.name] = note
        elif run is not None:
            if note := missed(run, now):
                notes[state.name] = note
            elif (
                share := run_short(run, now, prices, sun.runs_covered.get(state.name))
            ) is not None:
                short[state.name] = share
    return result
