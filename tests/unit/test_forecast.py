"""The PV forecast document: parsing, refusals, staleness, energy queries (pvopt/forecast.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
from daemons import Published

from pvopt.config import Settings
from pvopt.daemons.power_regulation import RegulationDaemon
from pvopt.equipment.loader import parse_site_config
from pvopt.forecast import (
    PvForecast,
    Slot,
    SummaryCache,
    expected_energy_wh,
    from_openmeteo,
    parse_forecast,
    summary,
)
from pvopt.regulation.inputs import InputError
from pvopt.regulation.model import MeterSample

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 12, 6, 18, 0, tzinfo=UTC)
DAY_S = 86_400.0


def doc(slots: list[dict[str, object]], issued: str = "2026-12-06T18:00:00+01:00") -> bytes:
    return json.dumps({"issued": issued, "slots": slots}).encode()


def slot(start: str, power_w: object = 1000.0, duration_s: object = 900) -> dict[str, object]:
    return {"start": start, "duration_s": duration_s, "power_w": power_w}


def hourly(first: datetime, powers: list[float]) -> PvForecast:
    return PvForecast(
        first,
        tuple(Slot(first + timedelta(hours=n), 3600.0, p) for n, p in enumerate(powers)),
    )


def test_a_good_document_is_read_in_utc_and_in_order() -> None:
    forecast = parse_forecast(
        doc([slot("2026-12-07T10:00:00+01:00", 1234.5), slot("2026-12-07T10:15:00+01:00", 0)]),
        NOW,
    )
    assert forecast.issued == datetime(2026, 12, 6, 17, 0, tzinfo=UTC)
    assert forecast.slots == (
        Slot(datetime(2026, 12, 7, 9, 0, tzinfo=UTC), 900.0, 1234.5),
        Slot(datetime(2026, 12, 7, 9, 15, tzinfo=UTC), 900.0, 0.0),
    )
    # What the Open-Meteo client publishes reads back the same.
    assert parse_forecast(forecast.to_json().encode(), NOW) == forecast


T = "2026-12-07T10:00:00+01:00"
S0, S1 = r"slots\[0\]", r"slots\[1\]"
NAN = b'{"issued": "2026-12-06T18:00:00Z", "slots": [{"start": "2026-12-07T10:00:00Z", '


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"not json", "not a JSON document"),
        (NAN + b'"duration_s": 900, "power_w": NaN}]}', "NaN is not a number"),
        (NAN + b'"duration_s": 900, "power_w": Infinity}]}', "Infinity is not a number"),
        (b"[1, 2]", "expected a JSON object with issued and slots"),
        (b'{"slots": []}', "expected a JSON object with issued and slots"),
        (doc([], issued="yesterday"), "issued 'yesterday' is not an ISO-8601"),
        (doc([], issued="2026-12-06T18:00:00"), "needs a UTC offset"),
        (doc([], issued="2026-12-07T18:00:00+00:00"), "is in the future"),
        (b'{"issued": "2026-12-06T17:00:00Z", "slots": {}}', "slots must be a list"),
        (doc(["x"]), S0 + " must be an object"),
        (doc([slot(T, -1)]), S0 + ".power_w must be a number from 0 to 100000 W"),
        (doc([slot(T, 100_001)]), S0 + ".power_w must be a number"),
        (doc([slot(T, "12")]), S0 + ".power_w must be a number"),
        (doc([slot(T, True)]), S0 + ".power_w must be a number"),
        (doc([slot(T, 10**400)]), S0 + ".power_w must be a number"),
        (doc([slot(T, duration_s=0)]), S0 + ".duration_s must be a number from 60 to 86400 s"),
        (doc([slot("2026-12-07T10:00:00")]), S0 + ".start '2026-12-07T10:00:00' needs a UTC"),
        (doc([slot("2026-11-01T10:00:00Z")]), S0 + r" \(2026-11-01T10:00:00\+00:00\) is outside"),
        (doc([slot("2027-01-01T10:00:00Z")]), S0 + " .* is outside the window"),
        (doc([slot(T), slot("2026-12-07T10:10:00+01:00")]), S1 + " starts before the previous"),
        (doc([slot(T), slot("2026-12-07T09:00:00+01:00")]), S1 + " starts before"),
        (doc([slot(T)] * 1001), "1001 slots, at most 1000"),
        (b" " * 200_001, "more than 200000"),
    ],
)
def test_a_bad_document_is_refused_with_its_reason(payload: bytes, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_forecast(payload, NOW)


def test_energy_is_the_overlap_of_the_interval_with_each_slot() -> None:
    first = datetime(2026, 12, 7, 9, tzinfo=UTC)
    forecast = hourly(first, [1000.0, 2000.0, 500.0])
    assert forecast.energy_wh(first, first + timedelta(hours=3)) == 3500.0
    assert (
        forecast.energy_wh(first + timedelta(minutes=30), first + timedelta(hours=1, minutes=15))
        == 1000.0
    )
    assert forecast.energy_wh(first, first) == 0.0
    # Outside the forecast's span: unknown, not zero.
    assert forecast.energy_wh(first - timedelta(minutes=1), first + timedelta(hours=1)) is None
    assert forecast.energy_wh(first, first + timedelta(hours=3, seconds=1)) is None
    with pytest.raises(ValueError, match="ends"):
        forecast.energy_wh(first + timedelta(hours=1), first)


def test_a_gap_between_slots_is_no_sun_but_the_span_is_still_known() -> None:
    forecast = parse_forecast(
        doc([slot("2026-12-07T10:00:00Z", 1000, 3600), slot("2026-12-07T14:00:00Z", 1000, 3600)]),
        NOW,
    )
    start = datetime(2026, 12, 7, 10, tzinfo=UTC)
    assert forecast.energy_wh(start, start + timedelta(hours=5)) == 2000.0
    assert forecast.energy_wh(start + timedelta(hours=1), start + timedelta(hours=4)) == 0.0


def test_the_sun_covers_a_load_until_the_last_hour_whose_mean_power_does() -> None:
    """Hour means, not slots: a 15-minute dip under a passing cloud does not end the sun
    (a day-ahead forecast cannot know that cloud); the afternoon's fall does."""
    first = datetime(2026, 12, 7, 8, tzinfo=UTC)
    quarters = [200.0] * 4 + [1000.0] * 4 + [1200.0, 300.0, 1200.0, 1200.0]  # 08:00-11:00
    quarters += [900.0] * 4 + [700.0] * 4 + [0.0] * 8  # 11:00-15:00
    forecast = PvForecast(
        first,
        tuple(Slot(first + timedelta(minutes=15 * n), 900.0, p) for n, p in enumerate(quarters)),
    )
    end = first + timedelta(hours=7)
    # 10:00-11:00 averages 975 W despite its 300 W quarter; 11:00-12:00 is the last ≥ 750 W
    assert forecast.covered_until(750.0, first, end) == first + timedelta(hours=4)
    assert forecast.covered_until(750.0, first + timedelta(minutes=10, hours=3), end) == (
        first + timedelta(hours=4)
    )
    # 12:00-13:00 averages 700 W: past 12:00 no hour left covers 750 W (answer: now)
    later = first + timedelta(hours=4, minutes=5)
    assert forecast.covered_until(750.0, later, end) == later
    assert forecast.covered_until(700.0, later, end) == first + timedelta(hours=5)
    # hours reaching outside the span: unknown, not "no sun"
    assert forecast.covered_until(750.0, first, end + timedelta(hours=1)) is None


