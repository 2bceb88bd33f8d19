"""Build TIC bytes exactly as a meter sends them (the decoder's inverse).

Used to generate test frames from the spec, synthetic captures for benchmarks, and
meter output in simulations. Values are given as the meter's raw text (already padded).
"""

from __future__ import annotations

from collections.abc import Iterable

from pvopt.tic.decoder import CR, ETX, LF, STX, Mode, checksum


def encode_group(label: str, data: str, mode: Mode, horodate: str | None = None) -> bytes:
    """One group ``LF label SEP [horodate SEP] data SEP checksum CR`` with a valid checksum.

    ``horodate`` (13 chars, e.g. ``"E240614120000"``) is only allowed in standard mode.
    """
    sep = chr(mode.separator)
    if horodate is not None:
        if mode is not Mode.STANDARD:
            raise ValueError("horodates only exist in standard mode")
        body = f"{label}{sep}{horodate}{sep}{data}".encode("ascii")
    else:
        body = f"{label}{sep}{data}".encode("ascii")
    sep_b = sep.encode("ascii")
    zone = body + sep_b if mode is Mode.STANDARD else body
    return bytes((LF,)) + body + sep_b + bytes((checksum(zone), CR))


def encode_frame(groups: Iterable[bytes]) -> bytes:
    """Wrap encoded groups in STX … ETX."""
    return bytes((STX,)) + b"".join(groups) + bytes((ETX,))


def standard_frame(values: dict[str, str], horodates: dict[str, str] | None = None) -> bytes:
    """A standard-mode frame from ``{label: raw data}`` and ``{label: horodate}``."""
    horodates = horodates or {}
    return encode_frame(
        encode_group(label, data, Mode.STANDARD, horodates.get(label))
        for label, data in values.items()
    )


def historic_frame(values: dict[str, str]) -> bytes:
    """A historic-mode frame from ``{label: raw data}``."""
    return encode_frame(encode_group(label, data, Mode.HISTORIC) for label, data in values.items())


def linky_standard_frame(
    *,
    date: str,
    sinsts_va: int,
    sinsti_va: int | None = None,
    east_wh: int = 12_345_678,
    eait_wh: int | None = None,
    erq_varh: tuple[int, int, int, int] | None = None,
    adsc: str = "041876097652",
) -> bytes:
    """A realistic single-phase Linky standard frame (the label order of CPT_54E §6.2.2).

    ``date`` is a horodate (``"E250614123005"``). Passing ``sinsti_va`` makes it a producer
    meter frame (SINSTI, EAIT, ERQ1..4, SMAXIN present), as Enedis configures them.
    """
    producer = sinsti_va is not None
    values: dict[str, str] = {
        "ADSC": adsc,
        "VTIC": "02",
        "DATE": "",
        "NGTF": "PRODUCTEUR      " if producer else "H PLEINE/CREUSE ",
        "LTARF": "INDEX NON CONSO " if producer else "    HP  BLEU    ",
        "EAST": f"{east_wh:09d}",
        "EASF01": f"{east_wh // 3:09d}",
        "EASF02": f"{east_wh - east_wh // 3:09d}",
        **{f"EASF{i:02d}": "000000000" for i in range(3, 11)},
        "EASD01": f"{east_wh:09d}",
        **{f"EASD{i:02d}": "000000000" for i in range(2, 5)},
    }
    # DATE is "now"; the maxima carry the time they were reached, UMOY1 its 10-min window.
    day = date[:7]
    horodates = {
        "DATE": date,
        "SMAXSN": day + "071502",
        "SMAXSN-1": day + "193012",
        "UMOY1": date[:10] + "000",
    }
    if producer:
        values["EAIT"] = f"{eait_wh or 0:09d}"
        for i, v in enumerate(erq_varh or (0, 0, 0, 0), start=1):
            values[f"ERQ{i}"] = f"{v:09d}"
    values.update(
        {
            "IRMS1": f"{max(sinsts_va, sinsti_va or 0) // 230:03d}",
            "URMS1": "231",
            "PREF": "09",
            "PCOUP": "09",
            "SINSTS": f"{sinsts_va:05d}",
            "SMAXSN": "04210",
            "SMAXSN-1": "05320",
        }
    )
    if producer:
        values.update({"SINSTI": f"{sinsti_va:05d}", "SMAXIN": "02980", "SMAXIN-1": "03120"})
        horodates.update({"SMAXIN": day + "131020", "SMAXIN-1": day + "124508"})
    values.update(
        {
            "UMOY1": "229",
            "STGE": "002A0301" if producer else "003A0001",
            "MSG1": "PAS DE          MESSAGE         ",
            "PRM": "09876543210987",
            "RELAIS": "000",
            "NTARF": "01",
            "NJOURF": "00",
            "NJOURF+1": "00",
            "PJOURF+1": "00008001 NONUTILE NONUTILE NONUTILE NONUTILE NONUTILE NONUTILE "
            "NONUTILE NONUTILE NONUTILE NONUTILE",
        }
    )
    return standard_frame(values, horodates)
