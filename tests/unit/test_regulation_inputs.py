"""Parsing of what the regulation receives: malformed input is a clear error, never a crash."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from pvopt.regulation.inputs import (
    InputError,
    parse_availability,
    parse_regulation_control,
    parse_scr_control,
    parse_temperature,
    parse_va_payload,
    sample_from_frame,
)
from pvopt.regulation.model import Mode
from pvopt.tic.tariff import Colour

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


def test_a_frame_tells_the_regulation_the_tempo_colours_of_today_and_tomorrow() -> None:
    # STGE bits 24-25: today (1 blue), bits 26-27: tomorrow (3 red)
    stge = f"{(1 << 24) | (3 << 26):08X}"
    sample = sample_from_frame(_frame(SINSTS=400, LTARF="HC  BLEU", STGE=stge), NOW)
    assert sample.tariff is not None
    assert (sample.offpeak, sample.tariff.colour_today, sample.tariff.colour_tomorrow) == (
        True,
        Colour.BLUE,
        Colour.RED,
    )


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
    assert parse_va_payload("tic/SINSTS", b" 1234\n") == 1234
    with pytest.raises(InputError, match="tic/SINSTS: expected a whole number of VA"):
        parse_va_payload("tic/SINSTS", b"12a")
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


def test_numbers_beyond_physics_are_refused_before_any_conversion() -> None:
    """A 401-digit SINSTS once killed the daemon (OverflowError converting it to float),
    and a SINSTS of 1e20 VA was taken as a reading: a meter's powers have five digits."""
    huge = int("9" * 401)
    for values in ({"SINSTS": huge}, {"SINSTS": 0, "SINSTI": huge}, {"SINSTS": 10**20}):
        with pytest.raises(InputError, match="tic/frame"):
            sample_from_frame(_frame(**values), NOW)
    assert sample_from_frame(_frame(SINSTS=99_999, SINSTI=0), NOW).grid_w == 99_999.0
    with pytest.raises(InputError, match="tic/frame"):
        sample_from_frame(_frame(SINSTS=100_000, SINSTI=0), NOW)
    for text in (b"9" * 401, b"100000", b"-1", b"1e20"):
        with pytest.raises(InputError, match="tic/SINSTS"):
            parse_va_payload("tic/SINSTS", text)


@pytest.mark.parametrize(
    "payload",
    [
        b'{"command":"force","name":"heater","power":500,"duration":1e12}',
        b'{"command":"force","name":"heater","power":500,"duration":Infinity}',
        b'{"command":"force","name":"heater","power":500,"duration":1e999}',
        b'{"command":"force","name":"heater","power":NaN}',
        b'{"command":"force","name":"heater","power":-Infinity}',
        b'{"command":"force","name":"heater","power":1e999}',
        b'{"command":"force","name":"heater","power":' + b"9" * 401 + b"}",
        b'{"command":"force","name":"heater","power":500,"duration":' + b"9" * 401 + b"}",
        b'{"command":"force","name":"heater","power":500,"duration":-5}',
        b'{"command":"force","name":"","power":500}',
        b'{"command":"force","name":["heater"],"power":500}',
        b'{"command":{"a":1},"name":"heater"}',
        b"[" * 100_000 + b"]" * 100_000,
        b'"force"',
        b"null",
    ],
)
def test_controls_out_of_range_or_not_finite_are_refused(payload: bytes) -> None:
    """The controls that killed the daemon or sent ``nan`` to a dimmer (issue 11)."""
    with pytest.raises(InputError, match="regulation/control"):
        parse_regulation_control(payload)


def test_force_durations_up_to_a_week_and_powers_up_to_100_kw_are_accepted() -> None:
    doc = b'{"command":"force","name":"h","power":100000,"duration":604800}'
    _, control = parse_regulation_control(doc)
    assert (control.power_w, control.duration_s) == (100_000.0, 604_800.0)
    with pytest.raises(InputError, match="duration"):
        parse_regulation_control(doc.replace(b"604800", b"604801"))


def test_a_frame_is_timed_by_its_own_time_never_later_than_its_arrival() -> None:
    """A frame that waited in a queue is judged by its real age; a frame "from the future"
    (clocks apart) cannot push the stale timeout back; no usable time: the arrival."""

    def timed(text: object) -> bytes:
        return json.dumps({"time": text, "values": {"SINSTS": 5, "SINSTI": 0}}).encode()

    earlier = NOW - timedelta(seconds=14)
    assert sample_from_frame(timed(earlier.isoformat()), NOW).time == earlier
    later = NOW + timedelta(hours=1)
    assert sample_from_frame(timed(later.isoformat()), NOW).time == NOW
    for junk in ("x", "2026-06-14T12:00:00", 12, None, "9" * 1000):
        assert sample_from_frame(timed(junk), NOW).time == NOW


def test_availability_is_online_or_offline_only() -> None:
    assert parse_availability("pvopt/teleinfo/status", b"online") is True
    assert parse_availability("pvopt/teleinfo/status", b"offline\n") is False
    for junk in (b"", b"OFFLINE!", b"\xff", b"x" * 1_000_000):
        with pytest.raises(InputError, match="pvopt/teleinfo/status"):
            parse_availability("pvopt/teleinfo/status", junk)
