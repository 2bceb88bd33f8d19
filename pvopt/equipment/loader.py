"""The one loader of ``equipment_config.yml`` (docs/design.md §3): YAML in, a frozen
:class:`SiteConfig` out.

Validation comes from the dataclass metadata of :mod:`pvopt.equipment.model` (YAML key,
bounds, choices) and from the field annotations (types), so the schema is written once.
Every problem is collected, then all of them are raised together in one
:class:`ConfigFileError`, one per line, each naming the file, the 1-based line and the path
of the key::

    equipment_config.yml:7: equipment[1].max_power: expected a positive number, got 'abc'

Only safe YAML is read (:class:`yaml.SafeLoader`: the file is composed into nodes, which
carry their line, and scalars are resolved with the safe constructors). Tempo colour
files (CSV, :func:`load_tempo_calendar`) are read here too, reported the same way.

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
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Any, Final

import yaml

from pvopt.equipment.model import (
    MIDNIGHT,
    Command,
    ConstantPowerConfig,
    Contract,
    EquipmentConfig,
    RegulationConfig,
    SiteConfig,
    TariffConfig,
    TempDrivenVariablePowerConfig,
    TimeWindow,
    UnknownPowerConfig,
    VariablePowerConfig,
    clock_text,
    end_seconds,
    option,
    seconds_of_day,
    timer_window,
)
from pvopt.equipment.registry import EQUIPMENT_TYPES
from pvopt.schema import (
    INT_TAG,
    INVALID,
    NULL_TAG,
    STR_TAG,
    ConfigFileError,
    ConfigIssue,
    Entry,
    SchemaParser,
    keys_of,
    number_text,
    read_text,
    required,
    shown,
    suggest,
)
from pvopt.tariff import TempoCalendar, parse_tempo_calendar

__all__ = [
    "COMMAND_KEYS",
    "TOP_LEVEL_KEYS",
    "CommandOptions",
    "ConfigFileError",
    "ConfigIssue",
    "load_site_config",
    "load_tempo_calendar",
    "parse_site_config",
    "type_name",
]

#: Names go into MQTT topics and InfluxDB tags.
NAME_PATTERN: Final = re.compile(r"[A-Za-z0-9_-]+")
NAME_RULE: Final = "letters, digits, '_' or '-' only"
#: An id is substituted into topics: no level separator, no wildcard.
ID_FORBIDDEN: Final = "/+#"
TOP_LEVEL_KEYS: Final = ("equipment", "regulation", "tariff")
#: An off-peak window as written in ``tariff.offpeak``: ``22:00-06:00``.
WINDOW_PATTERN: Final = re.compile(
    r"\s*([01]?[0-9]|2[0-3]):([0-5][0-9])\s*-\s*([01]?[0-9]|2[0-3]):([0-5][0-9])\s*"
)
#: Keys of a contract without a default price: required when it is the contract.
REQUIRED_PRICES: Final = {
    Contract.EJP: ("ejp_normal_price_eur_kwh", "ejp_pm_price_eur_kwh"),
}


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


def type_name(config: EquipmentConfig) -> str:
    """The YAML ``type:`` of a loaded equipment config."""
    for name, entry in EQUIPMENT_TYPES.items():
        if type(config) is entry.config:
            return name
    raise LookupError(f"{type(config).__name__} is not a registered equipment type")


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
    return _EquipmentParser(text, source, settings_hc).parse()


def load_tempo_calendar(path: Path) -> TempoCalendar:
    """Read a Tempo colour file (``YYYY-MM-DD,BLUE|WHITE|RED`` lines under a header); raise
    :class:`ConfigFileError` naming the file and every bad line."""
    return parse_tempo_calendar(read_text(path), str(path))


def _or(value: str | None, default: str) -> str:
    return default if value is None else value


class _EquipmentParser(SchemaParser):
    """``equipment_config.yml``: the top level, the equipment items, the regulation."""

    TEXT_KEYS = frozenset({"topic", "payload_on", "payload_off", "payload_percent"})
    ID_KEYS = frozenset({"id"})

    def __init__(self, text: str, source: str, settings_hc: tuple[time, time] | None) -> None:
        super().__init__(text, source)
        self.settings_hc = settings_hc

    # -- structure -----------------------------------------------------------------------------

    def parse(self) -> SiteConfig:
        try:
            site = self.site(self.root())
        finally:
            self.loader.dispose()
        if self.issues or site is None:
            raise self.fail()
        return site

    def site(self, root: yaml.Node | None) -> SiteConfig | None:
        if root is None:
            self.error(1, "", "the file is empty; expected a mapping with an 'equipment:' list")
            return None
        top = self.mapping(root, "", "a mapping with an 'equipment:' list at the top level")
        if top is None:
            return None
        for key, entry in top.items():
            if key not in TOP_LEVEL_KEYS:
                self.error(entry.key_node, key, suggest(key, TOP_LEVEL_KEYS))
        equipment = self.equipment_list(top.get("equipment"), root)
        regulation = self.regulation(top.get("regulation"))
        tariff = self.tariff(top.get("tariff"), regulation)
        if equipment is None or regulation is None or tariff is None:
            return None
        return SiteConfig(equipment=equipment, regulation=regulation, tariff=tariff)

    def equipment_list(
        self, entry: Entry | None, root: yaml.Node
    ) -> tuple[EquipmentConfig, ...] | None:
        if entry is None:
            self.error(root, "equipment", "required key is missing (the list of equipment)")
            return None
        node = entry.node
        if not isinstance(node, yaml.SequenceNode) or not node.value:
            self.error(node, "equipment", f"expected a non-empty list, got {shown(node)}")
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
        values = self.identity(node, entries, path, names, ids, index)

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
                f"unknown type {shown(type_entry.node)}; "
                f"expected one of {', '.join(EQUIPMENT_TYPES)}",
            )
            return None
        cls = EQUIPMENT_TYPES[kind].config

        fields = keys_of(cls)
        command_fields = keys_of(CommandOptions)
        known = ["type", *fields, *command_fields]
        misspelt: set[str] = set()  # `nominal_pwer`: "did you mean" says it all
        for key, entry in entries.items():
            if key not in known:
                self.error(entry.key_node, self.join(path, key), suggest(key, known))
                misspelt.update(difflib.get_close_matches(key, known, n=1, cutoff=0.6))
        for key, (f, hint) in {**fields, **command_fields}.items():
            if key in ("name", "id"):
                continue
            if key not in entries:
                if required(f) and key not in misspelt:
                    doc, unit = f.metadata["doc"], f.metadata["unit"]
                    detail = f"{doc}, in {unit}" if unit else doc
                    self.error(node, self.join(path, key), f"required key is missing ({detail})")
                continue
            value = self.value(key, hint, f.metadata, entries[key].node, self.join(path, key))
            if value is not INVALID:
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
        entries: dict[str, Entry],
        path: str,
        names: dict[str, str],
        ids: dict[str, str],
        index: int,
    ) -> dict[str, Any]:
        """Check ``name`` and ``id`` (format, uniqueness across the file). Without ``id``
        the item's position in the list is its id (0, 1, …), as in the original system."""
        common = keys_of(EquipmentConfig)
        values: dict[str, Any] = {}
        for key, seen in (("name", names), ("id", ids)):
            f, hint = common[key]
            key_path = self.join(path, key)
            if key == "id" and key not in entries:
                default = str(index)
                if default in ids:
                    self.error(
                        node,
                        key_path,
                        f"no id: its position {default!r} is already the id of {ids[default]}",
                    )
                else:
                    values[key] = default
                    ids[default] = (
                        f"{path} (no id: its position) at line {node.start_mark.line + 1}"
                    )
                continue
            if key not in entries:
                self.error(node, key_path, f"required key is missing ({f.metadata['doc']})")
                continue
            value_node = entries[key].node
            value = self.value(key, hint, f.metadata, value_node, key_path)
            if value is INVALID:
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
        entries: dict[str, Entry],
        path: str,
    ) -> None:
        """Checks between keys of one item, on the keys that were valid on their own."""

        def check(first: str, second: str, ok: Callable[[float, float], bool], rule: str) -> None:
            # Reported on `second` (the key whose value is compared with `first`).
            if first in values and second in values and not ok(values[first], values[second]):
                message = f"must be {rule} {first} ({number_text(values[first])}), "
                self.error(
                    entries[second].node,
                    self.join(path, second),
                    message + f"got {number_text(values[second])}",
                )

        if issubclass(cls, VariablePowerConfig):
            check("max_power", "min_power", lambda high, low: low < high, "below")
        if issubclass(cls, TempDrivenVariablePowerConfig):
            check("temp_min", "temp_eco", lambda t_min, eco: t_min <= eco, "at least")
            check("temp_max", "temp_eco", lambda t_max, eco: eco <= t_max, "at most")
            check("temp_max", "temp_sol_min", lambda t_max, sol: sol < t_max, "below")
        if issubclass(cls, ConstantPowerConfig | UnknownPowerConfig):
            self.daily_run_check(values, entries, path)

    def daily_run_check(self, values: dict[str, Any], entries: dict[str, Entry], path: str) -> None:
        """The daily run time fits in the local day before ``latest_end``, and so does the
        timer's window (``timer_start`` + ``daily_run_time``), 00:00 being 24:00."""
        run_s = values.get("daily_run_time", 0.0)
        if run_s <= 0 or ("latest_end" in entries and "latest_end" not in values):
            return  # nothing to run, or an invalid value (already reported)
        latest_end = values.get("latest_end", MIDNIGHT)
        end_s = end_seconds(latest_end)
        end_text = clock_text(latest_end)
        if run_s > end_s:
            self.error(
                entries["daily_run_time"].node,
                self.join(path, "daily_run_time"),
                f"must be at most the time from 00:00 to latest_end {end_text} "
                f"({number_text(end_s)} s), got {number_text(run_s)}",
            )
            return
        start = values.get("timer_start")
        latest = timer_window(run_s, latest_end)  # the latest window: it fits
        if start is not None and latest is not None and seconds_of_day(start) + run_s > end_s:
            self.error(
                entries["timer_start"].node,
                self.join(path, "timer_start"),
                f"must be at most {clock_text(latest.start)} (latest_end {end_text} "
                f"− daily_run_time {number_text(run_s)} s), got {clock_text(start)}",
            )

    def command(
        self, kind: str, values: dict[str, Any], entries: dict[str, Entry], path: str
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

    def regulation(self, entry: Entry | None) -> RegulationConfig | None:
        hc_start, hc_end = self.settings_hc or (None, None)
        if entry is None or (
            isinstance(entry.node, yaml.ScalarNode) and entry.node.tag == NULL_TAG
        ):
            return RegulationConfig(offpeak_start=hc_start, offpeak_end=hc_end)
        entries = self.mapping(entry.node, "regulation", "a mapping of tunables")
        if entries is None:
            return None
        before = len(self.issues)
        fields = keys_of(RegulationConfig)
        for key, item in entries.items():
            if key not in fields:
                self.error(item.key_node, self.join("regulation", key), suggest(key, list(fields)))
        kwargs: dict[str, Any] = {}
        for key, (f, hint) in fields.items():
            if key in entries:
                value = self.value(key, hint, f.metadata, entries[key].node, f"regulation.{key}")
                if value is not INVALID:
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

    # -- tariff ------------------------------------------------------------------------------

    def tariff(
        self, entry: Entry | None, regulation: RegulationConfig | None
    ) -> TariffConfig | None:
        """The ``tariff:`` section; absent, the defaults (contract base). The off-peak
        windows of contract hphc default to the regulation's window (``offpeak_start`` …
        ``offpeak_end``, itself defaulting to $HC_START_TIME … $HC_END_TIME); Tempo's are
        fixed by the tariff (22:00-06:00), so they default to that, as they do without a
        regulation window."""
        entries: dict[str, Entry] = {}
        if entry is not None and not (
            isinstance(entry.node, yaml.ScalarNode) and entry.node.tag == NULL_TAG
        ):
            found = self.mapping(entry.node, "tariff", "a mapping of the contract and its prices")
            if found is None:
                return None
            entries = found
        before = len(self.issues)
        kwargs = self.tariff_values(entries)
        contract = kwargs.get("contract", Contract.BASE)
        for key in REQUIRED_PRICES.get(contract, ()):
            if key in entries and key not in kwargs:
                continue  # invalid, already reported
            if kwargs.get(key) is None:
                self.error(
                    entries[key if key in entries else "contract"].node,
                    f"tariff.{key}",
                    f"required when contract is {contract.value} (no default: its regulated "
                    "price in force could not be established)",
                )
        if contract is Contract.HPHC and "offpeak" not in entries and regulation is not None:
            start, end = regulation.offpeak_start, regulation.offpeak_end
            if start is not None and end is not None and start != end:
                kwargs["offpeak"] = (TimeWindow(start, end),)
        if len(self.issues) > before:
            return None
        return TariffConfig(**kwargs)

    def tariff_values(self, entries: dict[str, Entry]) -> dict[str, Any]:
        """Field name → checked value of the keys written in ``tariff:`` (unknown keys and
        invalid values reported)."""
        fields = keys_of(TariffConfig)
        for key, item in entries.items():
            if key not in fields:
                self.error(item.key_node, self.join("tariff", key), suggest(key, list(fields)))
        values: dict[str, Any] = {}
        for key, (f, hint) in fields.items():
            if key not in entries:
                continue
            node, path = entries[key].node, f"tariff.{key}"
            if key == "offpeak":
                value = self.windows(node, path)
            else:
                value = self.value(key, hint, f.metadata, node, path)
            if value is not INVALID:
                values[f.name] = value
        return values

    def windows(self, node: yaml.Node, path: str) -> Any:
        """A non-empty list of non-overlapping ``HH:MM-HH:MM`` windows (``INVALID`` after
        reporting why)."""
        if isinstance(node, yaml.ScalarNode) and node.tag == NULL_TAG:
            return None
        expected = 'a list of off-peak windows "HH:MM-HH:MM"'
        if not isinstance(node, yaml.SequenceNode) or not node.value:
            self.error(node, path, f"expected {expected}, got {shown(node)}")
            return INVALID
        before = len(self.issues)
        windows: list[TimeWindow] = []
        taken: dict[int, str] = {}  # minute of the day → the window holding it
        for index, item in enumerate(node.value):
            item_path = f"{path}[{index}]"
            text = str(item.value) if isinstance(item, yaml.ScalarNode) else ""
            match = WINDOW_PATTERN.fullmatch(text) if item.tag in (STR_TAG, INT_TAG) else None
            if match is None:
                self.error(item, item_path, f'expected a window "HH:MM-HH:MM", got {shown(item)}')
                continue
            start = time(int(match[1]), int(match[2]))
            end = time(int(match[3]), int(match[4]))
            if start == end:
                self.error(item, item_path, f"the window {text.strip()!r} is empty")
                continue
            window = TimeWindow(start, end)
            first = start.hour * 60 + start.minute
            length = (end.hour * 60 + end.minute - first) % 1440
            clash = next(
                (taken[m % 1440] for m in range(first, first + length) if m % 1440 in taken), None
            )
            if clash is not None:
                self.error(item, item_path, f"{window} overlaps {clash}")
                continue
            taken.update(
                dict.fromkeys((m % 1440 for m in range(first, first + length)), str(window))
            )
            windows.append(window)
        return tuple(windows) if len(self.issues) == before else INVALID
