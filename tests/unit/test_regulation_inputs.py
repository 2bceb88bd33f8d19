"""Parsing of what the regulation receives: malformed input is a clear error, never a crash."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from pvopt.regulation.inputs import (
    InputError,
    parse_int_payload,
    parse_regulation_control,
    parse_scr_control,
    parse_temperature,
    sample_from_frame,
    tariff_offpeak,
)
from pvopt.regulation.model import Mode

NOW = datetime(2026, 6, 14, 12, tzinfo=UTC)


def _frame(**values: object) -> bytes:
    return json.dumps(
        {
            "time": NOW.isoformat(),
            "mode": "standard",
            "values": values,
            "horodates": {},
            "rejected_groups": 0,
        }
    ).encode()


def test_a_frame_gives_sinsts_and_sinsti_of_the_same_instant() -> None:
    sample = sample_from_frame(_frame(SINSTS=0, SINSTI=1250, LTARF="INDEX NON CONSO"), NOW)
    assert (sample.import_va, sample.export_va, sample.grid_w) == (0, 1250, -1250.0)
    assert sample.time == NOW and sample.offpeak is None


def test_a_historic_frame_uses_papp_and_ptec() -> None:
    sample = sample_from_frame(_frame(PAPP=2830, PTEC="HCJB"), NOW)
    assert (sample.grid_w, sample.offpeak) == (2830.0, True)


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


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"[]",
        b'{"values": 3}',
        _frame(EAST=5),
        _frame(SINSTS="12"),
        _frame(SINSTS=True),  # a JSON boolean is an int to Python
        _frame(SINSTS=-5),
        _frame(SINSTS=100, SINSTI=1.5),
    ],
)
def test_malformed_frames_are_input_errors(payload: bytes) -> None:
    with pytest.raises(InputError, match="tic/frame"):
        sample_from_frame(payload, NOW)


def test_plain_payloads() -> None:
    assert parse_int_payload("tic/SINSTS", b" 1234\n") == 1234
    with pytest.raises(InputError, match="tic/SINSTS: expected an integer"):
        parse_int_payload("tic/SINSTS", b"12a")
    assert parse_temperature("scr/0/temperature", b"54.25") == 54.25
    for bad in (b"-127.00", b"hot", b"nan", b"\xff"):
        with pytest.raises(InputError, match="scr/0/temperature"):
            parse_temperature("scr/0/temperature", bad)


def test_scr_control_messages() -> None:
    assert parse_scr_control("t", b"ON").mode is Mode.ON
    assert parse_scr_control("t", b"off\n").mode is Mode.OFF
    assert parse_scr_control("t", b"AUTO").mode is Mode.AUTO
    control = parse_scr_control("t", b"ECO;48.5")
    assert (control.threshold, control.celsius) == ("eco", 48.5)
    for bad in (b"MAX;hot", b"MIN;200", b"BOOST", b"", b"\xff"):
        with pytest.raises(InputError):
            parse_scr_control("t", bad)


def test_regulation_control_messages() -> None:
    name, control = parse_regulation_control(
        b'{"command": "force", "name": "pump", "power": 800, "duration": 3600}'
    )
    assert (name, control.mode, control.power_w, control.duration_s) == (
        "pump",
        Mode.FORCED,
        800.0,
        3600,
    )
    assert parse_regulation_control(b'{"command":"unforce","name":"pump"}')[1].mode is Mode.AUTO
    for bad in (
        b"{",
        b'{"command":"force"}',
        b'{"command":"boost","name":"x"}',
        b'{"command":"force","name":"x","power":-1}',
        b'{"command":"force","name":"x","power":true}',
        b'{"command":"force","name":"x","power":5,"duration":0}',
    ):
        with pytest.raises(InputError, match="regulation/control"):
            parse_regulation_control(bad)
