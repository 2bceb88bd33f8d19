"""The PV forecast with the real daemon and a real mosquitto: a forecast retained on the
broker before ``pvopt regulate`` starts is received, kept and shown in its status."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pvopt.forecast import PvForecast, Slot

from .conftest import DaemonFactory, Message, Mosquitto, Subscriber, publish_frame

pytestmark = pytest.mark.integration

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

    status = sub.wait_for(shown).json()["forecast"]
    assert status["issued"] == issued.isoformat()
    assert status["slots"] == 72
    assert status["stale"] is False
    assert status["energy_tomorrow_wh"] == 6000.0
