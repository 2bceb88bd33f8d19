"""The house models on their own: PV, clouds, base load, meter, tank, KPI definitions,
and the package's import rules."""

from __future__ import annotations

import ast
import itertools
import math
import random
import sys
from array import array
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from pvopt.equipment.model import (
    Command,
    ConstantPowerConfig,
    RegulationConfig,
    SiteConfig,
    TempDrivenVariablePowerConfig,
    VariablePowerConfig,
)
from pvopt.regulation.model import MeterSample, Mode, Output
from pvopt.sim import kpi
from pvopt.sim.equipment import Draw, HotWaterDraws, Tank, TankParams
from pvopt.sim.house import House, Recording, Switch, regulated_automatically
from pvopt.sim.load import BaseLoad
from pvopt.sim.meter import Frame, LinkyMeter
from pvopt.sim.pv import CloudProcess, PvPlant, Sky, clear_sky_w, sun
from pvopt.sim.scenarios import PARIS, REFERENCE_PV, build, local_time, reference_site
from pvopt.sim.timeseries import Linear, step_sum
from pvopt.sim.vectors import means

SUMMER = date(2026, 6, 21)
WINTER = date(2026, 1, 15)
PACKAGE = Path(__file__).resolve().parents[2] / "pvopt"


# -- PV ----------------------------------------------------------------------------------


def test_clear_sky_is_a_bell_following_the_sun_at_45_north() -> None:
    hours = [h / 4 for h in range(24 * 4)]
    summer = [clear_sky_w(REFERENCE_PV, local_time(SUMMER, h)) for h in hours]
    winter = [clear_sky_w(REFERENCE_PV, local_time(WINTER, h)) for h in hours]
    assert 3300 <= max(summer) <= 3600  # 4 kWc, 30° tilt, June
    assert 1800 <= max(winter) <= 2300  # January: lower sun, longer air mass
    # zero at night, peak near solar noon (13:40 CEST at 4.85° E, 12:50 CET in January)
    assert summer[0] == 0 and winter[7 * 4] == 0 and winter[18 * 4] == 0
    assert 13.0 <= hours[summer.index(max(summer))] <= 14.25
    assert 12.25 <= hours[winter.index(max(winter))] <= 13.5
    # daily energy: ~7 kWh/kWc on a clear June day, ~3 in January
    assert 25_000 <= sum(summer) / 4 <= 30_000
    assert 10_000 <= sum(winter) / 4 <= 14_000
    elevation, _ = sun(REFERENCE_PV, local_time(SUMMER, 13.7))
    assert elevation == pytest.approx(90 - 45 + 23.44, abs=0.5)


def _factor(sky: Sky, seed: int = 3) -> tuple[list[float], float]:
    start, end = local_time(SUMMER, 8), local_time(SUMMER, 18)
    clouds = CloudProcess(sky, random.Random(seed), start, end)
    return [clouds.factor(start + s) for s in range(0, int(end - start))], start


def test_broken_clouds_dip_30_to_80_percent_with_fast_edges() -> None:
    k, _ = _factor(Sky.BROKEN)
    shaded = sum(1 for x in k if x < 0.72) / len(k)
    assert 0.2 <= shaded <= 0.6
    assert 0.2 <= min(k) <= 0.35  # never darker than an 80 % dip
    assert max(k) <= 1.2  # cloud-edge enhancement at most +20 %
    fast = [abs(k[i + 8] - k[i]) for i in range(len(k) - 8)]
    assert max(fast) >= 0.5  # a 50 % swing within 8 s happens
    edges = sum(1 for i in range(len(k) - 1) if k[i] >= 0.9 > k[i + 1])
    assert edges >= 60  # many shadows in ten hours


