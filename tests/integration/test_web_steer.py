"""Steering from the page through the real chain: ``pvopt web`` → mosquitto → ``pvopt regulate``.

The real daemons (``python -m pvopt web`` and ``python -m pvopt regulate``) on a private
mosquitto; the test signs in over HTTP like a browser, presses the page's buttons (the JSON
requests static/steer.js sends) and reads the result where the page does: in the
regulation's own ``regulation/status``, through a plain MQTT subscriber. Meter frames are
published by the test (as teleinfo would) so that the regulation evaluates.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .conftest import (
    DaemonFactory,
    Message,
    Mosquitto,
    Subscriber,
    wait_until,
)
from .test_web_security import LEAKS, Browser, Reply
from .web_chain import STEER_CONFIG, launch_web

pytestmark = pytest.mark.integration


def start_web(tmp_path: Path, factory: DaemonFactory, config: Path, mqtt_port: int) -> Browser:
    """``pvopt web`` on the test's broker and config, signed in: a browser with a session."""
    return launch_web(tmp_path, factory, mqtt_port, config).browser()


def post_json(browser: Browser, path: str, body: object, csrf: str | None) -> Reply:
    headers = {"Content-Type": "application/json"}
    if csrf is not None:
        headers["X-CSRF-Token"] = csrf
    return browser.request("POST", path, json.dumps(body), headers)


def answer(reply: Reply) -> Any:
    assert reply.header("Content-Type").startswith("application/json"), reply
    assert not LEAKS.search(reply.body), reply.body
    return json.loads(reply.body)


def load_status(message: Message, name: str) -> dict[str, Any] | None:
    if message.topic != "regulation/status":
        return None
    for equipment in message.json()["equipment"]:
        if equipment["name"] == name:
            return dict(equipment)
    return None


def test_a_boost_and_a_mode_from_the_page_show_in_the_regulations_own_status(
    tmp_path: Path,
    mosquitto: Mosquitto,
    subscriber_factory: Callable[..., Subscriber],
    teleinfo: DaemonFactory,
    meter: None,
) -> None:
    """Pins steering end to end: a boost of 30 min at 1000 W and a mode OFF pressed on the
    page are reported *by the regulation* (forced 1000 W; off: manual), each within a few
    frames; the page's answer only says "sent"."""
    config = tmp_path / "equipment_config.yml"
    config.write_text(STEER_CONFIG)
    sub = subscriber_factory(["regulation/#", "scr/#", "pvopt/#"])
    reg = teleinfo.regulate(config)
    reg.wait_log("regulating 2 loads")
    browser = start_web(tmp_path, teleinfo, config, mosquitto.port)
    sub.wait_for(lambda m: m.topic == "pvopt/web/status" and m.payload == "online")
    csrf = browser.csrf()
    # In AUTO with nothing exported, the heater is off: what the boost must change.
    sub.wait_for(lambda m: (load_status(m, "water_heater") or {}).get("mode") == "auto")

    loads = answer(browser.request("GET", "/api/loads"))
    assert [(x["name"], x["id"], x["max_power_w"]) for x in loads["loads"]] == [
        ("pool_pump", "pool", 800.0),
        ("water_heater", "0", 2400.0),
    ]
    assert loads["broker_connected"] is True
    assert loads["texts"]["steer_boost"] in ("Forcer", "Boost")

    mark = sub.mark()
    reply = post_json(browser, "/api/loads/0/boost", {"minutes": 30, "power_w": 1000}, csrf)
    assert reply.status == 202, reply.body
    assert answer(reply) == {
        "status": "sent",
        "load": "water_heater",
        "id": "0",
        "topic": "regulation/control",
        "payload": '{"command":"force","name":"water_heater","power":1000.0,"duration":1800}',
    }
    forced = sub.wait_for(
        lambda m: (load_status(m, "water_heater") or {}).get("forced") is True, since=mark
    )
    heater = load_status(forced, "water_heater")
    assert heater is not None
    assert heater["mode"] == "forced" and heater["power_w"] == pytest.approx(1000)
    assert heater["reason"].startswith("forced 1000 W for 30 min"), heater["reason"]
    # … and the dimmer was commanded (the device's own topic).
    sub.wait_for(lambda m: m.topic == "scr/0/in" and float(m.payload) > 0, since=mark)

    mark = sub.mark()
    reply = post_json(browser, "/api/loads/water_heater/mode", {"mode": "OFF"}, csrf)
    assert reply.status == 202 and answer(reply)["payload"] == "OFF", reply.body
    off = sub.wait_for(
        lambda m: (load_status(m, "water_heater") or {}).get("mode") == "off", since=mark
    )
    heater = load_status(off, "water_heater")
    assert heater is not None
    assert (heater["forced"], heater["power_w"], heater["state"]) == (False, 0, "off")
    assert [m.payload for m in sub.on("scr/0/control", since=mark)] == ["OFF"]

    mark = sub.mark()
    reply = post_json(browser, "/api/loads/pool/mode", {"mode": "ON"}, csrf)
    assert reply.status == 202, reply.body
    sub.wait_for(lambda m: (load_status(m, "pool_pump") or {}).get("state") == "on", since=mark)
    assert reg.running()


