"""``pvopt web``: the household's page (docs/design.md §2), and ``--set-password``.

Thin wiring: the pure security and pages from :mod:`pvopt.web`, the aiohttp application
from :mod:`pvopt.io.web_server` (imported only when serving: ``--set-password`` needs no
web framework). The event loop pings the systemd watchdog once a second and looks at the
password file every few seconds (a new password ends every open session).

The live page: an MQTT client (:mod:`pvopt.io.mqtt`, availability ``pvopt/web/status``)
subscribes to :data:`pvopt.topics.WEB_SUBSCRIPTIONS` and hands every message and every
change of the broker's state to the event loop's thread, which owns the live state
(:mod:`pvopt.io.live_feed`). A broker that is away is shown on the page (and retried every
second by the wrapper), never fatal. The same client publishes the loads' controls
(:func:`steering`: the loads of ``$PVOPT_CONFIG``) and the settings view's reload message,
and hands the regulation's retained ``regulation/config`` to the settings view.
The history is read from InfluxDB (``INFLUXDB_*``, as the other daemons) on demand,
in worker threads (:mod:`pvopt.io.influx_reader`); a database that is away answers 503,
never fatal.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import ssl
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from pvopt import topics
from pvopt.config import Settings
from pvopt.io import allocator
from pvopt.io.systemd import Heartbeat, Notifier
from pvopt.web import auth, steer

if TYPE_CHECKING:
    from pvopt.io.live_feed import LiveFeed
    from pvopt.io.mqtt import MqttClient

_LOG = logging.getLogger(__name__)

#: The event loop's tick: watchdog ping, password file check (s).
TICK_S = 1.0
PASSWORD_CHECK_EVERY = 3


@dataclass(frozen=True)
class WebRunOptions:
    """The command line's choices (already merged with the environment's)."""

    host: str
    port: int
    password_file: Path
    cert: Path | None
    key: Path | None
    secure_cookies: bool


def set_password(path: Path, out: TextIO = sys.stdout) -> int:
    """Generate a password, store only its scrypt hash in ``path`` (0600, atomically,
    keeping the owner of the file it replaces), print the password once. Exit code."""
    folder = path.parent
    if not folder.is_dir():
        print(f"pvopt web: {folder} is not a directory: cannot store {path}", file=sys.stderr)
        return 2
    password = auth.generate_password()
    line = auth.hash_password(password) + "\n"
    temporary = folder / f".{path.name}.{os.getpid()}.tmp"
    try:
        owner = path.stat() if path.exists() else None
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, line.encode("ascii"))
            os.fsync(fd)
            if owner is not None and os.geteuid() == 0:
                os.fchown(fd, owner.st_uid, owner.st_gid)  # the service's user reads it
        finally:
            os.close(fd)
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        print(f"pvopt web: cannot write {path}: {exc.strerror}", file=sys.stderr)
        return 2
    print(f"pvopt web password: {password}", file=out)
    print(
        f"(shown once, never stored: only its hash is in {path}; "
        "a running pvopt web takes it at once and ends every open session)",
        file=out,
    )
    return 0


def _check_password_file(path: Path) -> str | None:
    """Why ``pvopt web`` cannot start with ``path``, or None."""
    from pvopt.io.web_server import PasswordFile, PasswordFileError

    try:
        PasswordFile(path).load()
    except PasswordFileError as exc:
        return f"no usable password: {exc}"
    return None


def _start_live(
    settings: Settings,
    loop: asyncio.AbstractEventLoop,
    extra: dict[str, Callable[[str, bytes], None]] | None = None,
) -> tuple[LiveFeed, MqttClient]:
    """The live feed, owned by ``loop``'s thread, and the MQTT client feeding it (started);
    ``extra``: more topics and their handlers (called on the MQTT thread)."""
    from pvopt.io.live_feed import LiveFeed
    from pvopt.io.mqtt import MqttClient, client_id
    from pvopt.web.live import Live

    feed = LiveFeed(Live(started=datetime.now(UTC)))
    feed.bind(loop)
    mqtt = MqttClient(settings.mqtt, client_id("web"), topics.WEB_STATUS)
    for topic in topics.WEB_SUBSCRIPTIONS:
        mqtt.subscribe(topic, feed.post_message)
    for topic, handler in (extra or {}).items():
        mqtt.subscribe(topic, handler)
    mqtt.on_connected(lambda: feed.post_broker(True))
    mqtt.on_disconnected(lambda: feed.post_broker(False))
    mqtt.start()
    return feed, mqtt


def steering(settings: Settings, client: MqttClient) -> steer.Steering:
    """The loads of ``$PVOPT_CONFIG``, steered through ``client`` (the live feed's: one
    client id, one connection). A config that cannot be loaded leaves the page up,
    steering answering 503 with the reason (the config is fixed from the page or a shell,
    not by a crash loop)."""
    from pvopt.equipment.loader import ConfigFileError, load_site_config

    try:
        site = load_site_config(settings.config_path, (settings.hc_start, settings.hc_end))
    except (ConfigFileError, OSError) as exc:
        _LOG.error("steering unavailable: %s", str(exc).splitlines()[0] if str(exc) else exc)
        problem = f"{settings.config_path} cannot be loaded (see pvopt web's log)"
        return steer.Steering(None, client, problem)
    loads = steer.loads_of(site)
    _LOG.info("steering %d load(s) of %s", len(loads), settings.config_path)
    return steer.Steering(loads, client)


def _state_line(server_url: str, mqtt: MqttClient) -> str:
    broker = "MQTT broker connected" if mqtt.connected else "MQTT broker unreachable"
    return f"serving on {server_url}, {broker}"


async def _serve(options: WebRunOptions, settings: Settings, tls: ssl.SSLContext | None) -> int:
    from pvopt.io.influx_reader import InfluxReader
    from pvopt.io.web_server import (
        WebOptions,
        WebServer,
        add_history_routes,
        add_live,
        add_settings_routes,
        add_steer_routes,
        build_app,
    )
    from pvopt.web.settings import SettingsSite

    app = build_app(
        WebOptions(
            password_file=options.password_file,
            secure_cookies=options.secure_cookies,
            tz=settings.tz,
            trusted_proxies=settings.web.trusted_proxies,
        )
    )
    server = WebServer(
        app, options.host, options.port, tls, access_log=settings.log_level == "DEBUG"
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    config = SettingsSite(settings.config_path, (settings.hc_start, settings.hc_end), None)
    feed, mqtt = _start_live(
        settings, loop, {topics.REGULATION_CONFIG: config.on_regulation_config}
    )
    config.publisher = mqtt
    add_live(app, feed)
    add_steer_routes(app, steering(settings, mqtt))
    add_settings_routes(app, config)
    influx = InfluxReader(settings.influx)
    add_history_routes(app, influx.query)
    _LOG.info("history from InfluxDB at %s", influx.where)
    pusher = asyncio.create_task(feed.run(), name="live feed")
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    heartbeat = Heartbeat(Notifier.from_environ())
    try:
        await server.start()
    except OSError as exc:
        _LOG.error("cannot listen on %s: %s", server.url, exc.strerror or exc)
        await _stop_live(feed, mqtt, pusher)
        return 1
    _LOG.info("serving on %s", server.url)
    ticks = 0
    try:
        while not stop.is_set():
            heartbeat.beat(
                True,
                _state_line(server.url, mqtt),
                lambda: f"{len(server.state.sessions)} session(s), {len(feed.streams)} stream(s)",
            )
            ticks += 1
            if ticks % PASSWORD_CHECK_EVERY == 0:
                server.state.check_password_file()
            server.state.log_throttle.flush(loop.time())
            feed.flush_log()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), TICK_S)
    finally:
        heartbeat.stopping("stopping")
        feed.close()  # the open streams end: the server need not wait for them
        await server.stop()
        await _stop_live(feed, mqtt, pusher)
        _LOG.info("stopped")
    return 0


async def _stop_live(feed: LiveFeed, mqtt: MqttClient, pusher: asyncio.Task[None]) -> None:
    feed.close()
    await asyncio.to_thread(mqtt.stop)  # publishes offline, waits up to 2 s for it
    with contextlib.suppress(asyncio.CancelledError):
        await pusher


def run(options: WebRunOptions, settings: Settings) -> int:
    """Serve until SIGTERM/SIGINT. Exit 2 without a password or with a bad certificate."""
    # First: every password check's 16 MiB scrypt buffer must go back when freed.
    tuning = allocator.hold_mmap_threshold()
    _LOG.info("C allocator: %s", tuning.reason)
    problem = _check_password_file(options.password_file)
    if problem is not None:
        print(
            f"pvopt web: {problem}\n"
            "Make one with: pvopt web --set-password (as root on an installed Pi: "
            "sudo /opt/pvopt/venv/bin/pvopt web --set-password)",
            file=sys.stderr,
        )
        return 2
    tls = None
    if options.cert is not None and options.key is not None:
        from pvopt.io.web_server import tls_context

        try:
            tls = tls_context(options.cert, options.key)
        except (OSError, ssl.SSLError) as exc:
            print(f"pvopt web: cannot use {options.cert} / {options.key}: {exc}", file=sys.stderr)
            return 2
    return asyncio.run(_serve(options, settings, tls))
