"""What the regulation remembers of each load: one :class:`LoadState` per equipment, its
state grouped in typed records by the concern that owns it.

- :class:`ManualControl`: the mode a user set (``scr/<id>/control``, ``regulation/control``);
- :class:`EnergyCounters`: today's energy and run time, the ``min_energy`` period's
  energy (accounting);
- :class:`RunNeed`: an on/off load held on to get its ``daily_run_time`` (rules);
- :class:`TankState`: the temperature latches and the user's threshold overrides, the
  words of its last "full" ruling (:class:`FullWords`, a :class:`Fixed`) and the rise
  per Wh its grid heating showed (:class:`HeatRate`) (rules);
- :class:`BudgetAverage`: the averaged power an on/off load could have (staging);
- :class:`CutDetection`: whether a dimmer is suspected of, or found, drawing nothing
  (probing).

What the outputs remember (the last payload sent, caches) lives with the outputs
(:mod:`pvopt.regulation.outputs`), not here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Final

from pvopt.equipment.model import (
    ConstantPowerConfig,
    EquipmentConfig,
    TempDrivenVariablePowerConfig,
    UnknownPowerConfig,
    VariablePowerConfig,
)
from pvopt.regulation.calendar import DAY_S
from pvopt.regulation.model import Mode


@dataclass(frozen=True, slots=True)
class Thresholds:
    """A water heater's temperatures (°C), with the user's overrides applied."""

    min_c: float  # below it: heat from the grid off-peak …
    eco_c: float  # … up to this
    sol_min_c: float  # once full (temp_max), only leftover surplus until below this
    max_c: float  # never above this, whatever the mode


@dataclass(frozen=True, slots=True)
class Reading:
    """A probe's temperature and when it was received."""

    celsius: float
    at: datetime


@dataclass(slots=True)
class ManualControl:
    """The mode a user set; a forced run ends at ``forced_until``."""

    mode: Mode = Mode.AUTO
    forced_w: float = 0.0
    forced_until: datetime | None = None

    def expire(self, now: datetime) -> None:
        """Back to AUTO once a timed mode has run its course."""
        if self.forced_until is not None and now >= self.forced_until:
            self.mode, self.forced_until, self.forced_w = Mode.AUTO, None, 0.0


@dataclass(slots=True)
class EnergyCounters:
    """Energy from the commanded power: today's (local day) and the ``min_energy``
    period's; and today's run time of an on/off load (its ``daily_run_time`` need)."""

    day: date | None = None
    energy_wh: float = 0.0
    run_s: float = 0.0  # seconds commanded on since local midnight (on/off loads)
    period_start: datetime | None = None  # local time
    period_energy_wh: float = 0.0


@dataclass(slots=True)
class MorningWatch:
    """How far the tank fell each morning, from the end of the off-peak night to its
    lowest before it heated again (the morning's draws): what a night's top-up must
    leave above ``temp_min`` (rules.watch_morning)."""

    night: bool = False  # in an off-peak window: the next morning will be watched
    since: datetime | None = None  # watching since the night ended
    start_c: float = 0.0
    low_c: float = 0.0
    drops_k: list[float] = field(default_factory=list)  # the last mornings', oldest first


@dataclass(slots=True)
class Fixed:
    """A load's power set by a rule (:mod:`~pvopt.regulation.rules`), and why (read-only:
    ``Final``, not frozen, as rules make them each frame; see
    :class:`~pvopt.regulation.model.Decision`)."""

    power_w: Final[float]
    reason: Final[str]
    #: An on/off load run for its run-time need: the grid pays for it (rules.Plan.bought).
    bought: Final[bool] = False


@dataclass(slots=True)
class FullWords:
    """A water heater's last "full" ruling and what it was made of (rules.full): the
    same temperature (the very float of the probe reading) and thresholds give the same
    ruling, made once per reading instead of at each of the ~50 frames a minute."""

    celsius: float | None = None
    thresholds: Thresholds | None = None
    fixed: Fixed | None = None


@dataclass(slots=True)
class HeatRate:
    """How fast the tank warms under the heater's full power, learnt from off-peak grid
    heating (rules.learn_heat_rate): the probe's rise over the energy the heater gave."""

    start_c: float | None = None  # the probe when this run of grid heating began ...
    since: datetime | None = None  # ... and when (None: none yet)
    at: datetime | None = None  # the run's last reading (a gap starts a new run)
    k_per_wh: float | None = None  # the last run's rise per Wh (None: none learnt yet)


