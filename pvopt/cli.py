"""The ``pvopt`` command line (DESIGN §2). Exit codes: 0 ok, 1 runtime failure, 2 usage/config."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from pvopt import __version__
from pvopt.config import TELEINFO_MODES, ConfigError, load_settings
from pvopt.logsetup import setup_logging


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
    return parser


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
    raise AssertionError(args.command)  # argparse rejects unknown commands
