"""Home Assistant MQTT discovery with the real daemons and a real mosquitto.

The test's subscriber plays Home Assistant: it reads the retained config messages under
``homeassistant/#``, checks they are JSON with HA's documented keys, then uses them the way
HA would (the select's command topic, the sensors' state topics).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jinja2.sandbox import ImmutableSandboxedEnvironment

from pvopt.equipment.loader import parse_site_config
from pvopt.homeassistant import meter_messages, regulation_messages
from pvopt.tic.encoder import linky_standard_frame

from .conftest import (
    DaemonFactory,
    FrameStreamer,
    Message,
    Mosquitto,
    PtyPort,
    Subscriber,
    publish_frame,
)

pytestmark = pytest.mark.integration

CONFIG = """\
equipment:
  - type: ConstantPowerEquipment
    id: pool
    name: pool_pump
    nominal_power: 800
  - type: VariablePowerEquipment
    id: 0
    name: water_heater
    max_power: 2400
"""
#: Keys every discovered entity must carry (HA's MQTT discovery documentation).
ENTITY_KEYS = {
    "name",
    "unique_id",
    "default_entity_id",
    "state_topic",
    "availability_topic",
    "payload_available",
    "payload_not_available",
    "device",
}


def _config_topics(sub: Subscriber, since: int = 0) -> dict[str, Message]:
    return {m.topic: m for m in sub.messages[since:] if m.topic.startswith("homeassistant/")}


def _wait_for_configs(sub: Subscriber, expected: set[str], since: int = 0) -> dict[str, Message]:
    sub.wait_for(lambda m: expected <= _config_topics(sub, since).keys(), since=since)
    return _config_topics(sub, since)


def _check_config(message: Message, availability: str) -> dict[str, Any]:
    config: dict[str, Any] = message.json()
    assert config.keys() >= ENTITY_KEYS, message.topic
    assert message.topic.endswith(f"/{config['unique_id']}/config")
    assert config["availability_topic"] == availability
    assert config["device"]["identifiers"] and config["device"]["name"]
    return config


def _mode(message: Message, name: str) -> str:
    equipment = {e["name"]: e for e in message.json()["equipment"]}
    return str(equipment[name]["mode"])


def test_regulation_announces_its_entities_and_the_select_sets_the_mode(
    tmp_path: Path,
    mosquitto: Mosquitto,
    subscriber_factory: Callable[..., Subscriber],
    teleinfo: DaemonFactory,
) -> None:
    """Retained configs for every equipment; OFF on the select's command topic puts the
    equipment in mode off in regulation/status; HA's birth message re-publishes them."""
    config_path = tmp_path / "equipment_config.yml"
    config_path.write_text(CONFIG)
    expected = {m.topic for m in regulation_messages(parse_site_config(CONFIG))}
    sub = subscriber_factory(["homeassistant/#", "regulation/status", "pvopt/#"])
    reg = teleinfo.regulate(config_path, HA_DISCOVERY="on")
    _wait_for_configs(sub, expected)
    reg.wait_log(f"Home Assistant discovery: {len(expected)} entities under homeassistant/")

    # A Home Assistant started later gets every config from the broker (retained).
    late = subscriber_factory(["homeassistant/#"])
    configs = _wait_for_configs(late, expected)
    assert set(configs) == expected
    assert all(m.retain for m in configs.values())
    parsed = {topic: _check_config(m, "pvopt/regulation/status") for topic, m in configs.items()}
    select = parsed["homeassistant/select/pvopt_equipment_pool_pump_control/config"]
    assert select["command_topic"] == "scr/pool/control"
    assert select["options"] == ["AUTO", "ON", "OFF"]
    power = parsed["homeassistant/sensor/pvopt_equipment_pool_pump_power/config"]
    assert (power["device_class"], power["unit_of_measurement"]) == ("power", "W")
    assert power["state_topic"] == "regulation/status"

    # The equipment starts in AUTO ...
    mark = sub.mark()
    publish_frame(sub, export_va=300)
    status = sub.wait_for(lambda m: m.topic == "regulation/status", since=mark)
    assert _mode(status, "pool_pump") == "auto"
    # ... and HA choosing OFF in the select puts it in OFF.
    sub.client.publish(select["command_topic"], "OFF", qos=1)
    reg.wait_log("scr/pool/control: OFF")
    mark = sub.mark()
    publish_frame(sub, export_va=300)
    status = sub.wait_for(lambda m: m.topic == "regulation/status", since=mark)
    assert _mode(status, "pool_pump") == "off"
    assert _mode(status, "water_heater") == "auto"

    # Home Assistant (re)starting publishes its birth message: every config comes again.
    mark = sub.mark()
    sub.client.publish("homeassistant/status", "online", qos=1)
    again = _wait_for_configs(sub, expected, since=mark)
    assert set(again) == expected | {"homeassistant/status"}


