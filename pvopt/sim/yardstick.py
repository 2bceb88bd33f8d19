"""The yardstick of a simulated run: what the household pays, the comfort it keeps, and
the exported energy a router could have used — from the physics alone.

Every figure here is computed from what really flowed in the simulated house (the 0.2 s
steps of :class:`~pvopt.sim.house.Recording`) and from the configuration the user wrote,
never from a controller's own rules: a controller that waits, averages or keeps margins
is not excused for the surplus it leaves on the grid meanwhile.

- **Bill**: ∫ max(g, 0)·import price − ∫ max(−g, 0)·export price, each instant at the
  price of its period (``g`` the grid power, positive = import).
- **Comfort**: the hot water drawn below ``temp_min`` — at each step of a draw, the
  energy that would bring the water drawn up to ``temp_min``:
  ``litres × 1.163 Wh/(L·K) × (temp_min − T)`` when the tank is colder (a water heater
  without a probe configuration: :data:`COMFORT_DEFAULT_C`) — and the daily run time of
  an on/off load that was not met by its latest end (``daily_run_time``, ``latest_end``).
  The **adjusted cost** prices each kWh of shortfall (a run-time shortfall counts the
  load's power over the missing time) at the dearest import price of its day: what
  buying it would have cost at worst, so that a controller cannot look cheap by leaving
  the tank cold. It also counts the heat left in the tanks: the change of their stored
  energy from the start to the end of the run (``capacity × (T_end − T_start)``) is
  valued at the cheapest import price of the run (what putting it back would cost, or
  what it saves the next night) — a run that ends with a colder tank has not paid for
  what the next day will buy.
- **Exported energy, split in two**: at each step, the export ``E = max(−g, 0)`` that
  some configured load could physically have taken, ``min(E, H)``, and the rest. ``H``
  counts every dimmer for ``max_power − drawn`` unless its tank is at its temperature
  limit (its own thermostat open, or ``temp_max`` of its configuration reached), and
  every on/off load that is off, past the ``min_off`` of its
  configuration since it really stopped, and whose power fits in ``E`` plus what the
  dimmers draw (they can make room). Start delays, margins, averages and priorities are
  controller rules: they do not shrink ``H``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple
from zoneinfo import ZoneInfo

from pvopt.equipment.model import (
    MIDNIGHT,
    ConstantPowerConfig,
    EquipmentConfig,
    SiteConfig,
    TempDrivenVariablePowerConfig,
    UnknownPowerConfig,
    VariablePowerConfig,
    local_end,
    local_instant,
)
from pvopt.sim import vectors
from pvopt.sim.equipment import WATER_WH_PER_L_K, DimmerLoad
from pvopt.sim.house import House, Recording
from pvopt.tariff import (
    Colour,
    Tariff,
    generate_ejp_calendar,
    generate_tempo_calendar,
    tempo_season,
)

if TYPE_CHECKING:
    from pvopt.sim.vectors import Floats

#: The comfort temperature of a water heater whose configuration has no ``temp_min``
#: (a plain dimmer): a shower needs water at about 40 °C.
COMFORT_DEFAULT_C = 40.0


@dataclass(frozen=True)
class PriceSeries:
    """Import prices (€/kWh) per slot of ``slot_s`` from ``start`` (POSIX s), the export
    price, and the dearest import price of each local day."""

    start: float
    slot_s: float
    import_eur_kwh: Sequence[float]
    export_eur_kwh: float
    dearest_eur_kwh: Mapping[date, float]

    def slot(self, t: float) -> int:
        """The slot holding ``t`` (clamped)."""
        i = int((t - self.start) // self.slot_s)
        return min(max(i, 0), len(self.import_eur_kwh) - 1)


def tariff_for(
    site: SiteConfig,
    tz: ZoneInfo,
    first: date,
    last: date,
    seed: int,
    tempo: Mapping[date, Colour] | None = None,
) -> Tariff:
    """The site's tariff over ``[first, last]``: Tempo colours from ``tempo`` (a file's)
    where it has them, else from a calendar generated from ``seed`` that keeps the rules,
    and EJP days generated from ``seed`` (the simulator has no meter to tell them)."""
    season = tempo_season(first)
    seasons = tempo_season(last) - season + 1
    calendar = generate_tempo_calendar(season, seed, seasons)
    if tempo is not None:
        calendar = calendar.with_colours(tempo)
    return Tariff(
        site.tariff,
        tz,
        tempo_calendar=calendar,
        ejp_calendar=generate_ejp_calendar(season, seed, seasons),
    )


def price_series(tariff: Tariff, start: float, end: float, slot_s: float = 60.0) -> PriceSeries:
    """The prices of ``[start, end)`` (POSIX s) per slot, and each day's dearest."""
    tz = tariff.tz
    count = max(1, math.ceil((end - start) / slot_s))
    first = datetime.fromtimestamp(start, tz).date()
    last = datetime.fromtimestamp(end, tz).date()
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return PriceSeries(
        start=start,
        slot_s=slot_s,
        import_eur_kwh=tariff.import_prices_eur_kwh(
            datetime.fromtimestamp(start, UTC), slot_s, count
        ),
        export_eur_kwh=tariff.config.export_price_eur_kwh,
        dearest_eur_kwh={day: tariff.dearest_import_price_eur_kwh(day) for day in days},
    )


