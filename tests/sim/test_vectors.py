"""The measures of a run judge every step at once with numpy, or one by one without it:
the figures must be the same to the last bit (Python 3.11: ``sum`` adds in order like
numpy's running sum; from 3.12 it compensates, so only to 1e-12 relative), on a
simulated window that has a bit of everything (exports, on/off starts and stops, a cold
tank, off-peak heating, a local midnight)."""

from __future__ import annotations

import math
import sys
from dataclasses import is_dataclass
from datetime import datetime, time, timedelta
from pathlib import Path

import pytest

from pvopt.equipment.loader import load_site_config
from pvopt.sim import kpi, report, scenarios, series, vectors, yardstick
from pvopt.sim.house import House

TEMPLATE = Path(__file__).resolve().parents[2] / "equipment_config.yml.template"


def same(fast: object, slow: object) -> bool:
    """Equal, floats to the last bit on Python 3.11 and to 1e-12 relative after."""
    if sys.version_info < (3, 12):
        return fast == slow
    if isinstance(fast, float) and isinstance(slow, float):
        return math.isclose(fast, slow, rel_tol=1e-12, abs_tol=1e-12)
    if is_dataclass(fast) and is_dataclass(slow):
        return same(vars(fast), vars(slow))
    if isinstance(fast, dict) and isinstance(slow, dict):
        return fast.keys() == slow.keys() and all(same(fast[k], slow[k]) for k in fast)
    if isinstance(fast, list | tuple) and isinstance(slow, list | tuple):
        return len(fast) == len(slow) and all(map(same, fast, slow))
    return fast == slow


@pytest.fixture(scope="module", params=["summer", "winter"])
def house(request: pytest.FixtureRequest) -> House:
    """The shipped configuration under pvopt over a local midnight: a May afternoon and
    evening (exports, the on/off loads started and stopped), or a winter afternoon and
    night with a cold tank (draws below temp_min, off-peak heating)."""
    site = load_site_config(TEMPLATE, (time(22), time(6)))
    if request.param == "summer":
        built = scenarios.build("broken-clouds", 1, start_hour=11, end_hour=25, site=site)
    else:
        built = scenarios.build(
            "winter", 1, start_hour=12, end_hour=31, site=site, tank_start_c=35.0
        )
    built.run()
    return built


def test_numpy_is_there_to_be_compared() -> None:
    assert vectors.available()


def test_the_kpis_are_the_same_with_and_without_numpy(
    house: House, monkeypatch: pytest.MonkeyPatch
) -> None:
    rec = house.recording
    windows = [(None, None), (rec.start + 3600.1, rec.start + 7 * 3600.0), (rec.end, None)]
    fast = [kpi.compute(house, a, b) for a, b in windows]
    monkeypatch.setattr(vectors, "available", lambda: False)
    slow = [kpi.compute(house, a, b) for a, b in windows]
    assert same(fast, slow)
    assert fast[0].missed_surplus_wh > 0
    assert fast[0].trimming_frames > 0


def test_the_yardstick_the_report_and_the_minutes_are_the_same_with_and_without_numpy(
    house: House, monkeypatch: pytest.MonkeyPatch
) -> None:
    rec = house.recording
    day = datetime.fromtimestamp(rec.start, scenarios.PARIS).date()
    tariff = yardstick.tariff_for(rec.site, scenarios.PARIS, day, day + timedelta(days=1), 1)
    prices = yardstick.price_series(tariff, rec.start, rec.end)

    def grade() -> tuple[list[float], list[float], report.RunReport, series.MinuteSeries]:
        total, days = yardstick.measure_days(house, prices, scenarios.PARIS)
        return (
            yardstick.usable_export_w(rec),
            yardstick.hot_water_shortfall_wh(house),
            report.run_report("pvopt", house, scenarios.PARIS, total, days),
            series.minute_series(house),
        )

    fast = grade()
    monkeypatch.setattr(vectors, "available", lambda: False)
    slow = grade()
    assert same(fast, slow)
    figures = fast[2]
    assert len(figures.days) == 2
    assert figures.usable_export_kwh and figures.import_eur
    if day.month in (11, 12, 1, 2):
        assert figures.hot_water_shortfall_kwh and figures.offpeak_grid_kwh
        assert any(fast[3].hot_water_l)
    else:
        assert any(e.starts for e in figures.equipment)
