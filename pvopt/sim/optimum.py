"""The floor: the perfect-foresight schedule that minimises what the household pays.

For a horizon of ``n`` slots of ``slot_s`` seconds (a day: 288 slots of 5 min, 1440 of
1 min), knowing PV, household load, prices and hot-water draws in advance, which powers
should the regulated loads have drawn? :func:`optimise` answers with a mixed-integer
linear programme solved by HiGHS (:func:`scipy.optimize.milp`). Every controller of
``pvopt simulate`` pays at least this (up to the caveats below): it is the floor the
controllers are measured against.

Model (``h = slot_s / 3600``; powers are slot means, W; energies Wh; prices €/kWh)
----------------------------------------------------------------------------------

Sign convention, as in the house: ``grid = base + Σ loads − PV``, positive = import.

- Grid, per slot: ``import_t, export_t ≥ 0`` with
  ``import_t − export_t = base_t + Σ_loads power_t − pv_t``. Cost
  ``Σ_t (import_price_t·import_t − export_price_t·export_t)·h / 1000``.
  Where ``import_price_t ≥ export_price_t`` nothing stops the solver from making both
  positive, but it never gains by it: lowering both by ``min(import_t, export_t)`` keeps
  the balance and changes the cost by ``−(import_price_t − export_price_t)·min ≤ 0``. So
  no binary is needed there (and the reported import/export are taken from the net grid
  power anyway). Where ``export_price_t > import_price_t`` the solver *would* gain —
  import the loads' power cheap while selling all the PV dear, which a surplus meter
  cannot do — so each such slot gets a binary ``z_t`` with ``import_t ≤ M_imp_t·z_t``,
  ``export_t ≤ M_exp_t·(1 − z_t)`` (``M``: the slot's largest possible import/export,
  also the variables' bounds).
- Dimmer: ``0 ≤ P_t ≤ max_power_w``; without a tank, optionally an energy need
  ``Σ_t P_t·h ≥ min_energy_wh``.
- Dimmer with a tank (the fully mixed tank of :class:`pvopt.sim.equipment.Tank`), one
  temperature per slot start ``T_0 … T_n`` (``T_0`` = the initial temperature). Within a
  slot the element's power and the draw's flow are constant, so the tank's balance
  ``C·dT/dτ = P_t·h − loss·h·(T − ambient) − D_t·(T − cold)`` (``τ``: the fraction of
  the slot; ``C`` the heat capacity, Wh/K; ``D_t = draw_l_t·WATER_WH_PER_L_K``, Wh/K) is
  a linear ODE, integrated exactly — still linear in ``T_t`` and ``P_t``::

      C·T_{t+1} = C·a_t·T_t + β_t·(P_t·h + loss·h·ambient + D_t·cold)
      x_t = (loss·h + D_t) / C,   a_t = e^{−x_t},   β_t = (1 − a_t) / x_t   (1 when x_t = 0)

  For small ``x_t`` this is explicit Euler, ``C·(T_{t+1} − T_t) = (P_t − loss·(T_t −
  ambient))·h − D_t·(T_t − cold)``, and for the standing losses alone Euler would do: the
  tank's time constant ``C / loss`` is ~150 h against a 1–5 min slot. Not for a draw: a
  shower at 8 L/min renews a 200 L tank with a 25 min time constant, so a 5 min slot of
  it has ``x ≈ 0.2`` and Euler takes ~2 % too much heat away (0.6 K per shower slot, up
  to 1 K against the house's 0.2 s steps over a reference day; 0.2 K exact).
  Thermostat: ``T_t ≤ max(max_c, initial_c)`` for ``t ≥ 1``, at slot boundaries
  (``max_c`` is the lower of the regulation's temp_max and the heater's cut; a tank that
  starts hotter may stay there); with constant inputs the path within a slot is
  monotone (``T_t`` to ``T_{t+1}``, towards its equilibrium), so the bounds hold within
  it too. Comfort, soft: a slack ``s_t ≥ min_c − mean_t``, ``s_t ≥ 0`` on each slot with
  a draw, ``shortfall_wh = Σ_t D_t·s_t`` (the heat the drawn water lacked to reach
  ``min_c``), where ``mean_t`` is the tank's mean temperature over the slot — the
  temperature the slot's draw, spread over it, is drawn at on average. The exact path
  ``T(τ) = T_eq + (T_t − T_eq)·e^{−x_t·τ}`` (``T_eq`` its equilibrium) has the mean
  ``T_eq + (T_t − T_eq)·β_t``, and eliminating ``T_eq`` with the balance above::

      mean_t = (1 − w_t)·T_t + w_t·T_{t+1},   w_t = 1/(1 − e^{−x_t}) − 1/x_t

  linear in the two boundary temperatures (``w_t`` is 1/2, a straight line, as
  ``x_t → 0``; a Taylor series below ``x = 0.05``, where the closed form would cancel;
  ~0.52 for a 5-min shower slot). Counting the draw at ``T_t``, the temperature before
  it, as this model did until then, missed the cooling the draw itself causes within its
  slot (40 L drawn in 5 min cool a 200 L tank at 55 °C by ~8 K): the optimum's heater
  schedule, replayed second by second on the house's tank
  (``benchmarks/equal_comfort.py``), left 25–40 % more hot water short than the model
  counted (winter reference day 2.40 kWh against 2.11) — the floor under-charged its own
  comfort. The slot's mean is still a
  lower bound of the path's own shortfall ``∫ D_t·max(0, min_c − T(τ)) dτ`` (Jensen:
  ``max(0, ·)`` is convex), so the floor stays a floor, a tighter one. The shortfall is
  priced at ``shortfall_eur_kwh`` in the objective, so a day that starts cold stays
  feasible (at ``shortfall_eur_kwh``, or per slot at
  :attr:`DayProblem.shortfall_slot_eur_kwh` when the horizon spans days of different
  prices). End: ``T_n ≥ end_c`` when given; and the heat the tank holds at the
  end is worth :attr:`TankSpec.end_value_eur_kwh` per kWh, ``−value·C·(T_n − T_0)/1000``
  in the objective (a terminal value: a tank ending colder pays for the heat it lost),
  so a horizon need not force its end temperature to leave heat for what comes after.
- On/off load: binary ``on_t``; start and stop indicators ``u_t, v_t ∈ [0, 1]`` with
  ``on_t − on_{t−1} = u_t − v_t`` (``on_{−1}``: its initial state). Minimum on and off
  times, ``L_on = ⌈min_on_s / slot_s⌉`` slots (likewise ``L_off``), in the "turn-on /
  turn-off" form ``Σ_{k=t−L_on+1}^{t} u_k ≤ on_t`` and ``Σ_{k=t−L_off+1}^{t} v_k ≤ 1 −
  on_t``: equivalent on integer points to ``Σ_{k=t}^{t+L_on−1} on_k ≥ L_on·u_t``
  (truncated at the horizon's end) but a much tighter relaxation (it describes the
  convex hull of the min-up/min-down polytope: a 1-min day that the aggregated form
  leaves at a 0.5–1.4 % gap after 60 s solves to 1e-4 in ~5 s), and it makes ``u``,
  ``v`` integral whenever ``on`` is, so they need no integrality. Run time:
  ``Σ_{t < run_by_slot} on_t·slot_s ≥ run_s``, and one such row per further window of
  :attr:`OnOffSpec.runs` (a horizon of several days: each day's need). A load still
  inside its minimum on (off) time at the start is held on (off) for the rest of it
  (:attr:`OnOffSpec.state_age_s`).
- Objective: cost + shortfall penalty − the tanks' terminal value + a tie-break of
  :data:`TIE_BREAK_EUR_KWH` on each kWh exported. With an export price of 0 (surplus
  given away) heating the tank or running a load on the surplus costs the same as
  exporting it: the tie-break picks what a router does, self-consumption, instead of an
  arbitrary vertex. It moves the optimum's cost by at most ``TIE_BREAK_EUR_KWH × export``
  (≈ 0.2 m€ for 20 kWh exported); the reported ``cost_eur`` excludes it, and the
  terminal value (reported as ``stored_eur``). Coefficients are scaled so the dearest
  price is 1 (solver tolerances then see the tie-break).

Caveats: the floor of slot means. Within a slot PV and load vary and a real router
imports and exports in the same 5 minutes; on means they net out, so (the cost being
convex in the grid power when import ≥ export price) the floor of means is lower still:
it stays a floor, a looser one for longer slots (broken-clouds reference day on the
shipped template: 1.07 € at 5 min, 1.10 € at 1 min). Likewise the simplifications — no
thermostat hysteresis, a run cut by the horizon's end counts only its part inside (the
minimum on time is not enforced past the end) — only relax the problem. So does the
comfort counted at each slot's mean temperature (above): the water drawn is short by at
least that much, on the slot's own path with the draw spread evenly over it. Real draws
are not spread evenly (a shower may start late in a slot, or fill one minute of it), so
the replay of the optimum's schedule on the house's tank may find a little more or a
little less short than the model counts (a draw late in a slot the heater warms finds
the tank warmer than the slot's mean, one early finds it colder); on the reference days
it finds as much or slightly more: winter 2.471 kWh counted and replayed (no heating at
the draws: the mean is exact), broken clouds 0.759 counted, 0.768 replayed
(``benchmarks/equal_comfort.py``, replayed at 0.2 s).
The mixed tank and the comfort penalty's price are modelling choices: with
``shortfall_eur_kwh`` at the dearest import price, heating the whole tank ``C`` Wh/K to
spare a draw of ``D`` Wh/K its shortfall pays only when
``D·shortfall_eur_kwh > C·(price of that heat)`` — a small draw from a cold tank is
cheaper to leave lukewarm, and the floor will do so (its ``penalty_eur`` says how much).

Dependencies: numpy and scipy (the ``sim`` extra) are imported by :func:`optimise` only,
so this module — its problem and result types — imports with the standard library alone,
like the rest of :mod:`pvopt.sim`; :func:`optimise` raises :class:`RuntimeError` when
they are missing. Problems that are malformed (wrong lengths, negative powers, non-finite
values) raise :class:`ValueError`; problems that are well formed but impossible
(an end temperature the heater cannot reach, a run time that does not fit) come back as a
:class:`Schedule` with status :attr:`SolveStatus.INFEASIBLE`.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING

from pvopt.sim.equipment import WATER_WH_PER_L_K

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    Floats = NDArray[np.float64]
    Ints = NDArray[np.int64]

#: Shortest and longest slot, s: below 1 min a day is too big a MILP; above 5 min the
#: on/off loads' minimum times (typically 10 min) round too coarsely.
MIN_SLOT_S = 60.0
MAX_SLOT_S = 300.0
#: What each exported kWh costs the solver on top of its price, €/kWh: prefer
#: self-consumption among schedules of equal cost (module docstring).
TIE_BREAK_EUR_KWH = 1e-5
#: Rounding slack when counting slots (``ceil(1800 / 300)`` must be 6, not 7).
_SLOT_EPS = 1e-9
#: Below this ``x`` a slot's mean-temperature weight is its Taylor series (next term
#: ``−x⁷/1209600``: < 1e-15 here), above it the closed form (cancellation < 1e-14).
_SERIES_X = 0.05


@dataclass(frozen=True)
class TankSpec:
    """The tank a dimmer heats (see :class:`pvopt.sim.equipment.TankParams`)."""

    capacity_wh_per_k: float
    loss_w_per_k: float
    ambient_c: float
    cold_c: float
    initial_c: float
    #: Comfort: the water drawn should be at least this hot (soft, see the module).
    min_c: float
    #: The lower of the regulation's temp_max and the heater's own thermostat cut.
    max_c: float
    #: Litres drawn in each slot (one value per slot).
    draw_l: tuple[float, ...]
    #: The tank must end the horizon at least this hot; None: no constraint.
    end_c: float | None = None
    #: What a kWh of heat gained by the tank over the horizon is worth, €/kWh (≥ 0): the
    #: objective gets ``−end_value_eur_kwh × capacity_wh_per_k × (T_n − T_0) / 1000`` (a
    #: tank ending colder than it started pays that much for the heat it lost). Pass the
    #: grading's price of stored heat (:mod:`pvopt.sim.yardstick`: the run's cheapest
    #: import price) so the optimum neither empties the tank at the end of its horizon
    #: nor must refill it: it minimises the very adjusted cost it is compared on. 0: the
    #: heat left at the end is worth nothing.
    end_value_eur_kwh: float = 0.0
    #: At most this comfort shortfall (Wh, measured as the objective's) over the first
    #: :attr:`shortfall_cap_slots` slots (None: all of them), a hard constraint on top of
    #: its price; None: no cap. An analysis (``benchmarks/equal_comfort.py``: the optimum
    #: that keeps at least a controller's comfort), not the floor's default.
    shortfall_cap_wh: float | None = None
    shortfall_cap_slots: int | None = None


@dataclass(frozen=True)
class DimmerSpec:
    """A resistive element behind a dimmer: any power from 0 to ``max_power_w``."""

    name: str
    max_power_w: float
    tank: TankSpec | None = None
    #: Energy it must get over the horizon (a dimmer without tank); None: none.
    min_energy_wh: float | None = None


@dataclass(frozen=True)
class RunNeed:
    """A run time an on/off load must get within the slots ``[from_slot, by_slot)``."""

    run_s: float
    from_slot: int
    by_slot: int


@dataclass(frozen=True)
class OnOffSpec:
    """A relay or smart plug: ``power_w`` when on."""

    name: str
    power_w: float
    min_on_s: float = 0.0
    min_off_s: float = 0.0
    #: Run time it must get before slot ``run_by_slot``; 0: opportunistic (it runs only
    #: when that lowers the bill).
    run_s: float = 0.0
    #: The run time counts the slots before this index; None: the whole horizon.
    run_by_slot: int | None = None
    #: Further run times, each over its own window of slots (a horizon of several days:
    #: the next day's ``daily_run_time``).
    runs: tuple[RunNeed, ...] = ()
    initially_on: bool = False
    #: How long it has been in its initial state at the start, s (min on/off hold
    #: across the start: a load on for 4 min with a 10 min minimum stays on 6 more).
    #: Infinite: long enough for either.
    state_age_s: float = math.inf


@dataclass(frozen=True)
class DayProblem:
    """A horizon (usually a day) known in advance; every series has one value per slot."""

    slot_s: float
    pv_w: tuple[float, ...]
    #: The household's load without the regulated loads.
    base_w: tuple[float, ...]
    import_eur_kwh: tuple[float, ...]
    export_eur_kwh: tuple[float, ...]
    dimmers: tuple[DimmerSpec, ...] = ()
    onoffs: tuple[OnOffSpec, ...] = ()
    #: Price of each kWh of hot-water comfort shortfall (the caller passes the day's
    #: dearest import price).
    shortfall_eur_kwh: float = 0.0
    #: The same price slot by slot, for a horizon over days of different prices (each
    #: slot at its day's dearest import); None: ``shortfall_eur_kwh`` on every slot.
    shortfall_slot_eur_kwh: tuple[float, ...] | None = None

    def shortfall_prices_eur_kwh(self) -> tuple[float, ...]:
        """The comfort shortfall's price on each slot."""
        if self.shortfall_slot_eur_kwh is not None:
            return self.shortfall_slot_eur_kwh
        return (self.shortfall_eur_kwh,) * self.slots

    @property
    def slots(self) -> int:
        """Number of slots."""
        return len(self.pv_w)


