"""The closed loop: a house on a fake clock around a :class:`Policy` (the real
:class:`~pvopt.regulation.core.Regulator` by default).

Every ``step_s`` (0.2 s) of simulated time, in this order:

1. commands whose actuation time has come take effect on the loads;
2. physics: PV, base load and what each load draws (commands, thermostats) give the grid
   power ``grid = base + Σ drawn − PV`` (positive = import), constant over the step;
3. the meter integrates it and measures the frames that fall in the step;
4. what happens during the step, in time order at its exact time: frames received →
   :meth:`Policy.evaluate`; every ``tick_s`` (0.5 s) → :meth:`Policy.tick`;
   every ``probe_s`` (10 s) → each probe's temperature to :meth:`Policy.set_temperature`
   (a probe exists where the configuration is temperature-driven and the load heats a
   tank; a plain dimmer's tank has none: the regulation only knows it through the meter);
5. the loads' physics advance (tank temperatures, energy counters).

A decision's outputs reach the loads ``actuation_delay_s`` (0.2 s: MQTT, Wi-Fi, the
dimmer's next half-wave) after it, applied at the first step boundary after that: the
effective latency is 0.2–0.4 s. Loads follow ``Output.power_w`` / ``Output.on``; the MQTT
payloads the core sends are cross-checked against them (a device only ever knows what it
was sent) and any disagreement is counted in :attr:`Recording.command_mismatches`.

Everything is recorded (:class:`Recording`): per step the grid, PV, base load, each
load's drawn power, whether it could draw (thermostat) and whether it was regulated
automatically, the tank temperatures; the frames as received; probe readings; each
on/off load's switches; each load's output changes.
"""

from __future__ import annotations

from array import array
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

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
from pvopt.sim.equipment import DimmerLoad, SimLoad
from pvopt.sim.load import BaseLoad
from pvopt.sim.meter import Frame, LinkyMeter
from pvopt.sim.pv import PvPlant

#: PV and base load are sampled this many steps at a time (one pass is much faster than
#: one call per step).
CHUNK_STEPS = 300


