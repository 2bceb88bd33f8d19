"""The hours a plain timer runs an on/off load (``daily_run_time``, ``latest_end``,
``timer_start``; :mod:`pvopt.equipment.model`): the window as local wall-clock times, and
the instants it switches on and off on a local day, across DST changes (Europe/Paris:
2026-03-29 02:00 → 03:00, 2026-10-25 03:00 → 02:00)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from pvopt.equipment.model import (
    MIDNIGHT,
    Command,
    ConstantPowerConfig,
    TimerWindow,
    UnknownPowerConfig,
    local_instant,
    timer_window,
)

PARIS = ZoneInfo("Europe/Paris")
SUMMER = date(2026, 6, 21)  # UTC+2
WINTER = date(2026, 1, 15)  # UTC+1
SPRING = date(2026, 3, 29)  # 23 h: 02:00 CET is 03:00 CEST (01:00 UTC)
AUTUMN = date(2026, 10, 25)  # 25 h: 03:00 CEST is 02:00 CET (01:00 UTC)
H = 3600.0


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# -- the window ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("run_s", "latest_end", "start", "expected"),
    [
        (4 * H, time(20, 0), None, (time(16, 0), time(20, 0))),  # default: as late as it can
        (4 * H, time(20, 0), time(10, 0), (time(10, 0), time(14, 0))),
        (4 * H, time(20, 0), time(16, 0), (time(16, 0), time(20, 0))),  # ends at latest_end
        (4 * H, MIDNIGHT, None, (time(20, 0), MIDNIGHT)),  # 00:00 is the end of the day
        (4 * H, MIDNIGHT, time(9, 0), (time(9, 0), time(13, 0))),
        (24 * H, MIDNIGHT, None, (MIDNIGHT, MIDNIGHT)),  # the whole day
        (H, time(1, 0), None, (MIDNIGHT, time(1, 0))),
        (5400.0, time(7, 15), None, (time(5, 45), time(7, 15))),
        (90.0, time(6, 0), None, (time(5, 58, 30), time(6, 0))),
    ],
)
def test_the_window_runs_daily_run_time_by_latest_end(
    run_s: float, latest_end: time, start: time | None, expected: tuple[time, time]
) -> None:
    window = timer_window(run_s, latest_end, start)
    assert window == TimerWindow(*expected)
    assert window is not None and window.length_s == run_s


def test_an_opportunistic_load_has_no_timer() -> None:
    assert timer_window(0.0, time(20, 0)) is None
    assert timer_window(0.0, time(20, 0), time(10, 0)) is None


@pytest.mark.parametrize(
    ("run_s", "latest_end", "start"),
    [
        (4 * H, time(20, 0), time(16, 1)),  # ends at 20:01
        (4 * H, MIDNIGHT, time(22, 0)),  # would cross midnight
        (9 * H, time(8, 0), None),  # does not fit before 08:00
        (60.0, time(6, 0), time(7, 0)),  # starts after latest_end
    ],
)
def test_a_timer_that_does_not_end_by_latest_end_is_refused(
    run_s: float, latest_end: time, start: time | None
) -> None:
    with pytest.raises(ValueError, match="does not end by latest_end"):
        timer_window(run_s, latest_end, start)


def test_a_window_must_end_after_it_starts() -> None:
    with pytest.raises(ValueError, match="end must come after the start"):
        TimerWindow(time(16, 0), time(16, 0))
    with pytest.raises(ValueError, match="end must come after the start"):
        TimerWindow(time(16, 0), time(10, 0))
    assert str(TimerWindow(time(16, 0), MIDNIGHT)) == "16:00–00:00"
    assert str(TimerWindow(time(5, 58, 30), time(6, 0))) == "05:58:30–06:00"


def test_both_on_off_configs_give_their_window() -> None:
    pump = ConstantPowerConfig(
        name="pump",
        id="pump",
        command=Command("plug/pump/in"),
        nominal_power_w=750,
        daily_run_s=4 * H,
        latest_end=time(20, 0),
    )
    plug = UnknownPowerConfig(
        name="plug",
        id="plug",
        command=Command("plug/plug/in"),
        daily_run_s=2 * H,
        timer_start=time(11, 0),
    )
    assert pump.timer_window() == TimerWindow(time(16, 0), time(20, 0))
    assert plug.timer_window() == TimerWindow(time(11, 0), time(13, 0))


# -- when it switches ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "window", "on", "off"),
    [
        (SUMMER, (time(16, 0), time(20, 0)), utc(2026, 6, 21, 14), utc(2026, 6, 21, 18)),
        (WINTER, (time(16, 0), time(20, 0)), utc(2026, 1, 15, 15), utc(2026, 1, 15, 19)),
        # 00:00 as the end: the midnight that ends the local day
        (SUMMER, (time(20, 0), MIDNIGHT), utc(2026, 6, 21, 18), utc(2026, 6, 21, 22)),
        (WINTER, (time(20, 0), MIDNIGHT), utc(2026, 1, 15, 19), utc(2026, 1, 15, 23)),
        (WINTER, (MIDNIGHT, MIDNIGHT), utc(2026, 1, 14, 23), utc(2026, 1, 15, 23)),
        # DST days: a window clear of the change keeps its real length...
        (SPRING, (time(16, 0), time(20, 0)), utc(2026, 3, 29, 14), utc(2026, 3, 29, 18)),
        (AUTUMN, (time(16, 0), time(20, 0)), utc(2026, 10, 25, 15), utc(2026, 10, 25, 19)),
        # ...ending at midnight too (the day before spring's change, the day of autumn's)
        (date(2026, 3, 28), (time(20, 0), MIDNIGHT), utc(2026, 3, 28, 19), utc(2026, 3, 28, 23)),
        (AUTUMN, (time(20, 0), MIDNIGHT), utc(2026, 10, 25, 19), utc(2026, 10, 25, 23)),
        # one spanning the change follows the wall clock: 3 h in spring, 5 h in autumn
        (SPRING, (time(1, 0), time(5, 0)), utc(2026, 3, 29, 0), utc(2026, 3, 29, 3)),
        (AUTUMN, (time(1, 0), time(5, 0)), utc(2026, 10, 24, 23), utc(2026, 10, 25, 4)),
        # the whole day: 23 h, 25 h
        (SPRING, (MIDNIGHT, MIDNIGHT), utc(2026, 3, 28, 23), utc(2026, 3, 29, 22)),
        (AUTUMN, (MIDNIGHT, MIDNIGHT), utc(2026, 10, 24, 22), utc(2026, 10, 25, 23)),
        # a time the clocks skip switches at the jump (03:00 CEST), a repeated one at its
        # first occurrence (02:30 CEST)
        (SPRING, (time(2, 30), time(6, 30)), utc(2026, 3, 29, 1), utc(2026, 3, 29, 4, 30)),
        (SPRING, (time(0, 30), time(2, 30)), utc(2026, 3, 28, 23, 30), utc(2026, 3, 29, 1)),
        (AUTUMN, (time(2, 30), time(6, 30)), utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 5, 30)),
        (AUTUMN, (time(0, 30), time(2, 30)), utc(2026, 10, 24, 22, 30), utc(2026, 10, 25, 0, 30)),
    ],
)
def test_the_timer_switches_by_the_local_wall_clock(
    day: date, window: tuple[time, time], on: datetime, off: datetime
) -> None:
    assert TimerWindow(*window).bounds(day, PARIS) == (on, off)


def test_every_wall_clock_minute_of_a_dst_day_maps_to_its_first_instant() -> None:
    """Each HH:MM of the two change days, and of an ordinary one: the instant at which the
    wall clock first shows it or later (never before it, the first such instant)."""
    for day in (SPRING, AUTUMN, SUMMER):
        for minute in range(0, 24 * 60, 5):
            clock = time(minute // 60, minute % 60)
            naive = datetime.combine(day, clock)
            instant = local_instant(day, clock, PARIS)
            assert instant.tzinfo is UTC
            assert instant.astimezone(PARIS).replace(tzinfo=None) >= naive
            before = (instant - timedelta(seconds=1)).astimezone(PARIS).replace(tzinfo=None)
            assert before < naive, (day, clock)


def test_a_skipped_midnight_is_the_jump() -> None:
    """Where DST skips 00:00 (Santiago, 2026-09-06: 00:00 -04 → 01:00 -03), the local day
    starts at the jump."""
    santiago = ZoneInfo("America/Santiago")
    jump = local_instant(date(2026, 9, 6), MIDNIGHT, santiago)
    assert jump == utc(2026, 9, 6, 4)
    assert jump.astimezone(santiago).time() == time(1, 0)
