"""The floor of a simulated run: the perfect-foresight optimum (:mod:`pvopt.sim.optimum`)
posed from the very inputs the controllers lived through.

Each local day of the run is one problem: PV and the household's load (the house's own
models, sampled at its 0.2 s steps and averaged per slot), the hot-water draws, the
tank's physics, the equipment of the configuration and the prices of the tariff.

Days are chained on a rolling horizon (:func:`rolling`): day ``d`` is solved together
with the next morning until noon (:data:`LOOKAHEAD_S`; the last day alone), day ``d``'s
part of the schedule is kept, and day ``d + 1`` starts where it left the tank and the
on/off loads (on or off, and since when: a pump running at midnight keeps its minimum on
time). The heat the tank holds at the end of each horizon is worth the run's cheapest
import price per kWh — a terminal value, ``−v·C·(T_end − T_start)``, not a constraint:
the grading values the heat a run leaves in the tank at that very price, so the optimum
minimises the figure it is compared on, and heat kept overnight is weighed against the
next morning's own sun, draws and prices. (It replaces a constraint that each day end at
least as hot as it started, which no controller has: on a cloudless July month pvopt
came out 0.34 € below that "optimum" by letting the tank drift from day to day; the
floor of that month went from 37.00 to 30.62 €, measured on 2026-12-06 before the
template's pool pump had a daily run time and before the optimum counted each slot's
draw at the slot's mean temperature: 31.47 € on 2026-12-07.)

A load's daily run time (``daily_run_time`` by ``latest_end``) is a constraint of its
day. Comfort is priced in the optimum as in the grading (:data:`COMFORT_WEIGHT`): the
comfort shortfall at its day's dearest import price, the heat the tank gained at the
run's cheapest price (:mod:`pvopt.sim.yardstick`).

What it guarantees, and what not. The grading's adjusted cost of a run telescopes over
its days: ``A = Σ_d [net_d + penalty_d − v·(E_d − E_{d−1})]`` (``E_d`` the tank's heat at
the end of day ``d``, ``v`` the run's cheapest import price). For a one-day run the floor
is that day's exact optimum, hence below every controller up to its resolution (5-min
slot means, the solver's gap, the modelling caveats of :mod:`pvopt.sim.optimum`; the
tests check it). Over several days it is a feasible schedule of the whole run, judged
exactly as the controllers are, but found one day (and a lookahead) at a time, not the
optimum of the whole run: a controller keeping heat for a use two or more days ahead, or
an on/off load's run straddling a horizon's end, could in principle come out below it.
A provable lower bound of ``A`` for every controller is the relaxation in which each
day's start is free and its heat paid at ``v`` (``Σ_d min [net_d + penalty_d −
v·C·(T_end − T_start)]``, ``T_start`` a variable too, and each on/off load's state at
midnight free): each controller's own day is feasible there, whatever it left the day
before. It is not computed here because it is too loose to grade with: a day may start
with a cold tank at no cost but the comfort it lacks, and be credited ``v`` for all the
sun it stores. Measured on 30-day months of the shipped template (the tank's start free,
the loads off at midnight; on 2026-12-06, before the template's pool pump had a daily
run time and before the optimum counted each slot's draw at the slot's mean
temperature, not re-measured since): −2.72 € against the floor's 30.62 € in a cloudless
July (flat price, so a cold start costs only ``v``), 58.98 € against 59.80 € in a Tempo
January.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

from pvopt.equipment.model import (
    MIDNIGHT,
    ConstantPowerConfig,
    TempDrivenVariablePowerConfig,
    UnknownPowerConfig,
    VariablePowerConfig,
    local_end,
    local_instant,
)
from pvopt.sim import vectors
from pvopt.sim.equipment import DimmerLoad
from pvopt.sim.house import House
from pvopt.sim.optimum import (
    DayProblem,
    DimmerSpec,
    OnOffSpec,
    Schedule,
    TankSpec,
    chain,
    head,
    head_problem,
    optimise,
)
from pvopt.sim.yardstick import comfort_c, local_days, onoff_power_w
from pvopt.tariff import Tariff

#: The optimum's slot, s: 5 min solves a day in seconds (the floor of slot means is a
#: little lower than at 1 min: see :mod:`pvopt.sim.optimum`).
SLOT_S = 300.0
#: The house's step used to average PV and load over a slot.
SAMPLE_S = 0.2
#: What a kWh of hot water drawn below temp_min costs the optimum, in multiples of the
#: day's dearest import price: 1, the very price the controllers' adjusted cost charges,
#: so that the optimum minimises the figure it is compared on and is a floor of it. At
#: 100× (comfort as a near-hard constraint) the fully mixed tank makes comfort dear —
#: keeping the water drawn at temp_min means heating the whole tank, ~4× the draw's
#: shortfall — and on the broken-cloud day pvopt's adjusted cost came out 0.44 € *below*
#: that "floor" (133 % of the achievable saving; measured before issue #15's rules and
#: the slot-mean comfort count). The optimum's own shortfall is reported, and priced
#: like everyone's.
COMFORT_WEIGHT = 1.0
#: How far past each day the rolling horizon looks, s (module docstring): the next
#: morning until noon, so that heat kept overnight is weighed against the next night's
#: prices, the morning's draws and the morning sun. Measured on 30-day months of the
#: shipped template (CPU per day including sampling the inputs, on 2 cores busy with a
#: year's run beside it; seed 1): a Tempo January (seasonal from 5 January) 0.48 s/day
#: alone, 0.78 s with 12 h, 1.21 s with the whole next day, for adjusted costs of 63.05,
#: 63.02 and 63.01 €; a cloudless July (clear-summer from 1 July) 31.47 € all three
#: (0.52–1.30 s/day). (First measured before the template's pump had a run time: 59.80,
#: 59.80, 59.79 € and 30.62 €.) The terminal value does nearly all of the work; the
#: whole next day is not worth the time.
LOOKAHEAD_S = 43_200.0


@dataclass(frozen=True)
class SlotSeries:
    """The optimum's schedule over the run, slot by slot (for plots and ``--series``)."""

    start: float  # POSIX s
    slot_s: float
    grid_w: tuple[float, ...]  # positive = import
    power_w: dict[str, tuple[float, ...]]  # per load
    tank_c: dict[str, tuple[float, ...]]  # per tank, at slot starts


