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

from dataclasses import dataclass

import pytest
from heater_and_pump import PUMP_W, at_cap, water_heater

from pvopt.regulation.staging import FAST_START_S
from pvopt.sim import kpi
from pvopt.sim.house import House
from pvopt.sim.scenarios import HEATER_W, RADIATOR_W

WATCH_S = 120.0


@dataclass
class Cut:
    """What followed a thermostat cut at ``at``."""

    at: float
    share_w: float  # what the heater drew just before
    verdict_s: float | None  # to the first "full: thermostat cut"
    pump_s: float | None  # to the pump's start
    pump_reason: str | None  # why it started
    radiator_w: float  # drawn 20 s after the cut (0 without a radiator)
    export_wh: float  # beyond the target, over WATCH_S
    import_wh: float
    reasons: list[str]  # the heater's, in order, without repeats


def _after_cut(house: House) -> Cut:
    tank = water_heater(house).tank
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
    start = next((s for s in rec.switches["pool_pump"] if s.on and s.time > at), None)
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
        pump_s=None if start is None else start.time - at,
        pump_reason=None if start is None else start.reason,
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
    """A heater that never yields (``yields: false``; one that yields gives the pump its
    power before any cut, see test_yield_closed_loop) frees its power as the export
    shows: the pump starts FAST_START_S after that, within 60 s, not after the averaged
    start_delay (600 s)."""
    cut = _after_cut(at_cap(spare_w, radiator, heater_yields=False))
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
        # the fast start on the freed power, not the averaged start_delay (600 s)
        assert cut.pump_reason is not None and cut.pump_reason.endswith("kW steady")
        if not radiator:  # 30 s from the export showing on the meter
            assert FAST_START_S <= cut.pump_s <= FAST_START_S + 5
        # At most what 60 s of waiting allow: the whole surplus left for 60 s, then what
        # the pump leaves of it.
        allowed_wh = (60 * left_w + (WATCH_S - 60) * (left_w - PUMP_W)) / 3600
        assert cut.export_wh <= allowed_wh
    else:  # not covered twice over: it waits its start_delay (the rework is issue 15)
        assert cut.pump_s is None


def test_a_cut_below_temp_max_with_a_probe_is_found_the_same_way() -> None:
    """A temperature-driven heater whose probe still reads below its temp_max (70 °C)
    when the tank's own thermostat (65 °C) opens: the same verdict, the same hand-over."""
    cut = _after_cut(at_cap(600.0, probe=True, heater_yields=False))
    assert cut.verdict_s is not None and cut.pump_s is not None
    print(f"\nwith a probe: verdict after {cut.verdict_s:.1f} s, pump after {cut.pump_s:.1f} s")
    assert cut.verdict_s <= 20 and cut.pump_s <= 60


@pytest.mark.parametrize("sun_w", [1000.0, 2000.0])
def test_the_sun_rising_under_a_heater_at_its_cap_that_draws_is_no_cut(sun_w: float) -> None:
    """The control: the export jumps by 1 or 2 kW (a load of the house ends, as a cloud
    leaving would look) while the heater, far from its thermostat, really draws. 2 kW
    could be the heater: it is tested; neither is a verdict, neither imports."""
    house = at_cap(150.0 + sun_w, tank_c=40.0, heater_yields=False)
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
