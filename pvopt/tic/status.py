"""STGE, the standard-mode status register, field by field (pure).

The table is Enedis-NOI-CPT_54E §6.2.3.14 (pp. 24–25), as summarised in
``../shared/research/tic.md`` §3: 8 hex digits, most significant first, read by bit
number (``int(text, 16)``), never left to right. It is the one place that knows where a
field sits; :func:`pvopt.tic.tariff.decode_stge` reads the tariff fields through it.

Each field has a stable ``name`` and, per value, a stable ``code`` (what a page translates)
and an English ``text``. A value the spec does not list (a reserved code) decodes with the
code ``"reserved"``: shown, never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class StatusField:
    """One field of STGE: bits ``first`` … ``first + width - 1``."""

    name: str
    first: int
    width: int
    description: str
    #: value → (code, English meaning); None: the value is a number (an index).
    values: dict[int, tuple[str, str]] | None = None
    #: Added to the raw value when it is a number (indexes count from 1).
    offset: int = 0

    @property
    def bits(self) -> str:
        """``"24-25"``, or ``"8"`` for one bit."""
        last = self.first + self.width - 1
        return str(self.first) if last == self.first else f"{self.first}-{last}"

    def raw(self, word: int) -> int:
        """The field's raw value in ``word``."""
        return (word >> self.first) & ((1 << self.width) - 1)


_COLOURS: Final = {
    0: ("none", "none"),
    1: ("blue", "blue"),
    2: ("white", "white"),
    3: ("red", "red"),
}
_PEAKS: Final = {0: ("none", "none"), 1: ("pm1", "PM1"), 2: ("pm2", "PM2"), 3: ("pm3", "PM3")}
_OFF_ON: Final = {0: ("no", "no"), 1: ("yes", "yes")}

#: The fields of STGE in bit order (the unused bits 5 and 18 are left out).
STGE_FIELDS: Final[tuple[StatusField, ...]] = (
    StatusField("dry_contact", 0, 1, "dry contact", {0: ("closed", "closed"), 1: ("open", "open")}),
    StatusField(
        "cut_off",
        1,
        3,
        "cut-off device",
        {
            0: ("closed", "closed"),
            1: ("overpower", "open: over-power"),
            2: ("overvoltage", "open: over-voltage"),
            3: ("load_shedding", "open: load shedding"),
            4: ("cpl_order", "open: CPL or Euridis order"),
            5: ("overheat_high", "open: overheating, current above the switching limit"),
            6: ("overheat_low", "open: overheating, current below the switching limit"),
        },
    ),
    StatusField(
        "cover", 4, 1, "distributor terminal cover", {0: ("closed", "closed"), 1: ("open", "open")}
    ),
    StatusField("overvoltage", 6, 1, "over-voltage on a phase", _OFF_ON),
    StatusField("power_exceeded", 7, 1, "reference power exceeded", _OFF_ON),
    StatusField(
        "producer",
        8,
        1,
        "producer or consumer",
        {0: ("consumer", "consumer"), 1: ("producer", "producer")},
    ),
    StatusField(
        "direction",
        9,
        1,
        "active energy direction",
        {0: ("positive", "positive (drawing)"), 1: ("negative", "negative (injecting)")},
    ),
    StatusField("supplier_index", 10, 4, "current supplier tariff index", offset=1),
    StatusField("distributor_index", 14, 2, "current distributor tariff index", offset=1),
    StatusField("clock", 16, 1, "meter clock", {0: ("ok", "correct"), 1: ("degraded", "degraded")}),
    StatusField(
        "tic_mode", 17, 1, "TIC mode", {0: ("historic", "historic"), 1: ("standard", "standard")}
    ),
    StatusField(
        "euridis",
        19,
        2,
        "Euridis output",
        {
            0: ("disabled", "disabled"),
            1: ("enabled", "enabled without security"),
            3: ("secured", "enabled with security"),
        },
    ),
    StatusField(
        "cpl_status",
        21,
        2,
        "CPL status",
        {
            0: ("new_unlock", "New/Unlock"),
            1: ("new_lock", "New/Lock"),
            2: ("registered", "registered"),
        },
    ),
    StatusField("cpl_sync", 23, 1, "CPL synchronised", _OFF_ON),
    StatusField("tempo_today", 24, 2, "Tempo colour today", _COLOURS),
    StatusField("tempo_tomorrow", 26, 2, "Tempo colour tomorrow", _COLOURS),
    StatusField("mobile_peak_notice", 28, 2, "mobile peak notice", _PEAKS),
    StatusField("mobile_peak", 30, 2, "mobile peak in progress", _PEAKS),
)

FIELDS_BY_NAME: Final = {field.name: field for field in STGE_FIELDS}


@dataclass(frozen=True, slots=True)
class StatusValue:
    """One field of an STGE value: its raw value and what it means."""

    field: StatusField
    raw: int
    #: The value as shown: the raw value, plus the offset of an index.
    value: int
    #: Stable code of the meaning (``"blue"``, ``"overpower"``; ``"index"`` for a number,
    #: ``"reserved"`` for a value the spec does not list).
    code: str
    text: str


def parse_stge(text: object) -> int | None:
    """The 32-bit word of an STGE value (8 hex digits), or None when it is not one."""
    if not isinstance(text, str) or len(text.strip()) != 8:
        return None
    digits = text.strip()
    if any(c not in "0123456789abcdefABCDEF" for c in digits):
        return None
    return int(digits, 16)


def field_value(word: int, field: StatusField) -> StatusValue:
    """What ``field`` says in ``word``."""
    raw = field.raw(word)
    if field.values is None:
        value = raw + field.offset
        return StatusValue(field, raw, value, "index", str(value))
    code, meaning = field.values.get(raw, ("reserved", f"reserved value {raw}"))
    return StatusValue(field, raw, raw, code, meaning)


def decode_status_register(text: object) -> tuple[StatusValue, ...] | None:
    """Every field of an STGE value, in bit order; None when it is not 8 hex digits."""
    word = parse_stge(text)
    if word is None:
        return None
    return tuple(field_value(word, field) for field in STGE_FIELDS)
