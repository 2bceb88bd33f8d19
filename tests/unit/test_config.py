"""The environment of docs/design.md §3: defaults, validation, no secret in repr."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from pvopt.cli import main
from pvopt.config import ConfigError, load_settings


def test_defaults_are_the_documented_ones() -> None:
    s = load_settings({})
    assert (s.mqtt.host, s.mqtt.port, s.mqtt.keepalive_s) == ("localhost", 1883, 120)
    assert s.mqtt.username is None and s.mqtt.password is None and not s.mqtt.tls
    assert (s.influx.host, s.influx.port, s.influx.database) == ("localhost", 8086, "teleinfo")
    assert s.influx.username is None
    assert s.teleinfo_port == "/dev/ttyAMA0" and s.teleinfo_mode == "auto"
    assert s.state_dir == Path("/var/lib/pvopt")
    assert s.config_path == Path("equipment_config.yml")
    assert s.log_level == "INFO"
    assert (s.hc_start, s.hc_end) == (time(2, 5), time(6, 50))
    assert str(s.tz) == "Europe/Paris"


def test_values_are_read_from_the_environment() -> None:
    s = load_settings(
        {
            "MQTT_BROKER_HOST": "broker.lan",
            "MQTT_BROKER_PORT": "1884",
            "MQTT_USERNAME": "teleinfo",
            "MQTT_PASSWORD": "s3cret",
            "INFLUXDB_PORT": "8087",
            "INFLUXDB_DATABASE": "house",
            "TELEINFO_PORT": "/dev/ttyUSB0",
            "TELEINFO_MODE": "Historic",
            "PVOPT_STATE_DIR": "/tmp/pvopt",
            "PVOPT_LOG_LEVEL": "debug",
            "HC_START_TIME": "22:30",
            "HC_END_TIME": "06:30",
            "TZ": "UTC",
        }
    )
    assert (s.mqtt.host, s.mqtt.port, s.mqtt.username) == ("broker.lan", 1884, "teleinfo")
    assert (s.influx.port, s.influx.database) == (8087, "house")
    assert (s.teleinfo_port, s.teleinfo_mode) == ("/dev/ttyUSB0", "historic")
    assert s.log_level == "DEBUG"
    assert (s.hc_start, s.hc_end) == (time(22, 30), time(6, 30))


def test_tls_switches_the_default_port_and_accepts_a_ca_file(tmp_path: Path) -> None:
    assert load_settings({"MQTT_TLS": "on"}).mqtt.port == 8883
    ca = tmp_path / "ca.crt"
    ca.write_text("x")
    s = load_settings({"MQTT_TLS": str(ca)})
    assert s.mqtt.tls and s.mqtt.ca_file == ca
    assert not load_settings({"MQTT_TLS": "off"}).mqtt.tls


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"MQTT_BROKER_PORT": "abc"}, "MQTT_BROKER_PORT: expected a whole number, got 'abc'"),
        ({"MQTT_BROKER_PORT": "70000"}, "MQTT_BROKER_PORT: expected a number from 1 to 65535"),
        ({"INFLUXDB_PORT": "8086x"}, "INFLUXDB_PORT"),
        ({"MQTT_KEEPALIVE": "0"}, "MQTT_KEEPALIVE"),
        ({"TELEINFO_MODE": "fast"}, "TELEINFO_MODE: expected one of auto, standard, historic"),
        ({"PVOPT_LOG_LEVEL": "chatty"}, "PVOPT_LOG_LEVEL"),
        ({"HC_START_TIME": "25:00"}, "HC_START_TIME: expected a time of day HH:MM"),
        ({"HC_END_TIME": "6h50"}, "HC_END_TIME"),
        ({"TZ": "Mars/Olympus"}, "TZ: unknown time zone"),
        ({"MQTT_TLS": "/no/such/ca.crt"}, "MQTT_TLS"),
        ({"MQTT_PASSWORD": "pw"}, "MQTT_PASSWORD is set but MQTT_USERNAME is not"),
        ({"INFLUXDB_PASSWORD": "pw"}, "INFLUXDB_PASSWORD is set but INFLUXDB_USERNAME"),
    ],
)
def test_bad_values_are_clear_errors(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        load_settings(env)


def test_secrets_never_appear_in_repr() -> None:
    s = load_settings(
        {
            "MQTT_USERNAME": "u",
            "MQTT_PASSWORD": "mqtt-secret",
            "INFLUXDB_USERNAME": "w",
            "INFLUXDB_PASSWORD": "influx-secret",
        }
    )
    assert "mqtt-secret" not in repr(s) and "influx-secret" not in repr(s)


def test_cli_exits_2_on_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MQTT_BROKER_PORT", "abc")
    assert main(["teleinfo", "--no-mqtt", "--no-influx", "--replay", "/nonexistent"]) == 2
    assert "MQTT_BROKER_PORT" in capsys.readouterr().err
