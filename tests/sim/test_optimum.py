"""The perfect-foresight floor (:mod:`pvopt.sim.optimum`) on days solvable by hand.

Each test builds a small day whose optimum is known in closed form and checks the
schedule against it: zero tank losses and a single draw keep the balances exact, prices
are chosen so that one answer is strictly cheapest (the margins are in the comments).
"""

from __future__ import annotations

import itertools
import math
import subprocess
import sys
from dataclasses import replace
from typing import Any

import pytest

pytest.importorskip("scipy")

from pvopt.sim.equipment import WATER_WH_PER_L_K, Tank, TankParams
from pvopt.sim.optimum import (
    DayProblem,
    DimmerSpec,
    OnOffSpec,
    RunNeed,
    Schedule,
    SolveStatus,
    TankSpec,
    chain,
    head,
    optimise,
)

SLOT_S = 300.0
H = SLOT_S / 3600.0  # hours per slot
PER_HOUR = 12
DAY = 24 * PER_HOUR
C = 200 * WATER_WH_PER_L_K  # a 200 L tank, Wh/K
ABS_W = 1e-3  # solver noise on a power, W
ABS_WH = 1e-2
ABS_EUR = 1e-6
ABS_C = 1e-6


def _series(n: int, value: float, **spans: tuple[range, float]) -> tuple[float, ...]:
    """``value`` everywhere but on each span's slots."""
    out = [value] * n
    for slots, v in spans.values():
        for i in slots:
            out[i] = v
    return tuple(out)


def _problem(
    n: int,
    pv: float | tuple[float, ...] = 0.0,
    base: float | tuple[float, ...] = 0.0,
    imp: float | tuple[float, ...] = 0.20,
    exp: float | tuple[float, ...] = 0.0,
    dimmers: tuple[DimmerSpec, ...] = (),
    onoffs: tuple[OnOffSpec, ...] = (),
    shortfall_eur_kwh: float = 0.0,
) -> DayProblem:
    def full(v: float | tuple[float, ...]) -> tuple[float, ...]:
        return v if isinstance(v, tuple) else (v,) * n

    return DayProblem(
        slot_s=SLOT_S,
        pv_w=full(pv),
        base_w=full(base),
        import_eur_kwh=full(imp),
        export_eur_kwh=full(exp),
        dimmers=dimmers,
        onoffs=onoffs,
        shortfall_eur_kwh=shortfall_eur_kwh,
    )


def _tank(n: int, initial_c: float, **kw: Any) -> TankSpec:
    spec = TankSpec(
        capacity_wh_per_k=C,
        loss_w_per_k=0.0,
        ambient_c=20.0,
        cold_c=12.0,
        initial_c=initial_c,
        min_c=50.0,
        max_c=60.0,
        draw_l=(0.0,) * n,
        end_c=None,
    )
    return replace(spec, **kw)


def _solved(problem: DayProblem) -> Schedule:
    schedule = optimise(problem)
    assert schedule.status is SolveStatus.OPTIMAL, schedule.message
    return schedule


def _wh(series: tuple[float, ...], slots: range | None = None) -> float:
    picked = series if slots is None else [series[i] for i in slots]
    return sum(picked) * H


def _on_slots(schedule: Schedule, name: str) -> list[int]:
    return [i for i, p in enumerate(schedule.power_w[name]) if p > 0]


def _runs(on: list[int]) -> list[range]:
    """Contiguous runs of slot indices."""
    runs: list[range] = []
    for i in on:
        if runs and runs[-1].stop == i:
            runs[-1] = range(runs[-1].start, i + 1)
        else:
            runs.append(range(i, i + 1))
    return runs


# -- dimmers -----------------------------------------------------------------------------


def test_a_dimmer_without_need_takes_exactly_the_surplus_and_the_base_beyond_pv_is_bought() -> None:
    # Flat sun, a varying household: with export worth nothing, the surplus costs nothing
    # either way; the optimum self-consumes it (the tie-break; HiGHS happens to choose so
    # without it here — the noon tank below is what catches its loss) and buys the rest.
    n = 8
    pv = 2000.0
    base = (500.0, 1000.0, 1500.0, 1900.0, 2500.0, 3000.0, 1200.0, 2100.0)
    schedule = _solved(_problem(n, pv, base, imp=0.20, dimmers=(DimmerSpec("radiator", 3000.0),)))
    surplus = [max(pv - b, 0.0) for b in base]
    assert schedule.power_w["radiator"] == pytest.approx(surplus, abs=ABS_W)
    assert schedule.export_wh == pytest.approx(0.0, abs=ABS_WH)
    bought = [max(b - pv, 0.0) for b in base]
    assert schedule.grid_w == pytest.approx(bought, abs=ABS_W)
    assert schedule.import_wh == pytest.approx(sum(bought) * H)
    assert schedule.cost_eur == pytest.approx(0.20 * sum(bought) * H / 1000)
    assert schedule.penalty_eur == 0.0
    assert schedule.mip_gap is None  # no integer: a plain LP


