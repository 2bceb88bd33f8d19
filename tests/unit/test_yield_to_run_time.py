"""A run time the sun does not give is bought in peak hours: a water heater below its
need gives way to it when its sun would only have saved the night's cheaper heat
(issue #15, "prices and needs decide").

In peak hours followed by a cheaper night (Tempo, HP/HC), a water heater whose tank is
warm (from temp_min + 2 K until below temp_min) gives way to a lower-priority pump still
short of its daily run time: the pump starts on the heater's power, the heater making
room in the same decision. On a base contract (every hour costs the same), for a pump
with no run time to meet, below temp_min, or with ``yields: false``, the heater keeps
its strict priority below temp_eco."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

import houses
import pytest
from houses import FRAME_S, heater, plug

from pvopt.equipment.model import Contract, RegulationConfig, SiteConfig, TariffConfig
from pvopt.regulation.core import Regulator
from pvopt.regulation.staging import FAST_START_S

T0 = datetime(2026, 1, 14, 10, 0, tzinfo=UTC)  # 11:00 in Paris: Tempo peak hours
PUMP_W = 800.0
BASE_W = 500.0
SUN_W = 2000.0  # what the heater takes while the pump is off: no export at all
TEMPO = TariffConfig(contract=Contract.TEMPO)
BASE = TariffConfig()
RUN_S = 4 * 3600.0
#: The pump's latest start for its whole run by 20:00 (19:00 UTC in January): the run,
#: 2 % longer and a minute more, before it (15:54:07 in Paris).
LATEST_START = datetime(2026, 1, 14, 19, 0, tzinfo=UTC) - timedelta(seconds=RUN_S * 1.02 + 60)


def regulator(
    tariff: TariffConfig = TEMPO, *, yields: bool = True, run_s: float = RUN_S
) -> Regulator:
    """Heater first (2.4 kW, temp_min 45 °C, temp_eco 50 °C), then a pump needing ``run_s``
    a day by 20:00; the default regulation tunables."""
    pump = plug("pump", PUMP_W, min_on_s=600, min_off_s=600, daily_run_s=run_s, latest_end=time(20))
    site = SiteConfig((heater(yields=yields), pump), RegulationConfig(), tariff)
    return Regulator(site, houses.PARIS)


@dataclass
class House(houses.House):
    """PV that the heater takes whole while the pump is off, from T0; the meter shows the
    grid one frame late; the probe reports ``celsius`` every frame."""

    pv_w: float = BASE_W + SUN_W
    base_w: float = BASE_W
    start: datetime = T0

    def pump_on(self) -> list[bool]:
        return self.on(1)


def test_a_warm_tank_gives_its_sun_to_a_pump_short_of_run_time_in_peak_hours() -> None:
    house = House(regulator(), celsius=47.5)
    house.run(20)
    heater, pump = house.history[-1][2].outputs
    assert (heater.power_w, pump.on) == (pytest.approx(SUN_W - 20, abs=11), False)
    house.run(10 * 60)
    start = house.pump_on().index(True)
    started_s, _, decision = house.history[start]
    # the heater's 2 kW cover the pump twice over, steady: a start within seconds
    assert FAST_START_S <= started_s < FAST_START_S + 5
    heater_before = house.history[start - 1][2].outputs[0].power_w
    assert heater_before - decision.outputs[0].power_w == pytest.approx(PUMP_W, abs=25)
    assert all(g <= 150 for t, g, _ in house.history if t > started_s)  # no step seen
    assert all(house.pump_on()[start:])
    assert house.history[-1][2].outputs[0].power_w == pytest.approx(SUN_W - PUMP_W - 20, abs=11)


@pytest.mark.parametrize(
    ("tariff", "yields", "run_s", "celsius"),
    [
        (BASE, True, RUN_S, 47.5),
        (TEMPO, True, 0.0, 47.5),
        (TEMPO, True, RUN_S, 46.0),
        (TEMPO, False, RUN_S, 47.5),
    ],
    ids=["base contract", "no run time", "not warm yet", "yields false"],
)
def test_otherwise_a_heater_below_temp_eco_keeps_its_sun(
    tariff: TariffConfig, yields: bool, run_s: float, celsius: float
) -> None:
    house = House(regulator(tariff, yields=yields, run_s=run_s), celsius=celsius)
    house.run(30 * 60)
    assert not any(house.pump_on())
    assert house.history[-1][2].outputs[0].power_w == pytest.approx(SUN_W - 20, abs=11)


@pytest.mark.parametrize(
    ("tariff", "celsius"), [(BASE, 47.5), (TEMPO, 46.0)], ids=["base contract", "not warm yet"]
)
def test_a_pump_bought_at_its_latest_start_leaves_the_heater_its_sun(
    tariff: TariffConfig, celsius: float
) -> None:
    """A heater below its need that does not give way keeps its sun even when the pump's
    run is bought: from 4 min before its latest start, the pump, short of its whole run,
    starts at that start, and within 10 s the heater has its 1,980 W back and keeps it;
    the grid carries the pump (the run is bought anyway, the sun is not given away)."""
    start = LATEST_START - timedelta(minutes=4)
    house = House(regulator(tariff), celsius=celsius, start=start)
    house.run(4 * 60 + 5 * 60)
    first = house.pump_on().index(True)
    started_s, _, decision = house.history[first]
    assert 0 <= (start + timedelta(seconds=started_s) - LATEST_START).total_seconds() < 2 * FRAME_S
    assert decision.outputs[1].reason == "run time: 4 h left by 20:00"
    assert house.history[first - 1][2].outputs[0].power_w == pytest.approx(SUN_W - 20, abs=11)
    assert all(house.pump_on()[first:])
    heater_w = [d.outputs[0].power_w for t, _, d in house.history if t > started_s + 10]
    grid_w = [g for t, g, _ in house.history if t > started_s + 10]
    sun = pytest.approx(SUN_W - 20, abs=11)
    assert all(w == sun for w in heater_w), f"heater down to {min(heater_w):.0f} W"
    assert all(g == pytest.approx(PUMP_W - 20, abs=15) for g in grid_w), (min(grid_w), max(grid_w))


def test_a_tank_falling_below_temp_min_takes_its_sun_back() -> None:
    """Warm is a latch: from temp_min + 2 K until below temp_min. At 45.2 °C the pump runs
    on; at 44.9 °C the heater has its strict priority back and the pump stops (its
    min-on held, its budget averaged over stop_delay), once."""
    house = House(regulator(), celsius=47.5)
    house.run(11 * 60)
    assert house.pump_on()[-1]
    house.celsius = 45.2
    house.run(20 * 60)
    assert all(house.pump_on()[house.pump_on().index(True) :])
    house.celsius = 44.9
    fell_s = house.t
    house.run(15 * 60)
    stop = next(t for t, _, d in house.history if t > fell_s and not d.outputs[1].on)
    assert stop < fell_s + 2 * house.regulator.cfg.stop_delay_s
    assert house.history[-1][2].outputs[0].power_w == pytest.approx(SUN_W - 20, abs=11)


def test_once_the_run_time_is_met_the_heater_takes_its_sun_back() -> None:
    house = House(regulator(run_s=15 * 60), celsius=47.5)
    house.run(40 * 60)
    on = house.pump_on()
    start, stop = on.index(True), on.index(False, on.index(True))
    ran_s = house.history[stop][0] - house.history[start][0]
    assert 15 * 60 <= ran_s < 15 * 60 + 2 * house.regulator.cfg.stop_delay_s
    assert not any(on[stop:])
    assert house.history[-1][2].outputs[0].power_w == pytest.approx(SUN_W - 20, abs=11)