@dataclass(frozen=True)
class Bill:
    """What the household pays for electricity over the run (€)."""

    import_eur: float
    export_eur: float  # earned
    penalty_eur: float  # the comfort shortfall, at the dearest price of its day
    stored_eur: float  # the tanks' heat gained over the run, at the cheapest price

    @property
    def net_eur(self) -> float:
        """Paid for imports − earned for exports."""
        return self.import_eur - self.export_eur

    @property
    def adjusted_eur(self) -> float:
        """Net cost + the comfort shortfall priced at the dearest import of its day − the
        heat gained in the tanks at the cheapest price."""
        return self.net_eur + self.penalty_eur - self.stored_eur


@dataclass(frozen=True)
class Comfort:
    """Comfort not kept."""

    hot_water_shortfall_wh: float  # hot water drawn below temp_min (energy to bring it up)
    run_shortfall_s: dict[str, float]  # on/off loads: daily run time not met (s)
    run_shortfall_wh: float  # the same, as energy (their power × the missing time)
    stored_wh: float  # heat gained by the tanks from the start to the end of the run


@dataclass(frozen=True)
class ExportSplit:
    """Exported energy: what a router could have used, and what nothing could take."""

    export_wh: float
    usable_wh: float  # some configured load could physically have taken it

    @property
    def unusable_wh(self) -> float:
        """Exported while every load was full, at its limit or held by its min_off."""
        return self.export_wh - self.usable_wh


@dataclass(frozen=True)
class Yardstick:
    """The yardstick of one run."""

    bill: Bill
    comfort: Comfort
    export: ExportSplit
    import_wh: float


def comfort_c(cfg: EquipmentConfig) -> float:
    """The temperature the hot water of this load's tank should be drawn at: its
    ``temp_min``, or :data:`COMFORT_DEFAULT_C` for a plain dimmer (no probe)."""
    return cfg.temp_min_c if isinstance(cfg, TempDrivenVariablePowerConfig) else COMFORT_DEFAULT_C


def _temp_limit_c(cfg: EquipmentConfig) -> float | None:
    return cfg.temp_max_c if isinstance(cfg, TempDrivenVariablePowerConfig) else None


def onoff_power_w(cfg: EquipmentConfig) -> float | None:
    """The power an on/off load draws when on (None: not an on/off load)."""
    if isinstance(cfg, ConstantPowerConfig):
        return cfg.nominal_power_w
    if isinstance(cfg, UnknownPowerConfig):
        return cfg.expected_power_w
    return None


def _hot_water_shortfall(house: House) -> Floats:
    """Per step (Wh): the energy that would bring the hot water drawn up to its comfort
    temperature (:func:`comfort_c`), computed over all steps at once."""
    import numpy as np

    rec = house.recording
    shortfall = np.zeros(rec.steps)
    for load, name in zip(house.loads, rec.names, strict=True):
        if not isinstance(load, DimmerLoad) or load.tank is None or name not in rec.tank_c:
            continue
        wanted_c = comfort_c(rec.config(name))
        temps = vectors.floats(rec.tank_c[name])
        flows = np.asarray(load.tank.draws.sample(rec.start, rec.step_s, rec.steps))
        per_l_k = WATER_WH_PER_L_K * rec.step_s / 60.0
        cold = (flows > 0) & (temps < wanted_c)
        shortfall = shortfall + np.where(cold, flows * per_l_k * (wanted_c - temps), 0.0)
    return shortfall


