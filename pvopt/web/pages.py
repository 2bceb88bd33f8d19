"""The HTML the server renders: the login page and the page shell. Pure.

Every value put into a page is HTML-escaped; the pages carry no inline script or style
(the Content-Security-Policy forbids them): the behaviour is in ``static/app.js``, the
look in ``static/style.css``.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo

from pvopt.web.i18n import Lang, history_texts, live_texts, meter_texts, text

_PLACEHOLDER = re.compile(r"\{\{([a-z_]+)\}\}")


def render(template: str, values: Mapping[str, str]) -> str:
    """``template`` with each ``{{name}}`` replaced by ``values[name]``, escaped; a
    placeholder without a value is a bug (KeyError), never left in a page."""
    return _PLACEHOLDER.sub(lambda m: html.escape(values[m.group(1)], quote=True), template)


def _other(lang: Lang) -> Lang:
    return "en" if lang == "fr" else "fr"


LOGIN_TEMPLATE = """<!doctype html>
<html lang="{{lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{title}}</title>
<link rel="stylesheet" href="/static/style.css">
</head>
<body class="login">
<main>
<h1>{{title}}</h1>
<form method="post" action="/login">
<h2>{{heading}}</h2>
<p class="error" role="alert">{{error}}</p>
<label for="password">{{password_label}}</label>
<input id="password" name="password" type="password" autocomplete="current-password"
 required autofocus maxlength="1024">
<input type="hidden" name="login_token" value="{{login_token}}">
<button type="submit">{{button}}</button>
<p class="hint">{{hint}}</p>
</form>
<nav class="lang">
<a href="/login?lang={{other_lang}}" hreflang="{{other_lang}}">{{switch}}</a>
</nav>
</main>
</body>
</html>
"""


def login_page(lang: Lang, login_token: str, error: str = "") -> str:
    """The login form. ``login_token``: the anti-forgery token also set as a cookie."""
    other = _other(lang)
    return render(
        LOGIN_TEMPLATE,
        {
            "lang": lang,
            "title": text("title", lang),
            "heading": text("login_heading", lang),
            "error": error,
            "password_label": text("password", lang),
            "login_token": login_token,
            "button": text("login_button", lang),
            "hint": text("login_hint", lang),
            "other_lang": other,
            "switch": text("switch_to", lang),
        },
    )


@dataclass(frozen=True)
class ShellInfo:
    """What the page shell shows of the session."""

    lang: Lang
    csrf: str
    client: str
    #: Wall-clock times (Unix seconds) of the login and of the end unless used.
    since: float
    until: float
    sessions: int


def _local(when: float, tz: tzinfo, lang: Lang) -> str:
    moment = datetime.fromtimestamp(when, tz)
    return moment.strftime("%d/%m/%Y %H:%M" if lang == "fr" else "%Y-%m-%d %H:%M")


def shell_page(template: str, info: ShellInfo, tz: tzinfo) -> str:
    """The page shell (``static/index.html``) for a logged-in session."""
    lang = info.lang
    return render(
        template,
        {
            "lang": lang,
            "title": text("title", lang),
            "csrf": info.csrf,
            "signed_in": text(
                "signed_in", lang, since=_local(info.since, tz, lang), client=info.client
            ),
            "sessions": text("sessions_open", lang, count=info.sessions),
            "expires": text("expires", lang, until=_local(info.until, tz, lang)),
            "live_texts": json.dumps(live_texts(lang), ensure_ascii=False),
            "history_title": text("history_title", lang),
            "history_texts": json.dumps(history_texts(lang), ensure_ascii=False),
            "meter_title": text("meter_title", lang),
            "meter_texts": json.dumps(meter_texts(lang), ensure_ascii=False),
            "logout": text("logout", lang),
            "other_lang": _other(lang),
            "switch": text("switch_to", lang),
        },
    )
