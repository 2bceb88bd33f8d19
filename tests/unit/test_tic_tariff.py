"""What the meter's labels say about the tariff: period, off-peak, Tempo colours, EJP peak
(pvopt/tic/tariff.py; research/tic.md §2–3)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pvopt.tic.decoder import FrameDecoder, Mode
from pvopt.tic.encoder import historic_frame, standard_frame
from pvopt.tic.tariff import (
    Colour,
    MeterTariff,
    decode_demain,
    decode_stge,
    meter_tariff,
    tariff_offpeak,
)

NOW = datetime(2026, 12, 7, 23, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"PTEC": "HP.."}, False),
        ({"PTEC": "TH.."}, False),
        ({"PTEC": "HC.."}, True),
        ({"LTARF": " HEURE  CREUSE "}, True),
        ({"LTARF": "  HEURE  PLEINE "}, False),
        ({"LTARF": "    HP  BLEU    "}, False),
        ({"LTARF": "    HC  BLEU    "}, True),
        ({"LTARF": "INDEX NON CONSO"}, None),
        ({}, None),
    ],
)
def test_the_meter_tariff_tells_off_peak(values: dict[str, object], expected: bool | None) -> None:
    assert tariff_offpeak(values) is expected


# -- MeterTariff: STGE, DEMAIN, PTEC, LTARF, NTARF -----------------------------------------


def stge(today: int, tomorrow: int, low: int = 0x3A4401) -> str:
    """An STGE value with the Tempo colour fields set (0 none, 1 blue, 2 white, 3 red) over
    the low bytes of a real register."""
    return f"{(today << 24) | (tomorrow << 26) | low:08X}"


@pytest.mark.parametrize(
    ("value", "today", "tomorrow", "supplier_index", "mobile_peak"),
    [
        # Real values (research/tic.md §3, prices-forecasts-web.md §2, Zlinky_TIC #192/#218).
        ("013A4401", Colour.BLUE, None, 2, 0),  # tomorrow not announced yet
        ("423A4C01", Colour.WHITE, None, 4, 1),  # LTARF said "HP BLANC": index 4
        ("013A0501", Colour.BLUE, None, 2, 0),  # NTARF 02, LTARF "HP  BLEU"
        ("002A0301", None, None, 1, 0),  # producer, not Tempo: no colour
        # Constructed.
        (stge(3, 0), Colour.RED, None, 2, 0),
        (stge(1, 3), Colour.BLUE, Colour.RED, 2, 0),
        (stge(3, 3), Colour.RED, Colour.RED, 2, 0),
        (stge(2, 1), Colour.WHITE, Colour.BLUE, 2, 0),
        (stge(0, 2), None, Colour.WHITE, 2, 0),
        ("013a4401", Colour.BLUE, None, 2, 0),  # lower-case hex
    ],
)
def test_stge_gives_the_tempo_colours_by_bit_number(
    value: str, today: Colour | None, tomorrow: Colour | None, supplier_index: int, mobile_peak: int
) -> None:
    status = decode_stge(value)
    assert status is not None
    assert (status.colour_today, status.colour_tomorrow) == (today, tomorrow)
    assert (status.supplier_index, status.mobile_peak) == (supplier_index, mobile_peak)
    tariff = meter_tariff({"STGE": value})
    assert (tariff.colour_today, tariff.colour_tomorrow) == (today, tomorrow)
    assert tariff.supplier_index == supplier_index


def test_stge_is_not_read_left_to_right() -> None:
    """The classic mistake (Zlinky_TIC #192): reading the register's bits from the left
    makes 0x42… "no colour today"; bit 24 is the low bit of the top byte."""
    status = decode_stge("423A4C01")
    assert status is not None and status.colour_today is Colour.WHITE
    assert status.mobile_peak_notice == 0


@pytest.mark.parametrize("value", ["", "013A44", "013A44010", "XYZ12345", 0x013A4401, None, True])
def test_anything_but_8_hex_digits_is_no_stge(value: object) -> None:
    assert decode_stge(value) is None
    assert meter_tariff({"STGE": value}) == MeterTariff()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("----", None),
        ("BLEU", Colour.BLUE),
        ("BLAN", Colour.WHITE),
        ("ROUG", Colour.RED),
        ("roug", Colour.RED),
        ("", None),
        ("BLANC", None),
        (3, None),
    ],
)
def test_demain_gives_tomorrows_colour(value: object, expected: Colour | None) -> None:
    assert decode_demain(value) is expected
    assert meter_tariff({"DEMAIN": value}).colour_tomorrow is expected
    assert meter_tariff({"DEMAIN": value}).colour_today is None


@pytest.mark.parametrize(
    ("ptec", "period", "offpeak", "colour", "ejp_peak"),
    [
        ("TH..", "BASE", False, None, None),
        ("HC..", "HC", True, None, None),
        ("HP..", "HP", False, None, None),
        ("HN..", "HN", False, None, False),
        ("PM..", "PM", False, None, True),
        ("HCJB", "HCJB", True, Colour.BLUE, None),
        ("HPJB", "HPJB", False, Colour.BLUE, None),
        ("HCJW", "HCJW", True, Colour.WHITE, None),
        ("HPJW", "HPJW", False, Colour.WHITE, None),
        ("HCJR", "HCJR", True, Colour.RED, None),
        ("HPJR", "HPJR", False, Colour.RED, None),
        ("HPJX", None, False, None, None),  # unknown colour letter: no period, no colour
    ],
)
def test_ptec_gives_the_period(
    ptec: str, period: str | None, offpeak: bool, colour: Colour | None, ejp_peak: bool | None
) -> None:
    tariff = meter_tariff({"PTEC": ptec, "OPTARIF": "BBR("})
    assert tariff == MeterTariff(
        period=period, offpeak=offpeak, colour_today=colour, ejp_peak=ejp_peak
    )


@pytest.mark.parametrize(
    ("ltarf", "period", "offpeak", "colour", "ejp_peak"),
    [
        ("    HP  BLEU    ", "HPJB", False, Colour.BLUE, None),
        ("HP  BLEU", "HPJB", False, Colour.BLUE, None),  # as the decoder strips it
        ("    HC  BLEU    ", "HCJB", True, Colour.BLUE, None),
        ("HP BLANC", "HPJW", False, Colour.WHITE, None),
        ("HC  BLANC", "HCJW", True, Colour.WHITE, None),
        ("HP  ROUGE", "HPJR", False, Colour.RED, None),
        ("HC  ROUGE", "HCJR", True, Colour.RED, None),
        (" HEURE  CREUSE ", "HC", True, None, None),
        ("  HEURE  PLEINE ", "HP", False, None, None),
        ("BASE", "BASE", None, None, None),
        ("POINTE MOBILE", "PM", None, None, True),
        ("HEURE NORMALE", "HN", None, None, False),
        ("INDEX NON CONSO", None, None, None, None),  # a producer's only index
    ],
)
def test_ltarf_gives_the_period(
    ltarf: str,
    period: str | None,
    offpeak: bool | None,
    colour: Colour | None,
    ejp_peak: bool | None,
) -> None:
    tariff = meter_tariff({"LTARF": ltarf})
    assert (tariff.period, tariff.offpeak, tariff.colour_today, tariff.ejp_peak) == (
        period,
        offpeak,
        colour,
        ejp_peak,
    )


def test_the_period_label_wins_over_stge_for_todays_colour() -> None:
    """LTARF is what the supplier's index counts; STGE's colour of the day was seen to
    disagree with it (linkytic #53)."""
    tariff = meter_tariff({"LTARF": "HP  BLEU", "STGE": stge(2, 3)})
    assert (tariff.colour_today, tariff.colour_tomorrow) == (Colour.BLUE, Colour.RED)
    assert meter_tariff({"LTARF": "HEURE CREUSE", "STGE": stge(2, 0)}).colour_today is (
        Colour.WHITE
    )


def test_stge_tomorrow_wins_over_demain_and_demain_fills_in() -> None:
    assert meter_tariff({"STGE": stge(1, 3), "DEMAIN": "BLAN"}).colour_tomorrow is Colour.RED
    assert meter_tariff({"STGE": stge(1, 0), "DEMAIN": "BLAN"}).colour_tomorrow is Colour.WHITE


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"NTARF": 2}, 2),
        ({"NTARF": "02"}, 2),
        ({"NTARF": 2, "STGE": "423A4C01"}, 2),  # NTARF wins
        ({"NTARF": 0, "STGE": "423A4C01"}, 4),  # out of 1..10: STGE's bits 10-13, plus one
        ({"NTARF": True}, None),
        ({}, None),
    ],
)
def test_the_supplier_index_comes_from_ntarf_else_stge(
    values: dict[str, object], expected: int | None
) -> None:
    assert meter_tariff(values).supplier_index == expected


