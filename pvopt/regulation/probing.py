"""Probing and learning: does each load draw what it is commanded?

- **Thermostat cut.** A dimmer whose command changed by ≥ 300 W but whose effect does not
  show on the meter is a suspect; two "is it drawing?" tests (its command alone drops by
  500 W on a quiet grid) confirm it: its share goes to the next load and it is tried
  again later (after 1 min, then 2, 4 … up to ``thermostat_probe_interval``). A suspect
  judged against a reading that jumped from the previous one (which may show only part of
  a kettle) is tested only once the trim has pushed it to its cap, as it does with a load
  that draws nothing. At its cap a dimmer's command does not move when its thermostat
  opens: an export jump of most of its power makes it a suspect, and a capped suspect is
  tested on a steady grid, quiet or not.
- **Unknown power.** An ``UnknownPowerEquipment`` that has just switched: the first
  reading that shows the switch in full gives its real power.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from pvopt.equipment.model import UnknownPowerConfig
from pvopt.regulation.rules import Plan
from pvopt.regulation.state import LoadState
from pvopt.regulation.trim import MIN_CHANGE_W

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
#: The smallest change of the meter that says how much an unknown-power load draws.
LEARN_MIN_W = 50.0


@dataclass(slots=True)
class GridChange:
    """How a reading compares with the ones before it (the detector's one record,
    rewritten by each :meth:`CutDetector.observe`: read it within the evaluation)."""

    quiet: bool = False  # |error| small on this reading and the last: swap tests may run
    steady: bool = False  # close to the last reading: a reference to judge a load by
    jump_w: float = 0.0  # how far the export rose within the last two readings


@dataclass
class Probe:
    """A pending check that the loads' changes show on the meter."""

    grid_before_w: float
    steps_w: dict[str, float]
    swap: bool = False  # a swap test: nothing else moves until it is judged
    steady: bool = True  # the reference reading was close to the one before it


@dataclass
class Learning:
    """An unknown-power load has just switched."""

    state: LoadState
    grid_before_w: float
    sign: float  # +1: it started, −1: it stopped
    others_w: float  # the other loads' changes since (the dimmers making room): seen too


def at_cap(state: LoadState, plan: Plan) -> bool:
    """An auto dimmer commanded to its cap (the trim can give it nothing more)."""
    cap = plan.caps.get(state.name)
    return cap is not None and state.power_w >= cap - MIN_CHANGE_W


