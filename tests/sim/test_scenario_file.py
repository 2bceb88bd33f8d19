"""Scenario files (pvopt.sim.scenario_file), the built-in scenarios and their PV models.

Tests needing pvlib skip without it, except in CI (``CI=true``) where pvlib is part of
the environment and its absence is a failure: see :func:`require_pvlib`.
"""

from __future__ import annotations

import dataclasses
import importlib
import itertools
import os
import subprocess
import sys
from datetime import date, time
from pathlib import Path
from types import ModuleType

import pytest

from pvopt.equipment.loader import ConfigFileError
from pvopt.equipment.model import RegulationConfig, SiteConfig
from pvopt.sim import pv as pv_module
from pvopt.sim.equipment import DimmerLoad, TankParams
from pvopt.sim.load import DEFAULT_PROFILE
from pvopt.sim.pv import CloudProcess, PvPlant, PvSite, Sky, clear_sky_w
from pvopt.sim.scenario_file import (
    ALL_KEYS,
    EXAMPLE,
    EXAMPLE_REPLAY,
    load_scenario,
    parse_scenario,
    reference_markdown,
    resolve,
)
from pvopt.sim.scenarios import (
    REFERENCE_PV,
    SCENARIOS,
    BaseLoadParams,
    ExtraLoad,
    MeterParams,
    build,
    local_time,
)

SUMMER = date(2026, 6, 21)


def require_pvlib() -> ModuleType:
    """pvlib, or skip the test — but in CI (``CI=true``) a missing pvlib fails it."""
    if os.environ.get("CI", "").lower() == "true":
        return importlib.import_module("pvlib")
    return pytest.importorskip("pvlib")


def _errors(text: str) -> list[str]:
    with pytest.raises(ConfigFileError) as caught:
        parse_scenario(text, "house.yml")
    return str(caught.value).splitlines()


# -- the format ---------------------------------------------------------------------------


def test_the_complete_example_loads_with_every_key(tmp_path: Path) -> None:
    for key in ALL_KEYS:  # the example documents every key of the schema
        assert f"{key.rsplit('.', 1)[-1]}:" in EXAMPLE + EXAMPLE_REPLAY, key
    path = tmp_path / "house.yml"
    path.write_text(EXAMPLE, encoding="utf-8")
    sc = load_scenario(path)
    assert (sc.name, sc.day, sc.sky) == ("my-house", date(2026, 3, 18), Sky.BROKEN)
    assert sc.pv == PvSite(peak_w=3000.0, azimuth_deg=225.0)
    assert sc.pv_model == "auto"
    assert sc.base_load == BaseLoadParams(
        extra=(
            ExtraLoad("electric car", time(18, 30), time(21, 0), 3700.0),
            ExtraLoad("heat pump", time(22, 0), time(6, 0), 800.0),
        )
    )
    assert sc.base_load.profile == DEFAULT_PROFILE  # the example spells out the default
    assert sc.meter == MeterParams()
    assert sc.tank_start_c == 50.0 and sc.hot_water and sc.replay is None
    # without a name, the file's
    (tmp_path / "other.yml").write_text("day: 2026-06-21\n", encoding="utf-8")
    assert load_scenario(tmp_path / "other.yml").name == "other"


def test_the_replay_example_loads_next_to_its_csv(tmp_path: Path) -> None:
    (tmp_path / "2026-06-21.csv").write_text(
        "time,grid_w,pv_w\n2026-06-21T06:00:00+02:00,300,0\n2026-06-21T21:00:00+02:00,250,0\n",
        encoding="utf-8",
    )
    (tmp_path / "replay.yml").write_text(EXAMPLE_REPLAY, encoding="utf-8")
    sc = load_scenario(tmp_path / "replay.yml")
    assert sc.replay is not None and sc.day == date(2026, 6, 21)
    assert sc.meter.max_delay_s == 2.0 and sc.tank_start_c == 45.0
    assert sc.base_load.extra[0].label == "electric car"


