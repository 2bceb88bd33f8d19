"""The configuration check's messages in French on the French page (issue #16,
pvopt.web.config_messages).

The table is proven against the real check: bad files (the error cases of
test_equipment_config.py, and below what they do not reach) go through the very function
the settings page uses (:func:`pvopt.equipment.check.check_config_text`); every message
it writes must match a shape, every shape must be reached, and the French must keep no
English word. A YAML syntax error keeps the YAML library's own text after a French
"erreur de syntaxe YAML :" (its words are PyYAML's, not pvopt's).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_equipment_config import DAILY_RUN_ERRORS, ERRORS, HEATER, PLUG, PUMP

from pvopt.equipment.check import check_config_bytes, check_config_text, issue_document
from pvopt.equipment.loader import TOP_LEVEL_KEYS, CommandOptions, load_site_config
from pvopt.equipment.model import EquipmentConfig, RegulationConfig, TariffConfig
from pvopt.equipment.registry import EQUIPMENT_TYPES
from pvopt.schema import ConfigFileError, ConfigIssue, keys_of, required
from pvopt.web import config_messages as cm
from pvopt.web.reasons import Shape, match
from pvopt.web.settings import regulation_config

#: Words of the check's English that no French message may keep (not the file's own keys
#: and values: ``name``, ``type``, ``true`` … are written as the file writes them).
ENGLISH = {
    "expected", "got", "unknown", "key", "keys", "did", "you", "mean", "required", "missing",
    "must", "be", "below", "least", "most", "number", "whole", "positive", "up", "to",
    "from", "text", "list", "mapping", "empty", "repeated", "line", "first", "duplicate",
    "also", "window", "overlaps", "when", "is", "set", "letters", "digits", "only", "goes",
    "into", "and", "or", "of", "the", "an", "with", "at", "top", "level", "its",
    "non-empty", "without", "wildcards", "not", "contain", "such", "as", "file", "time",
    "day", "windows", "off-peak", "tunables", "contract", "prices", "price", "default",
    "no", "regulated", "in", "force", "could", "established", "nothing", "plain", "names",
    "preset", "for", "one", "power", "drawn", "used", "device", "never", "heated",
    "above", "any", "heat", "grid", "hours", "stops", "here", "once", "was",
    "reached", "tank", "takes", "other", "load", "until", "falls", "this", "then",
    "has", "priority", "back", "already", "character", "allowed", "syntax",
    "error", "bad", "merge", "cannot", "read", "utf-8 text",
}  # fmt: skip

#: The file's own keys (a message names them as the file writes them).
KEYS = (
    {
        key
        for config in (EquipmentConfig, RegulationConfig, TariffConfig, CommandOptions)
        for key in keys_of(config)
    }
    | {k for t in EQUIPMENT_TYPES.values() for k in keys_of(t.config)}
    | {*TOP_LEVEL_KEYS, "type"}
)
#: The file's own words a message quotes (keys, a path, type and preset names, quoted
#: values, a format of ``{percent}``): taken out before the English check.
QUOTED = re.compile(
    r"'[^']*'|\"[^\"]*\"|\{percent[^}]*\}|\b[A-Za-z_]\w*(?:\[\d+\]|\.\w+)+|"
    r"\b(?:" + "|".join([*EQUIPMENT_TYPES, *sorted(KEYS, key=len, reverse=True)]) + r")\b|"
    r"\b(?:true|false|null|base|hphc|tempo|ejp)\b"
)
#: Shapes that keep the YAML library's (or the system's) own text after a French prefix.
LIBRARY = "library"


def english_left(text: str) -> list[str]:
    """The words of :data:`ENGLISH` in ``text``, its quoted words left out."""
    lowered = QUOTED.sub(" ", text).lower()
    return sorted(w for w in ENGLISH if re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", lowered))


def french_part(message: str) -> str:
    """What of the French pvopt wrote: a library's text (kept as it came) taken out."""
    shape = match(message, cm.MESSAGES)
    assert shape is not None, message
    found = shape.pattern.fullmatch(message)
    assert found is not None
    said = cm.french(message)
    library = found.groupdict().get(LIBRARY)
    return said.replace(cm.FIELDS[LIBRARY](library), " ") if library else said


