"""The history view's pure part: which local day, which InfluxQL, and the answers shaped.

The answers are written as InfluxDB 1.x answers them (``epoch=s``); the same statements
run against a real influxd in tests/integration/test_web_history.py.
"""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from pvopt.web import history, i18n, pages

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)  # 10:00 in Paris


def answer(columns: list[str], rows: list[list[Any]], **tags: str) -> dict[str, Any]:
    """One statement's result holding one series."""
    series: dict[str, Any] = {"name": "m", "columns": ["time", *columns], "values": rows}
    if tags:
        series["tags"] = tags
    return {"statement_id": 0, "series": [series]}


def many(*found: dict[str, Any]) -> dict[str, Any]:
    """One statement's result holding several series (GROUP BY a tag)."""
    return {"statement_id": 0, "series": [s for f in found for s in f["series"]]}


def at(day: date, hour: int, minute: int = 0, fold: int = 0) -> int:
    """Epoch seconds of a Paris wall-clock time (``fold=1``: the second 02:30 in October)."""
    local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS, fold=fold)
    return int(local.timestamp())


# -- which day ------------------------------------------------------------------------------


def test_without_a_date_the_day_is_today_in_the_houses_zone_not_utcs() -> None:
    late = datetime(2026, 12, 6, 23, 30, tzinfo=UTC)  # already the 7th in Paris
    assert history.parse_date(None, late, PARIS) == date(2026, 12, 7)


def test_today_and_the_30_days_before_it_may_be_asked_for_and_no_other() -> None:
    assert history.parse_date("2026-12-07", NOW, PARIS) == date(2026, 12, 7)
    assert history.parse_date("2026-11-07", NOW, PARIS) == date(2026, 11, 7)
    for day in ("2026-11-06", "2026-12-08", "1970-01-01"):
        with pytest.raises(history.BadRequest, match="date: from 2026-11-07 to 2026-12-07 only"):
            history.parse_date(day, NOW, PARIS)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "date: expected YYYY-MM-DD"),
        ("today", "date: expected YYYY-MM-DD"),
        ("2026-12-7", "date: expected YYYY-MM-DD"),
        ("2026-12-07T00:00", "date: expected YYYY-MM-DD"),
        ("2026-12-07' OR 1=1", "date: expected YYYY-MM-DD"),
        ("２０２６-１２-０７", "date: expected YYYY-MM-DD"),  # other digits than ASCII
        ("2026-02-29", "date: no such day"),
        ("2026-13-01", "date: no such day"),
    ],
)
def test_a_malformed_date_is_refused_with_its_reason(text: str, reason: str) -> None:
    with pytest.raises(history.BadRequest) as refused:
        history.parse_date(text, NOW, PARIS)
    assert refused.value.reason == reason


def test_the_count_of_days_is_a_whole_number_from_1_to_31() -> None:
    assert history.parse_count(None) == 30
    assert [history.parse_count(t) for t in ("1", "31", "07")] == [1, 31, 7]
    for text in ("0", "32", "-1", "1.5", "", " 3", "1e1", "9999"):
        with pytest.raises(history.BadRequest, match="n: a whole number of days from 1 to 31"):
            history.parse_count(text)


# -- which statements -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "hours", "start"),
    [
        (date(2026, 3, 29), 23, "2026-03-28T23:00:00Z"),  # spring forward
        (date(2026, 6, 21), 24, "2026-06-20T22:00:00Z"),
        (date(2026, 10, 25), 25, "2026-10-24T22:00:00Z"),  # fall back
    ],
)
def test_a_day_is_the_houses_local_day_of_23_24_or_25_hours(
    day: date, hours: int, start: str
) -> None:
    query = history.day_query(day, PARIS)
    assert query.buckets == hours * 12  # 5-minute buckets: 276, 288, 300 (≤ 300 points)
    assert query.end - query.start == timedelta(hours=hours)
    end = (query.end).strftime("%Y-%m-%dT%H:%M:%SZ")
    for statement in query.statements:
        assert f"time >= '{start}' AND time < '{end}'" in statement
        assert "GROUP BY time(300s)" in statement


def test_the_axis_is_labelled_every_three_local_hours_across_a_change_of_time() -> None:
    spring = history.day_query(date(2026, 3, 29), PARIS)
    labels = [t.label for t in history.ticks(spring.start, spring.end, PARIS)]
    assert labels == ["00:00", "03:00", "06:00", "09:00", "12:00", "15:00", "18:00", "21:00"]
    autumn = history.day_query(date(2026, 10, 25), PARIS)
    marks = history.ticks(autumn.start, autumn.end, PARIS)
    assert [t.label for t in marks][:3] == ["00:00", "03:00", "06:00"]
    # 03:00 comes 4 hours after midnight that day (02:00–03:00 twice)
    assert marks[1].at_s - marks[0].at_s == 4 * 3600


