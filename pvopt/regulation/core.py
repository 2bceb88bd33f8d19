"""pvopt's regulation: meter samples and time in, decisions and device commands out.

Pure: no MQTT, no clock. The daemon (and the simulator) feed it one :class:`MeterSample`
per meter frame, temperatures and control messages, and call :meth:`Regulator.tick`
regularly for the stale-data timeout. It implements :class:`~pvopt.regulation.policy.Policy`.

One evaluation per meter frame, a pipeline of the modules named for what they decide:

1. **Safety first** (:mod:`~pvopt.regulation.plant`): meter data older than
   ``stale_timeout`` or teleinfo ``offline``: every load off at once. The energy counters
   are accounted (:mod:`~pvopt.regulation.accounting`).
2. **Dead-time hold** (:mod:`~pvopt.regulation.trim`): after a command, readings received
   within ``settle_time`` cannot show its effect (the meter reports every ~1.2 s, up to
   one frame late): they are not acted upon, so the loop never corrects the same error
   twice.
3. **Rules** (:mod:`~pvopt.regulation.rules`, on the :mod:`~pvopt.regulation.calendar`):
   manual modes, temperature limits, off-peak grid heating and completion, and the
   on/off loads' daily run time fix some loads and cap the dimmers.
4. **Probing** (:mod:`~pvopt.regulation.probing`): on a settled reading, did the last
   changes show on the meter? A dimmer that draws nothing (thermostat cut) is released;
   an unknown-power load learns its power.
5. **Trim loop** (:mod:`~pvopt.regulation.trim`): on a settled reading the dimmers' total
   moves by ``−gain × (grid − target)``, shared out in priority order up to each cap;
   the target is the configured one or 0 W (:mod:`~pvopt.regulation.setpoint`).
6. **Staging** (:mod:`~pvopt.regulation.staging`): at most one on/off load starts or stops
   per settled reading, and the dimmers move by its power in the same decision, so the
   grid does not see the step.
7. **Outputs** (:mod:`~pvopt.regulation.outputs`): each load's output and reason, the
   commands that changed, the periodic re-sends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from pvopt.ejp import EjpDay
from pvopt.equipment.model import MIDNIGHT, SiteConfig, local_end
from pvopt.forecast import PvForecast
from pvopt.regulation import rules, setpoint, staging, trim
from pvopt.regulation.model import Decision, MeterSample
from pvopt.regulation.plant import OnPlant, Plant
from pvopt.regulation.prices import Prices
from pvopt.regulation.probing import CutDetector
from pvopt.regulation.rules import Plan
from pvopt.regulation.staging import Staged


@dataclass(frozen=True, slots=True)
class SunKnown:
    """What the PV forecast expected, for one minute and one forecast
    (:meth:`Regulator._sun` asks ~50 times a minute)."""

    minute_start: datetime
    forecast: PvForecast
    sun: rules.Sun


@dataclass(frozen=True, slots=True)
class AheadKnown:
    """The energy one forecast expects over the day after one off-peak window's end
    (:data:`rules.SUN_DAY`): the same for every minute of that window, worked out once
    (the forecast's staleness is still asked each minute, it depends on the time)."""

    forecast: PvForecast
    offpeak_until: datetime
    energy_wh: float | None


@dataclass(frozen=True, slots=True)
class TrimWords:
    """A dimmer's trim reason and the power it was made for (:meth:`Regulator._trim_words`)."""

    power_w: float
    words: str


class Regulator(OnPlant):
    """pvopt's regulation policy for one site. Not thread-safe: one caller at a time."""

    def __init__(self, site: SiteConfig, tz: ZoneInfo) -> None:
        self.plant = Plant(site, tz, on_shed=self._shed, on_resume=self._resume)
        self.cfg = site.regulation
        self.dead_time = trim.DeadTime(self.cfg.settle_time_s)
        self.cuts = CutDetector(self.plant.loads, self.plant.by_name, self.cfg.thermostat_probe_s)
        self.prices = Prices(site.tariff, self.plant.calendar, tz)
        self._sun_known: SunKnown | None = None
        self._ahead_known: AheadKnown | None = None
        #: each dimmer's last trim reason and the power it says (:meth:`_trim_words`)
        self._trim_said: dict[str, TrimWords] = {}
        self._heaters = [s for s in self.plant.loads if s.thresholds is not None]
        self._dimmers = [s for s in self.plant.loads if s.variable]  # in priority order
        #: the on/off loads with a daily run time (:attr:`rules.Sun.runs_covered`)
        self._runs = [s for s in self.plant.loads if not s.variable and s.latest_end is not None]

    def set_ejp_day(self, announced: EjpDay, now: datetime) -> None:
        """An announced EJP day: the night before a mobile peak is priced as dear."""
        self.prices.know_ejp(announced, now)

    def _shed(self) -> None:
        """Every load was shed: the checks in progress and the averages mean nothing."""
        self.cuts.forget()
        for state in self.plant.loads:
            state.budget.average_w = None

    def _resume(self) -> None:
        """The inputs are trusted again: no command of before is still on its way."""
        self.dead_time.clear()

    def evaluate(self, sample: MeterSample, now: datetime) -> Decision:
        """One evaluation, on the SINSTS and SINSTI of one frame."""
        plant = self.plant
        shed = plant.admit(sample, now)
        if shed is not None:
            return shed
        grid_w = sample.grid_w
        prices = self.prices.view(now, sample.tariff)
        sun = self._sun(now, prices.offpeak_until)
        aim = setpoint.grid_target(self.cfg.target_grid_w, prices, self._heaters, sun.left_today_wh)
        plant.aim = aim
        error_w = grid_w - aim.target_w
        # The part of recent commands that this reading cannot show yet counts as if it
        # were already there.
        pending_w = self.dead_time.pending_w(now)
        settled = self.dead_time.settled()
        plan = rules.plan(plant.loads, plant.calendar, now, prices, sun)
        change = self.cuts.observe(error_w)
        swap_w = self.cuts.judge(grid_w, now, plan, change) if settled else 0.0
        testing = swap_w != 0.0
        before = [s.power_w for s in plant.loads]
        held = not settled and self.cuts.hold_swap(plan)
        staged: Staged | None = None
        delta_w = swap_w  # change of the dimmers' total
        if not testing and not held:
            # a run bought from the grid leaves a heater short of its need the sun it had
            shift_w = rules.bought_w(plant.loads, plan)
            delta_w = trim.correction_w(error_w - shift_w + pending_w, self.cfg)
            if settled:  # one switch per settle window, decided on a reading that shows all
                staged = staging.stage(
                    plant.loads,
                    now,
                    error_w,
                    plan,
                    self.cfg,
                    self.cuts.freed_recently(now, staging.FAST_START_WINDOW_S),
                )
                delta_w += staged.dimmers_w if staged is not None else 0.0
        if plan.fixed:
            delta_w = self._apply_fixed(plan, delta_w, now)
        if settled or delta_w:
            trim.share(self._dimmers, delta_w, plan.caps, plan.topping)
        after = [s.power_w for s in plant.loads]
        if after != before:  # most decisions move nothing
            self._follow(before, after, now, grid_w, settled, staged, testing, change.steady)
        self._set_reasons(plan)
        # what would be exported without the loads (Plant.surplus_w, the list made once)
        return plant.decision(now, grid_w, -grid_w + sum(after))

    def _sun(self, now: datetime, offpeak_until: datetime | None) -> rules.Sun:
        """What the PV forecast expects: over the day after the off-peak window in
        progress (:data:`rules.SUN_DAY`), from now to local midnight when the site has a
        water heater (its need met, :func:`rules.need_met`; the grid target,
        :mod:`~pvopt.regulation.setpoint`), and until when today it covers each run-time
        load's power (None: no window, no such load, or no usable forecast; remembered
        for the minute)."""
        forecast = self.plant.forecast
        if forecast is None:
            return rules.NO_SUN
        minute = self.plant.calendar.minute(now)
        known = self._sun_known
        if (
            known is not None
            and known.minute_start == minute.start
            and (known.forecast is forecast or known.forecast == forecast)
        ):
            return known.sun
        max_age_s = self.plant.forecast_max_age_s
        fresh = not forecast.stale(now, max_age_s)
        ahead_wh = None
        if offpeak_until is not None and fresh:
            ahead_wh = self._ahead_wh(forecast, offpeak_until)
        left_wh = None
        midnight = local_end(minute.day, MIDNIGHT, self.plant.tz)
        if self._heaters and fresh:
            left_wh = forecast.energy_wh(minute.start, midnight)
        covered: dict[str, datetime] = {}
        if self._runs and fresh:
            for state in self._runs:
                until = forecast.covered_until(state.onoff_power_w, minute.start, midnight)
                if until is not None:
                    covered[state.name] = until
        sun = rules.Sun(ahead_wh=ahead_wh, left_today_wh=left_wh, runs_covered=covered)
        self._sun_known = SunKnown(minute_start=minute.start, forecast=forecast, sun=sun)
        return sun

    def _ahead_wh(self, forecast: PvForecast, offpeak_until: datetime) -> float | None:
        """What ``forecast`` expects over the day after ``offpeak_until`` (staleness
        aside): remembered for the window, since neither bound moves within it. Safe: the
        energy is a function of the forecast (immutable, matched by identity) and the two
        bounds alone."""
        known = self._ahead_known
        if known is None or known.forecast is not forecast or known.offpeak_until != offpeak_until:
            ends = offpeak_until + rules.SUN_DAY
            energy_wh = forecast.energy_wh(offpeak_until, ends)
            known = AheadKnown(forecast=forecast, offpeak_until=offpeak_until, energy_wh=energy_wh)
            self._ahead_known = known
        return known.energy_wh

    def _apply_fixed(self, plan: Plan, delta_w: float, now: datetime) -> float:
        """Loads fixed by a mode or a limit take their power now, safety limits included;
        returns the dimmers' change with that known change absorbed (same decision)."""
        for state in self.plant.loads:
            new = plan.fixed.get(state.name)
            if new is None or new == state.power_w:
                continue
            delta_w -= new - state.power_w
            state.set_fixed(new, now)
        return delta_w

    def _follow(
        self,
        before: list[float],
        after: list[float],
        now: datetime,
        grid_w: float,
        settled: bool,
        staged: Staged | None,
        testing: bool,
        steady: bool,
    ) -> None:
        """The decision's changes (``before``, ``after``: each load's power before and
        after it): in flight until the meter shows them, and checked."""
        loads = self.plant.loads
        moves = [now_w - was_w for now_w, was_w in zip(after, before, strict=True)]
        steps = {
            s.name: w for s, w in zip(loads, moves, strict=True) if abs(w) >= trim.MIN_CHANGE_W
        }
        if not steps:
            return
        self.dead_time.record(now, moves)
        switched = staged.state if staged is not None else None
        self.cuts.follow(steps, grid_w, settled, switched, testing, steady)

    def _trim_words(self, name: str, power_w: float) -> str:
        """The trim's reason for a dimmer at ``power_w``: made when its power changes, not
        at each frame (safe: the words are a function of the power alone)."""
        said = self._trim_said.get(name)
        if said is not None and said.power_w == power_w:
            return said.words
        words = f"trim {power_w:.0f} W" if power_w > 0 else "off: no surplus"
        self._trim_said[name] = TrimWords(power_w=power_w, words=words)
        return words

    def _set_reasons(self, plan: Plan) -> None:
        """Each load's reason: its rule's or staging's (a note added: a run time missed
        today), or the trim's for a dimmer neither fixed (a note added: its morning
        top-up left to the sun)."""
        reasons, notes = plan.reasons, plan.notes
        for state in self.plant.loads:
            reason = reasons.get(state.name)
            if reason is not None:
                note = notes.get(state.name) if notes else None
                state.reason = f"{reason}; {note}" if note else reason
            elif state.variable:
                trim = self._trim_words(state.name, state.power_w)
                note = notes.get(state.name) if notes else None
                state.reason = f"{trim}; {note}" if note else trim
