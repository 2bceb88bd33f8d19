"""The regulation daemon without a broker, for unit tests: a stand-in for the MQTT client
and a daemon built from a configuration text (plumbing only)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from pvopt.config import Settings
from pvopt.daemons.power_regulation import RegulationDaemon
from pvopt.equipment.check import check_config_text
from pvopt.regulation.reload import ConfigState


class Published:
    """What the daemon publishes (a stand-in for the MQTT client)."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, str, bool]] = []
        self.connected = True

    def publish(self, topic: str, payload: str, qos: int = 0, retain: bool = False) -> bool:
        self.messages.append((topic, payload, retain))
        return True

    def last(self, topic: str) -> Any:
        return json.loads([p for t, p, _ in self.messages if t == topic][-1])


def daemon_for(path: Path, text: str, out: Published) -> RegulationDaemon:
    """``pvopt regulate`` started on ``text``, written to ``path`` (its state beside it)."""
    path.write_text(text)
    checked = check_config_text(text, str(path))
    assert checked.site is not None
    now = datetime.now(UTC)
    config = ConfigState(
        path=str(path),
        version=checked.version,
        loaded_at=now,
        site=checked.site,
        result="started",
        attempted_at=now,
        attempted_version=checked.version,
    )
    settings = Settings(state_dir=path.parent)
    return RegulationDaemon(checked.site, settings, cast(Any, out), None, False, config)
