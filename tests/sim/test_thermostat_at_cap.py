"""A water heater's thermostat opening while its dimmer sits at its cap (issue 12).

The most common afternoon event of a PV router: the tank is hot, the heater at full
power, and its own thermostat opens. The command does not change, so the trim loop
reveals nothing; the meter only shows the export jump. The real core, in the simulated
house (averaging meter, a frame late), must find it within a few frames and hand the
share on: to the next dimmer, and to the pump behind within 60 s when the surplus left
covers it twice over. Controls: the sun rising under a heater that really draws.

The house: a clear June day at 13:00 on a 6 kWc array, the base load raised so that the
heater at its 2.4 kW cap leaves ``spare_w`` to spare, the tank 0.3 °C below its 65 °C
thermostat (it opens about 100 s later), then 2 minutes watched from the cut.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from pvopt.equipment.model import (
    Command,
    ConstantPowerConfig,
    SiteConfig,
    TempDrivenVariablePowerConfig,
    VariablePowerConfig,
)
from pvopt.sim import kpi
from pvopt.sim.equipment import DimmerLoad
from pvopt.sim.house import House
from pvopt.sim.pv import PvSite
from pvopt.sim.scenarios import HEATER_W, RADIATOR_W, build, reference_site

PUMP_W = 800.0
WATCH_S = 120.0


def _site(radiator: bool, probe: bool) -> SiteConfig:
    """The reference heater (and radiator), then an 800 W pump. With a probe, the heater's
    temp_max (70 °C) is above its tank's own thermostat (65 °C): the probe still reads
    below temp_max when the thermostat opens. The dimmers never yield (``yields:
    false``): the hand-over at the cut is what is watched, not the pump starting on a
    heater's or the radiator's power, clear and steady, which a dimmer that yields allows
    within FAST_START_S (issue 15)."""
    reference = reference_site(temp_driven=probe, radiator=radiator, onoff_loads=False)
    heater, *others = reference.equipment
    assert isinstance(heater, VariablePowerConfig)
    heater = replace(heater, yields=False)
    others = [
        replace(other, yields=False) if isinstance(other, VariablePowerConfig) else other
        for other in others
    ]
    if isinstance(heater, TempDrivenVariablePowerConfig):
        heater = replace(heater, temp_sol_min_c=60, temp_max_c=70)
    pump = ConstantPowerConfig(
        name="pool_pump",
        id="pool_pump",
        command=Command("plug/pool_pump/in"),
        nominal_power_w=PUMP_W,
        min_on_s=600,
        min_off_s=600,
    )
    return replace(reference, equipment=(heater, *others, pump))


def _house(
    spare_w: float, radiator: bool = False, probe: bool = False, tank_c: float = 64.7
) -> House:
    """The heater at its cap with ``spare_w`` more surplus (taken by the radiator if any,
    exported otherwise) from the first seconds on."""
    house = build(
        "clear-summer",
        start_hour=13.0,
        end_hour=13.25,
        site=_site(radiator, probe),
        appliances=False,
        hot_water=False,
        tank_start_c=tank_c,
        pv=PvSite(peak_w=6000.0),
    )
    t = house.start + 100
    surplus = house.pv.power_w(t) - house.base.power_w(t)
    house.base.add(house.start, house.end, surplus - HEATER_W - spare_w, "leaves the spare")
    return house


def _heater(house: House) -> DimmerLoad:
    heater = house.loads[0]
    assert isinstance(heater, DimmerLoad) and heater.tank is not None
    return heater


@dataclass
class Cut:
    """What followed a thermostat cut at ``at``."""

    at: float
    share_w: float  # what the heater drew just before
    verdict_s: float | None  # to the first "full: thermostat cut"
    pump_s: float | None  # to the pump's start
    radiator_w: float  # drawn 20 s after the cut (0 without a radiator)
    export_wh: float  # beyond the target, over WATCH_S
    import_wh: float
    reasons: list[str]  # the heater's, in order, without repeats


def _after_cut(house: House) -> Cut:
    tank = _heater(house).tank
    assert tank is not None
    while not tank.cuts and house.now < house.start + 600:
        house.run_until(house.now + 5)
    assert tank.cuts, "the thermostat never opened"
    at = tank.cuts[0]
    house.run_until(at + WATCH_S)
    rec = house.recording
    outputs = rec.outputs["water_heater"]
    verdict = next(
        (t - at for t, _, _, r in outputs if t > at and r == "full: thermostat cut"), None
    )
    pump = next((s.time - at for s in rec.switches["pool_pump"] if s.on and s.time > at), None)
    reasons: list[str] = []
    for t, _, _, reason in outputs:
        if t > at and (not reasons or reasons[-1] != reason):
            reasons.append(reason)
    response = kpi.step_response(house, at, band_w=50, horizon_s=WATCH_S)
    radiator = rec.drawn_w.get("radiator")
    return Cut(
        at=at,
        share_w=rec.drawn_w["water_heater"][rec.index(at - 1)],
        verdict_s=verdict,
        pump_s=pump,
        radiator_w=radiator[rec.index(at + 20)] if radiator is not None else 0.0,
        export_wh=response.excess_export_wh,
        import_wh=response.import_wh,
        reasons=reasons,
    )


CASES = [
    pytest.param(spare, radiator, id=f"spare-{spare:.0f}W{'-radiator' if radiator else ''}")
    for spare in (150.0, 600.0, 1500.0)
    for radiator in (False, True)
]


@pytest.mark.parametrize(("spare_w", "radiator"), CASES)
def test_a_cut_at_the_cap_is_found_and_its_share_goes_on(spare_w: float, radiator: bool) -> None:
    cut = _after_cut(_house(spare_w, radiator))
    free_w = HEATER_W + spare_w  # what the heater and the spare leave once it is cut
    left_w = free_w - (RADIATOR_W if radiator else 0.0)  # beyond the radiator's cap
    pump = "off" if cut.pump_s is None else f"after {cut.pump_s:.1f} s"
    print(
        f"\nspare {spare_w:.0f} W{' + radiator' if radiator else ''}: verdict after "
        f"{cut.verdict_s:.1f} s, pump {pump}, "
        f"radiator {cut.radiator_w:.0f} W at +20 s, export beyond target {cut.export_wh:.1f} Wh "
        f"and import {cut.import_wh:.2f} Wh in {WATCH_S:.0f} s; {' → '.join(cut.reasons)}"
    )
    assert cut.share_w == pytest.approx(HEATER_W, abs=5)  # at its cap when it opened
    assert cut.verdict_s is not None and cut.verdict_s <= 20
    assert cut.reasons[0].startswith("at its cap, export up")
    assert "testing: is it drawing?" in cut.reasons and "full: thermostat cut" in cut.reasons
    assert cut.import_wh <= 0.5
    if radiator:  # the next dimmer takes its share within a few frames
        assert cut.radiator_w >= min(RADIATOR_W, free_w) - 60
    if left_w >= 2 * PUMP_W:
        assert cut.pump_s is not None and cut.pump_s <= 60
        # At most what 60 s of waiting allow: the whole surplus left for 60 s, then what
        # the pump leaves of it.
        allowed_wh = (60 * left_w + (WATCH_S - 60) * (left_w - PUMP_W)) / 3600
        assert cut.export_wh <= allowed_wh
    else:  # not covered twice over: it waits its start_delay (the rework is issue 15)
        assert cut.pump_s is None


def test_a_cut_below_temp_max_with_a_probe_is_found_the_same_way() -> None:
    """A temperature-driven heater whose probe still reads below its temp_max (70 °C)
    when the tank's own thermostat (65 °C) opens: the same verdict, the same hand-over."""
    cut = _after_cut(_house(600.0, probe=True))
    assert cut.verdict_s is not None and cut.pump_s is not None
    print(f"\nwith a probe: verdict after {cut.verdict_s:.1f} s, pump after {cut.pump_s:.1f} s")
    assert cut.verdict_s <= 20 and cut.pump_s <= 60