def slot_series(best: Floor, start: float) -> SlotSeries:
    """The run's schedule as one series (the days put end to end)."""
    slot_s = best.days[0].schedule.slot_s if best.days else SLOT_S
    grid: list[float] = []
    power: dict[str, list[float]] = {}
    tanks: dict[str, list[float]] = {}
    for d in best.days:
        s = d.schedule
        grid.extend(s.grid_w)
        for name, values in s.power_w.items():
            power.setdefault(name, []).extend(values)
        for name, temps in s.tank_c.items():
            tanks.setdefault(name, []).extend(temps[: len(s.grid_w)])
    return SlotSeries(
        start,
        slot_s,
        tuple(grid),
        {n: tuple(v) for n, v in power.items()},
        {n: tuple(v) for n, v in tanks.items()},
    )


def available() -> bool:
    """Can the optimum be computed here (scipy, from the ``sim`` extra)?"""
    return importlib.util.find_spec("scipy") is not None


@dataclass(frozen=True)
class DayFloor:
    """The optimum of one local day, priced as a controller's day is."""

    day: date
    schedule: Schedule
    pv_wh: float
    base_wh: float
    import_wh: float
    export_wh: float
    import_eur: float
    export_eur: float
    penalty_eur: float  # its comfort shortfall at the day's dearest import price
    stored_wh: float  # heat the tanks gained over the day
    stored_eur: float  # that heat at the run's cheapest import price
    hot_water_shortfall_wh: float
    loads_wh: dict[str, float]  # energy each load drew, in priority order

    @property
    def net_eur(self) -> float:
        """Paid for imports − earned for exports."""
        return self.import_eur - self.export_eur

    @property
    def adjusted_eur(self) -> float:
        """As :attr:`pvopt.sim.yardstick.Bill.adjusted_eur`."""
        return self.net_eur + self.penalty_eur - self.stored_eur


