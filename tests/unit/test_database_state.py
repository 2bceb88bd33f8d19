"""The database's state on MQTT (pvopt.database_state): what a daemon says of its Influx
writer, when it says it, and how pvopt web reads it back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pvopt.database_state import (
    MIN_INTERVAL_S,
    DatabaseReport,
    DatabaseState,
    ReportSchedule,
    parse_state,
    state_document,
)
from pvopt.regulation.inputs import InputError

T0 = datetime(2026, 6, 14, 10, 0, tzinfo=UTC)
UP = DatabaseState(True, 0, 0, 0)
DOWN = DatabaseState(False, 120, 0, 0)
TOPIC = "pvopt/teleinfo/database"


def test_the_first_state_is_published_and_an_unchanged_one_never() -> None:
    schedule = ReportSchedule()
    assert schedule.due(UP, 0.0)
    assert not schedule.due(UP, 0.5)
    assert not schedule.due(UP, 3600.0)


def test_the_database_going_away_or_coming_back_is_published_at_once() -> None:
    schedule = ReportSchedule()
    schedule.due(UP, 0.0)
    assert schedule.due(DOWN, 0.1)
    assert schedule.due(UP, 0.2)


def test_growing_counts_are_published_at_most_every_few_seconds() -> None:
    schedule = ReportSchedule()
    schedule.due(DOWN, 0.0)
    more = DatabaseState(False, 130, 0, 0)
    assert not schedule.due(more, MIN_INTERVAL_S - 0.1)
    assert schedule.due(more, MIN_INTERVAL_S)
    assert not schedule.due(DatabaseState(False, 140, 0, 0), MIN_INTERVAL_S + 1)


def test_after_a_reconnection_the_state_is_published_again() -> None:
    schedule = ReportSchedule()
    schedule.due(UP, 0.0)
    schedule.forget()
    assert schedule.due(UP, 0.1)


def test_the_payload_reads_back_as_it_was_said() -> None:
    state = DatabaseState(False, 1200, 30, 4)
    assert state.waiting_points == 1230
    payload = state_document(state, T0).encode()
    assert parse_state(TOPIC, payload, T0 + timedelta(seconds=1)) == DatabaseReport(T0, state)
    # a time after the arrival (clocks that disagree) is the arrival
    assert parse_state(TOPIC, payload, T0 - timedelta(seconds=5)).time == T0 - timedelta(seconds=5)


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"[]",
        b'{"time": "2026-06-14T10:00:00+00:00", "reachable": "yes", "spool_points": 0, '
        b'"memory_points": 0, "dropped_points": 0}',
        b'{"time": "10:00", "reachable": true, "spool_points": 0, "memory_points": 0, '
        b'"dropped_points": 0}',
        b'{"time": "2026-06-14T10:00:00+00:00", "reachable": true, "spool_points": -1, '
        b'"memory_points": 0, "dropped_points": 0}',
        b'{"time": "2026-06-14T10:00:00+00:00", "reachable": true, "spool_points": 1.5, '
        b'"memory_points": 0, "dropped_points": 0}',
        b'{"time": "2026-06-14T10:00:00+00:00", "reachable": true, "spool_points": 0, '
        b'"memory_points": 0}',
    ],
)
def test_a_malformed_payload_is_refused_with_its_reason(payload: bytes) -> None:
    with pytest.raises(InputError, match=TOPIC):
        parse_state(TOPIC, payload, T0)
