"""Every view of ``pvopt web`` at a phone's width and a computer's, in French and in
English, in a real headless Chromium (issue #16: "every page works at a phone's width and
in French and English, from the browser's language, switchable").

For a browser set to French and one set to English, at 360×740 (a small phone) and
1280×800: the login page, then the live view fed a frame and a decision (cards and loads
filled), the steering, the history (read from a seeded influxd), the meter view and the
settings, every section open. The rules checked on each:

- **no sideways scrolling**: the document is no wider than the window, and no element
  sticks out past the window's right (or left) edge, except inside a box that scrolls or
  clips on its own (the history table's wrapper, the meter's label table, the editor);
- **big enough to tap**: every visible button, link, ``<summary>`` and form field is at
  least :data:`TAP_PX` CSS pixels tall and wide (WCAG 2.5.5 and Apple ask 44, Material
  48 dp: 40 leaves a margin for the font, never less);
- **one language**: ``<html lang>`` is the browser's language; a few key labels of each
  section are the i18n table's text in that language; no word that only the other
  language's texts use is visible (the texts pvopt does not translate, named in
  :data:`NOT_TRANSLATED`, are left out); a file refused shows the check's message in the
  page's language;
- **nothing raw**: no ``{{placeholder}}``, ``{name}``, ``undefined``, ``NaN``, ``null``;
  and no number apart from its unit at a line's end (a no-break space joins them).

Then the switch: the page's link changes the language, and it is remembered (a new visit
without ``?lang=`` keeps it, the browser's own language notwithstanding).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pvopt import topics
from pvopt.database_state import DatabaseState, state_document
from pvopt.equipment.check import check_config_text
from pvopt.equipment.loader import parse_site_config
from pvopt.forecast import PvForecast, Slot
from pvopt.web import config_messages, i18n, reasons
from pvopt.web.i18n import Lang

from .conftest import DaemonFactory, Influxd, Mosquitto, Subscriber
from .test_web_history import seed
from .web_chain import (
    BAD_POWER,
    SHOWN_MS,
    STEER_CONFIG,
    WebDaemon,
    decision_payload,
    frame_payload,
    launch_web,
    load_card,
    sign_in,
)

pytestmark = pytest.mark.integration

#: The smallest a tap target may be, CSS px, both ways (see the module's docstring).
TAP_PX = 40
#: A small phone, then a computer.
SIZES = ((360, 740), (1280, 800))
#: What pvopt shows as it is, in no language of the page's: the loads' names, the file's
#: path and text, the meter's labels and values as the meter sends them. The regulation's
#: reasons and the configuration check's messages are checked: the French page writes
#: them in French (pvopt.web.reasons, pvopt.web.config_messages).
NOT_TRANSLATED = (
    ".name",
    ".steer-load h3",
    ".settings-path",
    "textarea",
    ".meter-labels th.label",
    ".meter-labels td.value",
)

#: A number and its unit with a breakable space between them (a line may end between
#: them): the page joins them with a no-break space.
SPLITTABLE = re.compile(r"\d[ \t\n]+(?:W|Wh|kWh|VA|°C|%|€|s|min|h|j|d)(?!\w)")


@dataclass(frozen=True)
class Browser:
    """A browser's language: its locale and the page's language it should get."""

    locale: str
    lang: Lang

    @property
    def other(self) -> Lang:
        return "en" if self.lang == "fr" else "fr"


BROWSERS = (Browser("fr-FR", "fr"), Browser("en-GB", "en"))

#: Where each view draws, what it must not do (the rules above), measured by the page.
LAYOUT_JS = """(tap) => {
  const width = document.documentElement.clientWidth;
  const describe = (node) => {
    const cls = typeof node.className === "string" ? node.className : "";
    const text = (node.textContent || "").trim().slice(0, 30);
    return `${node.tagName.toLowerCase()}${node.id ? "#" + node.id : ""}` +
      `${cls ? "." + cls.trim().split(/\\s+/).join(".") : ""} "${text}"`;
  };
  const shown = (node) => node.getClientRects().length > 0;
  const insideScroller = (node) => {
    for (let up = node.parentElement; up && up !== document.body; up = up.parentElement) {
      if (getComputedStyle(up).overflowX !== "visible") return true;
    }
    return false;
  };
  const overflowing = [];
  for (const node of document.body.querySelectorAll("*")) {
    if (!shown(node) || insideScroller(node)) continue;
    const box = node.getBoundingClientRect();
    if (box.right > width + 0.5 || box.left < -0.5) {
      overflowing.push(`${describe(node)} ${Math.round(box.left)}..${Math.round(box.right)}`);
    }
  }
  const small = [];
  const targets = "a[href], button, summary, input:not([type=hidden]), select, textarea";
  for (const node of document.querySelectorAll(targets)) {
    if (!shown(node)) continue;
    const box = node.getBoundingClientRect();
    if (box.height < tap || box.width < tap) {
      small.push(`${describe(node)} ${Math.round(box.width)}×${Math.round(box.height)}`);
    }
  }
  return {
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    overflowing,
    small,
  };
}"""

#: The page's visible text nodes, without what pvopt does not translate (the selectors
#: given).
TEXT_JS = """(skip) => {
  const parts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || parent.getClientRects().length === 0) continue;  // not drawn
    if (parent.closest(skip.join(","))) continue;
    parts.push(node.data);
  }
  return parts;
}"""


def words(text: str) -> set[str]:
    """The words of ``text`` (letters only, 4 or more, lower case; ``{names}`` left out)."""
    return {w.lower() for w in re.findall(r"[^\W\d_]{4,}", re.sub(r"\{\w+\}", " ", text))}


def vocabulary(lang: Lang) -> set[str]:
    """Every word of every text pvopt has in ``lang``, the regulation's reasons too (their
    shapes' examples, in English or in French)."""
    found: set[str] = set()
    for table in (i18n.TEXTS, i18n.LIVE_TEXTS):
        for texts in table.values():
            found |= words(texts[lang])
    for shape in reasons.SHAPES:
        found |= words(shape.example if lang == "en" else reasons.french(shape.example))
    return found


