"""The day-ahead EJP signal (``regulation/ejp``, pvopt/ejp.py): what a payload says or why
it is refused, and when a simulated household hears it (pvopt/sim/ejp_signal.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from pvopt.ejp import EjpDay, parse_ejp, summary
from pvopt.regulation.inputs import InputError
from pvopt.sim.ejp_signal import Announcement, announcements
from pvopt.tariff import EjpCalendar

PARIS = ZoneInfo("Europe/Paris")


@pytest.mark.parametrize(
    ("payload", "day"),
    [
        (b'{"date": "2026-01-15", "ejp": true}', EjpDay(date(2026, 1, 15), True)),
        (b'{"ejp": false, "date": "2026-01-16"}', EjpDay(date(2026, 1, 16), False)),
    ],
)
def test_a_payload_says_whether_a_local_date_has_a_mobile_peak(payload: bytes, day: EjpDay) -> None:
    assert parse_ejp(payload) == day
    assert parse_ejp(day.to_json().encode()) == day  # what the simulator would publish


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"junk", "not a JSON document"),
        (b"true", "expected a JSON object"),
        (b'{"date": "2026-01-15"}', "expected a JSON object"),
        (b'{"date": "2026-01-15", "ejp": true, "more": 1}', "expected a JSON object"),
        (b'{"date": "2026-01-15", "ejp": 1}', "ejp must be true or false"),
        (b'{"date": "2026-01-15", "ejp": "false"}', "ejp must be true or false"),
        (b'{"date": "15/01/2026", "ejp": true}', "date must be YYYY-MM-DD"),
        (b'{"date": "2026-02-30", "ejp": true}', "date must be YYYY-MM-DD"),
        (b'{"date": "2026-01-15T07:00", "ejp": true}', "date must be YYYY-MM-DD"),
        (b'{"date": 20260115, "ejp": true}', "date must be YYYY-MM-DD"),
        (b" " * 300, "more than 256"),
    ],
)
def test_a_bad_payload_is_refused_with_its_reason_never_taken_as_no_ejp(
    payload: bytes, reason: str
) -> None:
    with pytest.raises(InputError, match=f"regulation/ejp: .*{reason}"):
        parse_ejp(payload)


def test_a_simulated_household_hears_each_day_the_evening_before_and_the_first_at_once() -> None:
    calendar = EjpCalendar(frozenset({date(2026, 1, 6)}))
    start = datetime(2026, 1, 5, tzinfo=PARIS).timestamp()
    end = datetime(2026, 1, 7, tzinfo=PARIS).timestamp()
    said = announcements(calendar, start, end, PARIS)
    assert said == [
        Announcement(start, EjpDay(date(2026, 1, 5), False)),
        Announcement(
            datetime(2026, 1, 5, 20, tzinfo=PARIS).timestamp(), EjpDay(date(2026, 1, 6), True)
        ),
        Announcement(
            datetime(2026, 1, 6, 20, tzinfo=PARIS).timestamp(), EjpDay(date(2026, 1, 7), False)
        ),
    ]


def test_a_run_starting_after_the_announcement_hears_tomorrow_at_its_start() -> None:
    start = datetime(2026, 1, 5, 21, 30, tzinfo=UTC).timestamp()
    end = datetime(2026, 1, 6, 12, tzinfo=UTC).timestamp()
    days = [a.day.day for a in announcements(EjpCalendar(), start, end, PARIS) if a.at_s == start]
    assert days == [date(2026, 1, 5), date(2026, 1, 6)]


def test_the_status_says_today_and_tomorrow_as_announced_by_local_date() -> None:
    told = {date(2027, 1, 14): False, date(2027, 1, 15): True}
    paris = ZoneInfo("Europe/Paris")
    evening = datetime(2027, 1, 14, 22, 30, tzinfo=UTC)  # 23:30 in Paris, still the 14th
    assert summary(told, evening, paris) == {"today": False, "tomorrow": True}
    after_midnight = datetime(2027, 1, 14, 23, 30, tzinfo=UTC)  # 00:30 on the 15th
    assert summary(told, after_midnight, paris) == {"today": True, "tomorrow": None}
