"""A month of ``pvopt simulate``: wall time, CPU, and the month's table for the README.

Usage: python benchmarks/bench_month.py [--from YYYY-MM-DD] [--days N] [--contract C]
                                        [--scenario NAME] [--seed N]

Runs ``pvopt simulate --config <template> --days N --from DATE --json`` in a fresh
process, as a user would, on the shipped ``equipment_config.yml.template`` — with its
``tariff:`` contract replaced by ``--contract`` when given (a Tempo month) — under the
``seasonal`` sky by default (each day's sky drawn from its month's clear-sky index), and
prints (``--days 365`` for a year):

- the wall time of the command (issue #14's targets: 30 days of pvopt, the original
  algorithm, none and the optimum in at most 150 s on the 2-core machine, a year in at
  most 30 minutes), the CPU seconds of the runs as the report gives them and the peak
  resident memory of the largest process;
- a Markdown table of the month per controller: net and adjusted cost (€), the saving
  against none, the share of the achievable saving, exported energy split into what a
  load could have taken and what nothing could, hot water drawn below temp_min and run
  time not met (kWh), and the starts of each on/off load.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "equipment_config.yml.template"


def _config(contract: str | None, folder: Path) -> Path:
    if contract is None:
        return TEMPLATE
    text = TEMPLATE.read_text("utf-8")
    path = folder / "equipment_config.yml"
    path.write_text(f"{text.rstrip()}\ntariff:\n  contract: {contract}\n", "utf-8")
    return path


def _table(report: dict[str, Any]) -> str:
    rows = [
        "| controller | net € | adjusted € | saved vs none € | share of achievable | "
        "export a load could take kWh | export nothing could take kWh | hot water < "
        "temp_min kWh | run time not met kWh | starts (on/off loads) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]

    def cell(value: object, fmt: str) -> str:
        return "–" if value is None else fmt.format(value)

    for name, run in report["runs"].items():
        starts = " / ".join(
            str(e["starts"]) for e in run["equipment"] if e.get("starts") is not None
        )
        rows.append(
            f"| {name} | {cell(run['net_eur'], '{:.2f}')} | {cell(run['adjusted_eur'], '{:.2f}')} "
            f"| {cell(run['saved_eur'], '{:.2f}')} | {cell(run['achievable_pct'], '{:.0f} %')} "
            f"| {cell(run['usable_export_kwh'], '{:.1f}')} "
            f"| {cell(run['unusable_export_kwh'], '{:.1f}')} "
            f"| {cell(run['hot_water_shortfall_kwh'], '{:.1f}')} "
            f"| {cell(run['run_shortfall_kwh'], '{:.1f}')} | {starts or '–'} |"
        )
    return "\n".join(rows)


def _peak_rss_mb() -> float:
    """The largest resident set of the processes the command ran (Linux: kB)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main() -> int:
    """Run the month and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="first", default="2026-01-05")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--contract", default=None, help="base, hphc, tempo (default: template)")
    parser.add_argument("--scenario", default="seasonal")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        config = _config(args.contract, Path(folder))
        command = [
            sys.executable,
            "-m",
            "pvopt",
            "simulate",
            "--scenario",
            args.scenario,
            "--config",
            str(config),
            "--from",
            args.first,
            "--days",
            str(args.days),
            "--seed",
            str(args.seed),
            "--json",
        ]
        began = time.monotonic()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        wall_s = time.monotonic() - began
    if done.returncode != 0:
        print(done.stderr, file=sys.stderr)
        return done.returncode
    report = json.loads(done.stdout)
    print(
        f"{args.days} days from {args.first}, scenario {args.scenario}, contract "
        f"{args.contract or 'of the template'}, seed {args.seed}: {wall_s:.0f} s wall "
        f"(targets: 30 days in 150 s, a year in 1800 s), {report['cpu_s']:.0f} s CPU in the "
        f"runs, peak RSS of a run process {_peak_rss_mb():.0f} MB"
    )
    print()
    print(_table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
