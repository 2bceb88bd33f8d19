"""Reference days and the reference site.

The site: a 4 kWc south-facing array tilted 30° at 45° N (Lyon), a household on the
default base-load profile, and in priority order:

1. ``pool_pump``: 1000 W on/off, min on / min off 10 min. First, because its filtration
   hours matter and because an on/off load ahead of a dimmer is staged on the virtual
   surplus (export + what the dimmers behind it draw): the dimmer makes room for it in
   the same decision and absorbs the switching (``research/peers.md`` §13.1);
2. ``water_heater``: a 2.4 kW element behind a dimmer in a 200 L tank (thermostat
   65 °C / 60 °C), either temperature-driven (probe; temp_min/eco/sol_min/max =
   45/50/55/60 °C) or a plain ``VariablePowerEquipment`` (no probe: the regulation only
   knows it through the meter) where the tank's temperature would make a test about the
   trim loop meaningless;
3. optionally ``radiator``: a 2 kW dimmer-driven towel radiator without thermostat (the
   "next load" a cut water heater's share must go to);
4. ``plug``: 500 W on/off smart plug, min on / min off 10 min: last, it only takes what
   the heater cannot.

Regulation: the defaults of :class:`RegulationConfig` with a −20 W target and an
off-peak window 02:00–07:00 (a common *heures creuses* contract).

Days (local dates, Europe/Paris), all on the reference array and the default base load,
meter and 200 L tank unless said:

- ``clear-summer``: 21 June, cloudless (slow haze only); tank at 50 °C at midnight.
- ``broken-clouds``: 12 May, fair-weather cumulus all day (fast 30–80 % dips).
- ``winter``: 15 January, overcast stratus (PV at 12–35 % of clear sky); tank at 46 °C.
- ``evening-peak``: 18 March, an early-spring day of clear sky (PV ≈ 3.1 kW at solar
  noon, nothing after ≈ 18:45) and a heavy evening: besides the usual appliances, an
  electric car charging at 3.7 kW (16 A wallbox) from 18:15 to 21:00, an air-to-water
  heat pump drawing 1.2 kW from 17:30 to 21:30, and cooking (hob, 2.5 kW) from 18:45 to
  19:30 — the house draws 6.3–6.7 kW on average from 18:30 to 21:00 and peaks at 8–11 kW
  when the oven, a kettle or the dishwasher join in (seeds 1–3), while the sun sets and
  after; tank at 47 °C. What it asks of a router: shed everything as the sun goes and
  buy nothing for the loads while the house peaks.
- ``seasonal``: 5 January (``--from`` moves it), tank at 47 °C, and a seasonal sky
  (:mod:`pvopt.sim.sky`): each local day's sky (clear, broken or overcast) is drawn from
  its month's clear-sky index at the array's latitude (:mod:`pvopt.sim.climate`: two
  typical meteorological years, PVGIS at 45° N and ASHRAE IWEC Amsterdam at 52.3° N), so
  that ``--days 30`` of January is mostly grey and a month of July mostly sunny. Each
  day's sky and clouds have their own seeded streams: a longer run starts with the same
  days.

A :class:`Scenario` carries everything a scenario file sets (:mod:`pvopt.sim.scenario_file`):
the PV array and its clear-sky model, the base load (scale, profile, ripple, appliances,
extra scheduled loads), the meter's cadence and delay, the tank, hot-water draws, and
optionally a recorded day (:mod:`pvopt.sim.replay`) replacing PV and base load.
:func:`pvopt.sim.scenario_file.resolve` finds a built-in by name or loads a file.

PV model: the built-ins run the textbook clear-sky model (``pv_model="textbook"``), so
their figures (``tests/sim``, README) do not depend on whether pvlib is installed;
:func:`resolve` — what ``pvopt simulate`` uses — returns them with ``"auto"`` (pvlib when
installed), and a scenario file says ``auto`` unless told otherwise.

Every random process has its own stream derived from the seed and the scenario's name,
so adding a draw to one process does not shift the others.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pvopt.equipment.model import (
    Command,
    ConstantPowerConfig,
    EquipmentConfig,
    RegulationConfig,
    SiteConfig,
    TempDrivenVariablePowerConfig,
    UnknownPowerConfig,
    VariablePowerConfig,
)
from pvopt.regulation.core import Regulator
from pvopt.regulation.policy import PolicyFactory
from pvopt.sim.equipment import (
    DimmerLoad,
    HotWaterDraws,
    OnOffLoad,
    SimLoad,
    Tank,
    TankParams,
)
from pvopt.sim.house import House
from pvopt.sim.load import DEFAULT_PROFILE, BaseLoad
from pvopt.sim.meter import LinkyMeter, TariffLabels
from pvopt.sim.pv import CloudProcess, PvModelChoice, PvPlant, PvSite, Sky
from pvopt.sim.replay import RecordedDay, RecordedLoad, RecordedPv
from pvopt.sim.sky import SeasonalSky, seasonal_clouds
from pvopt.tariff import Tariff

PARIS = ZoneInfo("Europe/Paris")
#: The reference array: 4 kWc at 45° N.
REFERENCE_PV = PvSite(peak_w=4000.0, latitude_deg=45.0, longitude_deg=4.85, tilt_deg=30.0)
HEATER_W = 2400.0
RADIATOR_W = 2000.0
PUMP_W = 1000.0
PLUG_W = 500.0


@dataclass(frozen=True)
class ExtraLoad:
    """A scheduled household load, every local day from ``start`` to ``end`` (local
    clock; an ``end`` at or before ``start`` is on the next day): an electric car, a heat
    pump, cooking. Not regulated: part of the base load."""

    label: str
    start: time
    end: time
    power_w: float


@dataclass(frozen=True)
class BaseLoadParams:
    """The household base load (:class:`pvopt.sim.load.BaseLoad`): the daily ``profile``
    ((local hour, W) points, linear between them) times ``scale``, the ripple, the
    seeded appliances, and ``extra`` scheduled loads on top."""

    scale: float = 1.0
    profile: tuple[tuple[float, float], ...] = DEFAULT_PROFILE
    ripple_w: float = 15.0
    appliances: bool = True
    extra: tuple[ExtraLoad, ...] = ()

    def scaled_profile(self) -> tuple[tuple[float, float], ...]:
        """The profile times the scale (the very same values at scale 1)."""
        if self.scale == 1.0:
            return self.profile
        return tuple((hour, watts * self.scale) for hour, watts in self.profile)


@dataclass(frozen=True)
class MeterParams:
    """The Linky's timing (:class:`pvopt.sim.meter.LinkyMeter`): a frame every
    ``period_s`` ± ``jitter_s``, each the mean of the last ``window_s``, received
    ``U(0, max_delay_s)`` later (None: one period)."""

    period_s: float = 1.2
    jitter_s: float = 0.15
    window_s: float = 1.0
    max_delay_s: float | None = None


@dataclass(frozen=True)
class Scenario:
    """A simulated day: everything but the equipment and the regulation's tunables (the
    :class:`SiteConfig` given to :func:`build`) and the seed.

    ``tank`` and ``tank_start_c`` apply to every water heater of the site (a
    temperature-driven dimmer, or the dimmer whose id is ``water_heater``); ``hot_water``
    draws water from them. With a ``replay``, the recording replaces the PV model and the
    base load: ``day`` is then the recording's first local date, and ``sky``, ``pv``,
    ``pv_model`` and ``base_load`` other than its ``extra`` loads are not used."""

    name: str
    day: date
    sky: Sky | SeasonalSky
    tank_start_c: float
    description: str
    pv: PvSite = REFERENCE_PV
    pv_model: PvModelChoice = "textbook"
    base_load: BaseLoadParams = field(default_factory=BaseLoadParams)
    meter: MeterParams = field(default_factory=MeterParams)
    tank: TankParams = field(default_factory=TankParams)
    hot_water: bool = True
    replay: RecordedDay | None = None


#: The evening of ``evening-peak`` (see the module docstring).
EVENING_PEAK_LOADS = (
    ExtraLoad("electric car", time(18, 15), time(21, 0), 3700.0),
    ExtraLoad("heat pump", time(17, 30), time(21, 30), 1200.0),
    ExtraLoad("cooking", time(18, 45), time(19, 30), 2500.0),
)

SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("clear-summer", date(2026, 6, 21), Sky.CLEAR, 50.0, "21 June, cloudless"),
        Scenario("broken-clouds", date(2026, 5, 12), Sky.BROKEN, 48.0, "12 May, broken cumulus"),
        Scenario("winter", date(2026, 1, 15), Sky.OVERCAST, 46.0, "15 January, overcast"),
        Scenario(
            "evening-peak",
            date(2026, 3, 18),
            Sky.CLEAR,
            47.0,
            "18 March, spring sun, evening peak (car, heat pump, cooking)",
            base_load=BaseLoadParams(extra=EVENING_PEAK_LOADS),
        ),
        Scenario(
            "seasonal",
            date(2026, 1, 5),
            SeasonalSky(),
            47.0,
            "each day's sky drawn from its month's clear-sky index at the array's latitude",
        ),
    )
}


def reference_site(
    temp_driven: bool = True,
    radiator: bool = False,
    onoff_loads: bool = True,
    **regulation: Any,
) -> SiteConfig:
    """The reference equipment (see the module docstring); ``regulation`` overrides
    :class:`RegulationConfig` fields. The pool pump needs 4 h of filtration a day, done by
    20:00 (without a router its timer runs it 16:00–20:00); the plug is opportunistic."""

    def onoff(
        name: str, power: float, daily_run_s: float = 0.0, latest_end: time = time(0, 0)
    ) -> ConstantPowerConfig:
        return ConstantPowerConfig(
            name=name,
            id=name,
            command=Command(f"plug/{name}/in"),
            nominal_power_w=power,
            min_on_s=600.0,
            min_off_s=600.0,
            daily_run_s=daily_run_s,
            latest_end=latest_end,
        )

    equipment: list[EquipmentConfig] = []
    if onoff_loads:
        equipment.append(onoff("pool_pump", PUMP_W, daily_run_s=4 * 3600.0, latest_end=time(20, 0)))
    if temp_driven:
        equipment.append(
            TempDrivenVariablePowerConfig(
                name="water_heater",
                id="water_heater",
                command=Command("scr/water_heater/in"),
                max_power_w=HEATER_W,
                temp_min_c=45,
                temp_eco_c=50,
                temp_sol_min_c=55,
                temp_max_c=60,
            )
        )
    else:
        equipment.append(
            VariablePowerConfig(
                name="water_heater",
                id="water_heater",
                command=Command("scr/water_heater/in"),
                max_power_w=HEATER_W,
            )
        )
    if radiator:
        equipment.append(
            VariablePowerConfig(
                name="radiator",
                id="radiator",
                command=Command("scr/radiator/in"),
                max_power_w=RADIATOR_W,
            )
        )
    if onoff_loads:
        equipment.append(onoff("plug", PLUG_W))
    reference = RegulationConfig(
        target_grid_w=-20.0, offpeak_start=time(2, 0), offpeak_end=time(7, 0)
    )
    return SiteConfig(tuple(equipment), replace(reference, **regulation))


def local_time(day: date, hour: float) -> float:
    """POSIX seconds of ``hour`` (fractional, local Paris time) on ``day``."""
    midnight = datetime.combine(day, datetime.min.time(), PARIS)
    return (midnight + timedelta(hours=hour)).timestamp()


def _add_extra_loads(
    base: BaseLoad, extra: tuple[ExtraLoad, ...], start: float, end: float
) -> None:
    """Each extra load on every local day overlapping ``[start, end]`` (from the day
    before: a load may run past midnight)."""
    day = datetime.fromtimestamp(start, PARIS).date() - timedelta(days=1)
    last = datetime.fromtimestamp(end, PARIS).date()
    while day <= last:
        for load in extra:
            on = datetime.combine(day, load.start, PARIS).timestamp()
            off_day = day if load.end > load.start else day + timedelta(days=1)
            off = datetime.combine(off_day, load.end, PARIS).timestamp()
            if off > start and on < end:
                base.add(on, off, load.power_w, load.label)
        day += timedelta(days=1)


def _is_water_heater(cfg: VariablePowerConfig) -> bool:
    """A dimmer heating a tank: temperature-driven (it has a probe), or the reference
    site's plain ``water_heater``."""
    return isinstance(cfg, TempDrivenVariablePowerConfig) or cfg.id == "water_heater"


