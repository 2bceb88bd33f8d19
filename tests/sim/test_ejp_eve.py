"""The day-ahead EJP signal in ``pvopt simulate``: the household hears the seeded
calendar's EJP day the evening before (pvopt/sim/ejp_signal.py), through the regulator
method the daemon calls, so the night before the mobile peak fills the tank and buys the
pump's run (reason ``…: mobile peak from 07:00``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, time, timedelta
from pathlib import Path

from pvopt.equipment.loader import load_site_config
from pvopt.equipment.model import Contract
from pvopt.regulation.core import Regulator
from pvopt.sim import scenarios
from pvopt.sim.simulate import Task, run_controller
from pvopt.tariff import generate_ejp_calendar

TEMPLATE = Path(__file__).resolve().parents[2] / "equipment_config.yml.template"


def test_the_simulated_eve_of_a_seeded_ejp_day_buys_for_the_mobile_peak() -> None:
    site = load_site_config(TEMPLATE, (time(2, 5), time(6, 50)))  # HC_START/END_TIME
    ejp = replace(
        site.tariff,
        contract=Contract.EJP,
        ejp_normal_price_eur_kwh=0.2,
        ejp_pm_price_eur_kwh=0.9,
    )
    site = replace(site, tariff=ejp)
    calendar = generate_ejp_calendar(2025, 1)  # the simulator's, seed 1
    peak = min(day for day in calendar.days if day >= date(2026, 1, 5))
    eve = peak - timedelta(days=1)
    scenario = replace(scenarios.SCENARIOS["winter"], day=eve)
    task = Task("pvopt", scenario, site, seed=1, days=2, policy=Regulator, keep_recording=True)
    run = run_controller(task)
    assert run.recording is not None
    said = {o.reason for outputs in run.recording.outputs.values() for o in outputs}
    eve_reasons = sorted(r for r in said if "mobile peak from 07:00" in r)
    assert any(r.startswith("heating off-peak: mobile peak from 07:00") for r in eve_reasons)
    assert any(r.startswith("run time: ") for r in eve_reasons), eve_reasons