def test_overcast_is_dark_and_slow_and_clear_is_clear() -> None:
    k, _ = _factor(Sky.OVERCAST)
    assert max(k) <= 0.65 and min(k) >= 0.12
    assert sum(k) / len(k) <= 0.35
    assert max(abs(k[i + 10] - k[i]) for i in range(len(k) - 10)) < 0.1
    clear, _ = _factor(Sky.CLEAR)
    assert min(clear) >= 0.96


def test_pv_plant_is_clear_sky_times_clouds_clipped_at_the_inverter() -> None:
    start, end = local_time(SUMMER, 6), local_time(SUMMER, 20)
    clouds = CloudProcess(Sky.BROKEN, random.Random(5), start, end)
    plant = PvPlant(REFERENCE_PV, clouds, start, end)
    for s in range(0, int(end - start), 997):
        t = start + s
        expected = min(clear_sky_w(REFERENCE_PV, t) * clouds.factor(t), 4000)
        assert plant.power_w(t) == pytest.approx(expected, rel=0.005, abs=2)
    # Sampled as progressions between breakpoints: the calls but for the rounding of the
    # times near 1.8e9 s (2.4e-7 s), i.e. within µW.
    calls = [plant.power_w(start + 0.2 * k) for k in range(50)]
    assert plant.sample(start, 0.2, 50) == pytest.approx(calls, rel=0, abs=1e-6)
    noon = local_time(SUMMER, 13)  # under broken clouds: steep edges, the inverter's cap
    calls = [plant.power_w(noon + 0.2 * k) for k in range(3000)]
    assert plant.sample(noon, 0.2, 3000) == pytest.approx(calls, rel=0, abs=1e-3)


# -- base load ---------------------------------------------------------------------------


def test_base_load_profile_night_floor_and_peaks() -> None:
    start, end = local_time(SUMMER, 0), local_time(SUMMER, 24)
    quiet = BaseLoad(random.Random(1), start, end, PARIS, appliances=False)

    def mean(a: float, b: float) -> float:
        samples = [quiet.power_w(local_time(SUMMER, a) + s) for s in range(0, int((b - a) * 3600))]
        return sum(samples) / len(samples)

    night = mean(1, 5)
    assert 150 <= night <= 250
    assert mean(7, 8.5) > mean(14, 16) + 100  # morning peak
    assert mean(19.5, 21) > mean(14, 16) + 200  # evening peak


def test_appliances_are_seeded_steps_of_kilowatts() -> None:
    start, end = local_time(SUMMER, 0), local_time(SUMMER, 24)
    a = BaseLoad(random.Random(11), start, end, PARIS)
    b = BaseLoad(random.Random(11), start, end, PARIS)
    assert a.pulses == b.pulses
    kettles = [p for p in a.pulses if p.label == "kettle"]
    assert kettles and all(120 <= p.end - p.start <= 240 and p.power_w == 2000 for p in kettles)
    assert any(p.label == "fridge" for p in a.pulses)
    k = kettles[0]
    assert a.power_w(k.start + 1) - a.power_w(k.start - 1) > 1800
    a.add(local_time(SUMMER, 3), local_time(SUMMER, 3) + 60, 1500)
    assert a.power_w(local_time(SUMMER, 3) + 30) > 1500


# -- meter -------------------------------------------------------------------------------


