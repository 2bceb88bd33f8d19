"""The yardstick: what the household pays, the comfort it keeps, and the export a router
could have used, on hand-made recordings and short simulated windows."""

from __future__ import annotations

from array import array
from datetime import date

import pytest

from pvopt.equipment.model import (
    Command,
    ConstantPowerConfig,
    SiteConfig,
    TariffConfig,
    VariablePowerConfig,
)
from pvopt.sim import scenarios
from pvopt.sim.house import House, Recording, Switch
from pvopt.sim.yardstick import (
    PriceSeries,
    measure,
    price_series,
    tariff_for,
    usable_export_w,
)

HEATER = VariablePowerConfig(
    name="heater", id="heater", command=Command("scr/heater/in"), max_power_w=2400
)
PUMP = ConstantPowerConfig(
    name="pump",
    id="pump",
    command=Command("wifi_plug/pump/in"),
    nominal_power_w=1000,
    min_on_s=0,
    min_off_s=600,
)


def recording(
    steps: list[tuple[float, float, float]], able: int = 1, stops: tuple[float, ...] = ()
) -> Recording:
    """1 s steps of (grid, heater drawn, pump drawn)."""
    rec = Recording(SiteConfig((HEATER, PUMP)), start=0.0, step_s=1.0, names=["heater", "pump"])
    for grid, heater, pump in steps:
        rec.grid_w.append(grid)
        rec.drawn_w["heater"].append(heater)
        rec.drawn_w["pump"].append(pump)
        rec.safe.append(0)
    rec.able["heater"] = array("b", [able] * len(steps))
    rec.switches["pump"] = [Switch(t, False, False, "off") for t in stops]
    return rec


def test_an_idle_pump_could_take_an_export_the_capped_heater_makes_room_for() -> None:
    """300 W exported, the heater at its 2400 W cap, the pump (1000 W) off: starting the
    pump while the heater gives up 700 W takes the 300 W. No start delay, margin or
    priority of any controller shrinks that."""
    rec = recording([(-300.0, 2400.0, 0.0)] * 10)
    assert usable_export_w(rec) == [300.0] * 10


def test_export_no_load_could_take_is_not_usable() -> None:
    """The heater's thermostat open (it draws nothing, its tank is full): the pump alone
    would import 700 W for 300 W exported. Nothing could take it."""
    rec = recording([(-300.0, 0.0, 0.0)] * 10, able=0)
    assert usable_export_w(rec) == [0.0] * 10


def test_a_pump_held_by_its_own_min_off_after_a_real_stop_cannot_take_it() -> None:
    """The pump stopped at t = 0 (min_off 600 s): held; the heater's thermostat is open.
    A large export (1500 W) it would otherwise cover counts only once min_off is over."""
    rec = recording([(-1500.0, 0.0, 0.0)] * 700, able=0, stops=(0.0,))
    usable = usable_export_w(rec)
    assert usable[599] == 0.0
    assert usable[600] == 1000.0


def test_heater_headroom_counts_below_its_cap() -> None:
    """The heater at 1000 W of 2400 W, 2000 W exported: it could take 1400 W more, and
    the pump (1000 W, fits in the export) the rest."""
    rec = recording([(-2000.0, 1000.0, 0.0)] * 5)
    assert usable_export_w(rec) == [2000.0] * 5
    rec = recording([(-2000.0, 1000.0, 1000.0)] * 5)  # the pump already runs
    assert usable_export_w(rec) == [1400.0] * 5


def test_prices_follow_the_contract_and_the_bill_follows_the_prices() -> None:
    """An hphc contract with HC from 22:00 to 06:00: one slot price per minute, the HC
    price at 23:00, the HP price at noon; the dearest of the day is the HP price."""
    site = SiteConfig((HEATER,), tariff=TariffConfig(contract=_contract("hphc")))
    tariff = tariff_for(site, scenarios.PARIS, date(2026, 5, 12), date(2026, 5, 12), 1)
    start = scenarios.local_time(date(2026, 5, 12), 0.0)
    prices = price_series(tariff, start, start + 86_400)
    cfg = site.tariff
    assert prices.import_eur_kwh[23 * 60] == cfg.hphc_hc_price_eur_kwh
    assert prices.import_eur_kwh[12 * 60] == cfg.hphc_hp_price_eur_kwh
    assert prices.dearest_eur_kwh[date(2026, 5, 12)] == cfg.hphc_hp_price_eur_kwh


def _contract(value: str) -> object:
    from pvopt.equipment.model import Contract

    return Contract(value)


def test_a_simulated_hour_is_billed_at_its_price_and_exports_earn_their_price() -> None:
    """An hour of the broken-cloud day without a router: the bill is the integral of the
    import at the flat price; with an export price, what it earns is the integral of the
    export at that price; the adjusted cost adds nothing when no draw finds the tank cold
    and subtracts the heat the tank gained."""
    house = scenarios.build(
        "broken-clouds", 1, start_hour=12, end_hour=13, controller=_none(), hot_water=False
    )
    house.run()
    rec = house.recording
    flat = PriceSeries(rec.start, 60.0, [0.25] * 60, 0.1, {date(2026, 5, 12): 0.25})
    yard = measure(house, flat, scenarios.PARIS)
    dt_h = rec.step_s / 3600
    imported_kwh = sum(g for g in rec.grid_w if g > 0) * dt_h / 1000
    exported_kwh = -sum(g for g in rec.grid_w if g < 0) * dt_h / 1000
    assert exported_kwh > 1.0  # noon in May, nothing diverted
    assert yard.bill.import_eur == pytest.approx(0.25 * imported_kwh)
    assert yard.bill.export_eur == pytest.approx(0.1 * exported_kwh)
    assert yard.comfort.hot_water_shortfall_wh == 0
    assert yard.bill.adjusted_eur == pytest.approx(
        yard.bill.net_eur - yard.comfort.stored_wh / 1000 * 0.25
    )


