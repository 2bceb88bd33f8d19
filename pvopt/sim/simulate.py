"""``pvopt simulate``: a day of the house model under pvopt, the original algorithm and no
regulation, with the report (text or JSON) and optionally a PNG.

The three runs see the identical day: same seed, same scenario, same PV, household load,
hot-water draws and meter timing (every random process of the simulator has its own
stream derived from the seed). pvopt's run uses :class:`~pvopt.regulation.core.Regulator`,
the very class ``pvopt regulate`` drives.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from pvopt.equipment.model import SiteConfig
from pvopt.regulation.core import Regulator
from pvopt.sim import report, scenarios
from pvopt.sim.baseline import NoRegulation, OriginalRegulator
from pvopt.sim.house import House

#: Decision cores compared, in report order.
CONTROLLERS: tuple[tuple[str, type[Regulator]], ...] = (
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


def simulate(
    scenario: scenarios.Scenario, site: SiteConfig, seed: int, days: int
) -> list[tuple[str, House]]:
    """Run every controller of :data:`CONTROLLERS` on the same day(s)."""
    runs = []
    for name, controller in CONTROLLERS:
        house = scenarios.build(
            scenario, seed, site=site, end_hour=24.0 * days, controller=controller
        )
        house.run()
        runs.append((name, house))
    return runs


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
        scenario = scenarios.resolve(options.scenario)
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
) -> int:
    """The command: 0 ok, 2 bad scenario, configuration or option (message on stderr).
    ``settings_hc`` is the default off-peak window of a configuration file (as for
    ``pvopt regulate``)."""
    try:
        return _run(options, settings_hc, sys.stdout if out is None else out)
    except SimulateError as exc:
        print(exc, file=sys.stderr)
        return 2


def _run(options: SimulateOptions, settings_hc: tuple[dt.time, dt.time] | None, out: TextIO) -> int:
    scenario, site, config_label = _inputs(options, settings_hc)
    began = time.process_time()
    try:
        runs = simulate(scenario, site, options.seed, options.days)
    except ValueError as exc:  # equipment the simulator has no model for
        raise SimulateError(f"pvopt simulate: {exc}") from exc
    cpu_s = time.process_time() - began
    tz = scenarios.PARIS
    reports = [report.run_report(name, house, tz) for name, house in runs]
    reg = site.regulation
    header: dict[str, object] = {
        "scenario": scenario.name,
        "description": scenario.description,
        "day": scenario.day.isoformat(),
        "days": options.days,
        "seed": options.seed,
        "config": config_label,
        "pv_model": runs[0][1].pv.model,
        "target_grid_w": reg.target_grid_w,
        "offpeak": report.offpeak_label(reg.offpeak_start, reg.offpeak_end),
        "cpu_s": round(cpu_s, 2),
    }
    plot_path = None
    if options.plot is not None:
        from pvopt.sim.plot import plot_day

        title = f"{scenario.name} ({scenario.day:%d %b %Y}, seed {options.seed})"
        try:
            plot_path = plot_day(
                [(name, house.recording) for name, house in runs], options.plot, title, tz
            )
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
