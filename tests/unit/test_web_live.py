"""The live page's state (pvopt/web/live.py): the messages the daemons publish, on a fake
clock, become the snapshot the page shows.

Every payload is built by the function its daemon publishes with (teleinfo's
``mqtt_messages``, the regulation's ``status_document``, the forecast's ``to_json``), so a
change of format breaks these tests, not the page in a house.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from houses import PARIS, heater, plug

from pvopt import forecast, topics
from pvopt.daemons.power_regulation import status_document
from pvopt.daemons.teleinfo import mqtt_messages
from pvopt.database_state import DatabaseState, state_document
from pvopt.equipment.model import SiteConfig
from pvopt.forecast import PvForecast, Slot
from pvopt.regulation.core import Regulator
from pvopt.regulation.model import MeterSample, Mode
from pvopt.regulation.today import TodayTotals, today_document
from pvopt.tic import Frame, FrameDecoder
from pvopt.tic import Mode as TicMode
from pvopt.tic.encoder import historic_frame, linky_standard_frame
from pvopt.web import live as live_module
from pvopt.web.live import Live, LiveLimits

T0 = datetime(2026, 6, 14, 10, 0, tzinfo=UTC)
STALE_S = LiveLimits().stale_after_s


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def decode(data: bytes, when: datetime, mode: TicMode = TicMode.STANDARD) -> Frame:
    (frame,) = FrameDecoder(mode).feed(data, when)
    return frame


def frame_payload(frame: Frame) -> bytes:
    """What teleinfo publishes on tic/frame for ``frame``."""
    messages = dict(mqtt_messages(frame))
    return messages[topics.FRAME].encode()


def producer_frame(when: datetime, sinsts_va: int = 0, sinsti_va: int = 1834) -> bytes:
    data = linky_standard_frame(date="E260614120000", sinsts_va=sinsts_va, sinsti_va=sinsti_va)
    return frame_payload(decode(data, when))


def consumer_frame(when: datetime, stge: str | None = None) -> bytes:
    frame = decode(linky_standard_frame(date="E260614120000", sinsts_va=1250), when)
    if stge is not None:
        frame = replace(frame, values={**frame.values, "STGE": stge})
    return frame_payload(frame)


SITE = SiteConfig(equipment=(heater("heater"), plug("dryer", 500)))


def decision_payload(
    now: datetime,
    grid: tuple[int, int] = (0, 3000),
    setup: Any = None,
    pv: PvForecast | None = None,
    today: TodayTotals | None = None,
) -> bytes:
    """What the regulation publishes on regulation/status after one evaluation."""
    regulator = Regulator(SITE, PARIS)
    regulator.set_temperature("heater", 52.0, now)
    if setup is not None:
        setup(regulator, now)
    decision = regulator.evaluate(MeterSample(now, *grid), now)
    summary = forecast.summary(pv, now, PARIS, 86_400) if pv is not None else None
    return json.dumps(status_document(decision, summary, today), allow_nan=False).encode()


def fresh() -> Live:
    return Live(started=T0)


# -- the meter --------------------------------------------------------------------------


def test_export_is_a_negative_grid_power_timed_by_the_frame() -> None:
    live = fresh()
    assert live.update(topics.FRAME, producer_frame(at(0)), at(0.2)) is True
    grid = live.snapshot(at(1))["grid"]
    assert grid == {
        "power_w": -1834.0,
        "import_va": 0,
        "export_va": 1834,
        "time": T0.isoformat(),
        "age_s": 1.0,
        "stale": False,
    }
    meter = live.snapshot(at(1))["meter"]
    assert meter["mode"] == "standard" and meter["rejected_groups"] == 0
    assert live.snapshot(at(1))["tariff"]["contract"] == "PRODUCTEUR"


def test_import_is_positive() -> None:
    live = fresh()
    live.update(topics.FRAME, producer_frame(at(0), sinsts_va=700, sinsti_va=0), at(0))
    assert live.snapshot(at(0))["grid"]["power_w"] == 700.0


def test_tempo_period_and_colours_of_today_and_tomorrow_come_from_ltarf_and_stge() -> None:
    live = fresh()
    # STGE bits 24-25 = 1 (blue today), bits 26-27 = 3 (red tomorrow)
    live.update(topics.FRAME, consumer_frame(at(0), stge="0D3A0001"), at(0))
    tariff = live.snapshot(at(0))["tariff"]
    assert tariff["period"] == "HPJB" and tariff["offpeak"] is False
    assert (tariff["colour_today"], tariff["colour_tomorrow"]) == ("BLUE", "RED")
    assert tariff["label"] == "HP  BLEU" and tariff["stale"] is False


def test_the_ejp_days_announced_are_the_regulations_word_and_null_off_an_ejp_contract() -> None:
    live = fresh()
    live.update(topics.FRAME, consumer_frame(at(0)), at(0))
    live.update(topics.DECISION, decision_payload(at(0)), at(0))
    assert live.snapshot(at(0))["tariff"]["ejp"] is None  # a base contract: no word
    told = {"today": False, "tomorrow": True}
    live.update(topics.DECISION, _status_with(ejp=told), at(1))
    assert live.snapshot(at(1))["tariff"]["ejp"] == told


def test_a_historic_meter_says_its_period_in_ptec_and_tomorrow_in_demain() -> None:
    data = historic_frame(
        {
            "ADCO": "031762120345",
            "OPTARIF": "BBR(",
            "PTEC": "HCJW",
            "DEMAIN": "ROUG",
            "PAPP": "01250",
        }
    )
    live = fresh()
    live.update(topics.FRAME, frame_payload(decode(data, at(0), TicMode.HISTORIC)), at(0))
    snap = live.snapshot(at(0))
    assert snap["grid"]["power_w"] == 1250.0 and snap["grid"]["export_va"] == 0
    assert snap["tariff"]["period"] == "HCJW" and snap["tariff"]["offpeak"] is True
    assert (snap["tariff"]["colour_today"], snap["tariff"]["colour_tomorrow"]) == ("WHITE", "RED")
    assert snap["meter"]["mode"] == "historic"


def test_a_frame_whose_power_group_was_rejected_keeps_the_last_power_and_counts_the_group() -> None:
    live = fresh()
    live.update(topics.FRAME, producer_frame(at(0)), at(0))
    data = linky_standard_frame(date="E260614120000", sinsts_va=0, sinsti_va=900)
    broken = decode(data.replace(b"SINSTI\t00900\t", b"SINSTI\t00901\t"), at(1))
    broken = replace(broken, values={k: v for k, v in broken.values.items() if k != "SINSTS"})
    assert broken.rejected_groups == 1
    live.update(topics.FRAME, frame_payload(broken), at(1))
    snap = live.snapshot(at(1))
    assert snap["grid"]["power_w"] == -1834.0 and snap["grid"]["time"] == T0.isoformat()
    assert snap["meter"]["rejected_groups"] == 1 and snap["meter"]["rejected_groups_total"] == 1
    assert snap["meter"]["time"] == at(1).isoformat()
    assert snap["rejected"]["total"] == 0  # a rejected group is the meter's, not a bad message


def test_frames_of_the_last_minute_are_counted() -> None:
    live = fresh()
    for n in range(60):
        live.update(topics.FRAME, producer_frame(at(n * 1.5)), at(n * 1.5))
    assert live.snapshot(at(89))["meter"]["frames_last_minute"] == 40


# -- stale is an error, never a zero ---------------------------------------------------------


def test_meter_data_older_than_the_limit_stay_shown_flagged_stale_with_their_age() -> None:
    live = fresh()
    live.update(topics.FRAME, producer_frame(at(0)), at(0))
    assert live.snapshot(at(STALE_S))["grid"]["stale"] is False
    assert "meter_stale" not in live.snapshot(at(STALE_S))["alerts"]
    later = live.snapshot(at(STALE_S + 0.1))
    assert later["grid"]["stale"] is True and later["tariff"]["stale"] is True
    assert later["grid"]["power_w"] == -1834.0 and later["grid"]["age_s"] == STALE_S + 0.1
    assert "meter_stale" in later["alerts"]


def test_the_server_is_told_when_a_reading_will_turn_stale() -> None:
    live = fresh()
    live.update(topics.FRAME, producer_frame(at(3)), at(3))
    live.update(topics.DECISION, decision_payload(at(5)), at(5))
    expiry = live.next_expiry(at(6))
    assert expiry is not None and expiry > at(3 + STALE_S)
    assert live.snapshot(expiry)["grid"]["stale"] is True
    assert live.snapshot(expiry - timedelta(microseconds=1))["grid"]["stale"] is False


def test_nothing_received_since_the_start_is_stale_once_the_limit_has_passed() -> None:
    live = fresh()
    assert live.snapshot(at(STALE_S))["alerts"] == []
    snap = live.snapshot(at(STALE_S + 1))
    assert snap["alerts"] == ["meter_stale", "regulation_stale"]
    assert snap["grid"] is None and snap["loads"] == []


def test_a_new_frame_with_the_same_values_changes_nothing_shown_unless_it_ends_staleness() -> None:
    live = fresh()
    assert live.update(topics.FRAME, producer_frame(at(0)), at(0)) is True
    assert live.update(topics.FRAME, producer_frame(at(1)), at(1)) is False
    assert live.update(topics.FRAME, producer_frame(at(2), sinsti_va=1500), at(2)) is True
    assert live.update(topics.FRAME, producer_frame(at(30), sinsti_va=1500), at(30)) is True


def test_a_frame_timed_after_its_arrival_is_timed_by_its_arrival() -> None:
    live = fresh()
    live.update(topics.FRAME, producer_frame(at(60)), at(0))
    assert live.snapshot(at(0))["grid"]["time"] == T0.isoformat()


# -- the regulation -----------------------------------------------------------------------


def test_each_load_shows_its_power_mode_and_reason_from_the_regulation_status() -> None:
    live = fresh()
    assert live.update(topics.DECISION, decision_payload(at(0)), at(0.1)) is True
    snap = live.snapshot(at(1))
    heater_, dryer = snap["loads"]
    assert heater_["name"] == "heater" and heater_["mode"] == "auto" and heater_["on"] is True
    assert heater_["power_w"] > 0 and heater_["percent"] is not None and heater_["reason"]
    assert heater_["temperature"] == {
        "temperature_c": 52.0,
        "source": "regulation",
        "time": T0.isoformat(),
        "age_s": 1.0,
        "stale": False,
    }
    assert dryer["name"] == "dryer" and dryer["percent"] is None and dryer["temperature"] is None
    assert (dryer["time"], dryer["age_s"], dryer["stale"]) == (T0.isoformat(), 1.0, False)
    regulation = snap["regulation"]
    assert regulation["safe"] is False and regulation["target_w"] == -20.0
    assert regulation["grid_power_w"] == -3000.0 and regulation["surplus_w"] is not None
    assert regulation["diverted_w"] == heater_["power_w"] + dryer["power_w"]
    assert snap["alerts"] == []


def test_a_forced_load_is_shown_as_the_regulation_reports_it() -> None:
    def boost(regulator: Regulator, now: datetime) -> None:
        regulator.plant.set_mode("dryer", Mode.FORCED, now, power_w=500, duration_s=1800)

    live = fresh()
    live.update(topics.DECISION, decision_payload(at(0), setup=boost), at(0))
    dryer = live.snapshot(at(0))["loads"][1]
    assert (dryer["mode"], dryer["forced"], dryer["on"], dryer["power_w"]) == (
        "forced",
        True,
        True,
        500.0,
    )


def test_a_probe_reading_is_the_tank_temperature_with_its_own_time() -> None:
    live = fresh()
    live.update(topics.DECISION, decision_payload(at(0)), at(0))
    assert live.update("scr/heater/temperature", b"53.5", at(2)) is True
    temperature = live.snapshot(at(3))["loads"][0]["temperature"]
    assert temperature["temperature_c"] == 53.5 and temperature["source"] == "probe"
    assert temperature["age_s"] == 1.0 and temperature["stale"] is False
    probe_limit = LiveLimits().probe_stale_after_s
    assert live.snapshot(at(2 + probe_limit + 1))["loads"][0]["temperature"]["stale"] is True


def test_a_decision_timed_after_its_arrival_is_timed_by_its_arrival() -> None:
    live = fresh()
    live.update(topics.DECISION, decision_payload(at(60)), at(0))
    assert live.snapshot(at(0))["regulation"]["time"] == T0.isoformat()
    assert live.snapshot(at(STALE_S + 1))["regulation"]["stale"] is True


def test_a_decision_shedding_every_load_raises_the_safe_alert() -> None:
    live = fresh()
    regulator = Regulator(SITE, PARIS)
    regulator.evaluate(MeterSample(at(0), 0, 3000), at(0))
    shed = regulator.tick(at(STALE_S + 1))
    assert shed is not None and shed.safe
    live.update(topics.DECISION, json.dumps(status_document(shed)).encode(), at(STALE_S + 1))
    snap = live.snapshot(at(STALE_S + 1))
    assert "regulation_safe" in snap["alerts"] and snap["regulation"]["grid_power_w"] is None
    assert all(load["power_w"] == 0 for load in snap["loads"])


# -- the PV forecast ------------------------------------------------------------------------


PV = PvForecast(
    issued=T0 - timedelta(hours=1),
    slots=(
        Slot(start=T0 - timedelta(minutes=15), duration_s=1800, power_w=1800.0),
        Slot(start=T0 + timedelta(minutes=30), duration_s=900, power_w=2100.0),
    ),
)


def test_the_pv_shown_is_the_forecast_of_the_slot_holding_now_and_the_regulations_day_sums() -> (
    None
):
    live = fresh()
    assert live.update(topics.FORECAST, PV.to_json().encode(), at(0)) is True
    live.update(topics.DECISION, decision_payload(at(0), pv=PV), at(0))
    pv = live.snapshot(at(60))["pv"]
    assert pv["forecast_power_w"] == 1800.0 and pv["forecast_stale"] is False
    assert pv["forecast_issued"] == PV.issued.isoformat() and pv["forecast_age_s"] == 3660.0
    assert pv["forecast_energy_today_wh"] is None  # the slots do not cover the day: unknown
    assert live.snapshot(at(20 * 60))["pv"]["forecast_power_w"] == 0.0  # a gap: no PV
    assert live.snapshot(at(3600))["pv"]["forecast_power_w"] is None  # after the last: unknown


def test_a_stale_forecast_says_unknown_never_zero() -> None:
    old = replace(PV, issued=T0 - timedelta(hours=24, seconds=1))
    live = fresh()
    assert live.update(topics.FORECAST, old.to_json().encode(), at(0)) is True
    pv = live.snapshot(at(0))["pv"]
    assert pv["forecast_stale"] is True and pv["forecast_power_w"] is None
    assert old.power_w(at(0)) == 1800.0  # the slot covers now: only its age hides it


def test_a_cleared_retained_forecast_is_forgotten() -> None:
    live = fresh()
    live.update(topics.FORECAST, PV.to_json().encode(), at(0))
    assert live.update(topics.FORECAST, b"", at(1)) is True
    assert live.snapshot(at(1))["pv"]["forecast_issued"] is None


# -- the daemons ------------------------------------------------------------------------------


def test_a_daemons_offline_last_will_shows_it_offline_with_an_alert() -> None:
    live = fresh()
    assert live.snapshot(at(0))["daemons"]["teleinfo"]["state"] == "unknown"
    assert live.update(topics.TELEINFO_STATUS, b"online", at(0)) is True
    assert live.update(topics.REGULATION_STATUS, b"online", at(0)) is True
    assert live.update(topics.TELEINFO_STATUS, b"offline", at(5)) is True
    snap = live.snapshot(at(6))
    assert snap["daemons"]["teleinfo"] == {
        "state": "offline",
        "time": at(5).isoformat(),
        "age_s": 1.0,
    }
    assert snap["daemons"]["regulation"]["state"] == "online"
    assert "teleinfo_offline" in snap["alerts"] and "regulation_offline" not in snap["alerts"]
    live.update(topics.REGULATION_STATUS, b"offline", at(7))
    assert "regulation_offline" in live.snapshot(at(7))["alerts"]
    assert live.update(topics.TELEINFO_STATUS, b"", at(8)) is True  # retained status cleared
    assert live.snapshot(at(8))["daemons"]["teleinfo"]["state"] == "unknown"


# -- malformed messages: counted, logged, nothing lost --------------------------------------


TODAY = TodayTotals(
    day=date(2026, 6, 14),
    imported_wh=800.0,
    exported_wh=2100.0,
    diverted_wh=5200.0,
    import_cost_eur=0.16,
    saved_eur=0.91,
)
TODAY_DOC = today_document(TODAY) or {}


def test_today_s_energy_and_money_are_the_regulation_s_own_counts() -> None:
    live = fresh()
    live.update(topics.DECISION, decision_payload(at(0), today=TODAY), at(0))
    assert live.snapshot(at(12))["today"] == {
        **TODAY_DOC,
        "time": T0.isoformat(),
        "age_s": 12.0,
        "stale": True,
    }


def test_today_is_unknown_until_the_regulation_says_it_never_zero() -> None:
    live = fresh()
    assert live.snapshot(at(0))["today"] is None
    live.update(topics.DECISION, decision_payload(at(0)), at(0))  # today: null
    assert live.snapshot(at(1))["today"] is None


def _database(reachable: bool | None, spool: int = 0, memory: int = 0) -> bytes:
    return state_document(DatabaseState(reachable, spool, memory, 0), T0).encode()


def test_the_database_is_up_when_the_daemons_reach_it() -> None:
    live = fresh()
    assert live.snapshot(at(0))["database"]["state"] == "unknown"
    live.update(topics.TELEINFO_DATABASE, _database(True), at(0))
    live.update(topics.REGULATION_DATABASE, _database(None), at(0))  # nothing written yet
    database = live.snapshot(at(2))["database"]
    assert database["state"] == "up" and database["waiting_points"] == 0
    assert database["by_daemon"]["teleinfo"]["state"] == "up"
    assert database["by_daemon"]["regulation"]["state"] == "unknown"
    assert "database_down" not in live.alerts(at(2))


def test_a_database_down_with_points_waiting_raises_the_alert() -> None:
    live = fresh()
    live.update(topics.TELEINFO_DATABASE, _database(True), at(0))
    assert live.update(topics.REGULATION_DATABASE, _database(False, 340, 12), at(1)) is True
    database = live.snapshot(at(2))["database"]
    assert database["state"] == "down" and database["waiting_points"] == 352
    assert database["by_daemon"]["regulation"] == {
        "state": "down",
        "spool_points": 340,
        "memory_points": 12,
        "dropped_points": 0,
        "time": T0.isoformat(),
        "age_s": 2.0,
    }
    assert "database_down" in live.alerts(at(2))
    # back: the alert goes
    assert live.update(topics.REGULATION_DATABASE, _database(True), at(3)) is True
    assert "database_down" not in live.alerts(at(3))


def test_an_offline_daemons_last_word_on_the_database_is_old_news() -> None:
    live = fresh()
    live.update(topics.TELEINFO_DATABASE, _database(False, 50), at(0))
    live.update(topics.TELEINFO_STATUS, b"offline", at(1))
    assert live.snapshot(at(2))["database"]["state"] == "unknown"
    assert "database_down" not in live.alerts(at(2))


def _loaded() -> Live:
    live = fresh()
    live.update(topics.FRAME, producer_frame(at(0)), at(0))
    live.update(topics.DECISION, decision_payload(at(0), today=TODAY), at(0))
    live.update(topics.FORECAST, PV.to_json().encode(), at(0))
    live.update("scr/heater/temperature", b"53.5", at(0))
    live.update(topics.TELEINFO_STATUS, b"online", at(0))
    live.update(topics.TELEINFO_DATABASE, _database(True), at(0))
    return live


def _status_with(**changes: Any) -> bytes:
    doc = json.loads(decision_payload(at(1)))
    equipment_changes = changes.pop("equipment", {})
    doc.update(changes)
    doc["equipment"][0].update(equipment_changes)
    return json.dumps(doc).encode()


BAD = [
    (topics.FRAME, b"\x00not json"),
    (topics.FRAME, b"[1, 2]"),
    (topics.FRAME, b'{"values": {"SINSTS": "1250"}}'),
    (topics.FRAME, b'{"values": {"SINSTS": 1e9}}'),
    (topics.FRAME, b'{"values": {"SINSTS": NaN}}'),
    (topics.FRAME, b'{"values": {"SINSTS": 10}, "rejected_groups": "2"}'),
    (topics.DECISION, b"{"),
    (topics.DECISION, _status_with(target_w="-20")),
    (topics.DECISION, _status_with(safe=0)),
    (topics.DECISION, _status_with(time="10:00")),
    (topics.DECISION, _status_with(equipment={"power_w": "12"})),
    (topics.DECISION, _status_with(equipment={"mode": "turbo"})),
    (topics.DECISION, _status_with(equipment={"state": "maybe"})),
    (topics.DECISION, _status_with(equipment={"name": None})),
    (topics.DECISION, _status_with(forecast={"issued": "x"})),
    (topics.DECISION, _status_with(today={"day": "2026-06-14", "saved_today_eur": 1})),
    (topics.DECISION, _status_with(today={**TODAY_DOC, "day": "today"})),
    (topics.DECISION, _status_with(today={**TODAY_DOC, "diverted_today_wh": -5})),
    (topics.DECISION, _status_with(today={**TODAY_DOC, "saved_today_eur": "0.9"})),
    (topics.DECISION, _status_with(ejp={"today": None, "tomorrow": "yes"})),
    (topics.DECISION, _status_with(ejp=True)),
    (
        topics.DECISION,
        json.dumps({**json.loads(decision_payload(at(1))), "equipment": "x"}).encode(),
    ),
    (topics.FORECAST, b'{"issued": "2026-06-14T09:00:00+00:00", "slots": 3}'),
    ("scr/heater/temperature", b"-127"),
    ("scr/heater/temperature", b"warm"),
    ("scr/nobody/temperature", b"40.0"),
    (topics.TELEINFO_STATUS, b"maybe"),
    (topics.TELEINFO_DATABASE, b'{"reachable": true}'),
    (topics.REGULATION_DATABASE, b"down"),
]


@pytest.mark.parametrize(("topic", "payload"), BAD, ids=[f"{t}:{p[:30]!r}" for t, p in BAD])
def test_a_malformed_message_is_counted_and_logged_and_changes_nothing(
    topic: str, payload: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    live = _loaded()
    before = live.snapshot(at(1))
    with caplog.at_level(logging.WARNING, logger=live_module.__name__):
        assert live.update(topic, payload, at(1)) is False
    after = live.snapshot(at(1))
    key = topics.SCR_TEMPERATURES if topic.startswith("scr/") else topic
    assert after["rejected"]["by_topic"][key] == 1 and after["rejected"]["total"] == 1
    assert {k: v for k, v in after.items() if k != "rejected"} == {
        k: v for k, v in before.items() if k != "rejected"
    }
    assert any("ignored" in r.getMessage() for r in caplog.records)


def test_a_flood_of_malformed_messages_logs_one_line_and_counts_them_all(
    caplog: pytest.LogCaptureFixture,
) -> None:
    live = fresh()
    with caplog.at_level(logging.WARNING, logger=live_module.__name__):
        for n in range(100):
            live.update(topics.FRAME, b"garbage", at(n * 0.1))
    assert live.snapshot(at(10))["rejected"]["by_topic"][topics.FRAME] == 100
    assert len(caplog.records) == 1


def test_a_probe_of_an_id_no_load_has_is_kept_until_the_loads_are_known() -> None:
    """The status is not retained: a probe may speak before the first decision."""
    live = fresh()
    assert live.update("scr/heater/temperature", b"48.0", at(0)) is True
    live.update(topics.DECISION, decision_payload(at(1)), at(1))
    assert live.snapshot(at(1))["loads"][0]["temperature"]["temperature_c"] == 48.0


def test_a_bug_in_a_handler_is_counted_never_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(doc: object, received: datetime) -> None:
        raise ZeroDivisionError

    monkeypatch.setattr(live_module, "parse_decision", broken)
    live = fresh()
    assert live.update(topics.DECISION, decision_payload(at(0)), at(0)) is False
    assert live.snapshot(at(0))["rejected"]["by_topic"][topics.DECISION] == 1


def test_other_topics_are_ignored() -> None:
    live = fresh()
    assert live.update("tic/SINSTS", b"1250", at(0)) is False
    assert live.update("scr/heater/control", b"ON", at(0)) is False
    assert live.snapshot(at(0))["rejected"]["total"] == 0


# -- the snapshot's shape ------------------------------------------------------------------


def _matches(pattern: str, topic: str) -> bool:
    return re.fullmatch(pattern.replace("+", "[^/]+").replace("#", ".*"), topic) is not None


def test_every_topic_the_page_reads_is_in_its_subscriptions() -> None:
    read = [topics.FRAME, topics.DECISION, topics.FORECAST, "scr/0/temperature"]
    read += [topics.TELEINFO_STATUS, topics.REGULATION_STATUS]
    read += [topics.TELEINFO_DATABASE, topics.REGULATION_DATABASE]
    for topic in read:
        assert any(_matches(p, topic) for p in topics.WEB_SUBSCRIPTIONS), topic


def test_the_snapshot_is_json_and_every_key_is_documented() -> None:
    live = _loaded()
    snap = live.snapshot(at(1))
    json.dumps(snap, allow_nan=False)
    doc = live_module.__doc__ or ""
    keys: set[str] = set(snap)
    for section in ("grid", "tariff", "meter", "regulation", "pv", "today"):
        keys |= set(snap[section])
    keys |= set(snap["loads"][0]) | set(snap["loads"][0]["temperature"])
    keys |= set(snap["daemons"]["teleinfo"]) | set(snap["rejected"])
    keys |= set(snap["database"]) | set(snap["database"]["by_daemon"]["teleinfo"])
    undocumented = {k for k in keys if not re.search(rf"\b{k}\b", doc)}
    assert undocumented == set()


def test_the_forecast_power_at_an_instant() -> None:
    assert PV.power_w(T0) == 1800.0
    assert PV.power_w(T0 + timedelta(minutes=29)) == 0.0
    assert PV.power_w(T0 + timedelta(minutes=30)) == 2100.0
    assert PV.power_w(T0 + timedelta(minutes=45)) is None
    assert PV.power_w(T0 - timedelta(minutes=16)) is None
    assert PvForecast(issued=T0, slots=()).power_w(T0) is None