class SolveStatus(StrEnum):
    """How the solve ended."""

    OPTIMAL = "optimal"  # within the requested gap
    TIME_LIMIT = "time_limit"  # stopped with a solution not proven optimal (see mip_gap)
    NO_SOLUTION = "no_solution"  # stopped (time or iteration limit) before any solution
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    ERROR = "error"


@dataclass(frozen=True)
class ModelSize:
    """The MILP's size."""

    variables: int
    integers: int
    constraints: int
    nonzeros: int


@dataclass(frozen=True)
class Schedule:
    """The optimum (or what the solver had when it stopped).

    Without a solution (:attr:`solved` false) the figures are NaN and the series empty.
    Import, export and the cost are computed from the net grid power of the schedule
    returned; the tank temperatures are the model's (slot starts, then the end: n + 1
    values, keyed by the dimmer's name).
    """

    status: SolveStatus
    message: str
    slot_s: float
    #: Import cost − export revenue, €: the objective without penalty nor tie-break.
    cost_eur: float
    #: The comfort shortfall's price, €.
    penalty_eur: float
    import_wh: float
    export_wh: float
    #: Per slot, positive = import.
    grid_w: tuple[float, ...]
    #: Per load name, per slot.
    power_w: Mapping[str, tuple[float, ...]]
    tank_c: Mapping[str, tuple[float, ...]]
    #: Per tank (dimmer name): the heat the drawn water lacked to be at ``min_c``, Wh
    #: (each slot's draw at the slot's mean temperature: module docstring).
    shortfall_wh: Mapping[str, float]
    #: The solver's proven lower bound on cost + penalty − stored (+ tie-break), €.
    bound_eur: float
    #: Relative gap between solution and bound (None for a problem without integers).
    mip_gap: float | None
    #: Wall time of the solver, s (building the model is not counted).
    solve_s: float
    size: ModelSize
    #: The terminal value credited: Σ tanks ``end_value_eur_kwh × C × (T_n − T_0)``, €
    #: (negative when the tanks end colder).
    stored_eur: float = 0.0

    @property
    def solved(self) -> bool:
        """A schedule came back (optimal, or the best found before the time limit)."""
        return self.status in (SolveStatus.OPTIMAL, SolveStatus.TIME_LIMIT)

    @property
    def total_eur(self) -> float:
        """Cost plus comfort penalty."""
        return self.cost_eur + self.penalty_eur

    @property
    def objective_eur(self) -> float:
        """What the optimum minimised: cost + comfort penalty − the tanks' terminal
        value (without the tie-break)."""
        return self.total_eur - self.stored_eur