def test_meter_cadence_averaging_and_delay() -> None:
    start = 1_800_000_000.0
    meter = LinkyMeter(random.Random(2), start)
    step = 0.2
    frames = []
    for k in range(3000):  # 600 s: 0 W, then 1000 W of import from 300 s
        t = start + k * step
        meter.integrate(t, step, 1000.0 if t >= start + 300 else -500.0)
        frames.extend(meter.received(t + step))
    gaps = [b.measured_at - a.measured_at for a, b in itertools.pairwise(frames)]
    assert 1.15 <= sum(gaps) / len(gaps) <= 1.25
    assert min(gaps) >= 1.05 - 1e-9 and max(gaps) <= 1.35 + 1e-9
    delays = [f.received_at - f.measured_at for f in frames]
    assert min(delays) >= 0 and max(delays) <= 1.2 + 1e-3
    assert max(delays) > 0.9 and min(delays) < 0.3  # the whole range is used
    assert all(a.received_at < b.received_at for a, b in itertools.pairwise(frames))
    assert {f.grid_w for f in frames if f.measured_at < start + 299} == {-500.0}
    assert {f.grid_w for f in frames if f.measured_at > start + 301.01} == {1000.0}
    straddling = [f for f in frames if start + 300 < f.measured_at < start + 301]
    assert straddling and all(-500 < f.grid_w < 1000 for f in straddling)  # a 1 s mean
    f = frames[-1]
    assert f.sample.import_va == 1000 and f.sample.export_va == 0
    assert f.sample.time.timestamp() == pytest.approx(f.received_at)
    assert meter.import_wh == pytest.approx(1000 * 300 / 3600)
    assert meter.export_wh == pytest.approx(500 * 300 / 3600)


def test_meter_measured_on_demand_gives_the_frames_of_step_by_step_integration() -> None:
    """The house's way (registers counted in runs, each frame measured when due from the
    energy over its window) and integrate() give the same frames and registers."""
    start = 1_800_000_000.0
    grid = [(-400.0 if k % 700 < 300 else 900.0) + (k % 13) for k in range(3000)]
    stepped, demand = LinkyMeter(random.Random(3), start), LinkyMeter(random.Random(3), start)
    for k, g in enumerate(grid):
        stepped.integrate(start + k * 0.2, 0.2, g)
    cumulative = [0.0, *itertools.accumulate(g * 0.2 for g in grid)]

    def energy_j(t: float) -> float:
        k = min(int((t - start) / 0.2), len(grid) - 1)
        return cumulative[k] + grid[k] * (t - (start + k * 0.2))

    end = start + len(grid) * 0.2
    while demand.due <= end:
        demand.measure(lambda since, until: energy_j(until) - energy_j(since))
    for a, b in ((0, 1000), (1000, 1001), (1001, 3000)):  # runs of any length
        demand.count(0.2, grid[a:b])
    assert 480 <= len(stepped.pending) <= 520  # 600 s of frames
    assert list(demand.pending) == list(stepped.pending)  # times, whole VA, samples
    assert demand.due == stepped.due
    assert demand.import_wh == pytest.approx(stepped.import_wh, rel=1e-12)
    assert demand.export_wh == pytest.approx(stepped.export_wh, rel=1e-12)


def test_meter_outage_loses_frames() -> None:
    start = 1_800_000_000.0
    meter = LinkyMeter(random.Random(2), start)
    meter.outage(start + 10, start + 20)
    got = []
    for k in range(200):
        meter.integrate(start + 0.2 * k, 0.2, 100.0)
        got.extend(meter.received(start + 0.2 * (k + 1)))
    assert not [f for f in got if start + 10 <= f.measured_at < start + 20]
    assert meter.lost >= 7


# -- tank --------------------------------------------------------------------------------


def test_tank_heat_capacity_losses_thermostat_and_draws() -> None:
    params = TankParams()
    assert params.capacity_wh_per_k == pytest.approx(232.6, abs=0.1)
    tank = Tank(params, 50.0)
    for k in range(3600 * 5):  # 1 h at 2400 W, 0.2 s steps
        tank.advance(k * 0.2, 0.2, 2400.0)
    # (2400 − ~40…55 W of losses) / 232.6 Wh/K
    assert tank.temperature_c == pytest.approx(50 + (2400 - 48) / 232.6, abs=0.1)
    cold = Tank(params, 60.0)
    for k in range(3600 * 5):
        cold.advance(k * 0.2, 0.2, 0.0)
    assert 60.0 - cold.temperature_c == pytest.approx(60.0 / 232.6, rel=0.02)  # 1.5 W/K x 40 K
    hot = Tank(params, 64.0)
    t = 0.0
    while hot.closed:
        hot.advance(t, 0.2, 2400.0)
        t += 0.2
    assert hot.temperature_c == pytest.approx(65.0, abs=0.01) and hot.cuts
    hot.draws.add(Draw(t + 10, t + 10 + 300, 8.0))  # 40 L
    while not hot.closed:
        hot.advance(t, 0.2, 0.0)
        t += 0.2
    assert hot.temperature_c <= 60.0 and hot.closes
    assert abs(hot.balance_error_wh()) < 1e-6 * hot.heat_in_wh + 1e-9


