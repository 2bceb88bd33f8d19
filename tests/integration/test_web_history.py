"""``pvopt web``'s history against the real daemon and a real influxd.

Known points are written with the writer's own line encoder (:func:`pvopt.io.influx.to_line`
of the daemons' :class:`~pvopt.points.Point`) into a private influxd, the real
``python -m pvopt web`` reads them, and ``GET /api/history/*`` is asked as a signed-in
browser would. The days are the house's (Europe/Paris); the points are placed relative to
the real now. No mock anywhere.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pvopt.io.influx import to_line
from pvopt.points import FieldValue, Point

from .conftest import DaemonFactory, Influxd, Mosquitto
from .test_web_security import ROUTES, Browser, refused_without_session
from .web_chain import PARIS, WebDaemon, launch_web

pytestmark = pytest.mark.integration

DATABASE = "teleinfo"


@dataclass(frozen=True)
class Seeded:
    """The local days the seed wrote, and what they hold."""

    today: date
    yesterday: date
    before: date  # the day before yesterday: no meter index, no € (older data)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """``day`` at ``hour:minute`` in the house's zone."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS)


def write(influxd: Influxd, points: list[Point]) -> None:
    """Store ``points`` as the daemons' writer would (its line encoder)."""
    from influxdb import InfluxDBClient

    client = InfluxDBClient(influxd.host, influxd.port, database=DATABASE, timeout=5, retries=1)
    try:
        client.create_database(DATABASE)
        client.write_points([to_line(p) for p in points], protocol="line", time_precision="n")
    finally:
        client.close()


def meter(at: datetime, **fields: FieldValue) -> Point:
    return Point("teleinfo", dict(fields), at, {"meter": "021728123456"})


def seed(influxd: Influxd, now: datetime | None = None) -> Seeded:
    """Yesterday: the meter's index (import 3000 Wh, export 2000 Wh), an hour of export at
    noon (1500 VA) with 2500 W of surplus and the water heater at 1000 W and 55 °C, its
    daily counter up to 3200 Wh, the € totals 1.25 and 0.80. The day before: only an hour
    of SINSTS at 1000 VA (no index, no €, no load). Today: the counter reset to 0 after
    midnight, then 400 Wh."""
    now = now or datetime.now(UTC)
    today = now.astimezone(PARIS).date()
    yesterday, before = today - timedelta(days=1), today - timedelta(days=2)
    points = [
        meter(local(yesterday, 0, 30), SINSTS=300, SINSTI=0, EAST=5000, EAIT=100),
        meter(local(yesterday, 23, 30), SINSTS=400, SINSTI=0, EAST=8000, EAIT=2100),
    ]
    for minute in range(60):
        at = local(yesterday, 12, minute)
        points += [
            meter(at, SINSTS=0, SINSTI=1500, EAST=6000, EAIT=1000 + minute),
            Point("regulation", {"surplus_w": 2500.0, "diverted_w": 1000.0}, at),
            Point(
                "equipment",
                {"power_w": 1000.0, "temperature_c": 55.0, "energy_wh": 2000.0 + minute},
                at,
                {"name": "water_heater"},
            ),
            meter(local(before, 10, minute), SINSTS=1000),
        ]
    points += [
        Point(
            "equipment",
            {"power_w": 0.0, "energy_wh": 3200.0},
            local(yesterday, 23, 50),
            {"name": "water_heater"},
        ),
        Point(
            "regulation",
            {"import_cost_today_eur": 0.5, "saved_today_eur": 0.3},
            local(yesterday, 20),
        ),
        Point(
            "regulation",
            {"import_cost_today_eur": 1.25, "saved_today_eur": 0.8},
            local(yesterday, 23, 50),
        ),
        Point(
            "equipment",
            {"power_w": 0.0, "energy_wh": 0.0},
            local(today, 0, 0),
            {"name": "water_heater"},
        ),
    ]
    if now >= local(today, 0, 10):
        points.append(
            Point(
                "equipment",
                {"power_w": 0.0, "energy_wh": 400.0},
                local(today, 0, 5),
                {"name": "water_heater"},
            )
        )
    write(influxd, points)
    return Seeded(today, yesterday, before)


