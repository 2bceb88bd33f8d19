"""``pvopt web``'s live page against the real daemon and a real mosquitto.

The daemon runs as ``python -m pvopt web`` wired to a private broker; the test signs in,
opens ``/api/events`` with http.client (a real streaming HTTP client), and publishes what
teleinfo and the regulation publish, built by their own functions (teleinfo's
``mqtt_messages`` of a decoded TIC frame, the regulation's ``status_document`` of a
:class:`~pvopt.regulation.core.Regulator`'s decision). No mock anywhere.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pvopt import topics

from .conftest import (
    HOST,
    DaemonFactory,
    FrameStreamer,
    Influxd,
    Mosquitto,
    PtyPort,
    Subscriber,
    frame_document,
    wait_until,
)
from .test_teleinfo_daemon import consumer_frame
from .test_web_security import Browser
from .web_chain import STEER_CONFIG, WebDaemon, decision_payload, frame_payload, launch_web

pytestmark = pytest.mark.integration

#: A frame on the screen within this long of its publication (issue #16).
ON_SCREEN_S = 1.0
#: Live's limit for meter data (LiveLimits.stale_after_s).
STALE_S = 10.0


@pytest.fixture
def web(tmp_path: Path, mosquitto: Mosquitto, teleinfo: DaemonFactory) -> Iterator[WebDaemon]:
    """``pvopt web`` on the test's broker, connected; it must stop cleanly (exit 0)."""
    web = launch_web(tmp_path, teleinfo, mosquitto.port)
    web.daemon.wait_log("connected to MQTT broker")
    yield web
    assert web.daemon.stop() == 0, web.daemon.log


