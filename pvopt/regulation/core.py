"""The regulation core: meter samples and time in, decisions and device commands out.

Pure: no MQTT, no clock. The daemon (and the simulator) feed it one :class:`MeterSample`
per meter frame, temperatures and control messages, and call :meth:`Regulator.tick`
regularly for the stale-data timeout.

How it decides (one evaluation per meter frame):

1. **Safety first.** Meter data older than ``stale_timeout`` or teleinfo ``offline``:
   every load off at once (:meth:`tick` notices it within its call period).
2. **Dead-time hold.** After a command, readings received within ``settle_time`` cannot
   show its effect (the meter reports every ~1.2 s, up to one frame late): they are not
   acted upon, so the loop never corrects the same error twice.
3. **Trim loop.** On a settled reading the total power of the variable loads (dimmers)
   moves by ``−gain × (grid − target)`` — integral action, dead-beat at gain 1 —
   and is shared out in priority order, each load up to its cap.
4. **Staging.** An on/off load starts when the power it could have — export beyond the
   target, plus what lower-priority dimmers take, minus what higher-priority dimmers
   still want — exceeds its power plus ``start_margin`` for ``start_delay`` and recent
   shadows would not have left more than ``start_max_import`` of its power uncovered;
   it stops when that falls below its power for ``stop_delay`` or once it imports more
   than ``stop_max_import`` of its power; min on / min off hold. At most one
   switch per decision, and the dimmers move by the switched power in the same decision,
   so the grid does not see the step. Power a dimmer found drawing nothing gave up (a
   thermostat cut) is no passing sun: for a few minutes an on/off load it covers twice
   over for ``FAST_START_S`` starts without waiting out ``start_delay``.
5. **Thermostat cut.** A dimmer whose command changed by ≥ 300 W but whose effect does
   not show on the meter is a suspect; two "is it drawing?" tests (its command alone
   drops by 500 W on a quiet grid) confirm it: its share goes to the next load and it is
   tried again later. A suspect judged against a reading that jumped from the previous
   one (which may show only part of a kettle) is tested only once the trim has pushed
   it to its cap, as it does with a load that draws nothing. At its cap a dimmer's
   command does not move when its thermostat opens: an export jump of most of its power
   makes it a suspect, and a capped suspect is tested on a steady grid, quiet or not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeGuard
from zoneinfo import ZoneInfo

from pvopt.equipment.dimmer import percent_for_power
from pvopt.equipment.model import (
    ConstantPowerConfig,
    EquipmentConfig,
    SiteConfig,
    TempDrivenVariablePowerConfig,
    UnknownPowerConfig,
    VariablePowerConfig,
)
from pvopt.regulation.inputs import LIMITS, Control, is_number, within
from pvopt.regulation.model import Decision, MeterSample, Mode, MqttCommand, Output

#: A dimmer change at least this large tests the load's response on the next reading.
PROBE_MIN_STEP_W = 300.0
#: A change missing from the meter by this fraction or more: the load did not respond.
PROBE_MISSING = 0.7
#: Consecutive non-responses that mean "thermostat cut" (the first from a trim move,
#: the others from swap tests).
PROBE_FAILURES = 3
#: Swap tests only run on a quiet grid: |error| below this on the last two readings
#: (a passing cloud would otherwise look like a load that does not respond).
SWAP_QUIET_W = 100.0
#: First release of a dimmer found drawing nothing; doubles on each new verdict.
CUT_FIRST_RELEASE_S = 60.0
#: Power moved from a suspect dimmer to the others to test it a second time.
PROBE_SWAP_W = 500.0
#: A dimmer at its cap is suspected of drawing nothing when the export jumps, within two
#: readings, by at least this fraction of its power (its thermostat opened: the trim
#: cannot show it, the command does not change).
CAP_JUMP_FRACTION = 0.7
#: After a dimmer is found drawing nothing (a thermostat cut), the power it frees is no
#: passing sun: for FAST_START_WINDOW_S, an on/off load starts without waiting out
#: ``start_delay`` once the power it could have has covered it FAST_START_FACTOR times
#: over on every settled reading for FAST_START_S. (Power freed by temp_max is not
#: included: on the reference days it started loads that a heater re-armed by a draw
#: then took back from, importing; starts in general are reworked with prices.)
FAST_START_FACTOR = 2.0
FAST_START_S = 30.0
FAST_START_WINDOW_S = 300.0
#: Trim corrections smaller than this do not stop a reading from counting as settled.
SETTLE_IGNORE_W = 50.0
#: Smallest change of a dimmer command worth sending.
MIN_CHANGE_W = 5.0


@dataclass
class LoadState:
    """What the core remembers of one equipment."""

    cfg: EquipmentConfig
    power_w: float = 0.0  # commanded now (dimmers), or power drawn when on (on/off)
    switched_at: datetime | None = None  # last on/off transition
    mode: Mode = Mode.AUTO
    forced_w: float = 0.0
    forced_until: datetime | None = None
    energy_wh: float = 0.0  # today's, from the commanded power
    energy_day: date | None = None
    period_energy_wh: float = 0.0  # in the current min_energy period
    period_start: datetime | None = None
    budget_avg_w: float | None = None  # on/off loads: averaged power they could have
    shortfall_avg_w: float = 0.0  # averaged max(power − budget, 0): what it would import
    budget_at: datetime | None = None
    budget_since: datetime | None = None
    covered_since: datetime | None = None  # off on/off loads: covered FAST_START_FACTOR× since
    cut_until: datetime | None = None  # thermostat cut: released until then
    probe_failures: int = 0
    weak_suspect: bool = False  # suspected from a reading that may have shown a partial step
    cut_backoff_s: float = 0.0
    temperature: tuple[float, datetime] | None = None
    solar_full: bool = False  # temp_max reached, until temp_sol_min
    grid_heat: bool = False  # below temp_min, until temp_eco
    temp_overrides: dict[str, float] = field(default_factory=dict)  # MIN;t MAX;t ECO;t
    learnt_power_w: float | None = None  # UnknownPowerEquipment
    last_sent: tuple[str, datetime] | None = None
    payload_cache: tuple[float, str, float | None] | None = None  # power → payload, percent
    output: tuple[tuple[object, ...], Output] | None = None  # the last one, and what made it
    reason: str = "starting"
    # Derived once from the (frozen) configuration: read several times per evaluation.
    variable: bool = field(init=False)  # dimmer-driven load
    min_on_off_s: tuple[float, float] = field(init=False)  # (0, 0) for dimmers

    def __post_init__(self) -> None:
        cfg = self.cfg
        self.variable = isinstance(cfg, VariablePowerConfig)
        self.min_on_off_s = (
            (cfg.min_on_s, cfg.min_off_s)
            if isinstance(cfg, ConstantPowerConfig | UnknownPowerConfig)
            else (0.0, 0.0)
        )

    @property
    def on(self) -> bool:
        """True when the load is drawing (commanded above zero)."""
        return self.power_w > 0

    @property
    def onoff_power_w(self) -> float:
        """Power of an on/off load when on (known, or learnt from the meter)."""
        cfg = self.cfg
        if isinstance(cfg, ConstantPowerConfig):
            return cfg.nominal_power_w
        if isinstance(cfg, UnknownPowerConfig):
            return self.learnt_power_w or cfg.expected_power_w
        return 0.0


@dataclass
class _Probe:
    """A pending check that the loads' changes show on the meter."""

    grid_before_w: float
    steps_w: dict[str, float]
    swap: bool = False  # a swap test: nothing else moves until it is judged
    steady: bool = True  # the reference reading was close to the one before it