# -- validation ------------------------------------------------------------------------


def _finite(what: str, value: float) -> None:
    if not math.isfinite(value):
        raise ValueError(f"{what} must be finite, got {value!r}")


def _non_negative(what: str, value: float) -> None:
    _finite(what, value)
    if value < 0:
        raise ValueError(f"{what} must be >= 0, got {value!r}")


def _positive(what: str, value: float) -> None:
    _finite(what, value)
    if value <= 0:
        raise ValueError(f"{what} must be > 0, got {value!r}")


def _series(what: str, values: tuple[float, ...], n: int, non_negative: bool = False) -> None:
    if len(values) != n:
        raise ValueError(f"{what} has {len(values)} values, expected one per slot ({n})")
    for i, value in enumerate(values):
        (_non_negative if non_negative else _finite)(f"{what}[{i}]", value)


def _validate(problem: DayProblem) -> None:
    """Raise ValueError when ``problem`` is malformed (not when it is infeasible)."""
    n = problem.slots
    if n == 0:
        raise ValueError("the problem has no slot")
    _finite("slot_s", problem.slot_s)
    if not MIN_SLOT_S <= problem.slot_s <= MAX_SLOT_S:
        raise ValueError(f"slot_s must be within {MIN_SLOT_S:g}–{MAX_SLOT_S:g} s")
    _series("pv_w", problem.pv_w, n, non_negative=True)
    _series("base_w", problem.base_w, n)
    _series("import_eur_kwh", problem.import_eur_kwh, n)
    _series("export_eur_kwh", problem.export_eur_kwh, n)
    _non_negative("shortfall_eur_kwh", problem.shortfall_eur_kwh)
    if problem.shortfall_slot_eur_kwh is not None:
        _series("shortfall_slot_eur_kwh", problem.shortfall_slot_eur_kwh, n, non_negative=True)
    names = [d.name for d in problem.dimmers] + [o.name for o in problem.onoffs]
    if len(set(names)) != len(names) or not all(names):
        raise ValueError(f"load names must be unique and non-empty: {names}")
    for d in problem.dimmers:
        _positive(f"{d.name}.max_power_w", d.max_power_w)
        if d.min_energy_wh is not None:
            _non_negative(f"{d.name}.min_energy_wh", d.min_energy_wh)
        if d.tank is not None:
            _validate_tank(d.name, d.tank, n)
    for o in problem.onoffs:
        _validate_onoff(o, n)


