"""``pvopt teleinfo`` end to end: a pty as the meter, a real mosquitto and a real influxd.

Each test starts its own broker / database / daemon (see conftest.py) and pins one
behaviour of docs/design.md §4–5 that only shows with the real programs: what reaches MQTT and
InfluxDB, and how the daemon rides out a broker restart, a database outage (with a
spool it cannot write too), its own restart with points still spooled, a mode search and
a vanished serial port.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from pvopt.tic import Mode as TicMode
from pvopt.tic.encoder import encode_frame, encode_group, historic_frame, linky_standard_frame

from .conftest import (
    Daemon,
    DaemonFactory,
    FrameStreamer,
    Influxd,
    Mosquitto,
    PtyPort,
    Subscriber,
    clean_env,
    missing,
    wait_until,
)

pytestmark = pytest.mark.integration

DATABASE = "teleinfo"
DATE = "E260615123005"
FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "tic"

Streamers = Callable[..., FrameStreamer]


# -- frames ----------------------------------------------------------------------------------


def producer_frame(
    sinsts: int, sinsti: int = 0, erq: tuple[int, int, int, int] = (1, 2, 3, 4)
) -> bytes:
    """A standard-mode producer frame (SINSTS, SINSTI, ERQ1..4 present)."""
    return linky_standard_frame(date=DATE, sinsts_va=sinsts, sinsti_va=sinsti, erq_varh=erq)


def consumer_frame(sinsts: int) -> bytes:
    """A standard-mode consumer frame."""
    return linky_standard_frame(date=DATE, sinsts_va=sinsts)


def tempo_frame(papp: int) -> bytes:
    """A historic-mode single-phase frame."""
    return historic_frame(
        {
            "ADCO": "021728123456",
            "OPTARIF": "BASE",
            "ISOUSC": "30",
            "BASE": "012345678",
            "PTEC": "TH..",
            "IINST": f"{papp // 230:03d}",
            "IMAX": "090",
            "PAPP": f"{papp:05d}",
            "HHPHC": "A",
            "MOTDETAT": "000000",
        }
    )


def corrupt_group(frame: bytes, label: str) -> bytes:
    """``frame`` with the first data byte of ``label``'s group changed: its checksum fails.

    The byte changes by 1 to 9, so the 6-bit checksum sum cannot come out the same.
    """
    start = frame.index(b"\n" + label.encode("ascii") + b"\t")
    pos = start + 1 + len(label) + 1
    damaged = bytearray(frame)
    damaged[pos] = ord("8") if damaged[pos] == ord("9") else ord("9")
    assert damaged != frame
    return bytes(damaged)


# -- helpers ---------------------------------------------------------------------------------


def values_on(sub: Subscriber, topic: str, since: int = 0) -> list[int]:
    """The integer payloads received on ``topic``."""
    return [int(m.payload) for m in sub.on(topic, since)]


def influx_values(influxd: Influxd, field: str = "SINSTS") -> list[int]:
    """Every stored value of ``field`` in the ``teleinfo`` measurement, in time order."""
    result = influxd.query(f'SELECT "{field}" FROM "teleinfo"', DATABASE)
    return [p[field] for p in result.get_points() if p[field] is not None]


def influx_count(influxd: Influxd, field: str = "SINSTS") -> int:
    """``SELECT count(field)`` (0 when the database or measurement does not exist yet)."""
    try:
        result = influxd.query(f'SELECT count("{field}") FROM "teleinfo"', DATABASE)
    except Exception:
        return 0
    points = list(result.get_points())
    return int(points[0]["count"]) if points else 0


def spooled_lines(spool_dir: Path) -> int:
    """Points waiting in the daemon's disk spool."""
    if not spool_dir.is_dir():
        return 0
    return sum(len(f.read_text().splitlines()) for f in spool_dir.glob("*.lp"))


def write_frames(port: PtyPort, frames: list[bytes], interval: float = 0.15) -> None:
    """Write frames one by one, like a meter (each must go through)."""
    for frame in frames:
        assert port.write(frame), "the pty did not take the frame (nobody reading?)"
        time.sleep(interval)


