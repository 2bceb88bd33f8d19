"""The ``pvopt`` command line (docs/design.md §2).

Exit codes: 0 ok, 1 runtime failure, 2 usage/config.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TypeVar

from pvopt import __version__
from pvopt.config import TELEINFO_MODES, ConfigError, Settings, load_settings
from pvopt.logsetup import setup_logging

T = TypeVar("T")
R = TypeVar("R")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pvopt", description="Photovoltaic surplus router for Linky meters."
    )
    parser.add_argument("--version", action="version", version=f"pvopt {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    tele = commands.add_parser(
        "teleinfo",
        help="read the Linky TIC and publish it to MQTT and InfluxDB",
        description="Read Linky TIC frames from the serial port (or a capture file with "
        "--replay) and publish them to MQTT and InfluxDB.",
    )
    tele.add_argument("--port", help="serial device (default: $TELEINFO_PORT or /dev/ttyAMA0)")
    tele.add_argument(
        "--mode",
        choices=TELEINFO_MODES,
        help="TIC mode: standard (9600 bd), historic (1200 bd) or auto "
        "(default: $TELEINFO_MODE or auto)",
    )
    tele.add_argument(
        "--replay",
        type=Path,
        metavar="FILE",
        help="decode a raw capture of the port at full speed instead of the port",
    )
    tele.add_argument(
        "--dump", action="store_true", help="print one JSON object per decoded frame on stdout"
    )
    tele.add_argument("--no-mqtt", action="store_true", help="do not publish to MQTT")
    tele.add_argument("--no-influx", action="store_true", help="do not write to InfluxDB")

    check = commands.add_parser(
        "check-config",
        help="validate equipment_config.yml",
        description="Validate an equipment_config.yml and list its equipment in priority "
        "order. Exit 0 when valid; otherwise print every problem (file:line: key: message) "
        "and exit 2.",
    )
    check.add_argument(
        "file",
        nargs="?",
        type=Path,
        metavar="FILE",
        help="the file to check (default: $PVOPT_CONFIG or equipment_config.yml)",
    )
    regulate = commands.add_parser(
        "regulate",
        help="the regulation daemon: PV surplus into the equipment",
        description="Regulate the equipment of equipment_config.yml on the meter values "
        "that `pvopt teleinfo` publishes.",
    )
    regulate.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="equipment configuration (default: $PVOPT_CONFIG or equipment_config.yml)",
    )
    regulate.add_argument(
        "--dry-run",
        action="store_true",
        help="compute and log decisions, publish nothing to equipment (shadow mode)",
    )
    sim = commands.add_parser(
        "simulate",
        help="a simulated day regulated by pvopt, the original algorithm and nothing",
        description="Run a simulated house day (PV, household load, meter cadence and "
        "delay, equipment physics) through the real regulation core on a fake clock, and "
        "the same day under the original photovoltaic_optimizer algorithm and without "
        "regulation; print the report. Needs no meter, broker or database.",
    )
    sim.add_argument(
        "--scenario",
        default="broken-clouds",
        metavar="NAME|FILE",
        help="a built-in scenario (clear-summer, broken-clouds, winter, evening-peak) or a "
        "scenario YAML file (default: broken-clouds)",
    )
    sim.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="equipment configuration to simulate (default: the simulator's reference site)",
    )
    sim.add_argument("--plot", type=Path, metavar="PNG", help="write a PNG of the day")
    sim.add_argument("--json", action="store_true", help="print the report as JSON")
    sim.add_argument("--days", type=int, default=1, metavar="N", help="days to simulate")
    sim.add_argument("--seed", type=int, default=1, metavar="N", help="random seed")
    return parser


def _check_config(path: Path, settings: Settings) -> int:
    """``pvopt check-config``: one line per equipment, or every error on stderr (exit 2)."""
    from pvopt.equipment.loader import ConfigFileError, load_site_config, type_name

    try:
        site = load_site_config(path, (settings.hc_start, settings.hc_end))
    except ConfigFileError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(f"{path}: OK, {len(site.equipment)} equipment in priority order")
    for priority, item in enumerate(site.equipment, start=1):
        print(f"{priority}. {item.name} ({type_name(item)}) -> {item.command.topic}")
    return 0


def in_processes(function: Callable[[T], R], items: list[T]) -> list[R]:
    """``map`` with each item in a (forked) process of its own when the machine has
    several cores: ``pvopt simulate`` runs its three controllers so (they are
    independent, and the results come back pickled, identical)."""
    if (os.cpu_count() or 1) < 2 or len(items) < 2:
        return list(map(function, items))
    context = multiprocessing.get_context("fork")  # the command has no threads
    with ProcessPoolExecutor(max_workers=len(items), mp_context=context) as pool:
        return list(pool.map(function, items))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``pvopt`` console script."""
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"pvopt: configuration error: {exc}", file=sys.stderr)
        return 2
    setup_logging(settings.log_level)
    if args.command == "teleinfo":
        from pvopt.daemons.teleinfo import TeleinfoOptions, run

        options = TeleinfoOptions(
            port=args.port or settings.teleinfo_port,
            mode=args.mode or settings.teleinfo_mode,
            replay=args.replay,
            dump=args.dump,
            mqtt=not args.no_mqtt,
            influx=not args.no_influx,
        )
        try:
            return run(options, settings)
        except BrokenPipeError:  # `pvopt teleinfo --dump | head`: the reader left
            sys.stderr.close()
            return 0
    if args.command == "check-config":
        return _check_config(args.file or settings.config_path, settings)
    if args.command == "regulate":
        from pvopt.daemons import power_regulation

        return power_regulation.run(args.config or settings.config_path, settings, args.dry_run)
    if args.command == "simulate":
        from pvopt.sim import simulate

        wanted = simulate.SimulateOptions(
            scenario=args.scenario,
            config=args.config,
            plot=args.plot,
            json=args.json,
            days=args.days,
            seed=args.seed,
        )
        return simulate.run(wanted, (settings.hc_start, settings.hc_end), run_map=in_processes)
    raise AssertionError(args.command)  # argparse rejects unknown commands
