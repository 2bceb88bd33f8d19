"""Issue #15 on the real chain: pty meter → ``pvopt teleinfo`` → mosquitto → ``pvopt
regulate`` → devices that obey ``scr/1/in`` and ``wifi_plug/2/in``, the probe publishing
on ``scr/1/temperature``.

The house (:mod:`.house`): PV at 3.28 kW (±50 W), the household drawing 350–470 W, a
2.4 kW water heater with a probe (temp_eco 50 °C) first, an 800 W pool pump second. At
its cap the heater leaves 480 W, 60 % of the pump's power, on the grid. While the tank
reads 48 °C the heater keeps strict priority: the pump stays off, the 480 W are exported.
Once it reads 52 °C its need is met and it gives way: the pump starts, and the very
evaluation that starts it lowers the heater, so that the meter never sees the pump's
step.

``start_delay: 5`` in the YAML: on h/r15 a start on a yielding heater's power waits
for the averaged budget over start_delay (600 s by default; only a thermostat cut's
freed power starts a load at once, and that fast start is being reworked on another
branch), and for the averaged shortfall, which strict priority left at ~340 W of the
pump's 800 W, to fall below start_max_import (5 %): ln(340 / 40) ≈ 2.1 start_delays,
~13 s here (~21 min with the default). The test allows 60 s. Below temp_eco it watches
30 s: a heater that gave way there (temp_eco 45 °C) started the pump 11–22 s after
reaching its cap (the clear surplus's own start, FAST_START_S, comes at 30 s).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import DaemonFactory, FrameStreamer, Mosquitto, PtyPort, Subscriber
from .house import HEATER_W, PUMP_W, House

pytestmark = pytest.mark.integration

CONFIG = """\
equipment:
  - name: water_heater
    type: TempDrivenVariablePowerEquipment
    id: 1
    max_power: 2400
    temp_min: 45
    temp_eco: 50
    temp_sol_min: 55
    temp_max: 60
  - {name: pool_pump, type: ConstantPowerEquipment, id: 2, nominal_power: 800}
regulation:
  start_delay: 5
"""
FRAME_S = 1.0
EXPORT_W = 0.6 * PUMP_W
BELOW_ECO_S = 30.0  # at its cap below temp_eco: the pump must stay off
START_BOUND_S = 60.0
AFTER_S = 10.0
#: The most a frame may show imported: the house's own noise (household and PV, a new
#: draw each second) is corrected a frame late, ~±160 W frame to frame at worst; the
#: pump's step left to the next frames' trim shows as ~350 W.
IMPORT_BOUND_W = 200.0


@dataclass
class Run:
    """When things happened (``time.monotonic()``), as the test's loop saw them."""

    started: float
    capped_at: float | None = None  # the heater at its cap (the tank at 48 °C)
    capped_frame: int = 0  # the first frame then
    warm_at: float | None = None  # the probe says 52 °C from then on
    pump_at: float | None = None  # the pump's command on
    heater_down_at: float | None = None  # the heater's first command well below its cap


def drive(house: House, sub: Subscriber) -> Run:
    """Apply the commands, publish the probe every 2 s: 48 °C until the heater has been
    at its cap for BELOW_ECO_S, 52 °C from then on; stop AFTER_S after the pump's start
    (or START_BOUND_S + AFTER_S after the 52 °C)."""
    seen = 0
    celsius = 48.0
    published = 0.0
    run = Run(started=time.monotonic())
    deadline = run.started + 40  # to reach the cap; then moved on
    while time.monotonic() < deadline:
        now = time.monotonic()
        if now - published >= 2.0:
            sub.client.publish("scr/1/temperature", f"{celsius:.1f}", qos=1)
            published = now
        for m in sub.messages[seen:]:
            house.obey(m.topic, m.payload)
            if m.topic == "wifi_plug/2/in" and m.payload == "1" and run.pump_at is None:
                run.pump_at = now
                deadline = now + AFTER_S
            if m.topic == "scr/1/in" and run.warm_at and house.heater_w < HEATER_W - 200:
                run.heater_down_at = run.heater_down_at or now
        seen = len(sub.messages)
        house.sample()
        if run.capped_at is None and house.heater_w >= HEATER_W - 1:
            run.capped_at, run.capped_frame = now, len(house.shown)
            deadline = now + BELOW_ECO_S + 1
        elif run.capped_at and run.warm_at is None and now >= run.capped_at + BELOW_ECO_S:
            celsius, published = 52.0, 0.0  # the tank crosses temp_eco
            run.warm_at = now
            deadline = now + START_BOUND_S + AFTER_S
        time.sleep(0.02)
    return run


