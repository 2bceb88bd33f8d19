"""What both daemons wire the same way: the stop signals, Home Assistant discovery, and
the database's state on MQTT."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from types import FrameType
from typing import TYPE_CHECKING

from pvopt import homeassistant
from pvopt.config import Settings
from pvopt.database_state import ReportSchedule, state_document
from pvopt.logthrottle import Throttle

if TYPE_CHECKING:
    from pvopt.io.influx import InfluxWriter
    from pvopt.io.mqtt import MqttClient

#: How often the writer's state is looked at (s); :class:`ReportSchedule` says when it
#: is published.
DATABASE_POLL_S = 1.0

_LOG = logging.getLogger(__name__)


def stop_on_signals(stop: threading.Event) -> None:
    """SIGTERM (systemd) and SIGINT (Ctrl-C) set ``stop``: the main loop ends cleanly.
    Install before anything starts, so a stop is always clean."""

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def announce_discovery(
    mqtt: MqttClient,
    settings: Settings,
    messages: Callable[[str], list[homeassistant.DiscoveryMessage]],
) -> None:
    """With ``HA_DISCOVERY=on``: ``messages(prefix)`` published on every connect and again
    on Home Assistant's birth message."""
    if not settings.ha_discovery:
        return
    prefix = settings.ha_discovery_prefix
    announcements = messages(prefix)
    mqtt.announce(announcements, repeat_on=homeassistant.status_topic(prefix))
    _LOG.info("Home Assistant discovery: %d entities under %s/", len(announcements), prefix)


def report_database(
    writer: InfluxWriter,
    mqtt: MqttClient,
    topic: str,
    stop: threading.Event,
    poll_s: float = DATABASE_POLL_S,
) -> threading.Thread:
    """Publish ``writer``'s state on ``topic`` (retained, :mod:`pvopt.database_state`)
    from a thread of its own until ``stop``: at once when the database goes or comes
    back, else on a change at most every few seconds, and again after each reconnection.
    An error is logged (rate-limited), never raised: the daemon goes on."""
    schedule = ReportSchedule()
    mqtt.on_connected(schedule.forget)
    throttle = Throttle(_LOG)

    def run() -> None:
        while not stop.wait(poll_s):
            try:
                state = writer.state()
                if mqtt.connected and schedule.due(state, time.monotonic()):
                    payload = state_document(state, datetime.now(UTC))
                    mqtt.publish(topic, payload, qos=1, retain=True)
            except Exception:
                throttle.report(
                    topic, "cannot publish the database's state", time.monotonic(), exc_info=True
                )

    thread = threading.Thread(target=run, name="database-state", daemon=True)
    thread.start()
    return thread