@pytest.fixture
def history_web(
    tmp_path: Path, mosquitto: Mosquitto, influxd: Influxd, teleinfo: DaemonFactory
) -> Iterator[WebDaemon]:
    """``pvopt web`` reading the test's influxd; it must stop cleanly (exit 0)."""
    web = launch_web(tmp_path, teleinfo, mosquitto.port, influx_port=influxd.port)
    yield web
    assert web.daemon.stop() == 0, web.daemon.log


def get(browser: Browser, path: str) -> tuple[int, Any]:
    reply = browser.request("GET", path)
    assert reply.header("Content-Type").startswith("application/json"), reply
    return reply.status, json.loads(reply.body)


def line(doc: dict[str, Any], key: str) -> list[float | None]:
    (found,) = [item for item in doc["lines"] if item["key"] == key]
    return found["values"]  # type: ignore[no-any-return]


def bucket(doc: dict[str, Any], at: datetime) -> int:
    return (int(at.timestamp()) - doc["start_s"]) // doc["step_s"]


def test_yesterdays_curves_come_from_the_database_with_gaps_where_nothing_was_stored(
    history_web: WebDaemon, influxd: Influxd
) -> None:
    seeded = seed(influxd)
    status, doc = get(history_web.browser(), f"/api/history/day?date={seeded.yesterday}")
    assert status == 200, doc
    assert doc["date"] == seeded.yesterday.isoformat()
    assert doc["complete"] is True
    assert doc["step_s"] == 300 and len(line(doc, "grid")) == doc["buckets"] == 288
    noon = bucket(doc, local(seeded.yesterday, 12))
    assert line(doc, "grid")[noon] == -1500.0  # exporting
    assert line(doc, "grid")[bucket(doc, local(seeded.yesterday, 0, 30))] == 300.0
    assert line(doc, "pv")[noon] == 2500.0
    assert line(doc, "load:water_heater")[noon] == 1000.0
    assert line(doc, "temperature:water_heater")[noon] == 55.0
    # no frame at 06:00: a gap, never a zero
    assert line(doc, "grid")[bucket(doc, local(seeded.yesterday, 6))] is None
    assert line(doc, "pv")[bucket(doc, local(seeded.yesterday, 6))] is None
    assert [t["label"] for t in doc["ticks"]][:3] == ["00:00", "03:00", "06:00"]


def test_each_days_energy_and_euros_with_null_where_the_database_has_none(
    history_web: WebDaemon, influxd: Influxd
) -> None:
    seeded = seed(influxd)
    status, doc = get(history_web.browser(), "/api/history/days?n=3")
    assert status == 200, doc
    before, yesterday, today = doc["days"]
    assert [before["date"], yesterday["date"], today["date"]] == [
        d.isoformat() for d in (seeded.before, seeded.yesterday, seeded.today)
    ]
    assert doc["loads"] == ["water_heater"]
    assert yesterday["import_wh"] == 3000 and yesterday["import_source"] == "meter_index"
    assert yesterday["export_wh"] == 2000 and yesterday["export_source"] == "meter_index"
    assert yesterday["loads"] == {"water_heater": 3200} and yesterday["diverted_wh"] == 3200
    assert yesterday["import_cost_eur"] == 1.25 and yesterday["saved_eur"] == 0.8
    # no index that day: an hour of frames at 1000 VA, 5-minute means × 5 min
    assert before["import_source"] == "power"
    assert before["import_wh"] == 1000
    assert before["export_wh"] is None and before["export_source"] is None
    assert before["import_cost_eur"] is None and before["saved_eur"] is None  # "—"
    assert before["loads"] == {} and before["diverted_wh"] is None
    assert today["import_cost_eur"] is None
    assert today["loads"]["water_heater"] in (0, 400)  # reset at midnight, not 3200


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("day?date=yesterday", "date: expected YYYY-MM-DD"),
        ("day?date=2026-02-30", "date: no such day"),
        ("day?date=2026-1-01", "date: expected YYYY-MM-DD"),
        ("days?n=0", "n: a whole number of days from 1 to 31"),
        ("days?n=32", "n: a whole number of days from 1 to 31"),
        ("days?n=1e1", "n: a whole number of days from 1 to 31"),
        ("days?n=", "n: a whole number of days from 1 to 31"),
    ],
)
def test_a_bad_date_or_count_is_a_400_with_its_reason(
    history_web: WebDaemon, query: str, reason: str
) -> None:
    status, doc = get(history_web.browser(), f"/api/history/{query}")
    assert (status, doc) == (400, {"error": reason})


