"""The house of the real-chain regulation tests: a water heater behind a dimmer on
``scr/1/in`` and an 800 W pump on ``wifi_plug/2/in`` that obey the commands the regulation
sends, the PV and the household a little uneven, and the meter's frames.

The test's loop applies the commands and samples the grid every 20 ms; each frame shows
the mean of the second before the previous one (a Linky a frame late). ``cut``: the
heater's own thermostat opened, it draws nothing whatever its command.
"""

from __future__ import annotations

import random
import threading

from pvopt.equipment.dimmer import Curve, power_fraction
from pvopt.tic.encoder import linky_standard_frame

HEATER_W = 2400.0
PUMP_W = 800.0


class House:
    """The devices and the meter; PV ``pv_w`` ± 50 W, the household 350–470 W."""

    def __init__(self, pv_w: float = 3000.0) -> None:
        self.rng = random.Random(12)
        self.heater_w = 0.0
        self.pump_on = False
        self.cut = False
        self.base_w = 400.0
        self.pv_mean_w = pv_w
        self.pv_w = pv_w
        self._lock = threading.Lock()
        self._sum = 0.0
        self._n = 0
        self._shown = 0.0
        #: what each frame showed, in order
        self.shown: list[float] = []

    def grid_w(self) -> float:
        heater = 0.0 if self.cut else self.heater_w
        return self.base_w + heater + (PUMP_W if self.pump_on else 0.0) - self.pv_w

    def sample(self) -> float:
        with self._lock:
            grid = self.grid_w()
            self._sum += grid
            self._n += 1
        return grid

    def frame(self, i: int) -> bytes:
        with self._lock:
            shown, self._shown = self._shown, self._sum / self._n if self._n else self.grid_w()
            self._sum, self._n = 0.0, 0
            self.base_w = self.rng.uniform(350, 470)
            self.pv_w = self.pv_mean_w + self.rng.uniform(-50, 50)
            self.shown.append(shown)
        return linky_standard_frame(
            date=f"E2606151530{i % 60:02d}",
            sinsts_va=max(int(shown), 0),
            sinsti_va=max(int(-shown), 0),
            eait_wh=1000 + i,
            erq_varh=(1, 2, 3, 4),
        )

    def obey(self, topic: str, payload: str) -> None:
        if topic == "scr/1/in":
            self.heater_w = HEATER_W * power_fraction(float(payload) / 100, Curve.PHASE_ANGLE)
        elif topic == "wifi_plug/2/in":
            self.pump_on = payload == "1"
