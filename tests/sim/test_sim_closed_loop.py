"""The real regulation core in the simulated house, against ``research/peers.md`` §14.

Each test builds the house it needs (reference site, reference day, seed 1) and measures
with :mod:`pvopt.sim.kpi`. Where the core misses a target, the test keeps the target and
is marked ``xfail(strict=True)`` with the measured figures in its reason: it turns into a
failure (XPASS) as soon as the core meets the target, so the marker must then go.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pvopt.regulation.probing import CUT_FIRST_RELEASE_S
from pvopt.sim import kpi
from pvopt.sim.equipment import DimmerLoad, Draw
from pvopt.sim.house import House
from pvopt.sim.scenarios import HEATER_W, SCENARIOS, build, reference_site

DAYS = list(SCENARIOS)
TARGET = -20.0
KETTLE_W = 2000.0
KETTLE_S = 50.0
STEPS = 15

CORE_STEP_FRAMES = (
    "core: over 15 kettles a +2 kW step stays 3–7 frames outside ±50 W (back after 5.6–9.9 s) "
    "and a −2 kW step 3–7 frames (4.5–9.7 s), target ≤ 3. Not reachable on every step with "
    "this meter: benchmarks/bench_step_bound.py shows that even a controller knowing when "
    "each frame was measured needs 4 frames for ~5 % of step phases; without that "
    "knowledge a 2 kW correction must be placed within 25 ms of the frame's window"
)


def _print(*lines: object) -> None:
    print("\n" + "\n".join(str(line) for line in lines))


# -- ±2 kW household steps ----------------------------------------------------------------


@pytest.fixture(scope="module")
def kettle() -> tuple[House, list[float]]:
    """Fifteen kettles (2 kW for 50 s, every 100 s) between 10:40 and 11:05 on a clear
    June morning, the water heater alone and not saturated (surplus ≈ 2.1–2.3 kW), at
    varied phases with respect to the meter frames."""
    site = reference_site(temp_driven=False, onoff_loads=False)
    house = build(
        "clear-summer",
        start_hour=10.5,
        end_hour=11.1,
        site=site,
        appliances=False,
        hot_water=False,
        tank_start_c=30.0,
    )
    ons = [house.start + 10 * 60 + n * 100 + n * 0.37 for n in range(STEPS)]
    for t in ons:
        house.base.add(t, t + KETTLE_S, KETTLE_W, "kettle")
    house.run()
    return house, ons


def _responses(kettle: tuple[House, list[float]], sign: int) -> list[kpi.StepResponse]:
    house, ons = kettle
    times = ons if sign > 0 else [t + KETTLE_S for t in ons]
    return [kpi.step_response(house, t, band_w=50, horizon_s=KETTLE_S - 5) for t in times]


def test_the_kettle_steps_happen_with_dimmer_headroom(kettle: tuple[House, list[float]]) -> None:
    house, ons = kettle
    rec = house.recording
    # and a kettle is never mistaken for a heater that stopped drawing
    assert all(not reason.startswith("testing") for *_, reason in rec.outputs["water_heater"])
    for t in ons:
        before = rec.drawn_w["water_heater"][rec.index(t - 1)]
        # room to shed 2 kW, and to take them back after the kettle
        assert KETTLE_W + 50 <= before <= HEATER_W - 50, before
        # its thermostat stays closed through the kettle: the dimmer can take power back
        able = rec.able["water_heater"][rec.index(t - 1) : rec.index(t + 2 * KETTLE_S)]
        assert len(able) > 0 and all(able)


@pytest.mark.parametrize(
    "sign",
    [
        pytest.param(+1, id="+2kW", marks=pytest.mark.xfail(strict=True, reason=CORE_STEP_FRAMES)),
        pytest.param(-1, id="-2kW", marks=pytest.mark.xfail(strict=True, reason=CORE_STEP_FRAMES)),
    ],
)
def test_a_2kw_step_is_back_within_50w_in_3_frames(
    kettle: tuple[House, list[float]], sign: int
) -> None:
    responses = _responses(kettle, sign)
    _print(
        f"{sign * 2:+d} kW steps: frames out of ±50 W "
        f"{[r.frames_out for r in responses]}, back after (s) "
        f"{[None if r.recovery_s is None else round(r.recovery_s, 1) for r in responses]}"
    )
    assert all(r.recovered and r.frames_out <= 3 for r in responses)


@pytest.mark.parametrize(
    "sign",
    [
        pytest.param(+1, id="+2kW"),
        pytest.param(-1, id="-2kW"),
    ],
)
def test_a_2kw_step_imports_at_most_2wh(kettle: tuple[House, list[float]], sign: int) -> None:
    """A +2 kW step imports until the dimmer has shed it: ≤ 2 Wh. A −2 kW step cannot
    import; its cost is on the other side, the surplus exported until the dimmer takes it
    back: held to the same 2 Wh, else a controller slow to take power back would pass."""
    responses = _responses(kettle, sign)
    _print(
        f"{sign * 2:+d} kW steps: import (Wh) {[round(r.import_wh, 2) for r in responses]}, "
        f"export beyond target (Wh) {[round(r.excess_export_wh, 2) for r in responses]}"
    )
    assert all(r.import_wh <= 2.0 for r in responses)
    if sign < 0:
        assert all(r.excess_export_wh <= 2.0 for r in responses)


# -- steady sun ---------------------------------------------------------------------------


def test_steady_sun_keeps_the_error_p95_within_60w() -> None:
    """Clear June day, no appliance steps, 11:00–14:00, water heater trimming (not
    saturated: the pool pump ahead of it takes 1 kW; the tank starts cold so that
    neither the probe nor its thermostat stops it)."""
    house = build(
        "clear-summer",
        start_hour=10.75,
        end_hour=14.0,
        site=reference_site(temp_driven=False),
        appliances=False,
        hot_water=False,
        tank_start_c=25.0,
    )
    house.run()
    start = house.start + 15 * 60
    k = kpi.compute(house, start, house.end)
    rec = house.recording
    heater = rec.drawn_w["water_heater"][rec.index(start) :]
    trimming = sum(1 for w in heater if 50 < w < HEATER_W - 50) / len(heater)
    _print(
        f"steady sun: p50 {k.error_p50_w} W, p95 {k.error_p95_w} W, "
        f"10 s p95 {k.error_10s_p95_w:.1f} W, mean {k.error_mean_w:.1f} W, "
        f"heater trimming {100 * trimming:.1f} % of the time",
        k.summary(),
    )
    heater_load = house.loads[1]
    assert isinstance(heater_load, DimmerLoad) and heater_load.tank is not None
    assert trimming >= 0.99 and not heater_load.tank.cuts
    assert k.error_p95_w is not None and k.error_p95_w <= 60


# -- broken clouds ------------------------------------------------------------------------


def test_broken_clouds_miss_at_most_2_percent_of_pv(
    reference_day: Callable[[str], House],
) -> None:
    house = reference_day("broken-clouds")
    k = kpi.compute(house)
    _print(k.summary())
    _assert_regulating(house, k)
    assert k.missed_surplus_pct_pv <= 2.0


def test_broken_clouds_import_while_diverting_stays_below_the_original_algorithms(
    reference_day: Callable[[str], House],
) -> None:
    """Issue #3 asked for at most 3 % of the diverted energy imported while a load draws.
    Since issue #15 a pool pump still short of its run time may import during a cloud the
    share of its power that its run left needs of the time left (the rest would be bought
    at its latest start, at the same price): 5.2 % here instead of 2.0 %, for an adjusted
    cost of 1.32 € instead of 1.59 € (``pvopt simulate --scenario broken-clouds``: 86 %
    of the achievable saving instead of 72 %). The euros are graded there; this bound
    still fails a regulation that imports as carelessly as the original algorithm
    (6.95 % on this day) or more."""
    house = reference_day("broken-clouds")
    k = kpi.compute(house)
    _assert_regulating(house, k)
    assert k.controller_import_pct_diverted <= 6.0


def _assert_regulating(house: House, k: kpi.Kpis) -> None:
    """Both KPIs leave out what a router does not attempt (safe steps, nothing diverted):
    a core stuck in its safe state would score 0 %. The reference day has no outage, and
    its surplus goes into the loads."""
    assert not any(house.recording.safe)
    assert k.diverted_wh >= 0.3 * k.pv_wh
    assert all(k.loads[name].starts >= 1 for name in ("pool_pump", "plug"))


# -- on/off loads -------------------------------------------------------------------------


@pytest.mark.parametrize("day", DAYS)
def test_on_off_loads_start_at_most_6_times_a_day(
    reference_day: Callable[[str], House], day: str
) -> None:
    k = kpi.compute(reference_day(day))
    starts = {name: load.starts for name, load in k.loads.items() if name in ("pool_pump", "plug")}
    _print(f"{day}: starts {starts}")
    assert all(n <= 6 for n in starts.values())
    # ...and they do start where the sun leaves a surplus: some on the sunny days (20 kWh
    # +), the plug none on a winter day (~3 kWh of PV: winter, and the seasonal sky's 5
    # January), where the pool pump starts once, from the grid, for its 4 h of run time
    sunny = k.pv_wh >= 10_000
    assert all(n >= 1 for n in starts.values()) if sunny else starts == {"pool_pump": 1, "plug": 0}


@pytest.mark.parametrize("day", DAYS)
def test_on_off_loads_never_violate_min_on_or_min_off(
    reference_day: Callable[[str], House], day: str
) -> None:
    k = kpi.compute(reference_day(day))
    for name in ("pool_pump", "plug"):
        load = k.loads[name]
        _print(
            f"{day} {name}: shortest on {load.shortest_on_s} s, "
            f"shortest off {load.shortest_off_s} s"
        )
        assert load.min_on_violations == 0 and load.min_off_violations == 0


# -- stale meter data ---------------------------------------------------------------------


def test_stale_meter_data_sheds_every_output_within_1s_of_the_timeout() -> None:
    house = build(
        "clear-summer",
        start_hour=12.0,
        end_hour=12.5,
        site=reference_site(temp_driven=False),
        appliances=False,
        hot_water=False,
        tank_start_c=40.0,
    )
    house.run_until(house.start + 900)
    rec = house.recording
    assert rec.drawn_w["pool_pump"][-1] > 0 and rec.drawn_w["water_heater"][-1] > 500
    cut = house.now
    house.meter.outage(cut, cut + 60)  # the frames stop for a minute
    house.run_until(cut + 60)
    last = max(f.received_at for f in rec.frames if f.received_at < cut + 60)
    deadline = last + house.regulator.cfg.stale_timeout_s + 1.0
    shed = [t for t, reason in rec.safe_decisions if reason == "stale meter data"]
    _print(f"stale: last frame at t0, safe decision at t0 + {shed[0] - last:.2f} s")
    assert shed and shed[0] <= deadline
    for name in rec.names:  # every output commanded to 0 / off...
        entry = rec.output_at(name, deadline)
        assert entry is not None and entry[1] == 0 and not entry[2]
        # ...and every load really drawing nothing from then on, until frames come back
        drawn = rec.drawn_w[name][rec.index(deadline) : rec.index(cut + 60)]
        assert max(drawn) == 0
    house.run_until(cut + 90)  # frames are back: the regulation resumes
    assert rec.drawn_w["water_heater"][-1] > 500
    assert not house.regulator.safe


# -- thermostat cut -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hour", "tank_c"),
    [
        pytest.param(8.75, 64.6, id="heater-at-850W"),
        pytest.param(10.25, 64.3, id="heater-at-1900W"),
    ],
)
def test_a_thermostat_cut_passes_the_share_to_the_next_load_and_is_probed_again(
    hour: float, tank_c: float
) -> None:
    """The water heater (no probe: the regulation only sees the meter) heats a tank
    close to its 65 °C thermostat, a towel radiator waits behind it. When the thermostat
    opens, the radiator must take the share within a few frames (≤ 10 frames ≈ 12 s:
    two probe rounds, the transfer and a trim, each followed by the 2 s settle time);
    after thermostat_probe_interval the heater is tried again — by then a shower cooled
    the tank, the thermostat closed, and it must take the power back."""
    site = reference_site(temp_driven=False, radiator=True, onoff_loads=False)
    house = build(
        "clear-summer",
        start_hour=hour,
        end_hour=hour + 1,
        site=site,
        appliances=False,
        hot_water=False,
        tank_start_c=tank_c,
    )
    heater = house.loads[0]
    assert isinstance(heater, DimmerLoad) and heater.tank is not None
    tank = heater.tank
    while not tank.cuts and house.now < house.start + 1800:
        house.run_until(house.now + 10)
    assert tank.cuts, "the thermostat never opened"
    cut = tank.cuts[0]
    tank.draws.add(Draw(cut + 300, cut + 600, 8.0))  # a 40 L shower
    house.run_until(cut + 60)
    rec = house.recording
    share = rec.drawn_w["water_heater"][rec.index(cut - 1)]
    response = kpi.step_response(house, cut, band_w=50, horizon_s=40)
    radiator_w = rec.drawn_w["radiator"][rec.index(cut + 40)]
    verdicts = [t for t, _, _, r in rec.outputs["water_heater"] if r == "full: thermostat cut"]
    _print(
        f"thermostat cut with the heater at {share:.0f} W: frames out of ±50 W "
        f"{response.frames_out}, back after {response.recovery_s} s, radiator at "
        f"{radiator_w:.0f} W after 40 s, heater verdict after "
        f"{[round(t - cut, 1) for t in verdicts[:1]]} s, "
        f"export beyond target {response.excess_export_wh:.2f} Wh"
    )
    assert 500 <= share <= HEATER_W
    assert response.recovered and response.frames_out <= 10
    assert radiator_w >= 0.8 * share
    assert verdicts, "the regulation never noticed that the heater draws nothing"
    # Probed again later: released for CUT_FIRST_RELEASE_S, then 2×, 4× … up to
    # thermostat_probe_interval while the thermostat stays open.
    first_retry = verdicts[0] + CUT_FIRST_RELEASE_S
    last_retry = verdicts[0] + house.regulator.cfg.thermostat_probe_s
    house.run_until(last_retry + 60)
    assert tank.closes and tank.closes[0] < last_retry  # the shower closed it
    early = rec.drawn_w["water_heater"][rec.index(verdicts[0] + 5) : rec.index(first_retry - 5)]
    later = rec.drawn_w["water_heater"][rec.index(tank.closes[0]) : rec.index(last_retry + 60)]
    _print(f"retried: heater draws up to {max(later):.0f} W once its thermostat closed")
    assert max(early) == 0  # released until the first retry...
    assert max(later) >= 500  # ...and it takes power again once the tank has cooled


# -- energy balance and reproducibility -------------------------------------------------------


@pytest.mark.parametrize("day", DAYS)
def test_the_energy_balance_closes_on_every_reference_day(
    reference_day: Callable[[str], House], day: str
) -> None:
    house = reference_day(day)
    k = kpi.compute(house)
    counters_wh, counters_pct = kpi.counter_balance(house)
    heater = house.loads[1]
    assert isinstance(heater, DimmerLoad) and heater.tank is not None
    tank = heater.tank
    _print(f"== {day}", k.summary(), f"counters balance {counters_wh:.6f} Wh")
    assert k.frames > 60_000  # a whole day of frames
    assert house.recording.command_mismatches == 0  # every device was sent what it draws
    assert k.balance_error_pct <= 0.1  # the bound
    # The model is exact: the independent counters (meter registers, each load's own)
    # close to float rounding, so a counter off by far less than 0.1 % shows.
    assert counters_pct <= 1e-6
    assert abs(tank.balance_error_wh()) <= 1e-6 * max(tank.heat_in_wh, 1.0)
    # the tank's heat in is what the heater drew
    assert tank.heat_in_wh == pytest.approx(heater.energy_wh, rel=1e-9)
    for name, load in zip(house.recording.names, house.loads, strict=True):
        assert k.loads[name].energy_wh == pytest.approx(load.energy_wh, rel=1e-6), name


def test_the_same_seed_gives_the_same_kpis() -> None:
    """The random streams follow the seed: clouds, base load, meter timing."""

    def once(seed: int) -> tuple[House, kpi.Kpis]:
        house = build("broken-clouds", seed, start_hour=11.0, end_hour=11.5)
        house.run()
        return house, kpi.compute(house)

    (first_house, first), (_, again), (other_house, other) = once(7), once(7), once(8)
    assert first == again
    assert first.pv_wh != other.pv_wh  # clouds
    assert first.base_wh != other.base_wh  # base load
    frames = [h.recording.frames[0].measured_at for h in (first_house, other_house)]
    assert frames[0] != frames[1]  # meter timing
