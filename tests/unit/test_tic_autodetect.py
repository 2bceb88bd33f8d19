"""The ``--mode auto`` search (pvopt.tic.autodetect.ModeSearch) as a time series.

The state machine is pure: it is told how many valid groups arrived and when (a plain
float standing for ``time.monotonic()``), and answers with an event. Each test replays a
timeline of observations on that fake clock.
"""

from __future__ import annotations

import pytest

from pvopt.tic.autodetect import LOST_AFTER_S, TRY_WINDOW_S, Event, ModeSearch, State
from pvopt.tic.decoder import Mode

T0 = 1000.0  # an arbitrary monotonic origin
STEP = 0.5  # the reader observes about twice a second
EPS = 1e-6
STANDARD_WINDOW = TRY_WINDOW_S[Mode.STANDARD]
HISTORIC_WINDOW = TRY_WINDOW_S[Mode.HISTORIC]


def silence(search: ModeSearch, start: float, end: float) -> list[tuple[float, Event]]:
    """Observe "no valid group" every STEP seconds in [start, end]; the events, timed."""
    events: list[tuple[float, Event]] = []
    steps = round((end - start) / STEP)
    for i in range(steps + 1):
        now = start + i * STEP
        event = search.observe(0, now)
        if event is not None:
            events.append((now, event))
    return events


def test_the_spec_constants() -> None:
    """Windows cover a partial plus a whole frame at each speed; 10 s is CPT_54E §9.4.1."""
    assert STANDARD_WINDOW == 4.0
    assert HISTORIC_WINDOW == 7.0
    assert LOST_AFTER_S == 10.0


def test_auto_mode_starts_searching_in_standard() -> None:
    search = ModeSearch(None, T0)
    assert search.fixed is None
    assert search.mode is Mode.STANDARD
    assert search.state is State.SEARCHING


def test_auto_mode_stays_in_standard_until_its_window_has_elapsed() -> None:
    search = ModeSearch(None, T0)
    assert silence(search, T0, T0 + STANDARD_WINDOW - STEP) == []
    assert search.observe(0, T0 + STANDARD_WINDOW - EPS) is None
    assert search.mode is Mode.STANDARD


def test_auto_mode_switches_to_historic_after_the_standard_window() -> None:
    search = ModeSearch(None, T0)
    assert search.observe(0, T0 + STANDARD_WINDOW) is Event.SWITCH
    assert search.mode is Mode.HISTORIC
    assert search.state is State.SEARCHING


def test_auto_mode_alternates_with_each_modes_own_window() -> None:
    """standard 4 s → historic 7 s → standard 4 s → historic …, as long as nothing is valid."""
    search = ModeSearch(None, T0)
    events = silence(search, T0, T0 + 2 * (STANDARD_WINDOW + HISTORIC_WINDOW))
    switch_1 = T0 + STANDARD_WINDOW
    switch_2 = switch_1 + HISTORIC_WINDOW
    switch_3 = switch_2 + STANDARD_WINDOW
    switch_4 = switch_3 + HISTORIC_WINDOW
    assert events == [
        (switch_1, Event.SWITCH),
        (switch_2, Event.SWITCH),
        (switch_3, Event.SWITCH),
        (switch_4, Event.SWITCH),
    ]
    assert search.mode is Mode.STANDARD
    assert search.state is State.SEARCHING


def test_the_historic_window_is_measured_from_the_switch() -> None:
    search = ModeSearch(None, T0)
    switched_at = T0 + STANDARD_WINDOW + 1.3  # the reader was late to observe
    assert search.observe(0, switched_at) is Event.SWITCH
    assert search.observe(0, switched_at + HISTORIC_WINDOW - EPS) is None
    assert search.mode is Mode.HISTORIC
    assert search.observe(0, switched_at + HISTORIC_WINDOW) is Event.SWITCH
    assert search.mode is Mode.STANDARD


def test_valid_groups_while_searching_lock_the_mode_found() -> None:
    search = ModeSearch(None, T0)
    assert search.observe(0, T0 + STANDARD_WINDOW) is Event.SWITCH
    assert search.observe(12, T0 + STANDARD_WINDOW + 2.0) is Event.FOUND
    assert search.mode is Mode.HISTORIC
    assert search.state is State.LOCKED


def test_found_is_reported_once_then_valid_frames_are_silent() -> None:
    search = ModeSearch(None, T0)
    assert search.observe(3, T0 + 1.0) is Event.FOUND
    for i in range(1, 40):
        assert search.observe(5, T0 + 1.0 + i * STEP) is None
    assert search.state is State.LOCKED
    assert search.mode is Mode.STANDARD


