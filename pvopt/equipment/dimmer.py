"""Power ↔ firing percentage of a phase-angle dimmer driving a resistive load.

Firing a triac for the last fraction ``x`` of each half-wave delivers
``P/Pmax = x − sin(2πx)/(2π)`` to a resistive load (integral of sin² over the
conducting part). The curve is S-shaped: flat at both ends, steep in the middle. The
regulation thinks in watts; the dimmer firmware wants a percentage, so the curve is
inverted numerically (Newton's method in a bisection bracket: monotonic, exact to
1e-9, no dependency).
"""

from __future__ import annotations

import math
from enum import Enum


class Curve(Enum):
    """Transfer curve of the dimmer (YAML ``dimmer_curve``)."""

    PHASE_ANGLE = "phase_angle"  # triac/SCR firing-angle control (the `scr` firmware)
    LINEAR = "linear"  # burst-fire or devices that already linearise power


def power_fraction(firing: float, curve: Curve = Curve.PHASE_ANGLE) -> float:
    """P/Pmax delivered for a firing fraction ``firing`` in [0, 1]."""
    x = min(max(firing, 0.0), 1.0)
    if curve is Curve.LINEAR:
        return x
    return x - math.sin(2 * math.pi * x) / (2 * math.pi)


def firing_fraction(power: float, curve: Curve = Curve.PHASE_ANGLE) -> float:
    """The firing fraction in [0, 1] that delivers ``power`` = P/Pmax (clamped to [0, 1]).

    Newton's method on ``x − sin(2πx)/(2π) = z`` from the curve's cubic end shape
    (``P/Pmax ≈ (2πx)²x/6`` near 0, symmetric near 1), kept inside a bisection bracket
    where the curve is flat: converges in a handful of steps (the regulation inverts the
    curve on every change of a dimmer's power).
    """
    z = min(max(power, 0.0), 1.0)
    if curve is Curve.LINEAR or z in (0.0, 1.0):
        return z
    tau = 2 * math.pi
    low, high = 0.0, 1.0
    end = min(z, 1.0 - z)
    x = min(math.cbrt(6.0 * end / (tau * tau)), 0.5)
    if z > 0.5:
        x = 1.0 - x
    for _ in range(64):
        error = x - math.sin(tau * x) / tau - z
        if error == 0.0:
            return x
        if error < 0:
            low = x
        else:
            high = x
        slope = 1.0 - math.cos(tau * x)
        following = x - error / slope if slope > 0 else -1.0
        if not low < following < high:
            following = (low + high) / 2
        if abs(following - x) <= 1e-15:
            return following
        x = following
    return x


def percent_for_power(power_w: float, max_power_w: float, curve: Curve) -> float:
    """The firing percentage (0–100) for ``power_w`` on a load of ``max_power_w``."""
    if max_power_w <= 0:
        return 0.0
    return 100.0 * firing_fraction(power_w / max_power_w, curve)
