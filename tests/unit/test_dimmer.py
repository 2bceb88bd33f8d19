"""Power ↔ firing percentage of the phase-angle dimmer (pvopt.equipment.dimmer)."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pvopt.equipment.dimmer import Curve, firing_fraction, percent_for_power, power_fraction

GRID = [i / 10_000 for i in range(10_001)]
unit = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


def delivered(x: float) -> float:
    """P/Pmax of a resistive load fired for the last fraction x of each half-wave.

    Written out independently of the module: the mean of sin² over the conducting part,
    (1/π)∫[π(1-x), π] sin²θ dθ = x − sin(2πx)/(2π).
    """
    return x - math.sin(2 * math.pi * x) / (2 * math.pi)


@given(unit)
def test_firing_fraction_inverts_power_fraction(z: float) -> None:
    assert abs(power_fraction(firing_fraction(z)) - z) < 1e-6


@given(unit)
def test_power_fraction_inverts_firing_fraction(x: float) -> None:
    """Judged on the power: near full firing the curve is flat (its slope 1 − cos 2πx
    vanishes at 1), so x = 1 − 1e-6 gives a power within 1e-17 of 1.0, which a double
    rounds to 1.0 itself; no inverse can tell those firings apart, nor need it."""
    z = power_fraction(x)
    assert abs(power_fraction(firing_fraction(z)) - z) < 1e-9
    if x <= 0.999:  # where the curve is steep enough to invert to 1e-6
        assert abs(firing_fraction(z) - x) < 1e-6


def test_the_inverse_is_exact_on_a_dense_grid() -> None:
    assert max(abs(power_fraction(firing_fraction(z)) - z) for z in GRID) < 1e-9


def test_power_fraction_is_the_phase_angle_integral() -> None:
    for x in GRID[::100]:
        assert power_fraction(x) == pytest.approx(delivered(x), abs=1e-12)


def test_firing_fraction_is_monotonic() -> None:
    values = [firing_fraction(z) for z in GRID]
    assert all(a < b for a, b in itertools.pairwise(values))


def test_endpoints_and_clamping() -> None:
    assert firing_fraction(0.0) == 0.0
    assert firing_fraction(1.0) == 1.0
    assert firing_fraction(-0.3) == 0.0
    assert firing_fraction(1.7) == 1.0
    assert power_fraction(0.0) == 0.0
    assert power_fraction(1.0) == pytest.approx(1.0, abs=1e-15)
    assert power_fraction(-1.0) == 0.0
    assert power_fraction(2.0) == pytest.approx(1.0, abs=1e-15)


def test_half_power_is_half_firing() -> None:
    assert firing_fraction(0.5) == pytest.approx(0.5, abs=1e-9)
    assert power_fraction(0.5) == pytest.approx(0.5, abs=1e-15)


def test_the_curve_is_point_symmetric_about_the_middle() -> None:
    for z in GRID[::250]:
        assert firing_fraction(1 - z) == pytest.approx(1 - firing_fraction(z), abs=1e-9)


def test_linear_curve_is_the_identity() -> None:
    for z in GRID[::100]:
        assert firing_fraction(z, Curve.LINEAR) == z
        assert power_fraction(z, Curve.LINEAR) == z
    assert firing_fraction(1.5, Curve.LINEAR) == 1.0
    assert power_fraction(-0.5, Curve.LINEAR) == 0.0


# Firing percentages for a 2400 W load: solutions of x − sin(2πx)/(2π) = P/2400, found
# by an independent bisection to 1e-12 and checked here against `delivered`.
EXAMPLES = [
    (0.0, 0.0),
    (100.0, 18.9437017208),  # 1/24 of the power needs almost a fifth of the half-wave
    (600.0, 36.7629052317),  # 25 %
    (1200.0, 50.0),
    (1800.0, 63.2370947683),  # 75 %: 100 − the 25 % figure
    (2400.0, 100.0),
]


@pytest.mark.parametrize(("power_w", "percent"), EXAMPLES)
def test_percent_for_power_examples(power_w: float, percent: float) -> None:
    assert delivered(percent / 100) == pytest.approx(power_w / 2400, abs=1e-10)
    assert percent_for_power(power_w, 2400.0, Curve.PHASE_ANGLE) == pytest.approx(percent, abs=1e-6)


def test_percent_for_power_clamps_and_handles_a_zero_maximum() -> None:
    assert percent_for_power(3000.0, 2400.0, Curve.PHASE_ANGLE) == 100.0
    assert percent_for_power(-50.0, 2400.0, Curve.PHASE_ANGLE) == 0.0
    assert percent_for_power(500.0, 0.0, Curve.PHASE_ANGLE) == 0.0
    assert percent_for_power(600.0, 2400.0, Curve.LINEAR) == 25.0


def test_phase_angle_needs_more_firing_than_linear_below_half_power() -> None:
    """The S-curve: little power for the first degrees of conduction."""
    for z in GRID[1:5000:50]:
        assert firing_fraction(z) > firing_fraction(z, Curve.LINEAR)
    for z in GRID[5001:-1:50]:
        assert firing_fraction(z) < firing_fraction(z, Curve.LINEAR)
