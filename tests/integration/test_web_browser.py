"""``pvopt web`` in a real headless Chromium (Debian's ``chromium``, driven by Playwright).

The page's own JavaScript runs: the login form, the live view fed by server-sent events,
the steering buttons, the settings editor, the sign-out form. Everything behind it is real
too: ``pvopt web``, mosquitto and, for the boost and the settings, ``pvopt regulate`` on
free loopback ports; the messages are built by teleinfo's and the regulation's own
functions (tests/integration/web_chain.py). One browser for the module, a fresh context
(cookies, storage) for each test. Playwright's ``expect`` polls the page until its
deadline, so no test sleeps.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pvopt import topics
from pvopt.equipment.model import Command
from pvopt.tic.counts import TicCounts, counts_document

from .conftest import DaemonFactory, Influxd, Mosquitto, Subscriber
from .web_chain import (
    BAD_POWER,
    DRYER,
    SHOWN_MS,
    STEER_CONFIG,
    THREE_LOADS,
    decision_payload,
    frame_payload,
    launch_web,
    load_card,
    sign_in,
)

pytestmark = pytest.mark.integration

KETTLE = replace(DRYER, name="kettle", id="kettle", command=Command("wifi_plug/kettle/in"))


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    """A fresh context (no cookie) in English, at a phone's size, and its page."""
    context = chromium.new_context(locale="en-GB", viewport={"width": 390, "height": 844})
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def test_signing_in_through_the_form_shows_the_live_page(
    page: Any, tmp_path: Path, mosquitto: Mosquitto, teleinfo: DaemonFactory
) -> None:
    from playwright.sync_api import expect

    web = launch_web(tmp_path, teleinfo, mosquitto.port)
    page.goto(f"{web.url}/")
    expect(page).to_have_url(re.compile(r"/login"))
    page.fill("#password", "wrong-" + web.password)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.locator("#live")).to_have_count(0)
    page.fill("#password", web.password)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{web.url}/")
    expect(page.locator("#connection")).to_have_text("Live")  # the stream is open
    expect(page.locator("#status")).to_contain_text("MQTT broker")
    expect(page.locator("#status .database")).to_contain_text("Database (InfluxDB)")
    expect(page.locator("#loads")).to_contain_text("Loads")


def test_a_published_frame_and_decision_change_the_page(
    page: Any,
    tmp_path: Path,
    mosquitto: Mosquitto,
    teleinfo: DaemonFactory,
    subscriber: Subscriber,
) -> None:
    """Pins live.js: a load's power, the grid and the EJP days announced follow what the
    daemons publish."""
    from playwright.sync_api import expect

    web = launch_web(tmp_path, teleinfo, mosquitto.port)
    sign_in(page, web)
    publish = subscriber.client.publish
    publish(topics.FRAME, frame_payload(0, 1834), qos=1)
    publish(topics.DECISION, decision_payload(0, 1834), qos=1)  # the dryer waits: 0 W
    dryer = load_card(page, "dryer")
    expect(page.locator("#grid")).to_contain_text("1,834 W", timeout=SHOWN_MS)
    expect(page.locator("#grid")).to_contain_text("Exporting")
    expect(dryer.locator(".power")).to_have_text("0 W", timeout=SHOWN_MS)

    publish(topics.DECISION, decision_payload(0, 1834, evaluations=40), qos=1)  # on: 500 W
    expect(dryer.locator(".power")).to_have_text("500 W", timeout=SHOWN_MS)
    expect(dryer).to_contain_text("on: surplus")

    publish(topics.FRAME, frame_payload(700, 0), qos=1)
    expect(page.locator("#grid")).to_contain_text("Importing", timeout=SHOWN_MS)
    expect(page.locator("#grid")).to_contain_text("700 W")

    expect(page.locator("#tariff")).not_to_contain_text("EJP")  # not an ejp contract
    told = {"today": None, "tomorrow": True}  # regulation/ejp, as the regulation says it
    publish(topics.DECISION, decision_payload(700, 0, ejp=told), qos=1)
    tomorrow = page.locator("#tariff .row").filter(has_text="EJP tomorrow")
    expect(tomorrow).to_contain_text("EJP day (peak 07:00–01:00)", timeout=SHOWN_MS)
    today = page.locator("#tariff .row").filter(has_text="EJP today")
    expect(today).to_contain_text("not announced")


