"""Screenshots of ``pvopt web``'s history view: docs/web-history-phone.png (390 wide) and
docs/web-history-desktop.png (1280 wide), yesterday's curves and the last 30 days, in
English (the README's language).

Reproducible, with the tests' and benchmark's own pieces: a private influxd filled by
``benchmarks/bench_history.py``'s seed (31 days of points as the daemons write them, a
clear-sky triangle of PV, two loads), the real ``pvopt web`` (``web_chain.launch_web``,
no broker), Debian's chromium driven by Playwright with the browser tests' flags.

    PYTHONPATH=. .venv/bin/python scripts/web_history_screenshots.py [--out docs]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from benchmarks.bench_history import seed
from tests.integration.conftest import CHROMIUM_ARGS, DaemonFactory, Influxd, find_binary
from tests.integration.web_chain import launch_web

SIZES = {"phone": (390, 844), "desktop": (1280, 800)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pvopt-history-shots-") as folder:
        tmp = Path(folder)
        influxd = Influxd(find_binary("influxd"), tmp)
        influxd.prepare()
        influxd.start()
        factory = DaemonFactory(tmp)
        try:
            seed(influxd, days=31, every_s=60, loads=2)
            web = launch_web(tmp, factory, 1, influx_port=influxd.port)
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
                        page.goto(f"{web.url}/")
                        page.fill("#password", web.password)
                        page.click("button[type=submit]")
                        page.wait_for_url(f"{web.url}/")
                        history = page.locator("#history")
                        history.locator("summary").click()
                        expect(history.locator(".history-table")).to_be_visible()
                        history.get_by_role("button", name="Yesterday").click()
                        expect(history.locator('path[data-key="grid"]')).to_have_count(1)
                        path = args.out / f"web-history-{name}.png"
                        history.screenshot(path=str(path))
                        print(f"wrote {path}")
                        context.close()
                finally:
                    browser.close()
        finally:
            for daemon in factory.started:
                daemon.stop()
            influxd.stop()


if __name__ == "__main__":
    main()
