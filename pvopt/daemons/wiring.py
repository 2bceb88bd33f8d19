"""What both daemons wire the same way: the stop signals and Home Assistant discovery."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING

from pvopt import homeassistant
from pvopt.config import Settings

if TYPE_CHECKING:
    from pvopt.io.mqtt import MqttClient

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
