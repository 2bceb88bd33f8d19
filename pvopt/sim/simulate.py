"""``pvopt simulate``: a day of the house model under pvopt, the original algorithm and no
regulation, with the report (text or JSON) and optionally a PNG.

The three runs see the identical day: same seed, same scenario, same PV, household load,
hot-water draws and meter timing (every random process of the simulator has its own
stream derived from the seed). pvopt's run uses :class:`~pvopt.regulation.core.Regulator`,
the very class ``pvopt regulate`` drives. The command line runs the three in processes
of their own (``run_map``); here they run one after the other.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from pvopt.config import ForecastSettings
from pvopt.equipment.model import Contract, SiteConfig
from pvopt.regulation.core import Regulator
from pvopt.regulation.policy import PolicyFactory
from pvopt.sim import ejp_signal, floor, report, scenarios, series, vectors, yardstick
from pvopt.sim.baseline import NoRegulation, OriginalRegulator
from pvopt.sim.dayahead import DayAhead
from pvopt.sim.house import House, Recording
from pvopt.sim.scenario_file import resolve
from pvopt.tariff import Colour, Tariff

#: Decision cores compared, in report order.
CONTROLLERS: tuple[tuple[str, PolicyFactory], ...] = (
    ("pvopt", Regulator),
    ("baseline", OriginalRegulator),
    ("none", NoRegulation),
)


@dataclass(frozen=True)
class SimulateOptions:
    """What ``pvopt simulate`` was asked for."""

    scenario: str = "broken-clouds"
    config: Path | None = None  # None: the reference site of the simulator
    plot: Path | None = None
    json: bool = False
    days: int = 1
    seed: int = 1
    optimum: bool = True  # also compute the day's optimum (needs scipy: the sim extra)
    first_day: dt.date | None = None  # None: the scenario's own day
    csv: Path | None = None  # the per-day figures as CSV
    series: Path | None = None  # the run minute by minute as CSV
    tempo_calendar: Path | None = None  # Tempo colours (else generated from the seed)


@dataclass(frozen=True)
class Run:
    """One controller's simulated day(s), as the report needs it."""

    controller: str
    figures: report.RunReport
    recording: Recording | None  # kept when asked for (the plot)
    pv_model: str
    cpu_s: float  # building and running the house, and its report
    schedule: floor.SlotSeries | None = None  # the optimum's, when kept
    minutes: series.MinuteSeries | None = None  # a controller's, when kept


#: Called with (task index, fraction done) as a task advances, in the process that runs
#: it: the command line's draws a progress bar (:func:`pvopt.cli.report_progress`).
Progress = Callable[[int, float], None]


@dataclass(frozen=True)
class Task:
    """One controller's day(s) to run (picklable: it may run in another process)."""

    controller: str
    scenario: scenarios.Scenario
    site: SiteConfig
    seed: int
    days: int
    policy: PolicyFactory | None  # None: the optimum
    keep_recording: bool
    index: int = 0  # its place in the run, for progress reports
    progress: Progress | None = None
    keep_minutes: bool = False  # return its 1-minute series (--series)
    tempo: dict[dt.date, Colour] | None = None  # Tempo colours of a file


#: How the tasks are run: ``map`` here, one after the other, by default; the command line
#: (:mod:`pvopt.cli`) passes one that runs them in processes of their own.
RunMap = Callable[[Callable[[Task], "Run"], list[Task]], Iterable["Run"]]


def simulate(
    scenario: scenarios.Scenario,
    site: SiteConfig,
    seed: int,
    days: int,
    keep_recordings: bool = False,
    run_map: RunMap = map,
    optimum: bool = True,
    progress: Progress | None = None,
    keep_minutes: bool = False,
    tempo: dict[dt.date, Colour] | None = None,
) -> list[Run]:
    """Run every controller of :data:`CONTROLLERS` on the same day(s), with its report.

    The runs are independent (each builds its own house from the seed): ``run_map`` may
    run them in parallel, the figures are the same to the last digit.
    """
    cores: list[tuple[str, PolicyFactory | None]] = list(CONTROLLERS)
    if optimum:
        cores.append(("optimum", None))
    tasks = [
        Task(
            controller=name,
            scenario=scenario,
            site=site,
            seed=seed,
            days=days,
            policy=policy,
            keep_recording=keep_recordings,
            index=i,
            progress=progress,
            keep_minutes=keep_minutes,
            tempo=tempo,
        )
        for i, (name, policy) in enumerate(cores)
    ]
    runs = list(run_map(run_controller, tasks))
    return compare(runs)