def test_the_meter_view_shows_teleinfos_frame_rate_and_rejected_groups(
    page: Any,
    tmp_path: Path,
    mosquitto: Mosquitto,
    teleinfo: DaemonFactory,
    subscriber: Subscriber,
) -> None:
    """Pins meter.js's decoder section: teleinfo's own counts (tic/stats), frames
    rejected whole included, shown once the household opens the view."""
    from playwright.sync_api import expect

    web = launch_web(tmp_path, teleinfo, mosquitto.port)
    sign_in(page, web)
    page.locator("#meter summary").click()
    decoder = page.locator("#meter .meter-decoder")
    expect(decoder).to_contain_text("not given its counts yet")
    counts = TicCounts("standard", 4810, 3, 17, 15, 2, 49)
    publish = subscriber.client.publish
    publish(topics.FRAME, frame_payload(0, 1834), qos=1)
    publish(topics.TIC_STATS, counts_document(counts, datetime.now(UTC)), qos=1)
    expect(decoder.locator(".decoder-rate .value")).to_have_text("49", timeout=5000)
    expect(decoder.locator(".decoder-frames .value")).to_have_text("4,810 / 3")
    expect(decoder.locator(".decoder-groups .value")).to_have_text("17 (15 / 2)")


def test_boost_pressed_on_the_page_is_shown_from_the_regulations_status(
    page: Any,
    tmp_path: Path,
    mosquitto: Mosquitto,
    teleinfo: DaemonFactory,
    subscriber_factory: Callable[..., Subscriber],
    meter: None,
) -> None:
    """Pins the steering loop: the page says "sent" at once, and "forced 1000 W for
    30 min" only once the real ``pvopt regulate`` reports it in regulation/status."""
    from playwright.sync_api import expect

    config = tmp_path / "equipment_config.yml"
    config.write_text(STEER_CONFIG)
    sub = subscriber_factory(["regulation/#"])
    reg = teleinfo.regulate(config)
    reg.wait_log("regulating 2 loads")
    web = launch_web(tmp_path, teleinfo, mosquitto.port, config)
    sign_in(page, web)
    heater = load_card(page, "water_heater")
    expect(heater).to_contain_text("Auto")  # the regulation's own status, nothing exported
    expect(heater.locator(".power")).to_have_text("0 W")

    mark = sub.mark()
    controls = page.locator('.steer-load[data-load="0"]')
    # the mode buttons show the regulation's mode, not what was last pressed
    expect(controls.locator('button[data-mode="AUTO"]')).to_have_attribute("aria-pressed", "true")
    expect(controls.locator('button[data-mode="AUTO"]')).to_have_class(re.compile(r"\bcurrent\b"))
    expect(controls.locator('button[data-mode="OFF"]')).to_have_attribute("aria-pressed", "false")
    expect(controls.locator('input[name="minutes"]')).to_have_value("30")
    controls.locator('input[name="power_w"]').fill("1000")
    controls.get_by_role("button", name="Boost").click()
    expect(controls.locator(".steer-result")).to_have_text(re.compile(r"^Sent to the regulation"))
    # what the live view shows comes from the regulation: its status says forced
    expect(heater).to_contain_text("forced 1000 W for 30 min", timeout=5000)
    expect(heater.locator(".power")).to_have_text("1,000 W")
    expect(heater.locator(".load-state")).to_contain_text("Boost")
    forced = sub.wait_for(
        lambda m: (
            m.topic == topics.DECISION
            and any(e["name"] == "water_heater" and e["forced"] for e in m.json()["equipment"])
        ),
        since=mark,
    )
    assert forced.json()["equipment"][1]["reason"].startswith("forced 1000 W for 30 min")
    # boosted: none of AUTO / ON / OFF is the mode any more
    expect(controls).to_have_class(re.compile(r"\bforced\b"))
    expect(controls.locator('button[aria-pressed="true"]')).to_have_count(0)
    # today's figures are the regulation's own count: the boosted heater draws while the
    # meter reads no import, so it diverts (and saves) from the first frames on
    regulation = page.locator("#regulation")
    expect(regulation.locator(".today-diverted .value")).to_have_text(re.compile(r"^[1-9]\d*\sWh$"))
    expect(regulation.locator(".today-saved .value")).to_have_text(re.compile(r"^\d+\.\d\d\s€$"))


