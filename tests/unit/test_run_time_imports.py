"""Importing a little during a cloud is weighed against the later price, not against
zero (issue #15): what the sun does not give a pool pump short of its run time is bought
at its latest start anyway, in peak hours. So, staged, it may stay on importing the
share of its power that its run left needs of the time left to ``latest_end`` (4 h of
6 h left at 14:00: 67 %), and start importing the square of that share (44 %: a start
commits its min on), its averaged budget covering only the rest; an opportunistic
load, or a run that would be bought in cheaper off-peak hours ahead, keeps the usual
limits (the start margin on top of its power, ``start_max_import``, ``stop_max_import``).
With a PV forecast, the time left is the time the forecast's sun still covers its power:
after that, the run left is bought whatever happens."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import houses
import pytest
from houses import PARIS, pool_pump

from pvopt.equipment.model import Contract, RegulationConfig, SiteConfig, TariffConfig
from pvopt.forecast import PvForecast, Slot
from pvopt.regulation.core import Regulator

DAY = date(2026, 1, 15)
BASE_W = 300.0
TEMPO = TariffConfig(contract=Contract.TEMPO)


def at(hour: int, minute: int = 0) -> datetime:
    return datetime.combine(DAY, time(hour, minute), tzinfo=PARIS)


def regulator(
    run_s: float = 4 * 3600.0, latest_end: time = time(20), tariff: TariffConfig = TEMPO
) -> Regulator:
    """The shipped template's pool pump alone (750 W, min on 30 min, min off 10 min),
    needing ``run_s`` a day by ``latest_end``."""
    site = SiteConfig((pool_pump(run_s, latest_end),), RegulationConfig(), tariff)
    return Regulator(site, PARIS)


@dataclass
class Day(houses.Day):
    """A house whose surplus (PV less its base load) is ``surplus_w`` while the pump is
    off; one reading every STEP_S (each settled) from 11:00."""

    now: datetime = field(default_factory=lambda: at(11))
    base_w: float = BASE_W
    surplus_w: float = field(kw_only=True)

    def pv_at(self, now: datetime) -> float:
        """The base load and the surplus, whatever the hour."""
        return self.base_w + self.surplus_w


def test_a_pump_short_of_run_time_starts_on_a_surplus_short_of_its_power() -> None:
    """600 W (620 W less the grid target's 20 W) for a 750 W pump at 14:00: it imports
    20 %, within the 44 % a start allows, and covers the other 56 % of its power and
    margin, (750 + 300) × 56 % = 583 W, averaged: it starts after start_delay."""
    day = Day(regulator(), surplus_w=620, now=at(14))
    day.run(75)  # past its min-on and stop_delay
    start = day.started()
    assert start is not None
    delay_s = day.regulator.cfg.start_delay_s
    assert at(14) + timedelta(seconds=delay_s) <= start <= at(14) + timedelta(seconds=delay_s + 60)
    assert all(on for t, on, _ in day.on if t >= start)  # and runs on, importing 150 W


def test_it_stops_when_the_surplus_no_longer_covers_its_share() -> None:
    day = Day(regulator(), surplus_w=620, now=at(14))
    day.run(40)  # on, past its min-on: at 14:40 3 h 22 of 5 h 20 left (63 %)
    day.surplus_w = 200  # 180 W: 24 % of its power, below the 37 % it must cover
    day.run(30)
    stop = next(t for t, on, _ in day.on if t > at(14, 40) and not on)
    assert stop <= at(14, 40) + timedelta(seconds=2 * day.regulator.cfg.stop_delay_s)
    assert not day.on[-1][1]
    assert re.fullmatch(r"off: surplus 180 W of \d{3}", day.on[-1][2])


def test_a_start_asks_more_of_the_surplus_than_staying_on() -> None:
    """At 14:00 (67 %): 430 W keep a running pump on (it must cover 33 % of its power,
    250 W) but do not start a stopped one (56 % of its power and margin, 583 W): a start
    commits its 30 min min on, which a passing shortfall (a cloud, an oven) would be
    bought through."""
    running = Day(regulator(), surplus_w=620, now=at(14))
    running.run(40)  # on, past its min-on
    running.surplus_w = 450
    running.run(30)
    assert all(on for t, on, _ in running.on if t >= at(14, 40))
    stopped = Day(regulator(), surplus_w=450, now=at(14))
    stopped.run(30)  # by 14:30 its share is 73 %: a start needs 496 W
    assert stopped.started() is None
    assert re.fullmatch(r"off: surplus 430 W of 4\d\d", stopped.on[-1][2])


@pytest.mark.parametrize(
    ("run_s", "latest_end", "tariff"),
    [
        (0.0, time(20), TEMPO),  # no run time: an opportunistic load
        (3600.0, time(0), TEMPO),  # its latest start, 22:58, in the cheaper night ahead
    ],
    ids=["opportunistic", "bought cheaper tonight"],
)
def test_otherwise_the_usual_limits_hold(
    run_s: float, latest_end: time, tariff: TariffConfig
) -> None:
    day = Day(regulator(run_s, latest_end, tariff), surplus_w=600)
    day.run(60)
    assert day.started() is None
    assert day.on[-1][2] == "off: surplus 580 W of 1050"


def test_on_a_base_contract_the_later_run_costs_the_same_the_share_holds() -> None:
    day = Day(regulator(tariff=TariffConfig()), surplus_w=620, now=at(14))
    day.run(30)
    assert day.started() is not None


def test_the_share_grows_as_the_latest_start_nears() -> None:
    """At 11:00 4 h of 9 h (44 %: a start may import 20 %): 620 W do not start it
    ((750 + 300) × 80 % = 842 W); with 4 h of 6 h left at 14:00 (67 %: 44 %), they do
    (583 W)."""
    early = Day(regulator(), surplus_w=620)
    early.run(60)
    assert early.started() is None
    late = Day(regulator(), surplus_w=620, now=at(14))
    late.run(30)
    assert late.started() is not None


def covering_until(hour: int) -> PvForecast:
    """A forecast of DAY and the next, issued at midnight: 1,500 W in each hour from 08:00
    to ``hour``, nothing after."""
    first = at(0)
    slots = tuple(
        Slot((first + timedelta(hours=n)).astimezone(UTC), 3600.0, 1500.0 if 8 <= n < hour else 0)
        for n in range(48)
    )
    return PvForecast(first.astimezone(UTC), slots)


def with_forecast(forecast: PvForecast, max_age_s: float = 86_400.0, **kw: float) -> Regulator:
    reg = regulator(**kw)
    reg.set_forecast(forecast, max_age_s)
    return reg


def test_the_share_counts_only_the_hours_the_forecast_sun_still_covers_it() -> None:
    """At 11:00 4 h left of the 9 h to 20:00 (44 %): 420 W do not start it (above). The
    forecast's sun covers its 750 W only until 16:00: 4 h of 5 h (80 %), so a start
    must cover (750 + 300) × (1 − 80 %²) = 378 W of its power and margin, and 400 W
    start it. A forecast past its age says nothing: the 9 h hold."""
    covered = Day(with_forecast(covering_until(16)), surplus_w=420)
    covered.run(60)
    assert covered.started() is not None
    stale = Day(with_forecast(covering_until(16), max_age_s=3600.0), surplus_w=420)
    stale.run(60)
    assert stale.started() is None
    assert re.fullmatch(r"off: surplus 400 W of [78]\d\d", stale.on[-1][2])


def test_once_the_forecast_sun_is_over_any_surplus_serves_the_run() -> None:
    """At 15:30, 3 h short, the forecast's sun over since 15:00: what it lacks will be
    bought at its latest start (16:55) whatever happens, so 80 W of surplus start it and
    it runs on, importing the rest. Without the forecast, 3 h of the 4.5 h left (67 %):
    a start would have to cover 583 W of its power and margin, and it stays off."""
    day = Day(with_forecast(covering_until(15), run_s=3 * 3600.0), surplus_w=100, now=at(15, 30))
    day.run(20)
    start = day.started()
    assert start is not None and start < at(15, 45)
    assert all(on for t, on, _ in day.on if t >= start)
    without = Day(regulator(run_s=3 * 3600.0), surplus_w=100, now=at(15, 30))
    without.run(20)
    assert without.started() is None
