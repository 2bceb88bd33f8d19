"""A red Tempo day in the simulated house, on a fake clock: the shipped template (water
heater, pool pump, dehumidifier) on a Tempo contract, the meter telling the colours as
a Linky does. The red day's peak hours (06:00-22:00) never heat the tank from the grid,
and the night before it fills the tank and buys the pump's run time off-peak."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta
from pathlib import Path

from pvopt.equipment.loader import load_site_config
from pvopt.equipment.model import Contract
from pvopt.sim import scenarios, yardstick
from pvopt.sim.equipment import DimmerLoad
from pvopt.sim.house import House
from pvopt.tariff import Colour

TEMPLATE = Path(__file__).resolve().parents[2] / "equipment_config.yml.template"
RED = date(2026, 1, 15)  # the winter scenario's day, a Thursday


def _red_day(tank_start_c: float, start_hour: float, end_hour: float) -> House:
    """The house from ``start_hour`` to ``end_hour`` local time, counted from the eve's
    midnight (30 is 06:00 on the red day)."""
    site = load_site_config(TEMPLATE)
    site = replace(site, tariff=replace(site.tariff, contract=Contract.TEMPO))
    eve = RED - timedelta(days=1)
    tariff = yardstick.tariff_for(
        site, scenarios.PARIS, eve, RED, seed=1, tempo={eve: Colour.WHITE, RED: Colour.RED}
    )
    scenario = replace(scenarios.SCENARIOS["winter"], day=eve)
    house = scenarios.build(
        scenario,
        site=site,
        start_hour=start_hour,
        end_hour=end_hour,
        tariff=tariff,
        tank_start_c=tank_start_c,
    )
    house.run()
    return house


def _local(day: date, clock: time) -> float:
    return datetime.combine(day, clock, scenarios.PARIS).timestamp()


def _from_grid_wh(house: House, start: float, end: float) -> float:
    """The heater's energy that came from the grid: at each step, what the house
    imported, up to the heater's power."""
    rec = house.recording
    i0, i1 = rec.index(start), rec.index(end)
    heater, grid = rec.drawn_w["water_heater"][i0:i1], rec.grid_w[i0:i1]
    return sum(min(h, max(g, 0.0)) for h, g in zip(heater, grid, strict=True)) * rec.step_s / 3600


def test_a_red_day_never_heats_from_the_grid_in_its_peak_hours() -> None:
    """A tank below temp_min all day (44 °C: off-peak hours would heat it at once):
    nothing from the grid until 22:00, then the off-peak heating."""
    house = _red_day(tank_start_c=44.0, start_hour=30.0, end_hour=47.0)
    peak_wh = _from_grid_wh(house, _local(RED, time(6)), _local(RED, time(22)))
    night_wh = _from_grid_wh(house, _local(RED, time(22)), _local(RED, time(23)))
    print(f"\nred day: heater from the grid 06-22 {peak_wh:.1f} Wh, 22-23 {night_wh:.0f} Wh")
    assert peak_wh <= 15.0  # trim transients at cloud edges, not heating
    assert night_wh >= 1500.0


def test_the_night_before_a_red_day_fills_the_tank_and_buys_the_pump_run() -> None:
    house = _red_day(tank_start_c=46.0, start_hour=20.0, end_hour=30.0)
    rec = house.recording
    night = [o for o in rec.outputs["water_heater"] if o.time < _local(RED, time(6))]
    assert any(o.reason.startswith("heating off-peak: red day from 06:00") for o in night)
    heater = house.loads[0]
    assert isinstance(heater, DimmerLoad) and heater.tank is not None
    print(f"\ntank at 06:00 on the red day: {heater.tank.temperature_c:.1f} °C")
    assert heater.tank.temperature_c >= 57.0  # filled towards temp_max, less the night's draws
    pump_night = [
        o for o in rec.outputs["pool_pump"] if _local(RED, time(0)) <= o.time < _local(RED, time(6))
    ]
    assert any(o.reason.startswith("run time:") and "red day" in o.reason for o in pump_night)
    assert any(o.on for o in pump_night)
