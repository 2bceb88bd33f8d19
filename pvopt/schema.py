"""The YAML schema machinery shared by every file pvopt reads (``equipment_config.yml``,
scenario files, recordings): file errors, the values of a config dataclass's fields, and
a parser base that collects every problem with its line and key path.

The schema itself is written once, as dataclass fields made with
:func:`pvopt.equipment.model.option` (YAML key, bounds, choices) and their annotations
(types); a file's parser subclasses :class:`SchemaParser` and walks its own structure.
Only safe YAML is read (:class:`yaml.SafeLoader`); the choices made where YAML 1.1
would surprise a user are listed in :mod:`pvopt.equipment.loader`.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
import types
import typing
from collections.abc import Sequence
from dataclasses import MISSING, dataclass
from datetime import time
from enum import Enum
from pathlib import Path
from typing import Any, ClassVar, Final

import yaml
from yaml.reader import ReaderError

STR_TAG: Final = "tag:yaml.org,2002:str"
INT_TAG: Final = "tag:yaml.org,2002:int"
NULL_TAG: Final = "tag:yaml.org,2002:null"
MERGE_TAG: Final = "tag:yaml.org,2002:merge"
#: What a check returns after reporting a problem (None is a valid value).
INVALID: Final = object()
_YAML12_NUMBER: Final = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_CLOCK: Final = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])")


@dataclass(frozen=True)
class ConfigIssue:
    """One problem: 1-based line (None when unknown), key path (may be empty), message,
    and the 1-based column where it starts when known (the settings page marks it)."""

    line: int | None
    path: str
    message: str
    column: int | None = None

    def format(self, source: str) -> str:
        where = source if self.line is None else f"{source}:{self.line}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ConfigFileError(ValueError):
    """A configuration, scenario or recording file is unreadable or invalid; ``str()`` lists
    every problem."""

    def __init__(self, source: str, issues: Sequence[ConfigIssue]) -> None:
        self.source = source
        self.issues = tuple(issues)
        super().__init__("\n".join(issue.format(source) for issue in self.issues))


def read_text(path: Path) -> str:
    """The UTF-8 text of a configuration, scenario or recording file; raise
    :class:`ConfigFileError` naming the file when it cannot be read."""
    try:
        return path.read_text("utf-8")
    except UnicodeDecodeError as exc:
        reason = f"not UTF-8 text ({exc.reason})"
    except OSError as exc:
        reason = exc.strerror or str(exc)
    raise ConfigFileError(str(path), [ConfigIssue(None, "", f"cannot read the file: {reason}")])


# -- helpers ---------------------------------------------------------------------------------


def number_text(value: float) -> str:
    """A bound or value for messages: ``5`` rather than ``5.0``."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def expected_number(meta: typing.Mapping[str, Any], integer: bool) -> str:
    noun = "whole number" if integer else "number"
    low, high, positive = meta.get("low"), meta.get("high"), meta.get("positive")
    if positive:
        return f"a positive {noun}" + (f" up to {number_text(high)}" if high is not None else "")
    if low is not None and high is not None:
        return f"a {noun} from {number_text(low)} to {number_text(high)}"
    if low is not None:
        return f"a {noun} of at least {number_text(low)}"
    if high is not None:
        return f"a {noun} of at most {number_text(high)}"
    return f"a {noun}"


def in_bounds(value: float, meta: typing.Mapping[str, Any]) -> bool:
    low, high = meta.get("low"), meta.get("high")
    if meta.get("positive") and not value > 0:
        return False
    if low is not None and value < low:
        return False
    return high is None or value <= high


