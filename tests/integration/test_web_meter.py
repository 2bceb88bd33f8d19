"""``pvopt web``'s meter view against the real daemon and a real mosquitto.

The daemon runs as ``python -m pvopt web`` (the fixture of test_web_live); the test
publishes what teleinfo publishes for a TIC frame built by the encoder and decoded by the
real decoder (teleinfo's own ``mqtt_messages``), and reads ``GET /api/meter`` as a
signed-in browser would. No mock anywhere.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from pvopt import topics
from pvopt.daemons.teleinfo import mqtt_messages
from pvopt.tic import Frame, FrameDecoder
from pvopt.tic import Mode as TicMode
from pvopt.tic.counts import TicCounts, counts_document
from pvopt.tic.encoder import encode_frame, encode_group, historic_frame, linky_standard_frame

from .conftest import Subscriber
from .test_web_live import web  # noqa: F401  (the daemon's fixture)
from .test_web_security import Browser
from .web_chain import WebDaemon

pytestmark = pytest.mark.integration


def decoded(data: bytes, mode: TicMode = TicMode.STANDARD) -> Frame:
    (frame,) = FrameDecoder(mode).feed(data, datetime.now(UTC))
    return frame


def publish(subscriber: Subscriber, frame: Frame) -> None:
    subscriber.client.publish(topics.FRAME, dict(mqtt_messages(frame))[topics.FRAME], qos=1)


def meter_until(browser: Browser, test: Any, timeout: float = 5.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        reply = browser.request("GET", "/api/meter")
        assert reply.status == 200, reply.body
        assert reply.header("Content-Type").startswith("application/json")
        doc = json.loads(reply.body)
        if doc["meter"] is not None and test(doc["meter"]):
            return doc["meter"]  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, f"no such meter view in {timeout} s: {doc}"
        time.sleep(0.1)


def test_a_published_frame_shows_every_label_and_stge_decoded(
    web: WebDaemon,  # noqa: F811
    subscriber: Subscriber,
) -> None:
    browser = web.browser()
    first = json.loads(browser.request("GET", "/api/meter").body)
    assert first["meter"] is None  # nothing heard yet: no invented values

    frame = decoded(linky_standard_frame(date="E260614120000", sinsts_va=0, sinsti_va=1834))
    publish(subscriber, frame)
    meter = meter_until(browser, lambda m: m["mode"] == "standard")
    labels = {row["label"]: row for row in meter["labels"]}
    assert set(labels) == {*frame.values, *frame.horodates}  # every label, DATE included
    for label, value in frame.values.items():
        assert labels[label]["value"] == value, label
    assert labels["SINSTI"]["unit"] == "VA" and labels["EAST"]["unit"] == "Wh"
    fields = {f["name"]: f for f in meter["stge"]["fields"]}
    assert meter["stge"]["raw"] == frame.values["STGE"]
    assert (fields["producer"]["code"], fields["direction"]["code"]) == ("producer", "negative")
    assert meter["stale"] is False and 0 <= meter["age_s"] < 5
    assert meter["frames_per_minute"] == 1
    assert (meter["rejected_groups"], meter["rejected_groups_total"]) == (0, 0)

    # a historic frame with a damaged group: the historic table, no STGE, the count
    values = {"ADCO": "031762120851", "OPTARIF": "BASE", "ISOUSC": "30", "BASE": "012345678"}
    groups = [encode_group(k, v, TicMode.HISTORIC) for k, v in values.items()]
    bad = bytearray(encode_group("PAPP", "01870", TicMode.HISTORIC))
    bad[-2] = ord("!") if bad[-2] != ord("!") else ord('"')
    damaged = decoded(encode_frame([*groups, bytes(bad)]), TicMode.HISTORIC)
    assert damaged.rejected_groups == 1
    publish(subscriber, damaged)
    meter = meter_until(browser, lambda m: m["mode"] == "historic")
    assert [row["label"] for row in meter["labels"]] == list(values)
    assert {row["label"]: row["unit"] for row in meter["labels"]}["ISOUSC"] == "A"
    assert meter["stge"] is None
    assert (meter["rejected_groups"], meter["rejected_groups_total"]) == (1, 1)
    assert meter["frames_per_minute"] == 2
    publish(subscriber, decoded(historic_frame(values), TicMode.HISTORIC))
    meter = meter_until(browser, lambda m: m["frames_per_minute"] == 3)
    assert (meter["rejected_groups"], meter["rejected_groups_total"]) == (0, 1)


def test_the_meter_needs_a_session_and_the_page_links_its_view(
    web: WebDaemon,  # noqa: F811
) -> None:
    anonymous = Browser(web.port).request("GET", "/api/meter")
    assert anonymous.status == 401
    assert "labels" not in anonymous.body
    page = web.browser().request("GET", "/", headers={"Accept-Language": "en"})
    assert '<details id="meter"' in page.body and "<summary>Meter</summary>" in page.body
    french = web.browser().request("GET", "/?lang=fr")
    assert "<summary>Compteur</summary>" in french.body
    assert web.browser().request("GET", "/static/meter.js").status == 200


def test_teleinfos_counts_published_on_tic_stats_reach_the_meter_view(
    web: WebDaemon,  # noqa: F811
    subscriber: Subscriber,
) -> None:
    browser = web.browser()
    assert json.loads(browser.request("GET", "/api/meter").body)["decoder"] is None
    counts = TicCounts("historic", 300, 2, 5, 5, 0, 29)
    subscriber.client.publish(topics.TIC_STATS, counts_document(counts, datetime.now(UTC)))
    deadline = time.monotonic() + 5
    while (decoder := json.loads(browser.request("GET", "/api/meter").body)["decoder"]) is None:
        assert time.monotonic() < deadline, "tic/stats never reached /api/meter"
        time.sleep(0.1)
    assert (decoder["frames_accepted"], decoder["frames_rejected"]) == (300, 2)
    assert (decoder["groups_rejected"], decoder["frames_per_minute"]) == (5, 29)
    assert decoder["mode"] == "historic" and decoder["stale"] is False