def _validate_onoff(o: OnOffSpec, n: int) -> None:
    _positive(f"{o.name}.power_w", o.power_w)
    for what in ("min_on_s", "min_off_s", "run_s"):
        _non_negative(f"{o.name}.{what}", getattr(o, what))
    if math.isnan(o.state_age_s) or o.state_age_s < 0:
        raise ValueError(f"{o.name}.state_age_s must be >= 0, got {o.state_age_s!r}")
    if o.run_by_slot is not None and not 1 <= o.run_by_slot <= n:
        raise ValueError(f"{o.name}.run_by_slot must be within 1–{n}, got {o.run_by_slot}")
    for i, need in enumerate(o.runs):
        _non_negative(f"{o.name}.runs[{i}].run_s", need.run_s)
        if not 0 <= need.from_slot < need.by_slot <= n:
            raise ValueError(
                f"{o.name}.runs[{i}] must have 0 <= from_slot < by_slot <= {n}, "
                f"got {need.from_slot}–{need.by_slot}"
            )


def _validate_tank(name: str, tank: TankSpec, n: int) -> None:
    _positive(f"{name}.tank.capacity_wh_per_k", tank.capacity_wh_per_k)
    _non_negative(f"{name}.tank.loss_w_per_k", tank.loss_w_per_k)
    for what in ("ambient_c", "cold_c", "initial_c", "min_c", "max_c"):
        _finite(f"{name}.tank.{what}", getattr(tank, what))
    if tank.end_c is not None:
        _finite(f"{name}.tank.end_c", tank.end_c)
    _non_negative(f"{name}.tank.end_value_eur_kwh", tank.end_value_eur_kwh)
    if tank.shortfall_cap_wh is not None:
        _non_negative(f"{name}.tank.shortfall_cap_wh", tank.shortfall_cap_wh)
    if tank.min_c > tank.max_c:
        raise ValueError(f"{name}.tank: min_c {tank.min_c} > max_c {tank.max_c}")
    _series(f"{name}.tank.draw_l", tank.draw_l, n, non_negative=True)


# -- the model -------------------------------------------------------------------------


class _Model:
    """Variables and sparse constraint rows, built block by block."""

    def __init__(self) -> None:
        self.lb: list[Floats] = []
        self.ub: list[Floats] = []
        self.cost: list[Floats] = []
        self.integer: list[Floats] = []
        self.n_vars = 0
        self.rows: list[Ints] = []
        self.cols: list[Ints] = []
        self.vals: list[Floats] = []
        self.row_lb: list[Floats] = []
        self.row_ub: list[Floats] = []
        self.n_rows = 0

    def variables(
        self,
        count: int,
        lb: float | Floats,
        ub: float | Floats,
        cost: float | Floats = 0.0,
        integer: bool = False,
    ) -> Ints:
        """``count`` new variables; their indices."""
        import numpy as np

        def full(value: float | Floats) -> Floats:
            return np.broadcast_to(np.asarray(value, dtype=np.float64), (count,)).copy()

        self.lb.append(full(lb))
        self.ub.append(full(ub))
        self.cost.append(full(cost))
        self.integer.append(full(1.0 if integer else 0.0))
        idx = np.arange(self.n_vars, self.n_vars + count, dtype=np.int64)
        self.n_vars += count
        return idx

    def constraints(self, count: int, lb: float | Floats, ub: float | Floats) -> Ints:
        """``count`` new rows ``lb ≤ a·x ≤ ub``; their indices (fill with :meth:`add`)."""
        import numpy as np

        self.row_lb.append(np.broadcast_to(np.asarray(lb, dtype=np.float64), (count,)).copy())
        self.row_ub.append(np.broadcast_to(np.asarray(ub, dtype=np.float64), (count,)).copy())
        idx = np.arange(self.n_rows, self.n_rows + count, dtype=np.int64)
        self.n_rows += count
        return idx

    def add(self, rows: Ints, cols: Ints, vals: float | Floats) -> None:
        """Coefficients ``A[rows[i], cols[i]] += vals[i]`` (a scalar broadcasts)."""
        import numpy as np

        self.rows.append(rows)
        self.cols.append(cols)
        self.vals.append(np.broadcast_to(np.asarray(vals, dtype=np.float64), rows.shape).copy())