def compare(runs: list[Run]) -> list[Run]:
    """Each run's saving against ``none`` and, when the optimum ran, its share of the
    optimum's saving, on adjusted costs."""
    none = next((r.figures.adjusted_eur for r in runs if r.controller == "none"), None)
    best = next((r.figures.adjusted_eur for r in runs if r.controller == "optimum"), None)
    if none is None:
        return runs
    compared = []
    for r in runs:
        cost = r.figures.adjusted_eur
        saved = None if cost is None else none - cost
        share = None if cost is None else _share(none, cost, best)
        days = _compare_days(r.figures.days, runs)
        figures = replace(r.figures, saved_eur=saved, achievable_pct=share, days=days)
        compared.append(replace(r, figures=figures))
    return compared


def _share(none: float, cost: float, best: float | None) -> float | None:
    """The share of the achievable saving: (none − cost) / (none − best), %."""
    if best is None or none - best <= 0:
        return None
    return 100.0 * (none - cost) / (none - best)


def _compare_days(days: list[report.DayReport], runs: list[Run]) -> list[report.DayReport]:
    """Each day's saving against ``none`` and share of the optimum's saving."""
    by_day = {
        r.controller: {d.day: d.adjusted_eur for d in r.figures.days}
        for r in runs
        if r.controller in ("none", "optimum")
    }
    none, best = by_day.get("none", {}), by_day.get("optimum", {})
    out = []
    for d in days:
        base = none.get(d.day)
        if base is None:
            out.append(d)
            continue
        share = _share(base, d.adjusted_eur, best.get(d.day))
        out.append(replace(d, saved_eur=base - d.adjusted_eur, achievable_pct=share))
    return out


def run_controller(task: Task) -> Run:
    """One controller's day(s) and report, or the optimum's (in whichever process runs
    it). The run is graded a local day at a time as it goes; unless its recording is
    kept (the plot), each day is then forgotten, so that a year fits in memory."""
    began = time.process_time()
    if task.policy is None:
        return _run_optimum(task, began)
    tariff = _tariff(task)
    house = scenarios.build(
        task.scenario,
        task.seed,
        site=task.site,
        end_hour=24.0 * task.days,
        controller=task.policy,
        tariff=tariff,
    )
    if house.end is None:
        raise ValueError("the house has no end")
    tz = scenarios.PARIS
    rec = house.recording
    prices = yardstick.price_series(tariff, house.start, house.end)
    days: list[report.DayFigures] = []
    minutes: list[series.MinuteSeries] = []
    forecasts = DayAhead(house.pv, house.start, house.end, f"{task.seed}", tz)
    ejp_said = _ejp_announcements(tariff, house.start, house.end, tz)
    with fewer_collections():
        for start, end in yardstick.local_days(house.start, house.end, tz):
            house.regulator.set_forecast(forecasts.issued_at(start), ForecastSettings.max_age_s)
            while ejp_said and ejp_said[0].at_s < end:
                said = ejp_said.pop(0)
                _run_house(house, task, said.at_s)
                house.regulator.set_ejp_day(said.day, dt.datetime.fromtimestamp(said.at_s, dt.UTC))
            _run_house(house, task, end)
            days.append(report.day_figures(house, prices, tz, start, end))
            if task.keep_minutes:
                minutes.append(series.minute_series(house, start, end))
            if not task.keep_recording:
                rec.forget_before(end - LOOKBACK_S)
    return Run(
        controller=task.controller,
        figures=report.run_report(task.controller, house, days),
        recording=rec if task.keep_recording else None,
        pv_model=house.pv.model,
        cpu_s=time.process_time() - began,
        minutes=series.joined(minutes) if minutes else None,
    )


#: The cyclic garbage collector's first threshold while a house runs (Python's: 700
#: allocations). Each meter frame makes a few dozen short-lived records, none of them in
#: a reference cycle: at Python's threshold the collector ran ~280 times a simulated day
#: for nothing, and each tenth of those scanned the older objects too (0.64 s of the
#: 9.4 s of CPU of three days of pvopt; 0.12 s at this one, measured on 2026-12-07).
RUN_GC_THRESHOLD = 20_000


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Run the block with the collector's first threshold at :data:`RUN_GC_THRESHOLD`,
    then restore it (runs also happen inside other processes: the tests). Nothing a run
    computes depends on when the collector runs."""
    thresholds = gc.get_threshold()
    gc.set_threshold(max(RUN_GC_THRESHOLD, thresholds[0]), *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)


#: How much of a graded day a run keeps when it forgets it: what the grading of the next
#: day looks back at (the step before it, for the heat the tanks gained) and a margin.
LOOKBACK_S = 3600.0
#: How often a run reports its progress, in simulated seconds.
PROGRESS_STEP_S = 3600.0


def _run_house(house: House, task: Task, until: float) -> None:
    """Run the house to ``until``, an hour at a time, reporting the run's progress."""
    assert house.end is not None
    t = house.now
    while t < until - 1e-6:
        t = min(t + PROGRESS_STEP_S, until)
        house.run_until(t)
        if task.progress is not None:
            task.progress(task.index, (t - house.start) / (house.end - house.start))


