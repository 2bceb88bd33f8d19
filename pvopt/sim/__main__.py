"""``python -m pvopt.sim [SCENARIO…] [--seed N] [--from H] [--to H] [--plain]``: run reference
days through the real regulation core and print their KPIs (no I/O beyond stdout)."""

from __future__ import annotations

import argparse
import time

from pvopt.sim import kpi, scenarios, vectors


def main(argv: list[str] | None = None) -> int:
    """Print the KPI report of each scenario asked for (all by default)."""
    parser = argparse.ArgumentParser(prog="python -m pvopt.sim", description=__doc__)
    parser.add_argument("scenario", nargs="*", help=", ".join(scenarios.SCENARIOS))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--from", dest="start", type=float, default=0.0, help="local hour")
    parser.add_argument("--to", dest="end", type=float, default=24.0, help="local hour")
    parser.add_argument(
        "--plain", action="store_true", help="water heater without probe (VariablePower)"
    )
    args = parser.parse_args(argv)
    unknown = [s for s in args.scenario if s not in scenarios.SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario {', '.join(unknown)}")
    if not vectors.available():  # the KPIs are computed with it
        parser.error("numpy is missing: pip install 'pvopt[sim]'")
    site = scenarios.reference_site(temp_driven=not args.plain)
    for name in args.scenario or list(scenarios.SCENARIOS):
        began = time.process_time()
        house = scenarios.run(name, args.seed, start_hour=args.start, end_hour=args.end, site=site)
        cpu = time.process_time() - began
        print(f"== {name} (seed {args.seed}, {cpu:.1f} s CPU)")
        print(kpi.compute(house).summary())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
