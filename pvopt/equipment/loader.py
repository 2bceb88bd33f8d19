"""The one loader of ``equipment_config.yml`` (docs/design.md §3): YAML in, a frozen
:class:`SiteConfig` out.

Validation comes from the dataclass metadata of :mod:`pvopt.equipment.model` (YAML key,
bounds, choices) and from the field annotations (types), so the schema is written once.
Every problem is collected, then all of them are raised together in one
:class:`ConfigFileError`, one per line, each naming the file, the 1-based line and the path
of the key::

    equipment_config.yml:7: equipment[1].max_power: expected a positive number, got 'abc'

Only safe YAML is read (:class:`yaml.SafeLoader`: the file is composed into nodes, which
carry their line, and scalars are resolved with the safe constructors).

Choices made where YAML 1.1 (PyYAML) would surprise a user:

- ``topic`` and ``payload_*`` take the text as written: ``payload_on: ON`` is the string
  ``"ON"``, not the boolean YAML 1.1 makes of it; ``payload_off: 0`` is ``"0"``.
- ``id`` accepts a whole number (the original config has ``id: 0``) and keeps it as typed.
- Times of day take the text as written (``22:30`` is not the sexagesimal 1350).
- Unquoted numbers such as ``2.4e3`` or ``1e3`` (strings for YAML 1.1, numbers for YAML
  1.2) are accepted as numbers; quoted strings never are.
- Repeated keys in one mapping are errors (YAML would silently keep the last one);
  anchors, aliases and ``<<:`` merge keys work.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
import types
import typing
from collections.abc import Callable, Sequence
from dataclasses import MISSING, dataclass
from datetime import time
from enum import Enum
from pathlib import Path
from typing import Any, Final

import yaml
from yaml.reader import ReaderError

from pvopt.equipment.model import (
    Command,
    EquipmentConfig,
    RegulationConfig,
    SiteConfig,
    TempDrivenVariablePowerConfig,
    VariablePowerConfig,
    option,
)
from pvopt.equipment.registry import EQUIPMENT_TYPES

__all__ = [
    "COMMAND_KEYS",
    "TOP_LEVEL_KEYS",
    "CommandOptions",
    "ConfigFileError",
    "ConfigIssue",
    "load_site_config",
    "parse_site_config",
    "type_name",
]

#: Names go into MQTT topics and InfluxDB tags.
NAME_PATTERN: Final = re.compile(r"[A-Za-z0-9_-]+")
NAME_RULE: Final = "letters, digits, '_' or '-' only"
#: An id is substituted into topics: no level separator, no wildcard.
ID_FORBIDDEN: Final = "/+#"
TOP_LEVEL_KEYS: Final = ("equipment", "regulation")


@dataclass(frozen=True, kw_only=True)
class CommandOptions:
    """The command keys of every equipment item: the preset, then overrides.

    Not a config object of its own: the loader turns these keys into a
    :class:`~pvopt.equipment.model.Command`. ``None`` means "as the preset says".
    """

    preset: str | None = option(
        "preset", "device family giving the topic and payloads (see Presets)", default=None
    )
    topic: str | None = option(
        "topic", "MQTT topic of the commands; {id} is replaced by the id", default=None
    )
    payload_on: str | None = option("payload_on", "payload switching the load on", default=None)
    payload_off: str | None = option("payload_off", "payload switching the load off", default=None)
    payload_percent: str | None = option(
        "payload_percent",
        "dimmer payload, a Python format of the firing percentage {percent} (0–100)",
        default=None,
    )
    qos: int = option("qos", "MQTT QoS of the commands", default=1, low=0, high=2)
    retain: bool = option("retain", "publish the commands retained", default=False)


COMMAND_KEYS: Final = tuple(f.metadata["key"] for f in dataclasses.fields(CommandOptions))
#: Keys whose value is taken as the text written, whatever YAML 1.1 would resolve it to.
_TEXT_KEYS: Final = frozenset({"topic", "payload_on", "payload_off", "payload_percent"})
_YAML12_NUMBER: Final = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_CLOCK: Final = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])")
_STR_TAG: Final = "tag:yaml.org,2002:str"
_INT_TAG: Final = "tag:yaml.org,2002:int"
_NULL_TAG: Final = "tag:yaml.org,2002:null"
_MERGE_TAG: Final = "tag:yaml.org,2002:merge"
_INVALID: Final = object()


@dataclass(frozen=True)
class ConfigIssue:
    """One problem: 1-based line (None when unknown), key path (may be empty), message."""

    line: int | None
    path: str
    message: str

    def format(self, source: str) -> str:
        where = source if self.line is None else f"{source}:{self.line}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ConfigFileError(ValueError):
    """``equipment_config.yml`` is unreadable or invalid; ``str()`` lists every problem."""

    def __init__(self, source: str, issues: Sequence[ConfigIssue]) -> None:
        self.source = source
        self.issues = tuple(issues)
        super().__init__("\n".join(issue.format(source) for issue in self.issues))


def type_name(config: EquipmentConfig) -> str:
    """The YAML ``type:`` of a loaded equipment config."""
    for name, entry in EQUIPMENT_TYPES.items():
        if type(config) is entry.config:
            return name
    raise LookupError(f"{type(config).__name__} is not a registered equipment type")


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


def load_site_config(path: Path, settings_hc: tuple[time, time] | None = None) -> SiteConfig:
    """Read and validate ``path``; raise :class:`ConfigFileError` naming every problem.

    ``settings_hc`` (``Settings.hc_start``, ``Settings.hc_end``) is the default off-peak
    window when the file's ``regulation:`` section does not set one.
    """
    return parse_site_config(read_text(path), str(path), settings_hc)


def parse_site_config(
    text: str, source: str = "<string>", settings_hc: tuple[time, time] | None = None
) -> SiteConfig:
    """Validate the YAML ``text`` (named ``source`` in messages) into a :class:`SiteConfig`."""
    return _Parser(text, source, settings_hc).parse()


# -- helpers ---------------------------------------------------------------------------------


def _num(value: float) -> str:
    """A bound or value for messages: ``5`` rather than ``5.0``."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _expected_number(meta: typing.Mapping[str, Any], integer: bool) -> str:
    noun = "whole number" if integer else "number"
    low, high, positive = meta.get("low"), meta.get("high"), meta.get("positive")
    if positive:
        return f"a positive {noun}" + (f" up to {_num(high)}" if high is not None else "")
    if low is not None and high is not None:
        return f"a {noun} from {_num(low)} to {_num(high)}"
    if low is not None:
        return f"a {noun} of at least {_num(low)}"
    if high is not None:
        return f"a {noun} of at most {_num(high)}"
    return f"a {noun}"


