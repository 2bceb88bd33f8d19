"""A broken-cloud hour does not make the on/off loads flap (issue #15).

PV alternates between ~3.5 kW in the sun and ~0.8 kW under a cloud, each spell lasting
30 s to 5 min (seeded), the household drawing 400 W. A 2.4 kW heater behind a plain
dimmer comes first (no need of its own: it gives way), then a 750 W pump and a 300 W
plug, both with the default min on / min off (5 min). The loads are staged on their
averaged budget: over the hour each starts at most twice, never sooner after a stop
than min off nor stops sooner after a start than min on.

The PV series is a hand-made "recording" replayed by the simulated house
(:class:`~pvopt.sim.replay.RecordedDay`): the real core, the averaging meter a frame
late, the devices behind their commands.
"""

from __future__ import annotations

import random
from datetime import date

import pytest

from pvopt.equipment.model import Command, ConstantPowerConfig, SiteConfig, VariablePowerConfig
from pvopt.sim import kpi
from pvopt.sim.house import House
from pvopt.sim.pv import Sky
from pvopt.sim.replay import RecordedDay
from pvopt.sim.scenarios import Scenario, build, local_time, reference_site

DAY = date(2026, 5, 12)
HOUR_S = 3600.0
BASE_W = 400.0
SUN_W = 3500.0
CLOUD_W = 800.0
MAX_STARTS = 2
SEEDS = (1, 2, 3, 4)


def broken_cloud_pv(seed: int, start: float, end: float) -> tuple[list[float], list[float]]:
    """(times, PV W): spells of sun (~3.5 kW) and cloud (~0.8 kW) of 30 s to 5 min, each
    level a little uneven, the edges crossing the array in 3–10 s."""
    rng = random.Random(f"broken-cloud-hour:{seed}")
    times, pv = [start], [SUN_W]
    t, sunny = start, rng.random() < 0.5
    while t < end:
        level = SUN_W * rng.uniform(0.95, 1.03) if sunny else CLOUD_W * rng.uniform(0.85, 1.15)
        t += rng.uniform(3.0, 10.0)  # the edge
        times.append(t)
        pv.append(level)
        t += rng.uniform(30.0, 300.0)  # the spell
        times.append(t)
        pv.append(level)
        sunny = not sunny
    return times, pv


def site(**regulation: float) -> SiteConfig:
    """The heater, then the pump, then the plug; the reference regulation (−20 W target),
    ``regulation`` overriding its fields."""
    min_s = {"min_on_s": 300.0, "min_off_s": 300.0}
    equipment = (
        VariablePowerConfig(
            name="heater", id="heater", command=Command("scr/heater/in"), max_power_w=2400.0
        ),
        ConstantPowerConfig(
            name="pump", id="pump", command=Command("plug/pump/in"), nominal_power_w=750.0, **min_s
        ),
        ConstantPowerConfig(
            name="plug", id="plug", command=Command("plug/plug/in"), nominal_power_w=300.0, **min_s
        ),
    )
    return SiteConfig(equipment, reference_site(**regulation).regulation)


def hour(seed: int, **regulation: float) -> House:
    """The hour from 12:00 on 12 May, simulated."""
    start = local_time(DAY, 12.0)
    times, pv = broken_cloud_pv(seed, start, start + HOUR_S)
    load = [BASE_W] * len(times)
    recording = RecordedDay(
        source=f"broken-cloud hour, seed {seed}",
        times=tuple(times),
        grid_w=tuple(b - p for b, p in zip(load, pv, strict=True)),
        pv_w=tuple(pv),
        load_w=tuple(load),
    )
    scenario = Scenario(
        "broken-cloud-hour",
        DAY,
        Sky.BROKEN,
        tank_start_c=50.0,
        description="PV between 3.5 and 0.8 kW in spells of 30 s to 5 min",
        hot_water=False,
        replay=recording,
    )
    house = build(scenario, seed, start_hour=12.0, end_hour=13.0, site=site(**regulation))
    house.run()
    return house


def starts(house: House) -> dict[str, kpi.LoadKpi]:
    """The pump's and the plug's figures over the hour, printed."""
    k = kpi.compute(house)
    rec = house.recording
    sunny = sum(1 for w in rec.pv_w if w > 2000) / len(rec.pv_w)
    loads = {name: k.loads[name] for name in ("pump", "plug")}
    print(
        f"\nsun {sunny:.0%} of the hour; "
        + "; ".join(
            f"{name}: {load.starts} starts, shortest on {load.shortest_on_s} s, off "
            f"{load.shortest_off_s} s, switches "
            f"{[(round(s.time - house.start), s.on) for s in rec.switches[name]]}"
            for name, load in loads.items()
        )
    )
    assert house.end - house.start == pytest.approx(HOUR_S, abs=1)
    assert 0.3 <= sunny <= 0.7  # a broken sky, not a sunny or a grey hour
    return loads


@pytest.mark.parametrize("seed", SEEDS)
def test_a_broken_cloud_hour_starts_each_on_off_load_at_most_twice(seed: int) -> None:
    """The defaults: the plug, covered even under a cloud (400 W of surplus), starts once
    its averaged budget allows and stays on; the pump, which every cloud would leave
    importing ~45 % of its power, is held back by start_max_import (5 %)."""
    loads = starts(hour(seed))
    for name, load in loads.items():
        assert load.starts <= MAX_STARTS, name
        assert load.min_on_violations == 0 and load.min_off_violations == 0, name
    assert loads["plug"].starts >= 1  # staging does run them: it is no hour of nothing


def test_a_broken_cloud_hour_with_the_import_tolerance_raised_starts_each_load_at_most_twice() -> (
    None
):
    """With start_max_import and stop_max_import raised to 0.5 (what start_max_import's
    description invites for broken-cloud days) each run is stopped at min on once a
    cloud lasts; before staging remembered its stops, pump and plug then restarted
    start_delay later, up to 4 times an hour (seed 1: 4 and 4). Each stop of the last
    hour now makes the next start wait start_delay once more."""
    tolerant = {"start_max_import": 0.5, "stop_max_import": 0.5}
    counts = {}
    for seed in SEEDS:
        loads = starts(hour(seed, **tolerant))
        for name, load in loads.items():
            assert load.min_on_violations == 0 and load.min_off_violations == 0, name
        counts[seed] = {name: load.starts for name, load in loads.items()}
    assert any(n >= 1 for c in counts.values() for n in c.values())
    assert all(n <= MAX_STARTS for c in counts.values() for n in c.values()), counts