def _exact_c(t0_c: float, seconds: float, heat_w: float, flow_l_min: float) -> float:
    """The mixed tank's ODE solved by hand (TankParams' defaults)."""
    p = TankParams()
    draw_w_per_k = flow_l_min / 60 * 4186.8
    conductance = p.loss_w_per_k + draw_w_per_k
    equilibrium = (heat_w + p.loss_w_per_k * p.ambient_c + draw_w_per_k * p.cold_c) / conductance
    rate = conductance / (p.capacity_wh_per_k * 3600)
    return equilibrium + (t0_c - equilibrium) * math.exp(-rate * seconds)


@pytest.mark.parametrize(("heat_w", "flow_l_min"), [(2400.0, 0.0), (0.0, 8.0), (1200.0, 4.0)])
def test_a_tank_held_for_many_steps_is_integrated_exactly(heat_w: float, flow_l_min: float) -> None:
    """hold(n steps) = the ODE's solution = n single steps; its counters balance; the
    per-step temperatures and the preview agree with it."""
    held = Tank(TankParams(), 50.0)
    stepped = Tank(TankParams(), 50.0)
    n = 1500  # 5 min of 0.2 s steps
    temps = held.temperatures(0.2, n, heat_w, flow_l_min)
    assert temps[0] == 50.0 and len(temps) == n
    assert temps[-1] == pytest.approx(_exact_c(50.0, (n - 1) * 0.2, heat_w, flow_l_min), abs=1e-9)
    assert held.temperature_after(300.0, heat_w, flow_l_min) == pytest.approx(
        _exact_c(50.0, 300.0, heat_w, flow_l_min), abs=1e-9
    )
    held.hold(0.0, 0.2, n, heat_w, flow_l_min)
    for k in range(n):
        stepped.advance(k * 0.2, 0.2, heat_w, flow_l_min)
    assert held.temperature_c == pytest.approx(_exact_c(50.0, 300.0, heat_w, flow_l_min), abs=1e-9)
    assert stepped.temperature_c == pytest.approx(held.temperature_c, abs=1e-9)
    for a, b in ((held.loss_wh, stepped.loss_wh), (held.draw_wh, stepped.draw_wh)):
        assert a == pytest.approx(b, rel=1e-9, abs=1e-9)
    assert held.heat_in_wh == pytest.approx(heat_w * 300 / 3600)
    assert abs(held.balance_error_wh()) < 1e-9
    if flow_l_min:  # 5 min of it, leaving at ~50 °C, replaced at 12 °C
        assert held.draw_wh == pytest.approx(5 * flow_l_min * 1.163 * 38, rel=0.1)


