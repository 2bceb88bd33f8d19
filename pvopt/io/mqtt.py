"""The one MQTT wrapper (paho-mqtt 2, callback API VERSION2).

- The first connection is retried like the others (``connect_async`` then ``loop_start``),
  every ``RECONNECT_S`` (no exponential back-off: a broker restarted on the Pi is back in
  seconds, and the regulation must follow within 2 s; an attempt on a closed port costs
  nothing).
- Availability: a retained ``online`` on every connect, a retained ``offline`` last will,
  and an explicit ``offline`` on a clean stop (a will is not sent on a clean disconnect).
- Subscriptions are (re)made in ``on_connect``: a clean session loses them on reconnect.
- Announcements (Home Assistant discovery configs) are published after ``online`` on every
  connect, and again when ``online`` arrives on their repeat topic (HA's birth message).
- Every callback body is guarded: an exception in a paho callback would otherwise kill the
  network thread silently. A handler's errors are logged rate-limited (the first with its
  traceback), so a flood of one bad message does not flood the journal.
- ``on_connected`` callbacks run on every (re)connection, before the subscriptions;
  ``on_disconnected`` ones on every lost connection and failed attempt (not on ``stop``).
- Publishing never blocks the caller; QoS 0 messages published while the broker is away
  are dropped (telemetry), QoS 1 ones are queued by paho up to a bound.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from pvopt.config import MqttSettings
from pvopt.logthrottle import Throttle

_LOG = logging.getLogger(__name__)

#: Seconds between two connection attempts while the broker is away.
RECONNECT_S = 1

MessageHandler = Callable[[str, bytes], None]


def client_id(daemon: str) -> str:
    """A client id unique per daemon and host (two equal ids kick each other off)."""
    return f"pvopt-{daemon}-{socket.gethostname()}"


class MqttClient:
    """A connected-in-the-background MQTT client with an availability topic."""

    def __init__(
        self,
        settings: MqttSettings,
        client_id: str,
        status_topic: str,
        *,
        max_queued: int = 1000,
    ) -> None:
        self._settings = settings
        self._status_topic = status_topic
        self._handlers: dict[str, MessageHandler] = {}
        self._connect_listeners: list[Callable[[], None]] = []
        self._disconnect_listeners: list[Callable[[], None]] = []
        self._errors = Throttle(_LOG, logging.ERROR)
        self._announcements: list[tuple[str, str, bool]] = []
        self._connected = threading.Event()
        self._state: str | None = None  # for one log line per state change
        self._stopping = False
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        if settings.username:
            self._client.username_pw_set(settings.username, settings.password)
        if settings.tls:
            self._client.tls_set(
                ca_certs=str(settings.ca_file) if settings.ca_file else None,
                tls_version=ssl.PROTOCOL_TLS_CLIENT,
            )
        self._client.will_set(status_topic, "offline", qos=1, retain=True)
        self._client.reconnect_delay_set(RECONNECT_S, RECONNECT_S)
        self._client.max_queued_messages_set(max_queued)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_connect_fail = self._on_connect_fail
        self._client.on_message = self._on_message

    @property
    def connected(self) -> bool:
        """True while the broker has accepted the connection."""
        return self._connected.is_set()

    def wait_connected(self, timeout_s: float) -> bool:
        """Block until connected or ``timeout_s`` elapsed; returns whether connected."""
        return self._connected.wait(timeout_s)

    def subscribe(self, topic: str, handler: MessageHandler) -> None:
        """Call ``handler(topic, payload)`` for messages on ``topic`` (wildcards allowed).

        Call before ``start()``; the subscription is renewed on every reconnect.
        """
        self._handlers[topic] = handler

    def on_connected(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` (network thread) on every connection, before subscribing."""
        self._connect_listeners.append(callback)

    def on_disconnected(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` (network thread) when the connection is lost and on every
        failed attempt while the broker is away (not on :meth:`stop`)."""
        self._disconnect_listeners.append(callback)

    def _tell_disconnected(self) -> None:
        for listener in self._disconnect_listeners:
            listener()

    def announce(
        self, messages: Sequence[tuple[str, str, bool]], repeat_on: str | None = None
    ) -> None:
        """Publish ``messages`` (topic, payload, retain) at QoS 1 on every connect, after
        ``online``, and again each time ``online`` arrives on ``repeat_on``.

        Call before ``start()``.
        """
        self._announcements = [(topic, payload, retain) for topic, payload, retain in messages]
        if repeat_on is not None:
            self._handlers[repeat_on] = self._on_repeat

    def _send_announcements(self, client: mqtt.Client) -> None:
        for topic, payload, retain in self._announcements:
            client.publish(topic, payload, qos=1, retain=retain)
        if self._announcements:
            _LOG.debug("published %d announcements", len(self._announcements))

    def _on_repeat(self, topic: str, payload: bytes) -> None:
        if payload.strip() == b"online":
            self._send_announcements(self._client)

    def start(self) -> None:
        """Connect in the background; returns at once."""
        self._client.connect_async(
            self._settings.host, self._settings.port, keepalive=self._settings.keepalive_s
        )
        self._client.loop_start()

    def publish(self, topic: str, payload: str | bytes, qos: int = 0, retain: bool = False) -> bool:
        """Send a message; False when it could not be handed to a connected client."""
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        return info.rc == mqtt.MQTT_ERR_SUCCESS

    def stop(self) -> None:
        """Publish ``offline``, disconnect cleanly and stop the network thread."""
        self._stopping = True
        if self.connected:
            info = self._client.publish(self._status_topic, "offline", qos=1, retain=True)
            # Lost the connection meanwhile? Then the broker sends the will instead.
            with contextlib.suppress(RuntimeError, ValueError):
                info.wait_for_publish(timeout=2.0)
        self._client.disconnect()
        self._client.loop_stop()

    # -- paho callbacks (network thread) ------------------------------------------------

    def _log_state(self, state: str, level: int, message: str, *args: object) -> None:
        if state != self._state:
            self._state = state
            _LOG.log(level, message, *args)

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Any,
    ) -> None:
        try:
            if reason_code.is_failure:
                self._log_state(
                    "refused",
                    logging.ERROR,
                    "MQTT broker %s:%d refused the connection: %s",
                    self._settings.host,
                    self._settings.port,
                    reason_code,
                )
                return
            sock = client.socket()
            if isinstance(sock, socket.socket):
                # Small messages must not wait for the broker's delayed ACK (Nagle): a
                # command would otherwise leave up to 40 ms late.
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            client.publish(self._status_topic, "online", qos=1, retain=True)
            self._send_announcements(client)
            for listener in self._connect_listeners:
                listener()
            for topic in self._handlers:
                client.subscribe(topic, qos=1)
            self._connected.set()
            self._log_state(
                "connected",
                logging.INFO,
                "connected to MQTT broker %s:%d",
                self._settings.host,
                self._settings.port,
            )
        except Exception:
            _LOG.exception("error in MQTT on_connect")

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Any,
    ) -> None:
        try:
            self._connected.clear()
            if self._stopping:
                _LOG.info("disconnected from MQTT broker")
                return
            self._log_state(
                "lost",
                logging.WARNING,
                "MQTT broker connection lost (%s); reconnecting",
                reason_code,
            )
            self._tell_disconnected()
        except Exception:
            _LOG.exception("error in MQTT on_disconnect")

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        try:
            self._connected.clear()
            self._log_state(
                "unreachable",
                logging.WARNING,
                "MQTT broker %s:%d unreachable; retrying",
                self._settings.host,
                self._settings.port,
            )
            self._tell_disconnected()
        except Exception:
            _LOG.exception("error in MQTT on_connect_fail")

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        for pattern, handler in self._handlers.items():
            try:
                if mqtt.topic_matches_sub(pattern, msg.topic):
                    handler(msg.topic, bytes(msg.payload))
            except Exception:
                self._errors.report(
                    pattern,
                    f"error handling MQTT message on {msg.topic}",
                    time.monotonic(),
                    exc_info=True,
                )