def test_a_heater_at_its_cap_above_temp_eco_gives_way_to_the_pump_in_the_same_evaluation(
    tmp_path: Path,
    mosquitto: Mosquitto,
    subscriber_factory: Callable[..., Subscriber],
    teleinfo: DaemonFactory,
    pty_port: PtyPort,
    streamers: Callable[..., FrameStreamer],
) -> None:
    config = tmp_path / "equipment_config.yml"
    config.write_text(CONFIG)
    house = House(pv_w=410 + HEATER_W + EXPORT_W)  # 480 W beyond the heater's cap
    sub = subscriber_factory(["scr/#", "wifi_plug/#", "regulation/status", "pvopt/#"])
    teleinfo(pty_port.slave_path, "standard")
    reg = teleinfo.regulate(config)
    sub.wait_for(lambda m: m.topic == "pvopt/regulation/status" and m.payload == "online")
    streamers(pty_port, house.frame, interval=FRAME_S)
    run = drive(house, sub)
    assert run.capped_at is not None, "the heater never reached its cap"
    statuses = [m.json() for m in sub.on("regulation/status")]
    heater = [s["equipment"][0]["power_w"] for s in statuses]
    pump = [(s["equipment"][1]["state"], s["equipment"][1]["reason"]) for s in statuses]
    first_on = next((i for i, (state, _) in enumerate(pump) if state == "on"), None)
    shown = house.shown[run.capped_frame :]
    pump_s = None if run.pump_at is None or run.warm_at is None else run.pump_at - run.warm_at
    skew_s = (
        None
        if run.heater_down_at is None or run.pump_at is None
        else run.heater_down_at - run.pump_at
    )
    print(
        f"\nat the cap after {run.capped_at - run.started:.1f} s; 52 °C → pump after "
        f"{pump_s} s, heater command down {skew_s} s from the pump's; frames from the cap "
        f"on: up to {max(shown):.0f} W; pump: {' → '.join(dict.fromkeys(r for _, r in pump))}"
    )
    # below temp_eco: strict priority, the heater at its cap and 480 W exported
    assert run.warm_at is not None
    assert run.pump_at is None or run.pump_at > run.warm_at, "the pump started below temp_eco"
    below = house.shown[run.capped_frame + 3 : run.capped_frame + int(BELOW_ECO_S / FRAME_S)]
    assert sum(below) / len(below) == pytest.approx(-EXPORT_W, abs=60)
    # above it: the pump starts within the bound, the heater gives it room at once
    assert pump_s is not None and pump_s <= START_BOUND_S
    assert first_on is not None and first_on > 0
    assert pump[first_on][1] == "on: surplus"
    before_w, after_w = heater[first_on - 1], heater[first_on]
    assert before_w == pytest.approx(HEATER_W, abs=1)  # at its cap in the evaluation before
    assert 0.4 * PUMP_W <= before_w - after_w <= PUMP_W  # the same evaluation trims it
    assert skew_s is not None and abs(skew_s) <= FRAME_S  # and so do the devices' commands
    # the grid, as the meter shows it, never imports more than a little
    assert max(shown) <= IMPORT_BOUND_W
    # and the pump keeps running
    assert all(state == "on" for state, _ in pump[first_on:])
    assert house.pump_on and reg.running()
