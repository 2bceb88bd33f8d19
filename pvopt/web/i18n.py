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
    "steer_max": {"fr": "max {watts}\u00a0W", "en": "max {watts}\u00a0W"},
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
    # The settings view (static/settings.js gets them from GET /api/settings).
    "settings_heading": {"fr": "Réglages", "en": "Settings"},
    "settings_hint": {
        "fr": "equipment_config.yml : vérifié comme pvopt check-config avant d'être écrit ; "
        "l'ancien fichier est gardé en copie datée.",
        "en": "equipment_config.yml: checked as pvopt check-config does before it is written; "
        "the previous file is kept as a dated backup.",
    },
    "settings_save": {"fr": "Enregistrer", "en": "Save"},
    "settings_reload": {"fr": "Recharger le fichier", "en": "Reload the file"},
    "settings_saved": {
        "fr": "Enregistré ({loads} équipement(s)) ; rechargement demandé à la régulation…",
        "en": "Saved ({loads} load(s)); the regulation was asked to reload…",
    },
    "settings_saved_not_sent": {
        "fr": "Enregistré, mais le broker MQTT est injoignable : la régulation n'a pas été "
        "prévenue (systemctl reload power_regulation).",
        "en": "Saved, but the MQTT broker is unreachable: the regulation was not told "
        "(systemctl reload power_regulation).",
    },
    "settings_invalid": {
        "fr": "{count} erreur(s) : rien n'a été écrit.",
        "en": "{count} error(s): nothing was written.",
    },
    "settings_line": {"fr": "ligne {line}", "en": "line {line}"},
    "settings_changed": {
        "fr": "Le fichier a changé depuis son affichage : rien n'a été écrit. "
        "Rechargez-le, puis refaites vos modifications.",
        "en": "The file changed since it was shown: nothing was written. "
        "Reload it, then make your changes again.",
    },
    "settings_network": {
        "fr": "pvopt web ne répond pas : rien n'a été confirmé.",
        "en": "pvopt web does not answer: nothing was confirmed.",
    },
    "settings_regulation_none": {
        "fr": "La régulation n'a encore rien publié de sa configuration.",
        "en": "The regulation has not published its configuration yet.",
    },
    "settings_regulation_loaded": {
        "fr": "Régulation : rechargée à {time}, {loads} équipement(s).",
        "en": "Regulation: reloaded at {time}, {loads} load(s).",
    },
    "settings_regulation_started": {
        "fr": "Régulation : démarrée à {time} avec ce fichier, {loads} équipement(s).",
        "en": "Regulation: started at {time} with this file, {loads} load(s).",
    },
    "settings_regulation_refused": {
        "fr": "Régulation : rechargement refusé à {time} ; elle garde la configuration "
        "chargée à {loaded}.",
        "en": "Regulation: reload refused at {time}; it keeps the configuration loaded "
        "at {loaded}.",
    },
    "settings_regulation_other": {
        "fr": "La régulation utilise une autre version du fichier.",
        "en": "The regulation runs another version of the file.",
    },
    "settings_regulation_waiting": {
        "fr": "En attente de la confirmation de la régulation…",
        "en": "Waiting for the regulation's confirmation…",
    },
    "settings_regulation_silent": {
        "fr": "Pas de confirmation de la régulation en 30 s : tourne-t-elle ? "
        "(systemctl status power_regulation)",
        "en": "No confirmation from the regulation in 30 s: is it running? "
        "(systemctl status power_regulation)",
    },
    "settings_backups": {"fr": "Copies", "en": "Backups"},
    # The meter view (static/meter.js), handed to it by the page shell.
    "meter_title": {"fr": "Compteur", "en": "Meter"},
    "meter_hint": {
        "fr": "Toutes les étiquettes de la dernière trame TIC reçue.",
        "en": "Every label of the last TIC frame received.",
    },
    "meter_none": {
        "fr": "Aucune trame reçue depuis le démarrage de pvopt web.",
        "en": "No frame received since pvopt web started.",
    },
    "meter_error": {
        "fr": "pvopt web ne répond pas : valeurs non mises à jour.",
        "en": "pvopt web does not answer: values not updated.",
    },
    "meter_mode": {"fr": "Mode TIC", "en": "TIC mode"},
    "meter_mode_standard": {"fr": "standard", "en": "standard"},
    "meter_mode_historic": {"fr": "historique", "en": "historic"},
    "meter_age": {"fr": "Dernière trame", "en": "Last frame"},
    "meter_ago": {"fr": "il y a {age}", "en": "{age} ago"},
    "meter_stale": {"fr": "périmée, il y a {age}", "en": "stale, {age} ago"},
    "meter_rate": {"fr": "Trames reçues par minute", "en": "Frames received per minute"},
    "meter_decoder": {
        "fr": "Décodeur (pvopt teleinfo, depuis son démarrage)",
        "en": "Decoder (pvopt teleinfo, since it started)",
    },
    "meter_decoder_none": {
        "fr": "pvopt teleinfo n'a pas encore donné ses compteurs.",
        "en": "pvopt teleinfo has not given its counts yet.",
    },
    "meter_decoded_rate": {"fr": "Trames décodées par minute", "en": "Frames decoded per minute"},
    "meter_frames": {
        "fr": "Trames acceptées / rejetées entières",
        "en": "Frames accepted / rejected whole",
    },
    "meter_groups": {
        "fr": "Groupes rejetés (somme de contrôle / malformés)",
        "en": "Rejected groups (checksum / malformed)",
    },
    "meter_rejected": {
        "fr": "Groupes rejetés (dernière trame / depuis le démarrage)",
        "en": "Rejected groups (last frame / since start)",
    },
    "meter_ignored": {
        "fr": "{count} étiquette(s) illisible(s) non affichée(s)",
        "en": "{count} unreadable label(s) not shown",
    },
    "meter_labels": {"fr": "Étiquettes", "en": "Labels"},
    "meter_label": {"fr": "Étiquette", "en": "Label"},
    "meter_value": {"fr": "Valeur", "en": "Value"},
    "meter_meaning": {"fr": "Signification", "en": "Meaning"},
    "meter_stge": {"fr": "Registre de statuts (STGE)", "en": "Status register (STGE)"},
    "meter_no_stge": {
        "fr": "Pas de STGE dans cette trame (mode historique ou groupe rejeté).",
        "en": "No STGE in this frame (historic mode or a rejected group).",
    },
    "meter_bits": {"fr": "bits {bits}", "en": "bits {bits}"},
    "meter_stge_dry_contact": {"fr": "Contact sec", "en": "Dry contact"},
    "meter_stge_cut_off": {"fr": "Organe de coupure", "en": "Cut-off device"},
    "meter_stge_cover": {"fr": "Cache-bornes distributeur", "en": "Distributor terminal cover"},
    "meter_stge_overvoltage": {"fr": "Surtension sur une phase", "en": "Over-voltage on a phase"},
    "meter_stge_power_exceeded": {
        "fr": "Dépassement de la puissance de référence",
        "en": "Reference power exceeded",
    },
    "meter_stge_producer": {"fr": "Producteur / consommateur", "en": "Producer / consumer"},
    "meter_stge_direction": {"fr": "Sens de l'énergie active", "en": "Active energy direction"},
    "meter_stge_supplier_index": {
        "fr": "Index en cours (fournisseur)",
        "en": "Current supplier index",
    },
    "meter_stge_distributor_index": {
        "fr": "Index en cours (distributeur)",
        "en": "Current distributor index",
    },
    "meter_stge_clock": {"fr": "Horloge du compteur", "en": "Meter clock"},
    "meter_stge_tic_mode": {"fr": "Mode TIC", "en": "TIC mode"},
    "meter_stge_euridis": {"fr": "Sortie Euridis", "en": "Euridis output"},
    "meter_stge_cpl_status": {"fr": "Statut CPL", "en": "CPL status"},
    "meter_stge_cpl_sync": {"fr": "Synchronisation CPL", "en": "CPL synchronised"},
    "meter_stge_tempo_today": {"fr": "Couleur Tempo du jour", "en": "Tempo colour today"},
    "meter_stge_tempo_tomorrow": {"fr": "Couleur Tempo demain", "en": "Tempo colour tomorrow"},
    "meter_stge_mobile_peak_notice": {"fr": "Préavis de pointe mobile", "en": "Mobile peak notice"},
    "meter_stge_mobile_peak": {"fr": "Pointe mobile en cours", "en": "Mobile peak in progress"},
    "meter_v_closed": {"fr": "fermé", "en": "closed"},
    "meter_v_open": {"fr": "ouvert", "en": "open"},
    "meter_v_overpower": {"fr": "ouvert : surpuissance", "en": "open: over-power"},
    "meter_v_overvoltage": {"fr": "ouvert : surtension", "en": "open: over-voltage"},
    "meter_v_load_shedding": {"fr": "ouvert : délestage", "en": "open: load shedding"},
    "meter_v_cpl_order": {
        "fr": "ouvert : ordre CPL ou Euridis",
        "en": "open: CPL or Euridis order",
    },
    "meter_v_overheat_high": {
        "fr": "ouvert : surchauffe, courant au-dessus du courant de coupure",
        "en": "open: overheating, current above the switching limit",
    },
    "meter_v_overheat_low": {
        "fr": "ouvert : surchauffe, courant sous le courant de coupure",
        "en": "open: overheating, current below the switching limit",
    },
    "meter_v_no": {"fr": "non", "en": "no"},
    "meter_v_yes": {"fr": "oui", "en": "yes"},
    "meter_v_consumer": {"fr": "consommateur", "en": "consumer"},
    "meter_v_producer": {"fr": "producteur", "en": "producer"},
    "meter_v_positive": {"fr": "positif (soutirage)", "en": "positive (drawing)"},
    "meter_v_negative": {"fr": "négatif (injection)", "en": "negative (injecting)"},
    "meter_v_ok": {"fr": "correcte", "en": "correct"},
    "meter_v_degraded": {"fr": "dégradée", "en": "degraded"},
    "meter_v_historic": {"fr": "historique", "en": "historic"},
    "meter_v_standard": {"fr": "standard", "en": "standard"},
    "meter_v_disabled": {"fr": "désactivée", "en": "disabled"},
    "meter_v_enabled": {"fr": "activée sans sécurité", "en": "enabled without security"},
    "meter_v_secured": {"fr": "activée avec sécurité", "en": "enabled with security"},
    "meter_v_new_unlock": {"fr": "New/Unlock", "en": "New/Unlock"},
    "meter_v_new_lock": {"fr": "New/Lock", "en": "New/Lock"},
    "meter_v_registered": {"fr": "Registered", "en": "registered"},
    "meter_v_none": {"fr": "aucune", "en": "none"},
    "meter_v_blue": {"fr": "bleu", "en": "blue"},
    "meter_v_white": {"fr": "blanc", "en": "white"},
    "meter_v_red": {"fr": "rouge", "en": "red"},
    "meter_v_pm1": {"fr": "PM1", "en": "PM1"},
    "meter_v_pm2": {"fr": "PM2", "en": "PM2"},
    "meter_v_pm3": {"fr": "PM3", "en": "PM3"},
    "meter_v_reserved": {"fr": "valeur réservée {value}", "en": "reserved value {value}"},
    "meter_v_index": {"fr": "{value}", "en": "{value}"},
    # The history view (static/history.js), handed to it by the page shell.
    "history_title": {"fr": "Historique", "en": "History"},
    "history_today": {"fr": "Aujourd'hui", "en": "Today"},
    "history_yesterday": {"fr": "Hier", "en": "Yesterday"},
    "history_power": {"fr": "Puissance", "en": "Power"},
    "history_temperature": {"fr": "Température du ballon", "en": "Tank temperature"},
    "history_grid": {"fr": "Réseau (+ soutirage, − injection)", "en": "Grid (+ import, − export)"},
    "history_pv": {"fr": "Surplus PV", "en": "PV surplus"},
    "history_pv_note": {
        "fr": "La production PV n'est pas mesurée : le surplus est ce qui a été injecté plus "
        "ce que les équipements ont pris, la production a été au moins cela.",
        "en": "PV production is not measured: the surplus is what was exported plus what "
        "the loads took; the production was at least that.",
    },
    "history_gaps": {
        "fr": "Un trou dans une courbe : pas de données (jamais un zéro).",
        "en": "A gap in a line: no data (never a zero).",
    },
    "history_days": {"fr": "{count} derniers jours", "en": "Last {count} days"},
    "history_energy": {"fr": "Énergie par jour", "en": "Energy per day"},
    "history_money": {"fr": "€ par jour", "en": "€ per day"},
    "history_imported": {"fr": "Soutiré", "en": "Imported"},
    "history_exported": {"fr": "Injecté", "en": "Exported"},
    "history_diverted": {"fr": "Routé", "en": "Diverted"},
    "history_cost": {"fr": "Coût du soutirage", "en": "Import cost"},
    "history_saved": {"fr": "Économisé", "en": "Saved"},
    "history_day": {"fr": "Jour", "en": "Day"},
    "history_estimated": {
        "fr": "≈ : sans index du compteur ce jour-là, d'après la puissance (au moins cela).",
        "en": "≈: no meter index that day, from the power (at least that).",
    },
    "history_unknown": {
        "fr": "— : rien d'enregistré (les € ne sont enregistrés que par les versions récentes).",
        "en": "—: nothing recorded (€ are recorded by recent versions only).",
    },
    "history_loading": {"fr": "Chargement…", "en": "Loading…"},
    "history_none": {
        "fr": "Aucune donnée enregistrée ce jour-là.",
        "en": "No data recorded that day.",
    },
    "history_error": {
        "fr": "Historique indisponible : {reason}",
        "en": "History unavailable: {reason}",
    },
    "history_network": {"fr": "pvopt web ne répond pas.", "en": "pvopt web does not answer."},
    "meter_unit_s": {"fr": "s", "en": "s"},
    "meter_unit_min": {"fr": "min", "en": "min"},
    "meter_unit_h": {"fr": "h", "en": "h"},
    "meter_unit_d": {"fr": "j", "en": "d"},
}


