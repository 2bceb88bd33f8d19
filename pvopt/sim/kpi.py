"""KPIs of a run (``research/peers.md`` §13 item 7 and §14), over a window of it.

Energies are integrated from the house's physics, step by step (0.2 s), not from the
meter frames: they are what really flowed. Definitions, with ``g`` the grid power
(positive = import), ``T`` the regulation's target (−20 W: a slight export) and ``dt``
the step:

- **PV, base, diverted** energy: ∫ PV, ∫ base load, ∫ each load's drawn power.
- **Imported / exported**: ∫ max(g, 0), ∫ max(−g, 0) — what the meter's registers count.
- **Self-consumed** = PV − exported; **self-consumption ratio** = self-consumed / PV.
- **Surplus missed while a load had headroom**: ∫ min(E, H) where ``E = max(T − g, 0)``
  is the export beyond the target and ``H`` the headroom of the loads that were free to
  take it at that step:

  - a dimmer counts for ``cap − drawn`` when it is regulated automatically (AUTO mode, not
    forced, not manual, not off-peak heating), physically able to draw (its thermostat is
    closed) and not blocked by a temperature rule of its configuration: the last probe
    reading (as published, younger than ``probe_timeout``) at or above ``temp_max``, or
    the solar-full latch (set at ``temp_max``, cleared below ``temp_sol_min``),
    recomputed here from the published readings, not taken from the core;
  - an on/off load counts for its nominal power when it is regulated automatically, off,
    past its ``min_off`` since it last stopped, and ``E`` has stayed at or above its
    power + ``start_margin`` for the last ``start_delay`` (the configured staging rule:
    a surplus that did not last is not missed by design);
  - nothing counts while the regulation is in its safe state (inputs not trusted).

  The core's own belief (e.g. "thermostat cut" after the thermostat closed again) is not
  a constraint: what it misses that way is missed. Reported in Wh and % of PV energy.
  Loads with ``min_energy`` are counted as if the energy target did not exist.
- **Import while a regulated load drew power** ("controller-caused import"):
  ∫ min(max(g, 0), D) with ``D`` the power drawn by loads regulated automatically at that
  step (forced, manual and off-peak runs excluded): the import the regulation could have
  avoided by shedding. Reported in Wh and % of the diverted energy.
- **|g − T| p50 / p95** over the raw meter frames received in the window (what the
  regulation sees), and p95 of 10 s averages of the frames. The same over the
  *trimming* frames only: those measured while some automatically regulated dimmer was
  neither off nor at its cap (the condition of the §14 steady-state target) — over a
  whole day the plain figures mostly measure the nights and the full tank.
- **Starts** of each on/off load (decided switches to on) in the window; **min-on /
  min-off violations**: a stop less than ``min_on`` after the start (safety sheds
  excepted: stale data must win), a start less than ``min_off`` after the stop.
- **Energy balance**: PV + imported − (base + Σ diverted + exported), in Wh and % of
  PV + imported; it closes to rounding when the recording is consistent.
  :func:`counter_balance` checks the same balance over a whole run with the
  independently kept counters (meter registers, each load's own energy counter).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import TYPE_CHECKING

from pvopt.equipment.model import (
    ConstantPowerConfig,
    TempDrivenVariablePowerConfig,
    UnknownPowerConfig,
    VariablePowerConfig,
)
from pvopt.sim import vectors
from pvopt.sim.house import House, Recording, Switch

if TYPE_CHECKING:
    from pvopt.sim.vectors import Flags, Floats


@dataclass(frozen=True)
class LoadKpi:
    """Per-load figures."""

    name: str
    energy_wh: float
    starts: int = 0
    min_on_violations: int = 0
    min_off_violations: int = 0
    shortest_on_s: float | None = None
    shortest_off_s: float | None = None


@dataclass(frozen=True)
class FrameSamples:
    """The frames of a window as its figures need them, kept so that the windows of a
    long run (graded a day at a time) combine into exactly the figures of the whole."""

    errors_w: Floats  # |g − T| of each frame, in reception order
    signed_sum_w: float  # Σ (g − T), in reception order
    averages_w: Floats  # |mean of each 10 s bin − T|
    trimming_w: Floats  # the errors of the trimming frames


@dataclass(frozen=True)
class Kpis:
    """The KPIs of one window of a run (see the module docstring)."""

    start: float
    end: float
    pv_wh: float
    base_wh: float
    import_wh: float
    export_wh: float
    diverted_wh: float
    missed_surplus_wh: float
    controller_import_wh: float
    frames: int
    error_p50_w: float | None
    error_p95_w: float | None
    error_mean_w: float | None
    error_10s_p95_w: float | None
    trimming_frames: int
    error_trimming_p50_w: float | None
    error_trimming_p95_w: float | None
    balance_error_wh: float
    loads: dict[str, LoadKpi] = field(default_factory=dict)
    samples: FrameSamples | None = field(default=None, compare=False, repr=False)

    @property
    def self_consumed_wh(self) -> float:
        """PV not exported."""
        return self.pv_wh - self.export_wh

    @property
    def self_consumption_ratio(self) -> float | None:
        """Self-consumed / PV."""
        return self.self_consumed_wh / self.pv_wh if self.pv_wh > 0 else None

    @property
    def missed_surplus_pct_pv(self) -> float:
        """Missed surplus, % of the PV energy."""
        return 100.0 * self.missed_surplus_wh / self.pv_wh if self.pv_wh > 0 else 0.0

    @property
    def controller_import_pct_diverted(self) -> float:
        """Controller-caused import, % of the diverted energy."""
        return 100.0 * self.controller_import_wh / self.diverted_wh if self.diverted_wh else 0.0

    @property
    def balance_error_pct(self) -> float:
        """Balance error, % of PV + imported."""
        total = self.pv_wh + self.import_wh
        return 100.0 * abs(self.balance_error_wh) / total if total else 0.0

    def summary(self) -> str:
        """A human-readable report."""
        hours = (self.end - self.start) / 3600
        lines = [
            f"window {hours:.2f} h, {self.frames} frames",
            f"PV {self.pv_wh:.0f} Wh, base {self.base_wh:.0f} Wh, "
            f"import {self.import_wh:.0f} Wh, export {self.export_wh:.0f} Wh",
            f"self-consumption {100 * (self.self_consumption_ratio or 0):.1f} %, "
            f"diverted {self.diverted_wh:.0f} Wh",
            f"missed surplus {self.missed_surplus_wh:.1f} Wh "
            f"({self.missed_surplus_pct_pv:.2f} % of PV)",
            f"controller import {self.controller_import_wh:.1f} Wh "
            f"({self.controller_import_pct_diverted:.2f} % of diverted)",
            f"|grid-target| p50 {_fmt(self.error_p50_w)} W, p95 {_fmt(self.error_p95_w)} W, "
            f"10 s p95 {_fmt(self.error_10s_p95_w)} W, mean error {_fmt(self.error_mean_w)} W",
            f"  while trimming ({self.trimming_frames} frames): "
            f"p50 {_fmt(self.error_trimming_p50_w)} W, p95 {_fmt(self.error_trimming_p95_w)} W",
            f"balance error {self.balance_error_wh:.4f} Wh ({self.balance_error_pct:.5f} %)",
        ]
        for load in self.loads.values():
            extra = ""
            if load.shortest_on_s is not None or load.starts:
                extra = (
                    f", {load.starts} starts, violations min-on {load.min_on_violations} "
                    f"min-off {load.min_off_violations}"
                )
            lines.append(f"  {load.name}: {load.energy_wh:.0f} Wh{extra}")
        return "\n".join(lines)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def percentile(values: Sequence[float] | Floats, q: float) -> float | None:
    """Nearest-rank percentile (``q`` in [0, 100]) of ``values``: the value of rank
    ⌈n·q/100⌉ (at least 1) in ascending order."""
    import numpy as np

    if not len(values):
        return None
    rank = max(1, -(-len(values) * q // 100))  # ceil
    k = min(int(rank), len(values)) - 1
    return float(np.partition(np.asarray(values, dtype=np.float64), k)[k])


def _switch_violations(
    name: str,
    energy_wh: float,
    switches: list[Switch],
    min_on: float,
    min_off: float,
    start: float,
    end: float,
) -> LoadKpi:
    """An on/off load's figures: its starts in ``[start, end)`` and how its switches kept
    its min on / min off (a switch is timed from the one before it, window or not)."""
    starts = on_viol = off_viol = 0
    shortest_on: float | None = None
    shortest_off: float | None = None
    for prev, cur in zip([None, *switches], switches, strict=False):
        inside = start <= cur.time < end
        if cur.on and inside:
            starts += 1
        if prev is None or not inside:
            continue
        gap = cur.time - prev.time
        if prev.on and not cur.on:
            shortest_on = gap if shortest_on is None else min(shortest_on, gap)
            if gap < min_on - 1e-6 and not cur.safe:
                on_viol += 1
        elif not prev.on and cur.on:
            shortest_off = gap if shortest_off is None else min(shortest_off, gap)
            if gap < min_off - 1e-6:
                off_viol += 1
    return LoadKpi(
        name=name,
        energy_wh=energy_wh,
        starts=starts,
        min_on_violations=on_viol,
        min_off_violations=off_viol,
        shortest_on_s=shortest_on,
        shortest_off_s=shortest_off,
    )


@dataclass(frozen=True)
class _FrameErrors:
    """|grid − target| of the frames received in a window (W)."""

    frames: int
    p50_w: float | None
    p95_w: float | None
    mean_w: float | None  # signed
    p95_10s_w: float | None  # of 10 s averages
    trimming_frames: int
    trimming_p50_w: float | None
    trimming_p95_w: float | None
    samples: FrameSamples


@dataclass(frozen=True)
class _Integrals:
    """What the steps of a window add up to (Wh), and what its frames say (W)."""

    pv_wh: float
    base_wh: float
    import_wh: float
    export_wh: float
    energies_wh: dict[str, float]
    missed_wh: float
    caused_wh: float
    errors: _FrameErrors


def compute(
    source: House | Recording, start: float | None = None, end: float | None = None
) -> Kpis:
    """The KPIs of ``[start, end)`` of a run (default: all of it), computed over all its
    steps and frames at once (numpy, from the ``sim`` extra)."""
    rec = source.recording if isinstance(source, House) else source
    start = rec.start if start is None else start
    end = rec.end if end is None else end
    sums = _integrals(rec, start, end)
    loads: dict[str, LoadKpi] = {}
    for name in rec.names:
        cfg = rec.config(name)
        energy_wh = sums.energies_wh[name]
        if isinstance(cfg, ConstantPowerConfig | UnknownPowerConfig):
            loads[name] = _switch_violations(
                name, energy_wh, rec.switches[name], cfg.min_on_s, cfg.min_off_s, start, end
            )
        else:
            loads[name] = LoadKpi(name=name, energy_wh=energy_wh)
    return _kpis(start, end, sums, loads)


def _kpis(start: float, end: float, sums: _Integrals, loads: dict[str, LoadKpi]) -> Kpis:
    diverted_wh = sum(sums.energies_wh.values())
    errors = sums.errors
    return Kpis(
        start=start,
        end=end,
        pv_wh=sums.pv_wh,
        base_wh=sums.base_wh,
        import_wh=sums.import_wh,
        export_wh=sums.export_wh,
        diverted_wh=diverted_wh,
        missed_surplus_wh=sums.missed_wh,
        controller_import_wh=sums.caused_wh,
        frames=errors.frames,
        error_p50_w=errors.p50_w,
        error_p95_w=errors.p95_w,
        error_mean_w=errors.mean_w,
        error_10s_p95_w=errors.p95_10s_w,
        trimming_frames=errors.trimming_frames,
        error_trimming_p50_w=errors.trimming_p50_w,
        error_trimming_p95_w=errors.trimming_p95_w,
        balance_error_wh=sums.pv_wh
        + sums.import_wh
        - (sums.base_wh + diverted_wh + sums.export_wh),
        loads=loads,
        samples=errors.samples,
    )


def combine(parts: Sequence[Kpis]) -> Kpis:
    """The KPIs of consecutive windows together (a long run is graded a day at a time):
    energies and counts add up, the frame figures are those of all their frames (10 s
    bins stay aligned when each window starts on a multiple of 10 s, as a local day
    does)."""
    import numpy as np

    if not parts:
        raise ValueError("no window to combine")
    if any(p.samples is None for p in parts):
        raise ValueError("a window without its frame samples cannot be combined")
    samples = [p.samples for p in parts if p.samples is not None]
    errors = _frame_figures(
        FrameSamples(
            errors_w=np.concatenate([f.errors_w for f in samples]),
            signed_sum_w=math.fsum(f.signed_sum_w for f in samples),
            averages_w=np.concatenate([f.averages_w for f in samples]),
            trimming_w=np.concatenate([f.trimming_w for f in samples]),
        )
    )

    def add(figure: Callable[[Kpis], float]) -> float:
        return math.fsum(figure(p) for p in parts)

    loads = {name: _combine_load([p.loads[name] for p in parts]) for name in parts[0].loads}
    sums = _Integrals(
        pv_wh=add(attrgetter("pv_wh")),
        base_wh=add(attrgetter("base_wh")),
        import_wh=add(attrgetter("import_wh")),
        export_wh=add(attrgetter("export_wh")),
        energies_wh={name: load.energy_wh for name, load in loads.items()},
        missed_wh=add(attrgetter("missed_surplus_wh")),
        caused_wh=add(attrgetter("controller_import_wh")),
        errors=errors,
    )
    return _kpis(parts[0].start, parts[-1].end, sums, loads)


def _combine_load(parts: Sequence[LoadKpi]) -> LoadKpi:
    def shortest(values: Sequence[float | None]) -> float | None:
        known = [v for v in values if v is not None]
        return min(known) if known else None

    return LoadKpi(
        name=parts[0].name,
        energy_wh=math.fsum(p.energy_wh for p in parts),
        starts=sum(p.starts for p in parts),
        min_on_violations=sum(p.min_on_violations for p in parts),
        min_off_violations=sum(p.min_off_violations for p in parts),
        shortest_on_s=shortest([p.shortest_on_s for p in parts]),
        shortest_off_s=shortest([p.shortest_off_s for p in parts]),
    )


def _integrals(rec: Recording, start: float, end: float) -> _Integrals:
    """The integrals of ``[start, end)``, every step at once: each step's terms (the
    dimmers', then the on/off loads') are added one step after the other."""
    import numpy as np

    i0, i1 = rec.index(start), rec.index(end)
    dt_h = rec.step_s / 3600.0
    reg = rec.site.regulation
    target = reg.target_grid_w
    total = vectors.running_sum
    grid = vectors.floats(rec.grid_w)[i0:i1]
    t = rec.start + np.arange(i0, i1, dtype=np.float64) * rec.step_s
    excess = target - grid
    energies = {name: total(vectors.floats(rec.drawn_w[name])[i0:i1]) * dt_h for name in rec.names}

    # Per load: what it draws under automatic regulation, and its headroom.
    dimmer_terms: list[tuple[Floats, Floats]] = []
    onoff_terms: list[tuple[Floats, Floats]] = []
    for name in rec.names:
        cfg = rec.config(name)
        drawn = vectors.floats(rec.drawn_w[name])[i0:i1]
        auto = vectors.flags(rec.auto[name])[i0:i1]
        if isinstance(cfg, VariablePowerConfig):
            free = auto & ~_temperature_blocked(rec, name, t)
            if name in rec.able:
                free &= vectors.flags(rec.able[name])[i0:i1]
            room = np.where(free, np.maximum(cfg.max_power_w - drawn, 0.0), 0.0)
            dimmer_terms.append((np.where(auto, drawn, 0.0), room))
        elif isinstance(cfg, ConstantPowerConfig | UnknownPowerConfig):
            power = (
                cfg.nominal_power_w
                if isinstance(cfg, ConstantPowerConfig)
                else cfg.expected_power_w
            )
            # E has stayed at or above power + margin for start_delay: since the first
            # step of the current run of such steps
            lasting = excess >= power + reg.start_margin_w
            first = lasting & ~np.concatenate(([False], lasting[:-1]))
            since = t[np.maximum.accumulate(np.where(first, np.arange(len(t)), 0))]
            began = lasting & (t - since >= reg.start_delay_s)
            stops = [s.time for s in rec.switches[name] if not s.on]
            rested = _past_min_off(stops, t, cfg.min_off_s)
            room = np.where(auto & (drawn == 0) & began & rested, power, 0.0)
            onoff_terms.append((np.where(auto, drawn, 0.0), room))
    regulated = np.zeros(len(t))
    headroom = np.zeros(len(t))
    for drawn_auto, room in dimmer_terms + onoff_terms:
        regulated = regulated + drawn_auto
        headroom = headroom + room
    caused = np.where(grid > 0, np.minimum(grid, regulated) * dt_h, 0.0)
    free_now = (excess > 0) & ~vectors.flags(rec.safe)[i0:i1]
    missed = np.where(free_now, np.minimum(excess, headroom) * dt_h, 0.0)
    return _Integrals(
        pv_wh=total(vectors.floats(rec.pv_w)[i0:i1]) * dt_h,
        base_wh=total(vectors.floats(rec.base_w)[i0:i1]) * dt_h,
        import_wh=total(np.where(grid > 0, grid, 0.0)) * dt_h,
        export_wh=(0.0 - total(np.where(grid < 0, grid, 0.0))) * dt_h,
        energies_wh=energies,
        missed_wh=total(missed),
        caused_wh=total(caused),
        errors=_frame_errors(rec, start, end),
    )


def _past_min_off(stops: list[float], t: Floats, min_off_s: float) -> Flags:
    """Per step at ``t``: no stop at or before it, or the last one ``min_off_s`` ago."""
    import numpy as np

    if not stops:
        return np.ones(len(t), dtype=np.bool_)
    times = np.asarray(stops, dtype=np.float64)
    j = np.searchsorted(times, t, side="right")
    rested: Flags = (j == 0) | (t - times[np.maximum(j - 1, 0)] >= min_off_s)
    return rested


def _temperature_blocked(rec: Recording, name: str, t: Floats) -> Flags:
    """Per step at ``t``: is this dimmer blocked by temp_max or the solar-full latch,
    judged from the probe readings it published? The latch is replayed over the
    readings, then each step takes the last reading at or before it (if fresh)."""
    import numpy as np

    cfg = rec.config(name)
    readings = rec.probes.get(name, [])
    if not isinstance(cfg, TempDrivenVariablePowerConfig) or not readings:
        return np.zeros(len(t), dtype=np.bool_)
    latches: list[bool] = []
    latch = False
    for _, celsius in readings:
        if celsius >= cfg.temp_max_c:
            latch = True
        elif celsius < cfg.temp_sol_min_c:
            latch = False
        latches.append(latch)
    times = np.asarray([at for at, _ in readings], dtype=np.float64)
    j = np.searchsorted(times, t, side="right") - 1
    last = np.maximum(j, 0)
    fresh = (j >= 0) & (t - times[last] <= cfg.probe_timeout_s)
    return fresh & np.asarray(latches, dtype=np.bool_)[last]


def _frame_errors(rec: Recording, start: float, end: float) -> _FrameErrors:
    """The frame figures of ``[start, end)`` (the module docstring), all frames at once."""
    import numpy as np

    target = rec.site.regulation.target_grid_w
    frames = rec.frames
    received = np.fromiter(map(attrgetter("received_at"), frames), np.float64, len(frames))
    inside = (start <= received) & (received < end)
    grid = np.fromiter(map(attrgetter("grid_w"), frames), np.float64, len(frames))[inside]
    measured = np.fromiter(map(attrgetter("measured_at"), frames), np.float64, len(frames))
    received = received[inside]
    errors = np.abs(grid - target)

    # 10 s bins of the frames, each summed in frame order (padded with zeros)
    bins = ((received - start) // 10).astype(np.int64)
    order = np.argsort(bins, kind="stable")
    keys, firsts, counts = np.unique(bins[order], return_index=True, return_counts=True)
    row = np.repeat(np.arange(len(keys)), counts)
    table = np.zeros((len(keys), int(counts.max(initial=0))))
    table[row, np.arange(len(order)) - firsts[row]] = grid[order]
    sums = np.zeros(len(keys))
    for column in table.T:
        sums = sums + column
    averages = np.abs(sums / counts - target)

    middle = ((measured[inside] - 0.5 - rec.start) / rec.step_s + 1e-9).astype(np.int64)
    middle = np.minimum(np.clip(middle, 0, rec.steps), rec.steps - 1)  # the middle of its mean
    trimming_now = np.zeros(len(middle), dtype=np.bool_)
    for name in rec.names:
        cfg = rec.config(name)
        if isinstance(cfg, VariablePowerConfig) and len(middle):
            drawn = vectors.floats(rec.drawn_w[name])[middle]
            auto = vectors.flags(rec.auto[name])[middle]
            trimming_now |= auto & (drawn > 1.0) & (drawn < cfg.max_power_w - 1.0)
    trimming = errors[trimming_now]
    return _frame_figures(
        FrameSamples(
            errors_w=errors,
            signed_sum_w=vectors.running_sum(grid - target),
            averages_w=averages,
            trimming_w=trimming,
        )
    )


def _frame_figures(samples: FrameSamples) -> _FrameErrors:
    """The frame figures of a window's (or consecutive windows') frames."""
    errors, trimming = samples.errors_w, samples.trimming_w
    return _FrameErrors(
        frames=len(errors),
        p50_w=percentile(errors, 50),
        p95_w=percentile(errors, 95),
        mean_w=samples.signed_sum_w / len(errors) if len(errors) else None,
        p95_10s_w=percentile(samples.averages_w, 95),
        trimming_frames=len(trimming),
        trimming_p50_w=percentile(trimming, 50),
        trimming_p95_w=percentile(trimming, 95),
        samples=samples,
    )


def counter_balance(house: House) -> tuple[float, float]:
    """The energy balance of a whole run from independently kept counters: the meter's
    import/export registers, each load's own energy counter, PV and base load integrated
    from the plant and household models. Returns (error in Wh, error in % of PV + import).
    """
    rec = house.recording
    dt_h = rec.step_s / 3600.0
    pv_wh = sum(rec.pv_w) * dt_h
    base_wh = sum(rec.base_w) * dt_h
    loads_wh = sum(load.energy_wh for load in house.loads)
    imported, exported = house.meter.import_wh, house.meter.export_wh
    error = pv_wh + imported - (base_wh + loads_wh + exported)
    total = pv_wh + imported
    return error, 100.0 * abs(error) / total if total else 0.0


@dataclass(frozen=True)
class StepResponse:
    """How the grid came back to the target after a disturbance at ``at``.

    ``frames`` are the meter frames *measured* after ``at`` within the horizon, as
    ``(measured − at, received − at, grid_w)``: the first one is the first that can show
    the disturbance (its averaging window may catch only part of it). ``frames_out`` is
    the number of frames before the grid is back within ``band_w`` of the target and stays
    there until the horizon ("back in ≤ 3 frames" means ``frames_out ≤ 3``).
    """

    at: float
    band_w: float
    frames: list[tuple[float, float, float]]
    frames_out: int
    recovered: bool  # back in the band and staying there before the horizon
    import_wh: float  # ∫ max(g, 0) over the horizon
    excess_export_wh: float  # ∫ max(target − g, 0) over the horizon
    peak_error_w: float  # largest |frame − target|

    @property
    def recovery_s(self) -> float | None:
        """Reception time of the first in-band frame of the tail, after ``at``."""
        if not self.recovered:
            return None
        return self.frames[self.frames_out][1]


def step_response(
    source: House | Recording, at: float, band_w: float = 50.0, horizon_s: float = 15.0
) -> StepResponse:
    """Measure the response to a disturbance at ``at`` (a kettle, a thermostat cut)."""
    rec = source.recording if isinstance(source, House) else source
    target = rec.site.regulation.target_grid_w
    frames = [
        (f.measured_at - at, f.received_at - at, f.grid_w)
        for f in rec.frames
        if at < f.measured_at <= at + horizon_s
    ]
    out = len(frames)
    while out > 0 and abs(frames[out - 1][2] - target) <= band_w:
        out -= 1
    recovered = out < len(frames)
    i0, i1 = rec.index(at), rec.index(at + horizon_s)
    dt_h = rec.step_s / 3600.0
    grid = rec.grid_w[i0:i1]
    return StepResponse(
        at=at,
        band_w=band_w,
        frames=frames,
        frames_out=out,
        recovered=recovered,
        import_wh=sum(g for g in grid if g > 0) * dt_h,
        excess_export_wh=sum(target - g for g in grid if g < target) * dt_h,
        peak_error_w=max((abs(g - target) for _, _, g in frames), default=0.0),
    )