@dataclass(slots=True)
class TankState:
    """The temperature latches of a temperature-driven load, and the user's overrides."""

    solar_full: bool = False  # temp_max reached, until temp_sol_min
    grid_heat: bool = False  # below temp_min, until temp_eco
    #: grid_heat latched by the morning top-up (rules.morning_top_up), above temp_min
    top_up: bool = False
    need_met: bool = False  # temp_eco + YIELD_HYSTERESIS_K reached, until below temp_eco
    warm: bool = False  # temp_min + YIELD_HYSTERESIS_K reached, until below temp_min
    # "min", "eco", "max" → °C; set through LoadState.override (its thresholds follow)
    overrides: dict[str, float] = field(default_factory=dict)
    morning: MorningWatch = field(default_factory=MorningWatch)
    full: FullWords = field(default_factory=FullWords)  # the words of its "full" rulings
    rate: HeatRate = field(default_factory=HeatRate)  # K per Wh of grid heating
    #: the end of the off-peak window whose grid heating has begun (rules.grid_heating):
    #: it goes on to its target, no longer put off
    heating_for: datetime | None = None


@dataclass(slots=True)
class RunNeed:
    """An on/off load held on by its ``daily_run_time`` need: once started for it, it
    stays on until the need is met or ``until`` (the day's ``latest_end``) passes, since
    the run that is left keeps the latest start just ahead of the clock."""

    until: datetime | None = None  # held on for the need due then (None: not held)
    #: not held, and not due before this (its latest start; a run on surplus only moves
    #: it later): the rule need not be worked out again until then (rules.run_need)
    idle_until: datetime | None = None


@dataclass(slots=True)
class BudgetAverage:
    """The power an on/off load could have, averaged since its last switch."""

    average_w: float | None = None  # None: averages afresh
    shortfall_avg_w: float = 0.0  # averaged max(power − budget, 0): what it would import
    at: datetime | None = None  # last update
    since: datetime | None = None  # first update of this average
    covered_since: datetime | None = None  # covered FAST_START_FACTOR times over since
    #: Shadows (kept across switches): did the last reading cover the load's power, and
    #: when did a reading last fall short of it after one that covered it.
    covering: bool = False
    shadow_at: datetime | None = None
    #: When staging stopped the load for want of surplus (the last hour's, oldest first):
    #: each makes the next start wait start_delay longer (staging.RESTART_MEMORY_S).
    stops: list[datetime] = field(default_factory=list)

    def restart(self) -> None:
        """Forget the average (a switch, a shed): the other direction averages afresh."""
        self.average_w = None
        self.covered_since = None


@dataclass(slots=True)
class CutDetection:
    """Is a dimmer drawing what it is commanded? (a thermostat may have cut)"""

    failures: int = 0  # consecutive non-responses
    weak_suspect: bool = False  # suspected from a reading that may have shown a partial step
    until: datetime | None = None  # found drawing nothing: released until then
    backoff_s: float = 0.0  # the last release's length