def _in_bounds(value: float, meta: typing.Mapping[str, Any]) -> bool:
    low, high = meta.get("low"), meta.get("high")
    if meta.get("positive") and not value > 0:
        return False
    if low is not None and value < low:
        return False
    return high is None or value <= high


def _unwrap(hint: Any) -> tuple[Any, bool]:
    """``X | None`` → ``(X, True)``; ``X`` → ``(X, False)``."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1:
            return args[0], len(args) < len(typing.get_args(hint))
    return hint, False


def _shown(node: yaml.Node) -> str:
    """How a value is quoted back in a message: strings quoted, other scalars as typed."""
    if isinstance(node, yaml.SequenceNode):
        return "a list" if node.value else "an empty list"
    if isinstance(node, yaml.MappingNode):
        return "a mapping" if node.value else "an empty mapping"
    text = str(node.value)
    if node.tag == _STR_TAG:
        return repr(text)
    if node.tag == _NULL_TAG:
        return "nothing (null)"
    return text


def _keys_of(cls: type[Any]) -> dict[str, tuple[dataclasses.Field[Any], Any]]:
    """YAML key → (field, resolved annotation) of a config dataclass, in field order."""
    hints = typing.get_type_hints(cls)
    return {
        f.metadata["key"]: (f, hints[f.name])
        for f in dataclasses.fields(cls)
        if f.metadata.get("key") is not None
    }


def _or(value: str | None, default: str) -> str:
    return default if value is None else value


def _required(f: dataclasses.Field[Any]) -> bool:
    return f.default is MISSING and f.default_factory is MISSING


def _suggest(key: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if close:
        return f"unknown key (did you mean '{close[0]}'?)"
    return "unknown key; expected one of " + ", ".join(known)


@dataclass
class _Entry:
    """One ``key: value`` of a mapping."""

    key_node: yaml.Node
    node: yaml.Node


class _Parser:
    def __init__(self, text: str, source: str, settings_hc: tuple[time, time] | None) -> None:
        self.text = text
        self.source = source
        self.settings_hc = settings_hc
        self.issues: list[ConfigIssue] = []
        try:  # the reader rejects control characters up front
            self.loader = yaml.SafeLoader(text)
        except yaml.YAMLError as exc:
            raise self.yaml_error(exc) from None

    # -- reporting -----------------------------------------------------------------------------

    def error(self, node: yaml.Node | int | None, path: str, message: str) -> None:
        line = node.start_mark.line + 1 if isinstance(node, yaml.Node) else node
        self.issues.append(ConfigIssue(line, path, message))

    def fail(self) -> ConfigFileError:
        ordered = sorted(
            enumerate(self.issues),
            key=lambda pair: (pair[1].line if pair[1].line is not None else 0, pair[0]),
        )
        return ConfigFileError(self.source, [issue for _, issue in ordered])

    def yaml_error(self, exc: yaml.YAMLError) -> ConfigFileError:
        line: int | None = None
        if isinstance(exc, yaml.MarkedYAMLError):
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark is not None else None
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
        return ConfigFileError(self.source, [ConfigIssue(line, "", f"YAML syntax error: {what}")])

    # -- structure -----------------------------------------------------------------------------

    def parse(self) -> SiteConfig:
        try:
            try:
                root = self.loader.get_single_node()
            except yaml.YAMLError as exc:
                raise self.yaml_error(exc) from None
            site = self.site(root)
        finally:
            self.loader.dispose()
        if self.issues or site is None:
            raise self.fail()
        return site

    def mapping(self, node: yaml.Node, path: str, what: str) -> dict[str, _Entry] | None:
        """The entries of a mapping node (merge keys applied), or None after an error."""
        if not isinstance(node, yaml.MappingNode):
            self.error(node, path, f"expected {what}, got {_shown(node)}")
            return None
        entries: dict[str, _Entry] = {}
        own: dict[str, yaml.Node] = {}
        for key_node, _ in node.value:  # repeated keys, before merges bring defaults in
            if key_node.tag == _MERGE_TAG or not isinstance(key_node, yaml.ScalarNode):
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
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != _STR_TAG:
                self.error(key_node, path, f"keys must be plain names, got {_shown(key_node)}")
                continue
            entries[str(key_node.value)] = _Entry(key_node, value_node)  # the last one wins
        return entries

    @staticmethod
    def join(path: str, key: str) -> str:
        return f"{path}.{key}" if path else key

    def site(self, root: yaml.Node | None) -> SiteConfig | None:
        if root is None:
            self.error(1, "", "the file is empty; expected a mapping with an 'equipment:' list")
            return None
        top = self.mapping(root, "", "a mapping with an 'equipment:' list at the top level")
        if top is None:
            return None
        for key, entry in top.items():
            if key not in TOP_LEVEL_KEYS:
                self.error(entry.key_node, key, _suggest(key, TOP_LEVEL_KEYS))
        equipment = self.equipment_list(top.get("equipment"), root)
        regulation = self.regulation(top.get("regulation"))
        if equipment is None or regulation is None:
            return None
        return SiteConfig(equipment=equipment, regulation=regulation)

    def equipment_list(
        self, entry: _Entry | None, root: yaml.Node
    ) -> tuple[EquipmentConfig, ...] | None:
        if entry is None:
            self.error(root, "equipment", "required key is missing (the list of equipment)")
            return None
        node = entry.node
        if not isinstance(node, yaml.SequenceNode) or not node.value:
            self.error(node, "equipment", f"expected a non-empty list, got {_shown(node)}")
            return None
        before = len(self.issues)
        names: dict[str, str] = {}  # value → "path at line n" of its first use
        ids: dict[str, str] = {}
        built: list[EquipmentConfig] = []
        for index, item in enumerate(node.value):
            config = self.equipment(index, item, names, ids)
            if config is not None:
                built.append(config)
        return tuple(built) if len(self.issues) == before else None

    # -- one equipment -----------------------------------------------------------------------

    def equipment(
        self, index: int, node: yaml.Node, names: dict[str, str], ids: dict[str, str]
    ) -> EquipmentConfig | None:
        path = f"equipment[{index}]"
        entries = self.mapping(node, path, "a mapping with a 'type:' key")
        if entries is None:
            return None
        before = len(self.issues)
        # Name and id first, whatever the type, so that duplicates are always reported.
        values = self.identity(node, entries, path, names, ids)

        type_entry = entries.get("type")
        if type_entry is None:
            self.error(
                node,
                self.join(path, "type"),
                f"required key is missing (one of {', '.join(EQUIPMENT_TYPES)})",
            )
            return None
        kind = type_entry.node.value if isinstance(type_entry.node, yaml.ScalarNode) else None
        if not isinstance(kind, str) or kind not in EQUIPMENT_TYPES:
            self.error(
                type_entry.node,
                self.join(path, "type"),
                f"unknown type {_shown(type_entry.node)}; "
                f"expected one of {', '.join(EQUIPMENT_TYPES)}",
            )
            return None
        cls = EQUIPMENT_TYPES[kind].config

        fields = _keys_of(cls)
        command_fields = _keys_of(CommandOptions)
        known = ["type", *fields, *command_fields]
        misspelt: set[str] = set()  # `nominal_pwer`: "did you mean" says it all
        for key, entry in entries.items():
            if key not in known:
                self.error(entry.key_node, self.join(path, key), _suggest(key, known))
                misspelt.update(difflib.get_close_matches(key, known, n=1, cutoff=0.6))
        for key, (f, hint) in {**fields, **command_fields}.items():
            if key in ("name", "id"):
                continue
            if key not in entries:
                if _required(f) and key not in misspelt:
                    doc, unit = f.metadata["doc"], f.metadata["unit"]
                    detail = f"{doc}, in {unit}" if unit else doc
                    self.error(node, self.join(path, key), f"required key is missing ({detail})")
                continue
            value = self.value(key, hint, f.metadata, entries[key].node, self.join(path, key))
            if value is not _INVALID:
                values[key] = value

        self.cross_check(cls, values, entries, path)
        command = self.command(kind, values, entries, path)
        if command is None or len(self.issues) > before:
            return None
        kwargs = {f.name: values[key] for key, (f, _) in fields.items() if key in values}
        return cls(command=command, **kwargs)

    def identity(
        self,
        node: yaml.Node,
        entries: dict[str, _Entry],
        path: str,
        names: dict[str, str],
        ids: dict[str, str],
    ) -> dict[str, Any]:
        """Check ``name`` and ``id`` (format, uniqueness across the file)."""
        common = _keys_of(EquipmentConfig)
        values: dict[str, Any] = {}
        for key, seen in (("name", names), ("id", ids)):
            f, hint = common[key]
            key_path = self.join(path, key)
            if key not in entries:
                self.error(node, key_path, f"required key is missing ({f.metadata['doc']})")
                continue
            value_node = entries[key].node
            value = self.value(key, hint, f.metadata, value_node, key_path)
            if value is _INVALID:
                continue
            if key == "name" and not NAME_PATTERN.fullmatch(value):
                self.error(
                    value_node,
                    key_path,
                    f"expected {NAME_RULE} (it goes into MQTT topics and InfluxDB tags), "
                    f"got {value!r}",
                )
            elif key == "id" and (not value or any(c in value for c in ID_FORBIDDEN)):
                self.error(
                    value_node,
                    key_path,
                    f"expected a non-empty id without '/', '+' or '#' (it goes into MQTT "
                    f"topics), got {value!r}",
                )
            else:
                values[key] = value
            if value in seen:
                self.error(value_node, key_path, f"duplicate {key} {value!r} (also {seen[value]})")
            else:
                seen[value] = f"{key_path} at line {value_node.start_mark.line + 1}"
        return values

    def cross_check(
        self,
        cls: type[EquipmentConfig],
        values: dict[str, Any],
        entries: dict[str, _Entry],
        path: str,
    ) -> None:
        """Checks between keys of one item, on the keys that were valid on their own."""

        def check(first: str, second: str, ok: Callable[[float, float], bool], rule: str) -> None:
            # Reported on `second` (the key whose value is compared with `first`).
            if first in values and second in values and not ok(values[first], values[second]):
                message = f"must be {rule} {first} ({_num(values[first])}), "
                self.error(
                    entries[second].node,
                    self.join(path, second),
                    message + f"got {_num(values[second])}",
                )

        if issubclass(cls, VariablePowerConfig):
            check("max_power", "min_power", lambda high, low: low < high, "below")
        if issubclass(cls, TempDrivenVariablePowerConfig):
            check("temp_min", "temp_eco", lambda t_min, eco: t_min <= eco, "at least")
            check("temp_max", "temp_eco", lambda t_max, eco: eco <= t_max, "at most")
            check("temp_max", "temp_sol_min", lambda t_max, sol: sol < t_max, "below")

    def command(
        self, kind: str, values: dict[str, Any], entries: dict[str, _Entry], path: str
    ) -> Command | None:
        """The :class:`Command` from the preset and the explicit keys (None after an error)."""
        registered = EQUIPMENT_TYPES[kind]
        preset_name = values.get("preset")
        if preset_name is None:
            preset_name = registered.default_preset
        preset = registered.presets.get(preset_name)
        if preset is None:
            self.error(
                entries["preset"].node,
                self.join(path, "preset"),
                f"unknown preset {preset_name!r} for {kind}; "
                f"expected one of {', '.join(registered.presets)}",
            )
        percent = _or(values.get("payload_percent"), preset.payload_percent if preset else "")
        if "payload_percent" in values:
            try:
                percent.format(percent=50.0)
            except (KeyError, IndexError, ValueError):
                self.error(
                    entries["payload_percent"].node,
                    self.join(path, "payload_percent"),
                    f"expected a format of {{percent}} such as '{{percent:.1f}}', got {percent!r}",
                )
        if "topic" in values:
            topic_node, topic_path = entries["topic"].node, self.join(path, "topic")
            if not values["topic"].strip():
                self.error(topic_node, topic_path, "expected a topic, got an empty text")
            elif "+" in values["topic"] or "#" in values["topic"]:
                self.error(
                    topic_node,
                    topic_path,
                    f"must not contain the MQTT wildcards + or #, got {values['topic']!r}",
                )
        if preset is None or "id" not in values:
            return None
        return Command(
            topic=_or(values.get("topic"), preset.topic).replace("{id}", values["id"]),
            payload_on=_or(values.get("payload_on"), preset.payload_on),
            payload_off=_or(values.get("payload_off"), preset.payload_off),
            payload_percent=percent,
            qos=values.get("qos", 1),
            retain=values.get("retain", False),
        )

    # -- regulation --------------------------------------------------------------------------

    def regulation(self, entry: _Entry | None) -> RegulationConfig | None:
        hc_start, hc_end = self.settings_hc or (None, None)
        if entry is None or (
            isinstance(entry.node, yaml.ScalarNode) and entry.node.tag == _NULL_TAG
        ):
            return RegulationConfig(offpeak_start=hc_start, offpeak_end=hc_end)
        entries = self.mapping(entry.node, "regulation", "a mapping of tunables")
        if entries is None:
            return None
        before = len(self.issues)
        fields = _keys_of(RegulationConfig)
        for key, item in entries.items():
            if key not in fields:
                self.error(item.key_node, self.join("regulation", key), _suggest(key, list(fields)))
        kwargs: dict[str, Any] = {}
        for key, (f, hint) in fields.items():
            if key in entries:
                value = self.value(key, hint, f.metadata, entries[key].node, f"regulation.{key}")
                if value is not _INVALID:
                    kwargs[f.name] = value
        if kwargs.get("offpeak_start") is None:
            kwargs["offpeak_start"] = hc_start
        if kwargs.get("offpeak_end") is None:
            kwargs["offpeak_end"] = hc_end
        for key, other in (("offpeak_start", "offpeak_end"), ("offpeak_end", "offpeak_start")):
            if kwargs[key] is not None and kwargs[other] is None and key in entries:
                self.error(entries[key].node, f"regulation.{other}", f"required when {key} is set")
        if len(self.issues) > before:
            return None
        return RegulationConfig(**kwargs)

    # -- scalars -----------------------------------------------------------------------------

    def value(
        self, key: str, hint: Any, meta: typing.Mapping[str, Any], node: yaml.Node, path: str
    ) -> Any:
        """The checked value of one key, or ``_INVALID`` after reporting why."""
        base, optional = _unwrap(hint)
        if optional and isinstance(node, yaml.ScalarNode) and node.tag == _NULL_TAG:
            return None
        if base is float or base is int:
            return self.number(node, meta, path, integer=base is int)
        value, expected = self.convert(key, base, node)
        if value is _INVALID:
            self.error(node, path, f"expected {expected}, got {_shown(node)}")
        return value

    def convert(self, key: str, base: Any, node: yaml.Node) -> tuple[Any, str]:
        """``(value or _INVALID, what was expected)`` for a non-numeric field type."""
        text = str(node.value) if isinstance(node, yaml.ScalarNode) else None
        tag = node.tag
        if base is str and key in _TEXT_KEYS:  # as written: `payload_on: ON` is "ON"
            ok = text is not None and tag != _NULL_TAG
            return (text if ok else _INVALID), "a text"
        if base is str and key == "id":  # `id: 0` as in the original config
            ok = text is not None and tag in (_STR_TAG, _INT_TAG)
            return (text if ok else _INVALID), "a text or a whole number"
        if base is time:  # as written: YAML 1.1 reads an unquoted 22:30 as 1350
            match = _CLOCK.fullmatch(text.strip()) if tag in (_STR_TAG, _INT_TAG) and text else None
            clock = time(int(match[1]), int(match[2])) if match else _INVALID
            return clock, "a time of day HH:MM"
        if isinstance(base, type) and issubclass(base, Enum):
            choices = [str(member.value) for member in base]
            member = base(text) if tag == _STR_TAG and text in choices else _INVALID
            return member, "one of " + ", ".join(choices)
        if base is str or base is bool:
            value = self.scalar(node)
            expected = "a text" if base is str else "true or false"
            return (value if isinstance(value, base) else _INVALID), expected
        raise TypeError(f"unsupported field type {base!r}")  # a model type the loader lacks

    def scalar(self, node: yaml.Node) -> Any:
        """A scalar node resolved by the safe constructors (``_INVALID`` for anything else)."""
        if not isinstance(node, yaml.ScalarNode):
            return _INVALID
        try:
            return self.loader.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError):  # ValueError: a date such as 2026-13-01
            return _INVALID

    def number(
        self, node: yaml.Node, meta: typing.Mapping[str, Any], path: str, *, integer: bool
    ) -> Any:
        value = self.scalar(node)
        shown = _shown(node)
        if (
            isinstance(node, yaml.ScalarNode)
            and node.tag == _STR_TAG
            and node.style is None
            and _YAML12_NUMBER.fullmatch(str(node.value))
        ):
            value = float(node.value)  # YAML 1.2 reads 2.4e3 as a number; so does pvopt
            shown = str(node.value)
        ok = (
            isinstance(value, int if integer else (int, float))
            and not isinstance(value, bool)
            and math.isfinite(value)
            and _in_bounds(value, meta)
        )
        if not ok:
            self.error(node, path, f"expected {_expected_number(meta, integer)}, got {shown}")
            return _INVALID
        return int(value) if integer else float(value)
