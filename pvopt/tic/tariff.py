"""What the meter's labels say about the tariff (pure): the period in force, off-peak or
not, the Tempo colours of today and tomorrow, an EJP mobile peak.

Next to the decoder because it is a fact of the TIC, not a regulation rule
(``../shared/research/tic.md`` §2–3, Enedis-NOI-CPT_54E §6.2.3.14). The prices belong to
:mod:`pvopt.tariff`, which reads a :class:`MeterTariff` when there is one.

Labels decoded:

- historic mode: ``PTEC`` (period: ``TH..``, ``HC..``, ``HP..``, ``HN..``, ``PM..``,
  ``HCJB`` … ``HPJR``) and ``DEMAIN`` (tomorrow: ``----``, ``BLEU``, ``BLAN``, ``ROUG``);
- standard mode: ``LTARF`` (the supplier's label, ``HP  BLEU``, ``HEURE CREUSE``…),
  ``STGE`` (status register: Tempo colour today in bits 24–25, tomorrow in bits 26–27,
  0 none, 1 blue, 2 white, 3 red; supplier index in bits 10–13; mobile peak notice and
  mobile peak in bits 28–29 and 30–31) and ``NTARF`` (supplier index number).

Values come from a decoded frame or from a ``tic/frame`` message (any JSON): anything of
an unexpected type or shape reads as "the meter does not say" (None), never as an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Final

from pvopt.tic.status import FIELDS_BY_NAME, field_value, parse_stge


class Colour(Enum):
    """A Tempo day colour (the value is how calendar files spell it)."""

    BLUE = "BLUE"
    WHITE = "WHITE"
    RED = "RED"

    @property
    def letter(self) -> str:
        """The letter of the TIC period names (``HCJB``, ``HPJW``, ``HPJR``)."""
        return _LETTERS[self]


_LETTERS: Final = {Colour.BLUE: "B", Colour.WHITE: "W", Colour.RED: "R"}
#: STGE colour fields: 0 means "none / not announced".
_STGE_COLOURS: Final = {1: Colour.BLUE, 2: Colour.WHITE, 3: Colour.RED}
#: DEMAIN (historic mode); ``----`` until the supplier announces tomorrow's colour.
_DEMAIN: Final = {"BLEU": Colour.BLUE, "BLAN": Colour.WHITE, "ROUG": Colour.RED}
#: Words of LTARF naming a colour.
_LTARF_COLOURS: Final = {"BLEU": Colour.BLUE, "BLANC": Colour.WHITE, "ROUGE": Colour.RED}
#: PTEC letter → colour (``HCJW``: W for "blanc").
_PTEC_COLOURS: Final = {"B": Colour.BLUE, "W": Colour.WHITE, "R": Colour.RED}
#: Longest text looked at: the labels are at most 16 characters; anything longer is junk.
_MAX_TEXT: Final = 32


@dataclass(frozen=True, slots=True)
class StatusRegister:
    """The tariff fields of STGE (standard mode)."""

    colour_today: Colour | None
    colour_tomorrow: Colour | None
    #: Current supplier tariff index, 1 … 16 (bits 10–13, plus one).
    supplier_index: int
    #: Mobile peak notice and mobile peak in progress: 0 none, 1 … 3 = PM1 … PM3.
    mobile_peak_notice: int
    mobile_peak: int


@dataclass(frozen=True, slots=True)
class MeterTariff:
    """What the meter says about the tariff now; None wherever it says nothing.

    ``period`` uses the TIC's names: ``BASE`` (PTEC ``TH..``), ``HC``, ``HP``, ``HCJB``,
    ``HPJB``, ``HCJW``, ``HPJW``, ``HCJR``, ``HPJR``, ``HN`` (EJP normal hours), ``PM``
    (EJP mobile peak).
    """

    period: str | None = None
    offpeak: bool | None = None
    colour_today: Colour | None = None
    colour_tomorrow: Colour | None = None
    ejp_peak: bool | None = None
    #: NTARF, else STGE bits 10–13: which supplier index (EASFnn) is counting. Its meaning
    #: is the supplier's calendar, so it is given, not interpreted.
    supplier_index: int | None = None


def _text(values: Mapping[str, object], label: str) -> str | None:
    """A label's text, upper case, inner runs of spaces collapsed; None when absent."""
    value = values.get(label)
    if not isinstance(value, str) or not value.strip() or len(value) > _MAX_TEXT:
        return None
    return " ".join(value.upper().split())


def decode_stge(text: object) -> StatusRegister | None:
    """The tariff fields of an STGE value (8 hex digits, most significant first), or None
    when it is not one. Read by bit number through :data:`pvopt.tic.status.STGE_FIELDS`,
    never left to right (Zlinky_TIC #192)."""
    word = parse_stge(text)
    if word is None:
        return None

    def raw(name: str) -> int:
        return FIELDS_BY_NAME[name].raw(word)

    return StatusRegister(
        colour_today=_STGE_COLOURS.get(raw("tempo_today")),
        colour_tomorrow=_STGE_COLOURS.get(raw("tempo_tomorrow")),
        supplier_index=field_value(word, FIELDS_BY_NAME["supplier_index"]).value,
        mobile_peak_notice=raw("mobile_peak_notice"),
        mobile_peak=raw("mobile_peak"),
    )