# -- MQTT ------------------------------------------------------------------------------------


def test_the_decoders_counts_reach_tic_stats(
    mosquitto: Mosquitto, subscriber: Subscriber, teleinfo: DaemonFactory, pty_port: PtyPort
) -> None:
    """Pins tic/stats (pvopt.tic.counts): teleinfo says at once that it has counted
    nothing, then every 10 s its counts since the start, including what never reaches
    tic/frame: a frame whose every group fails its checksum is rejected whole."""
    daemon = teleinfo(pty_port.slave_path, "standard")
    daemon.wait_log("opened ")
    first = subscriber.wait_for(lambda m: m.topic == "tic/stats").json()
    assert (first["frames_accepted"], first["frames_rejected"]) == (0, 0)
    assert first["mode"] == "standard"
    good = [producer_frame(1000 + i) for i in range(5)]
    damaged = corrupt_group(producer_frame(2000), "SINSTS")  # accepted, one group bad
    bad = bytearray(encode_group("SINSTS", "03000", TicMode.STANDARD))
    bad[-2] = ord("!") if bad[-2] != ord("!") else ord('"')  # a wrong checksum
    only_bad = encode_frame([bytes(bad), bytes(bad)])  # rejected whole: never on tic/frame
    write_frames(pty_port, [*good, damaged, only_bad])
    stats = subscriber.wait_for(
        lambda m: m.topic == "tic/stats" and m.json()["frames_accepted"] == 6, timeout=15
    ).json()
    assert stats["frames_rejected"] == 1
    assert (stats["groups_rejected"], stats["checksum_errors"]) == (3, 3)
    assert stats["frames_per_minute"] == 6
    assert daemon.stop() == 0


def test_frames_reach_mqtt(
    mosquitto: Mosquitto, subscriber: Subscriber, teleinfo: DaemonFactory, pty_port: PtyPort
) -> None:
    """Pins the MQTT output of live frames: every frame's SINSTS, in order and exact, on
    ``tic/SINSTS``; SINSTI; the derived ``tic/ERQT`` = ERQ1+…+ERQ4; ``tic/frame`` JSON with
    the ``--dump`` shape; no text label published as a number."""
    daemon = teleinfo(pty_port.slave_path, "standard")
    daemon.wait_log("opened ")
    sinsts = [1000 + 137 * i for i in range(8)]
    erqs = [(10 + i, 200, 3000, 40_000 + i) for i in range(8)]
    write_frames(pty_port, [producer_frame(s, 300 + i, erqs[i]) for i, s in enumerate(sinsts)])

    subscriber.wait_for(lambda m: m.topic == "tic/SINSTS" and m.payload == str(sinsts[-1]))
    subscriber.wait_for(
        lambda m: m.topic == "tic/frame" and m.json()["values"]["SINSTS"] == sinsts[-1]
    )
    assert values_on(subscriber, "tic/SINSTS") == sinsts
    assert values_on(subscriber, "tic/SINSTI") == [300 + i for i in range(8)]
    assert values_on(subscriber, "tic/ERQT") == [sum(e) for e in erqs]
    assert values_on(subscriber, "tic/ERQ4") == [e[3] for e in erqs]
    assert values_on(subscriber, "tic/NJOURF_PLUS_1") == [0] * 8
    assert not subscriber.on("tic/ADSC"), "text labels are not published as numbers"
    assert all(not m.retain for m in subscriber.messages if m.topic.startswith("tic/"))

    frames = [m.json() for m in subscriber.on("tic/frame")]
    assert len(frames) == 8
    first = frames[0]
    assert set(first) == {"time", "mode", "values", "horodates", "rejected_groups"}
    assert first["mode"] == "standard"
    assert first["rejected_groups"] == 0
    assert first["values"]["SINSTS"] == sinsts[0]
    assert first["values"]["ADSC"] == "041876097652"
    assert first["values"]["ERQ1"] == 10
    assert first["horodates"]["DATE"] == "2026-06-15T12:30:05+02:00"
    assert [f["values"]["SINSTS"] for f in frames] == sinsts


