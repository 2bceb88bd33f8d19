"""The reference water heater at its 2.4 kW cap with an 800 W pump behind it, in the
simulated house: shared by the tests of a thermostat cut at the cap (issue 12) and of a
heater giving way to the pump (issue 15).

The house: a clear June day from 13:00 on a 6 kWc array, the base load raised so that
the heater at its cap leaves ``spare_w`` to spare (taken by the radiator if any, exported
otherwise) from the first seconds on.
"""

from __future__ import annotations

from dataclasses import replace

from pvopt.equipment.model import (
    Command,
    ConstantPowerConfig,
    SiteConfig,
    TempDrivenVariablePowerConfig,
    VariablePowerConfig,
)
from pvopt.sim.equipment import DimmerLoad
from pvopt.sim.house import House
from pvopt.sim.pv import PvSite
from pvopt.sim.scenarios import HEATER_W, build, reference_site

PUMP_W = 800.0


def site(radiator: bool, probe: bool, heater_yields: bool = True) -> SiteConfig:
    """The reference heater (and radiator), then an 800 W pump (min on / min off 10 min).
    With a probe, the heater's temp_max (70 °C) is above its tank's own thermostat
    (65 °C): the probe still reads below temp_max when the thermostat opens; its temp_eco
    stays 50 °C. The radiator never yields (``yields: false``): the hand-over to the next
    dimmer is what is watched, not the pump starting on the radiator's power, which a
    plain dimmer that yields allows (issue 15). ``heater_yields``: the heater's own
    ``yields``."""
    reference = reference_site(temp_driven=probe, radiator=radiator, onoff_loads=False)
    heater, *others = reference.equipment
    others = [
        replace(other, yields=False) if isinstance(other, VariablePowerConfig) else other
        for other in others
    ]
    if isinstance(heater, TempDrivenVariablePowerConfig):
        heater = replace(heater, temp_sol_min_c=60, temp_max_c=70)
    assert isinstance(heater, VariablePowerConfig)
    heater = replace(heater, yields=heater_yields)
    pump = ConstantPowerConfig(
        name="pool_pump",
        id="pool_pump",
        command=Command("plug/pool_pump/in"),
        nominal_power_w=PUMP_W,
        min_on_s=600,
        min_off_s=600,
    )
    return replace(reference, equipment=(heater, *others, pump))


def at_cap(
    spare_w: float,
    radiator: bool = False,
    probe: bool = False,
    tank_c: float = 64.7,
    minutes: float = 15.0,
    heater_yields: bool = True,
) -> House:
    """The heater at its cap with ``spare_w`` more surplus from the first seconds on, for
    ``minutes`` from 13:00."""
    house = build(
        "clear-summer",
        start_hour=13.0,
        end_hour=13.0 + minutes / 60,
        site=site(radiator, probe, heater_yields),
        appliances=False,
        hot_water=False,
        tank_start_c=tank_c,
        pv=PvSite(peak_w=6000.0),
    )
    t = house.start + 100
    surplus = house.pv.power_w(t) - house.base.power_w(t)
    house.base.add(house.start, house.end, surplus - HEATER_W - spare_w, "leaves the spare")
    return house


def water_heater(house: House) -> DimmerLoad:
    """The water heater (the first load), with its tank."""
    load = house.loads[0]
    assert isinstance(load, DimmerLoad) and load.tank is not None
    return load
