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

A frame carries ``MeterSample(time=received, import_va, export_va, tariff)``: the daemon
stamps a sample with the time it receives it, and so does the simulation. Given the
run's :class:`~pvopt.tariff.Tariff`, the frame also says what a standard-mode Linky's
LTARF / NTARF / STGE say (:class:`TariffLabels`): off-peak or not, today's Tempo colour,
and tomorrow's once announced (from 11:00, when RTE's colour reaches the meter), or the
EJP mobile peak.

Two ways to feed it. :meth:`LinkyMeter.integrate` takes the grid power one step at a time
and measures the frames falling in the step. The house, which knows its grid power as a
function of time between its events, counts runs of steps into the registers
(:meth:`LinkyMeter.count`) and has each frame measured when it is due
(:attr:`LinkyMeter.due`, :meth:`LinkyMeter.measure`) from the grid energy over the
frame's window, which it integrates itself. The frames'
timing (cadence, jitter, delay: the meter's own random stream, drawn in the same order)
does not depend on the grid, so both ways give the same frames.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import NamedTuple

from pvopt.equipment.model import Contract
from pvopt.regulation.model import MeterSample
from pvopt.tariff import MeterTariff, Tariff

#: When tomorrow's Tempo colour reaches the meter (RTE announces it late in the morning).
TEMPO_ANNOUNCED = time(11, 0)


class TariffLabels:
    """What the meter's tariff labels say at an instant, from the run's tariff and its
    colour calendars (the same minute after minute: remembered for the minute)."""

    def __init__(self, tariff: Tariff) -> None:
        self.tariff = tariff
        self._until = -1.0
        self._from = 0.0
        self._said = MeterTariff()

    def at(self, t: float) -> MeterTariff:
        """The labels at POSIX second ``t``."""
        if self._from <= t < self._until:
            return self._said
        start = t - t % 60.0  # tariff boundaries are whole local minutes
        self._from, self._until = start, start + 60.0
        tariff = self.tariff
        instant = datetime.fromtimestamp(start, UTC)
        state = tariff.at(instant)
        contract = tariff.config.contract
        tomorrow = None
        if contract is Contract.TEMPO and tariff.tempo_calendar is not None:
            day = tariff.tempo_day(instant)
            announced = datetime.combine(day, TEMPO_ANNOUNCED, tariff.tz)
            if instant >= announced:
                tomorrow = tariff.tempo_calendar.colour(day + timedelta(days=1))
        self._said = MeterTariff(
            period=state.period,
            offpeak=None if contract is Contract.BASE else state.offpeak,  # LTARF "BASE"
            colour_today=state.colour,
            colour_tomorrow=tomorrow,
            ejp_peak=state.period == "PM" if contract is Contract.EJP else None,
        )
        return self._said


class Frame(NamedTuple):
    """One frame: when it was measured and received, and the mean grid power it carries
    (a named tuple: ~70,000 a day are made)."""

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
        labels: TariffLabels | None = None,
    ) -> None:
        self.rng = rng
        self.labels = labels
        self.period_s = period_s
        self.jitter_s = jitter_s
        self.window_s = window_s
        self.max_delay_s = period_s if max_delay_s is None else max_delay_s
        self.import_wh = 0.0
        self.export_wh = 0.0
        self._start = start
        #: When the next frame is measured (POSIX seconds).
        self.due = start + rng.uniform(0.0, period_s)
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

    def _energy_between(self, since: float, until: float) -> float:
        return self._energy_at(until) - self._energy_at(since)

    def integrate(self, t0: float, dt: float, grid_w: float) -> None:
        """The grid power was ``grid_w`` from ``t0`` to ``t0 + dt``: count it, and measure
        every frame that falls in that step."""
        self._segments.append((t0, self._energy_j, grid_w))
        self._energy_j += grid_w * dt
        self.count(dt, (grid_w,))
        end = t0 + dt
        while self.due <= end:
            self.measure(self._energy_between)

    def count(self, dt: float, grid_w: Sequence[float]) -> None:
        """Steps of ``dt`` with the grid powers ``grid_w``: add them to the import and
        export registers."""
        if not grid_w:
            return
        if min(grid_w) >= 0.0:
            self.import_wh += sum(grid_w) * dt / 3600.0
        elif max(grid_w) <= 0.0:
            self.export_wh -= sum(grid_w) * dt / 3600.0
        else:
            self.import_wh += sum([g for g in grid_w if g > 0.0]) * dt / 3600.0
            self.export_wh -= sum([g for g in grid_w if g < 0.0]) * dt / 3600.0

    def measure(self, energy_j: Callable[[float, float], float]) -> None:
        """Measure the frame due at :attr:`due` (it is then :attr:`pending` until received,
        unless an outage loses it). ``energy_j(since, until)``: the grid energy (J) from
        ``since`` to ``until``, asked for the frame's window (ending at :attr:`due`)."""
        measured = self.due
        rng = self.rng
        # random.uniform(a, b) is a + (b − a)·random(): the same draws, without its call.
        jitter = self.jitter_s
        self.due = measured + (self.period_s + (-jitter + 2.0 * jitter * rng.random()))
        delay = self.max_delay_s * rng.random()
        if self._outages and self._lost(measured):
            self.lost += 1
            return
        # Conditionals rather than min() / max() here: ~70,000 frames a day.
        since = measured - self.window_s
        since = self._start if since < self._start else since
        span = measured - since
        mean = round(energy_j(since, measured) / span) if span else 0
        received = measured + delay
        floor = self._last_received + 1e-3
        received = floor if received < floor else received
        self._last_received = received
        labels = self.labels
        sample = MeterSample(
            datetime.fromtimestamp(received, UTC),
            mean if mean > 0 else 0,
            -mean if mean < 0 else 0,
            None if labels is None else labels.at(measured),
        )
        self.pending.append(Frame(measured, received, float(mean), sample))

    def received(self, until: float) -> list[Frame]:
        """Frames received before ``until``, in order (each returned once)."""
        out: list[Frame] = []
        while self.pending and self.pending[0].received_at < until:
            out.append(self.pending.popleft())
        return out
