"""The report of ``pvopt simulate``: simulated days, several decision cores, one table.

Every figure comes from :func:`pvopt.sim.kpi.compute` (definitions there) or from the
recording itself, integrated over the house's 0.2 s steps, a local day at a time (a long
run forgets each day once graded) and added up (:func:`pvopt.sim.kpi.combine`,
:func:`pvopt.sim.yardstick.total`):

- ``pv_kwh``, ``exported_kwh``, ``imported_kwh``; ``consumption_kwh`` = household base
  load + everything the equipment drew; ``self_consumed_kwh`` = PV − exported and
  ``self_consumption_pct`` its share of PV;
- ``diverted_kwh``: what the configured equipment drew, in total and per equipment;
- what the household pays (:mod:`pvopt.sim.yardstick`, definitions there):
  ``import_eur``, ``export_eur`` (earned), ``net_eur``; ``hot_water_shortfall_kwh``
  (hot water drawn below ``temp_min``) and ``run_shortfall_kwh`` (daily run time not
  met, as energy); ``stored_heat_kwh``: heat the tanks gained from start to end;
  ``adjusted_eur`` = net + those shortfalls at the dearest import price of their day −
  the heat gained at the cheapest price; ``saved_eur`` = adjusted cost of ``none`` − this one's;
  ``achievable_pct`` = ``saved_eur`` / (adjusted cost of ``none`` − the optimum's), the
  share of the achievable saving taken (when the optimum was computed);
- ``usable_export_kwh``: exported energy some configured load could physically have
  taken (the physics alone: no controller rule shrinks it), ``unusable_export_kwh`` the
  rest;
- ``missed_after_delays_kwh`` / ``_pct_pv``: export beyond the target while a load had
  headroom *by pvopt's own staging rules* (an on/off load only once the surplus lasted
  its ``start_delay``; kpi): a diagnostic of pvopt's rules, not a grade;
- ``controller_import_kwh`` / ``_pct_diverted``: import while an automatically regulated
  load drew power (kpi);
- ``grid_error_p50_w`` / ``_p95_w``: |grid − target| over the meter frames;
- ``offpeak_grid_kwh``: grid energy the equipment bought in the off-peak window (hot
  water completion, off-peak heating): at each step, ``min(import, Σ drawn)``, shared
  between the loads in proportion to what they drew;
- per on/off equipment: ``starts``; per equipment heating a tank: ``below_temp_min_h``
  (time the tank spent below ``temp_min`` — its configured one, or the yardstick's
  comfort temperature for a plain dimmer, :func:`pvopt.sim.yardstick.comfort_c`) and
  ``final_temp_c``.

The same keys appear in the text table and in ``--json``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pvopt.equipment.model import (
    ConstantPowerConfig,
    UnknownPowerConfig,
)
from pvopt.sim import kpi, vectors
from pvopt.sim.floor import Floor
from pvopt.sim.house import House, Recording
from pvopt.sim.yardstick import DayYardstick, PriceSeries, comfort_c, measure_day, total


@dataclass(frozen=True)
class EquipmentReport:
    """Figures of one equipment over the run."""

    name: str
    type: str
    energy_kwh: float
    offpeak_grid_kwh: float | None
    starts: int | None = None  # on/off equipment
    below_temp_min_h: float | None = None  # equipment heating a tank
    final_temp_c: float | None = None


@dataclass(frozen=True)
class DayReport:
    """What one controller paid on one local day (the per-day table and ``--csv``)."""

    day: str  # ISO date
    imported_kwh: float
    exported_kwh: float
    usable_export_kwh: float | None
    net_eur: float
    hot_water_shortfall_kwh: float
    run_shortfall_kwh: float
    adjusted_eur: float
    saved_eur: float | None = None  # against none
    achievable_pct: float | None = None


@dataclass(frozen=True)
class RunReport:
    """Figures of one decision core over the run (see the module docstring)."""

    controller: str
    pv_kwh: float
    consumption_kwh: float
    self_consumed_kwh: float
    self_consumption_pct: float | None
    exported_kwh: float
    imported_kwh: float
    diverted_kwh: float
    import_eur: float | None
    export_eur: float | None
    net_eur: float | None
    hot_water_shortfall_kwh: float | None
    run_shortfall_kwh: float | None
    stored_heat_kwh: float | None
    adjusted_eur: float | None
    usable_export_kwh: float | None
    unusable_export_kwh: float | None
    missed_after_delays_kwh: float | None
    missed_after_delays_pct_pv: float | None
    controller_import_kwh: float | None
    controller_import_pct_diverted: float | None
    grid_error_p50_w: float | None
    grid_error_p95_w: float | None
    offpeak_grid_kwh: float | None
    balance_error_pct: float | None
    equipment: list[EquipmentReport] = field(default_factory=list)
    saved_eur: float | None = None  # against none, on adjusted costs
    achievable_pct: float | None = None  # share of the optimum's saving
    days: list[DayReport] = field(default_factory=list)


def _offpeak_steps(rec: Recording, tz: ZoneInfo, i0: int, i1: int) -> list[tuple[int, int]]:
    """Index ranges of the steps of ``[i0, i1)`` inside the configured off-peak window."""
    reg = rec.site.regulation
    start, end = reg.offpeak_start, reg.offpeak_end
    if start is None or end is None:
        return []
    first = datetime.fromtimestamp(rec.start + i0 * rec.step_s, tz).date() - timedelta(days=1)
    last = datetime.fromtimestamp(rec.start + i1 * rec.step_s, tz).date()
    ranges = []
    day = first
    while day <= last:
        begins = datetime.combine(day, start, tz)
        ends = datetime.combine(day if end > start else day + timedelta(days=1), end, tz)
        if end == start:
            ends = begins + timedelta(days=1)
        j0 = max(rec.index(begins.timestamp()), i0)
        j1 = min(rec.index(ends.timestamp()), i1)
        if j1 > j0:
            ranges.append((j0, j1))
        day += timedelta(days=1)
    return ranges


def _offpeak_grid_wh(rec: Recording, tz: ZoneInfo, i0: int, i1: int) -> dict[str, float]:
    """Per load, the grid energy it bought in the off-peak window during the steps
    ``[i0, i1)`` (Wh): at each step, ``min(import, Σ drawn)``, shared between the loads in
    proportion to what they drew, computed over all steps at once and added in step
    order."""
    import numpy as np

    ranges = [np.arange(j0, j1) for j0, j1 in _offpeak_steps(rec, tz, i0, i1)]
    steps = np.concatenate(ranges) if ranges else np.zeros(0, dtype=np.int64)
    grid = vectors.floats(rec.grid_w)[steps]
    drawn = [vectors.floats(rec.drawn_w[name])[steps] for name in rec.names]
    total = np.zeros(len(steps))
    for d in drawn:
        total = total + d
    bought = (grid > 0) & (total > 0)
    share = np.minimum(grid, total) * (rec.step_s / 3600.0) / np.where(bought, total, 1.0)
    return {
        name: vectors.running_sum(np.where(bought & (d > 0), d * share, 0.0))
        for name, d in zip(rec.names, drawn, strict=True)
    }


def _below_h(rec: Recording, temps: Sequence[float], floor_c: float) -> float:
    """Hours the tank spent below ``floor_c``."""
    import numpy as np

    below = int(np.count_nonzero(vectors.floats(temps) < floor_c))
    return below * rec.step_s / 3600.0


@dataclass(frozen=True)
class DayFigures:
    """What one local day of a run adds to its report. A run is graded a day at a time
    as it goes, so that a long one can forget each day once graded
    (:meth:`pvopt.sim.house.Recording.forget_before`)."""

    kpis: kpi.Kpis
    yardstick: DayYardstick
    offpeak_grid_wh: dict[str, float]  # per load
    below_temp_min_h: dict[str, float]  # per load heating a tank
    final_temp_c: dict[str, float]  # the same, at the day's end


def day_figures(
    house: House, prices: PriceSeries, tz: ZoneInfo, start: float, end: float
) -> DayFigures:
    """The figures of ``[start, end)``, a local day of the run (or the part of it the run
    covers), still in the house's recording."""
    rec = house.recording
    i0, i1 = rec.index(start), rec.index(end)
    below: dict[str, float] = {}
    final: dict[str, float] = {}
    for name in rec.names:
        temps = rec.tank_c.get(name)
        if temps and i1 > i0:
            below[name] = _below_h(rec, temps[i0:i1], comfort_c(rec.config(name)))
            final[name] = temps[i1 - 1]
    return DayFigures(
        kpis=kpi.compute(rec, start, end),
        yardstick=measure_day(house, prices, tz, start, end),
        offpeak_grid_wh=_offpeak_grid_wh(rec, tz, i0, i1),
        below_temp_min_h=below,
        final_temp_c=final,
    )