def _noon_sun(pv_surplus_w: float, base_w: float) -> tuple[float, ...]:
    """PV = base + surplus from 11:00 to 13:00, nothing else."""
    return _series(DAY, 0.0, sun=(range(11 * PER_HOUR, 13 * PER_HOUR), base_w + pv_surplus_w))


def test_a_tank_fills_at_noon_from_the_surplus_at_full_power_and_nothing_from_the_grid() -> None:
    sun = range(11 * PER_HOUR, 13 * PER_HOUR)
    heater = DimmerSpec("water_heater", 2000.0, _tank(DAY, initial_c=40.0))
    schedule = _solved(_problem(DAY, _noon_sun(3000.0, 300.0), 300.0, dimmers=(heater,)))
    power = schedule.power_w["water_heater"]
    assert [power[i] for i in sun] == pytest.approx([2000.0] * len(sun), abs=ABS_W)
    assert _wh(power) == pytest.approx(4000.0, abs=ABS_WH)  # all of it in the sun
    # Closed-form balance (no loss, no draw): C·ΔT = 2 kW × 2 h.
    temps = schedule.tank_c["water_heater"]
    assert len(temps) == DAY + 1
    assert temps[-1] == pytest.approx(40.0 + 4000.0 / C, abs=ABS_C)
    assert temps[sun.start + 6] == pytest.approx(40.0 + 2000.0 * 6 * H / C, abs=ABS_C)
    # The grid only ever sees the household: 300 W bought outside the sun, 1 kW sold in it.
    assert [schedule.grid_w[i] for i in sun] == pytest.approx([-1000.0] * len(sun), abs=ABS_W)
    assert schedule.import_wh == pytest.approx(300.0 * 22, abs=ABS_WH)
    assert schedule.export_wh == pytest.approx(1000.0 * 2, abs=ABS_WH)
    assert schedule.cost_eur == pytest.approx(0.20 * 0.3 * 22, abs=ABS_EUR)


def test_the_heaters_thermostat_stops_the_tank_at_max_c() -> None:
    # Same sun, a tank at 50 °C: 4 kWh would take it to 67 °C; it stops at 60 °C.
    heater = DimmerSpec("water_heater", 2000.0, _tank(DAY, initial_c=50.0))
    schedule = _solved(_problem(DAY, _noon_sun(3000.0, 300.0), 300.0, dimmers=(heater,)))
    temps = schedule.tank_c["water_heater"]
    assert max(temps) == pytest.approx(60.0, abs=ABS_C)
    assert temps[-1] == pytest.approx(60.0, abs=ABS_C)
    assert _wh(schedule.power_w["water_heater"]) == pytest.approx(C * 10.0, abs=ABS_WH)
    assert schedule.import_wh == pytest.approx(300.0 * 22, abs=ABS_WH)


# Night tariff: 0.10 €/kWh from 00:00 to 06:00, 0.30 €/kWh after; the draw at 07:00.
NIGHT = range(6 * PER_HOUR)
NIGHT_PRICES = _series(DAY, 0.30, night=(NIGHT, 0.10))
DRAW_SLOT = 7 * PER_HOUR


def _morning_draw(litres: float, end_c: float | None = None) -> DayProblem:
    draws = _series(DAY, 0.0, shower=(range(DRAW_SLOT, DRAW_SLOT + 1), litres))
    heater = DimmerSpec("water_heater", 2000.0, _tank(DAY, 40.0, draw_l=draws, end_c=end_c))
    # The comfort shortfall is priced at the day's dearest import price, as the caller does.
    return _problem(DAY, imp=NIGHT_PRICES, dimmers=(heater,), shortfall_eur_kwh=0.30)


def _slot_mean_c(start_c: float, litres: float) -> float:
    """The mean temperature of a loss-free tank over a slot that draws ``litres`` and
    heats nothing: ``cold + (T − cold)·(1 − e^{−x})/x``, ``x = D/C``, by hand."""
    x = litres * WATER_WH_PER_L_K / C
    return 12.0 + (start_c - 12.0) * -math.expm1(-x) / x


