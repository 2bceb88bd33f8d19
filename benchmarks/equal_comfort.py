"""The optimum at equal comfort: what the floor would cost if it could not leave more hot
water drawn below temp_min than pvopt does.

Usage: python benchmarks/equal_comfort.py [pvopt simulate's options: --scenario, --config,
--from, --days, --seed, --tempo-calendar] [--target KWH] [--known NONE_EUR PVOPT_EUR
PVOPT_KWH] [--steps N]

The standard optimum (:mod:`pvopt.sim.floor`) prices a kWh of hot water drawn below
temp_min at the day's dearest import price, as the grading does: with its one-node tank
a small draw from a cold tank is cheaper to leave lukewarm, so it may keep less comfort
than pvopt, whose rules do not trade comfort for cents. This script raises that price in
the optimum's objective alone (``floor.floor(..., comfort_weight=k)``, the Lagrangian of
a cap on the run's total shortfall) to the smallest ``k`` found whose shortfall is at or
below the target (pvopt's own, unless ``--target``): doubling ``k`` from 1, then
bisecting ``--steps`` times. The schedules are graded with the standard yardstick (their
shortfall priced as usual in the adjusted cost), so the figures compare with
``pvopt simulate``'s. It prints each weight tried, the cheapest schedule that meets the
target, and pvopt's share of the achievable saving against the standard and the
equal-comfort optimum. The weight's trade is lumpy (one more shower kept warm is a whole
tank heated), so it may overshoot the target: the script then also solves the optimum
with a hard cap, each day's shortfall at most pvopt's that day (``TankSpec.shortfall_cap_wh``;
with ``--known``, a one-day run only). The default report and its figures are unchanged.

The shortfalls are measured as each column of ``pvopt simulate`` measures them: the
controllers' at the house's 0.2 s steps, the optimum's at its 5-min slot starts.
``--known`` skips the pvopt and none runs (their adjusted € and pvopt's shortfall, kWh,
from an earlier ``pvopt simulate`` of the same options): a 30-day run spends most of its
time there.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pvopt.config import load_settings
from pvopt.equipment.loader import load_site_config, load_tempo_calendar
from pvopt.regulation.core import Regulator
from pvopt.regulation.policy import PolicyFactory
from pvopt.sim import floor, report, scenarios, simulate, yardstick
from pvopt.sim.baseline import NoRegulation
from pvopt.sim.scenario_file import resolve

ROOT = Path(__file__).resolve().parents[1]


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--scenario", default="broken-clouds")
    p.add_argument("--config", type=Path, default=ROOT / "equipment_config.yml.template")
    p.add_argument("--from", dest="first_day", type=dt.date.fromisoformat)
    p.add_argument("--days", type=int, default=1)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--tempo-calendar", type=Path)
    p.add_argument("--target", type=float, help="kWh of shortfall allowed (default: pvopt's)")
    p.add_argument("--known", type=float, nargs=3, metavar=("NONE_EUR", "PVOPT_EUR", "PVOPT_KWH"))
    p.add_argument("--steps", type=int, default=4, help="bisection steps after doubling")
    p.add_argument("--max-weight", type=float, default=256.0)
    return p.parse_args()


def _eur(r: report.RunReport) -> float:
    assert r.adjusted_eur is not None
    return r.adjusted_eur


def main() -> int:  # noqa: PLR0912, PLR0915 - one linear measurement
    a = _args()
    scenario = resolve(a.scenario)
    if a.first_day is not None:
        scenario = replace(scenario, day=a.first_day)
    settings = load_settings()
    site = load_site_config(a.config, (settings.hc_start, settings.hc_end))
    tempo = None
    if a.tempo_calendar is not None:
        tempo = dict(load_tempo_calendar(a.tempo_calendar).colours)

    def task(name: str, policy: PolicyFactory) -> simulate.Task:
        return simulate.Task(name, scenario, site, a.seed, a.days, policy, False, tempo=tempo)

    began = time.monotonic()
    caps: dict[dt.date, float] | None = None  # pvopt's shortfall per day, Wh
    if a.known is not None:
        none_eur, pvopt_eur, pvopt_kwh = a.known
        if a.days == 1:
            caps = {scenario.day: 1000 * (pvopt_kwh if a.target is None else a.target)}
    else:
        pvopt = simulate.run_controller(task("pvopt", Regulator)).figures
        none_eur = _eur(simulate.run_controller(task("none", NoRegulation)).figures)
        pvopt_eur, pvopt_kwh = _eur(pvopt), pvopt.hot_water_shortfall_kwh
        if a.target is None:
            caps = {
                dt.date.fromisoformat(d.day): 1000 * d.hot_water_shortfall_kwh for d in pvopt.days
            }
    target = pvopt_kwh if a.target is None else a.target
    print(f"{scenario.name} from {scenario.day} ({a.days} day(s), seed {a.seed}, {a.config})")
    print(
        f"none {none_eur:.2f} EUR; pvopt {pvopt_eur:.2f} EUR, hot water short "
        f"{pvopt_kwh:.2f} kWh; target {target:.2f} kWh"
    )
    house = scenarios.build(
        scenario, a.seed, site=site, end_hour=24.0 * a.days, controller=NoRegulation
    )
    last = scenario.day + dt.timedelta(days=a.days)
    tariff = yardstick.tariff_for(site, scenarios.PARIS, scenario.day, last, a.seed, tempo)
    end = house.end if house.end is not None else house.start + 86_400.0 * a.days

    def optimum(weight: float, capped: dict[dt.date, float] | None = None) -> report.RunReport:
        best = floor.floor(
            house, tariff, house.start, end, comfort_weight=weight, shortfall_caps_wh=capped
        )
        if not best.solved:
            statuses = ", ".join(f"{d.day}: {d.schedule.status}" for d in best.days)
            raise SystemExit(f"weight {weight}: not solved ({statuses})")
        r = report.floor_report(best)
        print(
            f"  {'capped' if capped else 'weight'} {weight:8.3f}: adjusted {_eur(r):7.3f} EUR, "
            f"net {r.net_eur:7.3f}, "
            f"short {r.hot_water_shortfall_kwh:6.3f} kWh, tank heat "
            f"{r.stored_heat_kwh:+6.2f} kWh, water heater {r.equipment[0].energy_kwh:6.2f} "
            f"kWh  ({time.monotonic() - began:.0f} s)",
            flush=True,
        )
        return r

    tried: dict[float, report.RunReport] = {1.0: optimum(1.0)}
    lo, hi = 1.0, 1.0
    while tried[hi].hot_water_shortfall_kwh > target + 1e-6 and hi < a.max_weight:
        lo, hi = hi, hi * 2
        tried[hi] = optimum(hi)
    if hi > 1.0:
        for _ in range(a.steps):
            mid = (lo * hi) ** 0.5
            tried[mid] = optimum(mid)
            if tried[mid].hot_water_shortfall_kwh > target + 1e-6:
                lo = mid
            else:
                hi = mid
    meeting = [(_eur(r), w) for w, r in tried.items() if r.hot_water_shortfall_kwh <= target + 1e-6]
    if not meeting:
        print(f"no weight up to {a.max_weight} meets the target")
        return 1
    cost, weight = min(meeting)

    def share(best: float) -> str:
        if none_eur <= best:
            return "-"
        return f"{100 * (none_eur - pvopt_eur) / (none_eur - best):.1f} %"

    standard = tried[1.0]
    print(
        f"standard optimum {_eur(standard):.2f} EUR "
        f"({standard.hot_water_shortfall_kwh:.2f} kWh short): pvopt's share "
        f"{share(_eur(standard))}"
    )
    print(
        f"equal-comfort optimum (weight {weight:.3g}) {cost:.2f} EUR "
        f"({tried[weight].hot_water_shortfall_kwh:.2f} kWh short): pvopt's share {share(cost)}"
    )
    if caps is not None:
        capped = optimum(1.0, caps)
        print(
            f"capped optimum (each day at most pvopt's shortfall) {_eur(capped):.2f} EUR "
            f"({capped.hot_water_shortfall_kwh:.2f} kWh short): pvopt's share "
            f"{share(_eur(capped))}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