def day_report(day: DayYardstick) -> DayReport:
    """One day of a controller's run."""
    y = day.yardstick
    return DayReport(
        day=day.day.isoformat(),
        imported_kwh=y.import_wh / 1000,
        exported_kwh=y.export.export_wh / 1000,
        usable_export_kwh=y.export.usable_wh / 1000,
        net_eur=y.bill.net_eur,
        hot_water_shortfall_kwh=y.comfort.hot_water_shortfall_wh / 1000,
        run_shortfall_kwh=y.comfort.run_shortfall_wh / 1000,
        adjusted_eur=y.bill.adjusted_eur,
    )


def run_report(controller: str, house: House, days: Sequence[DayFigures]) -> RunReport:
    """The figures of one finished run, from those of each of its days."""
    rec = house.recording
    k = kpi.combine([d.kpis for d in days])
    yard = total([d.yardstick for d in days])
    equipment = []
    for name in rec.names:
        cfg = rec.config(name)
        starts = None
        if isinstance(cfg, ConstantPowerConfig | UnknownPowerConfig):
            starts = k.loads[name].starts
        heats = [d for d in days if name in d.final_temp_c]
        below_h = math.fsum(d.below_temp_min_h[name] for d in heats) if heats else None
        final_c = round(heats[-1].final_temp_c[name], 1) if heats else None
        equipment.append(
            EquipmentReport(
                name=name,
                type=type(cfg).__name__.removesuffix("Config") + "Equipment",
                energy_kwh=k.loads[name].energy_wh / 1000,
                offpeak_grid_kwh=math.fsum(d.offpeak_grid_wh[name] for d in days) / 1000,
                starts=starts,
                below_temp_min_h=below_h,
                final_temp_c=final_c,
            )
        )
    return RunReport(
        controller=controller,
        pv_kwh=k.pv_wh / 1000,
        consumption_kwh=(k.base_wh + k.diverted_wh) / 1000,
        self_consumed_kwh=k.self_consumed_wh / 1000,
        self_consumption_pct=None
        if k.self_consumption_ratio is None
        else 100 * k.self_consumption_ratio,
        exported_kwh=k.export_wh / 1000,
        imported_kwh=k.import_wh / 1000,
        diverted_kwh=k.diverted_wh / 1000,
        import_eur=yard.bill.import_eur,
        export_eur=yard.bill.export_eur,
        net_eur=yard.bill.net_eur,
        hot_water_shortfall_kwh=yard.comfort.hot_water_shortfall_wh / 1000,
        run_shortfall_kwh=yard.comfort.run_shortfall_wh / 1000,
        stored_heat_kwh=yard.comfort.stored_wh / 1000,
        adjusted_eur=yard.bill.adjusted_eur,
        usable_export_kwh=yard.export.usable_wh / 1000,
        unusable_export_kwh=yard.export.unusable_wh / 1000,
        missed_after_delays_kwh=k.missed_surplus_wh / 1000,
        missed_after_delays_pct_pv=k.missed_surplus_pct_pv,
        controller_import_kwh=k.controller_import_wh / 1000,
        controller_import_pct_diverted=k.controller_import_pct_diverted,
        grid_error_p50_w=k.error_p50_w,
        grid_error_p95_w=k.error_p95_w,
        offpeak_grid_kwh=math.fsum(math.fsum(d.offpeak_grid_wh.values()) for d in days) / 1000,
        balance_error_pct=k.balance_error_pct,
        equipment=equipment,
        days=[day_report(d.yardstick) for d in days],
    )


