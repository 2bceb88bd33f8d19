"""The floor of a simulated day: the optimum posed from the very inputs the controllers
lived through, and no controller below it."""

from __future__ import annotations

import pytest

from pvopt.cli import in_processes
from pvopt.sim import floor, scenarios, yardstick
from pvopt.sim.baseline import NoRegulation
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
    # the tank ends the day at least as hot as it started it
    assert day.schedule.tank_c["water_heater"][-1] >= sc.tank_start_c - 1e-6


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