def test_the_thermostat_acts_at_the_step_steps_to_switch_says() -> None:
    """steps_to_switch finds the boundary where stepping one step at a time opens (then
    closes) the thermostat; holding that many steps makes it act there, one fewer not."""
    cases = ((64.0, 2400.0, 0.0, True), (64.99, 300.0, 0.0, True), (62.0, 0.0, 8.0, False))
    for start_c, heat_w, flow, closed in cases:  # closed: opens at 65 °C; open: closes at 60
        tank, stepper, short = (Tank(TankParams(), start_c) for _ in range(3))
        tank.closed = stepper.closed = short.closed = closed
        j = tank.steps_to_switch(0.2, 100_000, heat_w, flow)
        assert j is not None
        k = 0
        while stepper.closed == closed:
            stepper.advance(k * 0.2, 0.2, heat_w, flow)
            k += 1
        assert k == j
        assert tank.steps_to_switch(0.2, j - 1, heat_w, flow) is None
        short.hold(0.0, 0.2, j - 1, heat_w, flow)
        assert short.closed == closed
        tank.hold(0.0, 0.2, j, heat_w, flow)
        assert tank.closed != closed
        assert (tank.cuts or tank.closes) == [pytest.approx(j * 0.2)]
    cooling = Tank(TankParams(), 50.0)  # far from both levels
    assert cooling.steps_to_switch(0.2, 10_000, 0.0, 8.0) is None


def test_hot_water_draws_are_seeded_morning_and_evening() -> None:
    start, end = local_time(SUMMER, 0), local_time(SUMMER, 24)
    draws = HotWaterDraws.seeded(random.Random(4), start, end, PARIS).draws
    again = HotWaterDraws.seeded(random.Random(4), start, end, PARIS).draws
    assert draws == again
    morning = sum(d.litres for d in draws if d.start < local_time(SUMMER, 9))
    evening = sum(d.litres for d in draws if d.start >= local_time(SUMMER, 18.9))
    assert 40 <= morning <= 120 and 20 <= evening <= 100


# -- time series helpers -----------------------------------------------------------------


def test_linear_and_steps_sample_like_their_calls() -> None:
    f = Linear([0, 10, 10, 20], [0, 10, 5, 0])
    assert [f(x) for x in (0, 5, 15, 25, -1)] == [0, 5, 2.5, 0, 0]
    assert f.sample(-1, 0.7, 40) == pytest.approx([f(-1 + 0.7 * k) for k in range(40)])
    s = step_sum([(1, 3, 100), (2, 5, 50)])
    assert [s(x) for x in (0, 1, 2.5, 4, 6)] == [0, 100, 150, 50, 0]
    assert s.sample(0, 0.25, 30) == [s(0.25 * k) for k in range(30)]


def test_sampling_random_functions_gives_their_values_step_by_step() -> None:
    """``sample`` works segment by segment; every step must still get the function's
    value at its time (breakpoints on steps, repeated breakpoints, starts before the
    first and after the last one, cursors left anywhere)."""
    rng = random.Random(7)
    for _ in range(500):
        m = rng.randint(1, 12)
        times = sorted(
            rng.choice([rng.uniform(0, 30), round(rng.uniform(0, 30), 1)]) for _ in range(m)
        )
        if m > 2 and rng.random() < 0.3:
            times[1] = times[2]
        values = [rng.uniform(-500, 500) for _ in range(m)]
        t0, dt, n = rng.uniform(-5, 35), rng.choice([0.2, 0.1, 1.0]), rng.randint(1, 200)
        f = Linear(times, values)
        f._i = rng.randrange(m)
        steps = [t0 + k * dt for k in range(n)]
        calls = [Linear(times, values)(t) for t in steps]
        assert f.sample(t0, dt, n) == calls  # the same arithmetic
        f._i = rng.randrange(m)
        assert f.sample(t0, dt, n, progression=True) == pytest.approx(calls, rel=1e-9, abs=1e-9)
        s = step_sum([(a, a + rng.uniform(0, 10), v) for a, v in zip(times, values, strict=True)])
        sampled = s.sample(t0, dt, n)
        assert sampled == [s(t) for t in steps]
        runs = s.runs(t0, dt, n)  # where the sampled values change
        assert runs[0][0] == 0 and all(a[0] < b[0] for a, b in itertools.pairwise(runs))
        assert runs == [(k, v) for k, v in enumerate(sampled) if k == 0 or sampled[k - 1] != v]


# -- KPI definitions on a hand-made recording ----------------------------------------------


