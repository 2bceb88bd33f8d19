"""TIC labels as data: label -> kind and unit (Enedis-NOI-CPT_54E §6.1 and §6.2.2).

The table is the only place that knows which label is a number, which is text and
which carries a horodate. Unknown labels (a future meter firmware, a concentrator) are
kept as text: they are never published as numbers, so nothing is ever guessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Kind(Enum):
    """How a label's data field is decoded."""

    INT = "int"  # zero-padded decimal, becomes an int
    TEXT = "text"  # printable text, padding stripped
    NONE = "none"  # no data (DATE: the value is the horodate)


@dataclass(frozen=True, slots=True)
class LabelSpec:
    """What the spec says about one label."""

    kind: Kind
    unit: str = ""
    description: str = ""


def _ints(names: list[str], unit: str, description: str) -> dict[str, LabelSpec]:
    return {n: LabelSpec(Kind.INT, unit, description) for n in names}


def _texts(names: list[str], description: str) -> dict[str, LabelSpec]:
    return {n: LabelSpec(Kind.TEXT, "", description) for n in names}


_PHASES = ["1", "2", "3"]

#: Standard mode ("TIC standard", 9600 bd, HT separator). CPT_54E §6.2.2.
STANDARD_LABELS: dict[str, LabelSpec] = {
    **_texts(["ADSC"], "secondary meter address"),
    **_texts(["VTIC"], "TIC version"),
    "DATE": LabelSpec(Kind.NONE, "", "meter date and time (in the horodate)"),
    **_texts(["NGTF"], "supplier tariff calendar name"),
    **_texts(["LTARF"], "current supplier tariff label"),
    **_ints(["EAST"], "Wh", "total active energy drawn"),
    **_ints([f"EASF{i:02d}" for i in range(1, 11)], "Wh", "active energy drawn, supplier index"),
    **_ints([f"EASD{i:02d}" for i in range(1, 5)], "Wh", "active energy drawn, distributor index"),
    **_ints(["EAIT"], "Wh", "total active energy injected (producer)"),
    **_ints([f"ERQ{i}" for i in range(1, 5)], "VArh", "reactive energy, quadrant (producer)"),
    **_ints([f"IRMS{p}" for p in _PHASES], "A", "RMS current"),
    **_ints([f"URMS{p}" for p in _PHASES], "V", "RMS voltage"),
    **_ints(["PREF"], "kVA", "reference (subscribed) apparent power"),
    **_ints(["PCOUP"], "kVA", "cut-off apparent power"),
    **_ints(["SINSTS"] + [f"SINSTS{p}" for p in _PHASES], "VA", "apparent power drawn"),
    **_ints(
        ["SMAXSN", "SMAXSN-1"]
        + [f"SMAXSN{p}" for p in _PHASES]
        + [f"SMAXSN{p}-1" for p in _PHASES],
        "VA",
        "max apparent power drawn (today / yesterday)",
    ),
    **_ints(["SINSTI"], "VA", "apparent power injected (producer)"),
    **_ints(["SMAXIN", "SMAXIN-1"], "VA", "max apparent power injected (producer)"),
    **_ints(["CCASN", "CCASN-1"], "W", "active load-curve point drawn"),
    **_ints(["CCAIN", "CCAIN-1"], "W", "active load-curve point injected (producer)"),
    **_ints([f"UMOY{p}" for p in _PHASES], "V", "mean voltage"),
    **_texts(["STGE"], "status register (8 hex digits)"),
    **_ints([f"DPM{p}" for p in _PHASES], "", "mobile peak start"),
    **_ints([f"FPM{p}" for p in _PHASES], "", "mobile peak end"),
    **_texts(["MSG1", "MSG2"], "message"),
    **_texts(["PRM"], "delivery point id"),
    **_ints(["RELAIS"], "", "relay states (decimal bit mask)"),
    **_ints(["NTARF"], "", "current supplier tariff index"),
    **_ints(["NJOURF", "NJOURF+1"], "", "supplier calendar day number"),
    **_texts(["PJOURF+1", "PPOINTE"], "day profile"),
    # Early "pilot" Linky meters.
    **_ints(["SINST1"], "VA", "apparent power drawn (pilot meters)"),
    **_ints(["SMAXN", "SMAXN-1"], "VA", "max apparent power drawn (pilot meters)"),
}

#: Historic mode ("TIC historique", 1200 bd, SP separator). CPT_54E §6.1, CPT_02E.
HISTORIC_LABELS: dict[str, LabelSpec] = {
    **_texts(["ADCO"], "meter address"),
    **_texts(["OPTARIF"], "tariff option"),
    **_ints(["ISOUSC"], "A", "subscribed current"),
    **_ints(["BASE"], "Wh", "BASE index"),
    **_ints(["HCHC", "HCHP"], "Wh", "off-peak / peak index"),
    **_ints(["EJPHN", "EJPHPM"], "Wh", "EJP normal / mobile-peak index"),
    **_ints(
        ["BBRHCJB", "BBRHPJB", "BBRHCJW", "BBRHPJW", "BBRHCJR", "BBRHPJR"], "Wh", "Tempo index"
    ),
    **_ints(["PEJP"], "min", "EJP start notice"),
    **_texts(["PTEC"], "current tariff period"),
    **_texts(["DEMAIN"], "tomorrow's Tempo colour"),
    **_ints(["IINST"] + [f"IINST{p}" for p in _PHASES], "A", "instantaneous current"),
    **_ints(["ADPS"], "A", "subscribed power overrun warning"),
    **_ints(["IMAX"] + [f"IMAX{p}" for p in _PHASES], "A", "max current"),
    **_ints(["PMAX"], "W", "max three-phase power"),
    **_ints(["PAPP"], "VA", "apparent power"),
    **_texts(["HHPHC"], "peak/off-peak schedule group"),
    **_texts(["MOTDETAT"], "meter status word"),
    **_texts(["PPOT"], "phase presence"),
    **_ints([f"ADIR{p}" for p in _PHASES], "A", "per-phase overcurrent warning (short frames)"),
}

#: Labels that only appear in three-phase historic short frames (CPT_54E p.17).
SHORT_FRAME_LABELS = frozenset({"ADIR1", "ADIR2", "ADIR3"})

#: The labels that make up the derived reactive-energy total ``ERQT`` (not a meter label).
ERQ_LABELS = ("ERQ1", "ERQ2", "ERQ3", "ERQ4")

_UNKNOWN = LabelSpec(Kind.TEXT, "", "unknown label")


def spec_for(label: str, table: dict[str, LabelSpec]) -> LabelSpec:
    """The spec of ``label`` in ``table``; unknown labels are text."""
    return table.get(label, _UNKNOWN)