def decode_demain(text: object) -> Colour | None:
    """Tomorrow's colour from DEMAIN (historic mode); None for ``----`` (not announced:
    peers report it stays so when tomorrow is blue) or anything else."""
    return _DEMAIN.get(text.strip().upper()) if isinstance(text, str) else None


@dataclass(frozen=True, slots=True)
class _Label:
    """What a period label (PTEC or LTARF) says."""

    period: str | None
    colour: Colour | None
    ejp_peak: bool | None


_NOTHING: Final = _Label(None, None, None)


def _ptec(text: str) -> _Label:
    code = text.replace(".", "").replace(" ", "")
    if code == "TH":
        return _Label("BASE", None, None)
    if code in ("HC", "HP"):
        return _Label(code, None, None)
    if code in ("HN", "PM"):
        return _Label(code, None, code == "PM")
    if len(code) == 4 and code[:2] in ("HC", "HP") and code[2] == "J":
        colour = _PTEC_COLOURS.get(code[3])
        if colour is not None:
            return _Label(code, colour, None)
    return _NOTHING


def _ltarf(text: str, offpeak: bool | None) -> _Label:
    """The supplier's label. Tempo and HP/HC labels are seen in real frames (``HP  BLEU``,
    ``HEURE CREUSE``); the EJP wording is not documented in CPT_54E (the supplier writes
    it), so ``POINTE`` and ``NORMALE`` are matched as words, unverified."""
    words = text.split()
    colour = next((_LTARF_COLOURS[w] for w in words if w in _LTARF_COLOURS), None)
    if colour is not None and offpeak is not None:
        return _Label(f"{'HC' if offpeak else 'HP'}J{colour.letter}", colour, None)
    if "POINTE" in words or words[0] == "PM":
        return _Label("PM", None, True)
    if "NORMALE" in words or "NORMALES" in words or words[0] == "HN":
        return _Label("HN", None, False)
    if words == ["BASE"] or words[0] == "TH":
        return _Label("BASE", None, None)
    if offpeak is not None:
        return _Label("HC" if offpeak else "HP", colour, None)
    return _Label(None, colour, None)


def tariff_offpeak(values: Mapping[str, object]) -> bool | None:
    """Off-peak now according to the meter, or None when it does not say.

    Historic mode: PTEC ``HC..``/``HCJB``… is off-peak, ``HP..``/``TH..``/``HN``/``PM`` not.
    Standard mode: LTARF holds the supplier's label (``HEURE CREUSE``, ``HC BLEU``…).
    NTARF is only an index number whose meaning depends on the contract: not used.
    """
    ptec = values.get("PTEC")
    if isinstance(ptec, str) and ptec:
        return ptec.upper().startswith("HC")
    ltarf = values.get("LTARF")
    if isinstance(ltarf, str) and ltarf:
        label = " ".join(ltarf.upper().split())
        if "CREUSE" in label or label.startswith("HC") or " HC" in label:
            return True
        if "PLEINE" in label or label.startswith("HP") or " HP" in label:
            return False
    return None


def meter_tariff(values: Mapping[str, object]) -> MeterTariff:
    """Everything the frame's ``values`` say about the tariff.

    The period label (PTEC, else LTARF) decides the period, the off-peak flag and today's
    colour: it is what the supplier's index counts. STGE's colour of the day is used only
    without a coloured label (peers saw the two disagree, linkytic #53). Tomorrow's colour
    comes from STGE bits 26–27, else DEMAIN. STGE's mobile-peak bits are not read as an
    EJP peak: they are set on Tempo contracts too (``423A4C01``, a white Tempo day, has
    bits 30–31 = 1).
    """
    ptec = _text(values, "PTEC")
    ltarf = _text(values, "LTARF")
    if ptec is not None:
        offpeak = tariff_offpeak({"PTEC": ptec})
        label = _ptec(ptec)
    elif ltarf is not None:
        offpeak = tariff_offpeak({"LTARF": ltarf})
        label = _ltarf(ltarf, offpeak)
    else:
        offpeak, label = None, _NOTHING
    status = decode_stge(values.get("STGE"))
    ntarf = values.get("NTARF")
    if isinstance(ntarf, str) and ntarf.strip().isdigit():
        ntarf = int(ntarf.strip())
    if isinstance(ntarf, int) and not isinstance(ntarf, bool) and 1 <= ntarf <= 10:
        supplier_index: int | None = ntarf
    else:
        supplier_index = status.supplier_index if status is not None else None
    colour_today = label.colour
    if colour_today is None and status is not None:
        colour_today = status.colour_today
    colour_tomorrow = status.colour_tomorrow if status is not None else None
    if colour_tomorrow is None:
        colour_tomorrow = decode_demain(values.get("DEMAIN"))
    return MeterTariff(
        period=label.period,
        offpeak=offpeak,
        colour_today=colour_today,
        colour_tomorrow=colour_tomorrow,
        ejp_peak=label.ejp_peak,
        supplier_index=supplier_index,
    )
