"""An on/off load's ``daily_run_time``: a pool pump needing 4 h of filtration by 20:00 gets
what the sun did not give it from the grid, as late as still finishes it, and the day's run
time is counted, reset at local midnight and saved across restarts."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import houses
import pytest
from houses import PARIS, STEP_S, pool_pump

from pvopt.equipment.model import RegulationConfig, SiteConfig
from pvopt.regulation.calendar import span
from pvopt.regulation.core import Regulator
from pvopt.regulation.model import MeterSample, Mode
from pvopt.regulation.rules import duration
from pvopt.sim.baseline import OriginalRegulator

DAY = date(2026, 1, 15)
NEED_S = 4 * 3600.0
BASE_W = 300.0  # the house's own consumption, always


def at(hour: int, minute: int = 0, second: int = 0, day: date = DAY) -> datetime:
    return datetime.combine(day, time(hour, minute, second), tzinfo=PARIS)


@dataclass
class Day(houses.Day):
    """A house whose meter shows its base load plus the pump, minus the PV ``pv_w`` (none
    by default): one reading every STEP_S from 00:00, the pump's state and reason recorded
    after each."""

    now: datetime = field(default_factory=lambda: at(0))
    base_w: float = BASE_W


def regulator(min_on_s: float = 1800, min_off_s: float = 600) -> Regulator:
    """The shipped template's pool pump alone: 750 W, 4 h a day by 20:00."""
    pump = pool_pump(NEED_S, min_on_s=min_on_s, min_off_s=min_off_s)
    return Regulator(SiteConfig((pump,), RegulationConfig()), PARIS)


def latest_start(left_s: float) -> datetime:
    """The rule's latest start: the run left, 2 % longer and a minute more, before 20:00."""
    return at(20) - timedelta(seconds=left_s * 1.02 + 60)


@pytest.mark.parametrize("min_on_off_s", [1800.0, 0.0])
def test_a_cloudy_day_starts_the_pump_at_the_latest_start_and_runs_its_4_h_by_20_00(
    min_on_off_s: float,
) -> None:
    """Once started, it is held on until done: the latest start of the run left moves
    later as it runs (the margin shrinks), which must not stop it, even without min on /
    min off."""
    day = Day(regulator(min_on_off_s, min_on_off_s))
    day.run_until(at(23, 59))
    (start,) = day.starts()
    assert latest_start(NEED_S) <= start < latest_start(NEED_S) + timedelta(seconds=STEP_S)
    assert day.reason_at(start) == "run time: 4 h left by 20:00"
    assert re.fullmatch(r"run time: 1 h \d\d left by 20:00", day.reason_at(at(18, 30)))
    # importing all along, yet staging never stops it before its run is done
    assert all(on for t, on, _ in day.on if start <= t < at(19, 50))
    state = day.regulator.load("pool_pump")
    assert state is not None
    assert state.run_s == pytest.approx(NEED_S, abs=2 * STEP_S + 300)
    assert not day.on_at(at(20, 0))  # released once done, then stopped (no surplus)


def test_three_hours_of_morning_sun_leave_only_the_last_hour_to_the_grid() -> None:
    def sun(t: datetime) -> float:
        return 2000.0 if at(9, 30) <= t < at(13) else 0.0  # clear: started within a minute

    day = Day(regulator(), pv_w=sun)
    day.run_until(at(17))
    morning = day.starts()
    assert len(morning) == 1 and at(9, 30) < morning[0] < at(10, 15)
    state = day.regulator.load("pool_pump")
    assert state is not None
    ran_s = state.run_s
    assert 3.4 * 3600 < ran_s <= 3.5 * 3600  # the surplus's run counts toward the need
    assert not state.on
    day.run_until(at(23, 59))
    evening = day.starts()[1:]
    assert len(evening) == 1
    expected = latest_start(NEED_S - ran_s)
    assert expected <= evening[0] < expected + timedelta(seconds=STEP_S)
    assert state.run_s == pytest.approx(NEED_S, abs=2 * STEP_S + 300)