def test_each_kind_of_error_is_reported_at_once_with_file_line_and_key_path() -> None:
    text = """\
day: 2026-13-01
sky: rainy
pv:
  tilt: 95
  peak_pwer: 3000
  model: magic
  altitude: high
base_load:
  profile: [[0, 200], [12, -5], [6, 300], [20, 300]]
  appliances: maybe
  extra:
    - {label: car, start: "25:00", end: "21:00", power: 0}
    - {label: oven, start: "19:00", end: "19:00", power: 2000}
    - {start: "19:00", end: "20:00", power: 2000}
    - 3
meter:
  period: 1
  jitter: 2
  period: 1.2
tank:
  thermostat_close: 70
  volume: -200
bogus: 1
"""
    assert _errors(text) == [
        "house.yml:1: day: expected a date YYYY-MM-DD, got 2026-13-01",
        "house.yml:2: sky: expected one of clear, broken, overcast, got 'rainy'",
        "house.yml:4: pv.tilt: expected a number from 0 to 90, got 95",
        "house.yml:5: pv.peak_pwer: unknown key (did you mean 'peak_power'?)",
        "house.yml:6: pv.model: expected one of auto, pvlib, textbook, got 'magic'",
        "house.yml:7: pv.altitude: expected a number from -500 to 9000, got 'high'",
        "house.yml:9: base_load.profile[1][1]: expected a number from 0 to 36000, got -5",
        "house.yml:9: base_load.profile[2][0]: hours must increase, got 6 after 12",
        "house.yml:9: base_load.profile: the profile must start at hour 0 and end at hour 24",
        "house.yml:10: base_load.appliances: expected true or false, got 'maybe'",
        "house.yml:12: base_load.extra[0].start: expected a time of day HH:MM, got '25:00'",
        "house.yml:12: base_load.extra[0].power: expected a positive number up to 36000, got 0",
        "house.yml:13: base_load.extra[1].end: must differ from start",
        "house.yml:14: base_load.extra[2].label: required key is missing (what it is, in reports)",
        "house.yml:15: base_load.extra[3]: expected a mapping {label, start, end, power}, got 3",
        "house.yml:18: meter.jitter: must be below meter.period (1.2), got 2",  # the last wins
        "house.yml:19: meter.period: key repeated (first at line 17)",
        "house.yml:21: tank.thermostat_close: must be below tank.thermostat_cut (65), got 70",
        "house.yml:22: tank.volume: expected a positive number up to 2000, got -200",
        "house.yml:23: bogus: unknown key; expected one of name, description, day, sky, pv, "
        "base_load, meter, tank, replay",
    ]


def test_structure_errors() -> None:
    assert _errors("") == [
        "house.yml:1: the file is empty; expected a mapping with 'day:' or 'replay:'"
    ]
    assert _errors("- day: 2026-06-21\n") == [
        "house.yml:1: expected a mapping of scenario keys and sections, got a list"
    ]
    assert _errors("sky: clear\n") == [
        "house.yml:1: day: required key is missing (local date YYYY-MM-DD, Europe/Paris), "
        "unless a day is replayed (replay:)"
    ]
    assert _errors("day: 2026-06-21\npv: 4000\n") == [
        "house.yml:2: pv: expected a mapping of pv keys, got 4000"
    ]
    assert _errors("day: 2026-06-21\n  bad: [\n")[0].startswith("house.yml:2: YAML syntax error")
    assert _errors("day: 2026-06-21\nmeter:\n  jitter: 1.5\n") == [
        "house.yml:3: meter.jitter: must be below meter.period (1.2), got 1.5"
    ]


def test_a_replay_rejects_what_the_recording_replaces_and_reports_the_csv_s_errors(
    tmp_path: Path,
) -> None:
    (tmp_path / "bad.csv").write_text("time,grid_w\n1782036000,x\n1782036001,5\n")
    text = """\
day: 2026-06-21
sky: broken
pv:
  tilt: 20
base_load:
  scale: 2
  extra: []
replay:
  file: bad.csv
  interpolation: cubic
"""
    with pytest.raises(ConfigFileError) as caught:
        parse_scenario(text, "house.yml", tmp_path)
    bad_csv = tmp_path / "bad.csv"
    assert str(caught.value).splitlines() == [
        "house.yml:1: day: not used with replay: the recording's first local date replaces it",
        "house.yml:2: sky: not used with replay: the recorded PV replaces it",
        "house.yml:3: pv: not used with replay: the recorded PV replaces it",
        "house.yml:6: base_load.scale: not used with replay: the recorded load replaces it",
        f"house.yml:9: replay.file: {bad_csv}:2: grid_w: expected a number, got 'x'",
        "house.yml:10: replay.interpolation: expected one of linear, step, got 'cubic'",
    ]
    with pytest.raises(
        ConfigFileError, match=r"replay\.file: .*missing\.csv: cannot read the file"
    ):
        parse_scenario("replay:\n  file: missing.csv\n", "house.yml", tmp_path)


def test_the_reference_documents_every_key() -> None:
    doc = reference_markdown()
    for key in ALL_KEYS:
        assert f"| `{key.rsplit('.', 1)[-1]}` |" in doc, key
    assert EXAMPLE.strip() in doc and EXAMPLE_REPLAY.strip() in doc


# -- built-ins and resolve() ------------------------------------------------------------------


