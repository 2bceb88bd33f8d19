"""teleinfo's decoder counts on tic/stats (pvopt.tic.counts): the frame rate over the
last minute, the payload, and how pvopt web reads it back."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from pvopt.regulation.inputs import InputError
from pvopt.tic.counts import CountsReport, FrameRate, TicCounts, counts_document, parse_counts

T0 = datetime(2026, 6, 14, 10, 0, tzinfo=UTC)
COUNTS = TicCounts("standard", 4810, 3, 17, 15, 2, 49)


def test_the_frame_rate_counts_the_last_minute_only() -> None:
    rate = FrameRate()
    for n in range(60):
        rate.add(n * 1.2)  # a Linky in standard mode: 50 a minute
    assert rate.per_minute(60.0) == 50
    assert rate.per_minute(60.0 + 71.0) == 0  # the meter went silent


def test_the_payload_reads_back_as_it_was_said() -> None:
    payload = counts_document(COUNTS, T0).encode()
    assert parse_counts("tic/stats", payload, T0 + timedelta(seconds=1)) == CountsReport(T0, COUNTS)
    late = parse_counts("tic/stats", payload, T0 - timedelta(seconds=3))
    assert late.time == T0 - timedelta(seconds=3)  # never timed after its arrival


@pytest.mark.parametrize(
    "change",
    [
        {"mode": "turbo"},
        {"time": "10:00"},
        {"frames_rejected": -1},
        {"groups_rejected": "17"},
        {"frames_per_minute": 1.5},
        {"checksum_errors": None},
    ],
)
def test_a_malformed_payload_is_refused_with_its_reason(change: dict[str, object]) -> None:
    doc = {**json.loads(counts_document(COUNTS, T0)), **change}
    with pytest.raises(InputError, match="tic/stats"):
        parse_counts("tic/stats", json.dumps(doc).encode(), T0)
