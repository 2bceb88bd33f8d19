"""A Linky meter in TIC standard mode, as the regulation receives it.

- **Cadence**: a frame every ``period_s`` (1.2 s) ± ``jitter_s`` (uniform, 0.15 s): the
  frame length varies with its content and the meter's own scheduling.
- **Averaging**: each frame carries the mean grid power of the last ``window_s``
  (1 s) — SINSTS / SINSTI are not instantaneous. Computed exactly from the house's
  piecewise-constant grid power.
- **Delay**: the frame reaches the regulation ``U(0, max_delay_s)`` after it was
  measured (serial transmission at 9600 bd, teleinfo's decoding, MQTT); ``max_delay_s``
  defaults to one frame period. Frames stay in order (a serial line does not reorder).
- **Units**: SINSTS / SINSTI are apparent powers in whole VA; the house is modelled with
  a power factor of 1 so VA = W (the regulation treats them as W anyway).
- **Energy registers**: import and export energies integrated from the instantaneous
  grid power, like the meter's EAIT/EAST indexes — independent of the frames.

A frame carries ``MeterSample(time=received, import_va, export_va)``: the daemon stamps a
sample with the time it receives it, and so does the simulation.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime

from pvopt.regulation.model import MeterSample


@dataclass(frozen=True)
class Frame:
    """One frame: when it was measured and received, and the mean grid power it carries."""

    measured_at: float
    received_at: float
    grid_w: float  # as carried: whole VA, import − export
    sample: MeterSample


class LinkyMeter:
    """Frames of the grid power, averaged and delayed (see the module docstring)."""

    def __init__(
        self,
        rng: random.Random,
        start: float,
        period_s: float = 1.2,
        jitter_s: float = 0.15,
        window_s: float = 1.0,
        max_delay_s: float | None = None,
    ) -> None:
        self.rng = rng
        self.period_s = period_s
        self.jitter_s = jitter_s
        self.window_s = window_s
        self.max_delay_s = period_s if max_delay_s is None else max_delay_s
        self.import_wh = 0.0
        self.export_wh = 0.0
        self._start = start
        self._next = start + rng.uniform(0.0, period_s)
        self._segments: deque[tuple[float, float, float]] = deque(maxlen=64)  # t0, E0 (J), W
        self._energy_j = 0.0
        self.pending: deque[Frame] = deque()  # measured, not yet received
        self._last_received = start
        self._outages: list[tuple[float, float]] = []
        self.lost = 0

    def outage(self, start: float, end: float = float("inf")) -> None:
        """Frames measured in ``[start, end)`` never arrive (cable, decoder, broker down)."""
        self._outages.append((start, end))

    def _lost(self, t: float) -> bool:
        return any(a <= t < b for a, b in self._outages)

    def _energy_at(self, t: float) -> float:
        for t0, e0, power in reversed(self._segments):
            if t0 <= t:
                return e0 + power * (t - t0)
        return self._segments[0][1]  # before the first step: nothing was flowing

    def integrate(self, t0: float, dt: float, grid_w: float) -> None:
        """The grid power was ``grid_w`` from ``t0`` to ``t0 + dt``: count it, and measure
        every frame that falls in that step."""
        self._segments.append((t0, self._energy_j, grid_w))
        self._energy_j += grid_w * dt
        if grid_w > 0:
            self.import_wh += grid_w * dt / 3600.0
        else:
            self.export_wh -= grid_w * dt / 3600.0
        end = t0 + dt
        while self._next <= end:
            measured = self._next
            self._next += self.period_s + self.rng.uniform(-self.jitter_s, self.jitter_s)
            delay = self.rng.uniform(0.0, self.max_delay_s)
            if self._lost(measured):
                self.lost += 1
                continue
            since = max(measured - self.window_s, self._start)
            span = measured - since
            mean = (self._energy_at(measured) - self._energy_at(since)) / span if span else 0.0
            import_va, export_va = max(round(mean), 0), max(round(-mean), 0)
            received = max(measured + delay, self._last_received + 1e-3)
            self._last_received = received
            sample = MeterSample(datetime.fromtimestamp(received, UTC), import_va, export_va)
            self.pending.append(Frame(measured, received, float(import_va - export_va), sample))

    def received(self, until: float) -> list[Frame]:
        """Frames received before ``until``, in order (each returned once)."""
        out: list[Frame] = []
        while self.pending and self.pending[0].received_at < until:
            out.append(self.pending.popleft())
        return out
