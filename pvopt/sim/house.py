"""The closed loop: a house on a fake clock around a :class:`Policy` (the real
:class:`~pvopt.regulation.core.Regulator` by default).

Time is cut into steps of ``step_s`` (0.2 s) and the physics is piecewise constant per
step: PV and base load are sampled at each step's start, and what each load draws, the
hot-water flows and the thermostats change only at step boundaries. The grid power
``grid = base + Σ drawn − PV`` (positive = import) is constant over a step.

The house is driven by events. A *segment* is a run of steps between two physical
events, where every load's power and every flow are constant: a command taking effect, a
thermostat acting, a hot-water draw starting or ending, the end of a chunk of sampled PV
and base load (3,000 steps) or of the run. A segment from step ``k``:

1. at its first step: the commands whose actuation time has come take effect on the
   loads, the thermostats that acted at the end of the last step stop (or let) their
   element draw, the flows starting there flow;
2. its end: the first step where a command already queued takes effect, a flow changes
   or, in closed form, a thermostat acts (:meth:`pvopt.sim.equipment.Tank.steps_to_switch`);
3. the controller's events during its steps, in time order at their exact times (at
   equal times: a frame, then a tick, then a probe reading): each frame is measured when
   it is due, its 1 s mean integrated exactly from the grid power of the steps (a running
   sum of base − PV per step plus the loads' constant powers); frames received →
   :meth:`Policy.evaluate`; every ``tick_s`` (0.5 s) → :meth:`Policy.tick`; every
   ``probe_s`` (10 s) → each probe's temperature, as at the start of the step in
   progress, to :meth:`Policy.set_temperature` (a probe exists where the configuration
   is temperature-driven and the load heats a tank; a plain dimmer's tank has none: the
   regulation only knows it through the meter). A decision whose command changes a
   load's power ends the segment at the step where it takes effect (2 above);
4. its physics, in bulk: the grid power of each step, the meter's registers, the tanks
   advanced exactly (:meth:`pvopt.sim.equipment.Tank.hold`) and every load's energy.

Until 2026-12 the house advanced step by step (432,000 Python iterations a day, ~2 s of
CPU besides the controller; ~0.6 s now), each step in this order: the commands due took
effect; PV, base load and the loads' powers gave the step's grid power; the meter
integrated it and measured the frames falling in the step; the controller's events
during the step ran (frames received, ticks, probe readings, at their times, in the
order above); then the loads' physics advanced one Euler step. The event-driven house
keeps that order where it matters: commands and thermostats still act at step
boundaries, events still see the tanks as at the start of the step in progress. What
changed: a frame is measured when it is due, in time order with the events, rather than
with its step (it still reads only the grid power up to its time, which no later event
can change: a decision's command takes effect at the next step boundary at the
earliest); the steps between physical events are computed and recorded together. The
controllers receive the same inputs at the same times and in the same order; the values
differ only by rounding (sums taken in another order; the model's PV and base load
sampled as arithmetic progressions between their breakpoints, see
:meth:`pvopt.sim.timeseries.Linear.sample`) and by the tanks now being integrated exactly
instead of by Euler steps (~1 mK warmer over a reference day: a probe reading can differ
where it sat on a 0.05 °C rounding edge, and a decision on it with it).

A decision's outputs reach the loads ``actuation_delay_s`` (0.2 s: MQTT, Wi-Fi, the
dimmer's next half-wave) after it, applied at the first step boundary after that: the
effective latency is 0.2–0.4 s. Loads follow ``Output.power_w`` / ``Output.on``; the MQTT
payloads the core sends are cross-checked against them (a device only ever knows what it
was sent) and any disagreement is counted in :attr:`Recording.command_mismatches`.

Everything is recorded (:class:`Recording`, per step as before, filled a run of steps at
a time): per step the grid, PV, base load, each load's drawn power, whether it could draw
(thermostat) and whether it was regulated automatically, the tank temperatures; the
frames as received; probe readings; each on/off load's switches; each load's output
changes.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import accumulate, repeat
from operator import add, attrgetter, sub
from typing import Any, NamedTuple

from pvopt.equipment.dimmer import power_fraction
from pvopt.equipment.model import (
    ConstantPowerConfig,
    EquipmentConfig,
    SiteConfig,
    TempDrivenVariablePowerConfig,
    UnknownPowerConfig,
    VariablePowerConfig,
)
from pvopt.regulation.model import Decision, Mode, Output
from pvopt.regulation.policy import Policy
from pvopt.sim.equipment import DimmerLoad, SimLoad, Tank
from pvopt.sim.load import BaseLoad
from pvopt.sim.meter import Frame, LinkyMeter
from pvopt.sim.pv import PvPlant
from pvopt.sim.timeseries import LevelChange

#: PV and base load are sampled this many steps at a time (10 min: one pass is much
#: faster than one call per step); a chunk's end ends a segment.
CHUNK_STEPS = 3000
#: "No step": later than any.
NEVER = 1 << 62
INFINITY = float("inf")


def regulated_automatically(out: Output) -> bool:
    """True when the regulation (not a manual mode, a forced run, off-peak grid heating,
    a run-time need's grid run or a plain timer, as ``none``'s pool pump) decides this
    load's power."""
    return (
        out.mode is Mode.AUTO
        and not out.forced
        and not out.reason.startswith(("off-peak", "forced", "on: manual", "timer:", "run time:"))
    )


