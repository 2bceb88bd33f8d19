"""A new equipment_config.yml taken by a running regulation (pvopt.regulation.reload), on a
fake clock: what each load keeps, what starts afresh, what is switched off."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from houses import PARIS, T0, dimmer, heater, plug

from pvopt.ejp import EjpDay
from pvopt.equipment.model import EquipmentConfig, RegulationConfig, SiteConfig
from pvopt.regulation.core import Regulator
from pvopt.regulation.inputs import Control
from pvopt.regulation.model import MeterSample, Mode
from pvopt.regulation.reload import ConfigState, config_document, reload


def site(*equipment: EquipmentConfig) -> SiteConfig:
    return SiteConfig(tuple(equipment), RegulationConfig())


def run(reg: Regulator, seconds: int, export_va: int) -> None:
    """Evaluate a reading every second for ``seconds`` from T0 (a steady export)."""
    for s in range(seconds):
        at = T0 + timedelta(seconds=s)
        reg.evaluate(MeterSample(at, 0, export_va), at)


def test_a_kept_load_keeps_todays_energy_its_boost_and_its_tank_latches() -> None:
    old = Regulator(site(heater("heater"), plug("pump")), PARIS)
    run(old, 600, 3000)
    now = T0 + timedelta(seconds=600)
    old.apply_control("pump", Control(mode=Mode.FORCED, power_w=500, duration_s=3600), now)
    old.apply_control("heater", Control(threshold="max", celsius=58.0), now)
    old.load("heater").tank.solar_full = True  # type: ignore[union-attr]
    energy_wh = old.load("heater").energy_wh  # type: ignore[union-attr]
    assert energy_wh > 10

    # the same loads, the heater's maximum lowered and the pump renamed
    new_site = site(
        replace(heater("heater"), max_power_w=2000.0), replace(plug("pump"), name="pool_pump")
    )
    done = reload(old, new_site, now)
    new = done.regulator
    heater_state = new.load("heater")
    pump = new.load("pump")
    assert heater_state is not None and pump is not None
    assert pump.name == "pool_pump"  # found by its id
    assert heater_state.energy_wh == pytest.approx(energy_wh, rel=0.01)
    assert pump.mode is Mode.FORCED and pump.manual.forced_w == 500
    assert pump.manual.forced_until == now + timedelta(seconds=3600)
    assert heater_state.tank.solar_full is True
    assert heater_state.thresholds is not None and heater_state.thresholds.max_c == 58.0
    assert heater_state.power_w <= 2000  # capped by its new maximum
    assert done.carried.kept == ("heater", "pump") and done.carried.removed == ()
    assert done.off_commands == ()


def test_a_removed_load_is_switched_off_and_a_changed_kind_starts_fresh() -> None:
    old = Regulator(site(dimmer("boiler"), plug("dryer")), PARIS)
    run(old, 600, 4000)
    now = T0 + timedelta(seconds=600)
    assert old.load("boiler").energy_wh > 0  # type: ignore[union-attr]
    assert old.load("dryer").power_w > 0  # type: ignore[union-attr]

    # the boiler becomes an on/off plug under the same id; the dryer is gone
    done = reload(old, site(plug("boiler", 1500)), now)
    boiler = done.regulator.load("boiler")
    assert boiler is not None
    assert boiler.energy_wh == 0.0 and boiler.power_w == 0.0 and boiler.mode is Mode.AUTO
    assert done.carried.fresh == ("boiler",) and done.carried.removed == ("dryer",)
    assert done.regulator.load("dryer") is None
    sent = {c.topic: float(c.payload) for c in done.off_commands}
    # the removed load, and the old dimmer on its own topic, commanded off
    assert sent == {"wifi_plug/dryer/in": 0.0, "scr/boiler/in": 0.0}


def test_the_new_regulation_re_plans_at_once_from_the_last_reading() -> None:
    old = Regulator(site(dimmer("boiler")), PARIS)
    run(old, 60, 1500)
    now = T0 + timedelta(seconds=60)
    done = reload(old, site(dimmer("boiler"), dimmer("spare")), now)
    sample = done.regulator.plant.sample
    assert sample is not None
    decision = done.regulator.evaluate(sample, now)
    assert not decision.safe  # the reading is fresh: it regulates on, without waiting
    assert [o.name for o in decision.outputs] == ["boiler", "spare"]


def test_the_published_document_names_the_version_the_loads_and_the_result() -> None:
    loaded = site(dimmer("boiler"))
    state = ConfigState(
        path="/etc/pvopt/equipment_config.yml",
        version="ab" * 32,
        loaded_at=T0,
        site=loaded,
        result="refused",
        attempted_at=T0 + timedelta(minutes=5),
        attempted_version="cd" * 32,
        errors=({"line": 3, "column": 5, "path": "equipment[0].max_power", "message": "bad"},),
    )
    document = config_document(state, {"boiler": "VariablePowerEquipment"})
    assert document["version"] == "ab" * 32
    assert document["loads"] == [
        {"id": "boiler", "name": "boiler", "type": "VariablePowerEquipment"}
    ]
    last = document["last_reload"]
    assert isinstance(last, dict)
    assert last["result"] == "refused" and last["version"] == "cd" * 32
    assert last["errors"][0]["line"] == 3


def test_the_announced_ejp_days_survive_a_reload() -> None:
    old = Regulator(site(heater()), PARIS)
    tomorrow = T0.astimezone(PARIS).date() + timedelta(days=1)
    old.set_ejp_day(EjpDay(tomorrow, True), T0)
    new = reload(old, site(heater(), plug("pump")), T0).regulator
    assert dict(new.prices.ejp_days) == {tomorrow: True}
