"""Home Assistant MQTT discovery (docs/design.md §4, optional): the config messages and their
settings.

The messages are built from the real loader on the shipped ``equipment_config.yml.template``
(a dimmer water heater ``id: 0``, a Shelly pool pump ``id: pool``, a Tasmota plug
``id: plug1``); every value template is checked against the real ``regulation/status``
document of a real decision.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from jinja2.sandbox import ImmutableSandboxedEnvironment

from pvopt import homeassistant as ha
from pvopt.config import ConfigError, load_settings
from pvopt.daemons.power_regulation import status_document
from pvopt.daemons.teleinfo import mqtt_messages
from pvopt.equipment.loader import load_site_config
from pvopt.equipment.model import SiteConfig
from pvopt.regulation.core import Regulator
from pvopt.regulation.inputs import parse_scr_control
from pvopt.regulation.model import MeterSample, Mode
from pvopt.tic import FrameDecoder
from pvopt.tic import Mode as TicMode
from pvopt.tic.encoder import linky_standard_frame

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "equipment_config.yml.template"
#: HA's rule for an entity id (homeassistant.core.valid_entity_id).
ENTITY_ID = re.compile(r"^(?!.+__)(?!_)[\da-z_]+(?<!_)\.(?!_)[\da-z_]+(?<!_)$")
#: HA renders value templates in a sandboxed Jinja environment.
JINJA = ImmutableSandboxedEnvironment()
#: What every entity of the daemons carries.
COMMON_KEYS = {
    "name",
    "unique_id",
    "default_entity_id",
    "state_topic",
    "availability_topic",
    "payload_available",
    "payload_not_available",
    "device",
    "origin",
}


@pytest.fixture(scope="module")
def site() -> SiteConfig:
    return load_site_config(TEMPLATE, (time(2, 5), time(6, 50)))


def configs(messages: list[ha.DiscoveryMessage]) -> dict[str, dict[str, Any]]:
    """topic → parsed config payload."""
    return {m.topic: json.loads(m.payload) for m in messages}


def by_unique_id(messages: list[ha.DiscoveryMessage]) -> dict[str, dict[str, Any]]:
    return {c["unique_id"]: c for c in configs(messages).values()}


# -- every message -----------------------------------------------------------------------------


def test_every_message_is_a_retained_json_config_on_its_documented_topic(site: SiteConfig) -> None:
    messages = ha.meter_messages() + ha.regulation_messages(site)
    for m in messages:
        assert m.retain
        config = json.loads(m.payload)
        assert config.keys() >= COMMON_KEYS, m.topic
        component = m.topic.split("/")[1]
        assert m.topic == f"homeassistant/{component}/{config['unique_id']}/config"
        assert re.fullmatch(r"[A-Za-z0-9_-]+", config["unique_id"])
        assert ENTITY_ID.match(config["default_entity_id"]), config["default_entity_id"]
        assert config["default_entity_id"].startswith(f"{component}.")
        assert "object_id" not in config  # deprecated by HA 2025.10, gone in 2026.4
        device = config["device"]
        assert device["identifiers"] and device["name"] and device["manufacturer"]
        assert device["model"]
        assert config["origin"]["name"] == "pvopt"
        assert (config["payload_available"], config["payload_not_available"]) == (
            "online",
            "offline",
        )
    assert len({json.loads(m.payload)["unique_id"] for m in messages}) == len(messages)


def test_the_prefix_is_configurable() -> None:
    messages = ha.meter_messages("ha/discovery")
    assert all(m.topic.startswith("ha/discovery/sensor/") for m in messages)
    assert ha.status_topic("ha/discovery") == "ha/discovery/status"
    assert ha.status_topic() == "homeassistant/status"


def test_entity_ids_are_made_valid_from_any_equipment_name() -> None:
    assert ha.entity_slug("pvopt_equipment_Water-Heater__2_power") == (
        "pvopt_equipment_water_heater_2_power"
    )


# -- the meter (teleinfo) ----------------------------------------------------------------------


def test_meter_powers_are_apparent_powers_in_va_and_indexes_energy_in_wh() -> None:
    sensors = by_unique_id(ha.meter_messages())
    assert set(sensors) == {
        "pvopt_linky_sinsts",
        "pvopt_linky_sinsti",
        "pvopt_linky_east",
        "pvopt_linky_eait",
        "pvopt_linky_grid_power",
    }
    grid = sensors.pop("pvopt_linky_grid_power")
    assert (grid["state_topic"], grid["device_class"], grid["unit_of_measurement"]) == (
        "tic/frame",
        "power",
        "W",
    )
    for label in ("SINSTS", "SINSTI"):
        s = sensors[f"pvopt_linky_{label.lower()}"]
        assert s["state_topic"] == f"tic/{label}"
        assert (s["device_class"], s["unit_of_measurement"], s["state_class"]) == (
            "apparent_power",
            "VA",
            "measurement",
        )
    for label in ("EAST", "EAIT"):
        s = sensors[f"pvopt_linky_{label.lower()}"]
        assert s["state_topic"] == f"tic/{label}"
        assert (s["device_class"], s["unit_of_measurement"], s["state_class"]) == (
            "energy",
            "Wh",
            "total_increasing",
        )
    for s in sensors.values():
        assert s["availability_topic"] == "pvopt/teleinfo/status"
        assert s["device"]["manufacturer"] == "Enedis"
        assert s["expire_after"] == ha.METER_EXPIRE_AFTER_S
        assert "value_template" not in s  # tic/<LABEL> is the plain integer


def test_a_historic_meter_gets_papp_and_its_indexes() -> None:
    sensors = by_unique_id(ha.meter_messages(mode="historic"))
    assert sensors["pvopt_linky_papp"]["state_topic"] == "tic/PAPP"
    assert sensors["pvopt_linky_papp"]["device_class"] == "apparent_power"
    assert {sensors[f"pvopt_linky_{i}"]["state_topic"] for i in ("base", "hchc", "hchp")} == {
        "tic/BASE",
        "tic/HCHC",
        "tic/HCHP",
    }
    assert ha.meter_messages(mode="auto") == ha.meter_messages(mode="standard")


# -- the regulation ----------------------------------------------------------------------------


def test_each_equipment_gets_power_energy_mode_reason_and_a_control_select(
    site: SiteConfig,
) -> None:
    topics = set(configs(ha.regulation_messages(site)))
    for name in ("water_heater", "pool_pump", "dehumidifier"):
        base = f"pvopt_equipment_{name}"
        for what in ("power", "energy", "mode", "reason"):
            assert f"homeassistant/sensor/{base}_{what}/config" in topics
        assert f"homeassistant/select/{base}_control/config" in topics
    # Only the water heater has a probe.
    assert "homeassistant/sensor/pvopt_equipment_water_heater_temperature/config" in topics
    assert "homeassistant/sensor/pvopt_equipment_pool_pump_temperature/config" not in topics
    assert "homeassistant/sensor/pvopt_regulation_grid_power/config" in topics
    assert "homeassistant/sensor/pvopt_regulation_surplus/config" in topics


def test_units_and_device_classes_of_the_equipment_sensors(site: SiteConfig) -> None:
    entities = by_unique_id(ha.regulation_messages(site))
    power = entities["pvopt_equipment_pool_pump_power"]
    assert (power["device_class"], power["unit_of_measurement"], power["state_class"]) == (
        "power",
        "W",
        "measurement",
    )
    energy = entities["pvopt_equipment_pool_pump_energy"]
    assert (energy["device_class"], energy["unit_of_measurement"], energy["state_class"]) == (
        "energy",
        "Wh",
        "total_increasing",
    )
    mode = entities["pvopt_equipment_pool_pump_mode"]
    assert mode["device_class"] == "enum"
    assert set(mode["options"]) == {m.value for m in Mode}
    temperature = entities["pvopt_equipment_water_heater_temperature"]
    assert (temperature["device_class"], temperature["unit_of_measurement"]) == (
        "temperature",
        "°C",
    )
    grid = entities["pvopt_regulation_grid_power"]
    assert (grid["device_class"], grid["unit_of_measurement"]) == ("power", "W")
    for entity in entities.values():
        assert entity["state_topic"] == "regulation/status"
        assert entity["availability_topic"] == "pvopt/regulation/status"


def test_the_select_commands_the_equipment_through_its_control_topic(site: SiteConfig) -> None:
    """scr/<id>/control with the config's id, for dimmers and on/off loads alike (the daemon
    subscribes scr/+/control for every type), and only options the daemon accepts."""
    entities = by_unique_id(ha.regulation_messages(site))
    expected = {"water_heater": "scr/0/control", "pool_pump": "scr/pool/control"}
    expected["dehumidifier"] = "scr/plug1/control"
    for name, topic in expected.items():
        select = entities[f"pvopt_equipment_{name}_control"]
        assert select["command_topic"] == topic
        assert select["options"] == ["AUTO", "ON", "OFF"]
        assert select["retain"] is False and select["qos"] == 1
        for option in select["options"]:
            assert parse_scr_control(topic, option.encode()).mode is Mode[option]


def test_equipment_devices_hang_off_the_regulation_device(site: SiteConfig) -> None:
    entities = by_unique_id(ha.regulation_messages(site))
    heater = entities["pvopt_equipment_water_heater_power"]["device"]
    assert heater["identifiers"] == ["pvopt_equipment_water_heater"]
    assert heater["name"] == "water_heater"
    assert heater["model"] == "TempDrivenVariablePowerEquipment"
    regulation = entities["pvopt_regulation_grid_power"]["device"]
    assert heater["via_device"] == regulation["identifiers"][0]


def render(template: str, payload: str) -> str:
    """A value template rendered on a payload, as HA does (a sandboxed Jinja)."""
    return JINJA.from_string(template).render(value_json=json.loads(payload)).strip()


def frame_payload(frame_bytes: bytes, mode: TicMode) -> str:
    """What teleinfo publishes on ``tic/frame`` for these bytes."""
    (frame,) = FrameDecoder(mode).feed(frame_bytes, datetime(2026, 6, 15, 10, 0, tzinfo=UTC))
    return dict(mqtt_messages(frame))["tic/frame"]


@pytest.mark.parametrize(
    ("sinsts_va", "sinsti_va", "expected"),
    [(0, 1258, "-1258"), (2300, 0, "2300"), (870, None, "870")],  # producer, consumer
)
def test_the_meter_grid_power_renders_sinsts_minus_sinsti_of_one_frame(
    sinsts_va: int, sinsti_va: int | None, expected: str
) -> None:
    (grid,) = [m for m in ha.meter_messages() if "grid_power" in m.topic]
    frame = linky_standard_frame(date="E260615100000", sinsts_va=sinsts_va, sinsti_va=sinsti_va)
    template = json.loads(grid.payload)["value_template"]
    assert render(template, frame_payload(frame, TicMode.STANDARD)) == expected
    assert render(template, '{"values": {"EAST": 1}}') == "None"  # HA: unknown, not 0


def test_the_historic_grid_power_is_papp() -> None:
    (grid,) = [m for m in ha.meter_messages(mode="historic") if "grid_power" in m.topic]
    template = json.loads(grid.payload)["value_template"]
    assert render(template, '{"values": {"PAPP": 1430, "BASE": 123}}') == "1430"
    assert render(template, '{"values": {"BASE": 123}}') == "None"


def test_equipment_templates_render_what_regulation_status_says(site: SiteConfig) -> None:
    """Rendered on the status document of a real decision (a pool pump forced on, a
    water heater trimming), each entity shows its own equipment's value."""
    regulator = Regulator(site, ZoneInfo("Europe/Paris"))
    now = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)
    regulator.plant.set_mode("pool_pump", Mode.ON, now)
    document = status_document(regulator.evaluate(MeterSample(now, 0, 2000), now))
    payload = json.dumps(document)
    by_name = {e["name"]: e for e in document["equipment"]}
    entities = by_unique_id(ha.regulation_messages(site))
    checked = 0
    for name, e in by_name.items():
        base = f"pvopt_equipment_{name}"
        shown = {
            what: render(entities[f"{base}_{what}"]["value_template"], payload)
            for what in ("power", "energy", "mode", "reason", "control")
        }
        assert float(shown["power"]) == e["power_w"]
        assert float(shown["energy"]) == e["energy_wh"]
        assert shown["mode"] == e["mode"]
        assert shown["reason"] == e["reason"][:255]
        assert shown["control"] == e["mode"].upper()
        checked += 1
    assert checked == len(site.equipment) and by_name["pool_pump"]["mode"] == "on"
    grid = render(entities["pvopt_regulation_grid_power"]["value_template"], payload)
    assert float(grid) == document["grid_power_w"]


