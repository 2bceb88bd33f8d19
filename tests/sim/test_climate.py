"""The monthly clear-sky index table and the seasonal sky drawn from it."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, timedelta

import pytest

from pvopt.sim.climate import CLIMATE_POINTS, clear_sky_index
from pvopt.sim.pv import CloudProcess, DailyClouds, Sky, SkyPiece, clear_sky_w
from pvopt.sim.scenarios import PARIS, REFERENCE_PV, SCENARIOS, build, local_time
from pvopt.sim.sky import SKY_RATIOS, day_sky, seasonal_clouds, sky_shares

PIEDMONT, AMSTERDAM = CLIMATE_POINTS


def test_table_is_twelve_plausible_months_sunnier_in_july() -> None:
    for point in CLIMATE_POINTS:
        k = point.clear_sky_index
        assert len(k) == 12
        # A month can come out a little above 1: the Piedmont's dry December 2011 was
        # clearer than the climatological Linke turbidity of the clear-sky model.
        assert all(0.0 < x <= 1.05 for x in k), point.station
        assert k[6] > k[0], point.station
    assert PIEDMONT.latitude_deg < AMSTERDAM.latitude_deg
    # The 45° N point is the sunnier in every month but one (its October 0.486).
    assert (
        sum(p > a for p, a in zip(PIEDMONT.clear_sky_index, AMSTERDAM.clear_sky_index, strict=True))
        == 11
    )


def test_clear_sky_index_interpolates_in_latitude_and_holds_the_ends() -> None:
    for month in range(1, 13):
        south = PIEDMONT.clear_sky_index[month - 1]
        north = AMSTERDAM.clear_sky_index[month - 1]
        assert clear_sky_index(45.0, month) == south
        assert clear_sky_index(52.3, month) == north
        middle = (PIEDMONT.latitude_deg + AMSTERDAM.latitude_deg) / 2
        assert clear_sky_index(middle, month) == pytest.approx((south + north) / 2)
        quarter = PIEDMONT.latitude_deg + (AMSTERDAM.latitude_deg - PIEDMONT.latitude_deg) / 4
        assert clear_sky_index(quarter, month) == pytest.approx(south + (north - south) / 4)
        assert clear_sky_index(42.0, month) == south  # Corsica: held, not extrapolated
        assert clear_sky_index(55.0, month) == north
    with pytest.raises(ValueError, match="month 13"):
        clear_sky_index(45.0, 13)


@pytest.mark.parametrize("k_c", [0.3, 0.486, 0.534, 0.65, 0.753, 0.9, 0.97])
def test_sky_shares_have_the_clear_sky_index_as_mean(k_c: float) -> None:
    shares = sky_shares(k_c)
    assert shares.clear + shares.broken + shares.overcast == pytest.approx(1.0)
    assert min(shares.clear, shares.broken, shares.overcast) > 0.0
    assert shares.mean_ratio() == pytest.approx(k_c, abs=1e-6)


def test_sky_shares_clamp_beyond_the_clear_and_overcast_skies() -> None:
    assert sky_shares(1.024).clear == 1.0  # Piedmont's December: every day clear
    assert sky_shares(SKY_RATIOS[Sky.OVERCAST] - 0.01).overcast == 1.0
    assert sky_shares(0.8).clear > sky_shares(0.6).clear


def _day_ratio(clouds: CloudProcess, start: float, clear: list[float]) -> float:
    factor = clouds.sample(start, 60.0, len(clear))
    cap = REFERENCE_PV.cap_w
    pv = sum(min(c * k, cap) for c, k in zip(clear, factor, strict=True))
    return pv / sum(clear)


# Two latitudes and months: the greyest (Amsterdam, January) and a bright one (45° N, July).
@pytest.mark.parametrize(("latitude_deg", "month"), [(52.3, 1), (45.0, 7)])
def test_seasonal_days_average_the_months_clear_sky_index(latitude_deg: float, month: int) -> None:
    """300 seeded days (10 seeds × the first 30 days of the month): the mean daily PV /
    clear-sky energy ratio is within 0.04 of K_c (its standard error is about 0.015)."""
    k_c = clear_sky_index(latitude_deg, month)
    site = REFERENCE_PV
    ratios = []
    for d in range(30):
        day = date(2026, month, 1) + timedelta(days=d)
        start = local_time(day, 0.0)
        clear = [clear_sky_w(site, start + 60.0 * i) for i in range(1440)]
        for seed in range(10):
            clouds = seasonal_clouds(f"{seed}:stats", latitude_deg, start, start + 86_400.0, PARIS)
            ratios.append(_day_ratio(clouds, start, clear))
    mean = sum(ratios) / len(ratios)
    print(f"\n{latitude_deg}° N, month {month}: K_c {k_c:.3f}, mean of 300 days {mean:.3f}")
    assert mean == pytest.approx(k_c, abs=0.04)


def test_a_seasonal_day_is_the_same_however_long_the_run() -> None:
    first = date(2026, 1, 5)
    start = local_time(first, 0.0)
    short = seasonal_clouds("1:seasonal", 45.0, start, local_time(first, 72.0), PARIS)
    long = seasonal_clouds("1:seasonal", 45.0, start, local_time(first, 24.0 * 30), PARIS)
    # A run starting at 13:00 on the second day: that afternoon's clouds are the same.
    later = seasonal_clouds("1:seasonal", 45.0, local_time(first, 37.0), start + 86_400 * 5, PARIS)
    assert isinstance(long, DailyClouds)
    assert len(short.pieces) == 3
    assert len(long.pieces) == 30
    assert long.pieces[:3] == short.pieces
    # To the third day's 23:00: after a day's last cloud point the factor runs linearly to
    # the next day's first one (at night, no PV).
    three_days = 3 * 1440 - 60
    assert long.sample(start, 60.0, three_days) == short.sample(start, 60.0, three_days)
    afternoon = local_time(first, 38.0)
    assert later.sample(afternoon, 60.0, 360) == long.sample(afternoon, 60.0, 360)
    # The skies vary from day to day, and from seed to seed.
    assert len({p.sky for p in long.pieces}) > 1
    skies = [day_sky(f"{seed}:seasonal", first, 45.0) for seed in range(20)]
    assert len(set(skies)) > 1
    other = seasonal_clouds("2:seasonal", 45.0, start, local_time(first, 72.0), PARIS)
    assert other.sample(start, 60.0, three_days) != short.sample(start, 60.0, three_days)


def test_a_piece_is_the_single_sky_process_of_its_seed() -> None:
    """A one-piece process draws exactly what a fixed sky draws from the same stream."""
    start = local_time(date(2026, 5, 12), 0.0)
    end = start + 86_400.0
    for sky in Sky:
        piece = DailyClouds([SkyPiece(sky, start, end, "7:x")])
        fixed = CloudProcess(sky, random.Random("7:x"), start, end)
        assert piece.sample(start, 7.0, 12_000) == fixed.sample(start, 7.0, 12_000)
        assert piece.sky is sky


def test_the_seasonal_scenario_draws_each_day_at_the_arrays_latitude() -> None:
    sc = SCENARIOS["seasonal"]
    assert sc.day == date(2026, 1, 5)
    days = [sc.day + timedelta(days=i) for i in range(6)]
    for latitude in (REFERENCE_PV.latitude_deg, 52.0):
        house = build(
            "seasonal",
            3,
            end_hour=24.0 * len(days),
            pv=replace(REFERENCE_PV, latitude_deg=latitude),
        )
        clouds = house.pv.clouds
        assert isinstance(clouds, DailyClouds)
        assert [p.sky for p in clouds.pieces] == [day_sky("3:seasonal", d, latitude) for d in days]
    # The two latitudes give other skies on these days (else the test would not tell).
    assert [day_sky("3:seasonal", d, 45.0) for d in days] != [
        day_sky("3:seasonal", d, 52.0) for d in days
    ]
