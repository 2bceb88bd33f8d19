"""``pvopt simulate``: the command a newcomer runs first (``make demo``).

One full run of the shipped configuration on the broken-cloud day (three decision cores,
JSON and PNG) is shared by the tests of this module.
"""

from __future__ import annotations

import gc
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pvopt.cli import in_processes, main
from pvopt.sim.report import CSV_COLUMNS
from pvopt.sim.simulate import RUN_GC_THRESHOLD, SimulateOptions, fewer_collections, run

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "equipment_config.yml.template"
REPORT_KEYS = {
    "controller",
    "pv_kwh",
    "consumption_kwh",
    "self_consumed_kwh",
    "self_consumption_pct",
    "exported_kwh",
    "imported_kwh",
    "diverted_kwh",
    "import_eur",
    "export_eur",
    "net_eur",
    "hot_water_shortfall_kwh",
    "run_shortfall_kwh",
    "stored_heat_kwh",
    "adjusted_eur",
    "saved_eur",
    "achievable_pct",
    "usable_export_kwh",
    "unusable_export_kwh",
    "missed_after_delays_kwh",
    "missed_after_delays_pct_pv",
    "controller_import_kwh",
    "controller_import_pct_diverted",
    "grid_error_p50_w",
    "grid_error_p95_w",
    "offpeak_grid_kwh",
    "balance_error_pct",
    "equipment",
    "days",
}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    """What ``make demo`` does, with ``--json``."""
    png = tmp_path_factory.mktemp("demo") / "day.png"
    out = io.StringIO()
    options = SimulateOptions("broken-clouds", TEMPLATE, png, json=True)
    assert run(options, out=out) == 0
    return json.loads(out.getvalue()), png


def test_the_demo_reports_the_three_cores_and_the_optimum_on_the_same_day(
    demo: tuple[dict[str, Any], Path],
) -> None:
    report, _ = demo
    runs = report["runs"]
    assert list(runs) == ["pvopt", "baseline", "none", "optimum"]
    for name, figures in runs.items():
        assert set(figures) == REPORT_KEYS, name
        assert [e["name"] for e in figures["equipment"]] == [
            "water_heater",
            "pool_pump",
            "dehumidifier",
        ]
        assert [d["day"] for d in figures["days"]] == ["2026-05-12"]
    runs = dict(runs)
    optimum = runs.pop("optimum")
    for name, figures in runs.items():
        # the energy balance closes: PV + import = household + diverted + export
        assert figures["balance_error_pct"] < 0.1, name
        # the optimum is the floor of the adjusted costs (tests/sim/test_floor.py)
        assert figures["adjusted_eur"] >= optimum["adjusted_eur"] - 0.03, name
    pv = {figures["pv_kwh"] for figures in runs.values()}
    assert len(pv) == 1  # the identical day for all three ...
    day_pv = pv.pop()
    assert day_pv > 5
    assert optimum["pv_kwh"] == pytest.approx(day_pv, rel=1e-3)  # ... and the optimum
    print(
        "\n"
        + "\n".join(
            f"{name}: self-consumption {f['self_consumption_pct']:.1f} %, "
            f"import {f['imported_kwh']:.2f} kWh, export {f['exported_kwh']:.2f} kWh, "
            f"diverted {f['diverted_kwh']:.2f} kWh"
            for name, f in runs.items()
        )
    )
    assert (
        runs["pvopt"]["self_consumed_kwh"]
        > runs["baseline"]["self_consumed_kwh"]
        > runs["none"]["self_consumed_kwh"]
    )
    # without a router the water heater runs on the off-peak contactor: from the grid;
    # the pool pump (750 W, 4 h a day by 20:00) runs its 4 h on its timer; the
    # dehumidifier (no daily run time) never runs
    none = runs["none"]
    energy = {e["name"]: e["energy_kwh"] for e in none["equipment"]}
    heater = energy["water_heater"]
    assert 0.9 * heater <= none["offpeak_grid_kwh"] <= heater * (1 + 1e-9)
    assert energy["pool_pump"] == pytest.approx(4 * 0.75, abs=0.01)
    assert energy["dehumidifier"] == 0