def test_corrupted_group_is_not_published(
    mosquitto: Mosquitto, subscriber: Subscriber, teleinfo: DaemonFactory, pty_port: PtyPort
) -> None:
    """Pins per-group checksum handling end to end: a frame whose SINSTS group is damaged
    still publishes its other labels (SINSTI, EAST, ``tic/frame`` with rejected_groups 1),
    but nothing on ``tic/SINSTS``; the frames around it are unaffected."""
    daemon = teleinfo(pty_port.slave_path, "standard")
    daemon.wait_log("opened ")
    bad = corrupt_group(producer_frame(2222, sinsti=999), "SINSTS")
    write_frames(pty_port, [producer_frame(1111, 111), bad, producer_frame(3333, 333)])

    subscriber.wait_for(lambda m: m.topic == "tic/SINSTI" and m.payload == "333")
    assert values_on(subscriber, "tic/SINSTS") == [1111, 3333]
    assert values_on(subscriber, "tic/SINSTI") == [111, 999, 333]
    frames = [m.json() for m in subscriber.on("tic/frame")]
    assert [f["rejected_groups"] for f in frames] == [0, 1, 0]
    assert "SINSTS" not in frames[1]["values"]
    assert frames[1]["values"]["SINSTI"] == 999
    assert frames[1]["values"]["EAST"] == 12_345_678
    # Between the 1st and the 2nd tic/frame message only the damaged frame's labels arrive.
    msgs = subscriber.messages
    frame_idx = [i for i, m in enumerate(msgs) if m.topic == "tic/frame"]
    middle = [m.topic for m in msgs[frame_idx[0] + 1 : frame_idx[1]]]
    assert "tic/SINSTI" in middle and "tic/EAST" in middle
    assert "tic/SINSTS" not in middle


def test_status_online_retained_then_offline_after_sigterm(
    mosquitto: Mosquitto,
    subscriber_factory: Callable[..., Subscriber],
    teleinfo: DaemonFactory,
    pty_port: PtyPort,
) -> None:
    """Pins availability: ``pvopt/teleinfo/status`` is a retained ``online`` while the
    daemon runs (a late subscriber gets it) and a retained ``offline`` after SIGTERM,
    which exits 0; a subscriber connected throughout sees exactly online then offline."""
    early = subscriber_factory(["pvopt/#"])
    daemon = teleinfo(pty_port.slave_path, "standard")
    early.wait_for(lambda m: m.topic == "pvopt/teleinfo/status" and m.payload == "online")
    late = subscriber_factory(["pvopt/#"])
    status = late.wait_for(lambda m: m.topic == "pvopt/teleinfo/status")
    assert (status.payload, status.retain) == ("online", True)

    assert daemon.stop() == 0
    after = subscriber_factory(["pvopt/#"])
    status = after.wait_for(lambda m: m.topic == "pvopt/teleinfo/status")
    assert (status.payload, status.retain) == ("offline", True)
    early.wait_for(lambda m: m.topic == "pvopt/teleinfo/status" and m.payload == "offline")
    assert [m.payload for m in early.on("pvopt/teleinfo/status")] == ["online", "offline"]


def test_broker_restart_publishing_resumes(
    mosquitto: Mosquitto,
    subscriber: Subscriber,
    teleinfo: DaemonFactory,
    pty_port: PtyPort,
    streamers: Streamers,
) -> None:
    """Pins MQTT reconnection: the broker is killed mid-stream and restarted on its port
    (persistence off, so it forgets the retained status); without any help the daemon
    reconnects, publishes SINSTS of frames read after the restart and a fresh ``online``."""
    daemon = teleinfo(pty_port.slave_path, "standard")
    daemon.wait_log("opened ")
    stream = streamers(pty_port, lambda i: consumer_frame(2000 + i), 0.15)
    subscriber.wait_for(lambda m: m.topic == "tic/SINSTS")

    mosquitto.stop(kill=True)
    time.sleep(1.5)  # frames keep coming while the broker is down
    mosquitto.start()
    written_at_restart = stream.count
    mark = subscriber.mark()

    subscriber.wait_for(
        lambda m: m.topic == "tic/SINSTS" and int(m.payload) >= 2000 + written_at_restart,
        timeout=20,
        since=mark,
    )
    status = subscriber.wait_for(lambda m: m.topic == "pvopt/teleinfo/status", since=mark)
    assert status.payload == "online"
    assert daemon.running()
    stream.stop()
    assert daemon.stop() == 0