def _start_for_mean_c(mean_c: float, litres: float) -> float:
    """The start temperature whose draw slot has this mean (the inverse of the above)."""
    x = litres * WATER_WH_PER_L_K / C
    return 12.0 + (mean_c - 12.0) * x / -math.expm1(-x)


def test_a_draw_is_counted_at_its_slots_mean_temperature_not_its_start() -> None:
    # A 52 °C tank (comfort 50 °C), 80 L drawn in one slot, nothing heated (power at
    # 0.30 €/kWh: a kelvin more costs C × 0.30, its shortfall only 80 L × 1.163 × 0.30 ×
    # (1 − e^{−x})/x, x = 0.4). The draw takes the tank from 52 to 12 + 40·e^{−0.4} =
    # 38.8 °C: counted at its start (52 °C) it would lack nothing; at the slot's mean
    # temperature 12 + 40·(1 − e^{−0.4})/0.4 = 44.97 °C it lacks 80 × 1.163 × 5.03 =
    # 468 Wh, in the schedule and in the solver's objective alike. That is still at most
    # the path's own shortfall ∫ D·max(0, 50 − T(τ)) dτ (Jensen), so still a floor.
    litres = 80.0
    draws = _series(DAY, 0.0, shower=(range(DRAW_SLOT, DRAW_SLOT + 1), litres))
    heater = DimmerSpec("water_heater", 2000.0, _tank(DAY, 52.0, draw_l=draws))
    schedule = _solved(_problem(DAY, imp=0.30, dimmers=(heater,), shortfall_eur_kwh=0.30))
    assert _wh(schedule.power_w["water_heater"]) == pytest.approx(0.0, abs=ABS_WH)
    temps = schedule.tank_c["water_heater"]
    d = litres * WATER_WH_PER_L_K
    assert temps[DRAW_SLOT] == pytest.approx(52.0, abs=ABS_C)
    assert temps[DRAW_SLOT + 1] == pytest.approx(12.0 + 40.0 * math.exp(-d / C), abs=ABS_C)
    mean_c = _slot_mean_c(52.0, litres)
    assert mean_c == pytest.approx(44.97, abs=0.01)
    shortfall_wh = d * (50.0 - mean_c)
    assert schedule.shortfall_wh["water_heater"] == pytest.approx(shortfall_wh, abs=ABS_WH)
    assert schedule.penalty_eur == pytest.approx(0.30 * shortfall_wh / 1000, abs=ABS_EUR)
    assert schedule.bound_eur == pytest.approx(0.30 * shortfall_wh / 1000, abs=ABS_EUR)
    path = [12.0 + 40.0 * math.exp(-d / C * (k + 0.5) / 10_000) for k in range(10_000)]
    integrated_wh = d * sum(max(50.0 - t, 0.0) for t in path) / len(path)
    assert shortfall_wh < integrated_wh < shortfall_wh * 1.1


def test_a_cold_tank_heats_at_night_just_enough_for_the_morning_draw() -> None:
    # 90 L at 07:00 from a 40 °C tank, comfort 50 °C. Warming the tank costs
    # C × 0.10 = 23.3 m€/K at night; a kelvin more at the draw's start warms the slot's
    # mean by β = (1 − e^{−x})/x (x = 0.45) and spares 90 L × 1.163 × 0.30 × β = 25.3 m€:
    # it heats, at night (69.8 m€/K in the day), until the slot's mean is 50 °C exactly
    # (59.2 °C at its start).
    litres = 90.0
    schedule = _solved(_morning_draw(litres))
    power = schedule.power_w["water_heater"]
    start_c = _start_for_mean_c(50.0, litres)
    assert start_c == pytest.approx(59.19, abs=0.01)
    need_wh = C * (start_c - 40.0)
    assert _wh(power, NIGHT) == pytest.approx(need_wh, abs=ABS_WH)
    assert _wh(power) == pytest.approx(need_wh, abs=ABS_WH)
    temps = schedule.tank_c["water_heater"]
    assert temps[DRAW_SLOT] == pytest.approx(start_c, abs=ABS_C)
    assert schedule.shortfall_wh["water_heater"] == pytest.approx(0.0, abs=ABS_WH)
    # The slot's draw mixes 90 L of 12 °C water in (exactly: T − cold decays by
    # e^{−D/C}) and nothing heats the tank again.
    after = 12.0 + (start_c - 12.0) * math.exp(-litres * WATER_WH_PER_L_K / C)
    assert temps[-1] == pytest.approx(after, abs=ABS_C)
    assert schedule.cost_eur == pytest.approx(0.10 * need_wh / 1000, abs=ABS_EUR)
    assert schedule.penalty_eur == pytest.approx(0.0, abs=ABS_EUR)