def test_hostile_values_say_nothing() -> None:
    values: dict[str, object] = {
        "PTEC": 5,
        "LTARF": ["HP", "BLEU"],
        "STGE": {"x": 1},
        "DEMAIN": None,
        "NTARF": 1e9,
    }
    assert meter_tariff(values) == MeterTariff()
    assert meter_tariff({"LTARF": "HP BLEU" * 20}) == MeterTariff()  # far too long for a label


def test_decoded_frames_give_the_meter_tariff() -> None:
    """Through the real decoder: a standard Tempo frame, and a historic one."""
    standard = FrameDecoder(Mode.STANDARD).feed(
        standard_frame(
            {
                "NGTF": "     TEMPO      ",
                "LTARF": "    HC  ROUGE   ",
                "NTARF": "05",
                "STGE": stge(3, 2),
            }
        ),
        NOW,
    )
    assert meter_tariff(standard[0].values) == MeterTariff(
        period="HCJR",
        offpeak=True,
        colour_today=Colour.RED,
        colour_tomorrow=Colour.WHITE,
        supplier_index=5,
    )
    historic = FrameDecoder(Mode.HISTORIC).feed(
        historic_frame({"OPTARIF": "BBR(", "PTEC": "HPJW", "DEMAIN": "ROUG"}), NOW
    )
    assert meter_tariff(historic[0].values) == MeterTariff(
        period="HPJW", offpeak=False, colour_today=Colour.WHITE, colour_tomorrow=Colour.RED
    )
