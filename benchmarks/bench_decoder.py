"""Decoder throughput and daemon replay cost on a large synthetic standard-mode capture.

Usage: python benchmarks/bench_decoder.py [--frames N]

Prints frames/s of the pure decoder (one core), then runs
``pvopt teleinfo --replay FILE --mode standard --no-mqtt --no-influx`` in a child
process and prints its CPU seconds and peak RSS. Targets (issue #2): ≥ 20,000
standard frames/s, peak RSS ≤ 40 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pvopt.tic import FrameDecoder, Mode
from pvopt.tic.encoder import linky_standard_frame


def synthetic_capture(frames: int) -> bytes:
    """A producer meter's day-like stream: power, indexes and DATE change every frame."""
    start = datetime(2026, 6, 14, 6, 0, 0)
    out = bytearray()
    east, eait = 12_345_678, 2_345_678
    for i in range(frames):
        t = start + timedelta(seconds=i)
        sinsts = (i * 37) % 3000 if (i // 600) % 2 == 0 else 0
        sinsti = 0 if sinsts else (i * 53) % 2800
        east += sinsts // 3600
        eait += sinsti // 3600
        date = "E" + t.strftime("%y%m%d%H%M%S")
        out += linky_standard_frame(
            date=date,
            sinsts_va=sinsts,
            sinsti_va=sinsti,
            east_wh=east,
            eait_wh=eait,
            erq_varh=(100 + i // 50, 200, 300 + i // 70, 400),
        )
    return bytes(out)


class _NoMemo(dict):  # type: ignore[type-arg]
    """A memo that never remembers: every group is verified and parsed from scratch."""

    def __setitem__(self, key: object, value: object) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=50_000)
    args = parser.parse_args()

    capture = synthetic_capture(args.frames)
    print(
        f"capture: {args.frames} standard frames, {len(capture) / 1e6:.1f} MB "
        f"({len(capture) / args.frames:.0f} bytes/frame)"
    )

    now = datetime.now(UTC)
    for label, memo in (("decoder", True), ("decoder, group memo disabled (worst case)", False)):
        best = 0.0
        for _ in range(3):
            decoder = FrameDecoder(Mode.STANDARD)
            if not memo:
                decoder._memo = _NoMemo()  # noqa: SLF001 - measures the decoder without it
            t0 = time.process_time()
            decoded = 0
            for pos in range(0, len(capture), 4096):  # 4 KiB reads, as from a port
                decoded += len(decoder.feed(capture[pos : pos + 4096], now))
            cpu = time.process_time() - t0
            assert decoded == args.frames, decoded
            best = max(best, decoded / cpu)
        print(f"{label}: {best:,.0f} frames/s on one core (best of 3; target >= 20,000)")

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "capture.bin"
        path.write_bytes(capture)
        cmd = [
            sys.executable,
            "-m",
            "pvopt",
            "teleinfo",
            "--replay",
            str(path),
            "--mode",
            "standard",
            "--no-mqtt",
            "--no-influx",
        ]
        env = {**os.environ, "PVOPT_STATE_DIR": tmp}
        # Linux carries the spawning process's peak RSS into the child's ru_maxrss at
        # exec, and this process holds the whole capture: spawn through a tiny launcher.
        launcher = (
            "import os, sys, json; pid = os.posix_spawn(sys.argv[1], sys.argv[1:], os.environ,"
            " file_actions=[(os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0)]);"
            " _, st, ru = os.wait4(pid, 0);"
            " print(json.dumps([os.waitstatus_to_exitcode(st), ru.ru_utime + ru.ru_stime,"
            " ru.ru_maxrss]))"
        )
        t0 = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", launcher, *cmd],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        wall = time.perf_counter() - t0
        status, cpu, maxrss_kb = json.loads(out)
    if status != 0:
        raise SystemExit(f"replay failed with exit code {status}")
    print(
        f"pvopt teleinfo --replay: {cpu:.2f} s CPU, {wall:.2f} s wall, "
        f"{args.frames / cpu:,.0f} frames/s, peak RSS {maxrss_kb / 1024:.1f} MB "
        "(target <= 40 MB)"
    )


if __name__ == "__main__":
    main()