def test_the_days_are_read_hourly_and_a_zone_off_the_hour_reads_quarter_hours() -> None:
    assert history.days_query(history.last_days(30, NOW, PARIS), PARIS).bucket_s == 3600
    india = history.days_query(
        history.last_days(3, NOW, ZoneInfo("Asia/Kolkata")), ZoneInfo("Asia/Kolkata")
    )
    assert india.bucket_s == 900
    query = history.days_query(history.last_days(3, NOW, PARIS), PARIS)
    assert query.days == (date(2026, 12, 5), date(2026, 12, 6), date(2026, 12, 7))
    assert "time >= '2026-12-04T23:00:00Z' AND time < '2026-12-07T23:00:00Z'" in query.statements[0]


# -- a day's curves -------------------------------------------------------------------------

DAY = date(2026, 12, 6)


def day_answers(
    meter: dict[str, Any] | None = None,
    regulation: dict[str, Any] | None = None,
    equipment: dict[str, Any] | None = None,
) -> list[object]:
    empty = {"statement_id": 0}
    return [meter or empty, regulation or empty, equipment or empty]


def curves(results: list[object], day: date = DAY) -> dict[str, history.Line]:
    query = history.day_query(day, PARIS)
    shaped = history.day_history(query, results, NOW, PARIS)
    return {line.key: line for line in shaped.lines}


def test_grid_is_drawn_minus_injected_and_a_bucket_without_frames_is_a_gap() -> None:
    meter = answer(
        ["drawn", "papp", "injected"],
        [[at(DAY, 12), 0.0, None, 1500.0], [at(DAY, 12, 10), 300.0, None, None]],
    )
    grid = curves(day_answers(meter=meter))["grid"].values
    noon = 12 * 12
    assert grid[noon] == -1500.0
    assert grid[noon + 1] is None  # 12:05: nothing stored, never 0
    assert grid[noon + 2] == 300.0  # no SINSTI (a consumer's meter): what it drew
    assert sum(v is not None for v in grid) == 2


def test_a_historic_meter_s_papp_stands_for_sinsts() -> None:
    meter = answer(["drawn", "papp", "injected"], [[at(DAY, 8), None, 640.0, None]])
    assert curves(day_answers(meter=meter))["grid"].values[8 * 12] == 640.0


def test_pv_is_the_surplus_never_below_zero_and_absent_without_any_data() -> None:
    regulation = answer(["surplus_w"], [[at(DAY, 12), 2500.0], [at(DAY, 20), -300.0]])
    lines = curves(day_answers(regulation=regulation))
    assert lines["pv"].values[12 * 12] == 2500.0
    assert lines["pv"].values[20 * 12] == 0.0  # the house took more than the PV: no surplus
    assert "grid" not in lines  # no frame at all that day: no line, not a flat zero


def test_each_load_has_its_power_and_temperature_lines_after_the_power_ones() -> None:
    equipment = many(
        answer(["power_w", "temperature_c"], [[at(DAY, 13), 1000.0, 55.0]], name="water_heater"),
        answer(["power_w", "temperature_c"], [[at(DAY, 13), 500.0, None]], name="dryer"),
    )
    meter = answer(["drawn", "papp", "injected"], [[at(DAY, 13), 0.0, None, 200.0]])
    shaped = curves(day_answers(meter=meter, equipment=equipment))
    assert list(shaped) == ["grid", "load:dryer", "load:water_heater", "temperature:water_heater"]
    assert shaped["temperature:water_heater"].unit == "°C"
    assert shaped["temperature:water_heater"].values[13 * 12] == 55.0
    assert shaped["load:dryer"].name == "dryer" and shaped["load:dryer"].values[13 * 12] == 500.0


def test_points_outside_the_day_and_malformed_rows_are_left_out() -> None:
    meter = answer(
        ["drawn", "papp", "injected"],
        [
            [at(DAY, 0) - 300, 999.0, None, None],  # the evening before
            [at(DAY + timedelta(days=1), 0), 999.0, None, None],  # the day after
            ["2026-12-06T12:00:00Z", 999.0, None, None],  # not epoch seconds
            [at(DAY, 9), True, None, None],  # not a number
            [at(DAY, 10), 100.0, None, None],
        ],
    )
    grid = curves(day_answers(meter=meter))["grid"].values
    assert [v for v in grid if v is not None] == [100.0]
    assert history.series_of("nonsense") == []
    assert history.series_of({"series": [{"columns": "x"}, 3]}) == []