class _Runs:
    """A per-step series recorded run by run: ``value`` holds from step ``since`` until
    the next :meth:`set` (the array gets the run then, in one piece)."""

    __slots__ = ("out", "since", "value")

    def __init__(self, out: array[Any], value: float, since: int) -> None:
        self.out, self.value, self.since = out, value, since

    def set(self, value: float, k: int) -> None:
        """``value`` from step ``k`` on."""
        self.flush(k)
        self.value = value

    def flush(self, k: int) -> None:
        """Record the run up to step ``k`` (excluded)."""
        if k > self.since:
            self.out.extend(array(self.out.typecode, [self.value]) * (k - self.since))
            self.since = k


class OutputChange(NamedTuple):
    """What a decision gave a load, when it changed."""

    time: float  # POSIX s
    power_w: float
    on: bool
    reason: str


class ProbeReading(NamedTuple):
    """A tank probe's reading as published to the controller."""

    time: float  # POSIX s
    celsius: float


class SafeDecision(NamedTuple):
    """A decision taken in the safe state (inputs not trusted), and why."""

    time: float  # POSIX s
    reason: str


class Command(NamedTuple):
    """A command on its way to a load: it takes effect at ``at``."""

    at: float  # POSIX s
    load: int  # its index in the house's loads
    power_w: float
    on: bool


@dataclass(frozen=True)
class Switch:
    """An on/off load switched by a decision."""

    time: float
    on: bool
    safe: bool  # shed by the safety rule (stale data, teleinfo offline, shutdown)
    reason: str