@dataclass
class _TankVars:
    temp: Ints  # T_0 … T_n
    draw_slots: Ints
    draw_wh_per_k: Floats  # D_t on those slots


@dataclass
class _Built:
    model: _Model
    dimmer_power: dict[str, Ints]
    tanks: dict[str, _TankVars]
    onoff_on: dict[str, Ints]
    scale_eur: float  # € per objective unit
    #: The objective's constant, €: the terminal value credits ``T_n`` alone, this adds
    #: back ``+value·C·T_0`` (T_0 fixed) so that the bound is on ``… − value·C·ΔT``.
    offset_eur: float = 0.0


def _slots(seconds: float, slot_s: float) -> int:
    """Whole slots covering ``seconds``."""
    return max(math.ceil(seconds / slot_s - _SLOT_EPS), 0)


def _build(p: DayProblem) -> _Built:
    import numpy as np

    n = p.slots
    h = p.slot_s / 3600.0
    pv = np.asarray(p.pv_w, dtype=np.float64)
    base = np.asarray(p.base_w, dtype=np.float64)
    p_imp = np.asarray(p.import_eur_kwh, dtype=np.float64)
    p_exp = np.asarray(p.export_eur_kwh, dtype=np.float64)
    # Objective unit: the dearest price's cost of 1 W over a slot.
    ref = max(float(np.max(np.abs(p_imp))), float(np.max(np.abs(p_exp))), 1e-3)
    per_w_slot = ref * h / 1000.0  # € per objective unit and W

    m = _Model()
    loads_max = sum(d.max_power_w for d in p.dimmers) + sum(o.power_w for o in p.onoffs)
    m_imp = np.maximum(base + loads_max - pv, 0.0)
    m_exp = np.maximum(pv - base, 0.0)
    imp = m.variables(n, 0.0, m_imp, p_imp / ref)
    exp = m.variables(n, 0.0, m_exp, -(p_exp - TIE_BREAK_EUR_KWH) / ref)
    # Balance: import − export − Σ loads = base − pv.
    balance = m.constraints(n, base - pv, base - pv)
    m.add(balance, imp, 1.0)
    m.add(balance, exp, -1.0)

    # Where selling beats buying, import and export may not both be positive.
    inverted = np.flatnonzero((p_exp > p_imp) & (m_imp > 0) & (m_exp > 0))
    if inverted.size:
        z = m.variables(inverted.size, 0.0, 1.0, integer=True)
        rows = m.constraints(inverted.size, -np.inf, 0.0)  # import − M_imp·z ≤ 0
        m.add(rows, imp[inverted], 1.0)
        m.add(rows, z, -m_imp[inverted])
        rows = m.constraints(inverted.size, -np.inf, m_exp[inverted])  # export + M_exp·z ≤ M
        m.add(rows, exp[inverted], 1.0)
        m.add(rows, z, m_exp[inverted])

    dimmer_power: dict[str, Ints] = {}
    tanks: dict[str, _TankVars] = {}
    # Objective units per Wh of comfort shortfall, slot by slot.
    shortfall_per_wh = np.asarray(p.shortfall_prices_eur_kwh(), dtype=np.float64) / 1000
    shortfall_per_wh /= per_w_slot
    for d in p.dimmers:
        power = m.variables(n, 0.0, d.max_power_w)
        dimmer_power[d.name] = power
        m.add(balance, power, -1.0)
        if d.min_energy_wh is not None and d.min_energy_wh > 0:
            row = m.constraints(1, d.min_energy_wh, np.inf)
            m.add(np.repeat(row, n), power, h)
        if d.tank is not None:
            tanks[d.name] = _tank(m, d.tank, power, n, h, shortfall_per_wh, per_w_slot)

    onoff_on: dict[str, Ints] = {}
    for o in p.onoffs:
        on = _onoff(m, o, n, p.slot_s)
        onoff_on[o.name] = on
        m.add(balance, on, -o.power_w)

    offset_eur = sum(
        d.tank.end_value_eur_kwh * d.tank.capacity_wh_per_k * d.tank.initial_c / 1000
        for d in p.dimmers
        if d.tank is not None
    )
    return _Built(m, dimmer_power, tanks, onoff_on, per_w_slot, offset_eur)


