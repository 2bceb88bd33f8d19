"""``pvopt simulate --series FILE.csv``: the run minute by minute, so that anyone can
recompute every figure of the report.

One row per minute (local time, ISO 8601 with its offset): PV, the household's own load
and the hot water drawn (the inputs every controller saw), the tariff period and its
import price, then for each controller its import and its export (kept apart: a minute
with both would net out in a mean, and the bill would not add up) and what each load
drew, and the optimum's schedule (its 5-minute slots repeated on each of their minutes:
its grid power, positive = import). Powers are 1-minute means of the house's 0.2 s
steps, in W: ``Σ import_w × price / 60 000`` is the € paid.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import chain
from operator import attrgetter
from pathlib import Path
from zoneinfo import ZoneInfo

from pvopt.sim import vectors
from pvopt.sim.equipment import DimmerLoad
from pvopt.sim.floor import SlotSeries
from pvopt.sim.house import House
from pvopt.tariff import Tariff

#: One row per this many seconds.
MINUTE_S = 60.0


@dataclass(frozen=True)
class MinuteSeries:
    """A controller's run in 1-minute means (and the day's inputs)."""

    start: float  # POSIX s
    pv_w: tuple[float, ...]
    household_w: tuple[float, ...]
    hot_water_l: tuple[float, ...]  # litres drawn in each minute, every tank together
    import_w: tuple[float, ...]
    export_w: tuple[float, ...]
    loads_w: dict[str, tuple[float, ...]]  # per load, in priority order


def minute_series(
    house: House, start: float | None = None, end: float | None = None
) -> MinuteSeries:
    """The 1-minute means of ``[start, end)`` of a run (default: all it recorded), every
    minute at once: a minute's litres are added in step order, a tank after the other.
    ``start`` falls on a minute of the run (a local day's midnight does)."""
    import numpy as np

    rec = house.recording
    i0 = 0 if start is None else rec.index(start)
    i1 = rec.steps if end is None else rec.index(end)
    t0 = rec.start + i0 * rec.step_s
    n = i1 - i0
    per = max(round(MINUTE_S / rec.step_s), 1)
    grid = vectors.floats(rec.grid_w)[i0:i1]
    litres = np.zeros(-(-n // per))
    for load in house.loads:
        if isinstance(load, DimmerLoad) and load.tank is not None:
            flows = np.asarray(load.tank.draws.sample(t0, rec.step_s, n))
            drawn_l = np.where(flows != 0, flows * rec.step_s / 60.0, 0.0)
            litres = vectors.slot_sums(drawn_l, per, litres)

    def means(values: Sequence[float]) -> tuple[float, ...]:
        return vectors.means(vectors.floats(values)[i0:i1], per)

    return MinuteSeries(
        start=t0,
        pv_w=means(rec.pv_w),
        household_w=means(rec.base_w),
        hot_water_l=tuple(litres.tolist()),
        import_w=vectors.means(np.where(grid > 0, grid, 0.0), per),
        export_w=vectors.means(np.where(-grid > 0, -grid, 0.0), per),
        loads_w={name: means(rec.drawn_w[name]) for name in rec.names},
    )


def joined(parts: Sequence[MinuteSeries]) -> MinuteSeries:
    """Consecutive windows' minutes as one series (a long run keeps a day at a time)."""
    if not parts:
        raise ValueError("no minutes to join")

    def cat(figure: Callable[[MinuteSeries], tuple[float, ...]]) -> tuple[float, ...]:
        return tuple(chain.from_iterable(figure(p) for p in parts))

    return MinuteSeries(
        start=parts[0].start,
        pv_w=cat(attrgetter("pv_w")),
        household_w=cat(attrgetter("household_w")),
        hot_water_l=cat(attrgetter("hot_water_l")),
        import_w=cat(attrgetter("import_w")),
        export_w=cat(attrgetter("export_w")),
        loads_w={
            name: tuple(chain.from_iterable(p.loads_w[name] for p in parts))
            for name in parts[0].loads_w
        },
    )


def write_csv(
    path: Path,
    runs: Sequence[tuple[str, MinuteSeries]],
    optimum: SlotSeries | None,
    tariff: Tariff,
    tz: ZoneInfo,
) -> None:
    """Write the series of ``runs`` (controller, its minutes; the inputs are taken from
    the first) and of the optimum to ``path``."""
    if not runs:
        raise ValueError("no run to write")
    first = runs[0][1]
    header = ["time", "pv_w", "household_w", "hot_water_l", "period", "import_eur_kwh"]
    for name, minutes in runs:
        header.extend((f"{name}_import_w", f"{name}_export_w"))
        header.extend(f"{name}_{load}_w" for load in minutes.loads_w)
    if optimum is not None:
        header.append("optimum_grid_w")
        header.extend(f"optimum_{load}_w" for load in optimum.power_w)
    lines = [",".join(header)]
    for i in range(len(first.import_w)):
        t = first.start + i * MINUTE_S
        instant = datetime.fromtimestamp(t, tz)
        state = tariff.at(instant)
        row = [
            instant.isoformat(timespec="minutes"),
            f"{first.pv_w[i]:.1f}",
            f"{first.household_w[i]:.1f}",
            f"{first.hot_water_l[i]:.2f}",
            state.period,
            f"{state.import_price_eur_kwh:.4f}",
        ]
        for _, minutes in runs:
            row.extend((f"{minutes.import_w[i]:.2f}", f"{minutes.export_w[i]:.2f}"))
            row.extend(f"{values[i]:.1f}" for values in minutes.loads_w.values())
        if optimum is not None:
            slot = min(int((t - optimum.start) // optimum.slot_s), len(optimum.grid_w) - 1)
            row.append(f"{optimum.grid_w[slot]:.1f}")
            row.extend(f"{values[slot]:.1f}" for values in optimum.power_w.values())
        lines.append(",".join(row))
    path.write_text("\n".join(lines) + "\n", "utf-8")