def test_broker_down_at_start(
    mosquitto: Mosquitto, teleinfo: DaemonFactory, pty_port: PtyPort, streamers: Streamers
) -> None:
    """Pins the first connection being retried like the others: the daemon starts while
    the broker is down, reads frames meanwhile, and once the broker comes up it announces
    ``online`` and publishes without a restart."""
    mosquitto.stop()
    daemon = teleinfo(pty_port.slave_path, "standard")
    daemon.wait_log("opened ")
    streamers(pty_port, lambda i: consumer_frame(2500 + i), 0.15)
    time.sleep(1.0)  # some frames are read and dropped (QoS 0) while nobody listens
    mosquitto.start()
    sub = Subscriber(mosquitto.host, mosquitto.port, ["tic/SINSTS", "pvopt/#"])
    try:
        sub.wait_connected()
        status = sub.wait_for(lambda m: m.topic == "pvopt/teleinfo/status", timeout=15)
        assert status.payload == "online"
        sub.wait_for(lambda m: m.topic == "tic/SINSTS", timeout=15)
    finally:
        sub.close()
    assert daemon.stop() == 0


def test_crash_leaves_offline_will(
    mosquitto: Mosquitto,
    subscriber_factory: Callable[..., Subscriber],
    teleinfo: DaemonFactory,
    pty_port: PtyPort,
) -> None:
    """Pins the last will: a daemon killed with SIGKILL (no clean stop) still ends with a
    retained ``offline`` on ``pvopt/teleinfo/status``, sent by the broker."""
    early = subscriber_factory(["pvopt/#"])
    daemon = teleinfo(pty_port.slave_path, "standard")
    early.wait_for(lambda m: m.topic == "pvopt/teleinfo/status" and m.payload == "online")
    daemon.proc.kill()
    daemon.proc.wait(5)
    early.wait_for(lambda m: m.topic == "pvopt/teleinfo/status" and m.payload == "offline")
    after = subscriber_factory(["pvopt/#"])
    status = after.wait_for(lambda m: m.topic == "pvopt/teleinfo/status")
    assert (status.payload, status.retain) == ("offline", True)


# -- InfluxDB --------------------------------------------------------------------------------


def test_database_created_if_missing(
    influxd: Influxd, teleinfo: DaemonFactory, pty_port: PtyPort
) -> None:
    """Pins database set-up: a fresh influxd has no database; after the first frames the
    daemon has created it with the default retention policy ``one_year`` (365 d), and the
    points carry integer fields and the meter tag."""
    names = {r["name"] for r in influxd.query("SHOW DATABASES").get_points()}
    assert DATABASE not in names

    daemon = teleinfo(pty_port.slave_path, "standard")
    daemon.wait_log("opened ")
    write_frames(pty_port, [producer_frame(4100 + i, 50 + i) for i in range(3)])
    wait_until(lambda: influx_count(influxd) == 3, 15, what="3 points in InfluxDB")

    names = {r["name"] for r in influxd.query("SHOW DATABASES").get_points()}
    assert DATABASE in names
    policies = list(influxd.query(f'SHOW RETENTION POLICIES ON "{DATABASE}"').get_points())
    one_year = [p for p in policies if p["name"] == "one_year"]
    assert one_year, policies
    assert one_year[0]["duration"] == "8760h0m0s"
    assert one_year[0]["default"] is True

    fields = {
        p["fieldKey"]: p["fieldType"]
        for p in influxd.query('SHOW FIELD KEYS FROM "teleinfo"', DATABASE).get_points()
    }
    assert fields["SINSTS"] == "integer"
    assert fields["ERQT"] == "integer"
    assert fields["ADSC"] == "string"
    assert fields["rejected_groups"] == "integer"
    tags = list(
        influxd.query('SHOW TAG VALUES FROM "teleinfo" WITH KEY = "meter"', DATABASE).get_points()
    )
    assert [t["value"] for t in tags] == ["041876097652"]
    assert influx_values(influxd) == [4100, 4101, 4102]
    assert influx_values(influxd, "ERQT") == [10] * 3
    assert daemon.stop() == 0