def test_bad_requests_get_a_reason_and_send_nothing(
    tmp_path: Path,
    mosquitto: Mosquitto,
    subscriber_factory: Callable[..., Subscriber],
    teleinfo: DaemonFactory,
) -> None:
    """Pins the guard and the validation on the real server: no CSRF → 403, no session →
    401, a bad body → 4xx with its reason (JSON, no traceback); none of them publishes."""
    config = tmp_path / "equipment_config.yml"
    config.write_text(STEER_CONFIG)
    sub = subscriber_factory(["regulation/control", "scr/+/control", "pvopt/web/status"])
    browser = start_web(tmp_path, teleinfo, config, mosquitto.port)
    sub.wait_for(lambda m: m.topic == "pvopt/web/status" and m.payload == "online")
    csrf = browser.csrf()
    boost = {"minutes": 30, "power_w": 1000}
    mark = sub.mark()

    for token in (None, "", "A" * 43):
        reply = post_json(browser, "/api/loads/0/boost", boost, token)
        assert reply.status == 403, reply.body
        assert answer(reply) == {"error": "Missing or wrong CSRF token"}
        assert post_json(browser, "/api/loads/0/mode", {"mode": "OFF"}, token).status == 403
    anonymous = Browser(browser.port)
    reply = post_json(anonymous, "/api/loads/0/boost", boost, csrf)
    assert reply.status == 401 and answer(reply) == {"error": "Not signed in"}
    assert anonymous.request("GET", "/api/loads").status == 401

    cases: list[tuple[str, object, int, str]] = [
        ("/api/loads/heater/mode", {"mode": "ON"}, 404, "unknown_load"),
        ("/api/loads/0/mode", {"mode": "BOOST"}, 400, "bad_mode"),
        ("/api/loads/0/mode", {"mode": "ON", "x": 1}, 400, "unknown_field"),
        ("/api/loads/0/mode", ["ON"], 400, "bad_body"),
        ("/api/loads/0/boost", {"minutes": 0, "power_w": 1000}, 400, "bad_minutes"),
        ("/api/loads/0/boost", {"minutes": 721, "power_w": 1000}, 400, "bad_minutes"),
        ("/api/loads/0/boost", {"minutes": 30, "power_w": 2401}, 400, "bad_power"),
        ("/api/loads/0/boost", {"minutes": 30, "power_w": 0}, 400, "bad_power"),
        ("/api/loads/0/boost", {"minutes": 30, "power_w": 10**400}, 400, "bad_power"),
        ("/api/loads/pool/boost", {"minutes": 30, "power_w": 100}, 400, "power_too_low"),
        ("/api/loads/0/boost", {"minutes": 30}, 400, "missing_field"),
    ]
    for path, body, status, code in cases:
        reply = post_json(browser, path, body, csrf)
        assert reply.status == status, (path, body, reply.body)
        got = answer(reply)
        assert got["code"] == code and got["error"], (path, body, got)

    headers = {"X-CSRF-Token": csrf, "Content-Type": "application/json"}
    for raw in ('{"minutes": 30, "power_w": NaN}', "{not json", "", '{"mode": "ON"'):
        reply = browser.request("POST", "/api/loads/0/boost", raw, headers)
        assert reply.status == 400 and answer(reply) == {"error": "Malformed JSON"}, raw
    form = {"X-CSRF-Token": csrf, "Content-Type": "application/x-www-form-urlencoded"}
    reply = browser.request("POST", "/api/loads/0/mode", "mode=ON", form)
    assert reply.status == 415, reply.body
    huge = json.dumps({"mode": "ON", "pad": "x" * 70_000})
    assert browser.request("POST", "/api/loads/0/mode", huge, headers).status == 413
    assert browser.request("GET", "/api/loads/0/boost").status == 405

    # One good request still goes through, and it is the only control the broker saw.
    assert post_json(browser, "/api/loads/0/mode", {"mode": "AUTO"}, csrf).status == 202
    sub.wait_for(lambda m: m.topic == "scr/0/control", since=mark)
    controls = [m for m in sub.messages[mark:] if m.topic != "pvopt/web/status"]
    assert [(m.topic, m.payload) for m in controls] == [("scr/0/control", "AUTO")]


