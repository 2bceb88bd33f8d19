"""The ``pvopt`` command line (docs/design.md §2).

Exit codes: 0 ok, 1 runtime failure, 2 usage/config.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

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
    web = commands.add_parser(
        "web",
        help="the household's page (phone or computer), or --set-password",
        description="Serve the household's page on the LAN (default port 8080). It needs "
        "a password: make one with --set-password (printed once; only its hash is stored).",
    )
    web.add_argument(
        "--set-password",
        action="store_true",
        help="generate a new password, print it once, store its hash, and exit",
    )
    web.add_argument(
        "--password-file",
        type=Path,
        metavar="FILE",
        help="the password hash (default: $PVOPT_WEB_PASSWORD_FILE or web-password beside "
        "$PVOPT_CONFIG, /etc/pvopt/web-password on an install)",
    )
    web.add_argument(
        "--host",
        help="address to listen on (default: $PVOPT_WEB_HOST or every interface; "
        "127.0.0.1 behind a reverse proxy)",
    )
    web.add_argument("--port", type=int, help="TCP port (default: $PVOPT_WEB_PORT or 8080)")
    web.add_argument(
        "--cert", type=Path, metavar="PEM", help="TLS certificate (default: $PVOPT_WEB_CERT)"
    )
    web.add_argument(
        "--key", type=Path, metavar="PEM", help="TLS private key (default: $PVOPT_WEB_KEY)"
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
        help="a built-in scenario (clear-summer, broken-clouds, winter, evening-peak; "
        "seasonal: each day's sky drawn from its month's clear-sky index, for --days N "
        "--from DATE) or a scenario YAML file (default: broken-clouds)",
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
    sim.add_argument(
        "--from",
        dest="first_day",
        type=_iso_date,
        metavar="YYYY-MM-DD",
        help="first day to simulate (default: the scenario's day)",
    )
    sim.add_argument("--csv", type=Path, metavar="FILE", help="write the per-day figures as CSV")
    sim.add_argument(
        "--series",
        type=Path,
        metavar="FILE",
        help="write the run minute by minute as CSV (inputs, prices, each controller's "
        "grid and loads, the optimum's schedule)",
    )
    sim.add_argument(
        "--tempo-calendar",
        type=Path,
        metavar="FILE",
        help="Tempo colours (CSV: date,colour) for the simulated days; days it does not "
        "hold get colours generated from the seed",
    )
    sim.add_argument(
        "--no-optimum",
        dest="optimum",
        action="store_false",
        help="skip the day's perfect-foresight optimum (the floor of the costs)",
    )
    return parser


def _iso_date(text: str) -> date:
    """An ISO date for argparse (its error names the option)."""
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from exc


def _check_config(path: Path, settings: Settings) -> int:
    """``pvopt check-config``: one line per equipment, or every error on stderr (exit 2)."""
    from pvopt.equipment.check import check_config_bytes
    from pvopt.equipment.loader import type_name
    from pvopt.schema import ConfigFileError, ConfigIssue

    try:
        data = path.read_bytes()
    except OSError as exc:
        reason = f"cannot read the file: {exc.strerror or exc}"
        print(ConfigFileError(str(path), [ConfigIssue(None, "", reason)]), file=sys.stderr)
        return 2
    checked = check_config_bytes(data, str(path), (settings.hc_start, settings.hc_end))
    site = checked.site
    if site is None:
        print(checked.report(str(path)), file=sys.stderr)
        return 2
    print(f"{path}: OK, {len(site.equipment)} equipment in priority order")
    for priority, item in enumerate(site.equipment, start=1):
        print(f"{priority}. {item.name} ({type_name(item)}) -> {item.command.topic}")
    return 0


def _web(args: argparse.Namespace, settings: Settings) -> int:
    """``pvopt web`` and ``pvopt web --set-password``: options over the environment."""
    from pvopt.daemons import web

    password_file = args.password_file or settings.web.password_file
    if args.set_password:
        return web.set_password(password_file)
    if args.port is not None and not 1 <= args.port <= 65535:
        print(f"pvopt web: --port: expected 1 to 65535, got {args.port}", file=sys.stderr)
        return 2
    cert = args.cert or settings.web.cert
    key = args.key or settings.web.key
    if (cert is None) != (key is None):
        print("pvopt web: --cert and --key go together (TLS needs both)", file=sys.stderr)
        return 2
    options = web.WebRunOptions(
        host=settings.web.host if args.host is None else args.host,
        port=settings.web.port if args.port is None else args.port,
        password_file=password_file,
        cert=cert,
        key=key,
        secure_cookies=settings.web.secure_cookies or cert is not None,
    )
    return web.run(options, settings)


#: Each task's fraction done, shared with the forked workers of :func:`in_processes`
#: (inherited at the fork: a shared array cannot be pickled into a task).
_PROGRESS: Any = None
#: A run shorter than this draws no progress bar, s.
PROGRESS_AFTER_S = 3.0


def report_progress(index: int, fraction: float) -> None:
    """A task (in a worker of :func:`in_processes`) has done ``fraction`` of its work."""
    shared = _PROGRESS
    if shared is not None and 0 <= index < len(shared):
        shared[index] = fraction


def _draw_progress(fraction: float, elapsed_s: float) -> None:
    width = 30
    filled = round(width * min(max(fraction, 0.0), 1.0))
    sys.stderr.write(
        f"\r[{'#' * filled}{'.' * (width - filled)}] {100 * fraction:3.0f} %  {elapsed_s:4.0f} s"
    )
    sys.stderr.flush()


def in_processes(function: Callable[[T], R], items: list[T]) -> list[R]:
    """``map`` with each item in a (forked) process of its own when the machine has
    several cores: ``pvopt simulate`` runs its controllers and the optimum so (they are
    independent, and the results come back pickled, identical). Tasks that call
    :func:`report_progress` get a progress bar on stderr (a terminal) once the run has
    lasted :data:`PROGRESS_AFTER_S`."""
    global _PROGRESS  # noqa: PLW0603 - shared with the workers through the fork
    if (os.cpu_count() or 1) < 2 or len(items) < 2:
        return list(map(function, items))
    # Imported here: the daemons never fork workers, and would carry them (0.4 MB).
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, wait

    context = multiprocessing.get_context("fork")  # the command has no threads
    _PROGRESS = context.Array("d", len(items), lock=False)
    began = time.monotonic()
    drawn = False
    try:
        with ProcessPoolExecutor(max_workers=len(items), mp_context=context) as pool:
            futures = [pool.submit(function, item) for item in items]
            while wait(futures, timeout=0.5).not_done:
                elapsed = time.monotonic() - began
                if elapsed >= PROGRESS_AFTER_S and sys.stderr.isatty():
                    _draw_progress(sum(_PROGRESS) / len(items), elapsed)
                    drawn = True
            return [f.result() for f in futures]
    finally:
        _PROGRESS = None
        if drawn:
            sys.stderr.write("\r" + " " * 50 + "\r")


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
    short: dict[str, Callable[[], int]] = {
        "check-config": lambda: _check_config(args.file or settings.config_path, settings),
        "web": lambda: _web(args, settings),
    }
    if args.command in short:
        return short[args.command]()
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
            optimum=args.optimum,
            first_day=args.first_day,
            csv=args.csv,
            series=args.series,
            tempo_calendar=args.tempo_calendar,
        )
        return simulate.run(
            wanted,
            (settings.hc_start, settings.hc_end),
            run_map=in_processes,
            progress=report_progress,
        )
    raise AssertionError(args.command)  # argparse rejects unknown commands