def test_influx_outage_every_point_arrives(
    influxd: Influxd, teleinfo: DaemonFactory, pty_port: PtyPort, streamers: Streamers
) -> None:
    """Pins the spool: influxd is stopped for ~7 s while frames keep coming, then
    restarted; within a retry interval (5 s) the daemon replays, and the database holds
    exactly one point per frame written (count and the set of SINSTS values)."""
    daemon = teleinfo(pty_port.slave_path, "standard")
    daemon.wait_log("opened ")
    stream = streamers(pty_port, lambda i: consumer_frame(3000 + i), 0.2)
    wait_until(lambda: influx_count(influxd) >= 3, 15, what="the first points")

    stored = influx_count(influxd)
    influxd.stop()
    down_at = stream.count
    spool_dir = teleinfo.state_dir / "spool" / "teleinfo"
    wait_until(lambda: spooled_lines(spool_dir) > 0, 10, what="points spooled in the outage")
    wait_until(lambda: stream.count >= down_at + 30, 15, what="frames during the outage")
    influxd.start()
    # The writer retries every 5 s and flushes every second: the replay starts within one
    # retry interval, plus slack for a loaded machine.
    wait_until(lambda: influx_count(influxd) > stored, 5 + 1 + 3, what="the replay")
    up_at = stream.count
    wait_until(lambda: stream.count >= up_at + 5, 5, what="frames after the restart")
    written = stream.stop()
    assert len(written) >= 40

    expected = sorted(3000 + i for i in written)
    wait_until(
        lambda: influx_count(influxd) == len(written),
        20,
        interval=0.25,
        what=f"{len(written)} points after the outage",
    )
    assert sorted(influx_values(influxd)) == expected
    wait_until(lambda: spooled_lines(spool_dir) == 0, 5, what="an empty spool")
    assert daemon.stop() == 0


def test_database_dropped_is_recreated(
    influxd: Influxd, teleinfo: DaemonFactory, pty_port: PtyPort, streamers: Streamers
) -> None:
    """Pins recovery from a dropped database (HTTP 404 on write): the daemon spools, creates
    the database and its retention policy again at the next retry, and every point
    written after the drop arrives."""
    daemon = teleinfo(pty_port.slave_path, "standard")
    daemon.wait_log("opened ")
    stream = streamers(pty_port, lambda i: consumer_frame(9000 + i), 0.2)
    wait_until(lambda: influx_count(influxd) >= 3, 15, what="the first points")

    influxd.query(f'DROP DATABASE "{DATABASE}"')
    dropped_at = stream.count
    wait_until(lambda: influx_count(influxd) >= 10, 20, interval=0.25, what="points again")
    wait_until(lambda: stream.count >= dropped_at + 15, 10, what="more frames")
    written = stream.stop()
    # Points queued before the drop may be lost with it; every later one must be there.
    after_drop = {9000 + i for i in written if i > dropped_at + 1}
    wait_until(
        lambda: after_drop <= set(influx_values(influxd)),
        15,
        interval=0.25,
        what="every point written after the drop",
    )
    policies = influxd.query(f'SHOW RETENTION POLICIES ON "{DATABASE}"').get_points()
    assert any(p["name"] == "one_year" and p["default"] for p in policies)
    assert daemon.stop() == 0


