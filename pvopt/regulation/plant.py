"""The frame every policy shares: the loads' states, what users and probes tell them, the
energy counters, the safety of the inputs, and the decisions and commands that result.

A policy (:mod:`pvopt.regulation.policy`) only says how an evaluation moves the loads;
the :class:`Plant` does the rest, the same way for pvopt's regulation, the original
algorithm and "no router":

- **Safety first.** Meter data older than ``stale_timeout`` or teleinfo ``offline``:
  every load off at once (:meth:`Plant.tick` notices it within its call period), and the
  policy is told (``on_shed``) so that it forgets what it was measuring.
- **Manual modes** and **temperature overrides** (``scr/<id>/control``,
  ``regulation/control``), **probe readings**, the **energy counters** and their saving.
- **Outputs**: the decision of an evaluation, the commands due, the periodic re-sends.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from pvopt.ejp import EjpDay
from pvopt.equipment.model import SiteConfig
from pvopt.forecast import PvForecast
from pvopt.regulation import accounting
from pvopt.regulation.calendar import Calendar, beyond
from pvopt.regulation.inputs import Control
from pvopt.regulation.model import Decision, MeterSample, Mode, MqttCommand, Setpoint
from pvopt.regulation.outputs import Emitter
from pvopt.regulation.state import LoadState, Reading


def _nothing() -> None:
    """The default hook."""


class Plant:
    """The loads of one site and everything about them that is not a policy's choice.
    Not thread-safe: one caller at a time."""

    def __init__(
        self,
        site: SiteConfig,
        tz: ZoneInfo,
        *,
        on_shed: Callable[[], None] = _nothing,
        on_resume: Callable[[], None] = _nothing,
        on_period_closed: Callable[[accounting.ClosedPeriod], None] | None = None,
    ) -> None:
        """``on_shed``: every load was just shed (the policy forgets its measurements);
        ``on_resume``: the inputs are trusted again; ``on_period_closed``: a load's
        ``min_energy`` period ended."""
        self.site = site
        self.cfg = site.regulation
        self.tz = tz
        self.loads = [LoadState(cfg) for cfg in site.equipment]
        self._by_name = {s.cfg.name: s for s in self.loads}
        self._by_id = {s.cfg.id: s for s in self.loads}
        self.calendar = Calendar(self.cfg, tz)
        self._stale_after = beyond(self.cfg.stale_timeout_s)  # exactly stale_timeout_s
        self.emitter = Emitter(self.loads, self.cfg.resend_interval_s)
        self.sample: MeterSample | None = None  # the last one evaluated
        #: The last sample is fresh strictly between these instants: at most
        #: ``stale_timeout`` old, and no more ahead either (the clock was set back: it would
        #: otherwise never grow stale). Set with :attr:`sample`, read by every tick.
        self._fresh_from = self._fresh_until = datetime.min.replace(tzinfo=UTC)
        self.teleinfo_online = True
        self.last_eval: datetime | None = None  # the counters are accounted up to then
        self.safe = False
        self.safe_reason = ""
        #: The grid power the policy aims at (set by its evaluation; a re-send's decision
        #: says the same).
        self.aim = Setpoint(target_w=self.cfg.target_grid_w)
        #: The newest PV forecast and how long it may be relied on (None: none received).
        self.forecast: PvForecast | None = None
        self.forecast_max_age_s = 0.0
        self._on_shed = on_shed
        self._on_resume = on_resume
        self._on_period_closed = on_period_closed

    # -- inputs -----------------------------------------------------------------------------

    def load(self, key: str) -> LoadState | None:
        """The state of the equipment with this name or id."""
        return self._by_name.get(key) or self._by_id.get(key)

    def by_name(self, name: str) -> LoadState:
        """The state of the equipment with this name (it exists)."""
        return self._by_name[name]

    def set_temperature(self, load_id: str, celsius: float, now: datetime) -> None:
        """A probe reading (never triggers an evaluation: power values would be old)."""
        state = self._by_id.get(load_id)
        if state is not None:
            state.temperature = Reading(celsius=celsius, at=now)

    def set_ejp_day(self, announced: EjpDay, now: datetime) -> None:
        """An announced EJP day (``regulation/ejp``): only pvopt's regulation reads it."""

    def set_teleinfo_online(self, online: bool, now: datetime) -> Decision | None:
        """teleinfo's availability; ``offline`` sheds every load at once."""
        self.teleinfo_online = online
        if not online and not self.safe:
            return self.safe_decision(now, "teleinfo offline")
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
        manual = state.manual
        manual.mode = mode
        manual.forced_w = power_w if mode is Mode.FORCED else 0.0
        manual.forced_until = (
            now + timedelta(seconds=duration_s) if duration_s and mode is not Mode.AUTO else None
        )

    def apply_control(self, key: str, control: Control, now: datetime) -> None:
        """A parsed manual control (``scr/<id>/control`` or ``regulation/control``)."""
        state = self.load(key)
        if state is None:
            raise KeyError(key)
        if control.threshold is not None and control.celsius is not None:
            if state.thresholds is None:
                raise ValueError(f"{key} has no temperature thresholds")
            state.override(control.threshold, control.celsius)
        elif control.mode is not None:
            self.set_mode(key, control.mode, now, control.power_w, control.duration_s)

    def export_counters(self) -> dict[str, dict[str, object]]:
        """Energy counters to persist (they survive a restart)."""
        return accounting.export_counters(self.loads)

    def restore_counters(self, data: dict[str, dict[str, object]], now: datetime) -> None:
        """Restore what :meth:`export_counters` saved; stale days or periods start at 0."""
        self.account(now)  # sets today's day and periods
        accounting.restore_counters(self.loads, data)

    # -- every evaluation -------------------------------------------------------------------

    def account(self, now: datetime) -> None:
        """Count each load's energy up to ``now``."""
        closed = accounting.account(self.loads, self.calendar, self.last_eval, now)
        self.last_eval = now
        if self._on_period_closed is not None:
            for period in closed:
                self._on_period_closed(period)

    def admit(self, sample: MeterSample, now: datetime) -> Decision | None:
        """What every evaluation starts with, whatever decides after it: count the energy
        so far, keep the sample, and return the safe decision when the inputs cannot be
        trusted (teleinfo offline, data older than ``stale_timeout``); else leave the safe
        state if it was in it."""
        self.account(now)
        self.sample = sample
        stale_after, received = self._stale_after, sample.time
        self._fresh_from, self._fresh_until = received - stale_after, received + stale_after
        if not self.teleinfo_online:
            return self.safe_decision(now, "teleinfo offline")
        if not self._fresh_from < now < self._fresh_until:
            return self.safe_decision(now, "stale meter data")
        if self.safe:
            self.safe = False
            self.safe_reason = ""
            self._on_resume()
        return None

    def tick(self, now: datetime) -> Decision | None:
        """Called regularly (≤ 1 s): sheds on stale data, re-sends commands when due."""
        if self.safe:
            commands = self.emitter.commands(now, resend_only=True)
            return self.decision(now, None, None, self.safe_reason, commands) if commands else None
        sample = self.sample
        if sample is None:
            return None if self.last_eval is None else self.safe_decision(now, "stale meter data")
        if not self._fresh_from < now < self._fresh_until:
            return self.safe_decision(now, "stale meter data")
        resend_at = self.emitter.resend_at
        if resend_at is not None and now < resend_at:
            return None  # nothing due: most ticks end here
        commands = self.emitter.commands(now, resend_only=True)
        return self.decision(now, sample.grid_w, None, commands=commands) if commands else None

    def shutdown(self, now: datetime) -> Decision:
        """SIGTERM: every load off, whatever its mode."""
        return self.safe_decision(now, "regulation stopped")

    # -- decisions --------------------------------------------------------------------------

    def surplus_w(self, grid_w: float) -> float:
        """What would be exported without the loads: −grid + what they were commanded."""
        return -grid_w + sum([s.power_w for s in self.loads])

    def safe_decision(self, now: datetime, reason: str) -> Decision:
        """Every load off (the first time with every command sent again)."""
        self.account(now)
        first = not self.safe
        self.safe = True
        self.safe_reason = reason
        self.aim = Setpoint(target_w=self.cfg.target_grid_w)  # until evaluated again
        for state in self.loads:
            state.set_fixed(0.0, now)
            state.reason = reason
        self._on_shed()
        commands = self.emitter.commands(now, resend_only=not first, force=first)
        return Decision(
            time=now,
            grid_w=None,
            target_w=self.aim.target_w,
            surplus_w=None,
            outputs=self.emitter.outputs(),
            commands=commands,
            safe=True,
            reason=reason,
        )

    def decision(
        self,
        now: datetime,
        grid_w: float | None,
        surplus_w: float | None,
        reason: str | None = None,
        commands: tuple[MqttCommand, ...] | None = None,
    ) -> Decision:
        """The decision the loads' states make now, aiming at :attr:`aim` (``reason`` None:
        its why); the commands of what changed unless given."""
        if commands is None:
            commands = self.emitter.commands(now)
        return Decision(
            time=now,
            grid_w=grid_w,
            target_w=self.aim.target_w,
            surplus_w=surplus_w,
            outputs=self.emitter.outputs(),
            commands=commands,
            safe=self.safe,
            reason=self.aim.why if reason is None else reason,
        )


