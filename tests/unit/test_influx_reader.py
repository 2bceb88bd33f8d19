"""The history's InfluxDB reader: what it sends, and a clear reason for every way the
database can fail (the page shows it). Answers the real influxd gives are tested in
tests/integration/test_web_history.py; here a loopback HTTP server answers what influxd
rarely does (refused credentials, a server error, not JSON, silence)."""

from __future__ import annotations

import base64
import json
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pvopt.config import InfluxSettings
from pvopt.io.influx_reader import InfluxReader, InfluxUnavailable


@dataclass
class Canned:
    """What the server answers next, and what it was asked."""

    status: int = 200
    body: bytes = b'{"results":[{"statement_id":0}]}'
    delay_s: float = 0.0
    asked: list[tuple[str, dict[str, list[str]], str | None]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def server() -> Iterator[tuple[Canned, int]]:
    canned = Canned()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            canned.asked.append(
                (url.path, urllib.parse.parse_qs(url.query), self.headers.get("Authorization"))
            )
            if canned.delay_s:
                canned.release.wait(canned.delay_s)
            self.send_response(canned.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(canned.body)))
            self.end_headers()
            self.wfile.write(canned.body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield canned, httpd.server_address[1]
    finally:
        canned.release.set()
        httpd.shutdown()
        httpd.server_close()


def reader(port: int, **settings: str) -> InfluxReader:
    return InfluxReader(InfluxSettings(host="127.0.0.1", port=port, **settings), timeout_s=1.0)


def test_the_statements_go_in_one_get_with_epoch_seconds_and_the_credentials(
    server: tuple[Canned, int],
) -> None:
    canned, port = server
    canned.body = json.dumps(
        {"results": [{"statement_id": 0, "series": []}, {"statement_id": 1}]}
    ).encode()
    found = reader(port, username="pvopt", password="s3cret").query(["SELECT 1", "SELECT 2"])
    assert found == [{"statement_id": 0, "series": []}, {"statement_id": 1}]
    ((path, query, authorization),) = canned.asked
    assert path == "/query"
    assert query == {"db": ["teleinfo"], "q": ["SELECT 1;SELECT 2"], "epoch": ["s"]}
    assert authorization == "Basic " + base64.b64encode(b"pvopt:s3cret").decode()


def test_without_a_user_no_credentials_are_sent(server: tuple[Canned, int]) -> None:
    canned, port = server
    reader(port).query(["SELECT 1"])
    assert canned.asked[0][2] is None


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (
            401,
            b'{"error":"authorization failed"}',
            "InfluxDB refused pvopt's credentials (HTTP 401)",
        ),
        (500, b'{"error":"engine: cache full"}', "InfluxDB answered HTTP 500: engine: cache full"),
        (502, b"<html>bad gateway</html>", "InfluxDB answered HTTP 502: no reason given"),
        (200, b"<html>not influx</html>", "InfluxDB's answer is not JSON"),
        (200, b'{"error":"x"}', "InfluxDB's answer has no results: x"),
        (
            200,
            b'{"results":[{"statement_id":0,"error":"invalid duration"},'
            b'{"statement_id":1,"error":"not executed"}]}',
            "InfluxDB: invalid duration",
        ),
    ],
)
def test_each_failure_has_its_reason(
    server: tuple[Canned, int], status: int, body: bytes, reason: str
) -> None:
    canned, port = server
    canned.status, canned.body = status, body
    with pytest.raises(InfluxUnavailable) as failed:
        reader(port, username="pvopt", password="s3cret").query(["SELECT 1"])
    assert str(failed.value) == reason
    assert "s3cret" not in str(failed.value)


def test_a_silent_database_is_unavailable_after_the_timeout(server: tuple[Canned, int]) -> None:
    canned, port = server
    canned.delay_s = 5.0
    with pytest.raises(
        InfluxUnavailable, match=r"^InfluxDB unreachable at 127\.0\.0\.1:\d+/teleinfo"
    ):
        reader(port).query(["SELECT 1"])


def test_nobody_listening_is_unavailable() -> None:
    with pytest.raises(
        InfluxUnavailable, match=r"^InfluxDB unreachable at 127\.0\.0\.1:1/teleinfo"
    ):
        reader(1).query(["SELECT 1"])