#: The meanings of the TIC labels (:mod:`pvopt.tic.labels`, in English there) in each
#: language, keyed by that English text; French after Enedis-NOI-CPT_54E's own words.
LABEL_MEANINGS: dict[str, dict[Lang, str]] = {
    english: {"fr": french, "en": english}
    for english, french in (
        ("secondary meter address", "adresse secondaire du compteur"),
        ("TIC version", "version de la TIC"),
        ("meter date and time (in the horodate)", "date et heure du compteur (dans l'horodate)"),
        ("supplier tariff calendar name", "nom du calendrier tarifaire fournisseur"),
        ("current supplier tariff label", "libellé du tarif fournisseur en cours"),
        ("total active energy drawn", "énergie active soutirée totale"),
        ("active energy drawn, supplier index", "énergie active soutirée, index fournisseur"),
        ("active energy drawn, distributor index", "énergie active soutirée, index distributeur"),
        ("total active energy injected (producer)", "énergie active injectée totale (producteur)"),
        ("reactive energy, quadrant (producer)", "énergie réactive, quadrant (producteur)"),
        ("RMS current", "courant efficace"),
        ("RMS voltage", "tension efficace"),
        ("reference (subscribed) apparent power", "puissance apparente de référence (souscrite)"),
        ("cut-off apparent power", "puissance apparente de coupure"),
        ("apparent power drawn", "puissance apparente soutirée"),
        (
            "max apparent power drawn (today / yesterday)",
            "puissance apparente max. soutirée (aujourd'hui / hier)",
        ),
        ("apparent power injected (producer)", "puissance apparente injectée (producteur)"),
        (
            "max apparent power injected (producer)",
            "puissance apparente max. injectée (producteur)",
        ),
        ("active load-curve point drawn", "point de la courbe de charge active soutirée"),
        (
            "active load-curve point injected (producer)",
            "point de la courbe de charge active injectée (producteur)",
        ),
        ("mean voltage", "tension moyenne"),
        ("status register (8 hex digits)", "registre de statuts (8 chiffres hexadécimaux)"),
        ("mobile peak start", "début de pointe mobile"),
        ("mobile peak end", "fin de pointe mobile"),
        ("message", "message"),
        ("delivery point id", "numéro du point de livraison (PRM)"),
        ("relay states (decimal bit mask)", "état des relais (masque de bits en décimal)"),
        ("current supplier tariff index", "index tarifaire fournisseur en cours"),
        ("supplier calendar day number", "numéro du jour du calendrier fournisseur"),
        ("day profile", "profil du jour"),
        ("apparent power drawn (pilot meters)", "puissance apparente soutirée (compteurs pilotes)"),
        (
            "max apparent power drawn (pilot meters)",
            "puissance apparente max. soutirée (compteurs pilotes)",
        ),
        ("meter address", "adresse du compteur"),
        ("tariff option", "option tarifaire"),
        ("subscribed current", "intensité souscrite"),
        ("BASE index", "index BASE"),
        ("off-peak / peak index", "index heures creuses / heures pleines"),
        ("EJP normal / mobile-peak index", "index EJP heures normales / pointe mobile"),
        ("Tempo index", "index Tempo"),
        ("EJP start notice", "préavis de début EJP"),
        ("current tariff period", "période tarifaire en cours"),
        ("tomorrow's Tempo colour", "couleur Tempo de demain"),
        ("instantaneous current", "intensité instantanée"),
        ("subscribed power overrun warning", "avertissement de dépassement de puissance souscrite"),
        ("max current", "intensité maximale appelée"),
        ("max three-phase power", "puissance maximale triphasée"),
        ("apparent power", "puissance apparente"),
        ("peak/off-peak schedule group", "groupe horaire heures pleines / heures creuses"),
        ("meter status word", "mot d'état du compteur"),
        ("phase presence", "présence des potentiels"),
        (
            "per-phase overcurrent warning (short frames)",
            "avertissement de dépassement d'intensité par phase (trames courtes)",
        ),
        ("unknown label", "étiquette inconnue"),
    )
}