def test_a_small_draw_from_a_cold_tank_is_left_lukewarm_and_its_shortfall_priced() -> None:
    # 20 L: a kelvin short costs 20 × 1.163 × 0.30 = 7.0 m€, less than the 23.3 m€ of
    # warming the whole tank a kelvin: the comfort constraint is soft, the shortfall paid
    # (below 50 °C by the slot's mean, 12 + 28·(1 − e^{−0.1})/0.1 = 38.6 °C).
    litres = 20.0
    schedule = _solved(_morning_draw(litres))
    assert _wh(schedule.power_w["water_heater"]) == pytest.approx(0.0, abs=ABS_WH)
    shortfall_wh = litres * WATER_WH_PER_L_K * (50.0 - _slot_mean_c(40.0, litres))
    assert schedule.shortfall_wh["water_heater"] == pytest.approx(shortfall_wh, abs=ABS_WH)
    assert schedule.penalty_eur == pytest.approx(0.30 * shortfall_wh / 1000, abs=ABS_EUR)
    assert schedule.cost_eur == pytest.approx(0.0, abs=ABS_EUR)
    assert schedule.total_eur == pytest.approx(schedule.penalty_eur)


def test_a_shortfall_cap_heats_the_small_draws_tank_at_night_just_enough_to_meet_it() -> None:
    # The 20 L draw of the test above, its shortfall at most 20 L × 1.163 × 5 K: the
    # draw's slot must average 45 °C, so the tank is heated at night to the start that
    # gives that mean (46.7 °C), no more, and the rest of the shortfall is paid as before.
    litres = 20.0
    cap_wh = litres * WATER_WH_PER_L_K * 5.0
    problem = _morning_draw(litres)
    heater = problem.dimmers[0]
    assert heater.tank is not None
    capped = replace(heater, tank=replace(heater.tank, shortfall_cap_wh=cap_wh))
    schedule = _solved(replace(problem, dimmers=(capped,)))
    power = schedule.power_w["water_heater"]
    need_wh = C * (_start_for_mean_c(45.0, litres) - 40.0)
    assert _wh(power) == pytest.approx(need_wh, abs=ABS_WH)
    assert _wh(power, NIGHT) == pytest.approx(need_wh, abs=ABS_WH)
    assert schedule.shortfall_wh["water_heater"] == pytest.approx(cap_wh, abs=ABS_WH)
    assert schedule.penalty_eur == pytest.approx(0.30 * cap_wh / 1000, abs=ABS_EUR)


def test_a_chained_horizon_caps_the_first_days_shortfall_only() -> None:
    # Two days of the 20 L draw, the first capped at 5 K of shortfall: chained, the first
    # day's tank is heated at night as above; the second day's draw (its cap dropped, as
    # a lookahead's) finds the tank cooled by the first draw and is left lukewarm.
    litres = 20.0
    cap_wh = litres * WATER_WH_PER_L_K * 5.0
    day = _morning_draw(litres)
    heater = day.dimmers[0]
    assert heater.tank is not None
    capped = replace(heater, tank=replace(heater.tank, shortfall_cap_wh=cap_wh))
    horizon = chain(replace(day, dimmers=(capped,)), day)
    schedule = _solved(horizon)
    need_wh = C * (_start_for_mean_c(45.0, litres) - 40.0)
    assert _wh(schedule.power_w["water_heater"]) == pytest.approx(need_wh, abs=ABS_WH)
    _own, first = head(horizon, schedule, DAY)
    assert first.shortfall_wh["water_heater"] == pytest.approx(cap_wh, abs=ABS_WH)
    assert schedule.shortfall_wh["water_heater"] > cap_wh + litres * WATER_WH_PER_L_K * 5.0


def test_a_tank_that_must_end_as_hot_as_it_started_buys_the_draw_back_at_the_cheapest_hour() -> (
    None
):
    # A 50 °C tank (comfortable), 80 L at 07:00, cheap power only from 22:00: what the draw
    # took, C·(50 − 12)·(1 − e^{−D/C}), is bought at 22:00 and not before (heating earlier
    # would make the draw take more).
    late = range(22 * PER_HOUR, DAY)
    draws = _series(DAY, 0.0, shower=(range(DRAW_SLOT, DRAW_SLOT + 1), 80.0))
    heater = DimmerSpec("water_heater", 2000.0, _tank(DAY, 50.0, draw_l=draws, end_c=50.0))
    prices = _series(DAY, 0.30, late=(late, 0.10))
    schedule = _solved(_problem(DAY, imp=prices, dimmers=(heater,), shortfall_eur_kwh=0.30))
    taken_wh = C * (50.0 - 12.0) * -math.expm1(-80.0 * WATER_WH_PER_L_K / C)
    power = schedule.power_w["water_heater"]
    assert _wh(power, late) == pytest.approx(taken_wh, abs=ABS_WH)
    assert _wh(power) == pytest.approx(taken_wh, abs=ABS_WH)
    assert schedule.tank_c["water_heater"][-1] == pytest.approx(50.0, abs=ABS_C)
    assert schedule.cost_eur == pytest.approx(0.10 * taken_wh / 1000, abs=ABS_EUR)