def _none() -> type:
    from pvopt.sim.baseline import NoRegulation

    return NoRegulation


def test_hot_water_drawn_below_temp_min_is_a_shortfall_priced_at_the_days_dearest() -> None:
    """A cold tank (35 °C, temp_min 45 °C) after the off-peak hours, no router: it only
    cools, so every litre drawn lacks at least 10 K and at most 45 °C − its coldest; the
    penalty is that energy at the day's dearest price."""
    house = scenarios.build(
        "broken-clouds", 1, start_hour=7, end_hour=10, controller=_none(), tank_start_c=35.0
    )
    house.run()
    rec = house.recording
    prices = PriceSeries(rec.start, 60.0, [0.2] * 180, 0.0, {date(2026, 5, 12): 0.7})
    yard = measure(house, prices, scenarios.PARIS)
    flows = house.loads[1].tank.draws.sample(rec.start, rec.step_s, rec.steps)  # type: ignore[attr-defined]
    litres = sum(flows) * rec.step_s / 60
    coldest = min(rec.tank_c["water_heater"])
    assert litres > 10
    assert 1.163 * 10 * litres <= yard.comfort.hot_water_shortfall_wh
    assert yard.comfort.hot_water_shortfall_wh <= 1.163 * (45 - coldest) * litres
    assert yard.bill.penalty_eur == pytest.approx(yard.comfort.hot_water_shortfall_wh / 1000 * 0.7)


def test_a_tempo_calendar_file_wins_over_the_generated_colours() -> None:
    """The seeded calendar says what it says about 15 January; a file that makes it red
    makes its peak hours cost the red peak price."""
    from pvopt.equipment.model import Contract
    from pvopt.tariff import Colour

    site = SiteConfig((HEATER,), tariff=TariffConfig(contract=Contract.TEMPO))
    day = date(2026, 1, 15)
    noon = scenarios.local_time(day, 12.0)
    red = tariff_for(site, scenarios.PARIS, day, day, 1, {day: Colour.RED})
    assert price_series(red, noon, noon + 60).import_eur_kwh[0] == (
        site.tariff.tempo_red_hp_price_eur_kwh
    )
    blue = tariff_for(site, scenarios.PARIS, day, day, 1, {day: Colour.BLUE})
    assert price_series(blue, noon, noon + 60).import_eur_kwh[0] == (
        site.tariff.tempo_blue_hp_price_eur_kwh
    )


def test_a_run_graded_a_day_at_a_time_and_forgotten_reports_what_the_whole_does() -> None:
    """A winter evening into the night (draws, off-peak heating from 22:00, midnight in
    the middle), as ``pvopt simulate`` grades a long run: each local day once it is over,
    then forgotten. The report is the very one of the same days graded on the whole
    recording, and the figures are those of the whole run taken as one window."""
    from pvopt.sim import kpi, report
    from pvopt.sim.simulate import LOOKBACK_S

    def house() -> House:
        return scenarios.build("winter", 1, start_hour=20, end_hour=28)

    whole, forgetful = house(), house()
    start, end = whole.start, whole.start + 8 * 3600.0
    midnight = start + 4 * 3600.0
    prices = PriceSeries(start, 60.0, [0.2] * 240 + [0.15] * 240, 0.05, {})
    tz = scenarios.PARIS
    whole.run()
    days = [
        report.day_figures(whole, prices, tz, start, midnight),
        report.day_figures(whole, prices, tz, midnight, end),
    ]
    forgetful.run_until(midnight)
    graded = [report.day_figures(forgetful, prices, tz, start, midnight)]
    forgetful.recording.forget_before(midnight - LOOKBACK_S)
    forgetful.run()
    graded.append(report.day_figures(forgetful, prices, tz, midnight, end))
    assert forgetful.recording.start == pytest.approx(midnight - LOOKBACK_S)

    figures = report.run_report("pvopt", forgetful, graded)
    assert figures == report.run_report("pvopt", whole, days)
    k, yard = kpi.compute(whole), measure(whole, prices, tz)
    assert figures.offpeak_grid_kwh is not None and figures.offpeak_grid_kwh > 1.0
    assert figures.imported_kwh == pytest.approx(k.import_wh / 1000, rel=1e-12)
    assert figures.grid_error_p95_w == k.error_p95_w
    assert figures.adjusted_eur == pytest.approx(yard.bill.adjusted_eur, rel=1e-12)
    assert figures.stored_heat_kwh == pytest.approx(yard.comfort.stored_wh / 1000, rel=1e-12)
    assert figures.hot_water_shortfall_kwh == pytest.approx(
        yard.comfort.hot_water_shortfall_wh / 1000, rel=1e-12, abs=1e-12
    )