def test_once_locked_silence_shorter_than_lost_after_changes_nothing() -> None:
    """Gaps below 10 s (a slow frame, a burst of noise) never leave the mode."""
    search = ModeSearch(None, T0)
    search.observe(1, T0)
    now = T0
    for _ in range(5):
        assert silence(search, now + STEP, now + LOST_AFTER_S - STEP) == []
        now += LOST_AFTER_S - STEP
        assert search.observe(1, now) is None
    assert search.state is State.LOCKED
    assert search.mode is Mode.STANDARD


def test_locked_becomes_lost_after_ten_seconds_and_searches_the_other_mode() -> None:
    search = ModeSearch(None, T0)
    last_valid = T0 + 2.0
    search.observe(1, T0 + 1.0)
    search.observe(1, last_valid)
    assert search.observe(0, last_valid + LOST_AFTER_S - EPS) is None
    assert search.observe(0, last_valid + LOST_AFTER_S) is Event.LOST
    assert search.state is State.SEARCHING
    assert search.mode is Mode.HISTORIC  # the meter may have been switched remotely


def test_after_lost_the_other_modes_window_starts_at_the_loss() -> None:
    search = ModeSearch(None, T0)
    search.observe(1, T0)
    lost_at = T0 + LOST_AFTER_S
    assert search.observe(0, lost_at) is Event.LOST
    events = silence(search, lost_at + STEP, lost_at + HISTORIC_WINDOW + STANDARD_WINDOW)
    assert events == [
        (lost_at + HISTORIC_WINDOW, Event.SWITCH),
        (lost_at + HISTORIC_WINDOW + STANDARD_WINDOW, Event.SWITCH),
    ]
    assert search.mode is Mode.HISTORIC


def test_a_locked_historic_meter_lost_searches_standard_next() -> None:
    search = ModeSearch(None, T0)
    search.observe(0, T0 + STANDARD_WINDOW)  # → historic
    search.observe(4, T0 + 6.0)
    assert search.mode is Mode.HISTORIC
    assert search.observe(0, T0 + 6.0 + LOST_AFTER_S) is Event.LOST
    assert search.mode is Mode.STANDARD
    assert search.observe(7, T0 + 17.0) is Event.FOUND
    assert search.state is State.LOCKED


def test_restart_window_resets_the_search_window() -> None:
    """Time spent without a port (reopen with backoff) does not count against a mode."""
    search = ModeSearch(None, T0)
    assert search.observe(0, T0 + 3.0) is None
    search.restart_window(T0 + 30.0)  # the port came back after 27 s
    assert search.observe(0, T0 + 30.0 + STANDARD_WINDOW - EPS) is None
    assert search.mode is Mode.STANDARD
    assert search.observe(0, T0 + 30.0 + STANDARD_WINDOW) is Event.SWITCH
    assert search.mode is Mode.HISTORIC


def test_restart_window_also_resets_the_lost_timer() -> None:
    search = ModeSearch(None, T0)
    search.observe(1, T0)
    search.restart_window(T0 + 9.0)
    assert search.observe(0, T0 + 9.0 + LOST_AFTER_S - EPS) is None
    assert search.state is State.LOCKED
    assert search.observe(0, T0 + 9.0 + LOST_AFTER_S) is Event.LOST


@pytest.mark.parametrize("mode", list(Mode))
def test_a_fixed_mode_starts_locked_in_that_mode(mode: Mode) -> None:
    search = ModeSearch(mode, T0)
    assert search.fixed is mode
    assert search.mode is mode
    assert search.state is State.LOCKED


@pytest.mark.parametrize("mode", list(Mode))
def test_a_fixed_mode_never_switches_goes_silent_then_found_again(mode: Mode) -> None:
    search = ModeSearch(mode, T0)
    events = silence(search, T0, T0 + 120.0)
    assert events == [(T0 + LOST_AFTER_S, Event.LOST)]  # reported once, no SWITCH ever
    assert search.state is State.SILENT
    assert search.mode is mode
    assert search.observe(3, T0 + 121.0) is Event.FOUND
    assert search.state is State.LOCKED
    assert search.mode is mode
    # and it can go silent again, still without switching
    assert silence(search, T0 + 121.5, T0 + 121.0 + LOST_AFTER_S) == [
        (T0 + 121.0 + LOST_AFTER_S, Event.LOST)
    ]
    assert search.mode is mode


def test_no_event_without_elapsed_time() -> None:
    """Observing twice at the same instant, or before the window, never switches."""
    search = ModeSearch(None, T0)
    for _ in range(100):
        assert search.observe(0, T0) is None
    assert search.mode is Mode.STANDARD