def foreign_words(lang: Lang) -> set[str]:
    """The words only the other language's texts use: none of them belongs on the page."""
    other: Lang = "en" if lang == "fr" else "fr"
    return vocabulary(other) - vocabulary(lang)


def check_text(page: Any, lang: Lang, where: str) -> None:
    """One language on the page, and nothing left raw."""
    nodes: list[str] = page.evaluate(TEXT_JS, list(NOT_TRANSLATED))
    shown = " ".join(nodes)
    assert page.locator("html").get_attribute("lang") == lang, where
    stray = sorted(words(shown) & foreign_words(lang))
    assert not stray, f"{where}: words of the other language on a {lang} page: {stray}"
    raw = re.findall(r"\{\{|\{\w+\}|\bundefined\b|\bNaN\b|\bnull\b|\[object", shown)
    assert not raw, f"{where}: raw text on the page: {raw}"
    split = [text for text in nodes if SPLITTABLE.search(text)]
    assert not split, f"{where}: a number and its unit may break apart: {split}"


def check_layout(page: Any, where: str) -> None:
    """No sideways scrolling, every target big enough to tap."""
    found = page.evaluate(LAYOUT_JS, TAP_PX)
    assert found["scrollWidth"] <= found["innerWidth"], f"{where}: {found}"
    assert not found["overflowing"], f"{where}: past the window's edge: {found['overflowing']}"
    assert not found["small"], f"{where}: smaller than {TAP_PX} px: {found['small']}"