def floor_report(best: Floor) -> RunReport:
    """The optimum's column: what it pays and draws (the frame and trim figures of a
    controller do not apply to a schedule of slot means)."""
    diverted_wh = sum(best.loads_wh.values())
    return RunReport(
        controller="optimum",
        pv_kwh=best.pv_wh / 1000,
        consumption_kwh=(best.base_wh + diverted_wh) / 1000,
        self_consumed_kwh=(best.pv_wh - best.export_wh) / 1000,
        self_consumption_pct=100 * (best.pv_wh - best.export_wh) / best.pv_wh
        if best.pv_wh > 0
        else None,
        exported_kwh=best.export_wh / 1000,
        imported_kwh=best.import_wh / 1000,
        diverted_kwh=diverted_wh / 1000,
        import_eur=best.import_eur,
        export_eur=best.export_eur,
        net_eur=best.net_eur,
        hot_water_shortfall_kwh=best.hot_water_shortfall_wh / 1000,
        run_shortfall_kwh=0.0,
        stored_heat_kwh=best.stored_wh / 1000,
        adjusted_eur=best.adjusted_eur,
        usable_export_kwh=None,
        unusable_export_kwh=None,
        missed_after_delays_kwh=None,
        missed_after_delays_pct_pv=None,
        controller_import_kwh=None,
        controller_import_pct_diverted=None,
        grid_error_p50_w=None,
        grid_error_p95_w=None,
        offpeak_grid_kwh=None,
        balance_error_pct=None,
        equipment=[
            EquipmentReport(name=name, type="", energy_kwh=wh / 1000, offpeak_grid_kwh=None)
            for name, wh in best.loads_wh.items()
        ],
        days=[
            DayReport(
                day=d.day.isoformat(),
                imported_kwh=d.import_wh / 1000,
                exported_kwh=d.export_wh / 1000,
                usable_export_kwh=None,
                net_eur=d.net_eur,
                hot_water_shortfall_kwh=d.hot_water_shortfall_wh / 1000,
                run_shortfall_kwh=0.0,
                adjusted_eur=d.adjusted_eur,
            )
            for d in best.days
        ],
    )