def test_missed_surplus_and_controller_import_follow_their_definitions() -> None:
    dimmer = VariablePowerConfig(
        name="heater", id="heater", command=Command("scr/heater/in"), max_power_w=2000
    )
    rec = Recording(SiteConfig((dimmer,)), start=0.0, step_s=1.0, names=["heater"])
    # 10 s exporting 500 W beyond the −20 W target while the heater draws 1000 W (headroom
    # 1000 W): 500 W missed. Then 10 s importing 300 W while it draws 200 W: 200 W caused.
    for grid, drawn, auto in (
        [(-520.0, 1000.0, 1)] * 10
        + [(300.0, 200.0, 1)] * 10
        + [
            (300.0, 200.0, 0)  # forced or off-peak: not the regulation's import
        ]
        * 10
    ):
        base = 400.0
        rec.grid_w.append(grid)
        rec.base_w.append(base)
        rec.pv_w.append(base + drawn - grid)
        rec.safe.append(0)
        rec.drawn_w["heater"].append(drawn)
        rec.auto["heater"].append(auto)
    k = kpi.compute(rec)
    assert k.missed_surplus_wh == pytest.approx(500 * 10 / 3600)
    assert k.controller_import_wh == pytest.approx(200 * 10 / 3600)
    assert k.import_wh == pytest.approx(300 * 20 / 3600)
    assert k.export_wh == pytest.approx(520 * 10 / 3600)
    assert k.diverted_wh == pytest.approx((1000 * 10 + 200 * 20) / 3600)
    assert abs(k.balance_error_wh) < 1e-9
    rec.able["heater"] = array("b", [0] * 30)  # its thermostat was open: nothing missed
    assert kpi.compute(rec).missed_surplus_wh == 0


def test_the_frame_errors_follow_their_definitions() -> None:
    """|grid − target| over the frames received in the window (nearest rank), of their
    10 s means, and over the trimming frames: a regulated dimmer between off and its cap
    in the middle of the frame's mean."""
    dimmer = VariablePowerConfig(
        name="heater", id="heater", command=Command("scr/heater/in"), max_power_w=2000
    )
    rec = Recording(SiteConfig((dimmer,)), start=0.0, step_s=1.0, names=["heater"])
    # 0–9 s exporting 520 W (error 500 W), then importing 300 W (error 320 W); the heater
    # regulated while trimming until 20 s, forced after
    steps = [(-520.0, 1000.0, 1)] * 10 + [(300.0, 200.0, 1)] * 10 + [(300.0, 200.0, 0)] * 10
    for grid, drawn, auto in steps:
        rec.grid_w.append(grid)
        rec.base_w.append(400.0)
        rec.pv_w.append(400.0 + drawn - grid)
        rec.safe.append(0)
        rec.drawn_w["heater"].append(drawn)
        rec.auto["heater"].append(auto)
    for k in range(30):  # a 1 s mean of step k, received 0.2 s after; the last one too late
        sample = MeterSample(datetime.fromtimestamp(k + 1.0, UTC), max(int(steps[k][0]), 0))
        rec.frames.append(Frame(k + 1.0, k + 1.2 if k < 29 else 30.0, steps[k][0], sample))
    k = kpi.compute(rec)
    assert k.frames == 29  # 10 × 500 W, 19 × 320 W
    assert (k.error_p50_w, k.error_p95_w) == (320.0, 500.0)  # ranks 15 and 28 of 29
    assert k.error_mean_w == pytest.approx((10 * -500 + 19 * 320) / 29)
    # 10 s bins by reception: 9 × −520; −520 and 9 × 300 (mean 218); 10 × 300
    assert k.error_10s_p95_w == 500.0
    assert k.trimming_frames == 20
    assert (k.error_trimming_p50_w, k.error_trimming_p95_w) == (320.0, 500.0)
    assert kpi.percentile([3.0, 1.0, 2.0, 4.0], 50) == 2.0
    assert kpi.percentile([], 95) is None