def test_value_templates_read_fields_that_regulation_status_has(site: SiteConfig) -> None:
    """Every ``value_json.X`` and per-equipment ``e.X`` of the templates is a key of the
    status document of a real decision, and each equipment template selects by name."""
    regulator = Regulator(site, ZoneInfo("Europe/Paris"))
    now = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)
    document: dict[str, Any] = status_document(regulator.evaluate(MeterSample(now, 0, 2000), now))
    equipment_keys = set(document["equipment"][0])
    names = {e["name"] for e in document["equipment"]}
    templates = [
        c["value_template"]
        for c in configs(ha.regulation_messages(site)).values()
        if "value_template" in c
    ]
    assert templates
    for template in templates:
        for key in re.findall(r"value_json\.(\w+)", template):
            assert key in document, template
        for key in re.findall(r"\be\.(\w+)", template):
            assert key in equipment_keys, template
        if "value_json.equipment" in template:
            (name,) = re.findall(r'e\.name == "([^"]+)"', template)
            assert name in names


# -- settings ----------------------------------------------------------------------------------


def test_discovery_is_off_by_default_under_the_homeassistant_prefix() -> None:
    s = load_settings({})
    assert s.ha_discovery is False
    assert s.ha_discovery_prefix == "homeassistant"


@pytest.mark.parametrize(("raw", "expected"), [("on", True), ("TRUE", True), ("0", False)])
def test_discovery_is_switched_with_ha_discovery(raw: str, expected: bool) -> None:
    assert load_settings({"HA_DISCOVERY": raw}).ha_discovery is expected


def test_the_prefix_is_read_from_ha_discovery_prefix() -> None:
    assert load_settings({"HA_DISCOVERY_PREFIX": "ha/disc"}).ha_discovery_prefix == "ha/disc"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"HA_DISCOVERY": "maybe"}, "HA_DISCOVERY: expected on or off, got 'maybe'"),
        ({"HA_DISCOVERY_PREFIX": "home/#"}, "HA_DISCOVERY_PREFIX: expected an MQTT topic"),
        ({"HA_DISCOVERY_PREFIX": "/ha"}, "HA_DISCOVERY_PREFIX: expected an MQTT topic"),
    ],
)
def test_bad_discovery_settings_are_refused(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_settings(env)