def label_meaning(english: str, lang: Lang) -> str:
    """A TIC label's meaning in ``lang``; the English text when there is none (a label
    added to :mod:`pvopt.tic.labels` without its translation: never an empty cell)."""
    texts = LABEL_MEANINGS.get(english)
    return texts[lang] if texts else english


def meter_texts(lang: Lang) -> dict[str, str]:
    """The meter view's texts in ``lang`` (key → text), for ``static/meter.js``."""
    return script_texts(lang, "meter_")


def history_texts(lang: Lang) -> dict[str, str]:
    """The history view's texts in ``lang`` (key → text), for ``static/history.js``."""
    return script_texts(lang, "history_")


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


#: The live view's texts, used by ``static/live.js`` (handed to it as JSON in the page:
#: :func:`live_texts`). ``{age}`` is a duration the script formats ("12 s", "3 min").
LIVE_TEXTS: dict[str, dict[Lang, str]] = {
    "live": {"fr": "En direct", "en": "Live"},
    "connecting": {"fr": "Connexion…", "en": "Connecting…"},
    "reconnecting": {
        "fr": "Connexion au serveur perdue : reconnexion…",
        "en": "Connection to the server lost: reconnecting…",
    },
    "grid": {"fr": "Réseau", "en": "Grid"},
    "importing": {"fr": "Soutirage", "en": "Importing"},
    "exporting": {"fr": "Injection", "en": "Exporting"},
    "pv": {"fr": "Production PV prévue", "en": "PV forecast"},
    "pv_now": {"fr": "Maintenant", "en": "Now"},
    "pv_today": {"fr": "Aujourd'hui", "en": "Today"},
    "pv_tomorrow": {"fr": "Demain", "en": "Tomorrow"},
    "pv_none": {"fr": "Pas de prévision", "en": "No forecast"},
    "tariff": {"fr": "Tarif", "en": "Tariff"},
    "period": {"fr": "Période", "en": "Period"},
    "offpeak": {"fr": "heures creuses", "en": "off-peak"},
    "peak": {"fr": "heures pleines", "en": "peak"},
    "tempo_today": {"fr": "Tempo aujourd'hui", "en": "Tempo today"},
    "tempo_tomorrow": {"fr": "Tempo demain", "en": "Tempo tomorrow"},
    "colour_BLUE": {"fr": "Bleu", "en": "Blue"},
    "colour_WHITE": {"fr": "Blanc", "en": "White"},
    "colour_RED": {"fr": "Rouge", "en": "Red"},
    "colour_none": {"fr": "pas encore connu", "en": "not known yet"},
    "ejp_today": {"fr": "EJP aujourd'hui", "en": "EJP today"},
    "ejp_tomorrow": {"fr": "EJP demain", "en": "EJP tomorrow"},
    "ejp_day": {"fr": "jour EJP (pointe mobile 7 h – 1 h)", "en": "EJP day (peak 07:00–01:00)"},
    "ejp_normal": {"fr": "jour normal", "en": "ordinary day"},
    "ejp_unknown": {"fr": "non annoncé", "en": "not announced"},
    "loads": {"fr": "Équipements", "en": "Loads"},
    "no_loads": {
        "fr": "Aucune décision de la régulation reçue.",
        "en": "No decision from the regulation received.",
    },
    "energy_today": {"fr": "Aujourd'hui", "en": "Today"},
    "loads_today": {
        "fr": "Énergie des équipements aujourd'hui",
        "en": "Loads' energy today",
    },
    "mode_auto": {"fr": "Auto", "en": "Auto"},
    "mode_on": {"fr": "Marche forcée", "en": "Forced on"},
    "mode_off": {"fr": "Arrêt forcé", "en": "Forced off"},
    "mode_forced": {"fr": "Boost", "en": "Boost"},
    "load_on": {"fr": "en marche", "en": "on"},
    "load_off": {"fr": "à l'arrêt", "en": "off"},
    "tank": {"fr": "Ballon", "en": "Tank"},
    "probe": {"fr": "sonde", "en": "probe"},
    "regulation": {"fr": "Régulation", "en": "Regulation"},
    "target": {"fr": "Consigne réseau", "en": "Grid target"},
    "diverted": {"fr": "Routé", "en": "Diverted"},
    "diverted_today": {"fr": "Routé aujourd'hui", "en": "Diverted today"},
    "saved_today": {"fr": "Économisé aujourd'hui", "en": "Saved today"},
    "import_cost_today": {"fr": "Soutirage payé aujourd'hui", "en": "Imports cost today"},
    "surplus": {"fr": "Surplus", "en": "Surplus"},
    "status": {"fr": "État du système", "en": "System status"},
    "daemon_teleinfo": {"fr": "Lecture du compteur", "en": "Meter reader"},
    "daemon_regulation": {"fr": "Régulation", "en": "Regulation"},
    "broker": {"fr": "Broker MQTT", "en": "MQTT broker"},
    "database": {"fr": "Base de données (InfluxDB)", "en": "Database (InfluxDB)"},
    "database_up": {"fr": "joignable", "en": "reachable"},
    "database_down": {"fr": "injoignable", "en": "unreachable"},
    "database_unknown": {"fr": "pas de nouvelles", "en": "not heard of"},
    "points_waiting": {"fr": "{count} points en attente", "en": "{count} points waiting"},
    "state_online": {"fr": "en ligne", "en": "online"},
    "state_offline": {"fr": "hors ligne", "en": "offline"},
    "state_unknown": {"fr": "pas de nouvelles", "en": "not heard of"},
    "state_connected": {"fr": "connecté", "en": "connected"},
    "state_disconnected": {"fr": "injoignable", "en": "unreachable"},
    "since": {"fr": "depuis {age}", "en": "for {age}"},
    "stale": {"fr": "périmé, il y a {age}", "en": "stale, {age} ago"},
    "alert_broker_down": {
        "fr": "Le broker MQTT est injoignable : rien n'est plus mis à jour.",
        "en": "The MQTT broker is unreachable: nothing is updated any more.",
    },
    "alert_meter_stale": {
        "fr": "Les données du compteur sont périmées.",
        "en": "The meter data are stale.",
    },
    "alert_teleinfo_offline": {
        "fr": "La lecture du compteur (pvopt teleinfo) est hors ligne.",
        "en": "The meter reader (pvopt teleinfo) is offline.",
    },
    "alert_regulation_offline": {
        "fr": "La régulation (pvopt regulate) est hors ligne.",
        "en": "The regulation (pvopt regulate) is offline.",
    },
    "alert_regulation_stale": {
        "fr": "La régulation ne publie plus de décision.",
        "en": "The regulation publishes no decisions.",
    },
    "alert_database_down": {
        "fr": "La base de données (InfluxDB) est injoignable : les mesures attendent sur le "
        "disque et l'historique a un trou.",
        "en": "The database (InfluxDB) is unreachable: the readings wait on disk and the "
        "history has a gap.",
    },
    "alert_regulation_safe": {
        "fr": "Régulation en sécurité : tous les équipements sont coupés.",
        "en": "Regulation in safe mode: every load is shed.",
    },
    "unit_s": {"fr": "s", "en": "s"},
    "unit_min": {"fr": "min", "en": "min"},
    "unit_h": {"fr": "h", "en": "h"},
    "unit_d": {"fr": "j", "en": "d"},
}


def live_texts(lang: Lang) -> dict[str, str]:
    """The live view's texts in ``lang`` (key → text)."""
    return {key: texts[lang] for key, texts in LIVE_TEXTS.items()}
