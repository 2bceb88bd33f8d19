"""The floor of a simulated day: the optimum posed from the very inputs the controllers
lived through, and no controller below it."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from pvopt.cli import in_processes
from pvopt.sim import floor, scenarios, yardstick
from pvopt.sim.baseline import NoRegulation
from pvopt.sim.equipment import WATER_WH_PER_L_K, DimmerLoad
from pvopt.sim.optimum import DayProblem, DimmerSpec, OnOffSpec, Schedule, SolveStatus, TankSpec
from pvopt.sim.simulate import Run, simulate

pytest.importorskip("scipy")

#: A controller may come out below the optimum only by what the optimum's 5-minute slot
#: means hide (PV and load vary within a slot; on means, import and export net out, which
#: makes the floor lower, not higher) and the solver's gap: a few cents a day at most.
RESOLUTION_EUR = 0.03


def test_the_optimum_sees_the_day_the_controllers_saw() -> None:
    """PV and household energy of the optimum's slots are the house's, to 0.1 %; the tank
    starts where the house's does and the prices are the tariff's."""
    sc = scenarios.SCENARIOS["broken-clouds"]
    site = scenarios.reference_site()
    house = scenarios.build(sc, 1, site=site, controller=NoRegulation)
    house.run()
    rec = house.recording
    tariff = yardstick.tariff_for(site, scenarios.PARIS, sc.day, sc.day, 1)
    best = floor.floor(house, tariff, rec.start, rec.end)
    dt_h = rec.step_s / 3600
    assert best.pv_wh == pytest.approx(sum(rec.pv_w) * dt_h, rel=1e-3)
    assert best.base_wh == pytest.approx(sum(rec.base_w) * dt_h, rel=1e-3)
    (day,) = best.days
    assert day.schedule.solved
    assert day.schedule.tank_c["water_heater"][0] == sc.tank_start_c
    # the heat the tank gained is priced at the run's cheapest import price, as graded
    temps = day.schedule.tank_c["water_heater"]
    (tank,) = (load.tank for load in house.loads if isinstance(load, DimmerLoad) and load.tank)
    gained_wh = tank.params.capacity_wh_per_k * (temps[-1] - temps[0])
    minutes = round((rec.end - rec.start) / 60)
    cheapest = min(
        tariff.import_prices_eur_kwh(datetime.fromtimestamp(rec.start, UTC), 60, minutes)
    )
    assert day.stored_eur == pytest.approx(gained_wh / 1000 * cheapest)


@pytest.fixture(scope="module", params=["winter", "evening-peak"])
def day_runs(request: pytest.FixtureRequest) -> dict[str, Run]:
    runs = simulate(
        scenarios.SCENARIOS[request.param],
        scenarios.reference_site(),
        seed=1,
        days=1,
        run_map=in_processes,
    )
    return {r.controller: r for r in runs}


def test_no_controller_beats_the_optimum(day_runs: dict[str, Run]) -> None:
    """On adjusted costs (comfort shortfall and tank heat priced alike for all), every
    controller pays at least the optimum, up to the optimum's resolution; if one did
    not, the optimum would be wrong."""
    best = day_runs["optimum"].figures.adjusted_eur
    assert best is not None
    for name in ("pvopt", "baseline", "none"):
        cost = day_runs[name].figures.adjusted_eur
        assert cost is not None
        assert cost >= best - RESOLUTION_EUR, (name, cost, best)


def test_the_share_of_the_achievable_saving_follows_its_definition(
    day_runs: dict[str, Run],
) -> None:
    """(cost_none − cost_controller) / (cost_none − cost_optimum), on adjusted costs."""
    none = day_runs["none"].figures.adjusted_eur
    best = day_runs["optimum"].figures.adjusted_eur
    assert none is not None and best is not None and none > best
    for name in ("pvopt", "baseline"):
        figures = day_runs[name].figures
        assert figures.adjusted_eur is not None
        assert figures.saved_eur == pytest.approx(none - figures.adjusted_eur)
        assert figures.achievable_pct == pytest.approx(
            100 * (none - figures.adjusted_eur) / (none - best)
        )
    assert day_runs["optimum"].figures.achievable_pct == pytest.approx(100)
    assert day_runs["none"].figures.achievable_pct == pytest.approx(0)


# -- the rolling horizon on days solvable by hand ----------------------------------------

SLOT_S = 300.0
H = SLOT_S / 3600.0
DAY = 288
C = 200 * WATER_WH_PER_L_K  # Wh/K


def _day(
    pv_w: tuple[float, ...],
    import_eur_kwh: tuple[float, ...],
    draw_l: tuple[float, ...],
    value_eur_kwh: float,
) -> DayProblem:
    tank = TankSpec(
        capacity_wh_per_k=C,
        loss_w_per_k=0.0,
        ambient_c=20.0,
        cold_c=12.0,
        initial_c=40.0,
        min_c=50.0,
        max_c=60.0,
        draw_l=draw_l,
        end_value_eur_kwh=value_eur_kwh,
    )
    n = len(pv_w)
    return DayProblem(
        slot_s=SLOT_S,
        pv_w=pv_w,
        base_w=(0.0,) * n,
        import_eur_kwh=import_eur_kwh,
        export_eur_kwh=(0.10,) * n,
        dimmers=(DimmerSpec("water_heater", 2000.0, tank),),
        shortfall_eur_kwh=1.0,
    )


def _sunny_then_dark() -> list[DayProblem]:
    """Day 1: 2 kW of sun 11:00–13:30, power at 0.20, exports paid 0.10. Day 2: no sun,
    80 L drawn at 07:00, power at 0.20 but 0.04 from 22:00 (the run's cheapest, so the
    tank's terminal value). The tank starts day 1 at 40 °C; comfort 50 °C."""
    sun = tuple(2000.0 if 11 * 12 <= i < 13 * 12 + 6 else 0.0 for i in range(DAY))
    late = tuple(0.04 if i >= 22 * 12 else 0.20 for i in range(DAY))
    draw = tuple(80.0 if i == 7 * 12 else 0.0 for i in range(DAY))
    return [
        _day(sun, (0.20,) * DAY, (0.0,) * DAY, 0.04),
        _day((0.0,) * DAY, late, draw, 0.04),
    ]


def _start_for_draw_c() -> float:
    """The start temperature at which the 80 L draw's slot averages 50 °C (the optimum
    counts a draw at its slot's mean): ``cold + (50 − cold)·x/(1 − e^{−x})``, x = D/C."""
    x = 80.0 * WATER_WH_PER_L_K / C
    return 12.0 + (50.0 - 12.0) * x / -math.expm1(-x)


def _roll(problems: list[DayProblem], lookahead_s: float) -> list[Schedule]:
    schedules = [s for _, s in floor.rolling(problems.__getitem__, len(problems), lookahead_s)]
    assert all(s.status is SolveStatus.OPTIMAL for s in schedules)
    return schedules


def test_the_floor_stores_a_sunny_days_surplus_for_the_next_dark_mornings_draw() -> None:
    # Storing a kelvin of sun on day 1 costs its export, C × 0.10 = 23 m€; buying it on
    # day 2 before the draw costs C × 0.20 = 47 m€; a kelvin short at the draw costs
    # 80 L × 1.163 × 1.0 × (1 − e^{−x})/x = 77 m€ (x = 0.4: a kelvin at the draw's start
    # warms its slot's mean by that factor). So day 1 heats the tank from 40 °C with its
    # sun to the start at which the draw's slot averages 50 °C (58.1 °C: more would be
    # worth 0.04 €/kWh at the end, less than its export), and day 2 draws from there
    # without buying. Alone, day 1 would export it all (0.04 < 0.10).
    day1, day2 = _roll(_sunny_then_dark(), floor.LOOKAHEAD_S)
    start_c = _start_for_draw_c()
    assert start_c == pytest.approx(58.1, abs=0.01)
    need_wh = C * (start_c - 40.0)
    assert sum(day1.power_w["water_heater"]) * H == pytest.approx(need_wh, abs=1e-2)
    assert day1.import_wh == pytest.approx(0.0, abs=1e-2)
    assert day1.tank_c["water_heater"][-1] == pytest.approx(start_c, abs=1e-6)
    assert day1.cost_eur == pytest.approx(-0.10 * (5000.0 - need_wh) / 1000, abs=1e-6)
    assert day1.stored_eur == pytest.approx(0.04 * need_wh / 1000, abs=1e-6)
    # day 2 starts where day 1 ended and keeps the comfort without buying before the draw
    assert day2.tank_c["water_heater"][0] == day1.tank_c["water_heater"][-1]
    assert day2.shortfall_wh["water_heater"] == pytest.approx(0.0, abs=1e-2)
    assert sum(day2.power_w["water_heater"][: 22 * 12]) == pytest.approx(0.0, abs=1e-2)
    after = 12.0 + (start_c - 12.0) * math.exp(-80.0 * WATER_WH_PER_L_K / C)
    assert day2.tank_c["water_heater"][7 * 12 + 1] == pytest.approx(after, abs=1e-6)


def test_without_lookahead_the_sunny_day_exports_and_the_dark_day_pays() -> None:
    # The same two days solved one at a time (lookahead 0): what the lookahead is for.
    day1, day2 = _roll(_sunny_then_dark(), 0.0)
    assert day1.tank_c["water_heater"][-1] == pytest.approx(40.0, abs=1e-6)
    need_wh = C * (_start_for_draw_c() - 40.0)
    assert sum(day2.power_w["water_heater"][: 7 * 12]) * H == pytest.approx(need_wh, abs=1e-2)


def test_an_onoff_load_on_at_midnight_keeps_its_minimum_on_time_the_next_day() -> None:
    # Day 1 (4 slots): the pump needs 1 slot, power is cheap in the last one only; its
    # 20 min minimum on time is cut by the day's end, so it runs there. Day 2 (nothing
    # needed, power dear) must keep it on 15 more minutes: it starts on since 5 min.
    pump = OnOffSpec("pump", 1000.0, min_on_s=1200.0, run_s=SLOT_S, run_by_slot=4)
    first = DayProblem(
        SLOT_S, (0.0,) * 4, (0.0,) * 4, (0.3, 0.3, 0.3, 0.1), (0.0,) * 4, onoffs=(pump,)
    )
    then = DayProblem(
        SLOT_S,
        (0.0,) * 4,
        (0.0,) * 4,
        (0.3,) * 4,
        (0.0,) * 4,
        onoffs=(OnOffSpec("pump", 1000.0, min_on_s=1200.0),),
    )
    day1, day2 = _roll([first, then], 0.0)
    assert day1.power_w["pump"] == (0.0, 0.0, 0.0, 1000.0)
    assert day2.power_w["pump"] == (1000.0, 1000.0, 1000.0, 0.0)


def test_the_optimum_held_to_more_comfort_keeps_it_and_costs_no_less() -> None:
    """``comfort_weight`` and ``shortfall_caps_wh`` (benchmarks/equal_comfort.py): on the
    winter day, a dearer comfort or a cap at half the standard optimum's shortfall leaves
    less hot water short, at an adjusted cost (graded as usual) no lower than the
    standard optimum's, which minimises exactly that."""
    sc = scenarios.SCENARIOS["winter"]
    site = scenarios.reference_site()
    house = scenarios.build(sc, 1, site=site, controller=NoRegulation)
    assert house.end is not None
    tariff = yardstick.tariff_for(site, scenarios.PARIS, sc.day, sc.day, 1)
    standard = floor.floor(house, tariff, house.start, house.end)
    assert standard.hot_water_shortfall_wh > 100.0  # the cap below bites
    cap_wh = standard.hot_water_shortfall_wh / 2
    capped = floor.floor(house, tariff, house.start, house.end, shortfall_caps_wh={sc.day: cap_wh})
    dearer = floor.floor(house, tariff, house.start, house.end, comfort_weight=4.0)
    assert capped.hot_water_shortfall_wh <= cap_wh + 1e-3
    assert dearer.hot_water_shortfall_wh < standard.hot_water_shortfall_wh
    for held in (capped, dearer):
        assert held.solved
        assert held.adjusted_eur >= standard.adjusted_eur - 1e-4
