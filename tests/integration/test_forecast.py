"""The PV forecast and the day-ahead EJP signal with the real daemon and a real mosquitto:
a forecast retained on the broker before ``pvopt regulate`` starts is received, kept and
shown in its status; a retained EJP day reaches the regulation and its status; junk is
refused, logged."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
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


def retained_then_junk(
    tmp_path: Path,
    subscriber_factory: Callable[..., Subscriber],
    teleinfo: DaemonFactory,
    config: str,
    retained: tuple[str, bytes, str],
    junk: tuple[bytes, str],
    shows: str,
    **env: str,
) -> dict[str, Any]:
    """``retained`` (topic, payload, the log line once the regulation has it) is on the
    broker before ``pvopt regulate`` starts with ``config``; then ``junk`` (payload, the
    log line refusing it) arrives on the same topic. The first regulation/status, after a
    frame, whose ``shows`` field is not null."""
    config_path = tmp_path / "equipment_config.yml"
    config_path.write_text(config)
    topic, payload, heard = retained
    sub = subscriber_factory(["regulation/status"])
    sub.client.publish(topic, payload, qos=1, retain=True)

    reg = teleinfo.regulate(config_path, **env)
    reg.wait_log(heard)
    sub.client.publish(topic, junk[0], qos=1)  # refused, the first kept
    reg.wait_log(junk[1])
    publish_frame(sub, 500)

    def shown(m: Message) -> bool:
        return m.topic == "regulation/status" and m.json()[shows] is not None

    document: dict[str, Any] = sub.wait_for(shown).json()
    return document


def test_a_retained_forecast_is_received_at_start_and_shown_in_the_status(
    tmp_path: Path,
    mosquitto: Mosquitto,
    subscriber_factory: Callable[..., Subscriber],
    teleinfo: DaemonFactory,
) -> None:
    issued = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)  # as isoformat shows it
    forecast = PvForecast(
        issued, tuple(Slot(issued + timedelta(hours=n), 3600.0, 250.0) for n in range(72))
    )
    document = retained_then_junk(
        tmp_path,
        subscriber_factory,
        teleinfo,
        CONFIG,
        (
            "regulation/forecast",
            forecast.to_json().encode(),
            f"PV forecast issued {issued.isoformat()}: 72 slots",
        ),
        (b"junk", "ignored: regulation/forecast: not a JSON document"),
        "forecast",
    )
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
    tomorrow = (datetime.now(PARIS) + timedelta(days=1)).date().isoformat()
    document = retained_then_junk(
        tmp_path,
        subscriber_factory,
        teleinfo,
        EJP_CONFIG,
        (
            "regulation/ejp",
            f'{{"date": "{tomorrow}", "ejp": true}}'.encode(),
            f"EJP day {tomorrow}: mobile peak",  # logged once the regulation has it
        ),
        (
            b'{"date": "2027-01-16", "ejp": "yes"}',
            "ignored: regulation/ejp: ejp must be true or false, got 'yes'",
        ),
        "ejp",
        TZ="Europe/Paris",
    )
    # near midnight the frame may fall on the announced day itself
    assert document["ejp"] in (
        {"today": None, "tomorrow": True},
        {"today": True, "tomorrow": None},
    )
