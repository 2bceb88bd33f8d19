"""Two other decision cores for the simulated house, to compare pvopt against.

Both implement :class:`~pvopt.regulation.policy.Policy` on a
:class:`~pvopt.regulation.plant.Plant`, as pvopt's regulation does: they share its frame
(the stale-data and teleinfo-offline safety, ``tick`` and its resends, the payloads,
outputs and decisions, the energy counters) and differ only in how an evaluation
decides. ``scenarios.build(name, seed, controller=OriginalRegulator)`` runs one.

:class:`OriginalRegulator` — the original ``photovoltaic_optimizer`` (the
brunoToulouse fork, ``research/upstream.md`` §1.2 and §2.3):

- **Throttle**: at most one evaluation per ``EVALUATION_PERIOD`` (5 s); frames in between
  change nothing (with a frame every ~1.2 s, one evaluation every 5 frames ≈ 6 s).
- **Error and band**: ``error = grid − target``. Outside ±``BALANCE_THRESHOLD`` (50 W)
  of the target, a quarter of the error is given to (or taken from) the equipment;
  inside, nothing moves. The fork aimed at 0 W (its ``MARGIN`` is unused); the target
  here is the site's ``target_grid_power``, so that every controller is judged against
  the same target.
- **Increase walk** (export): the power, ``−error / 4``, goes to the equipment in
  priority order; each takes what it can and passes the rest on. A dimmer takes up to its
  ``max_power``, but refuses a step that would leave it under ``MINIMUM_POWER`` (50 W);
  a constant-power load starts when what reaches it covers its power.
- **Decrease walk** (import): ``error / 4`` is taken back in reverse priority order, the
  last equipment first; a dimmer falling under 50 W goes to 0; a constant-power load
  stops, giving back its whole power.
- **Off-peak (HC) forcing**, before the walks: in the off-peak window a water heater that
  "needs forcing" goes straight to ``max_power``. Temperature-driven (probe): it needs
  forcing from ``0 < T ≤ temp_min`` until ``T ≥ temp_eco``, and nothing switches it off
  there — once the need ends, the decrease walk ramps it down by a quarter of the import
  per evaluation, as in the fork. Energy-bucket (``min_energy``): it needs forcing when
  the two last completed periods each got less than ``min_energy`` and this one has not
  reached it yet. Forced loads are left out of the walks.
- **Full**: a temperature-driven heater is full from ``T ≥ temp_max`` until
  ``T < temp_sol_min`` (the fork's "ready" latch); an energy-bucket load once its period
  got ``min_energy``. A full load is off and left out of the walks.
- **Active power**: the fork turns SINSTS/SINSTI (VA) into W with a reactive power
  differentiated from the ERQ indexes. A :class:`MeterSample` carries no ERQ, so the
  reactive power is taken as 0 (the simulated house has a power factor of 1): the
  correction is a no-op and VA are used as W, as pvopt's core does.

Known bugs of the original, fixed here so that the algorithm runs (numbers of
``research/upstream.md`` §6):

- (2) ``TempDrivenVariablePowerEquipment.increase_power_by`` returned ``None``, which
  stopped the increase walk at the water heater even when it was full or at its cap:
  it returns the power it did not use, like ``VariablePowerEquipment``.
- (3) ``ConstantPowerEquipment`` / ``UnknownPowerEquipment`` could not be constructed and
  lacked the methods the walk calls; they are implemented with upstream's rules
  (§2.1), send their on/off payload on their configured topic (the fork had a
  hard-coded ``wifi_plug/0`` and Unknown sent nothing), and hold the configured
  ``min_on`` / ``min_off`` times (the original had none). Upstream's Unknown *flipped*
  its state in both walks; here the increase walk only switches it on (when what reaches
  it covers its expected power) and the decrease walk only off, and either ends the
  walk, as upstream's ``None`` did ("wait for the next measurement").
- (7) The frame's safety: meter data older than ``stale_timeout`` or teleinfo offline
  shed every load (the original kept the last values forever). A probe silent for
  longer than ``probe_timeout`` counts as unknown — no HC forcing, no "full" latch, the
  heater is regulated as a plain dimmer inside its own thermostat — instead of freezing
  the last temperature (and the fork's first "temperature", ``temp_max`` before any
  reading, is "unknown" too).
- (10, 12) ``temp_max`` cuts the heater in every branch and every mode, and a manual mode
  is never overridden by the "ready" check: manual ON/OFF and forced runs
  (``regulation/control``) stand, and are left out of the walks and of HC forcing.
- (13) Energy counters (for ``min_energy``) are the frame's: reset each period, commanded
  power integrated at every frame.

Left as it ran: (6) the preemption branch of the increase walk is dead code in the
original (no equipment ever reports a need), so by default a constant-power load only
starts when the power that reaches it *in the walk* covers its power — under the 1/4 gain
that takes an export of 4× its power beyond what the loads before it took. With
``preemption=True`` (``functools.partial(OriginalRegulator, preemption=True)`` as the
``controller``) the branch is made live, as upstream's walk was written: a constant-power
load that cannot start reports the power it misses (negative); if the loads behind it draw
enough, they are decreased (last first) by that much and it starts on the power freed plus
the power available — a higher-priority on/off load takes over what a dimmer behind it was
diverting.

:class:`NoRegulation` — a French house without a router: nothing is diverted. The water
heater (a ``VariablePowerEquipment`` with id ``water_heater``, or any temperature-driven
one) heats at full power in the off-peak window, as on a *heures creuses* contactor; only
the tank's own thermostat stops it. An on/off load that needs a run time each day
(``daily_run_time`` > 0, a pool pump's filtration) is on a plain timer: on every local day
from ``timer_start`` (default ``latest_end`` − ``daily_run_time``) for ``daily_run_time``,
by the wall clock as a timer switch keeps it (a window spanning a DST change runs an hour
less in spring, an hour more in autumn; a time the clocks skip switches at the jump, a
repeated one at its first occurrence). Other on/off loads (opportunistic: surplus only)
and other dimmers stay off. The timer ignores ``min_on``/``min_off`` and manual modes
(there is no router to obey them); the stale-data safety still sheds every load.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from pvopt.equipment.model import (
    ConstantPowerConfig,
    Contract,
    EquipmentConfig,
    SiteConfig,
    TempDrivenVariablePowerConfig,
    TimerWindow,
    UnknownPowerConfig,
    VariablePowerConfig,
    clock_text,
)
from pvopt.regulation.accounting import ClosedPeriod
from pvopt.regulation.calendar import at_least
from pvopt.regulation.model import Decision, MeterSample, Mode
from pvopt.regulation.plant import OnPlant, Plant
from pvopt.regulation.state import LoadState, Thresholds

#: The original's ``EVALUATION_PERIOD``: evaluations at least this far apart (s).
EVALUATION_PERIOD_S = 5.0
#: EVALUATION_PERIOD_S as a duration a timedelta compares with exactly (see ``at_least``).
EVALUATION_PERIOD = at_least(EVALUATION_PERIOD_S)
#: The original's ``BALANCE_THRESHOLD``: no change within this of the target (W).
BALANCE_THRESHOLD_W = 50.0
#: The fork's gain: the error is multiplied by this before it is given to the equipment.
GAIN = 0.25
#: The fork's ``MINIMUM_POWER`` of a dimmer (W): below it, the dimmer is off.
MINIMUM_POWER_W = 50.0


def _left(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


class OriginalRegulator(OnPlant):
    """The original photovoltaic_optimizer algorithm (see the module docstring)."""

    def __init__(self, site: SiteConfig, tz: ZoneInfo, *, preemption: bool = False) -> None:
        self.plant = Plant(site, tz, on_period_closed=self._period_closed)
        self.cfg = site.regulation
        self.preemption = preemption  # upstream's dead preemption branch made live
        self._last_step: datetime | None = None
        # Energy of the last two completed min_energy periods, per load (oldest first): the
        # fork's ``previous_energy`` / ``current_energy``, for ``needToBeForced``.
        self._completed: dict[str, deque[float]] = {s.cfg.name: deque(maxlen=2) for s in self.loads}

    # -- evaluation -------------------------------------------------------------------------

    def evaluate(self, sample: MeterSample, now: datetime) -> Decision:
        """One meter frame: the safety checks of the frame, then at most one step of the
        original algorithm every ``EVALUATION_PERIOD_S``."""
        shed = self.plant.admit(sample, now)
        if shed is not None:
            return shed
        last = self._last_step
        if last is None or now - last >= EVALUATION_PERIOD:
            self._last_step = now
            self._step(sample, now)
        grid_w = sample.grid_w
        return self.plant.decision(now, grid_w, self.plant.surplus_w(grid_w))

    def _period_closed(self, period: ClosedPeriod) -> None:
        self._completed[period.state.cfg.name].append(period.energy_wh)

    def _step(self, sample: MeterSample, now: datetime) -> None:
        """One evaluation of the original: HC forcing and fixed loads, then one walk. Its
        off-peak is its HC_START_TIME–HC_END_TIME window alone (it never read the meter's
        tariff)."""
        offpeak = self.plant.calendar.offpeak(now, None)
        loads = self.plant.loads
        before = [s.power_w for s in loads]
        reasons: dict[str, str] = {}
        walked: list[LoadState] = []
        fixed_names: set[str] = set()
        for state in loads:
            fixed = self._fixed(state, now, offpeak)
            if fixed is None:
                walked.append(state)
                continue
            fixed_names.add(state.name)
            power, reasons[state.name] = fixed
            state.set_fixed(power, now)
        error_w = sample.grid_w - self.cfg.target_grid_w
        in_band = abs(error_w) <= BALANCE_THRESHOLD_W
        if error_w > BALANCE_THRESHOLD_W:
            self._decrease_walk(walked, GAIN * error_w, now, reasons)
        elif error_w < -BALANCE_THRESHOLD_W:
            self._increase_walk(walked, -GAIN * error_w, now, reasons)
        for state, was_w in zip(loads, before, strict=True):
            name = state.name
            delta = state.power_w - was_w
            if name in fixed_names:
                state.reason = reasons[name]
            elif abs(delta) >= 0.5:
                switched = "" if state.variable else (" (on)" if state.on else " (off)")
                state.reason = f"baseline: {delta:+.0f} W{switched}"
            elif name in reasons:
                state.reason = reasons[name]
            else:
                state.reason = "baseline: hold (in band)" if in_band else "baseline: hold"

    # -- which loads the walks leave alone --------------------------------------------------

    def _fixed(self, state: LoadState, now: datetime, offpeak: bool) -> tuple[float, str] | None:
        """(power, reason) of a load the walks leave alone this evaluation — manual mode,
        forced run, ``temp_max``, HC forcing, full — or None for a load they drive."""
        control = state.manual
        if control.forced_until is not None:  # only a timed mode expires
            control.expire(now)
        temps = state.thresholds
        # Only a temperature-driven load has thresholds, and a probe to read.
        celsius = state.celsius(now) if temps is not None else None
        if temps is not None and celsius is not None:
            tank = state.tank
            if celsius >= temps.max_c:
                tank.solar_full = True
            elif celsius < temps.sol_min_c:
                tank.solar_full = False
            if 0 < celsius <= temps.min_c:
                tank.grid_heat = True
            elif celsius >= temps.eco_c:
                tank.grid_heat = False
        mode = control.mode
        if mode is Mode.OFF:
            return 0.0, "off: manual"
        if temps is not None and celsius is not None and celsius >= temps.max_c:
            return 0.0, f"full: {celsius:.1f} °C ≥ temp_max {temps.max_c:g} °C"
        if mode is not Mode.AUTO:
            return self._manual(state)
        return self._auto_fixed(state, celsius, temps, offpeak)

    def _auto_fixed(
        self,
        state: LoadState,
        celsius: float | None,
        temps: Thresholds | None,
        offpeak: bool,
    ) -> tuple[float, str] | None:
        """The rules of the original for a load in auto mode: HC forcing, then full."""
        if offpeak and self._needs_forcing(state, celsius):
            return state.full_power_w, "off-peak heating (baseline): needs forcing"
        if temps is not None and celsius is not None and state.tank.solar_full:
            return (
                0.0,
                f"full: {celsius:.1f} °C, solar heating re-arms below {temps.sol_min_c:g} °C",
            )
        target = _min_energy(state.cfg)
        done_wh = state.counters.period_energy_wh
        if target is not None and done_wh >= target:
            return 0.0, f"done: {done_wh:.0f} Wh of {target:.0f} Wh"
        return None

    @staticmethod
    def _manual(state: LoadState) -> tuple[float, str]:
        """(power, reason) of a load in manual ON or in a forced run."""
        full_power = state.full_power_w
        if state.mode is Mode.ON:
            return full_power, "on: manual"
        forced_w = state.manual.forced_w
        power = min(forced_w, full_power)
        if not state.variable:  # upstream: on when forced to at least its power
            power = full_power if forced_w >= full_power else 0.0
        return power, f"forced {power:.0f} W"

    def _needs_forcing(self, state: LoadState, celsius: float | None) -> bool:
        """The fork's ``needToBeForced()``: a cold tank, or two short energy periods."""
        if isinstance(state.cfg, TempDrivenVariablePowerConfig):
            return celsius is not None and state.tank.grid_heat
        target = _min_energy(state.cfg)
        if target is None or state.counters.period_energy_wh >= target:
            return False
        completed = self._completed[state.cfg.name]
        return len(completed) == completed.maxlen and all(e < target for e in completed)

    # -- the walks --------------------------------------------------------------------------

    def _increase_walk(
        self, walked: list[LoadState], power_w: float, now: datetime, reasons: dict[str, str]
    ) -> None:
        """Give ``power_w`` to the loads in priority order, each passing on what it does
        not take. With :attr:`preemption`, an on/off load that misses power may take it
        from the loads behind it (upstream's dead branch made live)."""
        available = power_w
        for index, state in enumerate(walked):
            left = self._increase(state, available, now, reasons)
            if left is None:  # an unknown-power load switched: wait for the meter
                return
            if left < 0:
                need = -left
                behind = walked[index + 1 :]
                if not self.preemption or sum(self._sheddable_w(s, now) for s in behind) < need:
                    continue  # it cannot start: the next load gets the same power
                freed = 0.0
                for other in reversed(behind):
                    if freed >= need:
                        break
                    freed += self._decrease(other, need - freed, now, reasons) or 0.0
                left = self._increase(state, available + freed, now, reasons)
                if left is None:
                    return
                left = max(left, 0.0)
            available = left
            if available <= 0:
                return

    def _decrease_walk(
        self, walked: list[LoadState], power_w: float, now: datetime, reasons: dict[str, str]
    ) -> None:
        """Take ``power_w`` back in reverse priority order (the last load first)."""
        excess = power_w
        for state in reversed(walked):
            removed = self._decrease(state, excess, now, reasons)
            if removed is None:  # an unknown-power load switched: wait for the meter
                return
            excess -= removed
            if excess <= 0:
                return

    def _sheddable_w(self, state: LoadState, now: datetime) -> float:
        """What a decrease of this load could free now."""
        if state.variable:
            return state.power_w
        if isinstance(state.cfg, UnknownPowerConfig) or not state.on:
            return 0.0  # unknown power: the original counted it as "unknown"
        return state.power_w if self._since_switch(state, now) >= state.min_on_off_s[0] else 0.0

    def _increase(
        self, state: LoadState, available_w: float, now: datetime, reasons: dict[str, str]
    ) -> float | None:
        """The original's ``increase_power_by``: the power left for the next load,
        negative for what an on/off load misses, None for "wait for the meter"."""
        cfg = state.cfg
        if isinstance(cfg, VariablePowerConfig):
            new = min(state.power_w + available_w, cfg.max_power_w)
            if new < max(MINIMUM_POWER_W, cfg.min_power_w):
                return available_w  # a step too small to start the dimmer: refused
            rest = available_w - (new - state.power_w)
            state.power_w = new
            return rest
        if state.on:
            return available_w
        power = state.onoff_power_w
        min_off = state.min_on_off_s[1]
        since = self._since_switch(state, now)
        unknown = isinstance(cfg, UnknownPowerConfig)
        if since < min_off:
            reasons[cfg.name] = f"baseline: off, min-off {_left(min_off - since)} left"
            left: float | None = available_w
        elif available_w < power:
            # what a constant load misses (the walk may preempt for it); an unknown
            # load's power is a guess: nothing is preempted for it
            left = available_w if unknown else available_w - power
        else:
            state.switch(power, now)
            left = None if unknown else available_w - power
        return left

    def _decrease(
        self, state: LoadState, excess_w: float, now: datetime, reasons: dict[str, str]
    ) -> float | None:
        """The original's ``decrease_power_by``: the power removed, None for "wait"."""
        cfg = state.cfg
        if isinstance(cfg, VariablePowerConfig):
            new = state.power_w - min(excess_w, state.power_w)
            if new < max(MINIMUM_POWER_W, cfg.min_power_w):
                new = 0.0
            removed = state.power_w - new
            state.power_w = new
            return removed
        if not state.on:
            return 0.0
        min_on = state.min_on_off_s[0]
        since = self._since_switch(state, now)
        if since < min_on:
            reasons[cfg.name] = f"baseline: on, min-on {_left(min_on - since)} left"
            return 0.0
        power = state.power_w
        state.switch(0.0, now)
        return None if isinstance(cfg, UnknownPowerConfig) else power

    @staticmethod
    def _since_switch(state: LoadState, now: datetime) -> float:
        at = state.switched_at
        return float("inf") if at is None else (now - at).total_seconds()


