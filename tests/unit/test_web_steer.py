"""Steering from the page (pvopt/web/steer.py): every refusal, and what regulate reads."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pvopt import topics
from pvopt.equipment.loader import parse_site_config
from pvopt.regulation.inputs import Control, parse_regulation_control, parse_scr_control
from pvopt.regulation.model import Mode
from pvopt.web import i18n, steer

SITE = """\
equipment:
  - type: ConstantPowerEquipment
    id: pool
    name: pool_pump
    nominal_power: 800
  - type: VariablePowerEquipment
    id: 0
    name: water_heater
    max_power: 2400
  - type: UnknownPowerEquipment
    id: dryer
    name: dryer_plug
    expected_power: 1200
"""


@pytest.fixture
def loads() -> tuple[steer.Load, ...]:
    return steer.loads_of(parse_site_config(SITE))


def test_the_loads_and_their_maximum_come_from_the_site_config(
    loads: tuple[steer.Load, ...],
) -> None:
    assert loads == (
        steer.Load("pool_pump", "pool", 800.0, variable=False),
        steer.Load("water_heater", "0", 2400.0, variable=True),
        steer.Load("dryer_plug", "dryer", 1200.0, variable=False),
    )
    assert [load.min_boost_w for load in loads] == [400.0, 0.0, 600.0]


def test_a_load_is_found_by_id_then_by_name(loads: tuple[steer.Load, ...]) -> None:
    assert steer.find(loads, "0").name == "water_heater"
    assert steer.find(loads, "water_heater").id == "0"
    assert steer.find(loads, "pool").name == "pool_pump"


# -- the messages, read back by regulate's own parsers ---------------------------------------


@pytest.mark.parametrize("mode", ["AUTO", "ON", "OFF"])
def test_a_mode_is_the_documented_scr_control_and_regulate_reads_that_mode(
    loads: tuple[steer.Load, ...], mode: str
) -> None:
    load, message = steer.mode_request(loads, "pool", {"mode": mode})
    assert load.name == "pool_pump"
    assert (message.topic, message.payload) == ("scr/pool/control", mode)
    assert (message.qos, message.retain) == (1, False)
    # What pvopt regulate does with it (its subscription, its parser):
    assert topics.equipment_id(message.topic) == "pool"
    assert parse_scr_control(message.topic, message.payload.encode()) == Control(mode=Mode[mode])


def test_a_boost_is_the_documented_force_and_regulate_reads_its_power_and_duration(
    loads: tuple[steer.Load, ...],
) -> None:
    load, message = steer.boost_request(loads, "0", {"minutes": 30, "power_w": 1500})
    assert load.name == "water_heater"
    assert message.topic == topics.REGULATION_CONTROL == "regulation/control"
    assert json.loads(message.payload) == {
        "command": "force",
        "name": "water_heater",
        "power": 1500.0,
        "duration": 1800,
    }
    assert (message.qos, message.retain) == (1, False)
    name, control = parse_regulation_control(message.payload.encode())
    assert name == "water_heater"
    assert control == Control(mode=Mode.FORCED, power_w=1500.0, duration_s=1800.0)


@pytest.mark.parametrize(
    ("key", "minutes", "power"),
    [("0", 1, 0.5), ("0", 720, 2400), ("pool", 45, 400), ("pool", 45, 800), ("dryer", 5, 600.5)],
)
def test_every_accepted_boost_round_trips_through_regulate(
    loads: tuple[steer.Load, ...], key: str, minutes: int, power: float
) -> None:
    load, message = steer.boost_request(loads, key, {"minutes": minutes, "power_w": power})
    name, control = parse_regulation_control(message.payload.encode())
    assert name == load.name
    assert control == Control(mode=Mode.FORCED, power_w=power, duration_s=minutes * 60.0)


def test_a_message_regulate_would_read_otherwise_is_never_handed_out(
    monkeypatch: pytest.MonkeyPatch, loads: tuple[steer.Load, ...]
) -> None:
    """The self-check: had the payload drifted from regulate's format, building fails."""
    monkeypatch.setattr(steer, "_dumps", lambda doc: json.dumps({**doc, "duration": 60}))
    with pytest.raises(AssertionError, match="regulate reads"):
        steer.boost_request(loads, "0", {"minutes": 30, "power_w": 1500})
    monkeypatch.setattr(steer, "_dumps", lambda doc: json.dumps({**doc, "command": "boost"}))
    with pytest.raises(AssertionError, match="regulate refuses"):
        steer.boost_request(loads, "0", {"minutes": 30, "power_w": 1500})


# -- every refusal ---------------------------------------------------------------------------


def refused(call: Any) -> steer.Refused:
    with pytest.raises(steer.Refused) as caught:
        call()
    assert caught.value.reason == str(caught.value)
    assert "Traceback" not in caught.value.reason
    return caught.value