def test_missed_surplus_leaves_out_what_the_rules_forbid_and_the_safe_state() -> None:
    """100 s exporting 1000 W beyond the target, nothing drawn but the pump from 40 s to
    65 s. A surplus the tank may not take (its probe at or above temp_max, until it reads
    below temp_sol_min), a pump start before the surplus has lasted start_delay or within
    min_off of its last stop, and the safe state are not missed; the rest is."""
    tank = TempDrivenVariablePowerConfig(
        name="tank",
        id="tank",
        command=Command("scr/tank/in"),
        max_power_w=2000,
        temp_min_c=40,
        temp_eco_c=45,
        temp_sol_min_c=55,
        temp_max_c=60,
    )
    pump = ConstantPowerConfig(
        name="pump",
        id="pump",
        command=Command("wifi_plug/pump/in"),
        nominal_power_w=500,
        min_on_s=0,
        min_off_s=30,
    )
    regulation = RegulationConfig(target_grid_w=-20, start_delay_s=10, start_margin_w=100)
    rec = Recording(
        SiteConfig((tank, pump), regulation), start=0.0, step_s=1.0, names=["tank", "pump"]
    )
    rec.probes["tank"] = [(0.0, 61.0), (30.0, 54.0), (70.0, 61.0)]  # full, re-armed, full
    rec.switches["pump"] = [
        Switch(40.0, True, False, "on: surplus"),
        Switch(65.0, False, True, "stale meter data"),
    ]
    for t in range(100):
        pump_w = 500.0 if 40 <= t < 65 else 0.0
        rec.grid_w.append(-1020.0)
        rec.base_w.append(400.0)
        rec.pv_w.append(400.0 + pump_w + 1020.0)
        rec.safe.append(1 if 60 <= t < 70 else 0)
        rec.drawn_w["tank"].append(0.0)
        rec.drawn_w["pump"].append(pump_w)
        rec.auto["tank"].append(1)
        rec.auto["pump"].append(1)
    missed_w_s = (
        0  # 0–9 s: the tank is full, the surplus has not lasted start_delay for the pump
        + 20 * 500  # 10–29 s: the pump could have started
        + 30 * 1000  # 30–59 s: the tank re-armed (and the pump, until it started)
        + 0  # 60–69 s: safe state; 70–94 s: the tank full again, the pump within min_off
        + 5 * 500  # 95–99 s: the pump could have started again
    )
    assert kpi.compute(rec).missed_surplus_wh == pytest.approx(missed_w_s / 3600)


# -- import rules ------------------------------------------------------------------------


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module if node.module.startswith("pvopt") else node.module.split(".")[0])
    return names


def test_the_simulation_is_pure_standard_library_and_the_core_never_imports_it() -> None:
    # Standard library only (and PyYAML, which pvopt needs anyway, for scenario files),
    # none of its network / process parts; matplotlib only where --plot draws. pvlib is
    # imported on demand (importlib) by the PV model when the `sim` extra is installed.
    io_std = {"socket", "ssl", "http", "urllib", "asyncio", "subprocess", "multiprocessing"}
    # numpy (sim extra), imported on demand: the optimum's solver, and the grading of a
    # run (vectors.py; kpi.py, yardstick.py, report.py, series.py), never the house or its
    # models (test_scenario_file: importing the simulator and building a house import no
    # numpy).
    measures = ("vectors.py", "kpi.py", "yardstick.py", "report.py", "series.py")
    allowed: dict[str, tuple[str, ...] | None] = {
        "yaml": None,
        "matplotlib": ("plot.py",),
        "numpy": ("optimum.py", *measures),
        "scipy": ("optimum.py",),
    }
    for path in sorted((PACKAGE / "sim").glob("*.py")):
        for name in _imports(path):
            if name.startswith("pvopt"):
                # pvopt.config: `pvopt simulate` reads the off-peak window like the daemons;
                # pvopt.schema: scenario files and recordings are read like the equipment's;
                # pvopt.tariff: what the household pays (the yardstick);
                # pvopt.forecast: the day-ahead PV forecast the regulation is given;
                # pvopt.ejp: the day-ahead EJP day it is given (both pure records)
                allowed_pvopt = (
                    "pvopt.tariff",
                    "pvopt.forecast",
                    "pvopt.ejp",
                    "pvopt.sim",
                    "pvopt.regulation",
                    "pvopt.equipment",
                    "pvopt.config",
                    "pvopt.schema",
                )
                assert name.startswith(allowed_pvopt), (
                    path,
                    name,
                )
            elif name.split(".")[0] in allowed:
                files = allowed[name.split(".")[0]]
                assert files is None or path.name in files, (path, name)
            else:
                assert name in sys.stdlib_module_names and name not in io_std, (path, name)
    for part in ("regulation", "equipment", "tic"):
        for path in (PACKAGE / part).rglob("*.py"):
            assert not any(n.startswith("pvopt.sim") for n in _imports(path)), path