def as_json(header: dict[str, object], runs: list[RunReport]) -> dict[str, Any]:
    """The ``--json`` document: the header, then each run under its controller's name."""
    return {**header, "runs": {run.controller: asdict(run) for run in runs}}


#: Rows of the text table: (label, key in RunReport, format).
_ROWS: tuple[tuple[str, str, str], ...] = (
    ("PV energy (kWh)", "pv_kwh", "{:.2f}"),
    ("consumption (kWh)", "consumption_kwh", "{:.2f}"),
    ("self-consumed (kWh)", "self_consumed_kwh", "{:.2f}"),
    ("self-consumption (% of PV)", "self_consumption_pct", "{:.1f}"),
    ("exported (kWh)", "exported_kwh", "{:.2f}"),
    ("imported (kWh)", "imported_kwh", "{:.2f}"),
    ("diverted to equipment (kWh)", "diverted_kwh", "{:.2f}"),
    ("paid for imports (EUR)", "import_eur", "{:.2f}"),
    ("earned for exports (EUR)", "export_eur", "{:.2f}"),
    ("net cost (EUR)", "net_eur", "{:.2f}"),
    ("hot water below temp_min (kWh)", "hot_water_shortfall_kwh", "{:.2f}"),
    ("run time not met (kWh)", "run_shortfall_kwh", "{:.2f}"),
    ("heat gained by the tanks (kWh)", "stored_heat_kwh", "{:.2f}"),
    ("adjusted cost (EUR)", "adjusted_eur", "{:.2f}"),
    ("saved against none (EUR)", "saved_eur", "{:.2f}"),
    ("share of achievable saving (%)", "achievable_pct", "{:.0f}"),
    ("export a load could take (kWh)", "usable_export_kwh", "{:.2f}"),
    ("export nothing could take (kWh)", "unusable_export_kwh", "{:.2f}"),
    ("missed after pvopt's delays (% PV)", "missed_after_delays_pct_pv", "{:.2f}"),
    ("import while a load drew (kWh)", "controller_import_kwh", "{:.3f}"),
    ("  (% of diverted)", "controller_import_pct_diverted", "{:.2f}"),
    ("|grid - target| p50 (W)", "grid_error_p50_w", "{:.0f}"),
    ("|grid - target| p95 (W)", "grid_error_p95_w", "{:.0f}"),
    ("off-peak grid for equipment (kWh)", "offpeak_grid_kwh", "{:.2f}"),
)
_EQUIPMENT_ROWS: tuple[tuple[str, str, str], ...] = (
    ("energy (kWh)", "energy_kwh", "{:.2f}"),
    ("starts", "starts", "{}"),
    ("below temp_min (h)", "below_temp_min_h", "{:.1f}"),
    ("final temperature (°C)", "final_temp_c", "{:.1f}"),
    ("off-peak grid (kWh)", "offpeak_grid_kwh", "{:.2f}"),
)