@pytest.mark.parametrize("sun_w", [1000.0, 2000.0])
def test_the_sun_rising_under_a_heater_at_its_cap_that_draws_is_no_cut(sun_w: float) -> None:
    """The control: the export jumps by 1 or 2 kW (a load of the house ends, as a cloud
    leaving would look) while the heater, far from its thermostat, really draws. 2 kW
    could be the heater: it is tested; neither is a verdict, neither imports."""
    house = _house(150.0 + sun_w, tank_c=40.0)
    step = house.start + 120
    house.base.add(house.start, step, sun_w, "ends: the sun rises")  # 150 W spare until then
    house.run_until(step + WATCH_S)
    rec = house.recording
    reasons = {r for t, _, _, r in rec.outputs["water_heater"] if t > step}
    response = kpi.step_response(house, step, band_w=50, horizon_s=WATCH_S)
    drawn = rec.drawn_w["water_heater"][rec.index(step) : rec.index(step + WATCH_S)]
    print(
        f"\nsun +{sun_w:.0f} W: heater reasons {sorted(reasons)}, import "
        f"{response.import_wh:.2f} Wh, heater down to {min(drawn):.0f} W"
    )
    assert rec.drawn_w["water_heater"][rec.index(step - 1)] == pytest.approx(HEATER_W, abs=5)
    assert "full: thermostat cut" not in reasons
    assert ("testing: is it drawing?" in reasons) == (sun_w >= 0.7 * HEATER_W)
    assert response.import_wh <= 0.1
    assert rec.drawn_w["water_heater"][rec.index(step + WATCH_S) - 1] == pytest.approx(
        HEATER_W, abs=5
    )
