"""The real chain: pty meter → ``pvopt teleinfo`` → mosquitto → ``pvopt regulate`` → a device.

The "device" is the test's MQTT subscriber on ``scr/<id>/in`` and ``wifi_plug/<id>/in``:
it sees exactly what a dimmer or a plug would receive.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import (
    DaemonFactory,
    FrameStreamer,
    HouseMeter,
    Mosquitto,
    PtyPort,
    Subscriber,
    publish_frame,
    wait_until,
)

pytestmark = pytest.mark.integration

CONFIG = """\
equipment:
  - type: ConstantPowerEquipment
    id: pool
    name: pool_pump
    nominal_power: 800
    min_on: 0
    min_off: 0
  - type: VariablePowerEquipment
    id: 0
    name: water_heater
    max_power: 2400
regulation:
  start_delay: 2
  stop_delay: 2
"""

#: The silent-meter test's stale timeout: the safety with a configured value.
STALE_S = 4.0


def _config(tmp_path: Path, text: str = CONFIG) -> Path:
    path = tmp_path / "equipment_config.yml"
    path.write_text(text)
    return path


def _percent_to_power(percent: float) -> float:
    from pvopt.equipment.dimmer import Curve, power_fraction

    return 2400 * power_fraction(percent / 100, Curve.PHASE_ANGLE)


def _device_loop(sub: Subscriber, meter: HouseMeter, stop_at: float) -> None:
    """Apply the commands the 'devices' received to the simulated meter."""
    seen = 0
    while time.monotonic() < stop_at:
        for m in sub.messages[seen:]:
            if m.topic == "scr/0/in":
                meter.heater_w = _percent_to_power(float(m.payload))
            elif m.topic == "wifi_plug/pool/in":
                meter.pump_w = 800.0 if m.payload == "1" else 0.0
        seen = len(sub.messages)
        time.sleep(0.02)


def test_commands_follow_the_surplus_through_the_real_chain(
    tmp_path: Path,
    mosquitto: Mosquitto,
    subscriber_factory: Callable[..., Subscriber],
    teleinfo: DaemonFactory,
    pty_port: PtyPort,
    streamers: Callable[..., FrameStreamer],
) -> None:
    """Pins the whole loop: with 3000 W of surplus the heater (lower priority) takes it at
    once, the pump (higher priority) starts after its delay and the heater makes room for
    it in the same decision; the grid ends near the target."""
    sub = subscriber_factory(["scr/#", "wifi_plug/#", "regulation/status", "pvopt/#"])
    meter = HouseMeter(3000)
    tele = teleinfo(pty_port.slave_path, "standard")
    reg = teleinfo.regulate(_config(tmp_path))
    reg.wait_log("regulating 2 loads")
    sub.wait_for(lambda m: m.topic == "pvopt/regulation/status" and m.payload == "online")
    streamers(pty_port, meter.frame, interval=0.5)
    _device_loop(sub, meter, time.monotonic() + 12)
    assert meter.pump_w == 800
    assert meter.heater_w == pytest.approx(3000 - 800 - 20, abs=60)
    status = [m.json() for m in sub.on("regulation/status")]
    last = status[-1]
    assert abs(last["grid_power_w"] - last["target_w"]) < 150
    names = [e["name"] for e in last["equipment"]]
    assert names == ["pool_pump", "water_heater"]
    assert all(e["reason"] for e in last["equipment"])
    assert tele.running() and reg.running()


def test_a_silent_meter_sends_every_load_to_zero_within_the_stale_timeout(
    tmp_path: Path,
    mosquitto: Mosquitto,
    subscriber_factory: Callable[..., Subscriber],
    teleinfo: DaemonFactory,
    pty_port: PtyPort,
    streamers: Callable[..., FrameStreamer],
) -> None:
    """Pins the safety: no frame for stale_timeout (4 s here, 10 s by default) → every
    output to 0 at once."""
    sub = subscriber_factory(["scr/#", "wifi_plug/#", "pvopt/#"])
    meter = HouseMeter(1500)
    teleinfo(pty_port.slave_path, "standard")
    reg = teleinfo.regulate(_config(tmp_path, f"{CONFIG}  stale_timeout: {STALE_S:g}\n"))
    reg.wait_log("regulating 2 loads")
    streamer = streamers(pty_port, meter.frame, interval=0.5)
    sub.wait_for(lambda m: m.topic == "scr/0/in" and float(m.payload) > 10, timeout=15)
    mark = sub.mark()
    streamer.stop()  # the meter goes silent; teleinfo stays online
    silent = time.monotonic()
    off = sub.wait_for(
        lambda m: m.topic == "scr/0/in" and float(m.payload) == 0, timeout=15, since=mark
    )
    elapsed = time.monotonic() - silent
    assert off.payload == "0.0"
    # after the stale timeout (the last frame was at most 0.5 s old), not before
    assert STALE_S - 1 <= elapsed <= STALE_S + 1, elapsed
    assert any(m.payload == "0" for m in sub.on("wifi_plug/pool/in", since=mark))
    reg.wait_log("every load off: stale meter data")


def test_teleinfo_killed_every_load_goes_to_zero_at_once(
    tmp_path: Path,
    mosquitto: Mosquitto,
    subscriber_factory: Callable[..., Subscriber],
    teleinfo: DaemonFactory,
    pty_port: PtyPort,
    streamers: Callable[..., FrameStreamer],
) -> None:
    """Pins the last will: teleinfo dying (SIGKILL) sends ``offline`` through the broker,
    and the regulation sheds without waiting for the stale timeout."""
    sub = subscriber_factory(["scr/#", "wifi_plug/#", "pvopt/#"])
    meter = HouseMeter(1500)
    tele = teleinfo(pty_port.slave_path, "standard")
    reg = teleinfo.regulate(_config(tmp_path))
    reg.wait_log("regulating 2 loads")
    streamers(pty_port, meter.frame, interval=0.5)
    sub.wait_for(lambda m: m.topic == "scr/0/in" and float(m.payload) > 10, timeout=15)
    mark = sub.mark()
    tele.proc.kill()
    killed = time.monotonic()
    sub.wait_for(lambda m: m.topic == "scr/0/in" and m.payload == "0.0", timeout=12, since=mark)
    # at once: the broker sends the will when the socket closes, long before the 10 s
    # stale timeout would shed
    assert time.monotonic() - killed <= 3.0
    assert any(m.payload == "0" for m in sub.on("wifi_plug/pool/in", since=mark))
    reg.wait_log("every load off: teleinfo offline")


def test_broker_restart_regulation_resumes_with_its_subscriptions(
    tmp_path: Path,
    mosquitto: Mosquitto,
    subscriber_factory: Callable[..., Subscriber],
    teleinfo: DaemonFactory,
    pty_port: PtyPort,
    streamers: Callable[..., FrameStreamer],
) -> None:
    """Pins re-subscription after a reconnect (the original lost scr/<id>/control)."""
    sub = subscriber_factory(["scr/#", "pvopt/#"])
    meter = HouseMeter(1500)
    teleinfo(pty_port.slave_path, "standard")
    reg = teleinfo.regulate(_config(tmp_path))
    reg.wait_log("regulating 2 loads")
    streamers(pty_port, meter.frame, interval=0.5)
    sub.wait_for(lambda m: m.topic == "scr/0/in" and float(m.payload) > 10, timeout=15)
    mosquitto.stop()
    time.sleep(1.5)
    mosquitto.start()
    sub.wait_connected(timeout=15, connects=2)
    wait_until(lambda: reg.log.count("connected to MQTT broker") >= 2, 20, what="reconnect")
    # Regulation resumes by itself: new commands follow the frames again.
    mark = sub.mark()
    sub.wait_for(lambda m: m.topic == "scr/0/in" and float(m.payload) > 10, 20, since=mark)
    # A control message after the restart still reaches the regulation.
    mark = sub.mark()
    sub.client.publish("scr/0/control", "OFF", qos=1)
    sub.wait_for(lambda m: m.topic == "scr/0/in" and m.payload == "0.0", timeout=10, since=mark)
    reg.wait_log("water_heater: off: manual")


def test_malformed_messages_are_logged_and_ignored(
    tmp_path: Path,
    mosquitto: Mosquitto,
    subscriber_factory: Callable[..., Subscriber],
    teleinfo: DaemonFactory,
) -> None:
    """Pins "degrade, don't die": garbage on every input topic leaves the daemon running,
    with one line per topic filter (a second bad message on ``scr/+/control`` within the
    minute is only counted)."""
    sub = subscriber_factory(["pvopt/#"])
    reg = teleinfo.regulate(_config(tmp_path))
    sub.wait_for(lambda m: m.topic == "pvopt/regulation/status" and m.payload == "online")
    for topic, payload in [
        ("tic/frame", "{not json"),
        ("tic/SINSTS", "12a"),
        ("scr/0/temperature", "-127.00"),
        ("scr/99/control", "ON"),
        ("scr/0/control", "BOOST"),
        ("regulation/control", '{"command": "force"}'),
        ("pvopt/teleinfo/status", "garbage"),
    ]:
        sub.client.publish(topic, payload, qos=1)
    reg.wait_log("ignored", count=6)
    assert "no equipment '99'" in reg.log and "BOOST" not in reg.log
    assert reg.running()
    assert reg.stop() == 0
    sub.wait_for(lambda m: m.topic == "pvopt/regulation/status" and m.payload == "offline")


def test_sigterm_turns_everything_off_then_goes_offline(
    tmp_path: Path,
    mosquitto: Mosquitto,
    subscriber_factory: Callable[..., Subscriber],
    teleinfo: DaemonFactory,
) -> None:
    """Pins the clean stop: 0 to every load, counters saved, status offline."""
    sub = subscriber_factory(["scr/#", "wifi_plug/#", "pvopt/#"])
    reg = teleinfo.regulate(_config(tmp_path))
    sub.wait_for(lambda m: m.topic == "pvopt/regulation/status" and m.payload == "online")
    publish_frame(sub, export_va=2000)
    sub.wait_for(lambda m: m.topic == "scr/0/in" and float(m.payload) > 10)
    mark = sub.mark()
    assert reg.stop() == 0
    sub.wait_for(lambda m: m.topic == "scr/0/in" and m.payload == "0.0", since=mark)
    sub.wait_for(lambda m: m.topic == "wifi_plug/pool/in" and m.payload == "0", since=mark)
    sub.wait_for(
        lambda m: m.topic == "pvopt/regulation/status" and m.payload == "offline", since=mark
    )
    # in that order: the loads are off before the daemon says it is gone
    after = sub.messages[mark:]
    order = [
        next(i for i, m in enumerate(after) if (m.topic, m.payload) == wanted)
        for wanted in (
            ("scr/0/in", "0.0"),
            ("wifi_plug/pool/in", "0"),
            ("pvopt/regulation/status", "offline"),
        )
    ]
    assert order[2] > max(order[:2]), order
    counters = json.loads((teleinfo.state_dir / "regulation_counters.json").read_text())
    assert set(counters) == {"water_heater", "pool_pump"}


def test_dry_run_publishes_nothing_to_equipment(
    tmp_path: Path,
    mosquitto: Mosquitto,
    subscriber_factory: Callable[..., Subscriber],
    teleinfo: DaemonFactory,
) -> None:
    """Pins shadow mode: decisions are computed, logged and in regulation/status only."""
    sub = subscriber_factory(["scr/#", "wifi_plug/#", "regulation/status", "pvopt/#"])
    reg = teleinfo.regulate(_config(tmp_path), extra=["--dry-run"])
    sub.wait_for(lambda m: m.topic == "pvopt/regulation/status" and m.payload == "online")
    publish_frame(sub, export_va=2000)
    status = sub.wait_for(lambda m: m.topic == "regulation/status")
    heater = {e["name"]: e for e in status.json()["equipment"]}["water_heater"]
    assert heater["power_w"] > 0
    reg.wait_log("dry run: would send")
    assert reg.stop() == 0
    assert not [m for m in sub.messages if m.topic.startswith(("scr/", "wifi_plug/"))]


def test_a_bad_configuration_refuses_to_start(tmp_path: Path, teleinfo: DaemonFactory) -> None:
    """Pins exit 2 with file, line and key path."""
    bad = _config(tmp_path, CONFIG.replace("max_power: 2400", "max_power: abc"))
    reg = teleinfo.regulate(bad)
    assert reg.proc.wait(20) == 2
    assert "equipment_config.yml:11: equipment[1].max_power" in reg.log