def _tank(
    m: _Model,
    tank: TankSpec,
    power: Ints,
    n: int,
    h: float,
    shortfall_per_wh: Floats,
    per_w_slot: float,
) -> _TankVars:
    """The tank's temperatures, balance, thermostat bound, comfort slack, end bound and
    terminal value (``T_0`` is fixed: crediting ``T_n`` alone is crediting ``T_n − T_0``
    up to a constant)."""
    import numpy as np

    # float: a temp_max read as an int must not make the bounds an int array (the start
    # 50.1 °C would be truncated to 50 and the problem come back infeasible).
    cap_c = float(max(tank.max_c, tank.initial_c))
    lb = np.full(n + 1, -np.inf, dtype=np.float64)
    ub = np.full(n + 1, cap_c, dtype=np.float64)
    lb[0] = ub[0] = tank.initial_c
    if tank.end_c is not None:
        lb[n] = tank.end_c
    cost = np.zeros(n + 1)
    cost[n] = -tank.end_value_eur_kwh / 1000 * tank.capacity_wh_per_k / per_w_slot
    temp = m.variables(n + 1, lb, ub, cost)
    draw = np.asarray(tank.draw_l, dtype=np.float64) * WATER_WH_PER_L_K  # D_t, Wh/K
    c = tank.capacity_wh_per_k
    loss = tank.loss_w_per_k * h
    # Exact over the slot (module docstring): C·T_{t+1} − C·a_t·T_t − β_t·h·P_t
    # = β_t·(loss·h·ambient + D_t·cold), a_t = e^{−x_t}, β_t = (1 − a_t)/x_t, x_t = G_t/C.
    x = (loss + draw) / c
    decay = np.exp(-x)
    beta = np.ones(n)
    mixing = x > 0
    beta[mixing] = -np.expm1(-x[mixing]) / x[mixing]
    rhs = beta * (loss * tank.ambient_c + draw * tank.cold_c)
    rows = m.constraints(n, rhs, rhs)
    m.add(rows, temp[1:], c)
    m.add(rows, temp[:-1], -c * decay)
    m.add(rows, power, -h * beta)
    # Comfort: s_t + mean_t ≥ min_c where water is drawn, s_t priced per Wh of shortfall;
    # mean_t = (1 − w_t)·T_t + w_t·T_{t+1}, the tank's mean over the slot (module docstring).
    draw_slots = np.flatnonzero(draw > 0)
    slack_cost = shortfall_per_wh[draw_slots] * draw[draw_slots]
    slack = m.variables(draw_slots.size, 0.0, np.inf, slack_cost)
    w = mean_weight(x[draw_slots])
    rows = m.constraints(draw_slots.size, tank.min_c, np.inf)
    m.add(rows, slack, 1.0)
    m.add(rows, temp[draw_slots], 1.0 - w)
    m.add(rows, temp[draw_slots + 1], w)
    if tank.shortfall_cap_wh is not None:  # Σ D_t·s_t ≤ cap over the capped slots
        capped = np.flatnonzero(draw_slots < (tank.shortfall_cap_slots or n))
        row = m.constraints(1, -np.inf, tank.shortfall_cap_wh)
        m.add(np.repeat(row, capped.size), slack[capped], draw[draw_slots][capped])
    return _TankVars(temp, draw_slots, draw[draw_slots])


def mean_weight(x: Floats) -> Floats:
    """The weight ``w`` of a slot's end in its mean temperature: ``mean = (1 − w)·T_t +
    w·T_{t+1}`` for the tank's exponential path over the slot, ``x = (loss·h + D)/C``.

    ``w = 1/(1 − e^{−x}) − 1/x``: 1/2 (a straight line) as ``x → 0``, towards 1 for a
    long draw. Below :data:`_SERIES_X` its Taylor series (the closed form would cancel).
    """
    import numpy as np

    x = np.asarray(x, dtype=np.float64)
    w = 0.5 + x / 12.0 - x**3 / 720.0 + x**5 / 30240.0
    big = x >= _SERIES_X
    w[big] = -1.0 / np.expm1(-x[big]) - 1.0 / x[big]
    return w


def _onoff(m: _Model, o: OnOffSpec, n: int, slot_s: float) -> Ints:
    """The load's on/off binaries (returned), its start/stop indicators, minimum on/off
    times, initial hold and run time."""
    import numpy as np

    init = 1.0 if o.initially_on else 0.0
    lb = np.zeros(n)
    ub = np.ones(n)
    # Still inside its minimum on (off) time at the start: held for the rest of it.
    held = o.min_on_s if o.initially_on else o.min_off_s
    if o.state_age_s < held:
        hold = min(_slots(held - o.state_age_s, slot_s), n)
        lb[:hold] = ub[:hold] = init
    on = m.variables(n, lb, ub, integer=True)
    start = m.variables(n, 0.0, 1.0)
    stop = m.variables(n, 0.0, 1.0)
    # on_t − on_{t−1} − u_t + v_t = 0 (on_{−1}: the initial state, moved to the bound).
    rhs = np.zeros(n)
    rhs[0] = init
    rows = m.constraints(n, rhs, rhs)
    m.add(rows, on, 1.0)
    m.add(rows[1:], on[:-1], -1.0)
    m.add(rows, start, -1.0)
    m.add(rows, stop, 1.0)
    # Minimum on: Σ_{k=t−L+1}^{t} u_k − on_t ≤ 0; minimum off: Σ v_k + on_t ≤ 1.
    for length, indicator, sign, upper in (
        (_slots(o.min_on_s, slot_s), start, -1.0, 0.0),
        (_slots(o.min_off_s, slot_s), stop, 1.0, 1.0),
    ):
        rows = m.constraints(n, -np.inf, upper)
        m.add(rows, on, sign)
        for lag in range(min(max(length, 1), n)):
            m.add(rows[lag:], indicator[: n - lag], 1.0)
    needs = [
        RunNeed(
            run_s=o.run_s,
            from_slot=0,
            by_slot=n if o.run_by_slot is None else o.run_by_slot,
        ),
        *o.runs,
    ]
    for need in needs:
        if need.run_s > 0:
            row = m.constraints(1, need.run_s / slot_s, np.inf)
            window = on[need.from_slot : need.by_slot]
            m.add(np.repeat(row, window.size), window, 1.0)
    return on


# -- solving ---------------------------------------------------------------------------


def _failed(
    status: SolveStatus, message: str, p: DayProblem, size: ModelSize, solve_s: float
) -> Schedule:
    nan = math.nan
    return Schedule(
        status=status,
        message=message,
        slot_s=p.slot_s,
        cost_eur=nan,
        penalty_eur=nan,
        import_wh=nan,
        export_wh=nan,
        grid_w=(),
        power_w={},
        tank_c={},
        shortfall_wh={},
        bound_eur=nan,
        mip_gap=None,
        solve_s=solve_s,
        size=size,
        stored_eur=nan,
    )


@contextlib.contextmanager
def _solver_stdout_to_stderr() -> Iterator[None]:
    """Send what the solver writes to the C library's stdout to stderr while it runs.

    HiGHS 1.12 (scipy 1.17) prints a stray debugging line,
    ``HighsMipSolverData::transformNewIntegerFeasibleSolution tmpSolver.run();``, with
    ``printf`` whatever its options when it repairs an integer solution (HiGHS issue
    #2783): a 30-day July run met it once and ``pvopt simulate --json``'s stdout was no
    longer JSON. POSIX only (elsewhere, and when file descriptor 1 or 2 is closed, the
    solve runs as is); the C buffers are flushed on both sides of the swap.
    """
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        sys.stdout.flush()
        libc.fflush(None)
        saved = os.dup(1)
    except (AttributeError, OSError, ValueError, TypeError):
        yield
        return
    try:
        os.dup2(2, 1)
    except OSError:
        os.close(saved)
        yield
        return
    try:
        yield
    finally:
        libc.fflush(None)
        os.dup2(saved, 1)
        os.close(saved)


