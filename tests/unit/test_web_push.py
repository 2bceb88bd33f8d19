"""When the live page gets a snapshot (pvopt/web/push.py), on a fake monotonic clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

from pvopt import topics
from pvopt.web.live import Live
from pvopt.web.push import BROKER_DOWN, BrokerState, PushSchedule, live_document

T0 = datetime(2026, 6, 14, 10, 0, tzinfo=UTC)


def test_nothing_changed_nothing_pushed_and_nothing_to_wake_for() -> None:
    schedule = PushSchedule(0.1)
    assert schedule.take(0.0) is False
    assert schedule.wait_s(0.0) is None


def test_the_first_change_after_a_quiet_spell_goes_out_at_once() -> None:
    schedule = PushSchedule(0.1)
    schedule.changed()
    assert schedule.wait_s(5.0) == 0.0
    assert schedule.take(5.0) is True
    assert schedule.take(5.0) is False  # counted as done
    schedule.changed()
    assert schedule.take(5.2) is True  # quiet for longer than the interval


def test_a_burst_of_changes_is_one_push_per_interval() -> None:
    schedule = PushSchedule(0.1)
    pushes = []
    now = 0.0
    # a change every 10 ms for one second (a backlog of messages delivered at once)
    for _ in range(100):
        schedule.changed()
        if schedule.take(now):
            pushes.append(now)
        now = round(now + 0.01, 3)
    assert len(pushes) == 10
    assert all(b - a >= 0.1 - 1e-9 for a, b in pairwise(pushes))


def test_a_change_within_the_interval_waits_for_its_end_and_is_not_lost() -> None:
    schedule = PushSchedule(0.1)
    schedule.changed()
    assert schedule.take(1.0) is True
    schedule.changed()
    assert schedule.take(1.03) is False
    assert schedule.pending
    assert abs(schedule.wait_s(1.03) - 0.07) < 1e-9  # type: ignore[operator]
    assert schedule.take(1.1) is True
    assert schedule.wait_s(1.1) is None


def test_a_reading_going_stale_is_pushed_with_no_message() -> None:
    schedule = PushSchedule(0.1)
    schedule.expires_at(10.0)
    assert schedule.wait_s(4.0) == 6.0
    assert schedule.take(9.99) is False
    assert schedule.take(10.0) is True
    assert schedule.wait_s(10.0) is None  # pushed once, not again and again


def test_an_expiry_right_after_a_push_waits_for_the_interval_but_is_kept() -> None:
    schedule = PushSchedule(0.1)
    schedule.changed()
    assert schedule.take(9.95) is True
    schedule.expires_at(10.0)
    assert schedule.take(10.0) is False
    assert abs(schedule.wait_s(10.0) - 0.05) < 1e-9  # type: ignore[operator]
    assert schedule.take(10.05) is True


def test_the_earlier_of_a_pending_change_and_an_expiry_wakes() -> None:
    schedule = PushSchedule(0.1)
    schedule.changed()
    schedule.take(0.0)
    schedule.changed()
    schedule.expires_at(0.05)
    assert schedule.wait_s(0.0) == 0.05
    schedule.expires_at(0.5)
    assert schedule.wait_s(0.0) == 0.1


def test_a_clock_gone_back_never_blocks_the_pushes() -> None:
    schedule = PushSchedule(0.1)
    schedule.changed()
    schedule.take(100.0)
    schedule.changed()
    assert schedule.take(50.0) is True


def test_the_broker_down_is_the_first_alert_and_says_since_when() -> None:
    live = Live(started=T0)
    now = T0 + timedelta(seconds=30)
    snapshot = live.snapshot(now)
    down = live_document(snapshot, BrokerState(False, T0 + timedelta(seconds=5)), now)
    assert down["alerts"] == [BROKER_DOWN, "meter_stale", "regulation_stale"]
    assert down["broker"] == {
        "state": "disconnected",
        "since": (T0 + timedelta(seconds=5)).isoformat(),
        "age_s": 25.0,
    }
    up = live_document(snapshot, BrokerState(True, T0), now)
    assert up["alerts"] == ["meter_stale", "regulation_stale"]
    assert up["broker"]["state"] == "connected"  # type: ignore[index]
    assert snapshot["alerts"] == ["meter_stale", "regulation_stale"]  # not changed in place
    assert set(up) == set(snapshot) | {"broker"}


def test_the_document_keeps_every_key_of_the_snapshot() -> None:
    live = Live(started=T0)
    live.update(topics.TELEINFO_STATUS, b"offline", T0)
    document = live_document(live.snapshot(T0), BrokerState(True, T0), T0)
    assert document["daemons"]["teleinfo"]["state"] == "offline"  # type: ignore[index]
    assert document["alerts"] == ["teleinfo_offline"]