def _ejp_announcements(
    tariff: Tariff, start_s: float, end_s: float, tz: ZoneInfo
) -> list[ejp_signal.Announcement]:
    """On an EJP contract, the days' announcements the household receives (the same
    ``regulation/ejp`` input as the daemon's); none on the other contracts."""
    if tariff.config.contract is not Contract.EJP or tariff.ejp_calendar is None:
        return []
    return ejp_signal.announcements(tariff.ejp_calendar, start_s, end_s, tz)


def _tariff(task: Task) -> Tariff:
    first = task.scenario.day
    last = first + dt.timedelta(days=task.days)
    return yardstick.tariff_for(task.site, scenarios.PARIS, first, last, task.seed, task.tempo)


def _task_progress(task: Task) -> Callable[[float], None] | None:
    hook = task.progress
    if hook is None:
        return None
    return lambda fraction: hook(task.index, fraction)


def _run_optimum(task: Task, began: float) -> Run:
    """The optimum of the same day(s): the house is built for its inputs, not run."""
    house = scenarios.build(
        task.scenario,
        task.seed,
        site=task.site,
        end_hour=24.0 * task.days,
        controller=NoRegulation,
    )
    start = house.start
    end = house.end if house.end is not None else start + 86_400.0 * task.days
    best = floor.floor(house, _tariff(task), start, end, progress=_task_progress(task))
    if not best.solved:
        statuses = ", ".join(f"{d.day}: {d.schedule.message}" for d in best.days)
        raise SimulateError(f"pvopt simulate: the optimum could not be computed ({statuses})")
    keep = task.keep_recording or task.keep_minutes
    return Run(
        controller=task.controller,
        figures=report.floor_report(best),
        recording=None,
        pv_model=house.pv.model,
        cpu_s=time.process_time() - began,
        schedule=floor.slot_series(best, start) if keep else None,
    )


def _write_series(
    options: SimulateOptions,
    runs: list[Run],
    scenario: scenarios.Scenario,
    site: SiteConfig,
    tempo: dict[dt.date, Colour] | None,
) -> None:
    """``--series``: every controller's minutes and the optimum's schedule, as CSV."""
    assert options.series is not None
    minutes = [(r.controller, r.minutes) for r in runs if r.minutes is not None]
    best = next((r.schedule for r in runs if r.schedule is not None), None)
    last = scenario.day + dt.timedelta(days=options.days)
    tariff = yardstick.tariff_for(site, scenarios.PARIS, scenario.day, last, options.seed, tempo)
    try:
        series.write_csv(options.series, minutes, best, tariff, scenarios.PARIS)
    except OSError as exc:
        raise SimulateError(f"pvopt simulate: cannot write {options.series}: {exc}") from exc


class SimulateError(Exception):
    """A scenario, configuration or option the command cannot use (exit 2)."""


def _tempo(options: SimulateOptions) -> dict[dt.date, Colour] | None:
    """The Tempo colours of ``--tempo-calendar``, if given."""
    from pvopt.equipment.loader import ConfigFileError, load_tempo_calendar

    if options.tempo_calendar is None:
        return None
    try:
        return dict(load_tempo_calendar(options.tempo_calendar).colours)
    except (ConfigFileError, OSError) as exc:
        raise SimulateError(f"pvopt simulate: {exc}") from exc


def _inputs(
    options: SimulateOptions, settings_hc: tuple[dt.time, dt.time] | None
) -> tuple[scenarios.Scenario, SiteConfig, str]:
    from pvopt.config import ConfigError, load_settings
    from pvopt.equipment.loader import ConfigFileError, load_site_config

    if options.days < 1:
        raise SimulateError("pvopt simulate: --days must be at least 1")
    try:
        scenario = resolve(options.scenario)
    except (ValueError, OSError) as exc:
        raise SimulateError(f"pvopt simulate: {exc}") from exc
    if options.first_day is not None:
        if scenario.replay is not None:
            raise SimulateError("pvopt simulate: --from cannot move a recorded day")
        scenario = replace(scenario, day=options.first_day)
    if options.config is None:
        return scenario, scenarios.reference_site(), "the simulator's reference site"
    if settings_hc is None:  # called as a library: the environment's window, as the CLI
        try:
            settings = load_settings()
        except ConfigError as exc:
            raise SimulateError(f"pvopt simulate: configuration error: {exc}") from exc
        settings_hc = (settings.hc_start, settings.hc_end)
    try:
        site = load_site_config(options.config, settings_hc)
    except ConfigFileError as exc:
        raise SimulateError(str(exc)) from exc
    return scenario, site, str(options.config)