def test_spool_survives_daemon_restart(
    influxd: Influxd, teleinfo: DaemonFactory, pty_factory: Callable[[], PtyPort]
) -> None:
    """Pins the spool across a restart: with influxd down, frames end up in
    ``$PVOPT_STATE_DIR/spool/teleinfo``; SIGTERM keeps them there (exit 0); a new daemon
    with the same state dir sends them once influxd is up."""
    influxd.stop()
    spool_dir = teleinfo.state_dir / "spool" / "teleinfo"
    pty_port = pty_factory()
    first = teleinfo(pty_port.slave_path, "standard")
    first.wait_log("opened ")
    values = [4000 + 7 * i for i in range(10)]
    write_frames(pty_port, [consumer_frame(v) for v in values], 0.1)
    wait_until(lambda: spooled_lines(spool_dir) == 10, 15, what="10 points in the spool")
    assert first.stop() == 0
    assert spooled_lines(spool_dir) == 10

    influxd.start()
    second = teleinfo(pty_factory().slave_path, "standard")
    wait_until(lambda: influx_count(influxd) == 10, 20, interval=0.25, what="the spooled points")
    assert sorted(influx_values(influxd)) == values
    wait_until(lambda: spooled_lines(spool_dir) == 0, 5, what="an empty spool")
    assert second.stop() == 0


# -- serial port -----------------------------------------------------------------------------


def test_auto_mode_finds_historic(
    mosquitto: Mosquitto,
    subscriber: Subscriber,
    teleinfo: DaemonFactory,
    pty_port: PtyPort,
    streamers: Streamers,
) -> None:
    """Pins ``--mode auto``: the daemon listens in standard mode first, finds nothing
    valid within its 4 s window, switches to historic and then publishes ``tic/PAPP``."""
    daemon = teleinfo(pty_port.slave_path, "auto")
    daemon.wait_log("opened ")
    began = time.monotonic()
    streamers(pty_port, lambda i: tempo_frame(500 + i), 0.3)
    message = subscriber.wait_for(lambda m: m.topic == "tic/PAPP", timeout=15)
    # the 4 s standard window, a frame or two in historic mode, slack for a loaded machine
    assert time.monotonic() - began <= 4 + 0.6 + 3
    assert int(message.payload) >= 500
    log = daemon.log
    assert log.index("(standard mode, searching)") < log.index("(historic mode, searching)")
    assert "receiving valid historic-mode frames" in log
    frame = subscriber.wait_for(lambda m: m.topic == "tic/frame").json()
    assert frame["mode"] == "historic"
    assert frame["values"]["ADCO"] == "021728123456"
    assert not subscriber.on("tic/SINSTS")
    assert daemon.stop() == 0


def test_port_vanishes_and_comes_back(
    subscriber: Subscriber,
    teleinfo: DaemonFactory,
    pty_factory: Callable[[], PtyPort],
    streamers: Streamers,
    tmp_path: Path,
) -> None:
    """Pins port loss handling: the daemon reads a symlink (like /dev/serial/by-id/…);
    the device vanishes (symlink removed, pty closed) for 2 s, then a new device appears
    under the same name; the daemon did not exit and publishes the new device's frames."""
    link = tmp_path / "ttyTIC"
    first = pty_factory()
    link.symlink_to(first.slave_path)
    daemon = teleinfo(str(link), "standard")
    daemon.wait_log("opened ")
    stream = streamers(first, lambda i: consumer_frame(5000 + i), 0.15)
    subscriber.wait_for(lambda m: m.topic == "tic/SINSTS")

    stream.stop()
    link.unlink()
    first.close()
    time.sleep(2.0)  # unplugged for a while
    assert daemon.running()

    second = pty_factory()
    link.symlink_to(second.slave_path)
    mark = subscriber.mark()
    streamers(second, lambda i: consumer_frame(6000 + i), 0.15)
    message = subscriber.wait_for(
        lambda m: m.topic == "tic/SINSTS" and int(m.payload) >= 6000, timeout=20, since=mark
    )
    assert message.payload.isdigit()
    assert daemon.running()
    assert daemon.log.count("opened ") >= 2
    assert daemon.stop() == 0