def test_a_date_out_of_the_last_30_days_is_a_400(history_web: WebDaemon, influxd: Influxd) -> None:
    browser = history_web.browser()
    seed(influxd)
    today = datetime.now(PARIS).date()
    for day in (today + timedelta(days=1), today - timedelta(days=31)):
        status, doc = get(browser, f"/api/history/day?date={day}")
        assert status == 400 and doc["error"].startswith("date: from "), doc
    assert get(browser, f"/api/history/day?date={today - timedelta(days=30)}")[0] == 200


def test_no_database_yet_is_a_503_saying_so(history_web: WebDaemon) -> None:
    status, doc = get(history_web.browser(), "/api/history/day")
    assert (status, doc) == (
        503,
        {"error": "History unavailable: InfluxDB: no database teleinfo yet (nothing was recorded)"},
    )


def test_the_database_down_is_a_503_with_its_reason_and_the_server_lives_on(
    history_web: WebDaemon, influxd: Influxd
) -> None:
    browser = history_web.browser()
    seed(influxd)
    assert get(browser, "/api/history/days")[0] == 200
    influxd.stop()
    for path in ("/api/history/day", "/api/history/days"):
        status, doc = get(browser, path)
        assert status == 503, doc
        assert doc["error"].startswith("History unavailable: InfluxDB unreachable at 127.0.0.1:")
    assert browser.request("GET", "/api/session").status == 200
    influxd.start()
    assert get(browser, "/api/history/days")[0] == 200  # back without a restart
    assert "Traceback" not in history_web.daemon.log


def test_the_history_needs_a_session(history_web: WebDaemon) -> None:
    browser = Browser(history_web.port)
    for path in ("/api/history/day", "/api/history/days?n=30"):
        assert refused_without_session(browser.request("GET", path), path)
    assert ("GET", "/api/history/day") in ROUTES  # and the security test asks it too


# The guard stores the session under a string key (aiohttp warns; the daemon ignores it).
@pytest.mark.filterwarnings("ignore::aiohttp.web_exceptions.NotAppKeyWarning")
def test_a_database_slower_than_the_timeout_is_a_503_and_the_server_serves_on(
    tmp_path: Path,
) -> None:
    """In-process (the daemon's 10 s would make a slow test): a read that hangs is given
    up after the history's timeout, while the event loop answers other requests."""
    import asyncio
    import threading

    from aiohttp.test_utils import TestClient, TestServer

    from pvopt.io.web_server import (
        SESSION_COOKIE,
        STATE,
        WebOptions,
        add_history_routes,
        build_app,
    )

    release = threading.Event()

    def hanging(statements: object) -> list[object]:
        release.wait(5)
        return []

    async def scenario() -> None:
        app = build_app(WebOptions(password_file=tmp_path / "pw", tz=PARIS))
        add_history_routes(app, hanging, timeout_s=0.3)
        async with TestClient(TestServer(app)) as client:
            state = app[STATE]
            session = state.sessions.create("127.0.0.1", state.clock(), state.wall())
            client.session.cookie_jar.update_cookies({SESSION_COOKIE: session.token})
            slow = asyncio.ensure_future(client.get("/api/history/day"))
            await asyncio.sleep(0.1)
            quick = await client.get("/api/session")  # the loop is not blocked
            assert quick.status == 200
            reply = await slow
            assert reply.status == 503
            assert await reply.json() == {
                "error": "History unavailable: InfluxDB did not answer within 0.3 s"
            }
            release.set()

    asyncio.run(scenario())