@dataclass
class Recording:
    """Everything a run produced (time in POSIX seconds; step ``i`` is
    ``[start + i·step_s, start + (i+1)·step_s)``)."""

    site: SiteConfig
    start: float
    step_s: float
    names: list[str]
    grid_w: array[float] = field(default_factory=lambda: array("d"))
    pv_w: array[float] = field(default_factory=lambda: array("d"))
    base_w: array[float] = field(default_factory=lambda: array("d"))
    safe: array[int] = field(default_factory=lambda: array("b"))
    drawn_w: dict[str, array[float]] = field(default_factory=dict)
    able: dict[str, array[int]] = field(default_factory=dict)  # loads with a thermostat
    auto: dict[str, array[int]] = field(default_factory=dict)
    tank_c: dict[str, array[float]] = field(default_factory=dict)
    frames: list[Frame] = field(default_factory=list)
    probes: dict[str, list[ProbeReading]] = field(default_factory=dict)
    switches: dict[str, list[Switch]] = field(default_factory=dict)
    outputs: dict[str, list[OutputChange]] = field(default_factory=dict)
    decisions: int = 0
    safe_decisions: list[SafeDecision] = field(default_factory=list)
    command_mismatches: int = 0

    def __post_init__(self) -> None:
        for name in self.names:
            self.drawn_w.setdefault(name, array("d"))
            self.auto.setdefault(name, array("b"))
            self.switches.setdefault(name, [])
            self.outputs.setdefault(name, [])

    @property
    def steps(self) -> int:
        """Number of recorded steps."""
        return len(self.grid_w)

    @property
    def end(self) -> float:
        """End of the last recorded step."""
        return self.start + self.steps * self.step_s

    def index(self, t: float) -> int:
        """The step holding ``t`` (clamped to the recording)."""
        i = int((t - self.start) / self.step_s + 1e-9)
        return min(max(i, 0), self.steps)

    def forget_before(self, t: float) -> None:
        """Drop what was recorded before ``t`` (a long run graded day by day keeps only a
        day or two in memory: ~110 MB a simulated day otherwise). The steps' arrays are cut
        in place (the house keeps appending to the same arrays) and ``start`` moves to the
        first step kept; the events before ``t`` go too, but for each load's last two
        switches and last output change, which the grading of what follows looks back at.
        """
        n = min(max(int((t - self.start) / self.step_s + 1e-9), 0), self.steps)
        if n == 0:
            return
        series: list[array[Any]] = [self.grid_w, self.pv_w, self.base_w, self.safe]
        for table in (self.drawn_w, self.able, self.auto, self.tank_c):
            series.extend(table.values())
        for values in series:
            del values[:n]
        self.start += n * self.step_s
        cut = self.start
        by_time = attrgetter("time")
        del self.frames[: bisect_left(self.frames, cut, key=attrgetter("received_at"))]
        for readings in self.probes.values():
            del readings[: bisect_left(readings, cut, key=by_time)]
        for switches in self.switches.values():
            del switches[: max(bisect_left(switches, cut, key=by_time) - 2, 0)]
        for outputs in self.outputs.values():
            del outputs[: max(bisect_left(outputs, cut, key=by_time) - 1, 0)]
        del self.safe_decisions[: bisect_left(self.safe_decisions, cut, key=by_time)]

    def config(self, name: str) -> EquipmentConfig:
        """The configuration of a load."""
        return next(c for c in self.site.equipment if c.name == name)

    def output_at(self, name: str, t: float) -> OutputChange | None:
        """The last output change of a load at or before ``t``."""
        last = None
        for entry in self.outputs[name]:
            if entry.time > t:
                break
            last = entry
        return last


class Segment(NamedTuple):
    """Steps from ``first`` during which every load's power is constant."""

    first: int  # its first step
    drawn_j: float  # the loads' energy at that step, J
    drawn_w: float  # their total power, W


class _Chunk:
    """PV and base load sampled for ``n`` steps from step ``first``, and what the meter's
    averages need: base − PV per step from ``origin`` (up to a window before ``first``)
    and its running sum."""

    __slots__ = ("base", "cum", "first", "n", "net", "origin", "pv")

    def __init__(self, first: int, pv: list[float], base: list[float], tail: list[float]) -> None:
        self.first = first
        self.n = len(pv)
        self.pv, self.base = pv, base
        self.net: list[float] = tail + list(map(sub, base, pv))
        self.origin = first - len(tail)
        self.cum = list(accumulate(self.net, initial=0.0))  # Σ net before each step (W·step)