def test_the_demo_draws_the_day(demo: tuple[dict[str, Any], Path]) -> None:
    report, png = demo
    assert report["plot"] == str(png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 20_000


def test_the_same_seed_gives_the_same_report(demo: tuple[dict[str, Any], Path]) -> None:
    """Again, and this time the three runs in processes of their own, as the command line
    runs them (the demo ran them one after the other): the same report to the last digit."""
    report, _ = demo
    out = io.StringIO()
    options = SimulateOptions("broken-clouds", TEMPLATE, json=True)
    assert run(options, out=out, run_map=in_processes) == 0
    again = json.loads(out.getvalue())
    assert again["runs"] == report["runs"]


def test_the_text_report_names_every_figure_and_the_csv_has_each_day(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The winter scenario moved to 3 February (--from), its figures also as CSV: one row
    per controller and day, the saving and share computed against none and the optimum."""
    csv, minutes = tmp_path / "days.csv", tmp_path / "minutes.csv"
    argv = ["--scenario", "winter", "--from", "2026-02-03", "--csv", str(csv)]
    assert main(["simulate", *argv, "--series", str(minutes)]) == 0
    text = capsys.readouterr().out
    assert "2026-02-03" in text
    header, *rows = csv.read_text("utf-8").splitlines()
    assert header.split(",") == list(CSV_COLUMNS)
    table = {row.split(",")[1]: dict(zip(CSV_COLUMNS, row.split(","), strict=True)) for row in rows}
    assert list(table) == ["pvopt", "baseline", "none", "optimum"]
    assert {r["day"] for r in table.values()} == {"2026-02-03"}
    none, best = float(table["none"]["adjusted_eur"]), float(table["optimum"]["adjusted_eur"])
    pvopt = float(table["pvopt"]["adjusted_eur"])
    assert float(table["pvopt"]["saved_eur"]) == pytest.approx(none - pvopt, abs=1e-3)
    assert float(table["pvopt"]["achievable_pct"]) == pytest.approx(
        100 * (none - pvopt) / (none - best), abs=0.1
    )
    assert table["optimum"]["usable_export_kwh"] == ""  # not a controller's figure
    # --series: every minute of the day; its import and prices give the bill back
    head, *lines = minutes.read_text("utf-8").splitlines()
    columns = head.split(",")
    assert len(lines) == 24 * 60
    assert lines[0].startswith("2026-02-03T00:00+01:00,")
    rows = [dict(zip(columns, line.split(","), strict=True)) for line in lines]
    paid = sum(float(r["pvopt_import_w"]) * float(r["import_eur_kwh"]) for r in rows) / 60_000
    assert paid - float(table["pvopt"]["net_eur"]) == pytest.approx(0, abs=0.005)
    assert {"optimum_grid_w", "optimum_water_heater_w", "pvopt_pool_pump_w"} <= set(columns)
    for label in (
        "self-consumption",
        "imported",
        "net cost (EUR)",
        "adjusted cost (EUR)",
        "share of achievable saving",
        "export a load could take",
        "below temp_min",
    ):
        assert label in text
    assert all(name in text for name in ("pvopt", "baseline", "none", "optimum"))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--scenario", "sunny-monday"], "clear-summer"),
        (["--days", "0"], "--days"),
    ],
)
def test_bad_options_exit_2_with_a_clear_message(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", *argv]) == 2
    assert message in capsys.readouterr().err


def test_without_numpy_it_exits_2_saying_what_to_install_before_simulating() -> None:
    # the grading of a run needs numpy (the sim extra); the message comes before any
    # simulation: the command fails in well under a second
    code = (
        "import sys; sys.modules['numpy'] = None\n"
        "from pvopt.cli import main; raise SystemExit(main(['simulate', '--days', '1']))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 2
    assert done.stderr.strip() == "pvopt simulate: numpy is missing: pip install 'pvopt[sim]'"
    assert done.stdout == ""


def test_a_bad_tempo_calendar_exits_2_naming_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    calendar = tmp_path / "tempo.csv"
    calendar.write_text("date,colour\n2026-01-15,RED\n2026-01-16,PURPLE\n", "utf-8")
    assert main(["simulate", "--tempo-calendar", str(calendar)]) == 2
    err = capsys.readouterr().err
    assert f"{calendar}:3" in err


def test_a_bad_first_day_exits_2_naming_the_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["simulate", "--from", "3 Feb"])
    assert exited.value.code == 2
    assert "--from" in capsys.readouterr().err


def test_a_bad_configuration_exits_2_naming_file_line_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "equipment_config.yml"
    bad.write_text(TEMPLATE.read_text("utf-8").replace("max_power: 2400", "max_power: abc"))
    assert main(["simulate", "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:" in err and "equipment[0].max_power" in err


def test_a_house_runs_with_fewer_collections_and_the_collector_is_put_back() -> None:
    """A run raises the collector's first threshold, and puts Python's back after it,
    even when the run fails (tests and the daemon-free benchmarks run houses in process)."""
    before = gc.get_threshold()
    with fewer_collections():
        assert gc.get_threshold() == (max(RUN_GC_THRESHOLD, before[0]), *before[1:])
    assert gc.get_threshold() == before
    with pytest.raises(RuntimeError), fewer_collections():
        raise RuntimeError("a run that fails")
    assert gc.get_threshold() == before