class CutDetector:
    """The probes and learnings in progress for one site's loads."""

    def __init__(
        self,
        loads: Sequence[LoadState],
        by_name: Callable[[str], LoadState],
        thermostat_probe_s: float,
    ) -> None:
        self.loads = loads
        self.dimmers = [s for s in loads if s.variable]  # in priority order
        self.by_name = by_name
        self.thermostat_probe_s = thermostat_probe_s
        self.probe: Probe | None = None
        self.learning: Learning | None = None
        self.freed_at: datetime | None = None  # a dimmer last found drawing nothing
        self.last_error_w = 0.0
        self.prev_error_w = 0.0  # the reading before the last
        self._change = GridChange()  # the last reading's (one record: made once)

    def forget(self) -> None:
        """The loads were shed: nothing in progress can be judged."""
        self.probe = None
        self.learning = None

    def freed_recently(self, now: datetime, window_s: float) -> bool:
        """Was a dimmer found drawing nothing within ``window_s``?"""
        return self.freed_at is not None and (now - self.freed_at).total_seconds() <= window_s

    def observe(self, error_w: float) -> GridChange:
        """Compare a reading's error with the last two (and remember it). The record
        returned is rewritten by the next call (one per frame, not worth an object)."""
        last = self.last_error_w
        change = self._change
        change.quiet = (
            -SWAP_QUIET_W < error_w < SWAP_QUIET_W and -SWAP_QUIET_W < last < SWAP_QUIET_W
        )
        # A reading far from the previous one may show only part of a change (a kettle
        # switched on during its averaging second): not a reference to judge a load by.
        change.steady = -SWAP_QUIET_W < error_w - last < SWAP_QUIET_W
        # A step may be split between two 1 s means: positive = more export.
        prev = self.prev_error_w
        change.jump_w = (prev if prev > last else last) - error_w  # max(last, prev)
        self.prev_error_w, self.last_error_w = last, error_w
        return change

    def judge(self, grid_w: float, now: datetime, plan: Plan, change: GridChange) -> float:
        """On a settled reading: judge the probe and learning in progress, suspect capped
        dimmers, and start a swap test when one is due. Returns the swap test's change of
        the dimmers' total (0: none)."""
        if self.probe is not None:
            self._check_probe(grid_w, now, plan)
        if self.learning is not None:
            self._check_learning(grid_w)
        self._suspect_capped(change.jump_w, plan)
        if change.quiet or change.steady:
            return self._swap_test(plan, change.quiet)
        return 0.0

    def hold_swap(self, plan: Plan) -> bool:
        """On an unsettled reading, a swap test still to judge keeps its load where the
        test put it (and everything else where it is): True if so."""
        probe = self.probe
        if probe is None or not probe.swap:
            return False
        for name in probe.steps_w:
            if name in plan.caps:
                plan.caps[name] = self.by_name(name).power_w
                plan.reasons[name] = "testing: is it drawing?"
        return True

    def follow(
        self,
        steps: Mapping[str, float],
        grid_w: float,
        settled: bool,
        switched: LoadState | None,
        testing: bool,
        steady: bool,
    ) -> None:
        """The significant changes of a decision: on a settled reading they are the next
        thing to check; else the checks in progress see them too."""
        if settled:
            self._arm(steps, grid_w, switched, testing, steady)
            return
        if self.probe is not None:
            for name, step in steps.items():
                self.probe.steps_w[name] = self.probe.steps_w.get(name, 0.0) + step
        if self.learning is not None:
            learnt = self.learning.state.name
            self.learning.others_w += sum(w for n, w in steps.items() if n != learnt)

    def _arm(
        self,
        steps: Mapping[str, float],
        grid_w: float,
        switched: LoadState | None,
        swap: bool,
        steady: bool,
    ) -> None:
        self.probe = None
        self.learning = None
        if switched is not None and isinstance(switched.cfg, UnknownPowerConfig):
            others_w = sum(w for name, w in steps.items() if name != switched.cfg.name)
            self.learning = Learning(
                state=switched,
                grid_before_w=grid_w,
                sign=1.0 if switched.on else -1.0,
                others_w=others_w,
            )
            return
        if switched is None:
            self.probe = Probe(grid_before_w=grid_w, steps_w=dict(steps), swap=swap, steady=steady)

    def _check_probe(self, grid_w: float, now: datetime, plan: Plan) -> None:
        """Did the last changes show on the meter? Every dimmer whose change the meter
        missed becomes a suspect; a suspect that then fails two swap tests draws nothing
        and is released for a while."""
        probe, self.probe = self.probe, None
        if probe is None:
            return
        missing_w = sum(probe.steps_w.values()) - (grid_w - probe.grid_before_w)
        for name, step in probe.steps_w.items():
            state = self.by_name(name)
            if abs(step) < PROBE_MIN_STEP_W or not state.variable:
                continue
            cut = state.cut
            missing = missing_w / step  # the share of this load's change not seen
            if missing < 1.0 - PROBE_MISSING:
                cut.failures = 0
                cut.weak_suspect = False
                cut.backoff_s = 0.0  # it clearly draws: forget past cuts
            elif missing < PROBE_MISSING:
                if probe.swap:
                    cut.failures = 0
            elif probe.swap:
                cut.failures += 1
                cut.weak_suspect = False
            elif not cut.failures:  # a suspect, no more
                cut.failures = 1
                # Judged against a reading that may have caught only part of a change
                # (a kettle): the rest of that change looks like a load not responding.
                cut.weak_suspect = not probe.steady
            if cut.failures >= PROBE_FAILURES and name in plan.caps:
                self._release(state, now, plan)

    def _release(self, state: LoadState, now: datetime, plan: Plan) -> None:
        """Commanded but not drawing: release the load for 1 min, then 2, 4 … up to
        thermostat_probe_interval (a wrong verdict costs little, a real cut is re-tried
        less and less often)."""
        name = state.name
        for other in self.loads:
            other.cut.failures = 0  # what the meter missed is explained: no more suspects
        cut = state.cut
        cut.backoff_s = min(max(cut.backoff_s * 2, CUT_FIRST_RELEASE_S), self.thermostat_probe_s)
        cut.until = now + timedelta(seconds=cut.backoff_s)
        self.freed_at = now
        del plan.caps[name]
        plan.fixed[name] = 0.0
        plan.reasons[name] = "full: thermostat cut"
        # The meter never saw this power: dropping it is no change to compensate.
        state.power_w = 0.0

    def _suspect_capped(self, jump_w: float, plan: Plan) -> None:
        """The export jumped while a dimmer sits at its cap: did the sun rise, or did the
        load stop drawing? The trim cannot tell (its command does not change), so a dimmer
        whose power the jump could be becomes a suspect, for the swap tests to answer."""
        for state in self.dimmers:
            if (
                jump_w >= CAP_JUMP_FRACTION * state.power_w  # the cheapest test first
                and state.power_w >= PROBE_MIN_STEP_W
                and at_cap(state, plan)
            ):
                state.cut.failures = max(state.cut.failures, 1)
                state.cut.weak_suspect = False
                plan.reasons[state.name] = f"at its cap, export up {jump_w:.0f} W: is it drawing?"

    def _swap_test(self, plan: Plan, quiet: bool) -> float:
        """A dimmer suspected once is tested again: its command drops by up to 500 W and
        nothing else moves, so the meter shows more export only if it was drawing (a
        short export, never an import). On a grid that is steady but not quiet (a large
        export the trim cannot take) only a dimmer at its cap is tested. Returns the
        change of the dimmers' total."""
        for state in self.dimmers:  # only dimmers are suspected
            if not state.cut.failures:
                continue
            name = state.name
            capped = at_cap(state, plan)
            if (
                name in plan.caps
                and state.power_w >= PROBE_MIN_STEP_W
                and (quiet or capped)
                # A weak suspect is tested only once the trim pushed it to its cap, as
                # it does with a load whose increases never show on the meter.
                and (not state.cut.weak_suspect or capped)
            ):
                step = min(PROBE_SWAP_W, state.power_w)
                plan.caps[name] = state.power_w - step
                plan.reasons[name] = "testing: is it drawing?"
                return -step
        return 0.0

    def _check_learning(self, grid_w: float) -> None:
        learn, self.learning = self.learning, None
        if learn is None:
            return
        seen = learn.sign * (grid_w - learn.grid_before_w - learn.others_w)
        if seen > LEARN_MIN_W:
            learn.state.learnt_power_w = seen