class Events:
    """An open ``/api/events``: every snapshot with the monotonic time it arrived."""

    def __init__(self, browser: Browser) -> None:
        self.connection = http.client.HTTPConnection(HOST, browser.port, timeout=60)
        cookie = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
        self.connection.request("GET", "/api/events", headers={"Cookie": cookie})
        self.response = self.connection.getresponse()
        self.status = self.response.status
        self.headers = self.response.headers
        self.received: list[tuple[float, dict[str, Any]]] = []
        self.comments = 0
        self.ended = threading.Event()
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        if self.status == 200:
            self._reader.start()

    def _read(self) -> None:
        try:
            while True:
                line = self.response.readline()
                if not line:
                    break
                text = line.decode("utf-8").rstrip("\n")
                with self._changed:
                    if text.startswith("data: "):
                        self.received.append((time.monotonic(), json.loads(text[6:])))
                    elif text.startswith(":"):
                        self.comments += 1
                    self._changed.notify_all()
        except Exception:  # closed by the test (the connection's file is gone) or by the server
            pass
        finally:
            self.ended.set()
            with self._changed:
                self._changed.notify_all()

    def wait_for(
        self, test: Callable[[dict[str, Any]], bool], timeout: float, since: int = 0
    ) -> tuple[float, dict[str, Any]]:
        """The first snapshot from number ``since`` on that passes ``test``."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for at, snapshot in self.received[since:]:
                    if test(snapshot):
                        return at, snapshot
                left = deadline - time.monotonic()
                if left <= 0 or self.ended.is_set():
                    last = self.received[-1][1] if self.received else None
                    raise AssertionError(f"no such snapshot in {timeout} s; last: {last}")
                self._changed.wait(left)

    def mark(self) -> int:
        with self._changed:
            return len(self.received)

    def close(self) -> None:
        """Hang up (as a closed tab does) and release the socket."""
        sock = self.connection.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        if self._reader.is_alive():
            self.ended.wait(5)
        self.response.close()
        self.connection.close()


@pytest.fixture
def streams() -> Iterator[Callable[[Browser], Events]]:
    opened: list[Events] = []

    def open_events(browser: Browser) -> Events:
        events = Events(browser)
        opened.append(events)
        return events

    yield open_events
    for events in opened:
        events.close()


def grid_is(power_w: float) -> Callable[[dict[str, Any]], bool]:
    return lambda s: s["grid"] is not None and s["grid"]["power_w"] == power_w


def test_a_frame_and_a_decision_reach_the_stream_within_a_second(
    web: WebDaemon, subscriber: Subscriber, streams: Callable[[Browser], Events]
) -> None:
    browser = web.browser()
    events = streams(browser)
    assert events.status == 200
    assert events.headers["Content-Type"].startswith("text/event-stream")
    assert events.headers["Cache-Control"] == "no-store"
    _, first = events.wait_for(lambda s: True, 5)  # the snapshot on connect
    assert first["broker"]["state"] == "connected"
    assert first["grid"] is None and first["loads"] == []

    mark = events.mark()
    sent = time.monotonic()
    subscriber.client.publish(topics.FRAME, frame_payload(0, 1834), qos=1)
    at, snapshot = events.wait_for(grid_is(-1834.0), 5, mark)
    assert at - sent <= ON_SCREEN_S, at - sent
    assert snapshot["grid"]["stale"] is False and "meter_stale" not in snapshot["alerts"]
    assert snapshot["tariff"]["contract"] == "PRODUCTEUR"

    mark = events.mark()
    sent = time.monotonic()
    subscriber.client.publish(topics.DECISION, decision_payload(0, 1834), qos=1)
    at, snapshot = events.wait_for(lambda s: bool(s["loads"]), 5, mark)
    assert at - sent <= ON_SCREEN_S, at - sent
    (dryer,) = snapshot["loads"]
    assert dryer["name"] == "dryer" and dryer["mode"] == "auto" and dryer["reason"]
    assert snapshot["regulation"]["grid_power_w"] == -1834.0

    # a new grid power again, both ways through the same stream
    mark = events.mark()
    sent = time.monotonic()
    subscriber.client.publish(topics.FRAME, frame_payload(700, 0), qos=1)
    at, _ = events.wait_for(grid_is(700.0), 5, mark)
    assert at - sent <= ON_SCREEN_S, at - sent

    # /api/live says the same
    live = json.loads(browser.request("GET", "/api/live").body)
    assert live["grid"]["power_w"] == 700.0 and live["loads"][0]["name"] == "dryer"
    assert live["broker"]["state"] == "connected"


def test_a_burst_of_frames_is_coalesced_and_the_last_one_shown(
    web: WebDaemon, subscriber: Subscriber, streams: Callable[[Browser], Events]
) -> None:
    events = streams(web.browser())
    events.wait_for(lambda s: True, 5)
    mark = events.mark()
    start = time.monotonic()
    for va in range(1, 101):  # 100 frames as fast as the broker takes them
        subscriber.client.publish(topics.FRAME, frame_payload(va, 0), qos=1)
    events.wait_for(grid_is(100.0), 5, mark)
    time.sleep(0.3)
    # counted up to the last read, so a push read late on a loaded machine stays in bounds
    elapsed = time.monotonic() - start
    pushed = events.mark() - mark
    # at most one snapshot per 100 ms (and the one that was due when the burst began)
    assert pushed <= elapsed / 0.1 + 2, (pushed, elapsed)
    assert pushed < 100


def test_a_meter_going_silent_turns_stale_on_screen_by_itself(
    web: WebDaemon, subscriber: Subscriber, streams: Callable[[Browser], Events]
) -> None:
    events = streams(web.browser())
    events.wait_for(lambda s: True, 5)
    mark = events.mark()
    subscriber.client.publish(topics.FRAME, frame_payload(0, 500), qos=1)
    subscriber.client.publish(topics.DECISION, decision_payload(0, 500), qos=1)
    sent = time.monotonic()
    events.wait_for(lambda s: not s["alerts"] and s["grid"] is not None, 5, mark)
    # no message from now on: the snapshot saying "stale" must come by itself
    at, stale = events.wait_for(lambda s: "meter_stale" in s["alerts"], STALE_S + 5)
    assert STALE_S - 0.5 <= at - sent <= STALE_S + 1.0, at - sent
    assert stale["grid"]["stale"] is True and stale["grid"]["power_w"] == -500.0  # kept
    # the decision, published just after the frame, goes stale just after it: in the same
    # snapshot or the next one (it is timed a few milliseconds later)
    at_regulation, _ = events.wait_for(lambda s: "regulation_stale" in s["alerts"], 2.0)
    assert at_regulation - at <= 0.5, at_regulation - at


def test_the_broker_going_away_is_shown_and_the_daemon_survives_its_return(
    web: WebDaemon,
    mosquitto: Mosquitto,
    subscriber: Subscriber,
    streams: Callable[[Browser], Events],
) -> None:
    browser = web.browser()
    events = streams(browser)
    events.wait_for(lambda s: s["broker"]["state"] == "connected", 5)
    mosquitto.stop(kill=True)
    _, down = events.wait_for(lambda s: s["broker"]["state"] == "disconnected", 5)
    assert down["alerts"][0] == "broker_down"
    live = json.loads(browser.request("GET", "/api/live").body)
    assert live["broker"]["state"] == "disconnected" and live["alerts"][0] == "broker_down"
    time.sleep(2)  # a few failed attempts
    assert web.daemon.running()

    mosquitto.start()
    mark = events.mark()
    _, up = events.wait_for(lambda s: s["broker"]["state"] == "connected", 10, mark)
    assert "broker_down" not in up["alerts"]
    # and it reads the topics again (subscriptions renewed on reconnect)
    subscriber.wait_connected(connects=2)
    mark = events.mark()
    subscriber.client.publish(topics.FRAME, frame_payload(321, 0), qos=1)
    events.wait_for(grid_is(321.0), 5, mark)


def test_streams_are_capped_end_with_the_session_and_at_shutdown(
    web: WebDaemon, subscriber: Subscriber, streams: Callable[[Browser], Events]
) -> None:
    browser = web.browser()
    opened = [streams(browser) for _ in range(50)]
    assert all(e.status == 200 for e in opened)
    refused = streams(browser)
    assert refused.status == 503
    assert json.loads(refused.response.read()) == {"error": "Too many live streams"}
    assert refused.headers["Retry-After"]
    for e in opened[1:]:
        e.close()
    events = opened[0]
    events.wait_for(lambda s: True, 5)

    # the streams of browsers gone are noticed and free their places within a few seconds
    other = web.browser()
    deadline = time.monotonic() + 3
    while (other_events := streams(other)).status == 503 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert other_events.status == 200
    other_events.wait_for(lambda s: True, 5)

    # signed out elsewhere: the stream ends by itself
    csrf = other.csrf()
    assert other.form("/logout", csrf=csrf).status == 303
    assert other_events.ended.wait(3)
    subscriber.client.publish(topics.FRAME, frame_payload(0, 42), qos=1)
    events.wait_for(grid_is(-42.0), 5)
    assert not events.ended.is_set()

    # SIGTERM: the open stream ends and the daemon exits at once, cleanly
    start = time.monotonic()
    assert web.daemon.stop() == 0
    assert events.ended.wait(5)
    assert time.monotonic() - start < 5
    subscriber.wait_for(lambda m: m.topic == topics.WEB_STATUS and m.payload == "offline", 5)


def test_the_page_and_its_modules_are_served_with_the_session(web: WebDaemon) -> None:
    browser = web.browser()
    page = browser.request("GET", "/", headers={"Accept-Language": "en"})
    assert page.status == 200
    scripts = re.findall(r'<script type="module" src="([^"]+)"></script>', page.body)
    assert scripts == ["/static/app.js"]
    texts = re.search(r'data-texts="([^"]+)"', page.body)
    assert texts, page.body
    seen: set[str] = set()
    todo = list(scripts)
    while todo:  # every module the page imports, transitively
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        reply = browser.request("GET", path)
        assert reply.status == 200, path
        assert "javascript" in reply.header("Content-Type"), path
        for name in re.findall(r'(?:from|import) "\./([\w.-]+\.js)";', reply.body):
            todo.append(f"/static/{name}")
    assert len(seen) >= 2, seen
    assert browser.request("GET", "/static/style.css").status == 200
    for path in ("/api/live", "/api/events"):
        assert Browser(web.port).request("GET", path).status == 401


def test_today_counted_by_the_real_regulation_reaches_the_page(
    web: WebDaemon, tmp_path: Path, teleinfo: DaemonFactory, subscriber: Subscriber
) -> None:
    """Pins issue #16's "energy diverted and € saved today": ``pvopt regulate`` counts them
    from the frames (the house exports 3 kW, its loads take part of it) and the page shows
    its ``today`` block; unknown (null) before the regulation has said anything."""
    browser = web.browser()
    assert json.loads(browser.request("GET", "/api/live").body)["today"] is None
    config = tmp_path / "equipment_config.yml"
    config.write_text(STEER_CONFIG)
    teleinfo.regulate(config).wait_log("regulating 2 loads")
    stop = threading.Event()

    def meter() -> None:
        while not stop.is_set():
            subscriber.client.publish(topics.FRAME, frame_document(3000), qos=1)
            stop.wait(0.5)

    thread = threading.Thread(target=meter, daemon=True)
    thread.start()
    try:

        def counted() -> dict[str, Any] | None:
            today = json.loads(browser.request("GET", "/api/live").body)["today"]
            if today and today["exported_today_wh"] > 0 and today["diverted_today_wh"] > 0:
                return dict(today)
            return None

        wait_until(lambda: counted() is not None, 20, what="today's counts on /api/live")
        today = counted()
        assert today is not None
        assert today["imported_today_wh"] == 0 and today["import_cost_today_eur"] == 0
        assert today["saved_today_eur"] > 0 and today["stale"] is False
    finally:
        stop.set()
        thread.join(5)


def test_the_database_going_down_and_back_shows_on_the_page(
    web: WebDaemon,
    influxd: Influxd,
    teleinfo: DaemonFactory,
    pty_port: PtyPort,
    streamers: Callable[..., FrameStreamer],
) -> None:
    """Pins issue #16's "state of the database": the real ``pvopt teleinfo`` writes the
    real influxd and publishes its writer's state; influxd stopped, /api/live says the
    database is down with points waiting (and the banner's alert); restarted, up again
    with nothing waiting."""
    browser = web.browser()

    def database() -> dict[str, Any]:
        found: dict[str, Any] = json.loads(browser.request("GET", "/api/live").body)
        return found

    daemon = teleinfo(pty_port.slave_path, "standard")
    daemon.wait_log("opened ")
    streamers(pty_port, lambda i: consumer_frame(3000 + i), 0.2)
    wait_until(lambda: database()["database"]["state"] == "up", 15, what="database up")

    influxd.stop()
    wait_until(
        lambda: (
            database()["database"]["state"] == "down"
            and database()["database"]["waiting_points"] > 0
        ),
        15,
        what="database down with points waiting",
    )
    live = database()
    assert "database_down" in live["alerts"]
    assert live["database"]["by_daemon"]["teleinfo"]["state"] == "down"

    influxd.start()
    wait_until(
        lambda: (
            database()["database"]["state"] == "up"
            and database()["database"]["waiting_points"] == 0
        ),
        20,
        what="database back with nothing waiting",
    )
    assert "database_down" not in database()["alerts"]
    assert daemon.stop() == 0