@dataclass(frozen=True)
class _DimmerSeries:
    drawn_w: Sequence[float]
    max_power_w: float
    able: Sequence[int]  # its thermostat closed (1), per step
    tank_c: Sequence[float]
    limit_c: float | None  # temp_max of its configuration


@dataclass(frozen=True)
class _OnOffSeries:
    drawn_w: Sequence[float]
    power_w: float
    stops: list[float]  # when it really stopped
    min_off_s: float


def usable_export_w(rec: Recording) -> list[float]:
    """Per step: the part of the export some configured load could have taken."""
    return _usable_export(rec).tolist()  # type: ignore[no-any-return]


def _series(rec: Recording) -> tuple[list[_DimmerSeries], list[_OnOffSeries]]:
    """The series of the dimmers and of the on/off loads that make the room for export."""
    dimmers: list[_DimmerSeries] = []
    onoffs: list[_OnOffSeries] = []
    for name in rec.names:
        cfg = rec.config(name)
        drawn = rec.drawn_w[name]
        power = onoff_power_w(cfg)
        if isinstance(cfg, VariablePowerConfig):
            able: Sequence[int] = rec.able.get(name) or [1] * rec.steps
            temps: Sequence[float] = rec.tank_c.get(name) or [0.0] * rec.steps
            dimmers.append(_DimmerSeries(drawn, cfg.max_power_w, able, temps, _temp_limit_c(cfg)))
        elif power is not None and isinstance(cfg, ConstantPowerConfig | UnknownPowerConfig):
            stops = [s.time for s in rec.switches[name] if not s.on]
            onoffs.append(_OnOffSeries(drawn, power, stops, cfg.min_off_s))
    return dimmers, onoffs


def _usable_export(rec: Recording) -> Floats:
    """:func:`usable_export_w` as an array, computed over all steps at once (the
    dimmers' headroom added first, then the on/off loads')."""
    import numpy as np

    dimmers, onoffs = _series(rec)
    grid = vectors.floats(rec.grid_w)
    export = -grid
    t = rec.start + np.arange(rec.steps, dtype=np.float64) * rec.step_s
    room = np.zeros(rec.steps)
    making_room = np.zeros(rec.steps)
    for d in dimmers:
        drawn = vectors.floats(d.drawn_w)
        making_room = making_room + drawn
        free = vectors.flags(d.able)
        if d.limit_c is not None:
            free &= vectors.floats(d.tank_c) < d.limit_c
        room = room + np.where(free, np.maximum(d.max_power_w - drawn, 0.0), 0.0)
    for o in onoffs:
        takes = (vectors.floats(o.drawn_w) <= 0) & (o.power_w <= export + making_room)
        if o.stops:
            stops = np.asarray(o.stops, dtype=np.float64)
            j = np.searchsorted(stops, t, side="right")
            takes &= (j == 0) | (t - stops[np.maximum(j - 1, 0)] >= o.min_off_s)
        room = room + np.where(takes, o.power_w, 0.0)
    usable: Floats = np.where(grid < 0, np.minimum(export, room), 0.0)
    return usable


@dataclass(frozen=True)
class DayYardstick:
    """The yardstick of one local day of a run."""

    day: date
    yardstick: Yardstick


@dataclass(frozen=True)
class _Steps:
    """The per-step figures of a run, computed once and summed over windows."""

    shortfall_wh: Floats
    usable_w: Floats


@dataclass(frozen=True)
class _Sums:
    """What the steps of a window add up to."""

    import_wh: float
    import_eur: float
    export_wh: float
    export_eur: float  # earned
    usable_wh: float
    shortfall_wh: float  # hot water
    shortfall_eur: float  # the same at the dearest price of its day