def _cell(value: object, fmt: str) -> str:
    return "-" if value is None else fmt.format(value)


def as_text(title: list[str], runs: list[RunReport]) -> str:
    """The text report: ``title`` lines, then one column per run."""
    width = 38
    head = f"{'':{width}}" + "".join(f"{run.controller:>11}" for run in runs)
    lines = [*title, "", head]
    for label, key, fmt in _ROWS:
        cells = "".join(f"{_cell(getattr(run, key), fmt):>11}" for run in runs)
        lines.append(f"{label:{width}}{cells}")
    for index, first in enumerate(runs[0].equipment if runs else []):
        lines.append(f"{first.name} ({first.type})")
        for label, key, fmt in _EQUIPMENT_ROWS:
            values = [getattr(run.equipment[index], key) for run in runs]
            if all(v is None for v in values):
                continue
            cells = "".join(f"{_cell(v, fmt):>11}" for v in values)
            lines.append(f"  {label:{width - 2}}{cells}")
    return "\n".join(lines)


#: The columns of ``--csv``: one row per controller and local day.
CSV_COLUMNS = (
    "day",
    "controller",
    "imported_kwh",
    "exported_kwh",
    "usable_export_kwh",
    "net_eur",
    "hot_water_shortfall_kwh",
    "run_shortfall_kwh",
    "adjusted_eur",
    "saved_eur",
    "achievable_pct",
)


def days_csv(runs: list[RunReport]) -> str:
    """The per-day figures as CSV (:data:`CSV_COLUMNS`), days in order, controllers in
    report order; empty cells where a figure does not apply."""
    rows = [",".join(CSV_COLUMNS)]
    days = sorted({d.day for run in runs for d in run.days})
    for day in days:
        for run in runs:
            for d in run.days:
                if d.day != day:
                    continue
                values = asdict(d)
                values["controller"] = run.controller
                rows.append(
                    ",".join("" if values[c] is None else _csv_cell(values[c]) for c in CSV_COLUMNS)
                )
    return "\n".join(rows) + "\n"


def _csv_cell(value: object) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def days_text(runs: list[RunReport]) -> str:
    """The per-day table: each controller's adjusted cost, then the share of the
    achievable saving of each controller that is neither ``none`` nor the optimum."""
    graded = [r for r in runs if r.controller not in ("none", "optimum")]
    head = f"{'day':<12}" + "".join(f"{r.controller:>10}" for r in runs)
    head += "".join(f"{r.controller + ' %':>12}" for r in graded)
    lines = ["per day: adjusted cost (EUR), share of the achievable saving (%)", head]
    by_run = [{d.day: d for d in r.days} for r in runs]
    graded_days = [{d.day: d for d in r.days} for r in graded]
    for day in sorted({d.day for r in runs for d in r.days}):
        cells = "".join(
            f"{_cell(days[day].adjusted_eur if day in days else None, '{:.2f}'):>10}"
            for days in by_run
        )
        cells += "".join(
            f"{_cell(days[day].achievable_pct if day in days else None, '{:.0f}'):>12}"
            for days in graded_days
        )
        lines.append(f"{day:<12}{cells}")
    return "\n".join(lines)


def offpeak_label(start: time | None, end: time | None) -> str:
    """``02:00–07:00`` or ``none``."""
    if start is None or end is None:
        return "none"
    return f"{start:%H:%M}–{end:%H:%M}"