def test_manual_off_wins_and_back_in_auto_the_pump_starts_at_once() -> None:
    reg = regulator()
    day = Day(reg)
    reg.plant.set_mode("pool_pump", Mode.OFF, at(0))
    day.run_until(at(17))
    assert not day.on_at(at(16, 30)) and day.reason_at(at(16, 30)) == "off: manual"
    reg.plant.set_mode("pool_pump", Mode.AUTO, day.now)
    day.run_until(at(17, 1))
    assert day.on_at(at(17)) and day.reason_at(at(17)) == "run time: 4 h left by 20:00"


def test_after_20_00_an_unmet_need_is_no_longer_forced_and_the_reason_says_it() -> None:
    reg = regulator()
    day = Day(reg)
    reg.plant.set_mode("pool_pump", Mode.OFF, at(0))
    day.run_until(at(19))
    reg.plant.set_mode("pool_pump", Mode.AUTO, day.now)
    day.run_until(at(19, 59))
    assert day.on_at(at(19, 58))
    day.run_until(at(23, 59))
    assert not day.on_at(at(20, 30))  # the day's need is lost: staging stopped it
    # the hour to 20:00 ran, and a few minutes after it until staging stopped it
    assert re.fullmatch(r"off: .*; run time: 2 h 5\d short at 20:00", day.reason_at(at(21)))
    day.run_until(at(0, 5, day=DAY + timedelta(days=1)))
    assert "short" not in day.reason_at(at(0, 1, day=DAY + timedelta(days=1)))


def test_the_run_time_resets_at_local_midnight_and_survives_a_restart() -> None:
    reg = regulator()
    day = Day(reg, now=at(18))
    reg.plant.set_mode("pool_pump", Mode.ON, at(18))
    day.run_until(at(23, 30))
    state = reg.load("pool_pump")
    assert state is not None
    assert state.run_s == pytest.approx(5.5 * 3600, abs=STEP_S)
    saved = reg.export_counters()
    again = regulator()
    again.restore_counters(saved, at(23, 31))
    restored = again.load("pool_pump")
    assert restored is not None and restored.run_s == pytest.approx(5.5 * 3600, abs=STEP_S)
    old_format = {name: {k: v for k, v in c.items() if k != "run_s"} for name, c in saved.items()}
    older = regulator()
    older.restore_counters(old_format, at(23, 31))
    assert older.load("pool_pump").run_s == 0  # type: ignore[union-attr]
    tomorrow = regulator()
    tomorrow.restore_counters(saved, at(0, 1, day=DAY + timedelta(days=1)))
    assert tomorrow.load("pool_pump").run_s == 0  # type: ignore[union-attr]
    day.run_until(at(0, 30, day=DAY + timedelta(days=1)))
    assert state.run_s == pytest.approx(30 * 60, abs=STEP_S)  # from 00:00, not yesterday's


def test_the_original_algorithm_does_not_get_the_run_time_rule() -> None:
    original = OriginalRegulator(SiteConfig((pool_pump(NEED_S),), RegulationConfig()), PARIS)
    for hour in (16, 18, 19):
        t = at(hour, 30)
        assert original.evaluate(MeterSample(t, int(BASE_W), 0), t).outputs[0].power_w == 0


@pytest.mark.parametrize(
    ("seconds", "text"), [(45, "45 s"), (600, "10 min"), (3600, "1 h"), (6000, "1 h 40")]
)
def test_durations_read_in_hours_and_minutes(seconds: float, text: str) -> None:
    assert duration(seconds) == text


@pytest.mark.parametrize("seconds", [0.0, 60.0, 1234.5678915, 14_748.0, 86_400.25, -3.5])
def test_the_run_time_lead_remembered_is_the_timedelta_it_stands_for(seconds: float) -> None:
    """calendar.span, which the run-time rules ask each frame, is timedelta(seconds=…)
    to the microsecond (rounded as timedelta rounds), the first time and the next."""
    assert span(seconds) == timedelta(seconds=seconds)
    assert span(seconds) == timedelta(seconds=seconds)