@dataclass(frozen=True)
class Floor:
    """The optimum of a run, day by day."""

    days: list[DayFloor]

    def _total(self, figure: str) -> float:
        return float(sum(getattr(d, figure) for d in self.days))

    @property
    def solved(self) -> bool:
        """Every day has a schedule."""
        return all(d.schedule.solved for d in self.days)

    @property
    def pv_wh(self) -> float:
        """PV energy (slot means)."""
        return self._total("pv_wh")

    @property
    def base_wh(self) -> float:
        """The household's own consumption (slot means)."""
        return self._total("base_wh")

    @property
    def import_wh(self) -> float:
        """Imported energy."""
        return self._total("import_wh")

    @property
    def export_wh(self) -> float:
        """Exported energy."""
        return self._total("export_wh")

    @property
    def import_eur(self) -> float:
        """Paid for imports."""
        return self._total("import_eur")

    @property
    def export_eur(self) -> float:
        """Earned for exports."""
        return self._total("export_eur")

    @property
    def penalty_eur(self) -> float:
        """The comfort shortfall's price."""
        return self._total("penalty_eur")

    @property
    def stored_wh(self) -> float:
        """Heat the tanks gained over the run."""
        return self._total("stored_wh")

    @property
    def hot_water_shortfall_wh(self) -> float:
        """Hot water drawn below temp_min (energy to bring it up)."""
        return self._total("hot_water_shortfall_wh")

    @property
    def net_eur(self) -> float:
        """Paid for imports − earned for exports."""
        return self._total("net_eur")

    @property
    def adjusted_eur(self) -> float:
        """As :attr:`pvopt.sim.yardstick.Bill.adjusted_eur`."""
        return self._total("adjusted_eur")

    @property
    def loads_wh(self) -> dict[str, float]:
        """Energy each load drew over the run, in priority order."""
        total: dict[str, float] = {}
        for d in self.days:
            for name, wh in d.loads_wh.items():
                total[name] = total.get(name, 0.0) + wh
        return total


def day_problem(
    house: House,
    tariff: Tariff,
    start: float,
    slots: int,
    tank_start_c: dict[str, float],
    slot_s: float = SLOT_S,
    stored_eur_kwh: float = 0.0,
    comfort_weight: float = COMFORT_WEIGHT,
    shortfall_cap_wh: float | None = None,
) -> DayProblem:
    """The problem of ``slots`` slots from ``start`` (POSIX s) for this house's inputs;
    ``tank_start_c``: each tank's temperature at ``start`` (by load name);
    ``stored_eur_kwh``: what a kWh of heat the tanks gain is worth at the end (their
    terminal value, :attr:`~pvopt.sim.optimum.TankSpec.end_value_eur_kwh`);
    ``comfort_weight``: the comfort shortfall's price in the objective, in multiples of
    the day's dearest import (:data:`COMFORT_WEIGHT`); ``shortfall_cap_wh``: each tank's
    comfort shortfall over the problem at most this (None: no cap)."""
    per_slot = round(slot_s / SAMPLE_S)
    n = slots * per_slot
    pv = vectors.means(house.pv.sample(start, SAMPLE_S, n), per_slot)
    base = vectors.means(house.base.sample(start, SAMPLE_S, n), per_slot)
    begins = datetime.fromtimestamp(start, UTC)
    prices = tuple(tariff.import_prices_eur_kwh(begins, slot_s, slots))
    day = datetime.fromtimestamp(start, tariff.tz).date()
    dimmers: list[DimmerSpec] = []
    onoffs: list[OnOffSpec] = []
    for load in house.loads:
        cfg = house.recording.config(load.name)
        if isinstance(cfg, VariablePowerConfig):
            dimmers.append(_dimmer(load, cfg, start, per_slot, n, tank_start_c, stored_eur_kwh))
        elif (power := onoff_power_w(cfg)) is not None and isinstance(
            cfg, ConstantPowerConfig | UnknownPowerConfig
        ):
            run_s, run_by = _need(cfg, start, slots, slot_s, tariff)
            onoffs.append(OnOffSpec(cfg.name, power, cfg.min_on_s, cfg.min_off_s, run_s, run_by))
    if shortfall_cap_wh is not None:
        dimmers = [
            d
            if d.tank is None
            else replace(d, tank=replace(d.tank, shortfall_cap_wh=shortfall_cap_wh))
            for d in dimmers
        ]
    return DayProblem(
        slot_s=slot_s,
        pv_w=pv,
        base_w=base,
        import_eur_kwh=prices,
        export_eur_kwh=(tariff.config.export_price_eur_kwh,) * slots,
        dimmers=tuple(dimmers),
        onoffs=tuple(onoffs),
        shortfall_eur_kwh=comfort_weight * tariff.dearest_import_price_eur_kwh(day),
    )


