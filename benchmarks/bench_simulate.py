"""CPU and memory of one simulated day (issue #4: ≤ 3 s of CPU per day at the meter's cadence).

Usage: python benchmarks/bench_simulate.py [--seed N] [--repeat N]

Each built-in scenario runs ``--repeat`` times, with pvopt's regulation core, each time
in a fresh Python process (so that imports, the pvlib clear sky and the recording are
all counted, and the peak RSS is the day's own). Printed per scenario:

- ``day``: CPU seconds of running the day (432,000 house steps of 0.2 s, ~72,000 meter
  frames, each evaluated by the real core, and ~173,000 ticks): the minimum and the
  median over the repeats — CPU time on a shared virtual machine varies by ±25 % from
  one run to the next, the minimum is the least disturbed;
- ``core``: CPU seconds of the regulation core alone on the same day: the day's inputs
  (every frame as received, every tick, every probe reading, at their times) replayed
  into a fresh :class:`Regulator`, with no house around it. The replay must reproduce
  the recorded decisions exactly (their number and every output change), else the
  benchmark fails: it is the same work. ``day − core`` is what the house model costs;
- ``setup``: CPU seconds of the imports and of building the scenario (the pvlib clear
  sky for the day, clouds, base load, draws);
- the peak RSS, the frames and the core's decisions.

The last line gives the CPU of a fixed pure-Python loop (10 million additions to a local
variable, in a function) measured in the same processes: the figures divided by it
compare between machines (this benchmark's figures moved by 2× between two of the
project's machines with the same code). Until 2026-12-03 the loop ran at module level,
where each access is a dictionary lookup: about 2.5× slower, so older ratios are not
comparable.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _inputs(house: Any) -> list[tuple[datetime, int, Any]]:
    """The core's inputs during the house's run, in the order the house gave them
    (at equal times: a frame, then a tick, then a probe reading)."""
    rec = house.recording
    events: list[tuple[float, int, Any]] = [(f.received_at, 0, f.sample) for f in rec.frames]
    tick = house.start + house.tick_s  # accumulated as the house does
    while tick < rec.end:
        events.append((tick, 1, None))
        tick += house.tick_s
    for name, readings in rec.probes.items():
        load_id = rec.config(name).id
        events.extend((at, 2, (load_id, celsius)) for at, celsius in readings)
    events.sort(key=lambda e: (e[0], e[1]))
    return [(datetime.fromtimestamp(at, UTC), kind, arg) for at, kind, arg in events]


def _core_alone(house: Any) -> float:
    """CPU seconds of a fresh regulator fed the house's recorded inputs; checks that it
    decides exactly what the one inside the house decided."""
    from pvopt.regulation.core import Regulator

    inputs = _inputs(house)
    reg = Regulator(house.regulator.site, house.regulator.tz)
    evaluate, tick, set_temperature = reg.evaluate, reg.tick, reg.set_temperature
    decisions = []
    began = time.process_time()
    for now, kind, arg in inputs:
        if kind == 0:
            decisions.append(evaluate(arg, now))
        elif kind == 1:
            decision = tick(now)
            if decision is not None:
                decisions.append(decision)
        else:
            set_temperature(arg[0], arg[1], now)
    spent = time.process_time() - began
    rec = house.recording
    changes: dict[str, list[tuple[float, float, bool, str]]] = {n: [] for n in rec.names}
    for decision in decisions:
        at = decision.time.timestamp()
        for out in decision.outputs:
            seen = changes[out.name]
            entry = (out.power_w, out.on, out.reason)
            if not seen or seen[-1][1:] != entry:
                seen.append((at, *entry))
    if len(decisions) != rec.decisions or any(
        [(round(a, 6), *e) for a, *e in changes[n]]
        != [(round(a, 6), *e) for a, *e in rec.outputs[n]]
        for n in rec.names
    ):
        raise SystemExit("the replayed core decided differently: not the same work")
    return spent


def _reference_loop() -> float:
    """CPU seconds of 10 million additions in a Python loop (the machine's yardstick)."""
    began = time.process_time()
    total = 0
    for i in range(10_000_000):
        total += i
    return time.process_time() - began


def child(name: str, seed: int) -> None:
    """One measurement, in a fresh process: prints a JSON object."""
    began = time.process_time()
    from pvopt.sim import scenarios
    from pvopt.sim.scenario_file import resolve

    house = scenarios.build(resolve(name), seed)
    built = time.process_time()
    house.run()
    ran = time.process_time()
    maxrss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    core = _core_alone(house)
    reference = _reference_loop()
    rec = house.recording
    print(
        json.dumps(
            {
                "setup_s": built - began,
                "day_s": ran - built,
                "core_s": core,
                "reference_s": reference,
                "maxrss_kb": maxrss_kb,
                "frames": len(rec.frames),
                "evaluations": rec.decisions,
                "pv_model": house.pv.model,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", metavar="SCENARIO", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.seed)
        return
    from pvopt.sim.scenarios import SCENARIOS

    worst = worst_core = 0.0
    references: list[float] = []
    for name in SCENARIOS:
        runs = []
        for _ in range(max(args.repeat, 1)):
            out = subprocess.run(
                [sys.executable, __file__, "--child", name, "--seed", str(args.seed)],
                check=True,
                capture_output=True,
                text=True,
                cwd=ROOT,
            ).stdout
            runs.append(json.loads(out))
        days = [r["day_s"] for r in runs]
        cores = [r["core_s"] for r in runs]
        setups = [r["setup_s"] for r in runs]
        references.extend(r["reference_s"] for r in runs)
        last = runs[-1]
        worst = max(worst, min(days))
        worst_core = max(worst_core, min(cores))
        print(
            f"{name:14s} day {min(days):5.2f} s CPU (median {statistics.median(days):5.2f}), "
            f"core alone {min(cores):5.2f} s, setup {min(setups):4.2f} s, "
            f"peak RSS {max(r['maxrss_kb'] for r in runs) / 1024:5.1f} MB, "
            f"{last['frames']} frames, {last['evaluations']} decisions ({last['pv_model']})"
        )
    reference = min(references)
    print(
        f"worst day: {worst:.2f} s CPU (target ≤ 3 s), {worst / reference:.1f}× the reference; "
        f"the core alone: {worst_core:.2f} s, {worst_core / reference:.1f}× the reference"
    )
    print(f"reference: 10 million additions in a Python loop took {reference:.2f} s CPU here")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
