"""The configuration check's messages in French, for the French settings view. Pure.

The one check of ``equipment_config.yml`` (:mod:`pvopt.equipment.check`, its loader and
:mod:`pvopt.schema`) says what is wrong in English: ``pvopt check-config`` prints it, the
regulation publishes it in ``regulation/config``, the API answers it as ``message``. The
page translates on its side, with the machinery of :mod:`pvopt.web.reasons`: each message
is matched whole against :data:`MESSAGES` (English patterns with named groups → French
templates), and the parts a message is built of (what was expected, the value got, where a
duplicate was first seen, a required key's description) are translated by their own small
tables (:data:`FIELDS`). What the user wrote (keys, values, paths, type and preset names,
numbers) is kept as written: the numbers stay as YAML reads them (``0.5``, ``2.4e3``), so
that a bound can be copied back into the file.

A YAML syntax error and a bad merge key carry the YAML library's own text (PyYAML's
English: "while scanning a simple key… could not find expected ':'"): the French says
"erreur de syntaxe YAML :" and keeps the library's words (but for the "(line n)" pvopt
adds to them: "(ligne n)"). A message of no known shape is
shown as it came, in English, and logged once at DEBUG (a message the loader learnt after
this table: add its shape).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from functools import lru_cache

from pvopt.equipment.loader import NAME_RULE
from pvopt.web.reasons import NBSP, Shape, Untranslated, translated

_LOG = logging.getLogger(__name__)

_untranslated = Untranslated(_LOG, "configuration message")


def _shape(pattern: str, french: str, example: str) -> Shape:
    return Shape(re.compile(pattern, re.DOTALL), french, example)


#: How the check shows a value it got (:func:`pvopt.schema.shown`) when it is not the
#: user's own text (a quoted text or a scalar as written: kept).
GOT: dict[str, str] = {
    "a list": "une liste",
    "an empty list": "une liste vide",
    "a mapping": "une table de clés",
    "an empty mapping": "une table de clés vide",
    "nothing (null)": "rien (null)",
    "an empty text": "un texte vide",
}


def got(text: str) -> str:
    """A value as the check showed it, in French (the user's own text as it is)."""
    return GOT.get(text, text)


_NOUN = r"(?P<noun>number|whole number)"
_BOUND = r"-?[\d.e+-]+|-?inf"

#: What the check expected (:meth:`pvopt.schema.SchemaParser.convert`,
#: :func:`pvopt.schema.expected_number`, the loader's own structures).
EXPECTED: tuple[Shape, ...] = (
    _shape(
        r"a mapping with an 'equipment:' list at the top level",
        "une table de clés avec une liste 'equipment:' au premier niveau",
        "a mapping with an 'equipment:' list at the top level",
    ),
    _shape(
        r"a mapping with a 'type:' key",
        "une table de clés avec une clé 'type:'",
        "a mapping with a 'type:' key",
    ),
    _shape(r"a mapping of tunables", "une table de réglages", "a mapping of tunables"),
    _shape(
        r"a mapping of the contract and its prices",
        "une table du contrat et de ses prix",
        "a mapping of the contract and its prices",
    ),
    _shape(r"a non-empty list", "une liste non vide", "a non-empty list"),
    _shape(r"a text", "un texte", "a text"),
    _shape(r"a text or a whole number", "un texte ou un nombre entier", "a text or a whole number"),
    _shape(r"a time of day HH:MM", "une heure HH:MM", "a time of day HH:MM"),
    _shape(r"true or false", "true ou false", "true or false"),
    _shape(r"one of (?P<choices>.+)", "l'une des valeurs {choices}", "one of base, hphc"),
    _shape(
        r'a list of off-peak windows "HH:MM-HH:MM"',
        'une liste de plages creuses "HH:MM-HH:MM"',
        'a list of off-peak windows "HH:MM-HH:MM"',
    ),
    _shape(r'a window "HH:MM-HH:MM"', 'une plage "HH:MM-HH:MM"', 'a window "HH:MM-HH:MM"'),
    _shape(r"a topic", "un topic", "a topic"),
    _shape(
        re.escape(NAME_RULE) + r" \(it goes into MQTT topics and InfluxDB tags\)",
        "des lettres, des chiffres, '_' ou '-' seulement (il entre dans les topics MQTT et "
        "les tags InfluxDB)",
        NAME_RULE + " (it goes into MQTT topics and InfluxDB tags)",
    ),
    _shape(
        r"a non-empty id without '/', '\+' or '#' \(it goes into MQTT topics\)",
        "un id non vide sans '/', '+' ni '#' (il entre dans les topics MQTT)",
        "a non-empty id without '/', '+' or '#' (it goes into MQTT topics)",
    ),
    _shape(
        r"a format of (?P<format>\{percent\}) such as '(?P<sample>\{percent:\.1f\})'",
        "un format de {format} tel que '{sample}'",
        "a format of {percent} such as '{percent:.1f}'",
    ),
    _shape(
        rf"a positive {_NOUN}(?: up to (?P<high>{_BOUND}))?",
        "un {noun} positif[ jusqu'à {high}]",
        "a positive number up to 5000",
    ),
    _shape(
        rf"a {_NOUN} from (?P<low>{_BOUND}) to (?P<high>{_BOUND})",
        "un {noun} de {low} à {high}",
        "a whole number from 0 to 2",
    ),
    _shape(
        rf"a {_NOUN} of at least (?P<low>{_BOUND})",
        "un {noun} d'au moins {low}",
        "a number of at least 0",
    ),
    _shape(
        rf"a {_NOUN} of at most (?P<high>{_BOUND})",
        "un {noun} d'au plus {high}",
        "a number of at most 100",
    ),
    _shape(rf"a {_NOUN}", "un {noun}", "a number"),
)

#: Where a name or an id was first used (the loader's duplicate checks).
WHERES: tuple[Shape, ...] = (
    _shape(
        r"(?P<path>\S+) \(no id: its position\) at line (?P<line>\d+)",
        "{path} (sans id : sa position) à la ligne {line}",
        "equipment[0] (no id: its position) at line 2",
    ),
    _shape(
        r"(?P<path>\S+) at line (?P<line>\d+)",
        "{path} à la ligne {line}",
        "equipment[0].name at line 4",
    ),
)

#: The descriptions of the required keys (:func:`pvopt.equipment.model.option`'s ``doc``
#: of a field without a default), named in "required key is missing (…)".
DOCS: dict[str, str] = {
    "unique name, used in status, InfluxDB and regulation/control": (
        "nom unique, repris dans l'état, InfluxDB et regulation/control"
    ),
    "device id, used in the device topics (scr/<id>/...); unique": (
        "id de l'appareil, repris dans ses topics (scr/<id>/...) ; unique"
    ),
    "power at 100 %": "puissance à 100\u00a0%",
    "below it, heat from the grid in off-peak hours": (
        "en dessous, chauffe sur le réseau en heures creuses"
    ),
    "off-peak grid heating stops here": "la chauffe sur le réseau en heures creuses s'arrête ici",
    "once temp_max was reached, the tank takes only the surplus no other load takes until it "
    "falls below this; then it has its priority back": (
        "une fois temp_max atteinte, le ballon ne prend que le surplus qu'aucune autre charge "
        "ne prend, jusqu'à redescendre sous cette valeur ; il retrouve alors sa priorité"
    ),
    "never heated above it, in any mode": "jamais chauffé au-dessus, quel que soit le mode",
    "power drawn when on": "puissance consommée en marche",
}

#: The line pvopt adds to a YAML syntax error's context (the library's words are kept).
_LINE = re.compile(r"\(line (\d+)\)")

#: How a nested group is written in French, by the group's name (a group not named here
#: is the user's own text, kept).
FIELDS: dict[str, Callable[[str], str]] = {
    "got": got,
    "expected": lambda text: _nested(text, EXPECTED),
    "where": lambda text: _nested(text, WHERES),
    "doc": lambda text: DOCS.get(text, text),
    "noun": {"number": "nombre", "whole number": "nombre entier"}.__getitem__,
    "rule": {"below": "moins que", "at least": "au moins", "at most": "au plus"}.__getitem__,
    "duplicate": {"name": "nom", "id": "id"}.__getitem__,
    "seconds": lambda text: f"{text}{NBSP}s",
    "library": lambda text: _LINE.sub(r"(ligne \1)", text),
}

#: Every message the check writes (:mod:`pvopt.schema`, :mod:`pvopt.equipment.loader`,
#: :mod:`pvopt.equipment.check`), first match wins. Keep in step with them: a new one is
#: shown in English until it is added here (tests/unit/test_web_config_messages.py finds
#: it).
MESSAGES: tuple[Shape, ...] = (
    # schema.py: the YAML library's own words kept
    _shape(
        r"YAML syntax error: character (?P<char>U\+[0-9A-F]{4,}|'.*') is not allowed in YAML",
        "erreur de syntaxe YAML : le caractère {char} n'est pas permis en YAML",
        "YAML syntax error: character U+0007 is not allowed in YAML",
    ),
    _shape(
        r"YAML syntax error: (?P<library>.+)",
        "erreur de syntaxe YAML : {library}",
        "YAML syntax error: while parsing a block mapping, expected <block end>, but found '-'",
    ),
    _shape(
        r"bad merge key: (?P<library>.+)",
        "clé de fusion (<<) invalide : {library}",
        "bad merge key: while constructing a mapping",
    ),
    _shape(
        r"cannot read the file: (?P<library>.+)",
        "impossible de lire le fichier : {library}",
        "cannot read the file: Permission denied",
    ),
    _shape(
        r"not UTF-8 text \((?P<library>.+)\)",
        "pas un texte UTF-8 ({library})",
        "not UTF-8 text (invalid start byte)",
    ),
    _shape(
        r"key repeated \(first at line (?P<line>\d+)\)",
        "clé répétée (d'abord à la ligne {line})",
        "key repeated (first at line 3)",
    ),
    _shape(
        r"keys must be plain names, got (?P<got>.+)",
        "les clés doivent être des noms simples, reçu {got}",
        "keys must be plain names, got a list",
    ),
    _shape(
        r"unknown key \(did you mean '(?P<key>[^']*)'\?\)",
        "clé inconnue (vouliez-vous dire '{key}' ?)",
        "unknown key (did you mean 'temp_min'?)",
    ),
    _shape(
        r"unknown key; expected one of (?P<keys>.+)",
        "clé inconnue ; attendu l'une de : {keys}",
        "unknown key; expected one of equipment, regulation, tariff",
    ),
    # loader.py
    _shape(
        r"the file is empty; expected a mapping with an 'equipment:' list",
        "le fichier est vide ; attendu une table de clés avec une liste 'equipment:'",
        "the file is empty; expected a mapping with an 'equipment:' list",
    ),
    _shape(
        r"required key is missing \(the list of equipment\)",
        "clé requise absente (la liste des équipements)",
        "required key is missing (the list of equipment)",
    ),
    _shape(
        r"required key is missing \(one of (?P<types>.+)\)",
        "clé requise absente (l'un de {types})",
        "required key is missing (one of VariablePowerEquipment, ConstantPowerEquipment)",
    ),
    _shape(
        r"required key is missing \((?P<doc>.+?)(?:, in (?P<unit>[^,()]+))?\)",
        "clé requise absente ({doc}[, en {unit}])",
        "required key is missing (power drawn when on, in W)",
    ),
    _shape(
        r"unknown type (?P<got>.+); expected one of (?P<types>.+)",
        "type inconnu {got} ; attendu l'un de {types}",
        "unknown type 'Heater'; expected one of VariablePowerEquipment",
    ),
    _shape(
        r"no id: its position (?P<position>'[^']*') is already the id of (?P<where>.+)",
        "pas d'id : sa position {position} est déjà l'id de {where}",
        "no id: its position '1' is already the id of equipment[0].id at line 3",
    ),
    _shape(
        r"duplicate (?P<duplicate>name|id) (?P<value>.+) \(also (?P<where>.+)\)",
        "{duplicate} {value} en double (aussi {where})",
        "duplicate name 'heater' (also equipment[0].name at line 4)",
    ),
    _shape(
        r"must be at most the time from 00:00 to latest_end (?P<end>\d\d:\d\d) "
        r"\((?P<seconds>\S+) s\), got (?P<value>.+)",
        "doit valoir au plus la durée de 00:00 à latest_end {end} ({seconds}), reçu {value}",
        "must be at most the time from 00:00 to latest_end 08:00 (28800 s), got 36000",
    ),
    _shape(
        r"must be at most (?P<latest>\d\d:\d\d) \(latest_end (?P<end>\d\d:\d\d) "
        r"− daily_run_time (?P<seconds>\S+) s\), got (?P<start>\d\d:\d\d)",
        "doit valoir au plus {latest} (latest_end {end} − daily_run_time {seconds}), reçu {start}",
        "must be at most 16:00 (latest_end 20:00 − daily_run_time 14400 s), got 16:01",
    ),
    _shape(
        r"must be (?P<rule>below|at least|at most) (?P<other>\w+) \((?P<bound>[^()]+)\), "
        r"got (?P<value>.+)",
        "doit valoir {rule} {other} ({bound}), reçu {value}",
        "must be below max_power (2400), got 2400",
    ),
    _shape(
        r"unknown preset (?P<preset>.+) for (?P<kind>\w+); expected one of (?P<presets>.+)",
        "préréglage {preset} inconnu pour {kind} ; attendu l'un de {presets}",
        "unknown preset 'tasmota' for VariablePowerEquipment; expected one of scr",
    ),
    _shape(
        r"must not contain the MQTT wildcards \+ or #, got (?P<value>.+)",
        "ne doit pas contenir les jokers MQTT + ou #, reçu {value}",
        "must not contain the MQTT wildcards + or #, got 'scr/+/x'",
    ),
    _shape(
        r"required when contract is (?P<contract>\w+) \(no default: its regulated price in "
        r"force could not be established\)",
        "requis quand contract vaut {contract} (pas de valeur par défaut : son tarif "
        "réglementé en vigueur n'a pu être établi)",
        "required when contract is ejp (no default: its regulated price in force could not "
        "be established)",
    ),
    _shape(
        r"required when (?P<key>\w+) is set",
        "requis quand {key} est donné",
        "required when offpeak_start is set",
    ),
    _shape(
        r"the window (?P<window>.+) is empty",
        "la plage {window} est vide",
        "the window '22:00-22:00' is empty",
    ),
    _shape(
        r"(?P<window>\d\d:\d\d-\d\d:\d\d) overlaps (?P<clash>\d\d:\d\d-\d\d:\d\d)",
        "{window} chevauche {clash}",
        "12:00-14:00 overlaps 13:00-15:00",
    ),
    # every "expected …, got …" (schema.py and loader.py)
    _shape(
        r"expected (?P<expected>.+?), got (?P<got>.+)",
        "attendu {expected}, reçu {got}",
        "expected a positive number up to 100000, got 'lots'",
    ),
)


def _nested(text: str, shapes: tuple[Shape, ...]) -> str:
    said = translated(text, shapes, FIELDS)
    return text if said is None else said


@lru_cache(maxsize=256)
def french(message: str) -> str:
    """``message`` in French (as it came when no shape matches, logged once at DEBUG)."""
    said = translated(message, MESSAGES, FIELDS)
    return said if said is not None else _untranslated.as_came(message)


def with_french(error: Mapping[str, object]) -> dict[str, object]:
    """One problem's document (:func:`pvopt.equipment.check.issue_document`) with
    ``message_fr`` beside its English ``message`` (the page of each language picks its
    own; the API keeps the English)."""
    document = dict(error)
    message = document.get("message")
    if isinstance(message, str):
        document["message_fr"] = french(message)
    return document
