"""``pvopt web``'s history under measure: answer time and size, and the daemon's memory.

Usage: PYTHONPATH=. python benchmarks/bench_history.py [--days N] [--every S] [--loads N]

A private influxd (the integration tests' ``Influxd``) is filled with ``--days`` local
days of points as the daemons write them (their ``Point``, the writer's line encoder):
a ``teleinfo`` frame (SINSTS, SINSTI, EAST, EAIT), a ``regulation`` evaluation (surplus,
€ running totals) and an ``equipment`` point per load (the water heater, the pool pump)
every ``--every`` seconds, a consistent sunny house (:func:`seed`; the real
meter sends a frame every 1–2 s: the default 10 s is 5 to 10 times sparser, a month of
it 0.27 M frames). Then the real ``pvopt web`` (``web_chain.launch_web``, no broker)
is asked, signed in, ``GET /api/history/days?n=30`` and ``/api/history/day`` for today
and yesterday, 5 times each: the time to answer (the first time, then p50 / max: the
days that are over are kept an hour, only today is asked again), the answer's size, and the
daemon's VmRSS before the first history request and after them all (target ≤ 60 MB for
the whole daemon, issue #16).

Measured: see README.md (section ``pvopt web``, the history view).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from influxdb import InfluxDBClient

from pvopt.io.influx import to_line
from pvopt.points import Point
from tests.integration.conftest import DaemonFactory, Influxd, find_binary
from tests.integration.web_chain import launch_web

PARIS = ZoneInfo("Europe/Paris")
BATCH = 5000
HOUSE_W = 450.0
PRICE_EUR_KWH = 0.2516


@dataclass
class _Today:
    """The running totals of the local day, as the regulation keeps them."""

    day: date
    heater_wh: float = 0.0
    pump_wh: float = 0.0
    cost_eur: float = 0.0
    saved_eur: float = 0.0


def seed(influxd: Influxd, days: int, every_s: int, loads: int = 2) -> int:
    """Fill the database with a consistent house, the same every day; returns the number
    of points. PV a triangle peaking at 4 kW at 13:30 (07:30–19:30), the house 450 W,
    the water heater (2 kW dimmer) taking the surplus until 15:00, its tank warming from
    45 °C, the pool pump (800 W) on when what is left covers it between 11:00 and 17:00;
    ``loads`` = 1 leaves the pump out. Import at 0.2516 €/kWh, the diverted energy saved
    at the same price."""
    client = InfluxDBClient(influxd.host, influxd.port, database="teleinfo", timeout=60)
    client.create_database("teleinfo")
    now = datetime.now(UTC)
    today = now.astimezone(PARIS).date()
    first = today - timedelta(days=days - 1)
    moment = datetime(first.year, first.month, first.day, tzinfo=PARIS).astimezone(UTC)
    lines: list[str] = []
    count = 0
    east, eait = 10_000_000.0, 1_000_000.0
    totals = _Today(first)
    hours = every_s / 3600
    while moment < now:
        local = moment.astimezone(PARIS)
        if local.date() != totals.day:
            totals = _Today(local.date())
        hour = local.hour + local.minute / 60
        pv = max(0.0, 4000.0 * (1 - abs(hour - 13.5) / 6))
        spare = pv - HOUSE_W
        heater = min(max(spare, 0.0), 2000.0) if hour < 15 else 0.0
        pump = 800.0 if loads > 1 and 11 <= hour < 17 and spare - heater >= 800 else 0.0
        grid = HOUSE_W + heater + pump - pv
        drawn, injected = max(grid, 0.0), max(-grid, 0.0)
        east += drawn * hours
        eait += injected * hours
        totals.heater_wh += heater * hours
        totals.pump_wh += pump * hours
        totals.cost_eur += drawn * hours / 1000 * PRICE_EUR_KWH
        totals.saved_eur += (heater + pump) * hours / 1000 * PRICE_EUR_KWH
        meter = {
            "SINSTS": int(drawn),
            "SINSTI": int(injected),
            "EAST": int(east),
            "EAIT": int(eait),
        }
        points = [
            Point("teleinfo", dict(meter), moment, {"meter": "021728123456"}),
            Point(
                "regulation",
                {
                    "surplus_w": spare,
                    "grid_power_w": grid,
                    "diverted_w": heater + pump,
                    "import_cost_today_eur": round(totals.cost_eur, 4),
                    "saved_today_eur": round(totals.saved_eur, 4),
                },
                moment,
            ),
            Point(
                "equipment",
                {
                    "power_w": heater,
                    "energy_wh": round(totals.heater_wh, 1),
                    "temperature_c": round(min(65.0, 45 + totals.heater_wh / 400), 1),
                },
                moment,
                {"name": "water_heater"},
            ),
        ]
        if loads > 1:
            points.append(
                Point(
                    "equipment",
                    {"power_w": pump, "energy_wh": round(totals.pump_wh, 1)},
                    moment,
                    {"name": "pool_pump"},
                )
            )
        lines += [to_line(p) for p in points]
        if len(lines) >= BATCH:
            client.write_points(lines, protocol="line", time_precision="n", batch_size=BATCH)
            count += len(lines)
            lines = []
        moment += timedelta(seconds=every_s)
    if lines:
        client.write_points(lines, protocol="line", time_precision="n")
        count += len(lines)
    client.close()
    return count


def vm(pid: int) -> str:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) / 1024
    return f"VmRSS {fields['VmRSS']:.1f} MB (peak {fields['VmHWM']:.1f} MB)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=31)
    parser.add_argument("--every", type=int, default=10, help="seconds between points")
    parser.add_argument("--loads", type=int, default=2, choices=(1, 2))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pvopt-bench-history-") as folder:
        tmp = Path(folder)
        influxd = Influxd(find_binary("influxd"), tmp)
        influxd.prepare()
        influxd.start()
        factory = DaemonFactory(tmp)
        try:
            started = time.monotonic()
            points = seed(influxd, args.days, args.every, args.loads)
            print(
                f"seeded {points} points ({args.days} days, every {args.every} s, "
                f"{args.loads} loads) in {time.monotonic() - started:.0f} s"
            )
            web = launch_web(tmp, factory, 1, influx_port=influxd.port)
            browser = web.browser()
            pid = web.daemon.proc.pid
            print(f"pvopt web signed in, before any history: {vm(pid)}")
            today = datetime.now(PARIS).date()
            paths = {
                "days?n=30": "/api/history/days?n=30",
                "day (today)": "/api/history/day",
                "day (yesterday)": f"/api/history/day?date={today - timedelta(days=1)}",
            }
            for label, path in paths.items():
                times, size = [], 0
                for _ in range(5):
                    begin = time.perf_counter()
                    reply = browser.request("GET", path)
                    times.append(time.perf_counter() - begin)
                    assert reply.status == 200, reply.body
                    size = len(reply.body.encode())
                print(
                    f"{label}: first {times[0] * 1000:.0f} ms, then p50 "
                    f"{statistics.median(times[1:]) * 1000:.0f} ms, "
                    f"max {max(times[1:]) * 1000:.0f} ms; {size / 1024:.1f} kB"
                )
            print(f"pvopt web after the history requests: {vm(pid)}")
        finally:
            for daemon in factory.started:
                daemon.stop()
            influxd.stop()


if __name__ == "__main__":
    main()
