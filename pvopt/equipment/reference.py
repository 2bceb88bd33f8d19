"""The key reference of ``equipment_config.yml``, generated from the schema.

Tables come from the dataclass metadata of :mod:`pvopt.equipment.model`, the registry and
the presets, and from the loader's own rules, so the documentation cannot say something the
loader does not do. ``README_equipment_config.md`` embeds :func:`reference_markdown` (a
test checks it is up to date); regenerate it with ``python -m pvopt.equipment.reference``.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import typing
from datetime import time
from enum import Enum
from typing import Any

from pvopt.equipment.loader import ID_FORBIDDEN, CommandOptions
from pvopt.equipment.model import (
    EquipmentConfig,
    RegulationConfig,
    TariffConfig,
    VariablePowerConfig,
)
from pvopt.equipment.presets import CommandPreset
from pvopt.equipment.registry import EQUIPMENT_TYPES

BEGIN_MARK = "<!-- BEGIN GENERATED: python -m pvopt.equipment.reference -->"
END_MARK = "<!-- END GENERATED -->"

_DOC_DEFAULT = re.compile(r"\(default: ([^)]*)\)$")
TABLE_HEADER = "| key | unit | default | allowed | description |\n|---|---|---|---|---|"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "\\<").replace("\n", " ")


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _default(f: dataclasses.Field[Any], none: str) -> str:
    if f.default is dataclasses.MISSING:
        return "**required**"
    value = f.default
    if value is None:
        return none
    if isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, Enum):
        text = str(value.value)
    elif isinstance(value, int | float):
        text = _number(value)
    elif isinstance(value, time):
        text = f"{value:%H:%M}"
    else:
        text = str(value)
    return f"`{text}`"


def _allowed(key: str, meta: typing.Mapping[str, Any], hint: Any) -> str:
    """The accepted values, in the loader's terms."""
    if meta.get("choices"):
        return ", ".join(f"`{c}`" for c in meta["choices"])
    if key == "name":
        return "letters, digits, `_`, `-`"
    if key == "id":
        return "text or whole number, without " + " ".join(f"`{c}`" for c in ID_FORBIDDEN)
    if time in typing.get_args(hint) or hint is time:
        return "`HH:MM`"
    if hint is bool:
        return "`true`, `false`"
    low, high, positive = meta.get("low"), meta.get("high"), meta.get("positive")
    parts = []
    if positive:
        parts.append("> 0")
    if low is not None and high is not None:
        parts.append(f"{_number(low)} … {_number(high)}")
    elif low is not None:
        parts.append(f"≥ {_number(low)}")
    elif high is not None:
        parts.append(f"≤ {_number(high)}")
    if parts and (hint is int or int in typing.get_args(hint)):
        parts.append("whole number")
    return ", ".join(parts) or ("number" if float in (hint, *typing.get_args(hint)) else "text")


def table_rows(
    cls: type[Any],
    *,
    skip: tuple[str, ...] = (),
    none: str = "none",
    special: dict[str, tuple[str, str]] | None = None,
) -> list[str]:
    """Table rows of a dataclass; ``special`` overrides (default, allowed) of some keys."""
    hints = typing.get_type_hints(cls)
    rows = []
    for f in dataclasses.fields(cls):
        key = f.metadata.get("key")
        if key is None or key in skip:
            continue
        meta = f.metadata
        doc, default = meta["doc"], _default(f, none)
        match = _DOC_DEFAULT.search(doc)
        if match and f.default is None:  # "... (default: $HC_START_TIME)"
            doc, default = doc[: match.start()].rstrip(), f"`{match[1]}`"
        allowed = _allowed(key, meta, hints[f.name])
        if special and key in special:
            default, allowed = special[key]
        cells = (f"`{key}`", meta["unit"], default, allowed, doc)
        rows.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return rows


def _summary(cls: type[Any]) -> str:
    """The class docstring's first paragraph, without its leading ``Name``: part."""
    doc = (inspect.getdoc(cls) or "").split("\n\n")[0].replace("\n", " ")
    if doc.startswith("``") and "``: " in doc:
        doc = doc.split("``: ", 1)[1]
    return _cell(doc[:1].upper() + doc[1:]).replace("``", "`")


def _preset_table(presets: dict[str, CommandPreset], variable: bool) -> list[str]:
    if variable:
        lines = ["| preset | topic | payload_percent |", "|---|---|---|"]
        lines += [f"| `{n}` | `{p.topic}` | `{p.payload_percent}` |" for n, p in presets.items()]
    else:
        lines = ["| preset | topic | payload_on | payload_off |", "|---|---|---|---|"]
        lines += [
            f"| `{n}` | `{p.topic}` | `{p.payload_on}` | `{p.payload_off}` |"
            for n, p in presets.items()
        ]
    return lines


def reference_markdown() -> str:
    """The Markdown reference of every type, key, preset and tunable."""
    out: list[str] = []
    common = ", ".join(
        f"`{f.metadata['key']}`"
        for f in dataclasses.fields(EquipmentConfig)
        if f.metadata.get("key") is not None
    )
    out += [
        "### Keys of every equipment",
        "",
        f"Every item has `type` (one of the types below), {common}, and the command keys.",
        "",
        TABLE_HEADER,
        "| `type` |  | **required** | "
        + ", ".join(f"`{t}`" for t in EQUIPMENT_TYPES)
        + " | the kind of equipment |",
        *table_rows(
            EquipmentConfig,
            special={"id": ("its position in the list: `0`, `1`, …", _allowed("id", {}, str))},
        ),
        "",
        "### Command keys",
        "",
        "Optional on every item. `preset` gives the topic and payloads; `topic` and "
        "`payload_*` override them.",
        "",
        TABLE_HEADER,
        *table_rows(
            CommandOptions,
            none="from the preset",
            special={"preset": ("per type", "a preset of the type")},
        ),
        "",
    ]
    for name, registered in EQUIPMENT_TYPES.items():
        cls = registered.config
        out += [
            f"### `{name}`",
            "",
            _summary(cls),
            "",
            f"Presets: {', '.join(f'`{p}`' for p in registered.presets)} "
            f"(default `{registered.default_preset}`).",
            "",
            TABLE_HEADER,
            *table_rows(cls, skip=("name", "id")),
            "",
        ]
    out += ["### Presets", ""]
    seen: list[int] = []
    for registered in EQUIPMENT_TYPES.values():
        if id(registered.presets) in seen:
            continue
        seen.append(id(registered.presets))
        users = [n for n, t in EQUIPMENT_TYPES.items() if t.presets is registered.presets]
        variable = issubclass(registered.config, VariablePowerConfig)
        out += [
            "For " + ", ".join(f"`{u}`" for u in users) + " (`{id}` is the item's `id`):",
            "",
            *_preset_table(registered.presets, variable),
            "",
        ]
    out += [
        "### `regulation:`",
        "",
        _summary(RegulationConfig),
        "",
        TABLE_HEADER,
        *table_rows(RegulationConfig),
        "",
        "### `tariff:`",
        "",
        _summary(TariffConfig),
        "",
        TABLE_HEADER,
        *table_rows(
            TariffConfig,
            special={
                "offpeak": (
                    "hphc: the regulation's `offpeak_start`-`offpeak_end`; "
                    "tempo, or hphc without it: `22:00-06:00`",
                    'list of `"HH:MM-HH:MM"`, not overlapping',
                ),
                "ejp_normal_price_eur_kwh": ("**required** with `contract: ejp`", "0 … 10"),
                "ejp_pm_price_eur_kwh": ("**required** with `contract: ejp`", "0 … 10"),
            },
        ),
    ]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(reference_markdown(), end="")