def test_every_built_in_resolves_and_a_path_loads_a_file(tmp_path: Path) -> None:
    assert list(SCENARIOS) == [
        "clear-summer",
        "broken-clouds",
        "winter",
        "evening-peak",
        "seasonal",
    ]
    for name, scenario in SCENARIOS.items():
        resolved = resolve(name)
        assert resolved == dataclasses.replace(scenario, pv_model="auto")
        assert scenario.pv_model == "textbook"  # the reference figures' model
        assert resolve(name, builtin_pv_model="textbook") == scenario
    path = tmp_path / "house.yml"
    path.write_text("day: 2026-07-01\nsky: overcast\n", encoding="utf-8")
    assert resolve(str(path)).day == date(2026, 7, 1)
    with pytest.raises(ValueError, match="winter, evening-peak, seasonal or the path"):
        resolve("sunny")
    with pytest.raises(ConfigFileError, match="cannot read the file"):
        resolve(str(tmp_path / "missing.yml"))


def test_evening_peak_has_its_heavy_evening_while_the_sun_sets() -> None:
    house = build("evening-peak", 1, start_hour=6.0, end_hour=23.0)
    per_minute = house.base.sample(house.start, 60.0, 17 * 60)
    pv = house.pv.sample(house.start, 60.0, 17 * 60)

    def mean(values: list[float], start_h: float, end_h: float) -> float:
        part = values[int((start_h - 6) * 60) : int((end_h - 6) * 60)]
        return sum(part) / len(part)

    evening = mean(per_minute, 18.5, 21.0)
    assert evening >= 5000  # car + heat pump + cooking on top of the household
    assert max(per_minute) == max(per_minute[(18 - 6) * 60 : (21 - 6) * 60 + 30])
    assert mean(per_minute, 9.0, 17.0) <= 1200  # the day itself is ordinary
    assert mean(pv, 12.5, 14.0) >= 2500  # spring sun at midday…
    assert mean(pv, 18.5, 21.0) <= 150  # …gone during the peak
    labels = {p.label for p in house.base.pulses}
    assert {"electric car", "heat pump", "cooking"} <= labels


def test_build_honours_every_field_of_a_scenario() -> None:
    base = SCENARIOS["clear-summer"]
    custom = dataclasses.replace(
        base,
        pv=PvSite(peak_w=2000.0, azimuth_deg=270.0, inverter_w=1200.0),
        base_load=BaseLoadParams(
            scale=2.0,
            ripple_w=0.0,
            appliances=False,
            extra=(ExtraLoad("pump", time(23, 30), time(0, 30), 700.0),),
        ),
        meter=MeterParams(period_s=2.0, jitter_s=0.0, window_s=0.5, max_delay_s=0.0),
        tank=TankParams(volume_l=300.0, loss_w_per_k=2.0),
        tank_start_c=42.0,
        hot_water=False,
    )
    house = build(custom, 1, start_hour=0.0, end_hour=24.5)
    # PV: its own array, clipped at its inverter, facing west (production centred after 15:00)
    minutes = [house.start + 60.0 * m for m in range(24 * 60)]
    clear = [house.pv.clear_sky_w(t) for t in minutes]
    assert max(clear) == pytest.approx(1200.0)
    assert max(house.pv.power_w(t) for t in minutes) <= 1200.0
    centre_h = sum(m * p for m, p in enumerate(clear)) / sum(clear) / 60
    assert 15.0 <= centre_h <= 16.5
    # base load: the profile doubled, no ripple, no appliances, the pump across midnight
    at = local_time(custom.day, 3.0)
    assert house.base.power_w(at) == pytest.approx(2 * 192.0)  # 210 W → 180 W from 0 to 5 h
    assert house.base.power_w(local_time(custom.day, 23.75)) == pytest.approx(
        2 * 220.0 + 700.0  # 250 W → 210 W from 23 to 24 h, and the pump
    )
    assert house.base.power_w(local_time(custom.day, 24.25)) == pytest.approx(2 * 208.5 + 700)
    # meter: its timing
    meter = house.meter
    assert (meter.period_s, meter.jitter_s, meter.window_s, meter.max_delay_s) == (2, 0, 0.5, 0)
    # tank: its size, losses and start temperature; no draws
    heater = house.loads[1]
    assert isinstance(heater, DimmerLoad) and heater.tank is not None
    assert heater.tank.params.volume_l == 300.0 and heater.tank.params.loss_w_per_k == 2.0
    assert heater.tank.temperature_c == 42.0 and heater.tank.draws.draws == []
    # and the run itself uses them: frames every 2 s
    house.run_until(house.start + 60.0)
    frames = house.recording.frames
    gaps = [round(b.measured_at - a.measured_at, 6) for a, b in itertools.pairwise(frames)]
    assert gaps == [2.0] * (len(frames) - 1) and len(frames) >= 29