def test_the_tank_follows_the_simulators_tank() -> None:
    # With losses and showers (30 L per 5 min slot: Euler on the slot would be off by
    # 0.4 K per slot), the optimiser's temperatures are those of pvopt.sim.equipment.Tank
    # advanced in 1 s steps with the schedule's power and the slots' flows.
    draws = _series(
        DAY,
        0.0,
        morning=(range(DRAW_SLOT, DRAW_SLOT + 2), 30.0),
        evening=(range(20 * PER_HOUR, 20 * PER_HOUR + 3), 25.0),
    )
    spec = _tank(DAY, 48.0, loss_w_per_k=1.5, draw_l=draws, end_c=48.0, min_c=45.0)
    heater = DimmerSpec("water_heater", 2400.0, spec)
    problem = _problem(DAY, _noon_sun(2000.0, 400.0), 400.0, imp=NIGHT_PRICES, dimmers=(heater,))
    schedule = _solved(replace(problem, shortfall_eur_kwh=0.30))
    params = TankParams(volume_l=200.0, loss_w_per_k=1.5, ambient_c=20.0, cold_c=12.0)
    tank = Tank(params, 48.0)
    replayed = [tank.temperature_c]
    step_s = 1.0
    for i, power in enumerate(schedule.power_w["water_heater"]):
        flow_l_min = draws[i] / SLOT_S * 60.0
        for k in range(int(SLOT_S / step_s)):
            tank.advance(i * SLOT_S + k * step_s, step_s, power, flow_l_min)
        replayed.append(tank.temperature_c)
    assert schedule.tank_c["water_heater"] == pytest.approx(replayed, abs=0.01)
    assert _wh(schedule.power_w["water_heater"]) > 0  # it did heat: the comparison bites


# -- the tanks' terminal value ----------------------------------------------------------


@pytest.mark.parametrize(
    ("value_eur_kwh", "heats"),
    [pytest.param(0.10, True, id="worth more than exported"), pytest.param(0.04, False, id="less")],
)
def test_heat_left_in_the_tank_lowers_the_objective_by_exactly_its_value(
    value_eur_kwh: float, heats: bool
) -> None:
    # 1 kW of surplus for 2 h, exported at 0.05 €/kWh or stored in a 40 °C tank (room for
    # C × 20 K = 4.7 kWh) whose heat at the end is worth value_eur_kwh: above 0.05 every
    # Wh goes in the tank and the objective is −value × 2 kWh; below, all is exported.
    heater = DimmerSpec("water_heater", 2000.0, _tank(DAY, 40.0, end_value_eur_kwh=value_eur_kwh))
    problem = _problem(DAY, _noon_sun(1000.0, 0.0), exp=0.05, dimmers=(heater,))
    schedule = _solved(problem)
    stored_wh = 2000.0 if heats else 0.0
    assert schedule.tank_c["water_heater"][-1] == pytest.approx(40.0 + stored_wh / C, abs=ABS_C)
    assert schedule.stored_eur == pytest.approx(value_eur_kwh * stored_wh / 1000, abs=ABS_EUR)
    assert schedule.cost_eur == pytest.approx(-0.05 * (2000.0 - stored_wh) / 1000, abs=ABS_EUR)
    expected = -max(value_eur_kwh, 0.05) * 2.0
    assert schedule.objective_eur == pytest.approx(expected, abs=ABS_EUR)
    assert schedule.bound_eur == pytest.approx(expected, abs=1e-4)