@dataclass(frozen=True, slots=True)
class TimerDay:
    """A timer's on and off instants (UTC) on one local day."""

    day: date
    on_at: datetime
    off_at: datetime


@dataclass(slots=True)
class Wiring:
    """How a house without a router drives one load, and what it was last given."""

    state: LoadState
    contactor_w: float | None  # a water heater on the off-peak contactor: its power
    timer: TimerWindow | None  # an on/off load with a daily run time: its timer
    on_reason: str = ""  # the timer's reasons (they never change)
    off_reason: str = ""
    day: TimerDay | None = None  # the timer's window on the local day last asked for
    closed: bool | None = None  # what it was last given (None: give it again)


class NoRegulation(OnPlant):
    """A house without a router (see the module docstring)."""

    def __init__(self, site: SiteConfig, tz: ZoneInfo) -> None:
        self.plant = Plant(site, tz, on_shed=self._shed)
        self._ejp = site.tariff.contract is Contract.EJP
        #: Each load's wiring, in priority order.
        self._wiring: list[Wiring] = []
        for state in self.plant.loads:
            cfg = state.cfg
            window = (
                cfg.timer_window()
                if isinstance(cfg, ConstantPowerConfig | UnknownPowerConfig)
                else None
            )
            wiring = Wiring(
                state=state,
                contactor_w=(
                    cfg.max_power_w
                    if isinstance(cfg, VariablePowerConfig) and on_offpeak_contactor(cfg)
                    else None
                ),
                timer=window,
            )
            if window is not None:
                wiring.on_reason = f"timer: on until {clock_text(window.end)}"
                wiring.off_reason = f"off: timer ({window})"
            self._wiring.append(wiring)

    def _shed(self) -> None:
        """The plant shed every load: each is given its power again on the next frame."""
        for wiring in self._wiring:
            wiring.closed = None

    def _contactor_says(self, sample: MeterSample) -> bool | None:
        """What the meter tells the off-peak contactor (None: the HC window decides). EJP
        has no off-peak hours (the meter says "HN, not off-peak"): as on base, the HC
        window, but open in a mobile peak; else a contactor never closed would leave the
        tank unheated all winter."""
        if self._ejp:
            tariff = sample.tariff
            return False if tariff is not None and tariff.period == "PM" else None
        return sample.offpeak

    def evaluate(self, sample: MeterSample, now: datetime) -> Decision:
        """The water heater on its off-peak contactor (driven by the meter's tariff, as
        a Linky's relay is; on a base contract, the HC window; on EJP too, open in a
        mobile peak), on/off loads with a daily
        run time on their timer, everything else off; the frame's stale-data safety still applies
        (manual modes are ignored: no router). A load is given its power only when its
        contactor or timer changes."""
        shed = self.plant.admit(sample, now)
        if shed is not None:
            return shed
        offpeak = self.plant.calendar.offpeak(now, self._contactor_says(sample))
        for wiring in self._wiring:
            state = wiring.state
            contactor_w = wiring.contactor_w
            window = wiring.timer
            if contactor_w is not None:
                if wiring.closed is offpeak:
                    continue
                if offpeak:
                    state.power_w, state.reason = contactor_w, "off-peak: contactor closed"
                else:
                    state.power_w, state.reason = 0.0, "off: waits for off-peak hours"
                wiring.closed = offpeak
            elif window is not None:
                closed = self.timer_on(wiring, window, now)
                if wiring.closed is closed:
                    continue
                if closed:
                    state.set_fixed(state.onoff_power_w, now)
                    state.reason = wiring.on_reason
                else:
                    state.set_fixed(0.0, now)
                    state.reason = wiring.off_reason
                wiring.closed = closed
            elif wiring.closed is None:
                if state.on:
                    state.switched_at = now
                state.power_w, state.reason = 0.0, "off: no router"
                wiring.closed = False
        grid_w = sample.grid_w
        return self.plant.decision(now, grid_w, self.plant.surplus_w(grid_w))

    def timer_on(self, wiring: Wiring, window: TimerWindow, now: datetime) -> bool:
        """Is this load's timer (``window``) closed at ``now``? (its window on today's
        local date, computed once a day)"""
        day = self.plant.calendar.today(now)
        known = wiring.day
        if known is None or known.day != day:
            on_at, off_at = window.bounds(day, self.plant.tz)
            known = wiring.day = TimerDay(day=day, on_at=on_at, off_at=off_at)
        return known.on_at <= now < known.off_at


def on_offpeak_contactor(cfg: EquipmentConfig) -> bool:
    """Is this load a water heater, wired to the off-peak contactor in a house without a
    router? A temperature-driven load, or a dimmer-driven load with id ``water_heater``."""
    return isinstance(cfg, TempDrivenVariablePowerConfig) or (
        isinstance(cfg, VariablePowerConfig) and cfg.id == "water_heater"
    )


def _min_energy(cfg: EquipmentConfig) -> float | None:
    """The energy-bucket target of a plain dimmer (the fork's temperature-driven class
    has none)."""
    if isinstance(cfg, VariablePowerConfig) and not isinstance(cfg, TempDrivenVariablePowerConfig):
        return cfg.min_energy_wh
    return None
