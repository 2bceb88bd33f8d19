"""The PV forecast and the day-ahead EJP signal with the real daemon and a real mosquitto:
a forecast retained on the broker before ``pvopt regulate`` starts is received, kept and
shown in its status; a retained EJP day reaches the regulation and its status; junk is
refused, logged."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pvopt.forecast import PvForecast, Slot

from .conftest import DaemonFactory, Message, Mosquitto, Subscriber, publish_frame

pytestmark = pytest.mark.integration

PARIS = ZoneInfo("Europe/Paris")

CONFIG = """\
equipment:
  - {type: VariablePowerEquipment, id: 0, name: water_heater, max_power: 2400}
"""


def test_a_retained_forecast_is_received_at_start_and_shown_in_the_status(
    tmp_path: Path,
    mosquitto: Mosquitto,
    subscriber_factory: Callable[..., Subscriber],
    teleinfo: DaemonFactory,
) -> None:
    config_path = tmp_path / "equipment_config.yml"
    config_path.write_text(CONFIG)
    issued = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)  # as isoformat shows it
    forecast = PvForecast(
        issued, tuple(Slot(issued + timedelta(hours=n), 3600.0, 250.0) for n in range(72))
    )
    sub = subscriber_factory(["regulation/status"])
    sub.client.publish("regulation/forecast", forecast.to_json(), qos=1, retain=True)

    reg = teleinfo.regulate(config_path)
    reg.wait_log(f"PV forecast issued {issued.isoformat()}: 72 slots")
    sub.client.publish("regulation/forecast", b"junk", qos=1)  # refused, the first kept
    reg.wait_log("ignored: regulation/forecast: not a JSON document")
    publish_frame(sub, 500)

    def shown(m: Message) -> bool:
        return m.topic == "regulation/status" and m.json()["forecast"] is not None

    document = sub.wait_for(shown).json()
    assert document["ejp"] is None  # not an ejp contract
    status = document["forecast"]
    assert status["issued"] == issued.isoformat()
    assert status["slots"] == 72
    assert status["stale"] is False
    assert status["energy_tomorrow_wh"] == 6000.0


EJP_CONFIG = f"""{CONFIG}tariff:
  contract: ejp
  ejp_normal_price_eur_kwh: 0.20
  ejp_pm_price_eur_kwh: 0.90
"""


def test_a_retained_ejp_day_reaches_the_regulation_shows_in_its_status_and_junk_is_refused(
    tmp_path: Path,
    mosquitto: Mosquitto,
    subscriber_factory: Callable[..., Subscriber],
    teleinfo: DaemonFactory,
) -> None:
    config_path = tmp_path / "equipment_config.yml"
    config_path.write_text(EJP_CONFIG)
    tomorrow = (datetime.now(PARIS) + timedelta(days=1)).date().isoformat()
    sub = subscriber_factory(["regulation/status"])
    announced = f'{{"date": "{tomorrow}", "ejp": true}}'.encode()
    sub.client.publish("regulation/ejp", announced, qos=1, retain=True)

    reg = teleinfo.regulate(config_path, TZ="Europe/Paris")
    reg.wait_log(f"EJP day {tomorrow}: mobile peak")  # logged once the regulation has it
    sub.client.publish("regulation/ejp", b'{"date": "2027-01-16", "ejp": "yes"}', qos=1)
    reg.wait_log("ignored: regulation/ejp: ejp must be true or false, got 'yes'")
    publish_frame(sub, 500)

    def shown(m: Message) -> bool:
        return m.topic == "regulation/status" and m.json()["ejp"] is not None

    # near midnight the frame may fall on the announced day itself
    assert sub.wait_for(shown).json()["ejp"] in (
        {"today": None, "tomorrow": True},
        {"today": True, "tomorrow": None},
    )
