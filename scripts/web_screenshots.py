"""Screenshots of ``pvopt web``'s live page: docs/web-live-phone.png (390×844) and
docs/web-live-desktop.png (1280×800), in English (the README's language).

Reproducible, with the browser tests' own pieces (tests/integration: a private mosquitto,
``pvopt web`` on a free loopback port, Debian's chromium driven by Playwright) and a
realistic noon: 2.8 kW of PV, a household drawing 450 W, the pool pump on and the water
heater's dimmer taking the rest, the regulation having converged (its status computed by
the real :class:`~pvopt.regulation.core.Regulator` in a closed loop over the simulated
house, the meter's frame by teleinfo's own functions), the tank at 52.5 °C, a PV forecast;
today's energy and money counted by the regulation's own ledger over the simulated
morning (four hours of sun rising to noon), and both daemons reaching the database.

    PYTHONPATH=. .venv/bin/python scripts/web_screenshots.py [--out docs]
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from pvopt import topics
from pvopt.daemons.power_regulation import status_document
from pvopt.database_state import DatabaseState, state_document
from pvopt.equipment.loader import parse_site_config
from pvopt.forecast import PvForecast, Slot
from pvopt.regulation.core import Regulator
from pvopt.regulation.model import MeterSample
from pvopt.regulation.today import DayLedger
from tests.integration.conftest import (
    CHROMIUM_ARGS,
    DaemonFactory,
    Mosquitto,
    Subscriber,
    find_binary,
)
from tests.integration.web_chain import PARIS, STEER_CONFIG, frame_payload, launch_web

PV_W = 2800.0
HOUSE_W = 450.0
SIZES = {"phone": (390, 844), "desktop": (1280, 800)}
UP = DatabaseState(reachable=True, spool_points=0, memory_points=0, dropped_points=0)


def pv_w(at: datetime, noon: datetime) -> float:
    """The simulated PV power: a clear morning rising to PV_W at ``noon``."""
    hours = (at - noon).total_seconds() / 3600
    return PV_W * max(0.0, math.cos(math.pi * hours / 14)) ** 1.5


def converged_status(forecast: PvForecast) -> tuple[str, int]:
    """regulation/status after a simulated morning of closed loop over the house (a
    reading every 2 s for 4 h up to now, today's counts kept as pvopt regulate keeps
    them), and the grid's VA."""
    site = parse_site_config(STEER_CONFIG)
    regulator = Regulator(site, PARIS)
    regulator.plant.forecast = forecast
    ledger = DayLedger(site, PARIS, site.regulation.stale_timeout_s)
    noon = datetime.now(UTC)
    start = noon - timedelta(hours=4)
    loads_w = 0.0
    document: dict[str, object] = {}
    for step in range(4 * 1800 + 1):
        at = start + timedelta(seconds=2 * step)
        grid = round(HOUSE_W + loads_w - pv_w(at, noon))
        sample = MeterSample(at, max(grid, 0), max(-grid, 0))
        decision = regulator.evaluate(sample, at)
        loads_w = sum(o.power_w for o in decision.outputs)
        if decision.grid_w is not None and not decision.safe:
            ledger.reading(at, decision.grid_w, loads_w, sample.tariff)
        document = status_document(decision, None, ledger.today(at))
    return json.dumps(document, allow_nan=False), round(HOUSE_W + loads_w - PV_W)


def forecast() -> PvForecast:
    """A clear day's PV forecast, half-hourly over two days, its noon now (whatever the
    clock says when the script runs: the picture is of a sunny noon)."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    first = now - timedelta(hours=12, minutes=now.minute % 30)
    slots = []
    for n in range(96):
        begin = first + timedelta(minutes=30 * n)
        hours_from_noon = ((begin - now).total_seconds() / 3600 + 0.25 + 12) % 24 - 12
        sun = max(0.0, math.cos(math.pi * hours_from_noon / 14))
        slots.append(Slot(begin, 1800.0, round(3000 * sun**1.5)))
    return PvForecast(now - timedelta(hours=2), tuple(slots))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs"))
    out = parser.parse_args().out
    with tempfile.TemporaryDirectory(prefix="pvopt-shots-") as folder:
        tmp = Path(folder)
        mosquitto = Mosquitto(find_binary("mosquitto"), tmp)
        mosquitto.prepare()
        mosquitto.start()
        factory = DaemonFactory(tmp, mosquitto)
        publisher = Subscriber(mosquitto.host, mosquitto.port, ["pvopt/nothing"])
        try:
            config = tmp / "equipment_config.yml"
            config.write_text(STEER_CONFIG)
            web = launch_web(tmp, factory, mosquitto.port, config)
            web.daemon.wait_log("connected to MQTT broker")
            publisher.wait_connected()
            pv = forecast()
            status, grid_va = converged_status(pv)
            for topic, payload in (
                (topics.TELEINFO_STATUS, "online"),
                (topics.REGULATION_STATUS, "online"),
                (topics.TELEINFO_DATABASE, state_document(UP, datetime.now(UTC))),
                (topics.REGULATION_DATABASE, state_document(UP, datetime.now(UTC))),
                (topics.FORECAST, pv.to_json()),
                ("scr/0/temperature", "52.5"),
                (topics.FRAME, frame_payload(max(grid_va, 0), None)),
                (topics.DECISION, status),
            ):
                publisher.client.publish(topic, payload, qos=1, retain=True).wait_for_publish(5)
            shoot(web.url, web.password, out)
        finally:
            publisher.close()
            for daemon in factory.started:
                daemon.stop()
            mosquitto.stop()


def shoot(url: str, password: str, out: Path) -> None:
    """Sign in through the form, wait for the live view to fill, screenshot each size."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=find_binary("chromium"), args=CHROMIUM_ARGS
        )
        try:
            for name, (width, height) in SIZES.items():
                context = browser.new_context(
                    locale="en-GB", viewport={"width": width, "height": height}
                )
                page = context.new_page()
                page.goto(f"{url}/login")
                page.fill("#password", password)
                page.click("button[type=submit]")
                expect(page.locator("#connection")).to_have_text("Live")
                expect(page.locator("#loads li.load")).to_have_count(2)
                expect(page.locator("#pv")).to_contain_text("Today")
                expect(page.locator(".steer-load")).to_have_count(2)
                expect(page.locator("#regulation .today-saved .value")).to_contain_text("€")
                expect(page.locator("#status .database")).to_contain_text("reachable")
                overflow = page.evaluate(
                    "document.documentElement.scrollWidth - document.documentElement.clientWidth"
                )
                assert overflow <= 0, f"{name}: {overflow} px wider than the screen"
                path = out / f"web-live-{name}.png"
                page.screenshot(path=str(path), full_page=True)
                print(f"{path} ({width}×{height}, full page)")
                page.locator("form.logout button").click()  # one session open per picture
                context.close()
        finally:
            browser.close()


if __name__ == "__main__":
    main()