def test_a_stale_or_absent_forecast_is_unknown_never_zero() -> None:
    issued = datetime(2026, 12, 6, 18, tzinfo=UTC)
    forecast = hourly(issued, [1000.0] * 30)
    start, end = issued + timedelta(hours=1), issued + timedelta(hours=2)
    assert expected_energy_wh(forecast, start, end, issued + timedelta(hours=5), DAY_S) == 1000.0
    assert (
        expected_energy_wh(forecast, start, end, issued + timedelta(seconds=DAY_S), DAY_S) == 1000.0
    )
    assert forecast.stale(issued + timedelta(seconds=DAY_S + 1), DAY_S)
    assert expected_energy_wh(forecast, start, end, issued + timedelta(hours=25), DAY_S) is None
    assert expected_energy_wh(None, start, end, issued, DAY_S) is None


def test_today_and_tomorrow_are_local_days_on_a_dst_day() -> None:
    # 29 March 2026, Paris: 23 hours (00:00 CET = 28 March 23:00 UTC; 24:00 CEST = 22:00 UTC).
    first = datetime(2026, 3, 28, 23, tzinfo=UTC)
    forecast = hourly(first, [100.0] * 47)  # to 30 March 22:00 UTC, the end of that local day
    now = datetime(2026, 3, 29, 6, tzinfo=UTC)
    shown = summary(forecast, now, PARIS, DAY_S)
    assert shown == {
        "issued": "2026-03-28T23:00:00+00:00",
        "slots": 47,
        "stale": False,
        "energy_today_wh": 2300.0,  # 23 hours
        "energy_tomorrow_wh": 2400.0,
    }
    # A day after it was issued: shown, stale, and every figure unknown.
    later = summary(forecast, first + timedelta(days=1, seconds=1), PARIS, DAY_S)
    assert later is not None
    assert later["stale"] is True
    assert later["energy_today_wh"] is None and later["energy_tomorrow_wh"] is None
    assert summary(None, now, PARIS, DAY_S) is None