def test_the_load_list_is_fetched_again_when_the_regulations_loads_change(
    page: Any,
    tmp_path: Path,
    mosquitto: Mosquitto,
    teleinfo: DaemonFactory,
    subscriber: Subscriber,
) -> None:
    """Pins steer.js's reload: a regulation status naming other loads (its configuration
    was reloaded) makes the page ask /api/loads again; the same loads again do not."""
    from playwright.sync_api import expect

    fetched: list[str] = []
    page.on("request", lambda r: fetched.append(r.url) if r.url.endswith("/api/loads") else None)
    config = tmp_path / "equipment_config.yml"
    config.write_text(STEER_CONFIG)
    web = launch_web(tmp_path, teleinfo, mosquitto.port, config)
    sign_in(page, web)
    expect(page.locator(".steer-load")).to_have_count(2)
    publish = subscriber.client.publish
    publish(topics.DECISION, decision_payload(0, 1834), qos=1)
    expect(load_card(page, "dryer")).to_have_count(1, timeout=SHOWN_MS)
    publish(topics.DECISION, decision_payload(0, 1834), qos=1)  # the same loads
    page.wait_for_timeout(500)
    assert len(fetched) == 1, fetched
    with page.expect_request(lambda r: r.url.endswith("/api/loads"), timeout=SHOWN_MS):
        publish(topics.DECISION, decision_payload(0, 1834, (DRYER, KETTLE)), qos=1)
    expect(load_card(page, "kettle")).to_have_count(1)
    expect(page.locator(".steer-load")).to_have_count(2)  # the list as /api/loads has it
    assert len(fetched) == 2, fetched


def test_settings_show_an_error_at_its_line_and_the_regulation_confirms_a_good_save(
    page: Any,
    tmp_path: Path,
    mosquitto: Mosquitto,
    teleinfo: DaemonFactory,
    meter: None,
) -> None:
    """Pins settings.js against the real chain: a save with an error marks its line and
    lists its message there, the file on disk byte-identical; a good save is written and
    the page shows the real ``pvopt regulate``'s own confirmation of the reload."""
    from playwright.sync_api import expect

    config = tmp_path / "equipment_config.yml"
    config.write_text(STEER_CONFIG)
    original = config.read_bytes()
    reg = teleinfo.regulate(config)
    reg.wait_log("regulating 2 loads")
    web = launch_web(tmp_path, teleinfo, mosquitto.port, config)
    sign_in(page, web)
    settings = page.locator("#settings")
    editor = settings.locator("#settings-text")
    confirmation = settings.locator(".settings-regulation")
    expect(editor).to_have_value(STEER_CONFIG)
    expect(confirmation).to_contain_text("started at")  # its retained regulation/config

    editor.fill(BAD_POWER)
    settings.get_by_role("button", name="Save").click()
    expect(settings.locator(".settings-result")).to_have_text("1 error(s): nothing was written.")
    expect(settings.locator('.settings-gutter [data-line="15"]')).to_have_class("bad")
    expect(settings.locator(".settings-gutter .bad")).to_have_count(1)
    error = settings.locator('.settings-error[data-line="15"]')
    expect(error).to_contain_text("line 15")
    expect(error).to_contain_text("equipment[2].nominal_power: expected")
    assert config.read_bytes() == original  # never written
    assert sorted(p.name for p in tmp_path.glob("equipment_config.yml*")) == [config.name]

    editor.fill(THREE_LOADS)
    settings.get_by_role("button", name="Save").click()
    expect(settings.locator(".settings-result")).to_contain_text("Saved (3 load(s))")
    expect(settings.locator(".settings-gutter .bad")).to_have_count(0)
    expect(confirmation).to_have_text(
        re.compile(r"^Regulation: reloaded at \d\d:\d\d:\d\d, 3 load\(s\)\.$"), timeout=10_000
    )
    assert config.read_text() == THREE_LOADS
    reg.wait_log("configuration reloaded from")


