"""Power ↔ firing percentage of a phase-angle dimmer driving a resistive load.

Firing a triac for the last fraction ``x`` of each half-wave delivers
``P/Pmax = x − sin(2πx)/(2π)`` to a resistive load (integral of sin² over the
conducting part). The curve is S-shaped: flat at both ends, steep in the middle. The
regulation thinks in watts; the dimmer firmware wants a percentage, so the curve is
inverted numerically (bisection: monotonic, exact to 1e-9, no dependency).
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
    """The firing fraction in [0, 1] that delivers ``power`` = P/Pmax (clamped to [0, 1])."""
    z = min(max(power, 0.0), 1.0)
    if curve is Curve.LINEAR or z in (0.0, 1.0):
        return z
    low, high = 0.0, 1.0
    for _ in range(40):  # 2^-40: far below the firmware's 0.1 % resolution
        mid = (low + high) / 2
        if power_fraction(mid, curve) < z:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def percent_for_power(power_w: float, max_power_w: float, curve: Curve) -> float:
    """The firing percentage (0–100) for ``power_w`` on a load of ``max_power_w``."""
    if max_power_w <= 0:
        return 0.0
    return 100.0 * firing_fraction(power_w / max_power_w, curve)