@dataclass
class _Learning:
    """An unknown-power load has just switched: the first reading that shows the switch in
    full gives its real power."""

    state: LoadState
    grid_before_w: float
    sign: float  # +1: it started, −1: it stopped
    others_w: float  # the other loads' changes since (the dimmers making room): seen too


@dataclass
class _Plan:
    """Working data of one evaluation."""

    fixed: dict[str, float] = field(default_factory=dict)  # name -> power, not regulated
    caps: dict[str, float] = field(default_factory=dict)  # name -> cap of auto dimmers
    reasons: dict[str, str] = field(default_factory=dict)


#: A saved energy counter above this (1 GWh) is corrupt, not a day's energy.
COUNTER_MAX_WH = 1e9


def _counter(value: object) -> TypeGuard[int | float]:
    """A saved counter worth restoring: a finite number from 0 to COUNTER_MAX_WH."""
    return is_number(value) and within(value, (0.0, COUNTER_MAX_WH))


def command_payload(cfg: EquipmentConfig, power_w: float) -> tuple[str, float | None]:
    """The command payload of a load at ``power_w`` (on/off loads: on above 0), and the
    dimmer percent (None for on/off loads)."""
    cmd = cfg.command
    if isinstance(cfg, VariablePowerConfig):
        percent = round(percent_for_power(power_w, cfg.max_power_w, cfg.dimmer_curve), 1)
        return cmd.payload_percent.format(percent=percent), percent
    return (cmd.payload_on if power_w > 0 else cmd.payload_off), None


def off_commands(site: SiteConfig) -> tuple[MqttCommand, ...]:
    """Every load's "off" command, from the configuration alone: what the daemon sends when
    the regulator itself cannot be trusted to say it (an unexpected error)."""
    return tuple(
        MqttCommand(
            cfg.command.topic, command_payload(cfg, 0.0)[0], cfg.command.qos, cfg.command.retain
        )
        for cfg in site.equipment
    )


def _minutes(seconds: float) -> str:
    if seconds >= 90:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"


