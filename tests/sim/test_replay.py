"""A recorded day replayed as PV and household load (pvopt.sim.replay).

The promise tested: with no equipment configured, the simulated house is the recorded
one — its grid power equals the recording's at every step, and the meter frames carry it.
"""

from __future__ import annotations

import math
import random
from datetime import date, datetime
from pathlib import Path

import pytest

from pvopt.equipment.loader import ConfigFileError
from pvopt.equipment.model import RegulationConfig, SiteConfig
from pvopt.sim.house import House
from pvopt.sim.replay import RecordedDay, RecordedLoad, RecordedPv, parse_csv, parse_time
from pvopt.sim.scenario_file import parse_scenario
from pvopt.sim.scenarios import PARIS, Scenario, build, reference_site
from pvopt.sim.timeseries import Linear

NO_EQUIPMENT = SiteConfig(equipment=(), regulation=RegulationConfig())
START = datetime(2026, 6, 21, 11, 0, tzinfo=PARIS)  # local 11:00 (UTC+2)
SPAN_S = 30 * 60


def _recorded_day(step_s: float, seed: int) -> tuple[list[float], list[float], list[float]]:
    """times, grid, pv: a sunny half-hour with passing clouds and appliance steps,
    whole watts (exact in the CSV), export and import both present."""
    rng = random.Random(seed)
    t0 = START.timestamp()
    times, grid, pv = [], [], []
    load = 400.0
    for i in range(int(SPAN_S / step_s) + 1):
        t = t0 + i * step_s
        if rng.random() < 0.1:
            load = rng.choice((300.0, 450.0, 2400.0, 3800.0))  # kettle, oven…
        production = round(2800 * (0.5 + 0.5 * math.sin(i / 23)) * rng.uniform(0.9, 1.0))
        times.append(t)
        pv.append(float(production))
        grid.append(float(round(load + rng.uniform(-30, 30)) - production))
    return times, grid, pv