def run_shortfall_s(rec: Recording, tz: ZoneInfo, day: date) -> dict[str, float]:
    """Per on/off load with a ``daily_run_time``: the part of it not run on local ``day``
    by its ``latest_end`` (s); a day the recording does not cover from midnight to the
    latest end is not judged."""
    missed: dict[str, float] = {}
    for name in rec.names:
        cfg = rec.config(name)
        if not isinstance(cfg, ConstantPowerConfig | UnknownPowerConfig) or cfg.daily_run_s <= 0:
            continue
        begins = local_instant(day, MIDNIGHT, tz).timestamp()
        ends = local_end(day, cfg.latest_end, tz).timestamp()
        if begins < rec.start - 1e-6 or ends > rec.end + 1e-6:
            continue
        ran_s = _steps_drawing(rec.drawn_w[name], rec.index(begins), rec.index(ends)) * rec.step_s
        missed[name] = max(cfg.daily_run_s - ran_s, 0.0)
    return missed


def _steps_drawing(drawn_w: Sequence[float], i0: int, i1: int) -> int:
    """How many of the steps ``[i0, i1)`` drew power."""
    import numpy as np

    return int(np.count_nonzero(vectors.floats(drawn_w)[i0:i1] > 0))


def _window(
    house: House,
    prices: PriceSeries,
    tz: ZoneInfo,
    steps: _Steps,
    i0: int,
    i1: int,
) -> Yardstick:
    """The yardstick of the steps ``[i0, i1)``."""
    rec = house.recording
    dearest = prices.dearest_eur_kwh
    sums = _sums(rec, prices, tz, steps, i0, i1)
    penalty_eur = sums.shortfall_eur
    missed_s: dict[str, float] = {}
    missed_wh = 0.0
    first = datetime.fromtimestamp(rec.start + i0 * rec.step_s, tz).date()
    last = datetime.fromtimestamp(rec.start + max(i1 - 1, i0) * rec.step_s, tz).date()
    day = first
    while day <= last:
        for name, seconds in run_shortfall_s(rec, tz, day).items():
            missed_s[name] = missed_s.get(name, 0.0) + seconds
            energy_wh = (onoff_power_w(rec.config(name)) or 0.0) * seconds / 3600.0
            missed_wh += energy_wh
            penalty_eur += energy_wh / 1000.0 * dearest.get(day, 0.0)
        day += timedelta(days=1)
    stored_wh = 0.0
    for load, name in zip(house.loads, rec.names, strict=True):
        temps = rec.tank_c.get(name)
        if isinstance(load, DimmerLoad) and load.tank is not None and temps and i1 > i0:
            before = load.tank.initial_c if i0 == 0 else temps[i0 - 1]
            stored_wh += load.tank.params.capacity_wh_per_k * (temps[i1 - 1] - before)
    cheapest = min(prices.import_eur_kwh, default=0.0)
    return Yardstick(
        bill=Bill(
            import_eur=sums.import_eur,
            export_eur=sums.export_eur,
            penalty_eur=penalty_eur,
            stored_eur=stored_wh / 1000.0 * cheapest,
        ),
        comfort=Comfort(sums.shortfall_wh, missed_s, missed_wh, stored_wh),
        export=ExportSplit(sums.export_wh, sums.usable_wh),
        import_wh=sums.import_wh,
    )