def test_with_the_broker_down_the_page_is_told_nothing_was_sent(
    tmp_path: Path,
    mosquitto: Mosquitto,
    subscriber_factory: Callable[..., Subscriber],
    teleinfo: DaemonFactory,
) -> None:
    """Pins "never pretend": broker stopped → 503 broker_down, and nothing reaches the
    regulation later when the broker is back (the request was refused, not queued)."""
    config = tmp_path / "equipment_config.yml"
    config.write_text(STEER_CONFIG)
    sub = subscriber_factory(["pvopt/web/status"])
    browser = start_web(tmp_path, teleinfo, config, mosquitto.port)
    sub.wait_for(lambda m: m.topic == "pvopt/web/status" and m.payload == "online")
    csrf = browser.csrf()
    mosquitto.stop()

    def refused() -> bool:
        reply = post_json(browser, "/api/loads/0/boost", {"minutes": 30, "power_w": 500}, csrf)
        return reply.status == 503 and answer(reply)["code"] == "broker_down"

    wait_until(refused, 10, what="a 503 once the web daemon saw the broker go")
    assert answer(browser.request("GET", "/api/loads"))["broker_connected"] is False

    mosquitto.start()
    late = subscriber_factory(["regulation/control", "pvopt/web/status"])
    late.wait_for(lambda m: m.topic == "pvopt/web/status" and m.payload == "online", timeout=15)
    reply = post_json(browser, "/api/loads/0/mode", {"mode": "AUTO"}, csrf)
    assert reply.status == 202, reply.body
    time.sleep(1.0)  # a queued message would have been flushed on the reconnection
    assert late.on("regulation/control") == []  # the refused boost never went out


def test_a_config_that_cannot_be_loaded_leaves_the_page_up_and_steering_503(
    tmp_path: Path, mosquitto: Mosquitto, teleinfo: DaemonFactory
) -> None:
    config = tmp_path / "equipment_config.yml"
    config.write_text("equipment:\n  - type: NoSuchEquipment\n")
    browser = start_web(tmp_path, teleinfo, config, mosquitto.port)
    csrf = browser.csrf()
    reply = browser.request("GET", "/api/loads")
    assert reply.status == 503
    assert "cannot be loaded" in answer(reply)["error"]
    reply = post_json(browser, "/api/loads/0/mode", {"mode": "OFF"}, csrf)
    assert reply.status == 503
    assert browser.request("GET", "/").status == 200