# -- the table ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "shape"),
    [(t, s) for t in ("MESSAGES", "EXPECTED", "WHERES") for s in getattr(cm, t)],
    ids=lambda x: x if isinstance(x, str) else x.example,
)
def test_each_shape_matches_its_own_example_first_and_says_it_in_french(
    table: str, shape: Shape
) -> None:
    shapes: tuple[Shape, ...] = getattr(cm, table)
    assert match(shape.example, shapes) is shape
    if table == "MESSAGES":
        said = cm.french(shape.example)
        assert not english_left(french_part(shape.example)), said
    else:
        said = cm.FIELDS["expected" if table == "EXPECTED" else "where"](shape.example)
        assert not english_left(said), said
    assert said != shape.example
    assert not re.search(r"\{\w+\}|\[|\]", QUOTED.sub(" ", said)), said  # all filled


@pytest.mark.parametrize(
    ("english", "french"),
    [
        (
            "expected a positive number up to 100000, got 'lots'",
            "attendu un nombre positif jusqu'à 100000, reçu 'lots'",
        ),
        (
            "unknown key (did you mean 'temp_min'?)",
            "clé inconnue (vouliez-vous dire 'temp_min' ?)",
        ),
        (
            "required key is missing (power at 100 %, in W)",
            "clé requise absente (puissance à 100\u00a0%, en W)",
        ),
        ("expected a whole number from 0 to 2, got 3", "attendu un nombre entier de 0 à 2, reçu 3"),
        (
            "expected a non-empty list, got an empty list",
            "attendu une liste non vide, reçu une liste vide",
        ),
        (
            "duplicate name 'heater' (also equipment[0].name at line 4)",
            "nom 'heater' en double (aussi equipment[0].name à la ligne 4)",
        ),
        (
            "YAML syntax error: while parsing a block collection (line 2), expected <block end>",
            "erreur de syntaxe YAML : while parsing a block collection (ligne 2), expected "
            "<block end>",
        ),
        (
            "YAML syntax error: while scanning a quoted scalar, found unexpected end of stream",
            "erreur de syntaxe YAML : while scanning a quoted scalar, found unexpected end of "
            "stream",
        ),
    ],
)
def test_a_message_is_written_in_french_keeping_the_files_own_words(
    english: str, french: str
) -> None:
    assert cm.french(english) == french


def test_an_unknown_message_is_shown_as_it_came_and_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger=cm.__name__)
    said = "a message the loader learnt tomorrow"
    cm.french.cache_clear()
    assert cm.french(said) == said
    cm.french.cache_clear()
    assert cm.french(said) == said
    logged = [r for r in caplog.records if said in r.getMessage()]
    assert len(logged) == 1 and logged[0].levelno == logging.DEBUG


def test_every_required_keys_description_has_its_french() -> None:
    """ "required key is missing (…)" names the key's description: each has its French."""
    for config in [EquipmentConfig, *(t.config for t in EQUIPMENT_TYPES.values())]:
        for f, _ in keys_of(config).values():
            if required(f):
                assert f.metadata["doc"] in cm.DOCS, f.metadata["key"]


# -- the proof: every message the check writes ---------------------------------------------

