"""``pvopt simulate``: the command a newcomer runs first (``make demo``).

One full run of the shipped configuration on the broken-cloud day (three decision cores,
JSON and PNG) is shared by the tests of this module.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from pvopt.cli import in_processes, main
from pvopt.sim.simulate import SimulateOptions, run

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
    "missed_surplus_kwh",
    "missed_surplus_pct_pv",
    "controller_import_kwh",
    "controller_import_pct_diverted",
    "grid_error_p50_w",
    "grid_error_p95_w",
    "offpeak_grid_kwh",
    "balance_error_pct",
    "equipment",
}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    """What ``make demo`` does, with ``--json``."""
    png = tmp_path_factory.mktemp("demo") / "day.png"
    out = io.StringIO()
    options = SimulateOptions("broken-clouds", TEMPLATE, png, json=True)
    assert run(options, out=out) == 0
    return json.loads(out.getvalue()), png


def test_the_demo_reports_the_three_cores_on_the_same_day(
    demo: tuple[dict[str, Any], Path],
) -> None:
    report, _ = demo
    runs = report["runs"]
    assert list(runs) == ["pvopt", "baseline", "none"]
    for name, figures in runs.items():
        assert set(figures) == REPORT_KEYS, name
        # the energy balance closes: PV + import = household + diverted + export
        assert figures["balance_error_pct"] < 0.1
        assert [e["name"] for e in figures["equipment"]] == [
            "water_heater",
            "pool_pump",
            "dehumidifier",
        ]
    pv = {figures["pv_kwh"] for figures in runs.values()}
    assert len(pv) == 1 and pv.pop() > 5  # the identical day for all three
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
    # without a router the water heater runs on the off-peak contactor: from the grid
    none = runs["none"]
    assert 0.9 * none["diverted_kwh"] <= none["offpeak_grid_kwh"] <= none["diverted_kwh"]


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


def test_the_text_report_names_every_figure(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--scenario", "winter"]) == 0
    text = capsys.readouterr().out
    for label in ("self-consumption", "imported", "surplus missed", "below temp_min"):
        assert label in text
    assert "pvopt" in text and "baseline" in text and "none" in text


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


def test_a_bad_configuration_exits_2_naming_file_line_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "equipment_config.yml"
    bad.write_text(TEMPLATE.read_text("utf-8").replace("max_power: 2400", "max_power: abc"))
    assert main(["simulate", "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:" in err and "equipment[0].max_power" in err
