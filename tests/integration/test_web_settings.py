"""The settings view through the real chain: ``pvopt web`` → the file → mosquitto →
``pvopt regulate`` reloading it.

The real daemons on a private mosquitto; the test sends the JSON requests
static/settings.js sends and reads the result where the page does: the file on disk,
and the regulation's own retained ``regulation/config`` and ``regulation/status``.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pvopt import topics
from pvopt.equipment.check import config_version

from .conftest import DaemonFactory, Message, Mosquitto, Subscriber
from .test_web_security import Browser, Reply
from .test_web_steer import answer, load_status, post_json
from .web_chain import BAD_POWER, STEER_CONFIG, THREE_LOADS, launch_web

pytestmark = pytest.mark.integration


def save(browser: Browser, text: str, version: str, csrf: str | None) -> Reply:
    return post_json(browser, "/api/settings", {"text": text, "version": version}, csrf)


def config_message(sub: Subscriber, since: int, test: Callable[[Any], bool]) -> Any:
    found = sub.wait_for(
        lambda m: m.topic == topics.REGULATION_CONFIG and test(m.json()), since=since, timeout=15
    )
    return found.json()


def statuses(message: Message) -> list[str]:
    if message.topic != topics.DECISION:
        return []
    return [e["name"] for e in message.json()["equipment"]]


def test_the_api_refuses_a_bad_file_a_stale_version_and_a_forged_request(
    tmp_path: Path,
    mosquitto: Mosquitto,
    subscriber_factory: Callable[..., Subscriber],
    teleinfo: DaemonFactory,
) -> None:
    """Pins the save's guards on the real server: 422 with each error's line (the file
    byte-identical, no backup), 409 on a stale version, 403 without CSRF, 401 without a
    session, 413 too big; then a good save is written, backed up, and the reload sent."""
    config = tmp_path / "equipment_config.yml"
    config.write_text(STEER_CONFIG)
    original = config.read_bytes()
    sub = subscriber_factory([topics.REGULATION_RELOAD, "pvopt/web/status"])
    web = launch_web(tmp_path, teleinfo, mosquitto.port, config)
    browser = web.browser()
    sub.wait_for(lambda m: m.topic == "pvopt/web/status" and m.payload == "online")
    csrf = browser.csrf()

    shown = answer(browser.request("GET", "/api/settings"))
    assert shown["text"] == STEER_CONFIG and shown["path"] == str(config)
    assert shown["version"] == config_version(original) and shown["backups"] == []
    assert shown["texts"]["settings_save"] in ("Save", "Enregistrer")
    version = shown["version"]

    reply = save(browser, BAD_POWER, version, csrf)
    assert reply.status == 422, reply.body
    (error,) = answer(reply)["errors"]
    assert (error["line"], error["column"], error["path"]) == (
        15,
        20,
        "equipment[2].nominal_power",
    )
    assert "'lots'" in error["message"]
    assert error["message_fr"] == "attendu un nombre positif, reçu 'lots'"  # the page's French
    reply = save(browser, "equipment: [\n", version, csrf)
    assert reply.status == 422 and answer(reply)["errors"][0]["line"] == 2

    assert save(browser, THREE_LOADS, "0" * 64, csrf).status == 409
    assert answer(save(browser, THREE_LOADS, "0" * 64, csrf))["version"] == version
    for token in (None, "A" * 43):
        assert save(browser, THREE_LOADS, version, token).status == 403
    assert save(Browser(web.port), THREE_LOADS, version, csrf).status == 401
    assert save(browser, "#" * 62_000, version, csrf).status == 413  # past the YAML limit
    assert save(browser, "#" * 70_000, version, csrf).status == 413  # past the body limit
    for body in ([], {"text": THREE_LOADS}, {"text": 1, "version": version}):
        assert post_json(browser, "/api/settings", body, csrf).status == 400
    assert config.read_bytes() == original  # nothing of that was written …
    assert sorted(p.name for p in tmp_path.glob("equipment_config.yml*")) == [config.name]
    assert sub.on(topics.REGULATION_RELOAD) == []  # … nor sent

    mark = sub.mark()
    reply = save(browser, THREE_LOADS, version, csrf)
    assert reply.status == 200, reply.body
    saved = answer(reply)
    assert saved["status"] == "saved" and saved["reload"] == "sent" and saved["loads"] == 3
    assert config.read_text() == THREE_LOADS
    assert saved["version"] == config_version(THREE_LOADS.encode())
    assert (tmp_path / saved["backup"]).read_bytes() == original
    assert answer(browser.request("GET", "/api/settings"))["backups"] == [saved["backup"]]
    reload_message = sub.wait_for(lambda m: m.topic == topics.REGULATION_RELOAD, since=mark)
    assert (reload_message.payload, reload_message.retain) == ("config", False)
    # the steering list follows the new file
    loads = answer(browser.request("GET", "/api/loads"))["loads"]
    assert [x["name"] for x in loads] == ["pool_pump", "water_heater", "dryer"]


def test_the_regulation_reloads_keeping_its_counters_and_refuses_a_bad_file(
    tmp_path: Path,
    mosquitto: Mosquitto,
    subscriber_factory: Callable[..., Subscriber],
    teleinfo: DaemonFactory,
    meter: None,
) -> None:
    """Pins the reload on the real ``pvopt regulate``: the message → the new loads in its
    status, the boost and today's energy kept, its config publication naming the version;
    a bad file on SIGHUP → refused with the error's line, the old loads kept."""
    config = tmp_path / "equipment_config.yml"
    config.write_text(STEER_CONFIG)
    sub = subscriber_factory(["regulation/#"])
    reg = teleinfo.regulate(config)
    reg.wait_log("regulating 2 loads")
    started = config_message(sub, 0, lambda d: d["last_reload"]["result"] == "started")
    assert started["version"] == config_version(STEER_CONFIG.encode())
    assert [x["id"] for x in started["loads"]] == ["pool", "0"]

    force = {"command": "force", "name": "water_heater", "power": 1000, "duration": 1800}
    sub.client.publish(topics.REGULATION_CONTROL, json.dumps(force), qos=1)

    def heater(m: Message) -> dict[str, Any]:
        return load_status(m, "water_heater") or {}

    sub.wait_for(lambda m: heater(m).get("energy_wh", 0) > 0.2, timeout=15)
    before = heater(sub.wait_for(lambda m: heater(m).get("forced") is True))

    config.write_text(THREE_LOADS)
    mark = sub.mark()
    sub.client.publish(topics.REGULATION_RELOAD, "config", qos=1)
    loaded = config_message(sub, mark, lambda d: d["last_reload"]["result"] == "loaded")
    assert loaded["version"] == config_version(THREE_LOADS.encode())
    assert loaded["last_reload"]["kept"] == ["pool", "0"]
    assert loaded["last_reload"]["fresh"] == ["dryer"]
    status = sub.wait_for(lambda m: len(statuses(m)) == 3, since=mark)
    after = heater(status)
    assert after["forced"] is True and after["mode"] == "forced"  # the boost goes on
    assert after["energy_wh"] >= before["energy_wh"]  # today's energy kept
    assert after["reason"].startswith("forced 1000 W")
    reg.wait_log("configuration reloaded from")

    config.write_text(BAD_POWER)
    mark = sub.mark()
    reg.proc.send_signal(signal.SIGHUP)
    refused = config_message(sub, mark, lambda d: d["last_reload"]["result"] == "refused")
    assert refused["version"] == loaded["version"]  # still running the good one
    assert refused["last_reload"]["version"] == config_version(BAD_POWER.encode())
    (error,) = refused["last_reload"]["errors"]
    assert error["line"] == 15 and "'lots'" in error["message"]
    reg.wait_log("reload refused")
    sub.wait_for(lambda m: len(statuses(m)) == 3, since=sub.mark())
    assert reg.running()