#: What the error cases of test_equipment_config.py do not reach (a message site each).
MORE = {
    "empty file": "",
    "top level a list": "- a\n- b\n",
    "no equipment": "regulation: {}\n",
    "unknown top-level key, nothing close": "equipment: []\nzzz: 1\n",
    "equipment not a list": "equipment: 3\n",
    "equipment empty": "equipment: []\n",
    "an item not a mapping": "equipment:\n  - 3\n",
    "an item an empty mapping": "equipment:\n  - {}\n",
    "no type": "equipment:\n  - name: a\n    id: a\n    nominal_power: 100\n",
    "unknown type": "equipment:\n  - type: Heater\n    name: a\n",
    "key repeated": HEATER + "    temp_max: 61\n",
    "keys not plain names": HEATER + "    [1, 2]: 3\n    4: 5\n",
    "bad merge key": "equipment:\n  - <<: 3\n    type: ConstantPowerEquipment\n",
    "every required key": "equipment:\n  - type: TempDrivenVariablePowerEquipment\n"
    "  - type: ConstantPowerEquipment\n",
    "bad name, bad id": "equipment:\n  - type: ConstantPowerEquipment\n    name: 'a b'\n"
    "    id: 'scr/1'\n    nominal_power: 1\n",
    "duplicates": PLUG.replace("  - type", "  - type", 1) + PLUG[PLUG.index("  - ") :],
    "position taken": "equipment:\n  - type: ConstantPowerEquipment\n    name: a\n    id: 1\n"
    "    nominal_power: 1\n  - type: ConstantPowerEquipment\n    name: b\n    nominal_power: 1\n",
    "values of every kind": PUMP + "    qos: 3\n    retain: maybe\n    topic: ''\n"
    "    payload_on: null\n    id: [1]\n    preset: nope\n    latest_end: 25\n",
    "a negative number": HEATER.replace("max_power: 2400", "max_power: -1")
    + "    min_power: -5\n    probe_timeout: 0\n",
    "topic wildcards, bad payload_percent": HEATER
    + "    topic: 'scr/+/x'\n    payload_percent: '{pct}'\n",
    "cross checks": HEATER.replace("temp_eco: 50", "temp_eco: 40").replace(
        "temp_sol_min: 55", "temp_sol_min: 61"
    )
    + "    min_power: 3000\n",
    "regulation not a mapping": HEATER + "regulation: 3\n",
    "regulation keys": HEATER + "regulation:\n  offpeak_start: '22:00'\n  tolerance: 1\n",
    "tariff not a mapping": HEATER + "tariff: [1]\n",
    "tariff values": HEATER + "tariff:\n  contract: ejp\n  offpeak: 3\n",
    "tariff windows": HEATER
    + "tariff:\n  contract: hphc\n  offpeak: ['22:00-22:00', '12:00-14:00', '13:00-15:00', x]\n",
    "a control character": HEATER + "    name2: \x07\n",
    "a syntax error": "equipment: [\n",
    "a bad indent": "equipment:\n  - type: x\n   name: y\n",
}


def bad_texts() -> Iterator[tuple[str, str]]:
    for name, (text, _) in {**ERRORS, **DAILY_RUN_ERRORS}.items():
        yield name, text
    yield from MORE.items()


def messages() -> Iterator[tuple[str, str]]:
    """(case, message) of every problem the page's check finds in the bad files, and the
    two the page never sees (a file of bad bytes, an unreadable file)."""
    for name, text in bad_texts():
        checked = check_config_text(text)
        assert not checked.ok, name
        for issue in checked.issues:
            yield name, issue.message
    for issue in check_config_bytes(b"equipment:\n  - \xff\n", "x").issues:
        yield "not UTF-8", issue.message
    try:
        load_site_config(Path("/nonexistent/equipment_config.yml"))
    except ConfigFileError as exc:
        yield from (("unreadable", issue.message) for issue in exc.issues)


def test_every_message_the_check_writes_is_said_in_french_and_every_shape_is_reached() -> None:
    reached: set[Shape] = set()
    found = list(messages())
    assert len(found) > 60
    for case, message in found:
        shape = match(message, cm.MESSAGES)
        assert shape is not None, (case, message)
        reached.add(shape)
        groups = shape.pattern.fullmatch(message)
        assert groups is not None
        if "expected" in groups.groupdict():  # what each "expected …, got …" expected
            nested = match(groups["expected"], cm.EXPECTED)
            assert nested is not None, (case, message)
            reached.add(nested)
        said = french_part(message)
        assert not english_left(said), (case, message, cm.french(message))
    missing = {s.example for s in (*cm.MESSAGES, *cm.EXPECTED) if s not in reached}
    assert missing <= UNREACHABLE, missing - UNREACHABLE


#: Shapes of :func:`pvopt.schema.expected_number` no key of equipment_config.yml asks for
#: (each of its numbers has a lower bound); the scenario files' parser shares them.
UNREACHABLE = {"a number of at most 100", "a number"}


def test_the_documents_carry_message_fr_beside_the_english_message() -> None:
    """The 422 of a save and the regulation's refused reload: the page picks its language."""
    issue = ConfigIssue(7, "equipment[1].max_power", "expected a positive number, got 'abc'", 16)
    document = cm.with_french(issue_document(issue))
    assert document["message"] == "expected a positive number, got 'abc'"
    assert document["message_fr"] == "attendu un nombre positif, reçu 'abc'"
    assert document["line"] == 7 and document["path"] == "equipment[1].max_power"

    refused = {
        "version": "a" * 64,
        "loads": [],
        "last_reload": {"result": "refused", "errors": [issue_document(issue)]},
    }
    shown = regulation_config(json.dumps(refused).encode())
    assert shown is not None
    last = shown["last_reload"]
    assert isinstance(last, dict)
    (error,) = last["errors"]
    assert error["message_fr"] == "attendu un nombre positif, reçu 'abc'"
    assert error["message"] == issue.message