def build(
    scenario: str | Scenario,
    seed: int = 1,
    start_hour: float = 0.0,
    end_hour: float = 24.0,
    site: SiteConfig | None = None,
    appliances: bool | None = None,
    hot_water: bool | None = None,
    tank_start_c: float | None = None,
    pv: PvSite | None = None,
    controller: PolicyFactory = Regulator,
    pv_model: PvModelChoice | None = None,
    tariff: Tariff | None = None,
    **house: float,
) -> House:
    """A house for ``scenario`` from ``start_hour`` to ``end_hour`` (local time on the
    scenario's day; 48 is the next midnight), ready to :meth:`House.run_until` its end
    (``House`` keyword arguments pass through).

    ``scenario`` is a built-in name (:data:`SCENARIOS`, as is: textbook PV) or a
    :class:`Scenario`, every field of which is used. ``appliances``, ``hot_water``,
    ``tank_start_c``, ``pv`` and ``pv_model`` override the scenario's when given. With a
    replay the window is clipped to the recorded span (:class:`ValueError` if nothing is
    left). ``site`` is the equipment (default :func:`reference_site`): dimmers heating a
    tank (see :class:`Scenario`), other dimmers, on/off loads of known power, and
    ``UnknownPowerEquipment`` drawing its expected power. ``controller`` makes the
    policy: pvopt's :class:`Regulator` by default, or another
    :class:`~pvopt.regulation.policy.Policy` (the original system's algorithm, no
    regulation). With ``tariff`` (its colour calendars those of the run), the meter's
    frames say what its tariff labels would (:class:`~pvopt.sim.meter.TariffLabels`)."""
    sc = SCENARIOS[scenario] if isinstance(scenario, str) else scenario
    site = site or reference_site()
    start = local_time(sc.day, start_hour)
    end = local_time(sc.day, end_hour)

    def stream(part: str) -> random.Random:
        return random.Random(f"{seed}:{sc.name}:{part}")

    plant: PvPlant
    base: BaseLoad
    if sc.replay is not None:
        recorded = sc.replay
        start, end = max(start, recorded.start), min(end, recorded.end)
        if end <= start:
            span = " – ".join(
                datetime.fromtimestamp(t, PARIS).isoformat(timespec="seconds")
                for t in (recorded.start, recorded.end)
            )
            raise ValueError(
                f"{sc.name}: the recording covers {span}, nothing of it from "
                f"{start_hour:g} h to {end_hour:g} h"
            )
        plant = RecordedPv(recorded, pv or sc.pv)
        base = RecordedLoad(recorded, stream("base"), start, end, PARIS)
    else:
        array = pv or sc.pv
        clouds: CloudProcess
        if isinstance(sc.sky, SeasonalSky):
            latitude = sc.sky.latitude_deg
            clouds = seasonal_clouds(
                f"{seed}:{sc.name}",
                array.latitude_deg if latitude is None else latitude,
                start,
                end,
                PARIS,
            )
        else:
            clouds = CloudProcess(sc.sky, stream("clouds"), start, end)
        model = pv_model or sc.pv_model
        plant = PvPlant(array, clouds, start, end, model=model)
        base = BaseLoad(
            stream("base"),
            start,
            end,
            PARIS,
            appliances=sc.base_load.appliances if appliances is None else appliances,
            ripple_w=sc.base_load.ripple_w,
            profile=sc.base_load.scaled_profile(),
        )
    _add_extra_loads(base, sc.base_load.extra, start, end)
    draws_wanted = sc.hot_water if hot_water is None else hot_water
    loads: list[SimLoad] = []
    tanks = 0
    for cfg in site.equipment:
        if isinstance(cfg, VariablePowerConfig):
            tank = None
            if _is_water_heater(cfg):
                # The first tank keeps the stream of the reference figures.
                part = "draws" if tanks == 0 else f"draws:{cfg.id}"
                tanks += 1
                draws = HotWaterDraws.seeded(stream(part), start, end, PARIS)
                tank = Tank(
                    sc.tank,
                    sc.tank_start_c if tank_start_c is None else tank_start_c,
                    draws if draws_wanted else None,
                )
            loads.append(DimmerLoad(cfg.name, cfg.id, cfg.max_power_w, tank))
        elif isinstance(cfg, ConstantPowerConfig):
            loads.append(OnOffLoad(cfg.name, cfg.id, cfg.nominal_power_w))
        elif isinstance(cfg, UnknownPowerConfig):
            loads.append(OnOffLoad(cfg.name, cfg.id, cfg.expected_power_w))
        else:
            raise ValueError(f"no simulated device for {type(cfg).__name__}")
    m = sc.meter
    meter = LinkyMeter(
        stream("meter"),
        start,
        period_s=m.period_s,
        jitter_s=m.jitter_s,
        window_s=m.window_s,
        max_delay_s=m.max_delay_s,
        labels=None if tariff is None else TariffLabels(tariff),
    )
    regulator = controller(site, PARIS)
    return House(regulator, plant, base, loads, meter, start, end=end, **house)


def run(scenario: str | Scenario, seed: int = 1, **kwargs: Any) -> House:
    """Build and run a scenario to its end (``kwargs`` as for :func:`build`)."""
    sim = build(scenario, seed, **kwargs)
    sim.run()
    return sim
