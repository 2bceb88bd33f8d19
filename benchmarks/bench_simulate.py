"""CPU and memory of one simulated day (issue #4: ≤ 3 s of CPU per day at the meter's cadence).

Usage: python benchmarks/bench_simulate.py [--seed N]

Each built-in scenario runs once, with pvopt's regulation core, in a fresh Python
process (so that imports, the pvlib clear sky and the recording are all counted, and
the peak RSS is the day's own): the CPU seconds of building and running the house, the
peak RSS, the meter frames and the core's evaluations. The PV model is the one
``pvopt simulate`` uses (pvlib when the ``sim`` extra is installed).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import json, resource, sys, time
began = time.process_time()
from pvopt.sim import scenarios
scenario = scenarios.resolve(sys.argv[1])
house = scenarios.build(scenario, int(sys.argv[2]))
house.run()
cpu = time.process_time() - began
rec = house.recording
print(json.dumps({
    "cpu_s": cpu,
    "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    "frames": len(rec.frames),
    "evaluations": rec.decisions,
    "pv_model": house.pv.model,
}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    from pvopt.sim.scenarios import SCENARIOS

    worst = 0.0
    for name in SCENARIOS:
        out = subprocess.run(
            [sys.executable, "-c", CHILD, name, str(args.seed)],
            check=True,
            capture_output=True,
            text=True,
            cwd=ROOT,
        ).stdout
        day = json.loads(out)
        worst = max(worst, day["cpu_s"])
        print(
            f"{name:14s} {day['cpu_s']:5.2f} s CPU, peak RSS {day['maxrss_kb'] / 1024:5.1f} MB, "
            f"{day['frames']} frames, {day['evaluations']} decisions ({day['pv_model']})"
        )
    print(f"worst day: {worst:.2f} s CPU (target ≤ 3 s)")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