@pytest.mark.parametrize(
    ("reason", "mode", "forced", "automatic"),
    [
        ("surplus: 1200 W", "AUTO", False, True),
        ("timer: on until 20:00", "AUTO", False, False),  # none's pump on its plain timer
        ("off-peak: contactor closed", "AUTO", False, False),
        ("forced: 30 min left", "AUTO", True, False),
        ("on: manual", "ON", False, False),
    ],
)
def test_only_the_regulation_s_own_choices_count_as_regulated(
    reason: str, mode: str, forced: bool, automatic: bool
) -> None:
    """What the controller's import is charged to: not a timer, a contactor or the user."""
    out = Output(
        name="pump",
        id="pump",
        power_w=750.0,
        on=True,
        mode=Mode[mode],
        forced=forced,
        reason=reason,
        energy_wh=0.0,
    )
    assert regulated_automatically(out) is automatic


def test_means_average_each_slot_the_last_one_over_what_is_left() -> None:
    assert means([1.0, 2.0, 3.0, 4.0, 10.0], 2) == (1.5, 3.5, 10.0)
    assert means([], 300) == ()


def test_a_run_that_forgets_its_past_records_the_same_future() -> None:
    """A long run graded day by day drops what it graded (Recording.forget_before): the
    steps and events kept, and everything recorded after, are those of a run that forgot
    nothing (a broken-cloud day cut at 14:00: pump and plug switched before the cut
    and after it)."""

    def house() -> House:
        return build("broken-clouds", 1, start_hour=10.0, end_hour=16.0, site=reference_site())

    whole, forgetful = house(), house()
    whole.run()
    cut = forgetful.start + 4 * 3600.0
    forgetful.run_until(cut + 1800.0)
    forgetful.recording.forget_before(cut)
    forgetful.run()
    a, b = whole.recording, forgetful.recording
    n = a.index(cut)
    assert b.start == pytest.approx(cut) and b.steps == a.steps - n > 0
    assert list(b.grid_w) == list(a.grid_w[n:])
    for name in a.names:
        assert list(b.drawn_w[name]) == list(a.drawn_w[name][n:]), name
        assert list(b.auto[name]) == list(a.auto[name][n:]), name
    assert list(b.tank_c["water_heater"]) == list(a.tank_c["water_heater"][n:])
    assert b.frames == [f for f in a.frames if f.received_at >= cut]
    for name in ("pool_pump", "plug"):
        after = [s for s in a.switches[name] if s.time >= cut]
        before = [s for s in a.switches[name] if s.time < cut][-2:]  # looked back at
        assert after and b.switches[name] == before + after, name
        assert b.output_at(name, cut + 1.0) == a.output_at(name, cut + 1.0), name
    assert kpi.compute(b, cut, b.end).export_wh == kpi.compute(a, cut, a.end).export_wh