def test_a_tank_ending_colder_pays_for_the_heat_it_lost_at_the_terminal_value() -> None:
    # A 60 °C tank, 80 L drawn at 07:00, power at 0.30 €/kWh all day: the heat the draw
    # took, C·(60 − 12)·(1 − e^{−D/C}), is not bought back (it is worth 0.10 at the end)
    # and is charged at 0.10: stored_eur is that heat × −0.10.
    draws = _series(DAY, 0.0, shower=(range(DRAW_SLOT, DRAW_SLOT + 1), 80.0))
    spec = _tank(DAY, 60.0, draw_l=draws, end_value_eur_kwh=0.10)
    problem = _problem(DAY, imp=0.30, dimmers=(DimmerSpec("water_heater", 2000.0, spec),))
    schedule = _solved(problem)
    taken_wh = C * (60.0 - 12.0) * -math.expm1(-80.0 * WATER_WH_PER_L_K / C)
    assert _wh(schedule.power_w["water_heater"]) == pytest.approx(0.0, abs=ABS_WH)
    assert schedule.stored_eur == pytest.approx(-0.10 * taken_wh / 1000, abs=ABS_EUR)
    assert schedule.objective_eur == pytest.approx(0.10 * taken_wh / 1000, abs=ABS_EUR)


def test_a_chained_horizon_keeps_each_days_run_time_and_prices() -> None:
    # Two 4-slot "days": the pump needs 2 slots by slot 4 of each; power is cheap in
    # slots 0–1 and 6–7 only. Chained, it runs in both windows, not 4 slots in one.
    pump = OnOffSpec("pump", 1000.0, run_s=2 * SLOT_S, run_by_slot=4)
    first = _problem(4, imp=(0.1, 0.1, 0.3, 0.3), onoffs=(pump,), shortfall_eur_kwh=0.3)
    then = _problem(4, imp=(0.3, 0.3, 0.1, 0.1), onoffs=(pump,), shortfall_eur_kwh=0.5)
    horizon = chain(first, then)
    assert horizon.shortfall_prices_eur_kwh() == (0.3,) * 4 + (0.5,) * 4
    schedule = _solved(horizon)
    assert _on_slots(schedule, "pump") == [0, 1, 6, 7]
    own, day = head(horizon, schedule, 4)
    assert own.slots == 4 and own.onoffs[0].runs == ()
    assert day.power_w["pump"] == (1000.0, 1000.0, 0.0, 0.0)
    assert day.cost_eur == pytest.approx(0.1 * 2 * H, abs=ABS_EUR)


# -- on/off loads ------------------------------------------------------------------------


def test_an_onoff_load_needing_a_run_runs_its_minimum_on_time_around_a_shorter_surplus() -> None:
    # 20 min of 1 kW surplus, a 1 kW load needing 30 min with 30 min minimum on. Power is
    # cheap (0.12) in the first half hour, dear (0.30) after: one 30 min run over the sun
    # buys 10 min at 0.30 (50 m€), a run in the cheap half hour 30 min at 0.12 (60 m€);
    # without the minimum on time it would buy only 10 min at 0.12 (20 m€).
    n = 2 * PER_HOUR
    sun = range(10, 14)
    pv = _series(n, 0.0, sun=(sun, 1000.0))
    prices = _series(n, 0.30, cheap=(range(6), 0.12))
    pump = OnOffSpec("pump", 1000.0, min_on_s=1800.0, run_s=1800.0)
    schedule = _solved(_problem(n, pv, imp=prices, onoffs=(pump,)))
    runs = _runs(_on_slots(schedule, "pump"))
    assert len(runs) == 1
    assert len(runs[0]) == 6
    assert set(sun) <= set(runs[0])
    assert schedule.import_wh == pytest.approx(1000.0 * 2 * H, abs=ABS_WH)
    assert schedule.cost_eur == pytest.approx(0.30 * 2 * H, abs=ABS_EUR)


@pytest.mark.parametrize(
    ("sun_slots", "imp", "exp", "expected_on"),
    [
        # Surplus as long as the minimum on time, sold at −0.01: running it is worth it.
        (6, 0.20, -0.01, 6),
        # 20 min of surplus for a 30 min minimum: 10 min bought at 0.20 (33 m€) to save
        # 20 min of selling at −0.01 (3 m€): it stays off.
        (4, 0.20, -0.01, 0),
        # The same 20 min when selling costs 0.20 and buying 0.05: worth it (67 m€ saved,
        # 8 m€ bought), and then for the whole minimum on time.
        (4, 0.05, -0.20, 6),
    ],
)
def test_an_opportunistic_onoff_load_runs_only_when_worth_it(
    sun_slots: int, imp: float, exp: float, expected_on: int
) -> None:
    n = 2 * PER_HOUR
    sun = range(10, 10 + sun_slots)
    pv = _series(n, 0.0, sun=(sun, 1000.0))
    plug = OnOffSpec("plug", 1000.0, min_on_s=1800.0)
    schedule = _solved(_problem(n, pv, imp=imp, exp=exp, onoffs=(plug,)))
    on = _on_slots(schedule, "plug")
    assert len(on) == expected_on
    if on:
        assert len(_runs(on)) == 1
        assert set(sun) <= set(on)