def test_teleinfo_announces_the_meter_sensors_and_feeds_their_state_topics(
    mosquitto: Mosquitto,
    subscriber_factory: Callable[..., Subscriber],
    teleinfo: DaemonFactory,
    pty_port: PtyPort,
    streamers: Callable[..., FrameStreamer],
) -> None:
    """Apparent powers in VA and energy indexes in Wh, available with teleinfo; the state
    topics they name carry plain integers."""
    expected = {m.topic for m in meter_messages()}
    sub = subscriber_factory(["homeassistant/#", "tic/SINSTS", "tic/EAIT", "tic/frame"])
    teleinfo(pty_port.slave_path, "standard", HA_DISCOVERY="on")
    configs = _wait_for_configs(sub, expected)
    parsed = {topic: _check_config(m, "pvopt/teleinfo/status") for topic, m in configs.items()}
    by_label = {c["state_topic"]: c for c in parsed.values()}
    assert set(by_label) == {"tic/SINSTS", "tic/SINSTI", "tic/EAST", "tic/EAIT", "tic/frame"}
    assert by_label["tic/frame"]["device_class"] == "power"
    assert by_label["tic/SINSTS"]["device_class"] == "apparent_power"
    assert by_label["tic/SINSTS"]["unit_of_measurement"] == "VA"
    assert by_label["tic/EAIT"]["device_class"] == "energy"
    assert by_label["tic/EAIT"]["state_class"] == "total_increasing"

    frame = linky_standard_frame(date="E260615123005", sinsts_va=1234, sinsti_va=0, eait_wh=5678)
    streamers(pty_port, lambda i: frame, interval=0.2)
    assert sub.wait_for(lambda m: m.topic == "tic/SINSTS").payload == "1234"
    assert sub.wait_for(lambda m: m.topic == "tic/EAIT").payload == "5678"
    frame_json = sub.wait_for(lambda m: m.topic == "tic/frame").payload
    grid_template = by_label["tic/frame"]["value_template"]
    shown = ImmutableSandboxedEnvironment().from_string(grid_template)
    assert shown.render(value_json=json.loads(frame_json)).strip() == "1234"


def test_without_ha_discovery_nothing_is_published_under_homeassistant(
    tmp_path: Path,
    mosquitto: Mosquitto,
    subscriber_factory: Callable[..., Subscriber],
    teleinfo: DaemonFactory,
) -> None:
    """Discovery is opt-in: the default publishes no config (checked after the daemon's
    last message, offline: the broker delivers one client's messages in order)."""
    config_path = tmp_path / "equipment_config.yml"
    config_path.write_text(CONFIG)
    sub = subscriber_factory(["homeassistant/#", "pvopt/#"])
    reg = teleinfo.regulate(config_path)
    sub.wait_for(lambda m: m.topic == "pvopt/regulation/status" and m.payload == "online")
    assert reg.stop() == 0
    sub.wait_for(lambda m: m.topic == "pvopt/regulation/status" and m.payload == "offline")
    assert not _config_topics(sub)
    assert "Home Assistant discovery" not in reg.log
