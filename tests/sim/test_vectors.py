"""The measures of a run judge every step at once with numpy, or one by one without it:
the figures must be the same to the last bit, on a simulated window that has a bit of
everything (exports, a tank at its limit, on/off starts and stops, a local midnight)."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from pvopt.equipment.loader import load_site_config
from pvopt.sim import kpi, scenarios, vectors
from pvopt.sim.house import House

TEMPLATE = Path(__file__).resolve().parents[2] / "equipment_config.yml.template"


@pytest.fixture(scope="module")
def house() -> House:
    """The shipped configuration under pvopt, from 11:00 to 01:00 the next day."""
    site = load_site_config(TEMPLATE, (time(22), time(6)))
    built = scenarios.build("broken-clouds", 1, start_hour=11, end_hour=25, site=site)
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
    assert fast == slow
    assert fast[0].missed_surplus_wh > 0
    assert fast[0].controller_import_wh > 0
    assert fast[0].trimming_frames > 0