def check_labels(page: Any, lang: Lang) -> None:
    """A few key labels of each section, as the i18n tables have them in ``lang``."""
    from playwright.sync_api import expect

    live = i18n.live_texts(lang)
    pool = '#steer .steer-load[data-load="pool"]'
    for selector, expected in (
        ("#connection", live["live"]),
        ("#grid h2", live["grid"]),
        ("#grid .big .label", live["exporting"]),
        ("#regulation h2", live["regulation"]),
        ("#loads h2", live["loads"]),
        ("#status h2", live["status"]),
        ("#steer h2", i18n.text("steer_heading", lang)),
        (f'{pool} button[data-mode="ON"]', i18n.text("steer_on", lang)),
        (f'{pool} button[type="submit"]', i18n.text("steer_boost", lang)),
        ("#history summary", i18n.text("history_title", lang)),
        ('#history button[data-view="yesterday"]', i18n.text("history_yesterday", lang)),
        ("#history .history-days h3", i18n.text("history_days", lang, count=30)),
        ("#history .history-table thead th >> nth=0", i18n.text("history_day", lang)),
        ("#meter summary", i18n.text("meter_title", lang)),
        ("#meter .meter-labels caption", i18n.text("meter_labels", lang)),
        ("#settings h2", i18n.text("settings_heading", lang)),
        ("#settings .settings-save", i18n.text("settings_save", lang)),
        ("#settings .settings-regulation", i18n.text("settings_regulation_none", lang)),
        ("#sessions", i18n.text("sessions_open", lang, count=1)),
        ("form.logout button", i18n.text("logout", lang)),
        ("header .lang a", i18n.text("switch_to", lang)),
    ):
        expect(page.locator(selector), selector).to_have_text(expected)
    expect(load_card(page, "water_heater")).to_contain_text(live["tank"])


def check_reasons(page: Any, house: WebDaemon, lang: Lang) -> None:
    """Each load's reason in the page's language: the regulation's English on an English
    page, its French (the snapshot's ``reason_fr``) on a French one."""
    from playwright.sync_api import expect

    live = page.request.get(f"{house.url}/api/live").json()
    for load in live["loads"]:
        english, french = load["reason"], load["reason_fr"]
        assert french == reasons.french(english) and french != english, load
        shown = load_card(page, load["name"]).locator(".reason")
        expect(shown).to_have_text(french if lang == "fr" else english)


@pytest.fixture
def house(
    tmp_path: Path,
    mosquitto: Mosquitto,
    influxd: Influxd,
    teleinfo: DaemonFactory,
    subscriber: Subscriber,
) -> Iterator[WebDaemon]:
    """``pvopt web`` with two loads to steer, yesterday's history in influxd, and what
    the daemons say retained on the broker: online, the database unreachable for the
    regulation (a banner, points waiting), a forecast, a tank's probe, an exporting frame
    and a decision (the pump on, the heater cut by its thermostat)."""
    config = tmp_path / "equipment_config.yml"
    config.write_text(STEER_CONFIG)
    seed(influxd)
    now = datetime.now(UTC)
    up = state_document(DatabaseState(True, 0, 0, 0), now)
    down = state_document(DatabaseState(False, 12_345, 678, 0), now)  # a banner, a long row
    first = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=12)
    slots = tuple(Slot(first + timedelta(minutes=30 * n), 1800.0, 2000.0) for n in range(96))
    loads = parse_site_config(STEER_CONFIG).equipment
    for topic, payload in (
        (topics.TELEINFO_STATUS, "online"),
        (topics.REGULATION_STATUS, "online"),
        (topics.TELEINFO_DATABASE, up),
        (topics.REGULATION_DATABASE, down),
        (topics.FORECAST, PvForecast(now - timedelta(hours=1), slots).to_json()),
        ("scr/0/temperature", "52.5"),
        (topics.FRAME, frame_payload(0, 1834)),
        (topics.DECISION, decision_payload(0, 3400, loads, evaluations=40)),
    ):
        subscriber.client.publish(topic, payload, qos=1, retain=True).wait_for_publish(5)
    yield launch_web(tmp_path, teleinfo, mosquitto.port, config, influx_port=influxd.port)


@pytest.fixture(params=BROWSERS, ids=[b.locale for b in BROWSERS])
def browser(request: pytest.FixtureRequest) -> Browser:
    """Each test once with a browser set to French, once with one set to English."""
    param: Browser = request.param
    return param


@pytest.fixture
def page(chromium: Any, browser: Browser) -> Iterator[Any]:
    """A fresh context in the browser's language, at a phone's size, and its page."""
    width, height = SIZES[0]
    context = chromium.new_context(
        locale=browser.locale, viewport={"width": width, "height": height}
    )
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def open_every_view(page: Any) -> None:
    """The history (yesterday's curves and the 30 days), the meter and the settings,
    open and filled."""
    from playwright.sync_api import expect

    history = page.locator("#history")
    history.locator("summary").click()
    expect(history.locator(".history-table tbody tr").first).to_be_visible()
    history.locator('button[data-view="yesterday"]').click()
    expect(history.locator('.history-day svg path[data-key="grid"]')).to_have_count(1)
    page.locator("#meter summary").click()
    expect(page.locator("#meter .meter-labels")).to_be_visible()
    expect(page.locator("#meter .meter-stge dl")).to_be_visible()
    expect(page.locator("#settings-text")).to_have_value(STEER_CONFIG)
    expect(page.locator(".steer-load")).to_have_count(2)