def unwrap(hint: Any) -> tuple[Any, bool]:
    """``X | None`` → ``(X, True)``; ``X`` → ``(X, False)``."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1:
            return args[0], len(args) < len(typing.get_args(hint))
    return hint, False


def shown(node: yaml.Node) -> str:
    """How a value is quoted back in a message: strings quoted, other scalars as typed."""
    if isinstance(node, yaml.SequenceNode):
        return "a list" if node.value else "an empty list"
    if isinstance(node, yaml.MappingNode):
        return "a mapping" if node.value else "an empty mapping"
    text = str(node.value)
    if node.tag == STR_TAG:
        return repr(text)
    if node.tag == NULL_TAG:
        return "nothing (null)"
    return text


def keys_of(cls: type[Any]) -> dict[str, tuple[dataclasses.Field[Any], Any]]:
    """YAML key → (field, resolved annotation) of a config dataclass, in field order."""
    hints = typing.get_type_hints(cls)
    return {
        f.metadata["key"]: (f, hints[f.name])
        for f in dataclasses.fields(cls)
        if f.metadata.get("key") is not None
    }


def required(f: dataclasses.Field[Any]) -> bool:
    return f.default is MISSING and f.default_factory is MISSING


def suggest(key: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if close:
        return f"unknown key (did you mean '{close[0]}'?)"
    return "unknown key; expected one of " + ", ".join(known)


@dataclass
class Entry:
    """One ``key: value`` of a mapping."""

    key_node: yaml.Node
    node: yaml.Node


class SchemaParser:
    """Collects every problem of one YAML text (``source`` names it in messages) and turns
    scalar nodes into checked field values. Subclasses walk their own structure from
    :meth:`root` and raise :meth:`fail` when :attr:`issues` is not empty."""

    #: Keys whose value is taken as the text written, whatever YAML 1.1 would make of it.
    TEXT_KEYS: ClassVar[frozenset[str]] = frozenset()
    #: Keys taking a text or a whole number, kept as text.
    ID_KEYS: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, text: str, source: str) -> None:
        self.text = text
        self.source = source
        self.issues: list[ConfigIssue] = []
        try:  # the reader rejects control characters up front
            self.loader = yaml.SafeLoader(text)
        except yaml.YAMLError as exc:
            raise self.yaml_error(exc) from None

    def root(self) -> yaml.Node | None:
        """The document's root node (None for an empty file); a syntax error raises."""
        try:
            return self.loader.get_single_node()
        except yaml.YAMLError as exc:
            raise self.yaml_error(exc) from None

    # -- reporting -----------------------------------------------------------------------------

    def error(self, node: yaml.Node | int | None, path: str, message: str) -> None:
        if isinstance(node, yaml.Node):
            mark = node.start_mark
            self.issues.append(ConfigIssue(mark.line + 1, path, message, mark.column + 1))
        else:
            self.issues.append(ConfigIssue(node, path, message))

    def fail(self) -> ConfigFileError:
        ordered = sorted(
            enumerate(self.issues),
            key=lambda pair: (pair[1].line if pair[1].line is not None else 0, pair[0]),
        )
        return ConfigFileError(self.source, [issue for _, issue in ordered])

    def yaml_error(self, exc: yaml.YAMLError) -> ConfigFileError:
        line: int | None = None
        column: int | None = None
        if isinstance(exc, yaml.MarkedYAMLError):
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark is not None else None
            column = mark.column + 1 if mark is not None else None
            context = exc.context
            if context and exc.context_mark and exc.context_mark.line + 1 != line:
                context += f" (line {exc.context_mark.line + 1})"
            what = ", ".join(part for part in (context, exc.problem) if part) or "invalid"
        elif isinstance(exc, ReaderError):
            line = self.text[: exc.position].count("\n") + 1
            char = exc.character
            shown = f"U+{char:04X}" if isinstance(char, int) else repr(char)
            what = f"character {shown} is not allowed in YAML"
        else:
            what = str(exc)
        issue = ConfigIssue(line, "", f"YAML syntax error: {what}", column)
        return ConfigFileError(self.source, [issue])

    # -- structure -----------------------------------------------------------------------------

    def mapping(self, node: yaml.Node, path: str, what: str) -> dict[str, Entry] | None:
        """The entries of a mapping node (merge keys applied), or None after an error."""
        if not isinstance(node, yaml.MappingNode):
            self.error(node, path, f"expected {what}, got {shown(node)}")
            return None
        entries: dict[str, Entry] = {}
        own: dict[str, yaml.Node] = {}
        for key_node, _ in node.value:  # repeated keys, before merges bring defaults in
            if key_node.tag == MERGE_TAG or not isinstance(key_node, yaml.ScalarNode):
                continue
            key = str(key_node.value)
            if key in own:
                first = own[key].start_mark.line + 1
                self.error(key_node, self.join(path, key), f"key repeated (first at line {first})")
            own[key] = key_node
        try:
            self.loader.flatten_mapping(node)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            self.error(mark.line + 1 if mark else node, path, f"bad merge key: {exc}")
            return None
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != STR_TAG:
                self.error(key_node, path, f"keys must be plain names, got {shown(key_node)}")
                continue
            entries[str(key_node.value)] = Entry(key_node, value_node)  # the last one wins
        return entries

    @staticmethod
    def join(path: str, key: str) -> str:
        return f"{path}.{key}" if path else key

    # -- scalars -----------------------------------------------------------------------------

    def value(
        self, key: str, hint: Any, meta: typing.Mapping[str, Any], node: yaml.Node, path: str
    ) -> Any:
        """The checked value of one key, or ``INVALID`` after reporting why."""
        base, optional = unwrap(hint)
        if optional and isinstance(node, yaml.ScalarNode) and node.tag == NULL_TAG:
            return None
        if base is float or base is int:
            return self.number(node, meta, path, integer=base is int)
        value, expected = self.convert(key, base, node)
        if value is INVALID:
            self.error(node, path, f"expected {expected}, got {shown(node)}")
        return value

    def convert(self, key: str, base: Any, node: yaml.Node) -> tuple[Any, str]:
        """``(value or INVALID, what was expected)`` for a non-numeric field type."""
        text = str(node.value) if isinstance(node, yaml.ScalarNode) else None
        tag = node.tag
        if base is str and key in self.TEXT_KEYS:  # as written: `payload_on: ON` is "ON"
            ok = text is not None and tag != NULL_TAG
            return (text if ok else INVALID), "a text"
        if base is str and key in self.ID_KEYS:  # `id: 0` as in the original config
            ok = text is not None and tag in (STR_TAG, INT_TAG)
            return (text if ok else INVALID), "a text or a whole number"
        if base is time:  # as written: YAML 1.1 reads an unquoted 22:30 as 1350
            match = _CLOCK.fullmatch(text.strip()) if tag in (STR_TAG, INT_TAG) and text else None
            clock = time(int(match[1]), int(match[2])) if match else INVALID
            return clock, "a time of day HH:MM"
        if isinstance(base, type) and issubclass(base, Enum):
            choices = [str(member.value) for member in base]
            member = base(text) if tag == STR_TAG and text in choices else INVALID
            return member, "one of " + ", ".join(choices)
        if base is str or base is bool:
            value = self.scalar(node)
            expected = "a text" if base is str else "true or false"
            return (value if isinstance(value, base) else INVALID), expected
        raise TypeError(f"unsupported field type {base!r}")  # a model type the loader lacks

    def scalar(self, node: yaml.Node) -> Any:
        """A scalar node resolved by the safe constructors (``INVALID`` for anything else)."""
        if not isinstance(node, yaml.ScalarNode):
            return INVALID
        try:
            return self.loader.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError):  # ValueError: a date such as 2026-13-01
            return INVALID

    def number(
        self, node: yaml.Node, meta: typing.Mapping[str, Any], path: str, *, integer: bool
    ) -> Any:
        value = self.scalar(node)
        as_written = shown(node)
        if (
            isinstance(node, yaml.ScalarNode)
            and node.tag == STR_TAG
            and node.style is None
            and _YAML12_NUMBER.fullmatch(str(node.value))
        ):
            value = float(node.value)  # YAML 1.2 reads 2.4e3 as a number; so does pvopt
            as_written = str(node.value)
        ok = (
            isinstance(value, int if integer else (int, float))
            and not isinstance(value, bool)
            and math.isfinite(value)
            and in_bounds(value, meta)
        )
        if not ok:
            self.error(node, path, f"expected {expected_number(meta, integer)}, got {as_written}")
            return INVALID
        return int(value) if integer else float(value)