def test_the_document_lists_one_value_per_bucket_on_a_25_hour_day() -> None:
    autumn = date(2026, 10, 25)
    meter = answer(
        ["drawn", "papp", "injected"],
        [[at(autumn, 2, 30), 100.0, None, None], [at(autumn, 2, 30, fold=1), 200.0, None, None]],
    )
    query = history.day_query(autumn, PARIS)
    doc = history.day_document(history.day_history(query, day_answers(meter=meter), NOW, PARIS))
    assert doc["buckets"] == 300 and doc["complete"] is True and doc["date"] == "2026-10-25"
    (grid,) = doc["lines"]  # type: ignore[misc]
    assert len(grid["values"]) == 300
    # the two 02:30s of that night are an hour apart, in two buckets
    assert [i for i, v in enumerate(grid["values"]) if v is not None] == [30, 42]


def test_today_is_not_complete() -> None:
    query = history.day_query(date(2026, 12, 7), PARIS)
    assert history.day_history(query, day_answers(), NOW, PARIS).complete is False


# -- the last days ----------------------------------------------------------------------------


def days_answers(
    meter: dict[str, Any] | None = None,
    equipment: dict[str, Any] | None = None,
    regulation: dict[str, Any] | None = None,
) -> list[object]:
    empty = {"statement_id": 0}
    return [meter or empty, equipment or empty, regulation or empty]


def totals(
    results: list[object], now: datetime, count: int = 3, power: list[object] | None = None
) -> list[history.DayTotals]:
    query = history.days_query(history.last_days(count, now, PARIS), PARIS)
    return list(history.days_history(query, results, PARIS, power or []))


METER = ["east_first", "east_last", "eait_first", "eait_last", "drawn", "papp", "injected"]


def test_energy_comes_from_the_meter_index_across_a_25_hour_day() -> None:
    autumn = date(2026, 10, 25)
    now = datetime(2026, 10, 26, 12, tzinfo=UTC)
    meter = answer(
        METER,
        [
            [at(autumn, 0), 10_000, 10_100, 500, 500, 300, None, 0],  # the day's first hour
            [at(autumn, 2, fold=1), 10_300, 10_400, 600, 800, 0, None, 900],  # the second 02:00
            [at(autumn, 23), 12_900, 13_000, 900, 900, 200, None, 0],  # its last hour
            [at(autumn + timedelta(days=1), 0), 20_000, 20_000, 900, 900, 100, None, 0],
        ],
    )
    query = history.days_query(history.last_days(3, now, PARIS), PARIS)
    results = days_answers(meter=meter)
    assert history.power_query(query, results, PARIS) is None  # the index is enough
    _, day, following = totals(results, now)
    assert day.day == autumn
    assert (day.import_wh, day.import_source) == (3000, "meter_index")
    assert (day.export_wh, day.export_source) == (400, "meter_index")
    assert (following.import_wh, following.export_wh) == (0, 0)  # one reading: no change


def test_without_an_index_the_energy_is_asked_for_again_from_the_powers_buckets() -> None:
    day = date(2026, 12, 6)
    meter = answer(
        METER,
        [
            [at(day, 10), None, None, None, None, 600, None, None],
            [at(day, 11), None, None, None, None, 400, None, 50],
        ],
    )
    query = history.days_query(history.last_days(3, NOW, PARIS), PARIS)
    results = days_answers(meter=meter)
    more = history.power_query(query, results, PARIS)
    assert more is not None and more.days == (day,)  # only the day that needs it
    (statement,) = more.statements
    assert "time >= '2026-12-05T23:00:00Z' AND time < '2026-12-06T23:00:00Z'" in statement
    power = answer(
        ["drawn_wh", "papp_wh", "injected_wh"],
        [
            [at(day, 10), 600.0, None, None],
            [at(day, 11), 400.0, None, 50.0],
            [at(day, 12), None, 70.0, None],
        ],
    )
    _, found, today = totals(results, NOW, power=[power])
    assert (found.import_wh, found.import_source) == (1070, "power")
    assert (found.export_wh, found.export_source) == (50, "power")
    assert (today.import_wh, today.import_source) == (None, None)  # nothing: unknown, not 0