def test_reopen_same_port(
    mosquitto: Mosquitto, subscriber: Subscriber, teleinfo: DaemonFactory, pty_port: PtyPort
) -> None:
    """Pins that a daemon restarted on a device an earlier run configured (systemd
    ``Restart=``, an upgrade) opens it and publishes. Some kernels refuse a repeated 7E1
    set-up of a pty with EINVAL (``termios.error``, pyserial#196), as UARTs without CS7
    do: the daemon falls back to 8N1 with the parity bit masked instead of crashing."""
    first = teleinfo(pty_port.slave_path, "standard")
    first.wait_log("opened ")
    assert first.stop() == 0

    second = teleinfo(pty_port.slave_path, "standard")
    second.wait_log("opened ", timeout=10)
    write_frames(pty_port, [consumer_frame(8000 + i) for i in range(3)])
    subscriber.wait_for(lambda m: m.topic == "tic/SINSTS" and m.payload == "8002")
    assert second.stop() == 0


# -- command line ----------------------------------------------------------------------------


def run_cli(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``python -m pvopt ARGS`` with a clean environment; output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "pvopt", *args],
        env=clean_env(PVOPT_STATE_DIR=str(tmp_path / "state"), PVOPT_LOG_LEVEL="INFO", **env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("name", "lines", "check"),
    [
        ("historic_tempo_10frames.bin", 10, ("PAPP", {2830, 2840})),
        ("standard_consumer_1frame.bin", 1, ("SINSTS", {0})),
        ("standard_producer_midstream.bin", 1, ("SINSTI", {1253})),
    ],
)
def test_replay_dump_fixtures(
    name: str, lines: int, check: tuple[str, set[int]], tmp_path: Path
) -> None:
    """Pins ``--replay FILE --dump --no-mqtt --no-influx`` on the real captures: one JSON
    line per complete frame (partial frames at either end are not frames), exit 0."""
    path = FIXTURES / name
    if not path.is_file():
        missing(f"fixture {path} absent")
    result = run_cli(
        ["teleinfo", "--replay", str(path), "--dump", "--no-mqtt", "--no-influx"], tmp_path
    )
    assert result.returncode == 0, result.stderr
    dumped = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(dumped) == lines
    label, allowed = check
    for frame in dumped:
        assert set(frame) == {"time", "mode", "values", "horodates", "rejected_groups"}
        assert frame["values"][label] in allowed
        assert frame["rejected_groups"] == 0


def test_bad_config_exits_2(tmp_path: Path) -> None:
    """Pins configuration validation: ``MQTT_BROKER_PORT=abc`` exits 2 naming the variable."""
    result = run_cli(["teleinfo", "--port", "/nonexistent"], tmp_path, MQTT_BROKER_PORT="abc")
    assert result.returncode == 2
    assert "MQTT_BROKER_PORT" in result.stderr


def test_missing_replay_file_exits_1(tmp_path: Path) -> None:
    """Pins the runtime-failure exit code: an unreadable capture exits 1 with a message."""
    missing_file = tmp_path / "nope.bin"
    result = run_cli(
        ["teleinfo", "--replay", str(missing_file), "--no-mqtt", "--no-influx"], tmp_path
    )
    assert result.returncode == 1
    assert str(missing_file) in result.stderr


def test_replay_publishes_and_stores(
    mosquitto: Mosquitto,
    subscriber_factory: Callable[..., Subscriber],
    influxd: Influxd,
    teleinfo: DaemonFactory,
    tmp_path: Path,
) -> None:
    """Pins ``--replay`` with both outputs on: 50 generated standard frames are all
    published on ``tic/SINSTS`` and stored as 50 distinct points (frames decoded in the
    same instant get distinct timestamps), and the run exits 0."""
    sub = subscriber_factory(["tic/SINSTS", "pvopt/#"])
    values = [7000 + i for i in range(50)]
    capture = tmp_path / "capture.bin"
    capture.write_bytes(b"".join(producer_frame(v, 10) for v in values))

    daemon = teleinfo(None, "auto", extra=["--replay", str(capture)])
    assert daemon.proc.wait(60) == 0, daemon.log

    sub.wait_for(lambda m: m.topic == "tic/SINSTS" and m.payload == str(values[-1]))
    assert values_on(sub, "tic/SINSTS") == values
    wait_until(lambda: influx_count(influxd) == 50, 10, what="50 points")
    assert sorted(influx_values(influxd)) == values
    sub.wait_for(lambda m: m.topic == "pvopt/teleinfo/status" and m.payload == "offline")
    assert os.listdir(teleinfo.state_dir / "spool" / "teleinfo") == []


