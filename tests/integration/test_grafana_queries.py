"""Every query of the shipped Grafana dashboard, run against a real influxd holding what the
daemons write: a quarter of an hour of a closed-loop house (meter frames decoded from
encoder bytes, decisions of the real Regulator, a stale-data shed), stored through the
real Influx writer. Grafana itself is not installable here; this proves the InfluxQL
parses in InfluxDB 1.x and returns data, with the macros expanded as Grafana expands them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from pvopt.config import InfluxSettings
from pvopt.daemons.power_regulation import decision_points
from pvopt.daemons.teleinfo import frame_point
from pvopt.equipment.model import (
    Command,
    ConstantPowerConfig,
    RegulationConfig,
    SiteConfig,
    TempDrivenVariablePowerConfig,
)
from pvopt.io.influx import InfluxWriter
from pvopt.points import Point
from pvopt.regulation.core import Regulator
from pvopt.regulation.inputs import sample_from_frame
from pvopt.tic import FrameDecoder, Mode
from pvopt.tic.encoder import linky_standard_frame

from .conftest import Influxd

pytestmark = pytest.mark.integration

DASHBOARD_FILE = Path(__file__).resolve().parents[2] / "grafana" / "dashboards" / "pvopt.json"
DATABASE = "teleinfo"
PARIS = ZoneInfo("Europe/Paris")
FRAME_S = 1.2
NAMES = ("water heater", "pool pump")


def house(start: datetime, minutes: float) -> Iterator[Point]:
    """Points of a sunny quarter of an hour, the sun dropping half way, the meter silent
    for 20 s (the regulation sheds), a tank warming up."""
    heater = TempDrivenVariablePowerConfig(
        name=NAMES[0],
        id="heater",
        command=Command("scr/heater/in"),
        max_power_w=2400,
        temp_min_c=45,
        temp_eco_c=50,
        temp_sol_min_c=55,
        temp_max_c=60,
    )
    pump = ConstantPowerConfig(
        name=NAMES[1], id="pump", command=Command("wifi_plug/pump/in"), nominal_power_w=600
    )
    regulator = Regulator(SiteConfig((heater, pump), RegulationConfig()), PARIS)
    decoder = FrameDecoder(Mode.STANDARD)
    east_wh, eait_wh, grid_w = 10_000_000.0, 5_000_000.0, 0.0
    steps = int(minutes * 60 / FRAME_S)
    for i in range(steps):
        now = start + timedelta(seconds=i * FRAME_S)
        if steps // 3 <= i < steps // 3 + 17:  # ~20 s without frames: stale data
            decision = regulator.tick(now)
            if decision is not None and (decision.grid_w is not None or decision.safe):
                yield from decision_points(decision)
            continue
        pv_w = 3600.0 if i < steps // 2 else 700.0
        imported, exported = max(round(grid_w), 0), max(round(-grid_w), 0)
        east_wh += imported * FRAME_S / 3600
        eait_wh += exported * FRAME_S / 3600
        raw = linky_standard_frame(
            date="E" + now.astimezone(PARIS).strftime("%y%m%d%H%M%S"),
            sinsts_va=imported,
            sinsti_va=exported,
            east_wh=int(east_wh),
            eait_wh=int(eait_wh),
            erq_varh=(1, 2, 3, 4),
        )
        (frame,) = decoder.feed(raw, now)
        yield frame_point(frame, frame.meter_id, now)
        regulator.set_temperature("heater", 50.0 + i / 200, now)
        sample = sample_from_frame(json.dumps(frame.to_json_dict()).encode(), now)
        decision = regulator.evaluate(sample, now)
        yield from decision_points(decision)
        grid_w = 450.0 + sum(o.power_w for o in decision.outputs) - pv_w


def dashboard_queries() -> list[tuple[str, str]]:
    """(panel title, InfluxQL) of every target, rows' children included."""
    dashboard = json.loads(DASHBOARD_FILE.read_text("utf-8"))
    found = []
    for panel in dashboard["panels"]:
        for p in [panel, *panel.get("panels", [])]:
            found += [(p["title"], t["query"]) for t in p.get("targets", [])]
    return found


def expand(query: str, start: datetime, end: datetime) -> str:
    """The macros as Grafana's InfluxQL backend expands them (epoch ms), ``$name`` as the
    regex of the "All" value."""
    ms = (int(start.timestamp() * 1000), int(end.timestamp() * 1000))
    names = "(" + "|".join(NAMES) + ")"  # no regex character to escape in these names
    return (
        query.replace("$timeFilter", f"time >= {ms[0]}ms and time <= {ms[1]}ms")
        .replace("$__interval", "1m")
        .replace("$name", names)
    )


def values(result: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for key in result.keys():  # noqa: SIM118 (a ResultSet: iterating it yields rows)
        rows += list(result.get_points(measurement=key[0], tags=key[1]))
    return rows


def test_every_dashboard_query_parses_and_returns_data(influxd: Influxd, tmp_path: Path) -> None:
    end = datetime.now(UTC).replace(microsecond=0)
    start = end - timedelta(minutes=15)
    writer = InfluxWriter(InfluxSettings(influxd.host, influxd.port, DATABASE), tmp_path / "spool")
    writer.start()
    for point in house(start, 15):
        writer.write(point)
    writer.close(30)
    assert writer.pending_spool_points == 0 and writer.dropped_points == 0
    window = (start - timedelta(minutes=1), end + timedelta(minutes=1))

    results: dict[str, list[dict[str, Any]]] = {}
    for title, query in dashboard_queries():
        rows = values(influxd.query(expand(query, *window), DATABASE))
        data = [v for row in rows for k, v in row.items() if k not in ("time", "name")]
        assert any(v is not None for v in data), f"{title!r}: no data from {query}"
        results.setdefault(title, []).extend(rows)

    # A few figures that must make sense, not only exist.
    (used,) = results["Solar surplus used today"]
    assert 0 <= used["surplus used"] <= 100
    (today,) = results["Solar surplus today"]
    assert today["surplus"] >= today["used by the loads"] >= 0 and today["exported"] >= 0
    assert math.isclose(
        today["surplus"] - today["exported"], today["used by the loads"], abs_tol=1e-6
    )
    # The export integrated from the regulation's grid power is what the meter's EAIT
    # index counted, an independent source (a wrong sign in the query fails this). Not
    # to the watt-hour: the integral bridges the 20 s without frames, EAIT does not.
    (meter,) = results["Meter today"]
    assert today["exported"] > 0.05
    assert math.isclose(today["exported"], meter["exported"], rel_tol=0.1)
    assert sum(row["safe-mode decisions"] for row in results["Regulation safe mode"]) >= 1
    temperatures = [r["mean"] for r in results["Tank temperature"] if r["mean"] is not None]
    assert temperatures and min(temperatures) >= 50
    names = {
        n["value"]
        for n in influxd.query(
            'SHOW TAG VALUES FROM "equipment" WITH KEY = "name"', DATABASE
        ).get_points()
    }
    assert names == set(NAMES)