def _need(
    cfg: ConstantPowerConfig | UnknownPowerConfig,
    start: float,
    slots: int,
    slot_s: float,
    tariff: Tariff,
) -> tuple[float, int | None]:
    """The daily run time a problem starting at ``start`` must give the load, and the
    slot it must be done by: none unless the problem covers its day from midnight to its
    ``latest_end`` (as the yardstick judges it)."""
    if cfg.daily_run_s <= 0:
        return 0.0, None
    local = datetime.fromtimestamp(start, tariff.tz)
    midnight = local_instant(local.date(), MIDNIGHT, tariff.tz).timestamp()
    deadline = local_end(local.date(), cfg.latest_end, tariff.tz).timestamp()
    if start > midnight + 1e-6 or deadline > start + slots * slot_s + 1e-6:
        return 0.0, None
    return cfg.daily_run_s, round((deadline - start) / slot_s)


def _dimmer(
    load: object,
    cfg: VariablePowerConfig,
    start: float,
    per_slot: int,
    n: int,
    tank_start_c: dict[str, float],
    stored_eur_kwh: float,
) -> DimmerSpec:
    if not isinstance(load, DimmerLoad) or load.tank is None:
        return DimmerSpec(cfg.name, cfg.max_power_w)
    params = load.tank.params
    flows = load.tank.draws.sample(start, SAMPLE_S, n)
    litres = tuple(sum(flows[i : i + per_slot]) * SAMPLE_S / 60.0 for i in range(0, n, per_slot))
    max_c = params.cut_c  # the thermostat's, or temp_max under a probe
    if isinstance(cfg, TempDrivenVariablePowerConfig):
        max_c = min(cfg.temp_max_c, max_c)
    min_c = comfort_c(cfg)
    tank = TankSpec(
        capacity_wh_per_k=params.capacity_wh_per_k,
        loss_w_per_k=params.loss_w_per_k,
        ambient_c=params.ambient_c,
        cold_c=params.cold_c,
        initial_c=tank_start_c[cfg.name],
        min_c=min_c,
        max_c=max_c,
        draw_l=litres,
        end_value_eur_kwh=stored_eur_kwh,
    )
    return DimmerSpec(cfg.name, cfg.max_power_w, tank)


@dataclass(frozen=True)
class OnOffState:
    """An on/off load at a day's start: on or off, and for how long (s)."""

    on: bool
    age_s: float


def floor(
    house: House,
    tariff: Tariff,
    start: float,
    end: float,
    slot_s: float = SLOT_S,
    progress: Callable[[float], None] | None = None,
    lookahead_s: float = LOOKAHEAD_S,
    comfort_weight: float = COMFORT_WEIGHT,
    shortfall_caps_wh: Mapping[date, float] | None = None,
) -> Floor:
    """The optimum of ``[start, end)``, day by day on a rolling horizon (module
    docstring): each local day is solved together with the next ``lookahead_s`` of the
    run (0: alone), its own part kept, and the next day starts from its end. A partial
    first or last day is a shorter problem. ``house``: built (it need not have run).
    ``progress`` is told the fraction done after each day. ``comfort_weight`` prices the
    comfort shortfall in the optimum's objective only (:data:`COMFORT_WEIGHT`; above 1,
    an optimum that keeps more comfort than the grading pays for: an analysis, see
    ``benchmarks/equal_comfort.py``); ``shortfall_caps_wh`` caps it per local day (Wh,
    each tank; a day not given: no cap). Its days are graded at the standard price."""
    tz = tariff.tz
    tanks = {
        load.name: load.tank.initial_c
        for load in house.loads
        if isinstance(load, DimmerLoad) and load.tank is not None
    }
    minutes = max(1, round((end - start) / 60.0))
    cheapest = min(tariff.import_prices_eur_kwh(datetime.fromtimestamp(start, UTC), 60.0, minutes))
    spans = local_days(start, end, tz)

    def problem(i: int) -> DayProblem:
        begin, stop = spans[i]
        slots = max(1, round((stop - begin) / slot_s))
        day = datetime.fromtimestamp(begin, tz).date()
        cap = None if shortfall_caps_wh is None else shortfall_caps_wh.get(day)
        return day_problem(
            house, tariff, begin, slots, tanks, slot_s, cheapest, comfort_weight, cap
        )

    days: list[DayFloor] = []
    for i, (own, schedule) in enumerate(rolling(problem, len(spans), lookahead_s)):
        begin, stop = spans[i]
        day = datetime.fromtimestamp(begin, tz).date()
        days.append(_priced(day, own, schedule, house, tariff, cheapest))
        if progress is not None:
            progress((stop - start) / (end - start))
    return Floor(days)


