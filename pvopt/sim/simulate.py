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
import json
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from pvopt.equipment.model import SiteConfig
from pvopt.regulation.core import Regulator
from pvopt.regulation.policy import PolicyFactory
from pvopt.sim import report, scenarios
from pvopt.sim.baseline import NoRegulation, OriginalRegulator
from pvopt.sim.house import Recording
from pvopt.sim.scenario_file import resolve

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


@dataclass(frozen=True)
class Run:
    """One controller's simulated day(s), as the report needs it."""

    controller: str
    figures: report.RunReport
    recording: Recording | None  # kept when asked for (the plot)
    pv_model: str
    cpu_s: float  # building and running the house, and its report


#: One controller's day(s) to run: (controller name, scenario, site, seed, days, its
#: class, keep the recording).
Task = tuple[str, scenarios.Scenario, SiteConfig, int, int, PolicyFactory, bool]
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
) -> list[Run]:
    """Run every controller of :data:`CONTROLLERS` on the same day(s), with its report.

    The runs are independent (each builds its own house from the seed): ``run_map`` may
    run them in parallel, the figures are the same to the last digit.
    """
    tasks: list[Task] = [
        (name, scenario, site, seed, days, controller, keep_recordings)
        for name, controller in CONTROLLERS
    ]
    return list(run_map(run_controller, tasks))


def run_controller(task: Task) -> Run:
    """One controller's day(s) and report (in whichever process runs it)."""
    name, scenario, site, seed, days, controller, keep_recording = task
    began = time.process_time()
    house = scenarios.build(scenario, seed, site=site, end_hour=24.0 * days, controller=controller)
    house.run()
    figures = report.run_report(name, house, scenarios.PARIS)
    return Run(
        name,
        figures,
        house.recording if keep_recording else None,
        house.pv.model,
        time.process_time() - began,
    )


class SimulateError(Exception):
    """A scenario, configuration or option the command cannot use (exit 2)."""


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
) -> int:
    """The command: 0 ok, 2 bad scenario, configuration or option (message on stderr).
    ``settings_hc`` is the default off-peak window of a configuration file (as for
    ``pvopt regulate``)."""
    try:
        return _run(options, settings_hc, sys.stdout if out is None else out, run_map)
    except SimulateError as exc:
        print(exc, file=sys.stderr)
        return 2


def _run(
    options: SimulateOptions,
    settings_hc: tuple[dt.time, dt.time] | None,
    out: TextIO,
    run_map: RunMap,
) -> int:
    scenario, site, config_label = _inputs(options, settings_hc)
    try:
        runs = simulate(
            scenario, site, options.seed, options.days, options.plot is not None, run_map
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
            plot_path = plot_day(recordings, options.plot, title, tz)
        except RuntimeError as exc:
            raise SimulateError(f"pvopt simulate: {exc}") from exc
        header["plot"] = str(plot_path)
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
        "algorithm; none = no router (water heater on the off-peak contactor)",
    ]
    out.write(report.as_text(lines, reports) + "\n")
    out.write(f"\n{len(runs)} runs in {cpu_s:.1f} s of CPU\n")
    if plot_path is not None:
        out.write(f"plot: {plot_path}\n")
    return 0