def test_an_onoff_load_does_not_stop_for_less_than_its_minimum_off_time() -> None:
    # Two 10 min bursts of surplus 10 min apart, a 20 min run needed, 30 min minimum off:
    # it cannot run both bursts (free), so it buys 10 min.
    n = 2 * PER_HOUR
    pv = _series(n, 0.0, first=(range(6, 8), 1000.0), second=(range(10, 12), 1000.0))
    pump = OnOffSpec("pump", 1000.0, min_on_s=SLOT_S, min_off_s=1800.0, run_s=1200.0)
    schedule = _solved(_problem(n, pv, imp=0.20, onoffs=(pump,)))
    runs = _runs(_on_slots(schedule, "pump"))
    for before, after in itertools.pairwise(runs):
        assert after.start - before.stop >= 6
    assert schedule.cost_eur == pytest.approx(0.20 * 2 * H, abs=ABS_EUR)


@pytest.mark.parametrize("initially_on", [True, False])
def test_a_minimum_on_or_off_time_running_at_the_start_holds(initially_on: bool) -> None:
    # On for 10 min of a 30 min minimum: 20 more minutes (4 slots) bought for nothing.
    # Off for 10 min of a 30 min minimum with the first hour's surplus sold at −0.10: it
    # may only start after 20 min.
    n = PER_HOUR
    pv = 0.0 if initially_on else 1000.0
    plug = OnOffSpec(
        "plug",
        1000.0,
        min_on_s=1800.0,
        min_off_s=1800.0,
        initially_on=initially_on,
        state_age_s=600.0,
    )
    schedule = _solved(_problem(n, pv, imp=0.20, exp=-0.10, onoffs=(plug,)))
    on = _on_slots(schedule, "plug")
    assert on == (list(range(4)) if initially_on else list(range(4, n)))


def test_a_run_time_due_by_a_slot_is_done_before_it() -> None:
    # 30 min needed within the first hour, though power is cheaper in the second.
    n = 2 * PER_HOUR
    prices = _series(n, 0.30, cheap=(range(PER_HOUR, n), 0.10))
    pump = OnOffSpec("pump", 1000.0, run_s=1800.0, run_by_slot=PER_HOUR)
    schedule = _solved(_problem(n, imp=prices, onoffs=(pump,)))
    on = _on_slots(schedule, "pump")
    assert len(on) == 6
    assert max(on) < PER_HOUR
    assert schedule.cost_eur == pytest.approx(0.30 * 1000.0 * 6 * H / 1000, abs=ABS_EUR)


# -- prices ------------------------------------------------------------------------------


def test_export_dearer_than_import_is_not_exploited_by_importing_and_exporting_at_once() -> None:
    # First hour: 1.5 kW surplus, export 0.20 > import 0.10. Second hour: no sun, import
    # 0.15. A 2 kW dimmer needs 500 Wh. Physically, heating in the sun forgoes 0.20/kWh of
    # sales and heating at night costs 0.15: it heats at night. Were import and export
    # allowed together in the first hour, it would "buy" the heat there at 0.10 while
    # selling all the PV.
    n = 2 * PER_HOUR
    sun = range(PER_HOUR)
    night = range(PER_HOUR, n)
    pv = _series(n, 0.0, sun=(sun, 2000.0))
    prices = _series(n, 0.15, sun=(sun, 0.10))
    dimmer = DimmerSpec("radiator", 2000.0, min_energy_wh=500.0)
    schedule = _solved(_problem(n, pv, 500.0, imp=prices, exp=0.20, dimmers=(dimmer,)))
    power = schedule.power_w["radiator"]
    assert _wh(power, sun) == pytest.approx(0.0, abs=ABS_WH)
    assert _wh(power, night) == pytest.approx(500.0, abs=ABS_WH)
    assert schedule.export_wh == pytest.approx(1500.0, abs=ABS_WH)
    assert schedule.import_wh == pytest.approx(500.0 + 500.0, abs=ABS_WH)
    assert schedule.cost_eur == pytest.approx(0.15 * 1.0 - 0.20 * 1.5, abs=ABS_EUR)


# -- failures ----------------------------------------------------------------------------


def _valid() -> DayProblem:
    n = 4
    return _problem(
        n,
        1000.0,
        300.0,
        dimmers=(DimmerSpec("water_heater", 2000.0, _tank(n, 50.0)),),
        onoffs=(OnOffSpec("pump", 500.0, min_on_s=600.0),),
    )


def _with_tank(**kw: Any) -> DayProblem:
    p = _valid()
    tank = p.dimmers[0].tank
    assert tank is not None
    return replace(p, dimmers=(replace(p.dimmers[0], tank=replace(tank, **kw)),))