class _Heated:
    """A load heating a tank, as the house drives it: its flow now and where it changes,
    its recorded thermostat and temperatures."""

    __slots__ = ("able", "flow", "i", "load", "name", "next_change", "run", "tank", "temps")

    def __init__(self, i: int, load: DimmerLoad, tank: Tank, name: str, rec: Recording) -> None:
        self.i, self.load, self.tank, self.name = i, load, tank, name
        self.temps = rec.tank_c[name] = array("d")
        rec.able[name] = array("b")
        self.able = _Runs(rec.able[name], 1 if tank.closed else 0, 0)
        self.flow = 0.0
        self.run: list[LevelChange] = []  # the chunk's flow runs (step in the chunk)
        self.next_change = 0  # index in run of the next change


class House:
    """The simulated house around a regulator (see the module docstring)."""

    def __init__(
        self,
        regulator: Policy,
        pv: PvPlant,
        base: BaseLoad,
        loads: list[SimLoad],
        meter: LinkyMeter,
        start: float,
        step_s: float = 0.2,
        tick_s: float = 0.5,
        probe_s: float = 10.0,
        actuation_delay_s: float = 0.2,
        end: float | None = None,
    ) -> None:
        by_id = {load.id: load for load in loads}
        equipment = regulator.site.equipment
        missing = [cfg.id for cfg in equipment if cfg.id not in by_id]
        if missing or len(loads) != len(equipment):
            raise ValueError(f"simulated loads do not match the configuration: {missing}")
        self.regulator = regulator
        self.pv = pv
        self.base = base
        self.loads = [by_id[cfg.id] for cfg in equipment]  # priority order
        self.meter = meter
        self.start = start
        self.end = end  # where the precomputed PV and base load stop; run() goes there
        self.step_s = step_s
        self.tick_s = tick_s
        self.probe_s = probe_s
        self.actuation_delay_s = actuation_delay_s
        self._index = {load.id: i for i, load in enumerate(self.loads)}
        self._k = 0
        self._next_tick = start + tick_s
        # The ticks' datetimes: stepped by tick_s where that gives exactly
        # datetime.fromtimestamp(tick) (whole-second start, tick_s whole µs and exact in
        # binary, so the ticks' float times are exact), ~4× cheaper; else None.
        exact = start == int(start) and (tick_s * 1e6).is_integer() and (tick_s * 64).is_integer()
        self._tick_now = datetime.fromtimestamp(self._next_tick, UTC) if exact else None
        self._tick_step = timedelta(seconds=tick_s)
        self._next_probe = start + 0.05  # a first reading before the first frame
        self._pending: deque[Command] = deque()
        self._auto = [1] * len(self.loads)
        self._safe = 0
        self._last_out: list[Output | None] = [None] * len(self.loads)  # the last that changed
        self._seen: list[Output | None] = [None] * len(self.loads)
        self._last_cmd: list[tuple[float, bool] | None] = [None] * len(self.loads)
        self._sent: dict[str, str] = {}
        self._checked: list[tuple[tuple[str | None, float, bool], bool] | None]
        self._checked = [None] * len(self.loads)
        configs = list(equipment)
        self._configs = configs
        self._topics = [cfg.command.topic for cfg in configs]
        names = [cfg.name for cfg in configs]
        self.recording = Recording(regulator.site, start, step_s, names)
        self._record_by_runs(names)
        # The grid energy for the meter's averages (see _energy): base − PV of the last
        # steps before _k, the loads' energy (J) at _k, and the recent segments.
        self._window_steps = int(meter.window_s / step_s) + 3
        self._tail: list[float] = []
        self._drawn_j = 0.0
        self._segments: list[Segment] = []

    def _record_by_runs(self, names: list[str]) -> None:
        """The per-step series recorded run by run (see _Runs) across calls of run_until;
        the loads heating a tank, those with a probe."""
        rec = self.recording
        self._drawn = [load.drawn_w() for load in self.loads]
        self._drawn_runs = [
            _Runs(rec.drawn_w[name], drawn, 0)
            for name, drawn in zip(names, self._drawn, strict=True)
        ]
        self._auto_runs = [_Runs(rec.auto[name], 1, 0) for name in names]
        self._safe_run = _Runs(rec.safe, 0, 0)
        self._heated = [
            _Heated(i, load, load.tank, name, rec)
            for i, (load, name) in enumerate(zip(self.loads, names, strict=True))
            if isinstance(load, DimmerLoad) and load.tank is not None
        ]
        heated = {h.i for h in self._heated}
        self._plain = [(i, load) for i, load in enumerate(self.loads) if i not in heated]
        # A probe exists where the configuration is temperature-driven and the load heats
        # a tank (a plain dimmer's tank has none: the regulation only knows it through the
        # meter).
        self._probed = [
            h for h in self._heated if isinstance(self._configs[h.i], TempDrivenVariablePowerConfig)
        ]
        for h in self._probed:
            rec.probes[h.name] = []

    @property
    def now(self) -> float:
        """The simulated time (POSIX seconds): start of the next step."""
        return self.start + self._k * self.step_s

    def run(self) -> None:
        """Simulate until :attr:`end`."""
        if self.end is None:
            raise ValueError("no end given: use run_until")
        self.run_until(self.end)

    # -- steps and times -------------------------------------------------------------------

    def _first_step_at(self, t: float) -> int:
        """The first step whose start is at ``t`` or after it (to 1 ns): where a command
        effective at ``t`` takes effect."""
        start, dt = self.start, self.step_s
        k = max(int((t - start) / dt) - 1, 0)
        while start + k * dt + 1e-9 < t:
            k += 1
        return k

    def _step_of(self, t: float) -> int:
        """The step during which an event at ``t`` happens (the first whose end is after
        it)."""
        start, dt = self.start, self.step_s
        k = max(int((t - start) / dt) - 1, 0)
        while not t < (start + k * dt) + dt:
            k += 1
        return k

    # -- the loop --------------------------------------------------------------------------

    def run_until(self, end: float) -> None:
        """Simulate until ``end`` (may be called again to continue, e.g. after a test
        changed something: PV, base load and hot-water flows are sampled afresh, and each
        load's state read again, at each call)."""
        start, dt = self.start, self.step_s
        last = max(self._k, int((end - start) / dt) - 2)
        while start + last * dt < end - 1e-9:
            last += 1
        k = self._k
        if last <= k:
            return
        # A test may have changed a load or a tank between two calls.
        for h in self._heated:
            closed = 1 if h.tank.closed else 0
            if closed != h.able.value:
                h.able.set(closed, k)
        self._refresh_drawn(range(len(self.loads)), k)
        while k < last:
            chunk = self._chunk(k, min(CHUNK_STEPS, last - k))
            stop = k + chunk.n
            while k < stop:
                k = self._segment(chunk, k, stop)
            self.recording.pv_w.fromlist(chunk.pv)
            self.recording.base_w.fromlist(chunk.base)
            self._tail = chunk.net[-self._window_steps :]
        self._k = k
        for run in (*self._drawn_runs, *self._auto_runs, self._safe_run):
            run.flush(k)
        for h in self._heated:
            h.able.flush(k)

    def _chunk(self, k: int, n: int) -> _Chunk:
        """PV, base load and flows for ``n`` steps from step ``k``."""
        t = self.start + k * self.step_s
        chunk = _Chunk(
            k,
            self.pv.sample(t, self.step_s, n),
            self.base.sample(t, self.step_s, n),
            self._tail,
        )
        for h in self._heated:
            h.run = h.tank.draws.runs(t, self.step_s, n)
            h.next_change = 0
        return chunk

    def _refresh_drawn(self, which: Iterable[int], k: int) -> None:
        """What loads ``which`` draw from step ``k`` on (a command or a thermostat acted)."""
        for i in which:
            drawn = self.loads[i].drawn_w()
            if drawn != self._drawn[i]:
                self._drawn[i] = drawn
                self._drawn_runs[i].set(drawn, k)

    def _boundary(self, chunk: _Chunk, k: int) -> None:
        """At the start of step ``k``: the commands due take effect, the thermostats that
        acted at the end of the last step stop (or let) their element draw, the flows
        that start at ``k`` flow."""
        pending = self._pending
        limit = self.start + k * self.step_s + 1e-9
        changed: set[int] = set()
        while pending and pending[0].at <= limit:
            _, i, power_w, on = pending.popleft()
            self.loads[i].command(power_w, on)
            changed.add(i)
        for h in self._heated:
            closed = 1 if h.tank.closed else 0
            if closed != h.able.value:
                h.able.set(closed, k)
                changed.add(h.i)
            run = h.run
            j = k - chunk.first
            while h.next_change < len(run) and run[h.next_change].step <= j:
                h.flow = run[h.next_change].value
                h.next_change += 1
        if changed:
            self._refresh_drawn(sorted(changed), k)

    def _horizon(self, chunk: _Chunk, k: int, stop: int) -> int:
        """The end of the segment from step ``k``: the first step (before ``stop``) where a
        command already decided takes effect, a flow changes or a thermostat acts."""
        end = stop
        if self._pending:
            end = min(end, self._first_step_at(self._pending[0].at))
        for h in self._heated:
            if h.next_change < len(h.run):
                end = min(end, chunk.first + h.run[h.next_change].step)
        for h in self._heated:
            steps = h.tank.steps_to_switch(self.step_s, end - k, self._drawn[h.i], h.flow)
            if steps is not None:
                end = k + steps
        return end

    def _segment(self, chunk: _Chunk, k: int, stop: int) -> int:
        """Steps from ``k`` with every load's power and every flow constant, until a
        physical event or ``stop``: the controller's events in them, then their physics
        and recording in bulk. Returns where the next segment starts."""
        self._boundary(chunk, k)
        end = self._horizon(chunk, k, stop)
        power = sum(self._drawn, 0.0)
        segments = self._segments
        segments.append(Segment(first=k, drawn_j=self._drawn_j, drawn_w=power))
        while len(segments) > 1 and segments[1].first <= k - self._window_steps:
            del segments[0]
        end = self._events(chunk, k, end)
        self._physics(chunk, k, end, power)
        return end

    def _energy(self, chunk: _Chunk, stop: int) -> Callable[[float, float], float]:
        """The grid energy (J) between two times in the current segment or up to the
        meter's window before it: ``Σ (base − PV)`` of the chunk's steps plus the loads'
        energy of the segments, each linear within a step."""
        start, dt = self.start, self.step_s
        cum, net, origin = chunk.cum, chunk.net, chunk.origin
        segments = self._segments
        top = stop - 1  # a frame due at the very end of the last step: in that step

        def between(since: float, until: float) -> float:
            k = int((until - start) / dt)
            k = top if k > top else k  # (conditionals: cheaper than min() in this hot path)
            h = int((since - start) / dt)
            n = len(segments) - 1
            while n > 0 and segments[n].first > k:  # in an earlier segment of the window
                n -= 1
            first, joules, power = segments[n]
            while n > 0 and segments[n].first > h:
                n -= 1
            first_h, joules_h, power_h = segments[n]
            j, i = k - origin, h - origin
            return (
                (cum[j] - cum[i]) * dt
                + (joules - joules_h)
                + (power * (k - first) - power_h * (h - first_h)) * dt
                + (net[j] + power) * (until - (start + k * dt))
                - (net[i] + power_h) * (since - (start + h * dt))
            )

        return between

    def _events(self, chunk: _Chunk, k: int, end: int) -> int:
        """The controller's events during steps ``k`` to ``end`` (excluded), in time order
        (at equal times: a frame, then a tick, then a probe reading); each frame measured
        when it is due, before anything at or after its time. A decision whose command
        takes effect before ``end`` brings the end there. Returns the end."""
        start, dt, meter, reg = self.start, self.step_s, self.meter, self.regulator
        waiting, measure, tick, evaluate = meter.pending, meter.measure, reg.tick, reg.evaluate
        energy = self._energy(chunk, chunk.first + chunk.n)
        keep_frame, apply, stamp = self.recording.frames.append, self._apply, datetime.fromtimestamp
        next_tick, tick_s, tick_now, tick_step = (
            self._next_tick,
            self.tick_s,
            self._tick_now,
            self._tick_step,
        )
        next_probe, probe_s = self._next_probe, self.probe_s
        until = (start + (end - 1) * dt) + dt  # the end of the segment's last step
        received = waiting[0].received_at if waiting else INFINITY
        due = meter.due
        while True:
            # Ticks first while they are before anything else: strictly before a frame
            # received or due, at or before a probe reading, within the segment.
            if (
                next_tick < received
                and next_tick < due
                and next_tick < until
                and next_tick <= next_probe
            ):
                at = next_tick
                next_tick += tick_s
                if tick_now is None:
                    decision = tick(stamp(at, UTC))
                else:
                    decision = tick(tick_now)
                    tick_now += tick_step
                if decision is not None:
                    end = apply(decision, at, end)
                    until = (start + (end - 1) * dt) + dt
            elif due <= received and due <= next_probe:
                if due > until:
                    break
                measure(energy)
                due = meter.due
                received = waiting[0].received_at if waiting else INFINITY
            elif received <= next_probe:
                if received >= until:
                    break
                frame = waiting.popleft()
                keep_frame(frame)
                end = apply(evaluate(frame.sample, frame.sample.time), received, end)
                until = (start + (end - 1) * dt) + dt
                received = waiting[0].received_at if waiting else INFINITY
            elif next_probe < until:
                self._probe(next_probe, k)
                next_probe += probe_s
            else:
                break
        self._next_tick, self._next_probe, self._tick_now = next_tick, next_probe, tick_now
        return end

    def _probe(self, at: float, k: int) -> None:
        """Each probe's reading at ``at``: its tank's temperature at the start of the step
        in progress (the segment started at step ``k``)."""
        after_s = (self._step_of(at) - k) * self.step_s
        now = datetime.fromtimestamp(at, UTC)
        for h in self._probed:
            celsius = h.load.probe_c(after_s, h.flow)
            if celsius is not None:
                self.regulator.set_temperature(h.load.id, celsius, now)
                self.recording.probes[h.name].append(ProbeReading(time=at, celsius=celsius))

    def _physics(self, chunk: _Chunk, k: int, end: int, power: float) -> None:
        """Steps ``k`` to ``end`` (excluded) at constant powers and flows: the grid power
        per step, the meter's registers, the tanks and the energy counters, recorded."""
        n = end - k
        dt = self.step_s
        a, b = k - chunk.first, end - chunk.first
        # base + Σ drawn − PV, step by step (in C: this is most of the per-step work left)
        grid: list[float] = list(map(sub, map(add, chunk.base[a:b], repeat(power)), chunk.pv[a:b]))
        self.recording.grid_w.fromlist(grid)
        self.meter.count(dt, grid)
        t = self.start + k * dt
        drawn = self._drawn
        for h in self._heated:
            h.temps.fromlist(h.tank.temperatures(dt, n, drawn[h.i], h.flow))
            h.load.hold(t, dt, n, drawn[h.i], h.flow)
        for i, load in self._plain:
            load.hold(t, dt, n, drawn[i])
        self._drawn_j += power * n * dt

    def _apply(self, decision: Decision, at: float, end: int = NEVER) -> int:
        """Record a decision made at ``at`` and queue the commands that change a load.
        Returns ``end``, or the step where the first of those takes effect if earlier."""
        rec = self.recording
        rec.decisions += 1
        safe = 1 if decision.safe else 0
        if safe != self._safe:
            if safe:
                rec.safe_decisions.append(SafeDecision(time=at, reason=decision.reason))
            self._safe = safe
            self._safe_run.set(safe, self._step_of(at) + 1)
        sent = self._sent
        for command in decision.commands:
            sent[command.topic] = command.payload
        effective = end
        seen, last, checked = self._seen, self._last_out, self._checked
        index, topics = self._index, self._topics
        for out in decision.outputs:
            i = index[out.id]
            if out is not seen[i]:  # the core hands back the same one while unchanged
                seen[i] = out
                was = last[i]
                if (
                    was is None
                    or was.power_w != out.power_w
                    or was.on != out.on
                    or was.reason != out.reason
                    or was.mode is not out.mode
                    or was.forced != out.forced
                ):  # not only its counters changed
                    last[i] = out
                    if self._changed(i, was, out, decision, at) and effective == end:
                        effective = min(end, self._first_step_at(at + self.actuation_delay_s))
                    if not self._agrees(i, out):
                        rec.command_mismatches += 1
                    continue
            # Its power and state as when last checked: it agrees as then, unless its
            # device was sent something since.
            cached = checked[i]
            if cached is not None and cached[0][0] is sent.get(topics[i]):
                agrees = cached[1]
            else:
                agrees = self._agrees(i, out)
            if not agrees:
                rec.command_mismatches += 1
        return effective

    def _changed(
        self, i: int, was: Output | None, out: Output, decision: Decision, at: float
    ) -> bool:
        """Load ``i``'s output changed from ``was`` (None: the first) to ``out`` in a
        decision at ``at``: record it; True when its command changed (queued)."""
        rec = self.recording
        auto = 1 if regulated_automatically(out) else 0
        if auto != self._auto[i]:
            self._auto[i] = auto
            self._auto_runs[i].set(auto, self._step_of(at) + 1)
        if was is None or (was.power_w, was.on, was.reason) != (out.power_w, out.on, out.reason):
            rec.outputs[out.name].append(
                OutputChange(time=at, power_w=out.power_w, on=out.on, reason=out.reason)
            )
            switched = was.on != out.on if was is not None else out.on
            if switched and not self.loads[i].variable:
                rec.switches[out.name].append(Switch(at, out.on, decision.safe, out.reason))
        commanded = (out.power_w, out.on)
        if self._last_cmd[i] == commanded:
            return False
        self._last_cmd[i] = commanded
        self._pending.append(
            Command(at=at + self.actuation_delay_s, load=i, power_w=out.power_w, on=out.on)
        )
        return True

    def _agrees(self, i: int, out: Output) -> bool:
        """Does the last payload sent to this device mean what the output says?"""
        cfg = self._configs[i]
        payload = self._sent.get(cfg.command.topic)
        key = (payload, out.power_w, out.on)
        checked = self._checked[i]
        if checked is None or checked[0] != key:  # most decisions change neither
            checked = (key, self._means(cfg, payload, out))
        elif checked[0][0] is not payload:  # the same payload sent again: keep the new one
            checked = (key, checked[1])
        self._checked[i] = checked
        return checked[1]

    @staticmethod
    def _means(cfg: EquipmentConfig, payload: str | None, out: Output) -> bool:
        """Does ``payload`` (None: nothing sent yet) mean what the output says?"""
        if payload is None:
            return out.power_w == 0 and not out.on
        if isinstance(cfg, VariablePowerConfig):
            try:
                percent = float(payload)
            except ValueError:
                return False
            power = power_fraction(percent / 100.0, cfg.dimmer_curve) * cfg.max_power_w
            return abs(power - out.power_w) <= 0.005 * cfg.max_power_w + 1.0
        if isinstance(cfg, ConstantPowerConfig | UnknownPowerConfig):
            return (payload == cfg.command.payload_on) == out.on
        return True