def _write(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def _scenario(tmp_path: Path, csv_name: str, interpolation: str = "linear") -> Scenario:
    """Through a scenario file, as a user would."""
    text = f"name: recorded\nreplay:\n  file: {csv_name}\n  interpolation: {interpolation}\n"
    return parse_scenario(text, str(tmp_path / "recorded.yml"), tmp_path)


def _run(scenario: Scenario, hours: tuple[float, float] = (0.0, 24.0)) -> House:
    house = build(scenario, 1, start_hour=hours[0], end_hour=hours[1], site=NO_EQUIPMENT)
    house.run()
    return house


def test_a_replayed_csv_day_reproduces_its_recorded_grid_power_without_equipment(
    tmp_path: Path,
) -> None:
    times, grid, pv = _recorded_day(step_s=5.0, seed=3)
    rows = [
        f"{datetime.fromtimestamp(t, PARIS).isoformat()},{g:.0f},{p:.0f}"
        for t, g, p in zip(times, grid, pv, strict=True)
    ]
    _write(tmp_path / "day.csv", "time,grid_w,pv_w", rows)
    scenario = _scenario(tmp_path, "day.csv")
    assert scenario.day == START.date()
    assert scenario.replay is not None and "load = grid + pv" in scenario.replay.notes

    house = _run(scenario)  # asked for the whole day: clipped to the recorded half-hour
    rec = house.recording
    assert house.start == times[0] and rec.end == pytest.approx(times[-1])
    assert isinstance(house.pv, RecordedPv) and isinstance(house.base, RecordedLoad)
    assert house.pv.model == "recorded (day.csv)"

    expected_grid = Linear(times, grid)
    expected_pv = Linear(times, pv)
    worst = 0.0
    for k in range(rec.steps):
        t = rec.start + k * rec.step_s
        worst = max(worst, abs(rec.grid_w[k] - expected_grid(t)))
        assert rec.pv_w[k] == pytest.approx(expected_pv(t), abs=1e-6)
    assert worst <= 1e-6  # the recorded grid, step after step, within rounding
    # at the recorded times themselves: the CSV's very values
    for i in range(0, len(times) - 1, 7):
        assert rec.grid_w[rec.index(times[i])] == pytest.approx(grid[i], abs=1e-6)

    # The frames carry its 1 s means (whole VA): the simulator holds each 0.2 s step, so a
    # frame may differ from the exact mean by the slope over 0.1 s.
    frames = rec.frames
    assert len(frames) >= SPAN_S / 1.35
    for frame in frames:
        m = frame.measured_at
        if m - 1.0 < times[0]:
            continue
        exact = sum(expected_grid(m - 1.0 + (j + 0.5) / 200) for j in range(200)) / 200
        i = min(max(int((m - times[0]) // 5.0), 1), len(times) - 1)
        slope = max(abs(grid[i] - grid[i - 1]), abs(grid[min(i + 1, len(grid) - 1)] - grid[i]))
        assert abs(frame.grid_w - exact) <= 1.0 + slope / 5.0 * 0.1 + 1e-6, (m, frame, exact)


def test_step_interpolation_holds_each_value_and_frames_inside_a_plateau_carry_it(
    tmp_path: Path,
) -> None:
    rng = random.Random(7)
    t0 = START.timestamp()
    plateau_s = 20.0
    times = [t0 + i * plateau_s for i in range(60)]  # 20 min
    load = [float(rng.randrange(200, 4000)) for _ in times]
    grid = [a - float(rng.randrange(0, 3500)) for a in load]  # import and export
    rows = [f"{t:.0f},{g:.0f},{a:.0f}" for t, g, a in zip(times, grid, load, strict=True)]
    _write(tmp_path / "steps.csv", "time,grid_w,load_w", rows)  # POSIX seconds; pv derived
    scenario = _scenario(tmp_path, "steps.csv", "step")
    assert scenario.replay is not None and "pv = load − grid" in scenario.replay.notes

    house = _run(scenario)
    rec = house.recording
    for k in range(rec.steps):
        i = int((k * rec.step_s + 1e-9) // plateau_s)
        assert rec.grid_w[k] == pytest.approx(grid[i], abs=1e-6)
    inside = [
        (f, int((f.measured_at - t0) // plateau_s))
        for f in rec.frames
        if (f.measured_at - t0) % plateau_s >= 1.0 + 1e-6  # the window is in one plateau
    ]
    assert len(inside) >= 0.9 * len(rec.frames) - 20
    assert all(f.grid_w == grid[i] for f, i in inside)
    # and the regulation received what the meter measured, as SINSTS / SINSTI in whole VA
    assert all(
        (f.sample.import_va, f.sample.export_va) == (max(grid[i], 0.0), max(-grid[i], 0.0))
        for f, i in inside
    )


def test_an_influxdb_export_of_the_teleinfo_measurement_replays_as_the_grid(
    tmp_path: Path,
) -> None:
    # `curl … -H 'Accept: application/csv'`: name,tags,time (ns),SINSTS,SINSTI; one frame
    # without its SINSTI group (bad checksum) is skipped.
    rng = random.Random(11)
    t0 = START.timestamp()
    times: list[float] = []
    grid: list[float] = []
    rows = []
    t = t0
    while t < t0 + 15 * 60:
        drawn, injected = (rng.randrange(0, 3000), 0) if rng.random() < 0.5 else (0, 800)
        if len(rows) == 40:
            rows.append(f"teleinfo,,{round(t * 1e9)},{drawn},")
        else:
            rows.append(f"teleinfo,,{round(t * 1e9)},{drawn},{injected}")
            times.append(round(t * 1e9) / 1e9)
            grid.append(float(drawn - injected))
        t += rng.uniform(1.05, 1.35)
    _write(tmp_path / "teleinfo.csv", "name,tags,time,SINSTS,SINSTI", rows)
    scenario = _scenario(tmp_path, "teleinfo.csv")
    recorded = scenario.replay
    assert recorded is not None
    assert any("SINSTS − SINSTI" in n for n in recorded.notes)
    assert any("pv = what was exported" in n for n in recorded.notes)
    assert "rows with an empty value, skipped: 1" in recorded.notes
    # the net power split: the surplus as PV, the import as load, never both at once;
    # linear interpolation adds a sample where the grid crosses zero
    assert set(times) <= set(recorded.times) and len(recorded.times) > len(times)
    for g, p, a in zip(recorded.grid_w, recorded.pv_w, recorded.load_w, strict=True):
        assert p >= 0 and a >= 0 and p * a == 0 and a - p == g

    rec = _run(scenario).recording
    expected = Linear(times, grid)
    for k in range(0, rec.steps, 3):
        t = rec.start + k * rec.step_s
        # a crossing's time is rounded to the 0.24 µs of a float near 1.8e9 s
        assert rec.grid_w[k] == pytest.approx(expected(t), abs=1e-3)
    # so the replayed "PV" is exactly the exported energy, and the load the imported
    pv_wh = sum(rec.pv_w) * rec.step_s / 3600
    exported_wh = sum(max(-g, 0.0) for g in rec.grid_w) * rec.step_s / 3600
    assert pv_wh == pytest.approx(exported_wh, rel=1e-9) and pv_wh > 50
    assert sum(rec.base_w) * rec.step_s / 3600 == pytest.approx(
        sum(max(g, 0.0) for g in rec.grid_w) * rec.step_s / 3600, rel=1e-9
    )


def test_the_influx_shell_export_with_rfc3339_times_is_read_too() -> None:
    text = (
        "name,time,SINSTS,SINSTI\n"
        "teleinfo,2026-06-21T09:00:00.123456789Z,1250,0\n"
        "teleinfo,2026-06-21T09:00:01.3Z,0,830\n"
        "teleinfo,2026-06-21T09:00:02.5Z,12,0\n"
    )
    day = parse_csv(text, "shell.csv", "step")
    assert day.grid_w == (1250.0, -830.0, 12.0)
    assert day.load_w == (1250.0, 0.0, 12.0) and day.pv_w == (0.0, 830.0, 0.0)
    linear = parse_csv(text, "shell.csv")  # with the zero crossings
    assert linear.grid_w == (1250.0, 0.0, -830.0, 0.0, 12.0)
    crossing = day.times[0] + (day.times[1] - day.times[0]) * 1250 / 2080
    assert linear.times[1] == pytest.approx(crossing)
    assert day.times[0] == pytest.approx(
        datetime(2026, 6, 21, 11, 0, tzinfo=PARIS).timestamp() + 0.123456, abs=1e-5
    )
    # a meter that never injects: no SINSTI values at all counts as 0
    only = parse_csv(
        "name,tags,time,SINSTS,SINSTI\nteleinfo,,1781992800,700,\nteleinfo,,1781992801,650,\n"
    )
    assert only.grid_w == (700.0, 650.0)


@pytest.mark.parametrize(
    ("text", "time_s"),
    [
        ("2026-06-21T12:00:00+02:00", 1782036000.0),
        ("2026-06-21T10:00:00Z", 1782036000.0),
        ("1782036000", 1782036000.0),
        ("1782036000500", 1782036000.5),  # ms
        ("1782036000500000", 1782036000.5),  # µs
        ("1782036000500000000", 1782036000.5),  # ns
        ("2026-06-21T12:00:00", None),  # no offset: ambiguous
        ("noon", None),
        ("nan", None),
    ],
)
def test_times_are_iso_with_offset_or_posix_in_any_precision(
    text: str, time_s: float | None
) -> None:
    assert parse_time(text) == (pytest.approx(time_s) if time_s is not None else None)


def test_derived_columns() -> None:
    header = "time,grid_w,pv_w,load_w\n"
    day = parse_csv(header + "1782036000,100,1000,1150\n1782036060,-500,2000,1480\n")
    assert day.load_w == (1100.0, 1500.0)  # grid + pv wins over the recorded load
    assert any("differs by up to 50 W" in n for n in day.notes)
    day = parse_csv("time,pv_w,load_w\n1782036000,1000,300\n1782036060,0,450\n")
    assert day.grid_w == (-700.0, 450.0)
    day = parse_csv("time,grid_w,extra\n1782036000,100,x\n1782036060,-50,y\n")
    assert day.grid_w == (100.0, 0.0, -50.0) and day.times[1] == 1782036040.0
    assert day.pv_w == (0.0, 0.0, 50.0) and day.load_w == (100.0, 0.0, 0.0)
    assert "columns ignored: extra" in day.notes


def test_every_csv_problem_is_reported_at_once_with_line_and_column() -> None:
    text = (
        "# exported by hand\n"
        "time,grid_w,pv_w\n"
        "2026-06-21T12:00:00+02:00,100,0\n"
        "2026-06-21T12:00:05,100,0\n"  # no offset
        "2026-06-21T12:00:10+02:00,abc,0\n"
        "2026-06-21T11:00:00+02:00,100,0\n"  # backwards
        "2026-06-21T12:00:20+02:00,100,0,7\n"  # one value too many
    )
    with pytest.raises(ConfigFileError) as caught:
        parse_csv(text, "day.csv")
    assert str(caught.value).splitlines() == [
        "day.csv:4: time: expected ISO 8601 with a UTC offset (2026-06-21T12:00:00+02:00) or "
        "POSIX time, got '2026-06-21T12:00:05'",
        "day.csv:5: grid_w: expected a number, got 'abc'",
        "day.csv:6: time: time goes backwards (line 5 is later)",
        "day.csv:7: 4 values for 3 columns",
    ]
    header_problems = {
        "grid_w,pv_w\n1,2\n": "day.csv:1: time: required column is missing",
        "time,pv_w\n1,2\n": "day.csv:1: grid_w: required column is missing: with only pv_w",
        "time,watts\n1,2\n": "day.csv:1: no power column: expected grid_w",
        "time,grid_w,SINSTS\n1,2,3\n": "day.csv:1: SINSTS: cannot mix an InfluxDB export",
        "": "day.csv:1: no header and no data",
        "time,grid_w\n1782036000,5\n": "day.csv: 1 usable rows: a replay needs at least two",
    }
    for text, message in header_problems.items():
        with pytest.raises(ConfigFileError, match="^" + message.replace("(", r"\(")):
            parse_csv(text, "day.csv")


def test_a_replay_runs_with_equipment_and_is_clipped_to_the_window_asked(tmp_path: Path) -> None:
    times, grid, pv = _recorded_day(step_s=10.0, seed=5)
    rows = [f"{t:.0f},{g:.0f},{p:.0f}" for t, g, p in zip(times, grid, pv, strict=True)]
    _write(tmp_path / "day.csv", "time,grid_w,pv_w", rows)
    scenario = _scenario(tmp_path, "day.csv")
    house = build(scenario, 1, start_hour=11.25, end_hour=11.4, site=reference_site())
    assert house.start == START.timestamp() + 15 * 60
    house.run()
    rec = house.recording
    diverted = [sum(rec.drawn_w[n][k] for n in rec.names) for k in range(rec.steps)]
    assert max(diverted) > 500  # the router took the exported power…
    for k in range(0, rec.steps, 11):  # …on top of the recorded house
        t = rec.start + k * rec.step_s
        assert rec.grid_w[k] == pytest.approx(Linear(times, grid)(t) + diverted[k], abs=1e-6)
    with pytest.raises(ValueError, match="nothing of it from 13 h to 14 h"):
        build(scenario, 1, start_hour=13.0, end_hour=14.0, site=NO_EQUIPMENT)


def test_a_recorded_day_checks_its_own_series() -> None:
    with pytest.raises(ValueError, match="at least two"):
        RecordedDay("x", (1.0,), (0.0,), (0.0,), (0.0,))
    with pytest.raises(ValueError, match="must not decrease"):
        RecordedDay("x", (2.0, 1.0), (0.0, 0.0), (0.0, 0.0), (0.0, 0.0))
    day = RecordedDay("x", (0.0, 10.0, 20.0), (1.0, 2.0, 3.0), (0.0,) * 3, (1.0, 2.0, 3.0), "step")
    series = day.series(day.grid_w)
    assert [series(t) for t in (0.0, 9.9, 10.0, 19.9, 20.0, 25.0)] == [1, 1, 2, 2, 3, 3]
    assert day.day(PARIS) == date(1970, 1, 1)