class Regulator:
    """The decision core for one site. Not thread-safe: one caller at a time."""

    def __init__(self, site: SiteConfig, tz: ZoneInfo) -> None:
        self.site = site
        self.cfg = site.regulation
        self.tz = tz
        self.loads = [LoadState(cfg) for cfg in site.equipment]
        self._by_name = {s.cfg.name: s for s in self.loads}
        self._by_id = {s.cfg.id: s for s in self.loads}
        self._sample: MeterSample | None = None
        self._teleinfo_online = True
        # Recent commands: (when, net change of the loads' power, sum of |each load's change|).
        self._inflight: list[tuple[datetime, float, float]] = []
        self._last_error_w = 0.0
        self._prev_error_w = 0.0  # the reading before the last
        self._freed_at: datetime | None = None  # a dimmer last found drawing nothing
        self._last_eval: datetime | None = None
        self._probe: _Probe | None = None
        self._learn: _Learning | None = None
        # period_s → (start, [start, end) in UTC)
        self._periods: dict[float, tuple[datetime, datetime, datetime]] = {}
        self.safe = False
        self.safe_reason = ""
        self._resend_at: datetime | None = None  # the first periodic re-send due
        self._minute: tuple[datetime, datetime, datetime] | None = None  # _local_minute

    # -- inputs -----------------------------------------------------------------------------

    def load(self, key: str) -> LoadState | None:
        """The state of the equipment with this name or id."""
        return self._by_name.get(key) or self._by_id.get(key)

    def set_temperature(self, load_id: str, celsius: float, now: datetime) -> None:
        """A probe reading (never triggers an evaluation: power values would be old)."""
        state = self._by_id.get(load_id)
        if state is not None:
            state.temperature = (celsius, now)

    def set_teleinfo_online(self, online: bool, now: datetime) -> Decision | None:
        """teleinfo's availability; ``offline`` sheds every load at once."""
        self._teleinfo_online = online
        if not online and not self.safe:
            return self._safe_decision(now, "teleinfo offline")
        return None

    def set_mode(
        self,
        key: str,
        mode: Mode,
        now: datetime,
        power_w: float = 0.0,
        duration_s: float | None = None,
    ) -> None:
        """Manual control: AUTO, ON, OFF, or FORCED at ``power_w`` for ``duration_s``."""
        state = self.load(key)
        if state is None:
            raise KeyError(key)
        state.mode = mode
        state.forced_w = power_w if mode is Mode.FORCED else 0.0
        state.forced_until = (
            now + timedelta(seconds=duration_s) if duration_s and mode is not Mode.AUTO else None
        )

    def apply_control(self, key: str, control: Control, now: datetime) -> None:
        """A parsed manual control (``scr/<id>/control`` or ``regulation/control``)."""
        state = self.load(key)
        if state is None:
            raise KeyError(key)
        if control.threshold is not None and control.celsius is not None:
            if self.temperatures(state) is None:
                raise ValueError(f"{key} has no temperature thresholds")
            state.temp_overrides[control.threshold] = control.celsius
        elif control.mode is not None:
            self.set_mode(key, control.mode, now, control.power_w, control.duration_s)

    def export_counters(self) -> dict[str, dict[str, object]]:
        """Energy counters to persist (they survive a restart)."""
        return {
            s.cfg.name: {
                "day": s.energy_day.isoformat() if s.energy_day else None,
                "energy_wh": round(s.energy_wh, 3),
                "period_start": s.period_start.isoformat() if s.period_start else None,
                "period_energy_wh": round(s.period_energy_wh, 3),
                "learnt_power_w": s.learnt_power_w,
            }
            for s in self.loads
        }

    def restore_counters(self, data: dict[str, dict[str, object]], now: datetime) -> None:
        """Restore what :meth:`export_counters` saved; stale days or periods start at 0."""
        self._account(now)  # sets today's day and periods
        for state in self.loads:
            saved = data.get(state.cfg.name)
            if not isinstance(saved, dict):
                continue
            energy, period_energy = saved.get("energy_wh"), saved.get("period_energy_wh")
            day = state.energy_day.isoformat() if state.energy_day else None
            if saved.get("day") == day and _counter(energy):
                state.energy_wh = float(energy)
            start = state.period_start.isoformat() if state.period_start else None
            if saved.get("period_start") == start and _counter(period_energy):
                state.period_energy_wh = float(period_energy)
            learnt = saved.get("learnt_power_w")
            if _counter(learnt) and within(learnt, LIMITS.force_power_w) and learnt > 0:
                state.learnt_power_w = float(learnt)

    # -- evaluation -------------------------------------------------------------------------

    def _admit(self, sample: MeterSample, now: datetime) -> Decision | None:
        """What every evaluation starts with, whatever decides after it: count the energy
        so far, keep the sample, and return the safe decision when the inputs cannot be
        trusted (teleinfo offline, data older than ``stale_timeout``); else leave the safe
        state if it was in it."""
        self._account(now)
        self._sample = sample
        if not self._teleinfo_online:
            return self._safe_decision(now, "teleinfo offline")
        if not self._fresh(sample, now):
            return self._safe_decision(now, "stale meter data")
        if self.safe:
            self.safe = False
            self.safe_reason = ""
            self._inflight.clear()
        return None

    def evaluate(self, sample: MeterSample, now: datetime) -> Decision:
        """One evaluation, on the SINSTS and SINSTI of one frame."""
        shed = self._admit(sample, now)
        if shed is not None:
            return shed
        grid_w = sample.grid_w
        error_w = grid_w - self.cfg.target_grid_w
        # Dead-time compensation (a Smith predictor): the part of recent commands that this
        # reading cannot show yet is counted as if it were already there.
        pending_w = self._pending_w(now)
        # Settled: every significant command so far is fully in this reading. Gross, not
        # net: when a dimmer makes room for an on/off load, or power moves between two
        # dimmers, the grid should not move, but a reading that predates the move cannot
        # tell whether each load really did.
        settled = all(moved < SETTLE_IGNORE_W for _, _, moved in self._inflight)
        plan = self._plan(now, sample)
        switched: LoadState | None = None
        delta_w = 0.0  # change of the dimmers' total
        testing = False
        quiet = abs(error_w) < SWAP_QUIET_W and abs(self._last_error_w) < SWAP_QUIET_W
        # A reading far from the previous one may show only part of a change (a kettle
        # switched on during its averaging second): not a reference to judge a load by.
        steady = abs(error_w - self._last_error_w) < SWAP_QUIET_W
        # How far the export rose within the last two readings (a step may be split
        # between two 1 s means): positive = more export.
        jump_w = max(self._last_error_w, self._prev_error_w) - error_w
        self._prev_error_w, self._last_error_w = self._last_error_w, error_w
        if settled:
            self._check_probe(grid_w, now, plan)
            self._check_learning(grid_w)
            self._suspect_capped(jump_w, plan)
            if quiet or steady:
                delta_w = self._swap_test(plan, quiet)
                testing = delta_w != 0.0
        before = {s.cfg.name: s.power_w for s in self.loads}
        expected_error_w = error_w + pending_w
        swap_pending = self._probe is not None and self._probe.swap and not settled
        if swap_pending and self._probe is not None:
            for name in self._probe.steps_w:  # the tested load stays where the test put it
                if name in plan.caps:
                    plan.caps[name] = self._by_name[name].power_w
                    plan.reasons[name] = "testing: is it drawing?"
        if not testing and not swap_pending:
            if abs(expected_error_w) > self.cfg.dead_band_w:
                delta_w = -self.cfg.gain * expected_error_w
            if settled:  # one switch per settle window, decided on a reading that shows all
                switched, freed_w = self._stage(now, error_w, plan)
                delta_w += freed_w
        # Loads fixed by a mode or a limit take their power now, safety limits included;
        # the dimmers absorb that known change in the same decision.
        for state in self.loads:
            new = plan.fixed.get(state.cfg.name)
            if new is None or new == state.power_w:
                continue
            if not state.variable and (new > 0) != state.on:
                state.switched_at = now
            delta_w -= new - state.power_w
            state.power_w = new
        if settled or delta_w:
            self._share(delta_w, plan)
        moves = {s.cfg.name: s.power_w - before[s.cfg.name] for s in self.loads}
        steps = {name: w for name, w in moves.items() if abs(w) >= MIN_CHANGE_W}
        if steps:
            self._inflight.append((now, sum(moves.values()), sum(map(abs, moves.values()))))
            if settled:
                self._arm_probe(steps, grid_w, switched, testing, steady)
            else:  # the judges of a switch or a step see every change since it
                if self._probe is not None:
                    for name, step in steps.items():
                        self._probe.steps_w[name] = self._probe.steps_w.get(name, 0.0) + step
                if self._learn is not None:
                    learnt = self._learn.state.cfg.name
                    self._learn.others_w += sum(w for n, w in steps.items() if n != learnt)
        self._last_eval = now
        self._set_reasons(plan)
        surplus = -grid_w + sum(s.power_w for s in self.loads)
        return self._decision(now, grid_w, surplus, "")

    def _pending_w(self, now: datetime) -> float:
        """The part of the commands of the last ``settle_time`` not yet in a reading.

        A reading is the mean of about 1 s, received up to ``settle_time − 1 s`` after the
        end of that second (actuation + meter delay); halfway is assumed.
        """
        settle = self.cfg.settle_time_s
        lag = max(settle - 1.0, 0.0) / 2
        pending = 0.0
        kept: list[tuple[datetime, float, float]] = []
        for at, net_w, moved_w in self._inflight:
            age = (now - at).total_seconds()
            if age >= settle:
                continue
            kept.append((at, net_w, moved_w))
            pending += net_w * (1.0 - min(max(age - lag, 0.0), 1.0))
        self._inflight = kept
        return pending

    def _fresh(self, sample: MeterSample, now: datetime) -> bool:
        """A reading at most ``stale_timeout`` old. One as far in the future is not fresh
        either: the clock was set back, and it would otherwise never grow stale."""
        return abs((now - sample.time).total_seconds()) <= self.cfg.stale_timeout_s

    def tick(self, now: datetime) -> Decision | None:
        """Called regularly (≤ 1 s): sheds on stale data, re-sends commands when due."""
        if not self.safe:
            sample = self._sample
            if sample is None:
                if self._last_eval is None:
                    return None
            elif self._fresh(sample, now):
                commands = self._commands(now, resend_only=True)
                if not commands:
                    return None
                return self._decision(now, sample.grid_w, None, "", commands)
            return self._safe_decision(now, "stale meter data")
        commands = self._commands(now, resend_only=True)
        if commands:
            return self._decision(now, None, None, self.safe_reason, commands)
        return None

    def shutdown(self, now: datetime) -> Decision:
        """SIGTERM: every load off, whatever its mode."""
        return self._safe_decision(now, "regulation stopped")

    # -- steps ------------------------------------------------------------------------------

    def _account(self, now: datetime) -> None:
        """Integrate each load's power since the last evaluation into its energy counters:
        today's (local day) and its ``min_energy`` period's."""
        today = self._local_minute(now)[2].date()
        last = self._last_eval
        seconds = (now - last).total_seconds() if last is not None and now > last else 0.0
        for state in self.loads:
            cfg = state.cfg
            period_s = cfg.period_s if isinstance(cfg, VariablePowerConfig) else 86_400
            period = self._period_start(now, period_s)
            added = state.power_w * seconds / 3600.0
            if state.energy_day != today:
                state.energy_day = today
                state.energy_wh = 0.0
            else:
                state.energy_wh += added
            if state.period_start != period:
                state.period_start = period
                state.period_energy_wh = 0.0
            else:
                state.period_energy_wh += added
        self._last_eval = now

    # -- off-peak window and periods --------------------------------------------------------

    def _window(self) -> tuple[time, time] | None:
        start, end = self.cfg.offpeak_start, self.cfg.offpeak_end
        return (start, end) if start is not None and end is not None else None

    def _period_start(self, now: datetime, period_s: float = 86_400.0) -> datetime:
        """Start of the ``min_energy`` period holding ``now``. Periods end when the off-peak
        window ends (so a day's sun and the following night's completion count together),
        or at local midnight without a window; they follow the wall clock across DST."""
        return self._period(now, period_s)[0]

    def _period(
        self, now: datetime, period_s: float = 86_400.0
    ) -> tuple[datetime, datetime, datetime]:
        """The period holding ``now``: its start in local time, and its start and end in
        UTC (comparing datetimes of different zones costs a zone lookup each time, and
        this runs several times per evaluation)."""
        known = self._periods.get(period_s)
        if known is not None and known[1] <= now < known[2]:
            return known  # evaluated several times per frame: remember the last one
        window = self._window()
        anchor = window[1] if window else time(0, 0)
        local = now.astimezone(self.tz).replace(tzinfo=None)
        reference = datetime.combine(date(2000, 1, 1), anchor)
        periods = (local - reference).total_seconds() // period_s
        start = reference + timedelta(seconds=periods * period_s)
        begins = start.replace(tzinfo=self.tz)
        # The next period starts at the same wall-clock time (DST: 23 or 25 h later).
        ends = (start + timedelta(seconds=period_s)).replace(tzinfo=self.tz)
        known = (begins, begins.astimezone(UTC), ends.astimezone(UTC))
        self._periods[period_s] = known
        return known

    def _offpeak(self, now: datetime, sample: MeterSample) -> bool:
        """Off-peak now? The meter's tariff wins where it sends one; else the window."""
        if sample.offpeak is not None:
            return sample.offpeak
        window = self._window()
        if window is None:
            return False
        start, end = window
        if start.second or start.microsecond or end.second or end.microsecond:
            t = now.astimezone(self.tz).time()  # not HH:MM (only built in code)
        else:
            t = self._local_minute(now)[2].time()
        return start <= t < end if start <= end else (t >= start or t < end)

    def _local_minute(self, now: datetime) -> tuple[datetime, datetime, datetime]:
        """The wall-clock minute holding ``now``: its bounds in UTC and its start in local
        time. The day and the off-peak window (HH:MM) cannot change within it, and frames
        come about 50 times a minute: one zone conversion serves them all."""
        known = self._minute
        if known is None or not known[0] <= now < known[1]:
            begins = now.replace(second=0, microsecond=0)  # zone offsets are whole minutes
            known = (begins, begins + timedelta(minutes=1), begins.astimezone(self.tz))
            self._minute = known
        return known

    def _window_end(self, now: datetime) -> datetime | None:
        """End of the off-peak window in progress (the next anchor of the periods), UTC."""
        if self._window() is None:
            return None
        return self._period(now)[2]

    # -- plan -------------------------------------------------------------------------------

    def _plan(self, now: datetime, sample: MeterSample) -> _Plan:
        """Which loads are fixed by a mode, a limit or a grid-heating rule, and the caps of
        the auto dimmers."""
        plan = _Plan()
        offpeak = self._offpeak(now, sample)
        for state in self.loads:
            cfg = state.cfg
            name = cfg.name
            if state.forced_until is not None and now >= state.forced_until:
                state.mode, state.forced_until, state.forced_w = Mode.AUTO, None, 0.0
            celsius = self._celsius(state, now)
            temps = self.temperatures(state)
            full_power = (
                cfg.max_power_w if isinstance(cfg, VariablePowerConfig) else state.onoff_power_w
            )
            if temps is not None and celsius is not None:
                if celsius >= temps[3]:
                    state.solar_full = True
                elif celsius < temps[2]:
                    state.solar_full = False
                if celsius < temps[0]:
                    state.grid_heat = True
                elif celsius >= temps[1]:
                    state.grid_heat = False
            if state.mode is Mode.OFF:
                plan.fixed[name] = 0.0
                plan.reasons[name] = "off: manual"
            elif temps is not None and celsius is not None and celsius >= temps[3]:
                plan.fixed[name] = 0.0  # temp_max, whatever the mode
                plan.reasons[name] = f"full: {celsius:.1f} °C ≥ temp_max {temps[3]:g} °C"
            elif state.mode is Mode.ON:
                plan.fixed[name] = full_power
                plan.reasons[name] = "on: manual"
            elif state.mode is Mode.FORCED:
                power = min(state.forced_w, full_power)
                if not state.variable:
                    power = full_power if state.forced_w >= full_power / 2 else 0.0
                plan.fixed[name] = power
                left = (
                    f" for {_minutes((state.forced_until - now).total_seconds())}"
                    if state.forced_until
                    else ""
                )
                plan.reasons[name] = f"forced {power:.0f} W{left}"
            elif state.grid_heat and offpeak and celsius is not None and temps is not None:
                plan.fixed[name] = full_power
                plan.reasons[name] = f"off-peak heating: {celsius:.1f} °C, up to {temps[1]:g} °C"
            elif (completion := self._completion(state, now, offpeak)) is not None:
                plan.fixed[name] = full_power
                plan.reasons[name] = completion
            elif state.solar_full and celsius is not None and temps is not None:
                plan.fixed[name] = 0.0
                plan.reasons[name] = (
                    f"full: {celsius:.1f} °C, solar heating re-arms below {temps[2]:g} °C"
                )
            elif self._energy_done(state):
                plan.fixed[name] = 0.0
                plan.reasons[name] = (
                    f"done: {state.period_energy_wh:.0f} Wh of {self._min_energy(state):.0f} Wh"
                )
            elif state.cut_until is not None and now < state.cut_until:
                plan.fixed[name] = 0.0
                plan.reasons[name] = "full: thermostat cut"
            elif state.variable:
                plan.caps[name] = full_power
        return plan

    @staticmethod
    def _min_energy(state: LoadState) -> float | None:
        cfg = state.cfg
        return cfg.min_energy_wh if isinstance(cfg, VariablePowerConfig) else None

    def _energy_done(self, state: LoadState) -> bool:
        target = self._min_energy(state)
        return target is not None and state.period_energy_wh >= target

    def _completion(self, state: LoadState, now: datetime, offpeak: bool) -> str | None:
        """Grid completion of a ``min_energy`` shortfall: only the missing energy, at full
        power, starting as late in the off-peak window as still completes it."""
        target = self._min_energy(state)
        if target is None or not offpeak:
            return None
        end = self._window_end(now)
        if end is None:
            return None
        cfg = state.cfg
        assert isinstance(cfg, VariablePowerConfig)
        short_wh = target - state.period_energy_wh
        period_end = self._period(now, cfg.period_s)[2]
        if short_wh <= 0 or abs((period_end - end).total_seconds()) > 60:
            return None  # nothing missing, or not the last window of the period
        needed_s = short_wh / cfg.max_power_w * 3600.0 * 1.05 + 60.0  # 5 % + 1 min margin
        if now < end - timedelta(seconds=needed_s):
            return None
        return f"off-peak completion: {short_wh:.0f} Wh short"

    def _celsius(self, state: LoadState, now: datetime) -> float | None:
        """The probe's temperature, or None when there is none or it went silent."""
        cfg = state.cfg
        if not isinstance(cfg, TempDrivenVariablePowerConfig) or state.temperature is None:
            return None
        celsius, at = state.temperature
        if (now - at).total_seconds() > cfg.probe_timeout_s:
            return None  # unknown is not cold: the heater's own thermostat protects
        return celsius

    @staticmethod
    def temperatures(state: LoadState) -> tuple[float, float, float, float] | None:
        """(temp_min, temp_eco, temp_sol_min, temp_max) with manual overrides applied."""
        cfg = state.cfg
        if not isinstance(cfg, TempDrivenVariablePowerConfig):
            return None
        o = state.temp_overrides
        return (
            o.get("min", cfg.temp_min_c),
            o.get("eco", cfg.temp_eco_c),
            cfg.temp_sol_min_c,
            o.get("max", cfg.temp_max_c),
        )

    def _stage(self, now: datetime, error_w: float, plan: _Plan) -> tuple[LoadState | None, float]:
        """Start or stop at most one on/off load; returns it and the dimmer power freed.

        The power an on/off load could have (its *budget*) is averaged (exponentially,
        over ``start_delay`` while off and ``stop_delay`` while on): a passing cloud
        neither starts nor stops anything, a lasting surplus or deficit does.
        """
        reg = self.cfg
        caps = plan.caps
        freed = (
            self._freed_at is not None
            and (now - self._freed_at).total_seconds() <= FAST_START_WINDOW_S
        )
        # The auto dimmers: (priority, power drawn, power still wanted up to the cap).
        dimmers = [
            (index, s.power_w, caps[s.cfg.name] - s.power_w)
            for index, s in enumerate(self.loads)
            if s.variable and s.cfg.name in caps
        ]
        for index, state in enumerate(self.loads):
            name = state.cfg.name
            if state.variable or name in plan.fixed:
                state.budget_avg_w = None
                state.covered_since = None
                continue
            lower_var = sum(power for i, power, _ in dimmers if i > index)
            higher_want = sum(want for i, _, want in dimmers if i < index)
            power = state.onoff_power_w
            budget = -error_w + lower_var - higher_want + (power if state.on else 0.0)
            tau = reg.stop_delay_s if state.on else reg.start_delay_s
            average, shortfall = self._average_budget(
                state, budget, power, tau, reg.start_delay_s, now
            )
            averaged_s = (now - state.budget_since).total_seconds() if state.budget_since else 0
            since_switch = (now - state.switched_at).total_seconds() if state.switched_at else None
            min_on, min_off = state.min_on_off_s
            if not state.on:
                covered_s = self._covered_s(state, budget, power, now)
                covered_s = covered_s if freed else None
                fast = covered_s is not None and covered_s >= FAST_START_S
                needed = power + reg.start_margin_w
                if covered_s is not None and not fast:
                    plan.reasons[name] = (
                        f"off: surplus {budget / 1000:.1f} kW steady, starts in "
                        f"{FAST_START_S - covered_s:.0f} s if it lasts"
                    )
                    continue
                if not fast and (average < needed or budget < power):
                    plan.reasons[name] = f"off: surplus {max(average, 0):.0f} W of {needed:.0f}"
                    continue
                if not fast and shortfall > reg.start_max_import * power:
                    plan.reasons[name] = (
                        f"off: surplus unsteady, would import {shortfall / power:.0%}"
                    )
                    continue
                if since_switch is not None and since_switch < min_off:
                    plan.reasons[name] = f"off: min-off {_minutes(min_off - since_switch)} left"
                    continue
                if not fast and averaged_s < reg.start_delay_s:
                    plan.reasons[name] = (
                        f"off: starts in {_minutes(reg.start_delay_s - averaged_s)} "
                        "if surplus lasts"
                    )
                    continue
                self._switch(state, power, now)
                plan.reasons[name] = (
                    f"on: surplus {budget / 1000:.1f} kW steady" if fast else "on: surplus"
                )
                return state, -power
            if average >= power and shortfall <= reg.stop_max_import * power:
                plan.reasons[name] = "on: surplus"
                continue
            if since_switch is not None and since_switch < min_on:
                plan.reasons[name] = f"on: min-on {_minutes(min_on - since_switch)} left"
                continue
            if averaged_s < reg.stop_delay_s:
                plan.reasons[name] = (
                    f"on: stops in {_minutes(reg.stop_delay_s - averaged_s)} if import lasts"
                )
                continue
            self._switch(state, 0.0, now)
            plan.reasons[name] = (
                "off: not enough surplus"
                if average < power
                else f"off: imported {shortfall / power:.0%} of its power"
            )
            return state, power
        return None, 0.0

    @staticmethod
    def _covered_s(
        state: LoadState, budget_w: float, power_w: float, now: datetime
    ) -> float | None:
        """How long the budget has covered the load FAST_START_FACTOR times over on every
        settled reading (None when it does not now)."""
        if budget_w < FAST_START_FACTOR * power_w:
            state.covered_since = None
            return None
        if state.covered_since is None:
            state.covered_since = now
        return (now - state.covered_since).total_seconds()

    @staticmethod
    def _average_budget(
        state: LoadState,
        budget_w: float,
        power_w: float,
        tau_s: float,
        shortfall_tau_s: float,
        now: datetime,
    ) -> tuple[float, float]:
        """Average, since the last switch, the budget over ``tau_s`` and the shortfall
        (the part of the load's power that the budget does not cover: what it imports,
        or would) over ``shortfall_tau_s``. A deep cloud shadow holds starts back for a
        while, which is what broken clouds need."""
        last = state.budget_at
        shortfall = max(power_w - budget_w, 0.0)
        if state.budget_avg_w is None or last is None:
            state.budget_avg_w, state.budget_since = budget_w, now
            state.shortfall_avg_w = shortfall
        else:
            dt = (now - last).total_seconds()
            weight = 1.0 - math.exp(-dt / tau_s) if tau_s > 0 else 1.0
            state.budget_avg_w += (budget_w - state.budget_avg_w) * weight
            weight = 1.0 - math.exp(-dt / shortfall_tau_s) if shortfall_tau_s > 0 else 1.0
            state.shortfall_avg_w += (shortfall - state.shortfall_avg_w) * weight
        state.budget_at = now
        return state.budget_avg_w, state.shortfall_avg_w

    @staticmethod
    def _switch(state: LoadState, power_w: float, now: datetime) -> None:
        state.power_w = power_w
        state.switched_at = now
        state.budget_avg_w = None  # the other direction averages afresh
        state.covered_since = None

    def _share(self, delta_w: float, plan: _Plan) -> None:
        """Move the auto dimmers' total by ``delta_w``, filled in priority order."""
        dimmers = [s for s in self.loads if s.variable and s.cfg.name in plan.caps]
        total = sum(s.power_w for s in dimmers) + delta_w
        total = min(max(total, 0.0), sum(plan.caps[s.cfg.name] for s in dimmers))
        for state in dimmers:
            cfg = state.cfg
            assert isinstance(cfg, VariablePowerConfig)
            share = min(plan.caps[cfg.name], total)
            if share < max(cfg.min_power_w, MIN_CHANGE_W):
                share = 0.0
            state.power_w = share
            total -= share

    def _arm_probe(
        self,
        steps: dict[str, float],
        grid_w: float,
        switched: LoadState | None,
        swap: bool = False,
        steady: bool = True,
    ) -> None:
        self._probe = None
        self._learn = None
        if switched is not None and isinstance(switched.cfg, UnknownPowerConfig):
            others_w = sum(w for name, w in steps.items() if name != switched.cfg.name)
            self._learn = _Learning(switched, grid_w, 1.0 if switched.on else -1.0, others_w)
            return
        if switched is None:
            self._probe = _Probe(grid_w, steps, swap, steady)

    def _check_probe(self, grid_w: float, now: datetime, plan: _Plan) -> None:
        """Did the last changes show on the meter? Every dimmer whose change the meter
        missed becomes a suspect; a suspect that then fails two swap tests (its command
        alone drops by 500 W and the meter does not see it) draws nothing — its thermostat
        has cut — and is released for a while."""
        probe, self._probe = self._probe, None
        if probe is None:
            return
        missing_w = sum(probe.steps_w.values()) - (grid_w - probe.grid_before_w)
        for name, step in probe.steps_w.items():
            state = self._by_name[name]
            if abs(step) < PROBE_MIN_STEP_W or not state.variable:
                continue
            missing = missing_w / step  # the share of this load's change not seen
            if missing < 1.0 - PROBE_MISSING:
                state.probe_failures = 0
                state.weak_suspect = False
                state.cut_backoff_s = 0.0  # it clearly draws: forget past cuts
            elif missing < PROBE_MISSING:
                if probe.swap:
                    state.probe_failures = 0
            elif probe.swap:
                state.probe_failures += 1
                state.weak_suspect = False
            elif not state.probe_failures:  # a suspect, no more
                state.probe_failures = 1
                # Judged against a reading that may have caught only part of a change
                # (a kettle): the rest of that change looks like a load not responding.
                state.weak_suspect = not probe.steady
            if state.probe_failures >= PROBE_FAILURES and name in plan.caps:
                self._release(state, now, plan)

    def _release(self, state: LoadState, now: datetime, plan: _Plan) -> None:
        """Commanded but not drawing: release the load for 1 min, then 2, 4 … up to
        thermostat_probe_interval (a wrong verdict costs little, a real cut is re-tried
        less and less often)."""
        name = state.cfg.name
        for other in self.loads:
            other.probe_failures = 0  # what the meter missed is explained: no more suspects
        state.cut_backoff_s = min(
            max(state.cut_backoff_s * 2, CUT_FIRST_RELEASE_S), self.cfg.thermostat_probe_s
        )
        state.cut_until = now + timedelta(seconds=state.cut_backoff_s)
        self._freed_at = now
        del plan.caps[name]
        plan.fixed[name] = 0.0
        plan.reasons[name] = "full: thermostat cut"
        # The meter never saw this power: dropping it is no change to compensate.
        state.power_w = 0.0

    @staticmethod
    def _at_cap(state: LoadState, plan: _Plan) -> bool:
        """An auto dimmer commanded to its cap (the trim can give it nothing more)."""
        name = state.cfg.name
        return name in plan.caps and state.power_w >= plan.caps[name] - MIN_CHANGE_W

    def _suspect_capped(self, jump_w: float, plan: _Plan) -> None:
        """The export jumped while a dimmer sits at its cap: did the sun rise, or did the
        load stop drawing? The trim cannot tell (its command does not change), so a dimmer
        whose power the jump could be becomes a suspect, for the swap tests to answer."""
        for state in self.loads:
            name = state.cfg.name
            if (
                state.variable
                and self._at_cap(state, plan)
                and state.power_w >= PROBE_MIN_STEP_W
                and jump_w >= CAP_JUMP_FRACTION * state.power_w
            ):
                state.probe_failures = max(state.probe_failures, 1)
                state.weak_suspect = False
                plan.reasons[name] = f"at its cap, export up {jump_w:.0f} W: is it drawing?"

    def _swap_test(self, plan: _Plan, quiet: bool) -> float:
        """A dimmer suspected once is tested again: its command drops by up to 500 W and
        nothing else moves, so the meter shows more export only if it was drawing (a
        short export, never an import). On a grid that is steady but not quiet (a large
        export the trim cannot take) only a dimmer at its cap is tested. Returns the
        change of the dimmers' total."""
        for state in self.loads:
            name = state.cfg.name
            at_cap = self._at_cap(state, plan)
            if (
                state.probe_failures
                and name in plan.caps
                and state.power_w >= PROBE_MIN_STEP_W
                and (quiet or at_cap)
                # A weak suspect is tested only once the trim pushed it to its cap, as
                # it does with a load whose increases never show on the meter.
                and (not state.weak_suspect or at_cap)
            ):
                step = min(PROBE_SWAP_W, state.power_w)
                plan.caps[name] = state.power_w - step
                plan.reasons[name] = "testing: is it drawing?"
                return -step
        return 0.0

    def _check_learning(self, grid_w: float) -> None:
        learn, self._learn = self._learn, None
        if learn is None:
            return
        seen = learn.sign * (grid_w - learn.grid_before_w - learn.others_w)
        if seen > 50:
            learn.state.learnt_power_w = seen

    # -- outputs ----------------------------------------------------------------------------

    def _set_reasons(self, plan: _Plan) -> None:
        for state in self.loads:
            name = state.cfg.name
            if name in plan.reasons:
                state.reason = plan.reasons[name]
            elif state.variable:
                if state.power_w > 0:
                    state.reason = f"trim {state.power_w:.0f} W"
                else:
                    state.reason = "off: no surplus"

    def _safe_decision(self, now: datetime, reason: str) -> Decision:
        self._account(now)
        first = not self.safe
        self.safe = True
        self.safe_reason = reason
        for state in self.loads:
            if not state.variable and state.on:
                state.switched_at = now
            state.power_w = 0.0
            state.budget_avg_w = None
            state.reason = reason
        self._probe = None
        self._learn = None
        commands = self._commands(now, resend_only=not first, force=first)
        return Decision(
            now,
            None,
            self.cfg.target_grid_w,
            None,
            self._outputs(),
            commands,
            safe=True,
            reason=reason,
        )

    def _decision(
        self,
        now: datetime,
        grid_w: float | None,
        surplus_w: float | None,
        reason: str,
        commands: tuple[MqttCommand, ...] | None = None,
    ) -> Decision:
        if commands is None:
            commands = self._commands(now)
        return Decision(
            now,
            grid_w,
            self.cfg.target_grid_w,
            surplus_w,
            self._outputs(),
            commands,
            safe=self.safe,
            reason=reason,
        )

    @staticmethod
    def _payload(state: LoadState) -> tuple[str, float | None]:
        """The command payload for the load's power (and the dimmer percent), computed
        once per power: inverting the dimmer curve is the core's costliest step."""
        cached = state.payload_cache
        if cached is not None and cached[0] == state.power_w:
            return cached[1], cached[2]
        payload, value = command_payload(state.cfg, state.power_w)
        state.payload_cache = (state.power_w, payload, value)
        return payload, value

    def _commands(
        self, now: datetime, resend_only: bool = False, force: bool = False
    ) -> tuple[MqttCommand, ...]:
        if resend_only and not force and self._resend_at is not None and now < self._resend_at:
            return ()  # nothing changed and nothing due: most ticks end here
        out: list[MqttCommand] = []
        interval = self.cfg.resend_interval_s
        for state in self.loads:
            payload, _ = self._payload(state)
            last = state.last_sent
            due = last is None or (now - last[1]).total_seconds() >= interval
            changed = last is None or last[0] != payload
            if force or due or (changed and not resend_only):
                cmd = state.cfg.command
                out.append(MqttCommand(cmd.topic, payload, cmd.qos, cmd.retain))
                state.last_sent = (payload, now)
        if out or self._resend_at is None:
            sent = [s.last_sent[1] for s in self.loads if s.last_sent is not None]
            self._resend_at = (
                min(sent) + timedelta(seconds=interval)
                if sent and len(sent) == len(self.loads)
                else None
            )
        return tuple(out)

    def _outputs(self) -> tuple[Output, ...]:
        outputs = []
        for state in self.loads:
            _, percent = self._payload(state)
            temp = state.temperature[0] if state.temperature else None
            key = (
                round(state.power_w, 1),
                state.on,
                state.mode,
                state.reason,
                round(state.energy_wh, 1),
                percent,
                temp,
            )
            cached = state.output
            if cached is None or cached[0] != key:  # most loads stay as they were
                power_w, on, mode, reason, energy_wh, _, _ = key
                output = Output(
                    name=state.cfg.name,
                    id=state.cfg.id,
                    power_w=power_w,
                    on=on,
                    mode=mode,
                    forced=mode is Mode.FORCED,
                    reason=reason,
                    energy_wh=energy_wh,
                    percent=percent,
                    temperature_c=temp,
                )
                cached = state.output = (key, output)
            outputs.append(cached[1])
        return tuple(outputs)