def regulated_automatically(out: Output) -> bool:
    """True when the regulation (not a manual mode, a forced run or off-peak grid heating)
    decides this load's power."""
    return (
        out.mode is Mode.AUTO
        and not out.forced
        and not out.reason.startswith(("off-peak", "forced", "on: manual"))
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
    probes: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    switches: dict[str, list[Switch]] = field(default_factory=dict)
    outputs: dict[str, list[tuple[float, float, bool, str]]] = field(default_factory=dict)
    decisions: int = 0
    safe_decisions: list[tuple[float, str]] = field(default_factory=list)
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

    def config(self, name: str) -> EquipmentConfig:
        """The configuration of a load."""
        return next(c for c in self.site.equipment if c.name == name)

    def output_at(self, name: str, t: float) -> tuple[float, float, bool, str] | None:
        """The last output change of a load at or before ``t``."""
        last = None
        for entry in self.outputs[name]:
            if entry[0] > t:
                break
            last = entry
        return last


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
        self._next_probe = start + 0.05  # a first reading before the first frame
        self._pending: deque[tuple[float, int, float, bool]] = deque()
        self._auto = [1] * len(self.loads)
        self._safe = 0
        self._last_out: list[tuple[float, bool, str] | None] = [None] * len(self.loads)
        self._seen: list[Output | None] = [None] * len(self.loads)
        self._last_cmd: list[tuple[float, bool] | None] = [None] * len(self.loads)
        self._sent: dict[str, str] = {}
        self._checked: list[tuple[tuple[str | None, float, bool], bool] | None]
        self._checked = [None] * len(self.loads)
        configs = list(equipment)
        self._configs = configs
        self._probed = [
            i
            for i, (load, cfg) in enumerate(zip(self.loads, configs, strict=True))
            if isinstance(load, DimmerLoad)
            and load.tank is not None
            and isinstance(cfg, TempDrivenVariablePowerConfig)
        ]
        names = [cfg.name for cfg in configs]
        self.recording = Recording(regulator.site, start, step_s, names)
        for i in self._probed:
            self.recording.probes[names[i]] = []
        for load, name in zip(self.loads, names, strict=True):
            if isinstance(load, DimmerLoad) and load.tank is not None:
                self.recording.tank_c[name] = array("d")
                self.recording.able[name] = array("b")

    @property
    def now(self) -> float:
        """The simulated time (POSIX seconds): start of the next step."""
        return self.start + self._k * self.step_s

    def run(self) -> None:
        """Simulate until :attr:`end`."""
        if self.end is None:
            raise ValueError("no end given: use run_until")
        self.run_until(self.end)

    def run_until(self, end: float) -> None:
        """Simulate until ``end`` (may be called again to continue, e.g. after a test
        changed something: PV and base load are sampled afresh at each call)."""
        dt = self.step_s
        rec = self.recording
        loads = self.loads
        pending = self._pending
        meter = self.meter
        frames_waiting = meter.pending
        integrate = meter.integrate
        grid_append = rec.grid_w.append
        drawn = [load.drawn_w() for load in loads]
        k0 = self._k
        # Series that change rarely are recorded as runs (see _Runs); the grid and the
        # tank temperatures change every step.
        drawn_runs = [
            _Runs(rec.drawn_w[cfg.name], drawn[i], k0) for i, cfg in enumerate(self._configs)
        ]
        auto_runs = [
            _Runs(rec.auto[cfg.name], self._auto[i], k0) for i, cfg in enumerate(self._configs)
        ]
        safe_run = _Runs(rec.safe, self._safe, k0)
        # Only loads with a thermostat can be unable to draw: the others are not recorded.
        thermostats = [
            (
                i,
                load.tank,
                _Runs(rec.able[cfg.name], 1 if load.tank.closed else 0, k0),
                rec.tank_c[cfg.name].append,
            )
            for i, (load, cfg) in enumerate(zip(loads, self._configs, strict=True))
            if isinstance(load, DimmerLoad) and load.tank is not None
        ]
        # Loads heating a tank advance with the hot-water flow, sampled per chunk too.
        heated = [
            (i, load.advance, load.tank.draws.sample)
            for i, load in enumerate(loads)
            if isinstance(load, DimmerLoad) and load.tank is not None
        ]
        heated_i = {i for i, _, _ in heated}
        plain = [(i, load.advance) for i, load in enumerate(loads) if i not in heated_i]
        flow_chunks: list[list[float]] = []
        auto = self._auto
        chunk_k = k0
        chunk_n = 0
        pv_chunk: list[float] = []
        base_chunk: list[float] = []
        k = k0
        while True:
            t = self.start + k * dt
            if t >= end - 1e-9:
                break
            if k >= chunk_k + chunk_n:
                rec.pv_w.extend(pv_chunk)
                rec.base_w.extend(base_chunk)
                chunk_k, chunk_n = k, CHUNK_STEPS
                pv_chunk = self.pv.sample(t, dt, chunk_n)
                base_chunk = self.base.sample(t, dt, chunk_n)
                flow_chunks = [sample(t, dt, chunk_n) for _, _, sample in heated]
            while pending and pending[0][0] <= t + 1e-9:
                _, i, power_w, on = pending.popleft()
                loads[i].command(power_w, on)
                drawn[i] = loads[i].drawn_w()
                drawn_runs[i].set(drawn[i], k)
            for i, tank, able, _ in thermostats:
                closed = 1 if tank.closed else 0
                if closed != able.value:  # the thermostat acted at the last step's end
                    able.set(closed, k)
                    drawn[i] = loads[i].drawn_w()
                    drawn_runs[i].set(drawn[i], k)
            if self._safe != safe_run.value:  # decided during the last step
                safe_run.set(self._safe, k)
            for run, value in zip(auto_runs, auto, strict=True):
                if value != run.value:
                    run.set(value, k)
            j = k - chunk_k
            grid = base_chunk[j] + sum(drawn) - pv_chunk[j]
            integrate(t, dt, grid)
            grid_append(grid)
            for _, tank, _, temp_append in thermostats:
                temp_append(tank.temperature_c)
            until = t + dt
            self._k = k  # the step in progress, for the events
            if (
                self._next_tick < until
                or self._next_probe < until
                or (frames_waiting and frames_waiting[0].received_at < until)
            ):
                self._events(until)
            for i, advance in plain:
                advance(t, dt, drawn[i])
            for (i, advance, _), flows in zip(heated, flow_chunks, strict=True):
                advance(t, dt, drawn[i], flows[j])
            k += 1
        self._k = k
        rec.pv_w.extend(pv_chunk[: k - chunk_k])
        rec.base_w.extend(base_chunk[: k - chunk_k])
        for run in (*drawn_runs, *auto_runs, safe_run, *(able for _, _, able, _ in thermostats)):
            run.flush(k)

    def _events(self, until: float) -> None:
        """Everything due before ``until``, in time order (at equal times: a frame, then a
        tick, then a probe reading)."""
        waiting = self.meter.pending
        reg = self.regulator
        rec = self.recording
        while True:
            at = until
            kind = 3
            if waiting and waiting[0].received_at < at:
                at, kind = waiting[0].received_at, 0
            if self._next_tick < until and (self._next_tick < at or kind == 3):
                at, kind = self._next_tick, 1
            if self._next_probe < until and (self._next_probe < at or kind == 3):
                at, kind = self._next_probe, 2
            if kind == 3:
                return
            now = datetime.fromtimestamp(at, UTC)
            if kind == 0:
                frame = waiting.popleft()
                rec.frames.append(frame)
                self._apply(reg.evaluate(frame.sample, now), at)
            elif kind == 1:
                self._next_tick += self.tick_s
                decision = reg.tick(now)
                if decision is not None:
                    self._apply(decision, at)
            else:
                self._next_probe += self.probe_s
                for i in self._probed:
                    load = self.loads[i]
                    assert isinstance(load, DimmerLoad)
                    celsius = load.probe_c()
                    if celsius is not None:
                        reg.set_temperature(load.id, celsius, now)
                        rec.probes[self._configs[i].name].append((at, celsius))

    def _apply(self, decision: Decision, at: float) -> None:
        rec = self.recording
        rec.decisions += 1
        if decision.safe and not self._safe:
            rec.safe_decisions.append((at, decision.reason))
        self._safe = 1 if decision.safe else 0
        for command in decision.commands:
            self._sent[command.topic] = command.payload
        effective = at + self.actuation_delay_s
        for out in decision.outputs:
            i = self._index[out.id]
            if out is not self._seen[i]:  # the core hands back the same one while unchanged
                self._seen[i] = out
                self._auto[i] = 1 if regulated_automatically(out) else 0
                last = self._last_out[i]
                if last is None or (out.power_w, out.on, out.reason) != last:
                    rec.outputs[out.name].append((at, out.power_w, out.on, out.reason))
                    switched = last[1] != out.on if last is not None else out.on
                    if switched and not self.loads[i].variable:
                        rec.switches[out.name].append(Switch(at, out.on, decision.safe, out.reason))
                    self._last_out[i] = (out.power_w, out.on, out.reason)
                if self._last_cmd[i] != (out.power_w, out.on):
                    self._last_cmd[i] = (out.power_w, out.on)
                    self._pending.append((effective, i, out.power_w, out.on))
            if not self._agrees(i, out):
                rec.command_mismatches += 1

    def _agrees(self, i: int, out: Output) -> bool:
        """Does the last payload sent to this device mean what the output says?"""
        cfg = self._configs[i]
        payload = self._sent.get(cfg.command.topic)
        key = (payload, out.power_w, out.on)
        checked = self._checked[i]
        if checked is None or checked[0] != key:  # most decisions change neither
            checked = self._checked[i] = (key, self._means(cfg, payload, out))
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
