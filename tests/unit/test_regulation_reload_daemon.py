"""``pvopt regulate``'s reload wiring without a broker: the message queues a reload, a valid
file swaps the regulation and says so on ``regulation/config``, an invalid file or a
failure while rebuilding leaves the running one in place (the daemon degrades, never dies)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from daemons import Published, daemon_for

from pvopt import topics
from pvopt.daemons import power_regulation
from pvopt.daemons.power_regulation import RegulationDaemon
from pvopt.equipment.check import check_config_text
from pvopt.regulation.model import MeterSample

ONE = """\
equipment:
  - type: VariablePowerEquipment
    id: boiler
    name: boiler
    max_power: 2000
"""
TWO = (
    ONE
    + """\
  - type: ConstantPowerEquipment
    id: pump
    name: pump
    nominal_power: 500
"""
)


def ask_reload(daemon: RegulationDaemon, payload: bytes = b"config") -> None:
    """``regulation/reload`` as the broker hands it over, then the main loop's turn."""
    daemon.subscriptions()[topics.REGULATION_RELOAD](topics.REGULATION_RELOAD, payload)
    items = []
    while not daemon.events.empty():
        items.append(daemon.events.get_nowait())
    daemon.handle(items, datetime.now(UTC))


def test_a_valid_file_is_taken_and_the_regulation_says_so(tmp_path: Path) -> None:
    out = Published()
    path = tmp_path / "equipment_config.yml"
    daemon = daemon_for(path, ONE, out)
    now = datetime.now(UTC)
    daemon.handle([MeterSample(now, 0, 1000)], now)  # a reading: the reload re-plans on it
    path.write_text(TWO)
    ask_reload(daemon)
    assert [cfg.name for cfg in daemon.site.equipment] == ["boiler", "pump"]
    published = out.last(topics.REGULATION_CONFIG)
    assert published["last_reload"]["result"] == "loaded"
    assert published["version"] == check_config_text(TWO).version
    assert [x["type"] for x in published["loads"]] == [
        "VariablePowerEquipment",
        "ConstantPowerEquipment",
    ]
    # re-planned at once: a status with both loads, without waiting for the next frame
    assert [e["name"] for e in out.last(topics.DECISION)["equipment"]] == ["boiler", "pump"]


def test_an_invalid_file_or_a_failure_keeps_the_running_regulation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    out = Published()
    path = tmp_path / "equipment_config.yml"
    daemon = daemon_for(path, ONE, out)
    running = daemon.regulator
    path.write_text(TWO.replace("nominal_power: 500", "nominal_power: -5"))
    ask_reload(daemon)
    assert daemon.regulator is running
    refused = out.last(topics.REGULATION_CONFIG)
    assert refused["last_reload"]["result"] == "refused"
    assert refused["last_reload"]["errors"][0]["line"] == 9
    assert refused["version"] == check_config_text(ONE).version  # still the old one
    assert "reload refused, still running" in caplog.text

    def broken(*args: object) -> object:
        raise RuntimeError("a bug")

    path.write_text(TWO)
    monkeypatch.setattr(power_regulation, "reload", broken)
    ask_reload(daemon)
    assert daemon.regulator is running
    assert out.last(topics.REGULATION_CONFIG)["last_reload"]["result"] == "refused"

    ask_reload(daemon, b"everything")  # not the documented payload: ignored, logged
    assert "expected the payload 'config'" in caplog.text