def test_a_consumers_meter_without_export_asks_no_second_question() -> None:
    day = date(2026, 12, 6)
    meter = answer(METER, [[at(day, 10), 5000, 5600, None, None, 600, None, None]])
    query = history.days_query(history.last_days(3, NOW, PARIS), PARIS)
    assert history.power_query(query, days_answers(meter=meter), PARIS) is None
    _, found, _ = totals(days_answers(meter=meter), NOW)
    assert (found.import_wh, found.export_wh, found.export_source) == (600, None, None)


def test_each_loads_energy_is_its_daily_counters_highest_value_of_the_local_day() -> None:
    yesterday = date(2026, 12, 6)
    equipment = many(
        answer(
            ["energy_wh"],
            [
                [at(yesterday, 12), 2000.0],
                [at(yesterday, 23), 3200.0],
                [at(yesterday + timedelta(days=1), 0), 0.0],  # reset at local midnight
                [at(yesterday + timedelta(days=1), 9), 400.0],
            ],
            name="water_heater",
        ),
        answer(["energy_wh"], [[at(yesterday, 14), 900.0]], name="dryer"),
    )
    before, day, today = totals(days_answers(equipment=equipment), NOW)
    assert day.loads == (
        history.LoadEnergy("dryer", 900.0),
        history.LoadEnergy("water_heater", 3200.0),
    )
    assert day.diverted_wh == 4100.0
    assert today.loads == (history.LoadEnergy("water_heater", 400.0),)
    assert before.loads == () and before.diverted_wh is None


def test_euros_are_the_days_last_running_totals_and_null_when_never_written() -> None:
    yesterday = date(2026, 12, 6)
    regulation = answer(
        ["import_cost_eur", "saved_eur"],
        [
            [at(yesterday, 23), 1.25, 0.8],
            [at(yesterday, 20), 0.5, 0.3],  # earlier, whatever the order of the rows
            [at(yesterday + timedelta(days=1), 8), 0.1, None],
        ],
    )
    before, day, today = totals(days_answers(regulation=regulation), NOW)
    assert (day.import_cost_eur, day.saved_eur) == (1.25, 0.8)
    assert (today.import_cost_eur, today.saved_eur) == (0.1, None)
    assert (before.import_cost_eur, before.saved_eur) == (None, None)  # "—" on the page, never 0
    doc = history.days_document([before, day, today])
    assert doc["first"] == "2026-12-05" and doc["last"] == "2026-12-07"
    assert doc["days"][0]["import_cost_eur"] is None  # type: ignore[index]


# -- the page's texts -------------------------------------------------------------------------


def test_every_text_the_history_script_asks_for_exists_in_both_languages() -> None:
    web = resources.files("pvopt.web")
    source = web.joinpath("static/history.js").read_text("utf-8")
    used = set(re.findall(r'\bt\("(history_\w+)"', source)) | {"history_today", "history_yesterday"}
    assert len(used) > 20, "no t(...) found: the pattern is out of date"
    for lang in i18n.LANGS:
        texts = i18n.history_texts(lang)
        assert used <= set(texts), used - set(texts)
        assert all(text.strip() for text in texts.values())
        info = pages.ShellInfo(lang, "c" * 43, "127.0.0.1", 0.0, 3600.0, 1)
        page = pages.shell_page(web.joinpath("shell.html").read_text("utf-8"), info, UTC)
        found = re.search(r'<details id="history" class="card history" data-texts="([^"]*)">', page)
        assert found, page
        assert json.loads(html.unescape(found.group(1))) == texts
    assert 'import "./history.js";' in web.joinpath("static/app.js").read_text("utf-8")


def test_a_day_over_for_an_hour_is_kept_an_hour_and_today_never() -> None:
    late = datetime(2026, 12, 6, 23, 30, tzinfo=UTC)  # 00:30 on the 7th in Paris
    assert not history.settled(date(2026, 12, 6), late, PARIS)  # its spool may still come
    assert history.settled(date(2026, 12, 6), late + timedelta(minutes=30), PARIS)
    assert not history.settled(date(2026, 12, 7), NOW, PARIS)
    kept = history.KeptDays()
    totals = history.DayTotals(date(2026, 12, 6), 1.0, "meter_index", None, None, (), None, None)
    kept.put(totals, 100.0)
    assert kept.get(date(2026, 12, 6), 100.0 + history.KEEP_S) == totals
    assert kept.get(date(2026, 12, 6), 100.0 + history.KEEP_S + 1) is None
    assert kept.get(date(2026, 12, 5), 100.0) is None
    days = (date(2026, 12, 5), date(2026, 12, 6), date(2026, 12, 7))
    assert kept.split(days, 100.0) == ((), days)  # the 5th is not kept: ask from there
    assert kept.split(days[1:], 100.0) == ((totals,), days[2:])  # only today asked