def test_the_status_recomputes_its_summary_only_when_it_can_change() -> None:
    """Each frame's status shows the summary: kept while the forecast, the local day and
    its staleness stay, recomputed (and the same as :func:`summary`) when one changes."""
    first = datetime(2026, 3, 28, 23, tzinfo=UTC)
    forecast, newer = hourly(first, [100.0] * 47), hourly(first, [200.0] * 47)
    cache = SummaryCache()
    now = datetime(2026, 3, 29, 6, tzinfo=UTC)
    shown = cache.summary(forecast, now, PARIS, DAY_S)
    assert shown == summary(forecast, now, PARIS, DAY_S)
    assert cache.summary(forecast, now + timedelta(hours=1), PARIS, DAY_S) is shown
    for when, which in (
        (now, newer),  # a new forecast
        (datetime(2026, 3, 29, 22, 30, tzinfo=UTC), newer),  # the next local day
        (first + timedelta(days=1, seconds=1), newer),  # gone stale
    ):
        again = cache.summary(which, when, PARIS, DAY_S)
        assert again is not shown and again == summary(which, when, PARIS, DAY_S)
        shown = again
    assert cache.summary(None, now, PARIS, DAY_S) is None


def test_the_status_shows_a_day_to_the_tenth_of_a_wh() -> None:
    first = datetime(2026, 12, 6, 22, 0, 0, 300_000, tzinfo=UTC)  # slots on a fraction of a s
    forecast = hourly(first, [500.0] * 30)
    tomorrow = datetime(2026, 12, 6, 23, tzinfo=UTC), datetime(2026, 12, 7, 23, tzinfo=UTC)
    assert forecast.energy_wh(*tomorrow) != 12_000.0  # the float sum is not exact
    shown = summary(forecast, first, PARIS, DAY_S)
    assert shown is not None and shown["energy_tomorrow_wh"] == 12_000.0


def test_open_meteo_irradiance_becomes_power_over_the_preceding_quarter_hour() -> None:
    t0 = int(datetime(2026, 12, 7, 12, tzinfo=UTC).timestamp())
    answer = {
        "minutely_15": {
            "time": [t0, t0 + 900, t0 + 1800, t0 + 2700],
            "global_tilted_irradiance": [500.0, -3.0, None, 1000.0],
        }
    }
    forecast = from_openmeteo(answer, NOW, peak_w=3000.0, performance_ratio=0.8, inverter_w=2000)
    assert forecast.issued == NOW
    assert forecast.slots == (
        Slot(datetime(2026, 12, 7, 11, 45, tzinfo=UTC), 900, 1200.0),  # 3000 × 0.5 × 0.8
        Slot(datetime(2026, 12, 7, 12, 0, tzinfo=UTC), 900, 0.0),  # a negative artefact
        Slot(datetime(2026, 12, 7, 12, 30, tzinfo=UTC), 900, 2000.0),  # the inverter's cap
    )


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ({"hourly": {}}, "no minutely_15"),
        ({"minutely_15": {"time": [1, 2]}}, "needs time and global_tilted_irradiance"),
        ({"minutely_15": {"time": [1], "global_tilted_irradiance": [1, 2]}}, "needs time"),
        ({"minutely_15": {"time": ["x"], "global_tilted_irradiance": [1]}}, "bad value"),
        ({"minutely_15": {"time": [1], "global_tilted_irradiance": [1e9]}}, "bad value"),
        ({"minutely_15": {"time": [10**30], "global_tilted_irradiance": [1]}}, "bad time"),
    ],
)
def test_a_bad_open_meteo_answer_is_refused(answer: object, message: str) -> None:
    with pytest.raises(InputError, match=message):
        from_openmeteo(answer, NOW, 3000.0, 0.85)


SITE = parse_site_config(
    "equipment:\n  - {type: VariablePowerEquipment, id: 1, name: radiator, max_power: 1000}\n"
)


def test_the_regulation_keeps_a_valid_forecast_and_shows_it_in_its_status(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = Published()
    daemon = RegulationDaemon(SITE, Settings(state_dir=tmp_path), cast(Any, out), None, True)
    handler = daemon.subscriptions()["regulation/forecast"]
    now = datetime.now(UTC)
    # Slots on fractional seconds: the day's sum is not exact in floats, the status's is.
    good = hourly(now - timedelta(hours=1, microseconds=1), [500.0] * 72)
    handler("regulation/forecast", good.to_json().encode())
    handler("regulation/forecast", b'{"issued": "soon", "slots": []}')  # refused, loses nothing
    assert "ignored: regulation/forecast: issued 'soon'" in caplog.text
    items = []
    while not daemon.events.empty():
        items.append(daemon.events.get_nowait())
    items.append(MeterSample(now, 0, 500))
    daemon.handle(items, now)
    assert daemon.forecast == good
    status = json.loads(out.messages[-1][1])
    assert status["forecast"]["slots"] == 72
    assert status["forecast"]["stale"] is False
    assert status["forecast"]["energy_tomorrow_wh"] == 12_000.0