def _sums(
    rec: Recording, prices: PriceSeries, tz: ZoneInfo, steps: _Steps, i0: int, i1: int
) -> _Sums:
    """The sums of the steps ``[i0, i1)``, every step at once: each step's terms (its
    energy at the price of its slot, its shortfall at the dearest price of its local
    day), added in step order."""
    import numpy as np

    dt_h = rec.step_s / 3600.0
    total = vectors.running_sum
    grid = vectors.floats(rec.grid_w)[i0:i1]
    t = rec.start + np.arange(i0, i1, dtype=np.float64) * rec.step_s
    slots = np.clip(((t - prices.start) // prices.slot_s).astype(np.int64), 0, None)
    slots = np.minimum(slots, len(prices.import_eur_kwh) - 1)
    import_prices = np.asarray(prices.import_eur_kwh, dtype=np.float64)[slots]
    imported, exported = grid > 0, grid < 0
    shortfall = steps.shortfall_wh[i0:i1]
    usable = steps.usable_w[i0:i1]
    # each step's day: the local midnights from the window's first day on
    first = datetime.fromtimestamp(rec.start + i0 * rec.step_s, tz).date()
    last = datetime.fromtimestamp(rec.start + max(i1 - 1, i0) * rec.step_s, tz).date()
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    midnights = [local_instant(day, MIDNIGHT, tz).timestamp() for day in days[1:]]
    day_index = np.searchsorted(np.asarray(midnights, dtype=np.float64), t, side="right")
    day_dearest = np.asarray([prices.dearest_eur_kwh.get(day, 0.0) for day in days])
    return _Sums(
        import_wh=total(np.where(imported, grid * dt_h, 0.0)),
        import_eur=total(np.where(imported, grid * dt_h / 1000.0 * import_prices, 0.0)),
        export_wh=0.0 - total(np.where(exported, grid * dt_h, 0.0)),
        export_eur=0.0
        - total(np.where(exported, grid * dt_h / 1000.0 * prices.export_eur_kwh, 0.0)),
        usable_wh=total(np.where(exported, usable * dt_h, 0.0)),
        shortfall_wh=total(shortfall),
        shortfall_eur=total(shortfall / 1000.0 * day_dearest[day_index]),
    )


def _steps(house: House) -> _Steps:
    return _Steps(_hot_water_shortfall(house), _usable_export(house.recording))


def measure(house: House, prices: PriceSeries, tz: ZoneInfo) -> Yardstick:
    """The yardstick of a whole run (see the module docstring)."""
    return _window(house, prices, tz, _steps(house), 0, house.recording.steps)


class DaySpan(NamedTuple):
    """A local day of a run, or the part of it the run covers (POSIX s)."""

    start: float
    end: float


def local_days(start: float, end: float, tz: ZoneInfo) -> list[DaySpan]:
    """``[start, end)`` cut at each local midnight: the days a run is graded by, and the
    optimum solved by."""
    days: list[DaySpan] = []
    t = start
    while t < end - 1e-6:
        local = datetime.fromtimestamp(t, tz)
        midnight = local_instant(local.date() + timedelta(days=1), MIDNIGHT, tz).timestamp()
        days.append(DaySpan(start=t, end=min(midnight, end)))
        t = days[-1].end
    return days


def measure_day(
    house: House, prices: PriceSeries, tz: ZoneInfo, start: float, end: float
) -> DayYardstick:
    """The yardstick of ``[start, end)``, one local day of a run (or the part of it the
    run covers), from what the house recorded: the day must still be in its recording,
    with the step before it unless ``start`` is the run's start (the tank's heat gained
    is counted from there)."""
    rec = house.recording
    i0, i1 = rec.index(start), max(rec.index(end), rec.index(start) + 1)
    day = datetime.fromtimestamp(start, tz).date()
    return DayYardstick(day=day, yardstick=_window(house, prices, tz, _steps(house), i0, i1))


def total(days: Sequence[DayYardstick]) -> Yardstick:
    """The yardstick of consecutive days together: every figure adds up (the heat gained
    by the tanks too: each day counts it from where the day before left it)."""
    missed_s: dict[str, float] = {}
    for d in days:
        for name, seconds in d.yardstick.comfort.run_shortfall_s.items():
            missed_s[name] = missed_s.get(name, 0.0) + seconds

    def add(figure: Callable[[Yardstick], float]) -> float:
        return math.fsum(figure(d.yardstick) for d in days)

    return Yardstick(
        bill=Bill(
            import_eur=add(lambda y: y.bill.import_eur),
            export_eur=add(lambda y: y.bill.export_eur),
            penalty_eur=add(lambda y: y.bill.penalty_eur),
            stored_eur=add(lambda y: y.bill.stored_eur),
        ),
        comfort=Comfort(
            hot_water_shortfall_wh=add(lambda y: y.comfort.hot_water_shortfall_wh),
            run_shortfall_s=missed_s,
            run_shortfall_wh=add(lambda y: y.comfort.run_shortfall_wh),
            stored_wh=add(lambda y: y.comfort.stored_wh),
        ),
        export=ExportSplit(
            export_wh=add(lambda y: y.export.export_wh),
            usable_wh=add(lambda y: y.export.usable_wh),
        ),
        import_wh=add(lambda y: y.import_wh),
    )