def test_every_view_fits_a_phone_and_a_computer_in_the_browsers_language(
    page: Any, house: WebDaemon, browser: Browser
) -> None:
    from playwright.sync_api import expect

    lang = browser.lang
    page.goto(f"{house.url}/")
    expect(page).to_have_url(re.compile(r"/login"))
    login = {
        "h2": i18n.text("login_heading", lang),
        'label[for="password"]': i18n.text("password", lang),
        'button[type="submit"]': i18n.text("login_button", lang),
        ".lang a": i18n.text("switch_to", lang),
    }
    for selector, expected in login.items():
        expect(page.locator(selector)).to_have_text(expected)
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        check_layout(page, f"login {width}px")
        check_text(page, lang, f"login {width}px")

    page.set_viewport_size({"width": SIZES[0][0], "height": SIZES[0][1]})
    sign_in(page, house, i18n.live_texts(lang)["live"])
    expect(load_card(page, "pool_pump").locator(".power")).to_have_text(
        re.compile(r"^800\sW$"), timeout=SHOWN_MS
    )
    open_every_view(page)
    check_labels(page, lang)
    # the longest texts the views write: a control sent, a file refused at its line
    pool = page.locator('.steer-load[data-load="pool"]')
    pool.locator('button[data-mode="AUTO"]').click()
    expect(pool.locator(".steer-result")).to_have_text(i18n.text("steer_sent", lang))
    settings = page.locator("#settings")
    settings.locator("#settings-text").fill(BAD_POWER)
    settings.locator(".settings-save").click()
    expect(settings.locator(".settings-result")).to_have_text(
        i18n.text("settings_invalid", lang).replace("{count}", "1")
    )
    expect(settings.locator('.settings-error[data-line="15"] .where')).to_have_text(
        i18n.text("settings_line", lang).replace("{line}", "15")
    )
    (issue,) = check_config_text(BAD_POWER).issues  # the check's English, or its French
    message = config_messages.french(issue.message) if lang == "fr" else issue.message
    expect(settings.locator('.settings-error[data-line="15"] .message')).to_have_text(
        f"{issue.path}: {message}"
    )
    expect(page.locator("#alerts li.database_down")).to_have_text(
        i18n.live_texts(lang)["alert_database_down"]
    )
    check_reasons(page, house, lang)
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        # the history redraws its charts at the new width: wait until they have it
        page.wait_for_function(
            "() => [...document.querySelectorAll('#history svg')].every(s => Math.abs("
            "s.viewBox.baseVal.width - Math.max(300, s.getBoundingClientRect().width)) <= 20)"
        )
        check_layout(page, f"{lang} {width}px")
        check_text(page, lang, f"{lang} {width}px")


def test_the_switch_changes_the_language_and_it_is_remembered(
    page: Any, house: WebDaemon, browser: Browser
) -> None:
    from playwright.sync_api import expect

    other = browser.other
    page.goto(f"{house.url}/login")
    page.locator(".lang a").click()  # on the login page first
    expect(page.locator("html")).to_have_attribute("lang", other)
    expect(page.locator("h2")).to_have_text(i18n.text("login_heading", other))
    sign_in(page, house, i18n.live_texts(other)["live"])  # a new visit: still `other`
    open_every_view(page)
    check_labels(page, other)
    check_text(page, other, f"switched to {other}")

    page.locator("header .lang a").click()  # and back, from the main page
    expect(page.locator("html")).to_have_attribute("lang", browser.lang)
    expect(page.locator("#connection")).to_have_text(i18n.live_texts(browser.lang)["live"])
    page.goto(f"{house.url}/")
    open_every_view(page)
    check_labels(page, browser.lang)
    check_text(page, browser.lang, f"back to {browser.lang}")
    session = json.loads(page.request.get(f"{house.url}/api/session").text())
    assert session["lang"] == browser.lang