@dataclass(slots=True)
class LoadState:
    """What the core remembers of one equipment."""

    cfg: EquipmentConfig
    power_w: float = 0.0  # commanded now (dimmers), or power drawn when on (on/off)
    switched_at: datetime | None = None  # last on/off transition
    reason: str = "starting"
    temperature: Reading | None = None  # the probe's last reading
    learnt_power_w: float | None = None  # UnknownPowerEquipment: its power, from the meter
    manual: ManualControl = field(default_factory=ManualControl)
    counters: EnergyCounters = field(default_factory=EnergyCounters)
    tank: TankState = field(default_factory=TankState)
    need: RunNeed = field(default_factory=RunNeed)
    budget: BudgetAverage = field(default_factory=BudgetAverage)
    cut: CutDetection = field(default_factory=CutDetection)
    # Derived once from the (frozen) configuration: read several times per evaluation.
    name: str = field(init=False)  # the equipment's name (its key in plans and reports)
    variable: bool = field(init=False)  # dimmer-driven load
    min_on_off_s: tuple[float, float] = field(init=False)  # (0, 0) for dimmers
    min_power_w: float = field(init=False)  # a dimmer's min_power (0 for on/off loads)
    min_energy_wh: float | None = field(init=False)  # a dimmer's min_energy per period
    period_s: float = field(init=False)  # its min_energy period (a day for on/off loads)
    daily_run_s: float = field(init=False)  # an on/off load's daily_run_time (0: none)
    latest_end: time | None = field(init=False)  # … due by then (None: no daily run)
    #: A temperature-driven load's temperatures, overrides applied (else None); kept
    #: up to date by :meth:`override`.
    thresholds: Thresholds | None = field(init=False)
    #: Temperatures, ``min_energy`` or ``daily_run_time``: rules may fix it in AUTO
    #: whatever happens (else only a thermostat cut does; rules.plan).
    configured_rules: bool = field(init=False)
    _probe_timeout_s: float | None = field(init=False)  # temperature-driven loads only
    _max_power_w: float | None = field(init=False)  # dimmers only
    _nominal_w: float | None = field(init=False)  # on/off power when known in advance
    _expected_w: float = field(init=False)  # an unknown-power load's first guess

    def __post_init__(self) -> None:
        cfg = self.cfg
        self.name = cfg.name
        self.variable = isinstance(cfg, VariablePowerConfig)
        self.min_on_off_s = (
            (cfg.min_on_s, cfg.min_off_s)
            if isinstance(cfg, ConstantPowerConfig | UnknownPowerConfig)
            else (0.0, 0.0)
        )
        dimmer = cfg if isinstance(cfg, VariablePowerConfig) else None
        self.min_power_w = dimmer.min_power_w if dimmer is not None else 0.0
        self.min_energy_wh = dimmer.min_energy_wh if dimmer is not None else None
        self.period_s = dimmer.period_s if dimmer is not None else DAY_S
        self.daily_run_s = 0.0
        self.latest_end = None
        if isinstance(cfg, ConstantPowerConfig | UnknownPowerConfig) and cfg.daily_run_s > 0:
            self.daily_run_s = cfg.daily_run_s
            self.latest_end = cfg.latest_end
        self._max_power_w = dimmer.max_power_w if dimmer is not None else None
        self._probe_timeout_s = (
            cfg.probe_timeout_s if isinstance(cfg, TempDrivenVariablePowerConfig) else None
        )
        self._nominal_w = 0.0  # a dimmer: no on/off power
        self._expected_w = 0.0
        if isinstance(cfg, ConstantPowerConfig):
            self._nominal_w = cfg.nominal_power_w
        elif isinstance(cfg, UnknownPowerConfig):
            self._nominal_w = None  # learnt
            self._expected_w = cfg.expected_power_w
        self.thresholds = self._thresholds()
        self.configured_rules = (
            self.thresholds is not None
            or self.min_energy_wh is not None
            or self.latest_end is not None
        )

    def _thresholds(self) -> Thresholds | None:
        cfg = self.cfg
        if not isinstance(cfg, TempDrivenVariablePowerConfig):
            return None
        o = self.tank.overrides
        return Thresholds(
            min_c=o.get("min", cfg.temp_min_c),
            eco_c=o.get("eco", cfg.temp_eco_c),
            sol_min_c=cfg.temp_sol_min_c,
            max_c=o.get("max", cfg.temp_max_c),
        )

    def override(self, threshold: str, celsius: float) -> None:
        """A user's threshold override ("min", "eco" or "max" → °C): the
        :attr:`thresholds` follow."""
        self.tank.overrides[threshold] = celsius
        self.thresholds = self._thresholds()

    @property
    def on(self) -> bool:
        """True when the load is drawing (commanded above zero)."""
        return self.power_w > 0

    @property
    def mode(self) -> Mode:
        """The mode a user set (AUTO unless told)."""
        return self.manual.mode

    @property
    def energy_wh(self) -> float:
        """Today's energy, from the commanded power."""
        return self.counters.energy_wh

    @property
    def run_s(self) -> float:
        """Today's run time (s), from the commanded state (on/off loads)."""
        return self.counters.run_s

    @property
    def onoff_power_w(self) -> float:
        """Power of an on/off load when on (known, or learnt from the meter)."""
        nominal = self._nominal_w
        if nominal is not None:
            return nominal
        return self.learnt_power_w or self._expected_w

    @property
    def full_power_w(self) -> float:
        """What the load draws flat out: a dimmer's cap, an on/off load's power."""
        cap = self._max_power_w
        return cap if cap is not None else self.onoff_power_w

    def celsius(self, now: datetime) -> float | None:
        """The probe's temperature, or None when there is none or it went silent (unknown
        is not cold: the heater's own thermostat protects)."""
        timeout = self._probe_timeout_s
        reading = self.temperature
        if timeout is None or reading is None:
            return None
        if (now - reading.at).total_seconds() > timeout:
            return None
        return reading.celsius

    def since_switch_s(self, now: datetime) -> float | None:
        """Seconds since the last on/off transition (None: never switched)."""
        at = self.switched_at
        return None if at is None else (now - at).total_seconds()

    def switch(self, power_w: float, now: datetime) -> None:
        """Switch an on/off load (0: off)."""
        self.power_w = power_w
        self.switched_at = now
        self.budget.restart()

    def set_fixed(self, power_w: float, now: datetime) -> None:
        """Give the load a power a mode or a rule fixed; an on/off load that changes state
        counts as switched."""
        if not self.variable and (power_w > 0) != (self.power_w > 0):
            self.switched_at = now
        self.power_w = power_w
