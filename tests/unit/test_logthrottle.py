"""A flood of one bad message gives two log lines a minute, not one per message."""

from __future__ import annotations

import logging

import pytest

from pvopt.logthrottle import Throttle

LOG = logging.getLogger("test.throttle")


def _lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOG.name]


def test_the_first_occurrence_is_logged_at_once_then_one_count_per_window(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    throttle = Throttle(LOG, window_s=60.0)
    for i in range(40_000):  # 4,000 messages/s for 10 s
        throttle.report("tic/frame", f"ignored: junk #{i}", i / 4000)
    assert _lines(caplog) == ["ignored: junk #0"]
    throttle.flush(59.9)
    assert len(_lines(caplog)) == 1
    throttle.flush(60.0)
    assert _lines(caplog)[1] == (
        "tic/frame: 39999 more in the last 60 s (the first: ignored: junk #0)"
    )
    throttle.flush(200.0)  # nothing more to say
    throttle.report("tic/frame", "ignored: again", 200.0)
    assert _lines(caplog)[2:] == ["ignored: again"]


def test_each_key_has_its_own_window_and_a_lone_message_gets_no_count(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    throttle = Throttle(LOG, logging.INFO, window_s=10.0)
    throttle.report("a", "first a", 0.0)
    throttle.report("b", "first b", 1.0)
    throttle.report("a", "second a", 2.0)
    throttle.report("a", "third a", 12.0)  # a new window: the old one's count first
    throttle.flush(100.0)
    assert _lines(caplog) == [
        "first a",
        "first b",
        "a: 1 more in the last 10 s (the first: first a)",
        "third a",
    ]
    assert {r.levelno for r in caplog.records} == {logging.INFO}