def test_signing_out_ends_the_session_for_the_page_and_the_api(
    page: Any, tmp_path: Path, mosquitto: Mosquitto, teleinfo: DaemonFactory
) -> None:
    from playwright.sync_api import expect

    web = launch_web(tmp_path, teleinfo, mosquitto.port)
    sign_in(page, web)
    (session,) = [c for c in page.context.cookies() if c["name"] == "pvopt_session"]
    page.locator("form.logout button").click()
    expect(page).to_have_url(re.compile(r"/login"))
    page.goto(f"{web.url}/")
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.locator("#password")).to_be_visible()
    reply = page.request.get(f"{web.url}/api/live")  # with the context's cookies
    assert reply.status == 401, reply.text()
    assert json.loads(reply.text()) == {"error": "Not signed in"}
    assert not [c for c in page.context.cookies() if c["name"] == "pvopt_session"]
    # and the cookie the browser had before cannot be replayed either
    replayed = urllib.request.Request(
        f"{web.url}/api/live", headers={"Cookie": f"pvopt_session={session['value']}"}
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(replayed, timeout=5)
    refused.value.close()  # the refusal holds the connection: closed here, not by the GC
    assert refused.value.code == 401


def test_the_history_draws_the_databases_curves_and_euros_and_says_when_it_is_down(
    page: Any, tmp_path: Path, mosquitto: Mosquitto, influxd: Influxd, teleinfo: DaemonFactory
) -> None:
    """Pins history.js: yesterday's lines and the days' € come from the seeded influxd
    (tests/integration/test_web_history.py), a day without € shows "—", and a database
    that is down is said, with no chart."""
    from playwright.sync_api import expect

    from .test_web_history import seed

    seeded = seed(influxd)
    web = launch_web(tmp_path, teleinfo, mosquitto.port, influx_port=influxd.port)
    sign_in(page, web)
    history = page.locator("#history")
    history.locator("summary").click()
    days = history.locator(".history-table")
    expect(days.locator(f'tr[data-date="{seeded.yesterday}"]')).to_contain_text("€1.25")
    expect(days.locator(f'tr[data-date="{seeded.yesterday}"]')).to_contain_text("3 kWh")
    expect(days.locator(f'tr[data-date="{seeded.before}"] td.h-cost')).to_have_text("—")
    expect(days.locator(f'tr[data-date="{seeded.before}"] td.h-import')).to_have_text("≈ 1 kWh")
    expect(history.locator(f'rect.h-cost[data-date="{seeded.yesterday}"]')).to_have_count(1)
    expect(history.locator(f'rect.h-cost[data-date="{seeded.before}"]')).to_have_count(0)

    history.get_by_role("button", name="Yesterday").click()
    chart = history.locator(".history-day")
    for key in ("grid", "pv", "load:water_heater", "temperature:water_heater"):
        expect(chart.locator(f'svg path[data-key="{key}"]')).to_have_attribute(
            "d", re.compile(r"^M")
        )
    # the grid's line is broken where nothing was stored: several pieces, not one
    grid = chart.locator('svg path[data-key="grid"]').get_attribute("d")
    assert grid is not None and grid.count("M") >= 2, grid
    expect(chart.locator(".history-legend").first).to_contain_text("PV surplus")
    expect(chart.locator("figcaption").first).to_have_text("Power")

    influxd.stop()
    history.get_by_role("button", name="Today").click()
    expect(chart.locator(".history-error")).to_have_text(
        re.compile(r"^History unavailable: InfluxDB unreachable at 127\.0\.0\.1:")
    )
    expect(chart.locator("svg")).to_have_count(0)
