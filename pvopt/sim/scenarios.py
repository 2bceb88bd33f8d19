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

Days (local dates, Europe/Paris):

- ``clear-summer``: 21 June, cloudless (slow haze only); tank at 50 °C at midnight.
- ``broken-clouds``: 12 May, fair-weather cumulus all day (fast 30–80 % dips).
- ``winter``: 15 January, overcast stratus (PV at 12–35 % of clear sky); tank at 46 °C.

Every random process has its own stream derived from the seed and the scenario's name,
so adding a draw to one process does not shift the others.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, replace
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
    VariablePowerConfig,
)
from pvopt.regulation.core import Regulator
from pvopt.sim.equipment import (
    DimmerLoad,
    HotWaterDraws,
    OnOffLoad,
    SimLoad,
    Tank,
    TankParams,
)
from pvopt.sim.house import House
from pvopt.sim.load import BaseLoad
from pvopt.sim.meter import LinkyMeter
from pvopt.sim.pv import CloudProcess, PvPlant, PvSite, Sky

PARIS = ZoneInfo("Europe/Paris")
#: The reference array: 4 kWc at 45° N.
REFERENCE_PV = PvSite(peak_w=4000.0, latitude_deg=45.0, longitude_deg=4.85, tilt_deg=30.0)
HEATER_W = 2400.0
RADIATOR_W = 2000.0
PUMP_W = 1000.0
PLUG_W = 500.0


@dataclass(frozen=True)
class Scenario:
    """A reference day."""

    name: str
    day: date
    sky: Sky
    tank_start_c: float
    description: str


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("clear-summer", date(2026, 6, 21), Sky.CLEAR, 50.0, "21 June, cloudless"),
        Scenario("broken-clouds", date(2026, 5, 12), Sky.BROKEN, 48.0, "12 May, broken cumulus"),
        Scenario("winter", date(2026, 1, 15), Sky.OVERCAST, 46.0, "15 January, overcast"),
    )
}


def reference_site(
    temp_driven: bool = True,
    radiator: bool = False,
    onoff_loads: bool = True,
    **regulation: Any,
) -> SiteConfig:
    """The reference equipment (see the module docstring); ``regulation`` overrides
    :class:`RegulationConfig` fields."""

    def onoff(name: str, power: float) -> ConstantPowerConfig:
        return ConstantPowerConfig(
            name=name,
            id=name,
            command=Command(f"plug/{name}/in"),
            nominal_power_w=power,
            min_on_s=600.0,
            min_off_s=600.0,
        )

    equipment: list[EquipmentConfig] = []
    if onoff_loads:
        equipment.append(onoff("pool_pump", PUMP_W))
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


def build(
    scenario: str | Scenario,
    seed: int = 1,
    start_hour: float = 0.0,
    end_hour: float = 24.0,
    site: SiteConfig | None = None,
    appliances: bool = True,
    hot_water: bool = True,
    tank_start_c: float | None = None,
    pv: PvSite = REFERENCE_PV,
    controller: Callable[[SiteConfig, ZoneInfo], Regulator] = Regulator,
    **house: float,
) -> House:
    """A house for ``scenario`` from ``start_hour`` to ``end_hour`` (local time), ready
    to :meth:`House.run_until` its end (``House`` keyword arguments pass through).
    ``controller`` makes the decision core: pvopt's :class:`Regulator` by default, or a
    subclass that decides differently (the original system's algorithm, no regulation)
    inside the same safety and command frame."""
    sc = SCENARIOS[scenario] if isinstance(scenario, str) else scenario
    site = site or reference_site()
    start = local_time(sc.day, start_hour)
    end = local_time(sc.day, end_hour)

    def stream(part: str) -> random.Random:
        return random.Random(f"{seed}:{sc.name}:{part}")

    plant = PvPlant(pv, CloudProcess(sc.sky, stream("clouds"), start, end), start, end)
    base = BaseLoad(stream("base"), start, end, PARIS, appliances=appliances)
    loads: list[SimLoad] = []
    for cfg in site.equipment:
        if isinstance(cfg, VariablePowerConfig):
            tank = None
            if cfg.id == "water_heater":
                draws = HotWaterDraws.seeded(stream("draws"), start, end, PARIS)
                tank = Tank(
                    TankParams(),
                    sc.tank_start_c if tank_start_c is None else tank_start_c,
                    draws if hot_water else None,
                )
            loads.append(DimmerLoad(cfg.name, cfg.id, cfg.max_power_w, tank))
        elif isinstance(cfg, ConstantPowerConfig):
            loads.append(OnOffLoad(cfg.name, cfg.id, cfg.nominal_power_w))
        else:
            raise ValueError(f"no simulated device for {type(cfg).__name__}")
    meter = LinkyMeter(stream("meter"), start)
    regulator = controller(site, PARIS)
    return House(regulator, plant, base, loads, meter, start, end=end, **house)


def run(scenario: str | Scenario, seed: int = 1, **kwargs: Any) -> House:
    """Build and run a scenario to its end (``kwargs`` as for :func:`build`)."""
    sim = build(scenario, seed, **kwargs)
    sim.run()
    return sim
