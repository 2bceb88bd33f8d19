"""The live view's texts and scripts (pvopt/web/i18n.py, pages.py, static/*.js): every text
the scripts ask for exists in both languages, and reaches the page intact."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime
from importlib import resources

import pytest

from pvopt.regulation.model import Mode
from pvopt.tic.tariff import Colour
from pvopt.web import i18n, pages, push
from pvopt.web.live import Live

STATIC = resources.files("pvopt.web").joinpath("static")


def script(name: str) -> str:
    return STATIC.joinpath(name).read_text("utf-8")


def test_every_text_is_in_french_and_english_and_not_empty() -> None:
    for key, texts in i18n.LIVE_TEXTS.items():
        assert set(texts) == set(i18n.LANGS), key
        assert all(text.strip() for text in texts.values()), key


@pytest.mark.parametrize("table", ["TEXTS", "LIVE_TEXTS"])
def test_every_text_has_both_languages_with_the_same_placeholders(table: str) -> None:
    """A text missing in one language would show its key; a ``{name}`` only one language
    has would show raw, or drop a value, in the other."""
    for key, texts in getattr(i18n, table).items():
        assert set(texts) == set(i18n.LANGS), key
        assert all(text.strip() for text in texts.values()), key
        fr, en = (sorted(re.findall(r"\{\w+\}", texts[lang])) for lang in ("fr", "en"))
        assert fr == en, key


@pytest.mark.parametrize("name", ["steer.js", "settings.js", "meter.js", "history.js"])
def test_every_literal_text_a_view_script_asks_for_exists(name: str) -> None:
    used = set(re.findall(r'\bt\(\s*"(\w+)"', script(name)))
    assert used, "no t(...) found: the pattern is out of date"
    assert used <= set(i18n.TEXTS), used - set(i18n.TEXTS)


def test_every_literal_text_the_script_asks_for_exists() -> None:
    used = set(re.findall(r'\bt\("(\w+)"', script("live.js")))
    used |= set(re.findall(r'\bt\("(\w+)"', script("format.js")))
    assert used, "no t(...) found: the pattern is out of date"
    assert used <= set(i18n.LIVE_TEXTS), used - set(i18n.LIVE_TEXTS)


@pytest.mark.parametrize(
    "keys",
    [
        [f"mode_{mode.value}" for mode in Mode],
        [f"colour_{colour.value}" for colour in Colour],
        [f"state_{s}" for s in ("online", "offline", "unknown", "connected", "disconnected")],
        [f"daemon_{name}" for name in Live(started=datetime.now(UTC)).daemons],
        ["live", "connecting", "reconnecting"],
        [f"database_{state}" for state in ("up", "down", "unknown")],
    ],
)
def test_every_value_the_snapshot_can_hold_has_its_text(keys: list[str]) -> None:
    missing = [key for key in keys if key not in i18n.LIVE_TEXTS]
    assert not missing


def test_every_alert_code_has_its_text() -> None:
    source = resources.files("pvopt.web").joinpath("live.py").read_text("utf-8")
    body = source[source.index("    def alerts(") : source.index("    def next_expiry(")]
    alerts = set(re.findall(r'^\s+"(\w+)": ', body, re.M))
    assert {"meter_stale", "regulation_safe"} <= alerts
    for code in [*alerts, push.BROKER_DOWN]:
        assert f"alert_{code}" in i18n.LIVE_TEXTS, code


def test_the_shell_hands_the_texts_of_its_language_to_the_script() -> None:
    template = resources.files("pvopt.web").joinpath("shell.html").read_text("utf-8")
    for lang in i18n.LANGS:
        info = pages.ShellInfo(lang, "c" * 43, "127.0.0.1", 0.0, 3600.0, 1)
        page = pages.shell_page(template, info, UTC)
        found = re.search(r'<div id="live" data-texts="([^"]*)">', page)
        assert found, page
        texts = json.loads(html.unescape(found.group(1)))
        assert texts == i18n.live_texts(lang)
        assert "<script" not in page.replace('<script type="module" src="/static/app.js">', "")
        assert " style=" not in page