@pytest.mark.parametrize("key", ["heater", "", "POOL", "scr/#", "0 ", "x" * 10_000])
def test_an_unknown_load_is_404(loads: tuple[steer.Load, ...], key: str) -> None:
    for call in (
        lambda: steer.mode_request(loads, key, {"mode": "ON"}),
        lambda: steer.boost_request(loads, key, {"minutes": 30, "power_w": 100}),
    ):
        refusal = refused(call)
        assert (refusal.status, refusal.code) == (404, "unknown_load")
        assert len(refusal.reason) < 120


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (None, "bad_body"),
        ([], "bad_body"),
        ("ON", "bad_body"),
        ({}, "missing_field"),
        ({"mode": "ON", "power_w": 1}, "unknown_field"),
        ({"mode": "on"}, "bad_mode"),
        ({"mode": "FORCED"}, "bad_mode"),
        ({"mode": "MIN;50"}, "bad_mode"),
        ({"mode": ""}, "bad_mode"),
        ({"mode": None}, "bad_mode"),
        ({"mode": 1}, "bad_mode"),
        ({"mode": ["ON"]}, "bad_mode"),
    ],
)
def test_a_bad_mode_request_is_400_with_its_reason(
    loads: tuple[steer.Load, ...], body: object, code: str
) -> None:
    refusal = refused(lambda: steer.mode_request(loads, "pool", body))
    assert (refusal.status, refusal.code) == (400, code)


@pytest.mark.parametrize(
    ("key", "body", "code"),
    [
        ("0", None, "bad_body"),
        ("0", [30, 1000], "bad_body"),
        ("0", {"minutes": 30}, "missing_field"),
        ("0", {"power_w": 1000}, "missing_field"),
        ("0", {"minutes": 30, "power_w": 1000, "name": "pool_pump"}, "unknown_field"),
        ("0", {"minutes": 0, "power_w": 1000}, "bad_minutes"),
        ("0", {"minutes": 721, "power_w": 1000}, "bad_minutes"),
        ("0", {"minutes": -5, "power_w": 1000}, "bad_minutes"),
        ("0", {"minutes": 1.5, "power_w": 1000}, "bad_minutes"),
        ("0", {"minutes": "30", "power_w": 1000}, "bad_minutes"),
        ("0", {"minutes": True, "power_w": 1000}, "bad_minutes"),
        ("0", {"minutes": None, "power_w": 1000}, "bad_minutes"),
        ("0", {"minutes": 10**400, "power_w": 1000}, "bad_minutes"),
        ("0", {"minutes": float("nan"), "power_w": 1000}, "bad_minutes"),
        ("0", {"minutes": 30, "power_w": 0}, "bad_power"),
        ("0", {"minutes": 30, "power_w": -100}, "bad_power"),
        ("0", {"minutes": 30, "power_w": 2400.5}, "bad_power"),
        ("0", {"minutes": 30, "power_w": "1000"}, "bad_power"),
        ("0", {"minutes": 30, "power_w": False}, "bad_power"),
        ("0", {"minutes": 30, "power_w": float("nan")}, "bad_power"),
        ("0", {"minutes": 30, "power_w": float("inf")}, "bad_power"),
        ("0", {"minutes": 30, "power_w": 10**400}, "bad_power"),
        ("pool", {"minutes": 30, "power_w": 801}, "bad_power"),
        ("pool", {"minutes": 30, "power_w": 399}, "power_too_low"),
        ("dryer", {"minutes": 30, "power_w": 599.9}, "power_too_low"),
    ],
)
def test_a_bad_boost_request_is_400_with_its_reason(
    loads: tuple[steer.Load, ...], key: str, body: object, code: str
) -> None:
    refusal = refused(lambda: steer.boost_request(loads, key, body))
    assert (refusal.status, refusal.code) == (400, code)


def test_the_reasons_say_the_bounds(loads: tuple[steer.Load, ...]) -> None:
    power = refused(lambda: steer.boost_request(loads, "0", {"minutes": 30, "power_w": 9999}))
    assert "2400 W" in power.reason and "water_heater" in power.reason
    minutes = refused(lambda: steer.boost_request(loads, "0", {"minutes": 0, "power_w": 9}))
    assert "1 to 720" in minutes.reason
    low = refused(lambda: steer.boost_request(loads, "pool", {"minutes": 5, "power_w": 10}))
    assert "400 W" in low.reason


def test_nan_and_infinity_are_not_json() -> None:
    for text in ("NaN", "Infinity", "-Infinity"):
        with pytest.raises(ValueError):
            json.loads(f'{{"power_w": {text}}}', parse_constant=steer.refuse_constant)


def test_the_page_gets_every_steering_text_in_both_languages() -> None:
    for lang in i18n.LANGS:
        texts = i18n.script_texts(lang, "steer_", low=1, high=720)
        assert texts["steer_err_bad_minutes"].endswith("1 à 720." if lang == "fr" else "1 to 720.")
        for code in ("broker_down", "bad_mode", "bad_power", "power_too_low", "unknown_load"):
            assert f"steer_err_{code}" in texts
    assert i18n.script_texts("fr", "steer_")["steer_off"] == "ARRÊT"
