"""Latency of the real chain: a frame written to the pty → the dimmer command on MQTT.

Usage: python benchmarks/bench_latency.py [--frames N]

Starts a private mosquitto, ``pvopt teleinfo`` on a pseudo-terminal and
``pvopt regulate`` with one dimmer (settle time and dead band 0, so every frame
moves the command), then writes frames whose surplus alternates and times, for each
one, the first ``scr/0/in`` message that follows it. Prints p50 / p99 / max
(target: p99 ≤ 50 ms), once with mosquitto's defaults and once with
``set_tcp_nodelay true``: without it the broker's Nagle algorithm holds a small
command behind the subscriber's delayed ACK (~40 ms). Uses the integration tests'
server and pty helpers.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pvopt.equipment.dimmer import Curve, power_fraction
from pvopt.tic.encoder import linky_standard_frame
from tests.integration.conftest import (
    Mosquitto,
    PtyPort,
    clean_env,
    find_binary,
)

CONFIG = """\
equipment:
  - {type: VariablePowerEquipment, id: 0, name: heater, max_power: 3000}
regulation: {settle_time: 0, dead_band: 0, gain: 1.0}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200)
    args = parser.parse_args()
    for nodelay in (False, True):
        measure(args.frames, nodelay)


def measure(frames: int, nodelay: bool) -> None:
    """One run of the chain; ``nodelay`` sets mosquitto's ``set_tcp_nodelay true``."""
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        (tmp / "mosquitto").mkdir()
        broker = Mosquitto(find_binary("mosquitto"), tmp / "mosquitto")
        broker.prepare()
        if nodelay:
            broker.config.write_text(broker.config.read_text() + "set_tcp_nodelay true\n")
        broker.start()
        config = tmp / "equipment_config.yml"
        config.write_text(CONFIG)
        port = PtyPort()
        env = clean_env(
            MQTT_BROKER_HOST=broker.host,
            MQTT_BROKER_PORT=str(broker.port),
            INFLUXDB_HOST="127.0.0.1",
            INFLUXDB_PORT="1",
            PVOPT_STATE_DIR=str(tmp / "state"),
            PVOPT_LOG_LEVEL="WARNING",
        )
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "pvopt",
                    "teleinfo",
                    "--port",
                    port.slave_path,
                    "--mode",
                    "standard",
                    "--no-influx",
                ],
                env=env,
                stderr=subprocess.DEVNULL,
            ),
            subprocess.Popen(
                [sys.executable, "-m", "pvopt", "regulate", "--config", str(config)],
                env=env,
                stderr=subprocess.DEVNULL,
            ),
        ]
        received: list[float] = []
        heater_w = [0.0]  # what the dimmer draws: the meter shows it (a closed loop)
        cond = threading.Condition()

        def on_message(client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
            now = time.perf_counter()
            with cond:
                received.append(now)
                heater_w[0] = 3000 * power_fraction(float(msg.payload) / 100, Curve.PHASE_ANGLE)
                cond.notify_all()

        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="pvopt-bench")
        client.on_message = on_message
        client.connect(broker.host, broker.port)
        client.subscribe("scr/0/in", qos=1)
        client.loop_start()
        latencies: list[float] = []
        try:
            time.sleep(2.0)  # both daemons connected and subscribed
            for i in range(frames + 5):
                surplus = 1000 if i % 2 else 2000
                grid = heater_w[0] - surplus
                frame = linky_standard_frame(
                    date=f"E2606151230{i % 60:02d}",
                    sinsts_va=max(int(grid), 0),
                    sinsti_va=max(int(-grid), 0),
                )
                with cond:
                    before = len(received)
                # The frame is complete when its ETX is written: time from the last byte.
                port.write(frame[:-1])
                time.sleep(0.01)
                t0 = time.perf_counter()
                port.write(frame[-1:])
                with cond:
                    got = cond.wait_for(lambda n=before: len(received) > n, timeout=2.0)
                    if got and i >= 5:  # the first frames warm the chain up
                        latencies.append(received[before] - t0)
                time.sleep(0.05)
        finally:
            client.loop_stop()
            for proc in procs:
                proc.terminate()
                proc.wait(20)
            port.close()
            broker.stop()
    if not latencies:
        raise SystemExit("no command was received: is the chain working?")
    latencies.sort()
    ms = [x * 1000 for x in latencies]
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    setting = "set_tcp_nodelay true" if nodelay else "mosquitto defaults"
    print(
        f"{setting}: {len(ms)} frames: frame → command latency p50 {statistics.median(ms):.1f} ms, "
        f"p99 {p99:.1f} ms, max {ms[-1]:.1f} ms (target p99 <= 50 ms)"
    )
    if len(ms) < frames * 0.95:
        print(f"warning: only {len(ms)} of {frames} frames produced a command")


if __name__ == "__main__":
    main()