def test_unknown_power_equipment_is_simulated_at_its_expected_power() -> None:
    from pvopt.equipment.model import Command, UnknownPowerConfig

    site = SiteConfig(
        (
            UnknownPowerConfig(
                name="pump", id="pump", command=Command("plug/pump/in"), expected_power_w=900.0
            ),
        ),
        RegulationConfig(),
    )
    house = build("clear-summer", 1, start_hour=12.0, end_hour=12.1, site=site)
    assert house.loads[0].name == "pump"
    house.loads[0].command(0.0, True)
    assert house.loads[0].drawn_w() == 900.0


# -- PV models ------------------------------------------------------------------------------


def _plant(site: PvSite, day: date, model: pv_module.PvModelChoice) -> PvPlant:
    import random

    start, end = local_time(day, 0.0), local_time(day, 24.0)
    clouds = CloudProcess(Sky.CLEAR, random.Random(1), start, end)
    return PvPlant(site, clouds, start, end, model=model)


def _clear_day(plant: PvPlant, day: date) -> list[float]:
    return [plant.clear_sky_w(local_time(day, m / 60)) for m in range(24 * 60)]


def test_pvlib_clear_sky_peak_of_the_reference_site_is_plausible_and_near_the_textbook() -> None:
    pvlib = require_pvlib()
    plant = _plant(REFERENCE_PV, SUMMER, "pvlib")
    assert plant.model == f"pvlib {pvlib.__version__} Ineichen"
    with_pvlib = _clear_day(plant, SUMMER)
    textbook = _clear_day(_plant(REFERENCE_PV, SUMMER, "textbook"), SUMMER)
    peak, textbook_peak = max(with_pvlib), max(textbook)
    print(f"\nclear-summer clear-sky peak: pvlib {peak:.0f} W, textbook {textbook_peak:.0f} W")
    assert 3000 <= peak <= 3800
    assert abs(peak - textbook_peak) <= 0.15 * textbook_peak
    # at the same time of day (solar noon ≈ 13:42 CEST), and the same day's energy ±15 %
    assert abs(with_pvlib.index(peak) - textbook.index(textbook_peak)) <= 10
    assert sum(with_pvlib) == pytest.approx(sum(textbook), rel=0.15)
    assert with_pvlib[3 * 60] == 0.0  # night


@pytest.mark.parametrize(("azimuth", "earliest_h", "latest_h"), [(90, 10.5, 12.5), (270, 14.5, 17)])
def test_both_models_turn_the_array_east_and_west(
    azimuth: float, earliest_h: float, latest_h: float
) -> None:
    require_pvlib()
    site = dataclasses.replace(REFERENCE_PV, azimuth_deg=azimuth)
    for model in ("pvlib", "textbook"):
        day = _clear_day(_plant(site, SUMMER, model), SUMMER)
        peak_h = day.index(max(day)) / 60
        assert earliest_h <= peak_h <= latest_h, (model, peak_h)


def test_auto_uses_the_textbook_model_without_pvlib_and_pvlib_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "pvlib", None)  # import pvlib → ImportError
    assert pv_module.pvlib_version() is None
    plant = _plant(REFERENCE_PV, SUMMER, "auto")
    assert plant.model == "textbook"
    assert _clear_day(plant, SUMMER)[13 * 60] == pytest.approx(
        clear_sky_w(REFERENCE_PV, local_time(SUMMER, 13.0))
    )
    with pytest.raises(ImportError, match=r"pip install 'pvopt\[sim\]'"):
        _plant(REFERENCE_PV, SUMMER, "pvlib")


def test_the_built_ins_keep_the_textbook_model_and_resolve_picks_auto() -> None:
    house = build("clear-summer", 1, start_hour=12.0, end_hour=12.01)
    assert house.pv.model == "textbook"
    auto = build(resolve("clear-summer"), 1, start_hour=12.0, end_hour=12.01)
    expected = "textbook" if pv_module.pvlib_version() is None else "pvlib"
    assert auto.pv.model.startswith(expected)


def test_importing_the_simulator_never_imports_pvlib() -> None:
    code = (
        "import sys, pvopt.sim.scenarios, pvopt.sim.scenario_file, pvopt.sim.replay\n"
        "from pvopt.sim.scenarios import build\n"
        "build('clear-summer', 1, start_hour=12.0, end_hour=12.01)\n"
        "print(sorted(m for m in ('pvlib', 'pandas', 'numpy') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"
