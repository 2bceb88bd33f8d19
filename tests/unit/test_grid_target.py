"""The grid target the trim loop aims at (issue #15): the configured −20 W keeps the
jittering meter on the export side, where an import would be billed for heat worth less.
On a day whose sun left cannot fill the water heater's tank, at an hour no dearer than
the next night, a kWh the tank takes is a kWh the grid would sell it later at the same
price, and an exported kWh is lost: the target is 0 W, and the decision says why."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from daemons import Published, daemon_for
from houses import PARIS, T0, House, heater

from pvopt import topics
from pvopt.equipment.model import Contract, RegulationConfig, SiteConfig, TariffConfig
from pvopt.forecast import PvForecast, Slot
from pvopt.regulation.core import Regulator
from pvopt.regulation.model import MeterSample
from pvopt.web import reasons

NOON = T0.astimezone(PARIS)  # 14 June, 12:00 in Paris
MIDNIGHT = NOON.replace(hour=0)


def forecast(hourly_w: float, issued: datetime = MIDNIGHT) -> PvForecast:
    """Today and tomorrow: ``hourly_w`` in each hour from 08:00 to 16:00, nothing after."""
    slots = tuple(
        Slot(
            (MIDNIGHT + timedelta(hours=n)).astimezone(UTC),
            3600.0,
            hourly_w if 8 <= n % 24 < 16 else 0.0,
        )
        for n in range(48)
    )
    return PvForecast(issued.astimezone(UTC), slots)


def house(
    sun_w: float | None,
    celsius: float = 47.0,
    contract: Contract = Contract.BASE,
    target_w: float = -20.0,
) -> House:
    """A 2.4 kW water heater alone at noon, 1.5 kW of surplus (a dimmer's job), its tank
    at ``celsius``; a forecast of ``sun_w`` an hour until 16:00 (None: no forecast)."""
    site = SiteConfig(
        (heater(),),
        RegulationConfig(target_grid_w=target_w),
        TariffConfig(contract=contract),
    )
    regulator = Regulator(site, PARIS)
    if sun_w is not None:
        regulator.set_forecast(forecast(sun_w), 86_400.0)
    return House(regulator, pv_w=2000.0, base_w=500.0, celsius=celsius)


def settled(h: House) -> tuple[float, float, str]:
    """After a minute: the decision's target and reason, and the grid the trim reached."""
    h.run(60)
    decision = h.history[-1][2]
    return decision.target_w, h.grid_now(), decision.reason


def test_a_grey_day_on_one_price_aims_at_zero() -> None:
    """400 W an hour left until 16:00: 1.6 kWh, less than 2 h of the heater."""
    target_w, grid_w, reason = settled(house(sun_w=400.0))
    assert target_w == 0.0
    assert abs(grid_w) <= 11.0  # within the dead band of 0 W, not of −20 W
    assert reason == (
        "target 0 W: the sun left today (1.6 kWh) cannot fill heater, its heat is worth the import"
    )
    assert reasons.french(reason) == (
        "consigne 0\u00a0W : le soleil restant aujourd'hui (1,6\u00a0kWh) ne peut remplir "
        "heater, sa chaleur vaut l'achat"
    )


@pytest.mark.parametrize(
    ("case", "h"),
    [
        # no forecast: what the sun will bring is unknown, behaviour as before
        ("no forecast", lambda: house(sun_w=None)),
        # 3 kW an hour left until 16:00: 12 kWh fill the tank, imported heat displaces sun
        ("sunny", lambda: house(sun_w=3000.0)),
        # Tempo's peak hours: the night heats the tank for less than the import now
        ("tempo peak hours", lambda: house(sun_w=400.0, contract=Contract.TEMPO)),
        # temp_eco + 2 K reached: the tank's need is met
        ("tank warm", lambda: house(sun_w=400.0, celsius=52.5)),
    ],
)
def test_otherwise_the_configured_target_holds(case: str, h: Callable[[], House]) -> None:
    target_w, grid_w, reason = settled(h())
    assert (target_w, reason) == (-20.0, ""), case
    assert abs(grid_w + 20.0) <= 11.0, case


def test_a_configured_import_target_is_kept() -> None:
    target_w, grid_w, _ = settled(house(sun_w=400.0, target_w=30.0))
    assert target_w == 30.0
    assert abs(grid_w - 30.0) <= 11.0


def test_a_re_send_between_readings_says_the_same_target() -> None:
    """The decision of a tick that only re-sends the commands (every resend_interval)
    carries the target the last evaluation aimed at, and why, not the configured one."""
    h = house(sun_w=400.0)
    h.run(60)
    due = h.regulator.plant.emitter.resend_at
    assert due is not None
    while h.start + timedelta(seconds=h.t + 2 * 1.2) < due:  # readings until just before it
        h.run(1.2)
    decision = h.regulator.tick(due)
    assert decision is not None and decision.commands  # a re-send
    assert decision.target_w == 0.0
    assert decision.reason.startswith("target 0 W: the sun left today")


def test_the_daemon_logs_each_change_of_target(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """journalctl says when pvopt regulate moves its target and why, once per change."""
    text = (
        "equipment:\n  - type: TempDrivenVariablePowerEquipment\n    id: '0'\n"
        "    name: water_heater\n    max_power: 2400\n    temp_min: 45\n    temp_eco: 50\n"
        "    temp_sol_min: 55\n    temp_max: 60\n"
    )
    daemon = daemon_for(tmp_path / "equipment_config.yml", text, Published())
    now = datetime.now(UTC)
    handlers = daemon.subscriptions()
    today = now.astimezone(PARIS).replace(hour=0, minute=0, second=0, microsecond=0)
    grey = PvForecast(  # 400 W an hour by day, today and tomorrow: never 4.8 kWh left
        now, tuple(Slot(today + timedelta(hours=n), 3600.0, 400.0) for n in range(48))
    )
    handlers[topics.FORECAST](topics.FORECAST, grey.to_json().encode())

    def reading(celsius: float, at: datetime) -> None:
        handlers[topics.SCR_TEMPERATURES]("scr/0/temperature", str(celsius).encode())
        items = []
        while not daemon.events.empty():
            items.append(daemon.events.get_nowait())
        daemon.handle([*items, MeterSample(at, 0, 1500)], at)

    with caplog.at_level(logging.INFO, logger="pvopt.daemons.power_regulation"):
        for n in range(3):  # below temp_eco: 0 W, said once
            reading(47.0, now + timedelta(seconds=n))
        for n in range(3, 6):  # its need met: the configured target again, said once
            reading(53.0, now + timedelta(seconds=n))
    said = [r.getMessage() for r in caplog.records if r.getMessage().startswith("grid target")]
    assert len(said) == 2, said
    assert said[0].startswith("grid target 0 W: target 0 W: the sun left today (")
    assert said[1] == "grid target -20 W: as configured"