def rolling(
    problem: Callable[[int], DayProblem], days: int, lookahead_s: float = LOOKAHEAD_S
) -> Iterator[tuple[DayProblem, Schedule]]:
    """Solve ``days`` consecutive problems on a rolling horizon: day ``i``
    (``problem(i)``, each asked for once) together with the first ``lookahead_s`` of day
    ``i + 1`` (0: alone), its own part kept; day ``i + 1`` starts where it left the
    tanks and the on/off loads (the problems' own starts are replaced, but the first
    day's). Yields each day's problem and schedule (:func:`~pvopt.sim.optimum.head`);
    a day without a solution leaves the next one starting where it itself started."""
    tanks: dict[str, float] = {}
    states: dict[str, OnOffState] = {}
    upcoming = problem(0) if days else None
    for i in range(days):
        assert upcoming is not None
        today = _starting(upcoming, tanks, states)
        upcoming = problem(i + 1) if i + 1 < days else None
        horizon = today
        if upcoming is not None and lookahead_s > 0:
            slots = min(max(1, round(lookahead_s / today.slot_s)), upcoming.slots)
            horizon = chain(today, head_problem(upcoming, slots))
        own, schedule = head(horizon, optimise(horizon), today.slots)
        if schedule.solved:
            tanks.update({name: temps[-1] for name, temps in schedule.tank_c.items()})
            states = _end_states(own, schedule)
        yield own, schedule


def _starting(
    problem: DayProblem, tank_c: dict[str, float], states: dict[str, OnOffState]
) -> DayProblem:
    """``problem`` with its tanks at ``tank_c`` and its on/off loads in ``states`` at its
    start (those not given keep the problem's own)."""
    dimmers = tuple(
        d
        if d.tank is None
        else replace(d, tank=replace(d.tank, initial_c=tank_c.get(d.name, d.tank.initial_c)))
        for d in problem.dimmers
    )
    onoffs = tuple(
        o if state is None else replace(o, initially_on=state.on, state_age_s=state.age_s)
        for o in problem.onoffs
        for state in (states.get(o.name),)
    )
    return replace(problem, dimmers=dimmers, onoffs=onoffs)


def _end_states(problem: DayProblem, schedule: Schedule) -> dict[str, OnOffState]:
    """Each on/off load's state at the end of ``schedule`` and how long it has held it
    (a load that never changed adds its age at the start)."""
    states: dict[str, OnOffState] = {}
    for o in problem.onoffs:
        powers = schedule.power_w[o.name]
        on = powers[-1] > 0
        held = 0
        for value in reversed(powers):
            if (value > 0) != on:
                break
            held += 1
        age_s = held * problem.slot_s
        if held == len(powers) and o.initially_on == on:
            age_s += o.state_age_s
        states[o.name] = OnOffState(on, age_s)
    return states


def _priced(
    day: date,
    problem: DayProblem,
    schedule: Schedule,
    house: House,
    tariff: Tariff,
    cheapest_eur_kwh: float,
) -> DayFloor:
    """A day's optimum priced as a controller's day is (:mod:`pvopt.sim.yardstick`)."""
    h = problem.slot_s / 3600.0
    import_eur = export_eur = import_wh = export_wh = stored_wh = 0.0
    loads = {load.name: 0.0 for load in house.loads}  # in priority order
    if schedule.solved:
        for g, price, export_price in zip(
            schedule.grid_w, problem.import_eur_kwh, problem.export_eur_kwh, strict=True
        ):
            if g > 0:
                import_eur += g * h / 1000.0 * price
                import_wh += g * h
            else:
                export_eur -= g * h / 1000.0 * export_price
                export_wh -= g * h
        for name, powers in schedule.power_w.items():
            loads[name] += sum(powers) * h
        for spec in problem.dimmers:
            temps = schedule.tank_c.get(spec.name)
            if spec.tank is not None and temps:
                stored_wh += spec.tank.capacity_wh_per_k * (temps[-1] - temps[0])
    shortfall_wh = sum(schedule.shortfall_wh.values()) if schedule.solved else 0.0
    return DayFloor(
        day=day,
        schedule=schedule,
        pv_wh=sum(problem.pv_w) * h,
        base_wh=sum(problem.base_w) * h,
        import_wh=import_wh,
        export_wh=export_wh,
        import_eur=import_eur,
        export_eur=export_eur,
        penalty_eur=shortfall_wh / 1000.0 * tariff.dearest_import_price_eur_kwh(day),
        stored_wh=stored_wh,
        stored_eur=stored_wh / 1000.0 * cheapest_eur_kwh,
        hot_water_shortfall_wh=shortfall_wh,
        loads_wh=loads,
    )
