"""How fast can *any* controller bring a 2 kW step back within ±50 W with this meter?

Usage: python benchmarks/bench_step_bound.py [--trials N] [--seed S]

The ``≤ 3 frames`` target of issue #3 (``research/peers.md`` §14) meets the meter of
``pvopt.sim.meter``: a frame every 1.2 ± 0.15 s, each the mean of the last second,
received ``U(0, 1.2)`` s after it was measured, commands acting 0.2–0.4 s after they are
sent. A step at a random phase; after every frame an ideal dead-beat controller
(gain 1, no dead band, no noise) corrects the whole disturbance it infers, counting the
part of its past commands that the frame's window already shows:

- ``oracle`` knows when each frame was measured and when each command took effect —
  information no real controller has — so the frame after the first one tells it the
  exact step;
- ``assumed`` knows only reception times and assumes a mid delay (what a Smith
  predictor can do).

Prints, per controller, how many frames measured after the step were outside ±50 W
(the KPI of ``pvopt.sim.kpi.step_response``): even the oracle needs 4 frames on some
phases (a correction sent late in a frame period is not complete in the 4th frame's
window), and a timing error of 25 ms on a 2 kW correction is already 50 W.
Uses the simulator's meter, not a copy of it.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pvopt.sim.meter import LinkyMeter

STEP_W = 2000.0
BAND_W = 50.0
DT_S = 0.05  # integration step of the grid power
HORIZON_S = 20.0
ACTUATION_S = (0.2, 0.4)


def trial(rng: random.Random, oracle: bool) -> tuple[int, float]:
    """One step at t = 0: (frames out of the band, Wh imported over the horizon)."""
    meter = LinkyMeter(rng, start=-30.0)
    commands: list[tuple[float, float, float]] = []  # effective at, W, sent at
    k = round(-30.0 / DT_S)
    t = k * DT_S
    frames_out: list[bool] = []
    import_wh = 0.0
    while t < HORIZON_S:
        disturbance = STEP_W if t >= 0 else 0.0
        grid = disturbance - sum(w for at, w, _ in commands if at <= t + 1e-9)
        if t >= 0:
            import_wh += max(grid, 0.0) * DT_S / 3600
        meter.integrate(t, DT_S, grid)
        for frame in meter.received(t + DT_S):
            if frame.measured_at > 0:
                frames_out.append(abs(frame.grid_w) > BAND_W)
            if oracle:
                visible = sum(
                    w * min(max(frame.measured_at - at, 0.0), 1.0) for at, w, _ in commands
                )
            else:
                measured = frame.received_at - meter.max_delay_s / 2
                effect = sum(ACTUATION_S) / 2
                visible = sum(
                    w * min(max(measured - sent - effect, 0.0), 1.0) for _, w, sent in commands
                )
            correction = frame.grid_w + visible - sum(w for _, w, _ in commands)
            if abs(correction) >= 1.0:
                # takes effect at the first integration step after its actuation delay
                acts = math.ceil((frame.received_at + rng.uniform(*ACTUATION_S)) / DT_S) * DT_S
                commands.append((acts, correction, frame.received_at))
        k += 1
        t = k * DT_S
    out = len(frames_out)
    while out and not frames_out[out - 1]:
        out -= 1
    return out, import_wh


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=400)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    for name, oracle in (("oracle", True), ("assumed", False)):
        rng = random.Random(args.seed)
        results = [trial(rng, oracle) for _ in range(args.trials)]
        counts = Counter(out for out, _ in results)
        within = sum(n for frames, n in counts.items() if frames <= 3) / args.trials
        imports = sorted(wh for _, wh in results)
        print(
            f"{name:8s} frames out of ±{BAND_W:.0f} W: "
            + ", ".join(f"{k}: {counts[k]}" for k in sorted(counts))
            + f"  | ≤ 3 frames on {within:.1%} of steps, all of 15 steps "
            f"{within**15:.0%} of the time | import p50 {imports[len(imports) // 2]:.2f} Wh"
            f" max {imports[-1]:.2f} Wh"
        )


if __name__ == "__main__":
    main()