@pytest.mark.parametrize(
    ("problem", "match"),
    [
        pytest.param(replace(_valid(), base_w=(300.0,) * 3), "base_w has 3", id="base short"),
        pytest.param(
            replace(_valid(), export_eur_kwh=(0.0,) * 5), "export_eur_kwh has 5", id="long"
        ),
        pytest.param(
            replace(_valid(), pv_w=(), base_w=(), import_eur_kwh=(), export_eur_kwh=()),
            "no slot",
            id="no slot",
        ),
        pytest.param(_with_tank(draw_l=(0.0,) * 3), "draw_l has 3", id="draws short"),
        pytest.param(replace(_valid(), slot_s=30.0), "slot_s", id="slot too short"),
        pytest.param(
            replace(_valid(), import_eur_kwh=(0.2, math.nan, 0.2, 0.2)),
            r"import_eur_kwh\[1\] must be finite",
            id="NaN price",
        ),
        pytest.param(
            replace(_valid(), base_w=(300.0, math.inf, 0.0, 0.0)),
            r"base_w\[1\] must be finite",
            id="infinite base",
        ),
        pytest.param(
            replace(_valid(), pv_w=(1000.0, -5.0, 0.0, 0.0)), r"pv_w\[1\] must be >= 0", id="PV<0"
        ),
        pytest.param(
            replace(_valid(), onoffs=(OnOffSpec("water_heater", 500.0),)), "unique", id="dup name"
        ),
        pytest.param(
            replace(_valid(), dimmers=(DimmerSpec("d", 0.0),)), "max_power_w", id="zero power"
        ),
        pytest.param(
            replace(_valid(), onoffs=(OnOffSpec("p", 500.0, run_by_slot=5),)),
            "run_by_slot",
            id="run_by beyond the horizon",
        ),
        pytest.param(_with_tank(min_c=61.0), "min_c", id="min_c above max_c"),
        pytest.param(
            _with_tank(end_value_eur_kwh=-0.1), "end_value_eur_kwh", id="negative end value"
        ),
        pytest.param(
            replace(_valid(), shortfall_slot_eur_kwh=(0.3,) * 3),
            "shortfall_slot_eur_kwh has 3",
            id="shortfall prices short",
        ),
        pytest.param(
            replace(_valid(), onoffs=(OnOffSpec("p", 500.0, runs=(RunNeed(600.0, 2, 5),)),)),
            r"runs\[0\]",
            id="run window beyond the horizon",
        ),
    ],
)
def test_a_malformed_problem_raises_value_error(problem: DayProblem, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        optimise(problem)


def test_the_valid_problem_the_malformed_ones_derive_from_solves() -> None:
    assert optimise(_valid()).solved


@pytest.mark.parametrize(
    "problem",
    [
        pytest.param(
            replace(_valid(), onoffs=(OnOffSpec("pump", 500.0, run_s=5 * SLOT_S),)),
            id="run longer than the horizon",
        ),
        pytest.param(_with_tank(end_c=70.0), id="end above what the heater can reach"),
    ],
)
def test_an_infeasible_problem_comes_back_with_its_status(problem: DayProblem) -> None:
    schedule = optimise(problem)
    assert schedule.status is SolveStatus.INFEASIBLE
    assert not schedule.solved
    assert math.isnan(schedule.cost_eur)
    assert schedule.grid_w == ()


def test_the_module_imports_without_numpy_or_scipy_and_optimise_says_what_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code = (
        "import sys; sys.modules['numpy'] = sys.modules['scipy'] = None; import pvopt.sim.optimum"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    monkeypatch.setitem(sys.modules, "scipy.optimize", None)
    with pytest.raises(RuntimeError, match="scipy"):
        optimise(_valid())


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file descriptors")
def test_what_the_solver_prints_goes_to_stderr_and_stdout_is_restored(
    capfd: pytest.CaptureFixture[str],
) -> None:
    # HiGHS 1.12 printf()s a stray debugging line when it repairs an integer solution
    # (optimum._solver_stdout_to_stderr): a C-level write during the solve lands on
    # stderr, and stdout is stdout again after it (`pvopt simulate --json` stays JSON).
    import ctypes

    from pvopt.sim import optimum

    with optimum._solver_stdout_to_stderr():
        ctypes.CDLL(None).printf(b"HighsMipSolverData stray line\n")
    assert optimise(_valid()).solved
    print("after", flush=True)
    out, err = capfd.readouterr()
    assert "stray line" in err
    assert "stray line" not in out
    assert out == "after\n"
