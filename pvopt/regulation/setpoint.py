"""The grid power the trim loop aims at: the configured ``target_grid_power``, or zero
when a little import costs nothing.

The trim loop follows a meter that jitters by tens of watts, so around its target the
grid both imports and exports a little. The configured target (−20 W by default) keeps
the meter on the export side: an import is billed, an export at best earns little. That
is right when the heat a water heater takes is worth less than the import price: in peak
hours followed by a cheaper night (the grid heats it for less at night), or on a day the
sun fills the tank anyway (the imported heat would have come for nothing). On a day whose
sun left cannot fill the tank, at an hour no dearer than the next night
(:attr:`~pvopt.regulation.prices.PriceView.night_ratio` 1: a base contract, an EJP
normal day, off-peak hours), each kWh the tank takes now is a kWh its off-peak heating
or its evening's draws would buy at the same price, while each exported kWh is lost:
the target is then :data:`NEUTRAL_W`, so the jitter's exports and imports even out.

Only with a fresh PV forecast (``sun_left_wh``): without one, the configured target, as
before. A configured target at or above :data:`NEUTRAL_W` is always kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from pvopt.regulation.model import Mode, Setpoint
from pvopt.regulation.prices import PriceView
from pvopt.regulation.rules import sun_heats
from pvopt.regulation.state import LoadState

#: The target when import costs what the heat it brings saves (W).
NEUTRAL_W: Final = 0.0


def grid_target(
    configured_w: float,
    prices: PriceView,
    heaters: Sequence[LoadState],
    sun_left_wh: float | None,
) -> Setpoint:
    """The grid target now (see the module docstring): :data:`NEUTRAL_W` when the sun
    left today (``sun_left_wh``, from now to midnight; None: no fresh forecast) is below
    :data:`~pvopt.regulation.rules.SUN_HEATS_H` hours of the full power of an automatic
    water heater below ``temp_eco`` that the surplus may heat (not full, no thermostat
    cut), and the import price now is no dearer than the next off-peak window's; else
    ``configured_w``."""
    if configured_w >= NEUTRAL_W or sun_left_wh is None or prices.night_ratio > 1.0:
        return Setpoint(target_w=configured_w)
    for state in heaters:
        tank = state.tank
        if (
            state.manual.mode is Mode.AUTO
            and state.cut.until is None
            and not tank.need_met
            and not tank.solar_full
            and sun_heats(sun_left_wh, state.full_power_w) is None
        ):
            why = (
                f"target {NEUTRAL_W:.0f} W: the sun left today "
                f"({sun_left_wh / 1000:.1f} kWh) cannot fill {state.name}, "
                "its heat is worth the import"
            )
            return Setpoint(target_w=NEUTRAL_W, why=why)
    return Setpoint(target_w=configured_w)
