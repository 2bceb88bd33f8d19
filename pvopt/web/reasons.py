"""The regulation's reasons in French, for the French page. Pure.

The regulation says why each load is where it is in English (``regulation/status``, read
as it is by Home Assistant, Grafana and the logs: it stays English). The page translates
on its side: each part of a ``"; "``-joined reason is matched against :data:`SHAPES`, a
table of every shape the regulation writes (:mod:`pvopt.regulation.rules`,
``setpoint``, ``core``, ``staging``, ``probing``, ``plant``, ``state``), and written
again from its French template, the numbers the French way (``1 200 W``, ``44,2 °C``; a
no-break space before the unit). A part no shape matches is shown as it came, never
dropped, and logged once at DEBUG (a reason the regulation learnt after this table: add
its shape).

A French template names the groups of its pattern (``{power_w}``); a group's name says how
its text is rewritten (:data:`FIELDS`: a number, a duration, a clock, a nested why). A
``[…]`` segment of a template is written only when every group it names matched (an
optional part of the English reason).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

_LOG = logging.getLogger(__name__)

#: Between a number and its unit (a line never breaks there), and between thousands.
NBSP = "\u00a0"
THIN_NBSP = "\u202f"  # as the browser's Intl.NumberFormat("fr") groups thousands

#: What the English reasons' patterns share.
_NUM = r"-?\d+(?:\.\d+)?"
_DUR = r"\d+ h(?: \d\d)?|\d+ min|\d+ s"
_CLOCK = r"\d\d:\d\d|midnight"


@dataclass(frozen=True, slots=True)
class Shape:
    """One shape of reason: its English pattern (named groups), its French template, and
    an English example (the table's own check, and the tests')."""

    pattern: re.Pattern[str]
    french: str
    example: str


def _shape(pattern: str, french: str, example: str) -> Shape:
    return Shape(re.compile(pattern), french, example)


def number(text: str) -> str:
    """``1200`` → ``1 200``, ``44.2`` → ``44,2`` (thousands by a narrow no-break space)."""
    sign, digits = ("-", text[1:]) if text.startswith("-") else ("", text)
    whole, dot, fraction = digits.partition(".")
    groups: list[str] = []
    while len(whole) > 3:
        whole, last = whole[:-3], whole[-3:]
        groups.insert(0, last)
    grouped = THIN_NBSP.join([whole, *groups])
    return f"{sign}{grouped},{fraction}" if dot else f"{sign}{grouped}"


def duration(text: str) -> str:
    """``1 h 40``, ``30 min``, ``40 s``: the same words in French, the number and its unit
    held together."""
    return text.replace(" ", NBSP)


def clock(text: str) -> str:
    """``20:00`` as it is; ``midnight`` → ``minuit``."""
    return "minuit" if text == "midnight" else text


#: Why the off-peak hours buy now (:func:`pvopt.regulation.prices._why`, an announced EJP
#: day's mobile peak in ``Prices._ejp_view``, or the coming day's sun in
#: :func:`pvopt.regulation.rules.run_need`).
WHYS: tuple[Shape, ...] = (
    _shape(rf"red day from (?P<clock>{_CLOCK})", "jour rouge dès {clock}", "red day from 06:00"),
    _shape(
        rf"dear hours from (?P<clock>{_CLOCK})",
        "heures chères dès {clock}",
        "dear hours from 07:00",
    ),
    _shape(
        rf"mobile peak from (?P<clock>{_CLOCK})",
        "pointe mobile dès {clock}",
        "mobile peak from 07:00",
    ),
    _shape(
        rf"(?P<kwh>{_NUM}) kWh of sun expected",
        "{kwh}\u00a0kWh de soleil attendus",
        "3.4 kWh of sun expected",
    ),
)


def why(text: str) -> str:
    """A nested why (:data:`WHYS`), or the text as it came."""
    return _translate_part(text, WHYS)


#: How a group's text is rewritten, by the group's name: numbers and temperatures as
#: numbers; a group not named here is kept as it came (an empty flag, a config key).
FIELDS: dict[str, Callable[[str], str]] = {
    "power_w": number,
    "needed_w": number,
    "energy_wh": number,
    "target_wh": number,
    "kw": number,
    "kwh": number,
    "room_kwh": number,
    "celsius": number,
    "target_c": number,
    "percent": number,
    "left": duration,
    "shadow": duration,
    "clock": clock,
    "why": why,
    "morning": lambda _: "",
}

#: Every reason the regulation writes (its modules, in the order of the module's
#: docstring), first match wins. Keep in step with the regulation: a new shape there is
#: shown in English until it is added here (the simulated days' test finds it).
SHAPES: tuple[Shape, ...] = (
    # rules.py
    _shape("off: manual", "arrêt : manuel", "off: manual"),
    _shape("on: manual", "marche : manuel", "on: manual"),
    _shape(
        rf"forced (?P<power_w>{_NUM}) W(?: for (?P<left>{_DUR}))?",
        "forcé à {power_w}\u00a0W[, encore {left}]",
        "forced 1000 W for 30 min",
    ),
    _shape(
        rf"full: (?P<celsius>{_NUM}) °C ≥ temp_max (?P<target_c>{_NUM}) °C",
        "plein : {celsius}\u00a0°C ≥ temp_max {target_c}\u00a0°C",
        "full: 60.2 °C ≥ temp_max 60 °C",
    ),
    _shape("full: thermostat cut", "plein : coupé par son thermostat", "full: thermostat cut"),
    _shape(
        rf"full: surplus left only, re-arms below (?P<celsius>{_NUM}) °C",
        "plein : seulement le surplus restant, réarmé sous {celsius}\u00a0°C",
        "full: surplus left only, re-arms below 55 °C",
    ),
    _shape(
        rf"heating off-peak: (?P<why>.+?), (?P<celsius>{_NUM}) °C, up to (?P<target_c>{_NUM}) °C"
        rf"(?:, starts (?P<clock>{_CLOCK}))?"
        rf"(?:, sun expected: (?P<kwh>{_NUM}) kWh)?"
        rf"(?:, room for (?P<room_kwh>{_NUM}) kWh of sun)?",
        "chauffe en heures creuses : {why}, {celsius}\u00a0°C, jusqu'à {target_c}\u00a0°C"
        "[, à partir de {clock}][, soleil attendu : {kwh}\u00a0kWh]"
        "[, place pour {room_kwh}\u00a0kWh de soleil]",
        "heating off-peak: red day from 06:00, 44.2 °C, up to 53.2 °C, starts 03:40, "
        "room for 1.8 kWh of sun",
    ),
    _shape(
        rf"off-peak heating: (?P<celsius>{_NUM}) °C, up to (?P<target_c>{_NUM}) °C"
        rf"(?P<morning> for the morning's draws)?(?:, starts (?P<clock>{_CLOCK}))?"
        rf"(?:, sun expected: (?P<kwh>{_NUM}) kWh)?",
        "chauffe en heures creuses : {celsius}\u00a0°C, jusqu'à {target_c}\u00a0°C"
        "[{morning} pour les puisages du matin][, à partir de {clock}]"
        "[, soleil attendu : {kwh}\u00a0kWh]",
        "off-peak heating: 44.2 °C, up to 50 °C, starts 04:43",
    ),
    _shape(
        rf"no morning top-up: sun expected (?P<kwh>{_NUM}) kWh",
        "pas d'appoint du matin : {kwh}\u00a0kWh de soleil attendus",
        "no morning top-up: sun expected 9.6 kWh",
    ),
    _shape(
        rf"off-peak completion: (?P<energy_wh>{_NUM}) Wh short",
        "complément en heures creuses : {energy_wh}\u00a0Wh manquants",
        "off-peak completion: 1800 Wh short",
    ),
    _shape(
        rf"done: (?P<energy_wh>{_NUM}) Wh of (?P<target_wh>{_NUM}) Wh",
        "fait : {energy_wh}\u00a0Wh sur {target_wh}\u00a0Wh",
        "done: 1200 Wh of 3000 Wh",
    ),
    _shape(
        rf"run time: (?P<left>{_DUR}) to buy, off-peak: (?P<why>.+)",
        "durée de marche : {left} à acheter en heures creuses, {why}",
        "run time: 2 h 10 to buy, off-peak: red day from 06:00",
    ),
    _shape(
        rf"run time: (?P<left>{_DUR}) left by (?P<clock>{_CLOCK})",
        "durée de marche : encore {left} avant {clock}",
        "run time: 1 h 40 left by 20:00",
    ),
    _shape(
        rf"run time: (?P<left>{_DUR}) short at (?P<clock>{_CLOCK})",
        "durée de marche : {left} manquantes à {clock}",
        "run time: 4 h short at midnight",
    ),
    # setpoint.py (the decision's own reason)
    _shape(
        rf"target (?P<power_w>{_NUM}) W: the sun left today \((?P<kwh>{_NUM}) kWh\) cannot fill "
        r"(?P<load>[\w-]+), its heat is worth the import",
        "consigne {power_w}\u00a0W : le soleil restant aujourd'hui ({kwh}\u00a0kWh) ne peut "
        "remplir {load}, sa chaleur vaut l'achat",
        "target 0 W: the sun left today (1.6 kWh) cannot fill water_heater, its heat is worth "
        "the import",
    ),
    # core.py
    _shape(rf"trim (?P<power_w>{_NUM}) W", "réglé à {power_w}\u00a0W", "trim 1200 W"),
    _shape("off: no surplus", "arrêt : pas de surplus", "off: no surplus"),
    # staging.py
    _shape("on: surplus", "marche : surplus", "on: surplus"),
    _shape(
        rf"on: surplus (?P<kw>{_NUM}) kW steady",
        "marche : surplus stable de {kw}\u00a0kW",
        "on: surplus 2.8 kW steady",
    ),
    _shape(
        rf"off: surplus (?P<power_w>{_NUM}) W of (?P<needed_w>{_NUM})",
        "arrêt : surplus de {power_w}\u00a0W sur {needed_w}\u00a0W",
        "off: surplus 120 W of 1100",
    ),
    _shape(
        rf"off: surplus (?P<kw>{_NUM}) kW steady, starts in (?P<left>{_DUR}) if it lasts",
        "arrêt : surplus stable de {kw}\u00a0kW, démarre dans {left} s'il dure",
        "off: surplus 2.8 kW steady, starts in 20 s if it lasts",
    ),
    _shape(
        rf"off: surplus unsteady, would import (?P<percent>{_NUM})%",
        "arrêt : surplus instable, importerait {percent}\u00a0%",
        "off: surplus unsteady, would import 35%",
    ),
    _shape(
        rf"off: min-off (?P<left>{_DUR}) left",
        "arrêt : arrêt minimal, encore {left}",
        "off: min-off 4 min left",
    ),
    _shape(
        rf"off: (?:shadow (?P<shadow>{_DUR}) ago, )?starts in (?P<left>{_DUR}) if surplus lasts",
        "arrêt : [ombre il y a {shadow}, ]démarre dans {left} si le surplus dure",
        "off: shadow 40 s ago, starts in 3 min if surplus lasts",
    ),
    _shape(
        rf"on: min-on (?P<left>{_DUR}) left",
        "marche : marche minimale, encore {left}",
        "on: min-on 50 s left",
    ),
    _shape(
        rf"on: stops in (?P<left>{_DUR}) if import lasts",
        "marche : s'arrête dans {left} si l'import dure",
        "on: stops in 2 min if import lasts",
    ),
    _shape("off: not enough surplus", "arrêt : pas assez de surplus", "off: not enough surplus"),
    _shape(
        rf"off: imported (?P<percent>{_NUM})% of its power",
        "arrêt : {percent}\u00a0% de sa puissance importés",
        "off: imported 40% of its power",
    ),
    # probing.py
    _shape(r"testing: is it drawing\?", "test : consomme-t-il ?", "testing: is it drawing?"),
    _shape(
        rf"at its cap, export up (?P<power_w>{_NUM}) W: is it drawing\?",
        "à son plafond, export en hausse de {power_w}\u00a0W : consomme-t-il ?",
        "at its cap, export up 2100 W: is it drawing?",
    ),
    # plant.py (the safe state: every load shed, the decision's own reason too)
    _shape("stale meter data", "données du compteur périmées", "stale meter data"),
    _shape("teleinfo offline", "téléinfo hors ligne", "teleinfo offline"),
    _shape("regulation stopped", "régulation arrêtée", "regulation stopped"),
    # state.py (before the first evaluation)
    _shape("starting", "démarrage", "starting"),
)

#: How the notes of a reason are joined (:meth:`pvopt.regulation.core.Regulator._set_reasons`).
SEPARATOR = "; "
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")
_FIELD = re.compile(r"\{(\w+)\}")
#: Unknown texts logged at most this many times each table (a flood of new words stays
#: bounded).
MAX_LOGGED = 100


@dataclass(slots=True)
class Untranslated:
    """The texts no shape of a table matched: each logged once at DEBUG (at most
    :data:`MAX_LOGGED` of them), and shown as they came."""

    log: logging.Logger
    what: str  # "reason", "configuration message"
    seen: set[str] = field(default_factory=set)

    def as_came(self, text: str) -> str:
        """``text`` unchanged, logged the first time."""
        seen = self.seen
        if text not in seen and len(seen) < MAX_LOGGED:
            seen.add(text)
            self.log.debug("no French for the %s %r: shown as it came", self.what, text)
        return text


_untranslated = Untranslated(_LOG, "reason")


def fill(
    template: str,
    groups: Mapping[str, str | None],
    fields: Mapping[str, Callable[[str], str]] = FIELDS,
) -> str:
    """``template`` with its groups written, each by its rewrite in ``fields`` (see the
    module's docstring; :mod:`pvopt.web.config_messages` passes its own)."""

    def segment(found: re.Match[str]) -> str:
        names = _FIELD.findall(found.group(1))
        return found.group(1) if all(groups.get(n) is not None for n in names) else ""

    def field(found: re.Match[str]) -> str:
        name = found.group(1)
        value = groups.get(name) or ""
        rewrite = fields.get(name)
        return rewrite(value) if rewrite is not None else value

    return _FIELD.sub(field, _SEGMENT.sub(segment, template))


def match(part: str, shapes: tuple[Shape, ...] = SHAPES) -> Shape | None:
    """The first shape that matches the whole of ``part``, or None."""
    return next((s for s in shapes if s.pattern.fullmatch(part)), None)


def translated(
    part: str,
    shapes: tuple[Shape, ...],
    fields: Mapping[str, Callable[[str], str]] = FIELDS,
) -> str | None:
    """``part`` written from the first of ``shapes`` matching the whole of it, or None."""
    for shape in shapes:
        found = shape.pattern.fullmatch(part)
        if found is not None:
            return fill(shape.french, found.groupdict(), fields)
    return None


def _translate_part(part: str, shapes: tuple[Shape, ...]) -> str:
    said = translated(part, shapes)
    return said if said is not None else _untranslated.as_came(part)


@lru_cache(maxsize=512)
def french(reason: str) -> str:
    """``reason`` in French, part by part (a part no shape matches as it came). Cached:
    the live snapshot asks for the same few reasons on every push."""
    if not reason:
        return reason
    return SEPARATOR.join(_translate_part(p, SHAPES) for p in reason.split(SEPARATOR))