class OnPlant:
    """The part of the :class:`~pvopt.regulation.policy.Policy` interface every policy
    answers through its plant (a policy adds ``evaluate``)."""

    plant: Plant

    @property
    def site(self) -> SiteConfig:
        """The site the policy drives."""
        return self.plant.site

    @property
    def tz(self) -> ZoneInfo:
        """The site's time zone (its local day and off-peak window)."""
        return self.plant.tz

    @property
    def loads(self) -> list[LoadState]:
        """The loads' states, in priority order."""
        return self.plant.loads

    @property
    def safe(self) -> bool:
        """Every load off because the inputs cannot be trusted."""
        return self.plant.safe

    def load(self, key: str) -> LoadState | None:
        """The state of the equipment with this name or id."""
        return self.plant.load(key)

    def knows(self, key: str) -> bool:
        """Is there an equipment with this name or id?"""
        return self.plant.load(key) is not None

    def set_temperature(self, load_id: str, celsius: float, now: datetime) -> None:
        """A probe reading."""
        self.plant.set_temperature(load_id, celsius, now)

    def set_forecast(self, forecast: PvForecast, max_age_s: float) -> None:
        """The newest valid PV forecast, relied on until ``max_age_s`` after its issue."""
        self.plant.forecast, self.plant.forecast_max_age_s = forecast, max_age_s

    def set_ejp_day(self, announced: EjpDay, now: datetime) -> None:
        """An announced EJP day (``regulation/ejp``): only pvopt's regulation reads it."""

    def set_teleinfo_online(self, online: bool, now: datetime) -> Decision | None:
        """teleinfo's availability; ``offline`` sheds every load at once."""
        return self.plant.set_teleinfo_online(online, now)

    def apply_control(self, key: str, control: Control, now: datetime) -> None:
        """A parsed manual control."""
        self.plant.apply_control(key, control, now)

    def tick(self, now: datetime) -> Decision | None:
        """Sheds on stale data, re-sends commands when due."""
        return self.plant.tick(now)

    def shutdown(self, now: datetime) -> Decision:
        """Every load off, whatever its mode."""
        return self.plant.shutdown(now)

    def export_counters(self) -> dict[str, dict[str, object]]:
        """Energy counters to persist."""
        return self.plant.export_counters()

    def restore_counters(self, data: dict[str, dict[str, object]], now: datetime) -> None:
        """Restore saved energy counters."""
        self.plant.restore_counters(data, now)