def optimise(
    problem: DayProblem, time_limit_s: float = 60.0, mip_rel_gap: float = 1e-4
) -> Schedule:
    """The cheapest schedule of ``problem`` (the module docstring gives the model).

    Raise :class:`ValueError` when the problem is malformed and :class:`RuntimeError`
    when numpy/scipy (the ``sim`` extra) are missing; an infeasible problem, or one the
    solver could not finish in ``time_limit_s``, comes back with its :class:`SolveStatus`.
    """
    _validate(problem)
    _positive("time_limit_s", time_limit_s)
    _non_negative("mip_rel_gap", mip_rel_gap)
    try:
        import numpy as np
        from scipy.optimize import Bounds, LinearConstraint, milp
        from scipy.sparse import coo_array
    except ImportError as exc:
        raise RuntimeError("the optimum needs numpy and scipy: pip install 'pvopt[sim]'") from exc

    built = _build(problem)
    m = built.model
    integrality = np.concatenate(m.integer)
    a = coo_array(
        (np.concatenate(m.vals), (np.concatenate(m.rows), np.concatenate(m.cols))),
        shape=(m.n_rows, m.n_vars),
    ).tocsr()
    size = ModelSize(m.n_vars, int(integrality.sum()), m.n_rows, int(a.nnz))
    began = time.perf_counter()
    with _solver_stdout_to_stderr():
        res = milp(
            np.concatenate(m.cost),
            integrality=integrality,
            bounds=Bounds(np.concatenate(m.lb), np.concatenate(m.ub)),
            constraints=LinearConstraint(a, np.concatenate(m.row_lb), np.concatenate(m.row_ub)),
            options={"time_limit": time_limit_s, "mip_rel_gap": mip_rel_gap, "disp": False},
        )
    solve_s = time.perf_counter() - began
    message = str(res.message)
    if res.x is None:
        status = {
            1: SolveStatus.NO_SOLUTION,
            2: SolveStatus.INFEASIBLE,
            3: SolveStatus.UNBOUNDED,
        }.get(int(res.status), SolveStatus.ERROR)
        return _failed(status, message, problem, size, solve_s)
    if res.status == 0:
        status = SolveStatus.OPTIMAL
    elif res.status == 1:
        status = SolveStatus.TIME_LIMIT
    else:
        return _failed(SolveStatus.ERROR, message, problem, size, solve_s)
    # For an LP HiGHS gives no MIP bound: the optimum is its own bound.
    bound = res.fun if res.mip_dual_bound is None else res.mip_dual_bound
    return replace(
        _schedule(problem, built, np.asarray(res.x, dtype=np.float64)),
        status=status,
        message=message,
        bound_eur=float(bound) * built.scale_eur + built.offset_eur,
        mip_gap=None if size.integers == 0 or res.mip_gap is None else float(res.mip_gap),
        solve_s=solve_s,
        size=size,
    )


def _schedule(p: DayProblem, built: _Built, x: Floats) -> Schedule:
    """Read the solution: powers cleaned of solver noise, grid and cost recomputed (the
    solver's figures are filled in by the caller)."""
    import numpy as np

    power: dict[str, Floats] = {}
    for d in p.dimmers:
        power[d.name] = np.clip(x[built.dimmer_power[d.name]], 0.0, d.max_power_w)
    for o in p.onoffs:
        power[o.name] = np.round(x[built.onoff_on[o.name]]) * o.power_w
    temps = {name: x[tank.temp] for name, tank in built.tanks.items()}
    return _figures(p, power, temps)


def _figures(p: DayProblem, power: Mapping[str, Floats], temps: Mapping[str, Floats]) -> Schedule:
    """The schedule of these powers and tank temperatures (slot starts and the end):
    grid, cost, comfort shortfall and terminal value computed from them."""
    import numpy as np

    h = p.slot_s / 3600.0
    grid = np.asarray(p.base_w, dtype=np.float64) - np.asarray(p.pv_w, dtype=np.float64)
    for series in power.values():
        grid = grid + series
    imp = np.maximum(grid, 0.0)
    exp = np.maximum(-grid, 0.0)
    cost = float(
        np.sum(np.asarray(p.import_eur_kwh) * imp - np.asarray(p.export_eur_kwh) * exp) * h / 1000
    )
    shortfall_prices = np.asarray(p.shortfall_prices_eur_kwh(), dtype=np.float64)
    shortfall: dict[str, float] = {}
    penalty = stored = 0.0
    for d in p.dimmers:
        if d.tank is None or d.name not in temps:
            continue
        t = temps[d.name]
        draw = np.asarray(d.tank.draw_l, dtype=np.float64) * WATER_WH_PER_L_K
        w = mean_weight((d.tank.loss_w_per_k * h + draw) / d.tank.capacity_wh_per_k)
        mean = (1.0 - w) * t[:-1] + w * t[1:]  # each slot's mean temperature
        lack_wh = draw * np.maximum(d.tank.min_c - mean, 0.0)
        shortfall[d.name] = float(np.sum(lack_wh))
        penalty += float(np.sum(lack_wh * shortfall_prices)) / 1000
        heat_wh = d.tank.capacity_wh_per_k * (float(t[-1]) - float(t[0]))
        stored += d.tank.end_value_eur_kwh * heat_wh / 1000
    return Schedule(
        status=SolveStatus.OPTIMAL,
        message="",
        slot_s=p.slot_s,
        cost_eur=cost,
        penalty_eur=penalty,
        import_wh=float(np.sum(imp) * h),
        export_wh=float(np.sum(exp) * h),
        grid_w=tuple(float(v) for v in grid),
        power_w={name: tuple(float(v) for v in series) for name, series in power.items()},
        tank_c={name: tuple(float(v) for v in series) for name, series in temps.items()},
        shortfall_wh=shortfall,
        bound_eur=math.nan,
        mip_gap=None,
        solve_s=math.nan,
        size=ModelSize(0, 0, 0, 0),
        stored_eur=stored,
    )


