"""The built-in Open-Meteo client against a canned answer from a local HTTP server (never
the internet), and its configuration."""

from __future__ import annotations

import json
import logging
import threading
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pvopt.config import ConfigError, OpenMeteoSettings, load_settings
from pvopt.forecast import parse_forecast
from pvopt.io.openmeteo import OpenMeteoPublisher, fetch

NOW = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
T0 = int(datetime(2026, 12, 7, 12, tzinfo=UTC).timestamp())
ANSWER = {
    "latitude": 45.75,
    "longitude": 4.85,
    "utc_offset_seconds": 0,
    "minutely_15_units": {"time": "unixtime", "global_tilted_irradiance": "W/m²"},
    "minutely_15": {
        "time": [T0, T0 + 900, T0 + 1800],
        "global_tilted_irradiance": [0.0, 400.0, 800.0],
    },
}


class _Server:
    """A loopback HTTP server answering ``status`` and ``body``; it records the requests."""

    def __init__(self) -> None:
        self.status = 200
        self.body = json.dumps(ANSWER).encode()
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append(self.path)
                self.send_response(server.status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(server.body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"


@pytest.fixture
def server() -> Iterator[_Server]:
    srv = _Server()
    thread = threading.Thread(target=srv.httpd.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.httpd.shutdown()
    srv.httpd.server_close()


def settings(url: str, **changes: object) -> OpenMeteoSettings:
    values: dict[str, object] = {
        "latitude": 45.75,
        "longitude": 4.85,
        "peak_w": 3000.0,
        "tilt_deg": 35.0,
        "azimuth_deg": -20.0,
        "performance_ratio": 0.85,
        "base_url": url,
        **changes,
    }
    return OpenMeteoSettings(**values)  # type: ignore[arg-type]


def test_the_tilted_irradiance_is_asked_for_and_converted_to_pv_power(server: _Server) -> None:
    forecast = fetch(settings(server.url), NOW)
    path, _, query = server.requests[0].partition("?")
    assert path == "/v1/forecast"
    assert urllib.parse.parse_qs(query) == {
        "latitude": ["45.7500"],
        "longitude": ["4.8500"],
        "minutely_15": ["global_tilted_irradiance"],
        "tilt": ["35"],
        "azimuth": ["-20"],
        "timeformat": ["unixtime"],
        "forecast_days": ["3"],
    }
    assert [s.power_w for s in forecast.slots] == [0.0, 1020.0, 2040.0]  # 3000 × G/1000 × 0.85
    assert forecast.slots[0].start == datetime(2026, 12, 7, 11, 45, tzinfo=UTC)
    assert forecast.issued == NOW


def test_the_published_document_is_what_the_regulation_accepts(server: _Server) -> None:
    published: list[str] = []
    stop = threading.Event()

    def publish(document: str) -> bool:
        published.append(document)
        stop.set()
        return True

    publisher = OpenMeteoPublisher(settings(server.url, inverter_w=1500.0), publish, stop)
    publisher.start()
    publisher.join(10.0)
    assert len(published) == 1
    forecast = parse_forecast(published[0].encode(), datetime.now(UTC))
    assert [s.power_w for s in forecast.slots] == [0.0, 1020.0, 1500.0]


@pytest.mark.parametrize(
    ("status", "body", "logged"),
    [
        (500, b"{}", "open-meteo: HTTP 500"),
        (200, b"<html>", "open-meteo: no forecast: open-meteo: not a JSON document"),
        (200, b'{"minutely_15": {"time": [1], "global_tilted_irradiance": [NaN]}}', "NaN"),
        (200, b'{"error": true, "reason": "bad tilt"}', "no minutely_15"),
    ],
)
def test_a_failed_fetch_is_logged_and_publishes_nothing(
    server: _Server, caplog: pytest.LogCaptureFixture, status: int, body: bytes, logged: str
) -> None:
    server.status, server.body = status, body
    published: list[str] = []
    publisher = OpenMeteoPublisher(
        settings(server.url), lambda d: published.append(d) is None, threading.Event()
    )
    with caplog.at_level(logging.WARNING):
        assert publisher.once() is None
        assert publisher.once() is None  # the same error again within the minute: counted
    assert published == []
    assert [r.getMessage() for r in caplog.records if "open-meteo" in r.getMessage()] == [
        caplog.records[0].getMessage()
    ]
    assert logged in caplog.text


def test_an_unreachable_service_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    srv = _Server()
    url = srv.url
    srv.httpd.server_close()  # nothing listens on that port any more
    publisher = OpenMeteoPublisher(settings(url), lambda d: True, threading.Event())
    assert publisher.once() is None
    assert "open-meteo: no forecast" in caplog.text


def test_the_forecast_is_off_by_default() -> None:
    forecast = load_settings({}).forecast
    assert forecast.openmeteo is None
    assert forecast.max_age_s == 24 * 3600


def test_open_meteo_is_read_from_the_environment() -> None:
    env = {
        "FORECAST_OPENMETEO": "on",
        "FORECAST_LATITUDE": "45.75",
        "FORECAST_LONGITUDE": "4.85",
        "FORECAST_PEAK_W": "3000",
        "FORECAST_TILT": "35",
        "FORECAST_AZIMUTH": "-20",
        "FORECAST_PERFORMANCE_RATIO": "0.8",
        "FORECAST_INVERTER_W": "2500",
        "FORECAST_OPENMETEO_URL": "http://127.0.0.1:8080/",
        "FORECAST_OPENMETEO_INTERVAL_H": "6",
        "FORECAST_MAX_AGE_H": "12",
    }
    forecast = load_settings(env).forecast
    assert forecast.max_age_s == 12 * 3600
    assert forecast.openmeteo == OpenMeteoSettings(
        45.75, 4.85, 3000.0, 35.0, -20.0, 0.8, 2500.0, "http://127.0.0.1:8080", 6 * 3600.0
    )


ON = {"FORECAST_OPENMETEO": "on", "FORECAST_LATITUDE": "45", "FORECAST_LONGITUDE": "4"}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"FORECAST_OPENMETEO": "maybe"}, "FORECAST_OPENMETEO: expected on or off"),
        ({"FORECAST_MAX_AGE_H": "0"}, "FORECAST_MAX_AGE_H: expected a number from 1 to 168"),
        ({"FORECAST_MAX_AGE_H": "nan"}, "FORECAST_MAX_AGE_H: expected a number from 1"),
        ({"FORECAST_OPENMETEO": "on"}, "FORECAST_LATITUDE: required with FORECAST_OPENMETEO=on"),
        (ON, "FORECAST_PEAK_W: required with FORECAST_OPENMETEO=on"),
        ({**ON, "FORECAST_PEAK_W": "3kW"}, "FORECAST_PEAK_W: expected a number, got '3kW'"),
        ({**ON, "FORECAST_PEAK_W": "3000", "FORECAST_LATITUDE": "91"}, "FORECAST_LATITUDE"),
        ({**ON, "FORECAST_PEAK_W": "3000", "FORECAST_TILT": "95"}, "FORECAST_TILT"),
        ({**ON, "FORECAST_PEAK_W": "3000", "FORECAST_AZIMUTH": "270"}, "FORECAST_AZIMUTH"),
        ({**ON, "FORECAST_PEAK_W": "3000", "FORECAST_PERFORMANCE_RATIO": "85"}, "FORECAST_PERF"),
        ({**ON, "FORECAST_PEAK_W": "3000", "FORECAST_INVERTER_W": "0"}, "FORECAST_INVERTER_W"),
        ({**ON, "FORECAST_PEAK_W": "3000", "FORECAST_OPENMETEO_URL": "ftp://x"}, "_URL"),
        ({**ON, "FORECAST_PEAK_W": "1", "FORECAST_OPENMETEO_INTERVAL_H": "0.1"}, "_INTERVAL_H"),
    ],
)
def test_bad_forecast_settings_are_clear_errors(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(env)


def test_regulate_exits_2_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from pvopt.cli import main

    monkeypatch.setenv("FORECAST_OPENMETEO", "on")
    assert main(["regulate", "--config", "/nonexistent.yml"]) == 2
    assert "FORECAST_LATITUDE" in capsys.readouterr().err