# -- read-only spool -------------------------------------------------------------------------


class UnprivilegedDaemon(Daemon):
    """``pvopt teleinfo`` run as a user whom file modes bind (a conftest Daemon otherwise).

    Root ignores file modes, so a test running as root starts the daemon as ``nobody``
    with ``setpriv``, keeping CAP_DAC_READ_SEARCH only: the interpreter may live under
    /root and pytest's folders are 0700, so the daemon reads everything but writes only
    where the modes let ``nobody`` write. The pty is handed to ``nobody``.
    """

    def __init__(self, factory: DaemonFactory, port: PtyPort, log_path: Path) -> None:
        prefix: list[str] = []
        if os.geteuid() == 0:
            setpriv = shutil.which("setpriv") or missing("setpriv not found (util-linux)")
            nobody = pwd.getpwnam("nobody")
            os.chown(port.slave_path, nobody.pw_uid, nobody.pw_gid)
            prefix = [
                str(setpriv),
                f"--reuid={nobody.pw_uid}",
                f"--regid={nobody.pw_gid}",
                "--clear-groups",
                "--inh-caps=+dac_read_search",
                "--ambient-caps=+dac_read_search",
            ]
        self.args = ["teleinfo", "--port", port.slave_path, "--mode", "standard"]
        self.log_path = log_path
        with open(log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [*prefix, sys.executable, "-m", "pvopt", *self.args],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
                env=factory.env(),
            )
        factory.started.append(self)  # stopped at teardown, its log shown on failure


@pytest.mark.parametrize("read_only", ["spool", "state"])
def test_read_only_spool_influx_outage_every_point_arrives(
    read_only: str,
    influxd: Influxd,
    teleinfo: DaemonFactory,
    pty_port: PtyPort,
    streamers: Streamers,
) -> None:
    """Pins the fix of a spool the daemon cannot write (the issue: every point of the
    outage dropped, then 147 of the 149 after InfluxDB's return, two tracebacks a second).
    The daemon runs as a user that cannot write its spool folder (``spool``: chmod 555) or
    create it (``state``: the state folder chmod 555). influxd is stopped for ~8 s while
    frames keep coming, then restarted: the daemon logs a few lines in the outage, no
    traceback, and the database ends with one point per frame written, those of the
    outage (held in memory) and those after InfluxDB's return alike."""
    spool_dir = teleinfo.state_dir / "spool" / "teleinfo"
    if read_only == "spool":
        spool_dir.mkdir(parents=True)
    (spool_dir if read_only == "spool" else teleinfo.state_dir).chmod(0o555)
    daemon = UnprivilegedDaemon(teleinfo, pty_port, teleinfo.tmp_path / "teleinfo-ro.stderr")
    daemon.wait_log("opened ")
    stream = streamers(pty_port, lambda i: consumer_frame(3000 + i), 0.2)
    wait_until(lambda: influx_count(influxd) >= 3, 15, what="the first points")

    logged_before = len(daemon.log.splitlines())
    influxd.stop()
    down_at = stream.count
    daemon.wait_log("holding up to")  # the spool refused the first batch: memory took it
    wait_until(lambda: stream.count >= down_at + 40, 15, what="frames during the outage")
    outage_log = daemon.log.splitlines()[logged_before:]
    influxd.start()
    up_at = stream.count
    wait_until(lambda: stream.count >= up_at + 30, 15, what="frames after the return")
    written = stream.stop()

    # The writer retries every 5 s and flushes every second; slack for a loaded machine.
    wait_until(
        lambda: influx_count(influxd) == len(written),
        5 + 1 + 5,
        interval=0.25,
        what=f"{len(written)} points",
    )
    stored = set(influx_values(influxd))
    assert {3000 + i for i in written if i >= up_at} <= stored  # after the return
    assert sorted(stored) == [3000 + i for i in written]  # the outage's too
    assert spooled_lines(spool_dir) == 0
    assert len(outage_log) <= 4, outage_log  # not two lines a second
    assert "Traceback" not in daemon.log
    assert daemon.stop() == 0