def head(problem: DayProblem, schedule: Schedule, slots: int) -> tuple[DayProblem, Schedule]:
    """The first ``slots`` slots of a problem and of its schedule, each figure recomputed
    on them (a rolling horizon keeps the first day of a longer solve).

    The problem's tanks keep their start, their end bound is dropped and their terminal
    value kept (the schedule's ``stored_eur`` then values the heat gained by the head's
    end); a run need whose window passes the head is dropped. The schedule keeps the
    solver's status, message, bound, gap, time and size (those of the whole horizon).
    """
    import numpy as np

    short = head_problem(problem, slots)
    if not schedule.solved:
        return short, schedule
    power = {name: np.asarray(v[:slots]) for name, v in schedule.power_w.items()}
    temps = {name: np.asarray(v[: slots + 1]) for name, v in schedule.tank_c.items()}
    figures = _figures(short, power, temps)
    return short, replace(
        figures,
        status=schedule.status,
        message=schedule.message,
        bound_eur=schedule.bound_eur,
        mip_gap=schedule.mip_gap,
        solve_s=schedule.solve_s,
        size=schedule.size,
    )


def head_problem(problem: DayProblem, slots: int) -> DayProblem:
    """The first ``slots`` slots of ``problem`` (see :func:`head`)."""
    if not 1 <= slots <= problem.slots:
        raise ValueError(f"slots must be within 1–{problem.slots}, got {slots}")

    def cut(values: tuple[float, ...]) -> tuple[float, ...]:
        return values[:slots]

    dimmers = tuple(
        d
        if d.tank is None
        else replace(
            d,
            tank=replace(
                d.tank,
                draw_l=cut(d.tank.draw_l),
                end_c=None,
                shortfall_cap_slots=min(d.tank.shortfall_cap_slots or slots, slots),
            ),
        )
        for d in problem.dimmers
    )
    return replace(
        problem,
        pv_w=cut(problem.pv_w),
        base_w=cut(problem.base_w),
        import_eur_kwh=cut(problem.import_eur_kwh),
        export_eur_kwh=cut(problem.export_eur_kwh),
        dimmers=dimmers,
        onoffs=tuple(_head_onoff(o, problem.slots, slots) for o in problem.onoffs),
        shortfall_slot_eur_kwh=cut(problem.shortfall_prices_eur_kwh()),
    )


def chain(first: DayProblem, then: DayProblem) -> DayProblem:
    """One horizon: ``first`` followed by ``then`` (same slot and loads, by name).

    The tanks start as ``first``'s and end as ``then``'s (its end bound and terminal
    value); their draws, the prices and the comfort shortfall's prices run on; an on/off
    load starts as in ``first`` and keeps each problem's run needs over its own slots
    (``then``'s shifted past ``first``). A dimmer's ``min_energy_wh`` becomes the sum.
    """
    if then.slot_s != first.slot_s:
        raise ValueError(f"slot_s differ: {first.slot_s} then {then.slot_s}")
    n = first.slots
    later_dimmers = {d.name: d for d in then.dimmers}
    later_onoffs = {o.name: o for o in then.onoffs}
    if set(later_dimmers) != {d.name for d in first.dimmers} or set(later_onoffs) != {
        o.name for o in first.onoffs
    }:
        raise ValueError("the two problems must have the same loads")
    dimmers: list[DimmerSpec] = []
    for d in first.dimmers:
        nxt = later_dimmers[d.name]
        energy = None
        if d.min_energy_wh is not None or nxt.min_energy_wh is not None:
            energy = (d.min_energy_wh or 0.0) + (nxt.min_energy_wh or 0.0)
        tank = d.tank
        if tank is not None:
            if nxt.tank is None:
                raise ValueError(f"{d.name}: a tank in one problem only")
            tank = replace(
                tank,
                draw_l=tank.draw_l + nxt.tank.draw_l,
                end_c=nxt.tank.end_c,
                end_value_eur_kwh=nxt.tank.end_value_eur_kwh,
                shortfall_cap_slots=tank.shortfall_cap_slots or n,  # first's cap alone
            )
        dimmers.append(replace(d, tank=tank, min_energy_wh=energy))
    onoffs: list[OnOffSpec] = []
    for o in first.onoffs:
        later = later_onoffs[o.name]
        shifted = [
            RunNeed(run_s=r.run_s, from_slot=r.from_slot + n, by_slot=r.by_slot + n)
            for r in later.runs
        ]
        if later.run_s > 0:
            by = then.slots if later.run_by_slot is None else later.run_by_slot
            shifted.insert(0, RunNeed(run_s=later.run_s, from_slot=n, by_slot=by + n))
        onoffs.append(replace(o, runs=(*o.runs, *shifted)))
    return DayProblem(
        slot_s=first.slot_s,
        pv_w=first.pv_w + then.pv_w,
        base_w=first.base_w + then.base_w,
        import_eur_kwh=first.import_eur_kwh + then.import_eur_kwh,
        export_eur_kwh=first.export_eur_kwh + then.export_eur_kwh,
        dimmers=tuple(dimmers),
        onoffs=tuple(onoffs),
        shortfall_eur_kwh=max(first.shortfall_eur_kwh, then.shortfall_eur_kwh),
        shortfall_slot_eur_kwh=first.shortfall_prices_eur_kwh() + then.shortfall_prices_eur_kwh(),
    )


def _head_onoff(o: OnOffSpec, n: int, slots: int) -> OnOffSpec:
    """The load's run needs that fit in the first ``slots`` of ``n``."""
    by = n if o.run_by_slot is None else o.run_by_slot
    fits = by <= slots
    return replace(
        o,
        run_s=o.run_s if fits else 0.0,
        run_by_slot=o.run_by_slot if fits else None,
        runs=tuple(need for need in o.runs if need.by_slot <= slots),
    )
