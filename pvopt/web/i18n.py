"""The page's languages, French and English: which one a request gets, and the texts the
server renders. Pure.

The choice: ``?lang=`` (the switch on every page, then kept in a cookie), else the cookie,
else the browser's ``Accept-Language`` (its q-values honoured), else French.
"""

from __future__ import annotations

from typing import Literal

Lang = Literal["fr", "en"]
LANGS: tuple[Lang, ...] = ("fr", "en")
DEFAULT: Lang = "fr"
#: Accept-Language headers longer than this are not parsed (the default applies).
MAX_HEADER_CHARS = 512


def _as_lang(text: str | None) -> Lang | None:
    if text is None:
        return None
    primary = text.strip().lower().split("-", 1)[0].split("_", 1)[0]
    for lang in LANGS:
        if primary == lang:
            return lang
    return None


def from_accept_language(header: str | None) -> Lang | None:
    """The best of :data:`LANGS` in an ``Accept-Language`` header, or None."""
    if not header or len(header) > MAX_HEADER_CHARS:
        return None
    best: tuple[float, int, Lang] | None = None
    for position, item in enumerate(header.split(",")):
        tag, _, params = item.partition(";")
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                continue
            if not 0.0 < quality <= 1.0:  # q=0 means "not this one"; NaN fails too
                continue
        lang = _as_lang(tag)
        if lang is None:
            continue
        # Higher quality first, then the earlier in the header.
        if best is None or (quality, -position) > (best[0], best[1]):
            best = (quality, -position, lang)
    return best[2] if best else None


def choose(query: str | None, cookie: str | None, accept_language: str | None) -> Lang:
    """The language of a response (see the module's docstring)."""
    return _as_lang(query) or _as_lang(cookie) or from_accept_language(accept_language) or DEFAULT


TEXTS: dict[str, dict[Lang, str]] = {
    "title": {"fr": "pvopt", "en": "pvopt"},
    "login_heading": {"fr": "Connexion", "en": "Sign in"},
    "password": {"fr": "Mot de passe", "en": "Password"},
    "login_button": {"fr": "Se connecter", "en": "Sign in"},
    "login_hint": {
        "fr": "Le mot de passe a été affiché à l'installation. "
        "Pour en créer un nouveau : sudo pvopt web --set-password",
        "en": "The password was shown at install time. "
        "To make a new one: sudo pvopt web --set-password",
    },
    "wrong_password": {"fr": "Mot de passe incorrect.", "en": "Wrong password."},
    "throttled": {
        "fr": "Trop d'essais : réessayez dans {seconds} s.",
        "en": "Too many attempts: try again in {seconds} s.",
    },
    "form_expired": {
        "fr": "Le formulaire a expiré : réessayez.",
        "en": "The form has expired: try again.",
    },
    "no_password_file": {
        "fr": "Le mot de passe ne peut pas être lu : voir le journal de pvopt web.",
        "en": "The password cannot be read: see pvopt web's log.",
    },
    "logout": {"fr": "Se déconnecter", "en": "Sign out"},
    "signed_in": {
        "fr": "Connecté depuis le {since}, depuis {client}",
        "en": "Signed in since {since}, from {client}",
    },
    "sessions_open": {
        "fr": "Sessions ouvertes : {count}",
        "en": "Open sessions: {count}",
    },
    "expires": {
        "fr": "Cette session se termine le {until} sans utilisation.",
        "en": "This session ends on {until} unless used.",
    },
    "coming": {
        "fr": "La vue en direct, le pilotage des équipements, l'historique, le compteur "
        "et les réglages arrivent sur cette page.",
        "en": "The live view, the equipment controls, the history, the meter and the "
        "settings are coming to this page.",
    },
    "switch_to": {"fr": "English", "en": "Français"},
    # Steering (static/steer.js gets them from GET /api/loads in the page's language).
    "steer_heading": {"fr": "Pilotage", "en": "Controls"},
    "steer_auto": {"fr": "AUTO", "en": "AUTO"},
    "steer_on": {"fr": "MARCHE", "en": "ON"},
    "steer_off": {"fr": "ARRÊT", "en": "OFF"},
    "steer_boost": {"fr": "Forcer", "en": "Boost"},
    "steer_minutes": {"fr": "min", "en": "min"},
    "steer_at": {"fr": "à", "en": "at"},
    "steer_watts": {"fr": "W", "en": "W"},
    "steer_sent": {
        "fr": "Envoyé à la régulation : son état ci-dessus dira ce qu'elle en fait.",
        "en": "Sent to the regulation: its status above tells what it does with it.",
    },
    "steer_max": {"fr": "max {watts} W", "en": "max {watts} W"},
    "steer_unavailable": {
        "fr": "Pilotage indisponible : {reason}",
        "en": "Controls unavailable: {reason}",
    },
    "steer_err_broker_down": {
        "fr": "Le broker MQTT est injoignable : rien n'a été envoyé.",
        "en": "The MQTT broker is unreachable: nothing was sent.",
    },
    "steer_err_bad_mode": {
        "fr": "Mode inconnu (AUTO, ON ou OFF).",
        "en": "Unknown mode (AUTO, ON or OFF).",
    },
    "steer_err_bad_minutes": {
        "fr": "Durée : un nombre entier de minutes de {low} à {high}.",
        "en": "Duration: a whole number of minutes from {low} to {high}.",
    },
    "steer_err_bad_power": {
        "fr": "Puissance : plus de 0 et au plus la puissance de l'équipement.",
        "en": "Power: more than 0 and at most the load's power.",
    },
    "steer_err_power_too_low": {
        "fr": "Cet équipement est en marche/arrêt : moins de la moitié de sa puissance "
        "le laisserait arrêté.",
        "en": "This load is switched on or off: less than half its power would leave it off.",
    },
    "steer_err_unknown_load": {
        "fr": "Équipement inconnu de equipment_config.yml.",
        "en": "No such load in equipment_config.yml.",
    },
    "steer_err_network": {
        "fr": "pvopt web ne répond pas : rien n'a été confirmé.",
        "en": "pvopt web does not answer: nothing was confirmed.",
    },
}


def script_texts(lang: Lang, prefix: str, **values: object) -> dict[str, str]:
    """Every text whose key starts with ``prefix``, in ``lang``, for a page script
    (``{placeholders}`` named in ``values`` filled, the others left for the script)."""
    out = {}
    for key, texts in TEXTS.items():
        if key.startswith(prefix):
            template = texts[lang]
            for name, value in values.items():
                template = template.replace("{" + name + "}", str(value))
            out[key] = template
    return out


def text(key: str, lang: Lang, **values: object) -> str:
    """The text ``key`` in ``lang``, its ``{placeholders}`` filled."""
    template = TEXTS[key][lang]
    return template.format(**values) if values else template