def run(
    options: SimulateOptions,
    settings_hc: tuple[dt.time, dt.time] | None = None,
    out: TextIO | None = None,
    run_map: RunMap = map,
    progress: Progress | None = None,
) -> int:
    """The command: 0 ok, 2 bad scenario, configuration or option (message on stderr).
    ``settings_hc`` is the default off-peak window of a configuration file (as for
    ``pvopt regulate``)."""
    try:
        return _run(options, settings_hc, sys.stdout if out is None else out, run_map, progress)
    except SimulateError as exc:
        print(exc, file=sys.stderr)
        return 2


def _run(
    options: SimulateOptions,
    settings_hc: tuple[dt.time, dt.time] | None,
    out: TextIO,
    run_map: RunMap,
    progress: Progress | None,
) -> int:
    scenario, site, config_label = _inputs(options, settings_hc)
    tempo = _tempo(options)
    if not vectors.available():  # before simulating: the grading needs it
        raise SimulateError("pvopt simulate: numpy is missing: pip install 'pvopt[sim]'")
    try:
        optimum = options.optimum and floor.available()
        if options.optimum and not optimum:
            print(
                "pvopt simulate: no optimum (scipy is missing: pip install 'pvopt[sim]')",
                file=sys.stderr,
            )
        runs = simulate(
            scenario,
            site,
            options.seed,
            options.days,
            options.plot is not None,
            run_map,
            optimum,
            progress,
            options.series is not None,
            tempo,
        )
    except ValueError as exc:  # equipment the simulator has no model for
        raise SimulateError(f"pvopt simulate: {exc}") from exc
    tz = scenarios.PARIS
    reports = [r.figures for r in runs]
    cpu_s = sum(r.cpu_s for r in runs)
    reg = site.regulation
    header: dict[str, object] = {
        "scenario": scenario.name,
        "description": scenario.description,
        "day": scenario.day.isoformat(),
        "days": options.days,
        "seed": options.seed,
        "config": config_label,
        "pv_model": runs[0].pv_model,
        "target_grid_w": reg.target_grid_w,
        "offpeak": report.offpeak_label(reg.offpeak_start, reg.offpeak_end),
        "cpu_s": round(cpu_s, 2),
    }
    plot_path = None
    if options.plot is not None:
        from pvopt.sim.plot import plot_day

        title = f"{scenario.name} ({scenario.day:%d %b %Y}, seed {options.seed})"
        try:
            recordings = [(r.controller, r.recording) for r in runs if r.recording is not None]
            costs = {r.controller: r.figures.adjusted_eur for r in runs}
            best = next((r.schedule for r in runs if r.schedule is not None), None)
            plot_path = plot_day(recordings, options.plot, title, tz, costs, best)
        except RuntimeError as exc:
            raise SimulateError(f"pvopt simulate: {exc}") from exc
        header["plot"] = str(plot_path)
    if options.series is not None:
        _write_series(options, runs, scenario, site, tempo)
        header["series"] = str(options.series)
    if options.csv is not None:
        try:
            options.csv.write_text(report.days_csv(reports), "utf-8")
        except OSError as exc:
            raise SimulateError(f"pvopt simulate: cannot write {options.csv}: {exc}") from exc
        header["csv"] = str(options.csv)
    if options.json:
        json.dump(report.as_json(header, reports), out, indent=2)
        out.write("\n")
        return 0
    lines = [
        f"pvopt simulate: {scenario.name}, {scenario.description} "
        f"({scenario.day.isoformat()}, {options.days} day(s), seed {options.seed})",
        f"configuration: {config_label}; PV model: {header['pv_model']}; target "
        f"{reg.target_grid_w:.0f} W; off-peak {header['offpeak']}",
        "pvopt = this regulation; baseline = the original photovoltaic_optimizer "
        "algorithm; none = no router (water heater on the off-peak contactor, a load with "
        "a daily run time on its timer); optimum = the cheapest schedule of the same day(s) "
        "with perfect foresight; costs in EUR on the configuration's tariff",
    ]
    out.write(report.as_text(lines, reports) + "\n")
    if options.days > 1:
        out.write("\n" + report.days_text(reports) + "\n")
    out.write(f"\n{len(runs)} runs in {cpu_s:.1f} s of CPU\n")
    if plot_path is not None:
        out.write(f"plot: {plot_path}\n")
    return 0
