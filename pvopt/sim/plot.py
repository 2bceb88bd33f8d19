"""``pvopt simulate --plot``: a PNG of a simulated day (matplotlib, the ``sim`` extra).

Four panels sharing the time axis (local time): PV and household load; grid power under
each decision core (positive = import) and under the optimum, each labelled with its
adjusted cost in €; what each equipment drew under pvopt; the temperature of each tank
under each core and the optimum. Curves are 1-minute means of the house's 0.2 s steps
(the meter frames would only add noise at that scale); the optimum's are its slots.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from pvopt.sim.floor import SlotSeries
from pvopt.sim.house import Recording
from pvopt.sim.vectors import means

#: Width of the means plotted, seconds.
BIN_S = 60.0


def _means(rec: Recording, values: Sequence[float]) -> tuple[float, ...]:
    return means(values, max(int(BIN_S / rec.step_s), 1))


def _label(name: str, costs: Mapping[str, float | None]) -> str:
    cost = costs.get(name)
    return name if cost is None else f"{name} ({cost:.2f} €)"


def plot_day(
    runs: Sequence[tuple[str, Recording]],
    path: Path,
    title: str,
    tz: ZoneInfo,
    costs: Mapping[str, float | None] | None = None,
    optimum: SlotSeries | None = None,
) -> Path:
    """Write the PNG of ``runs`` (controller name, recording; the first one is pvopt's)
    and of the ``optimum``'s schedule to ``path``, with each one's adjusted cost
    (``costs``, €) in the legend; raise ``RuntimeError`` when matplotlib is missing."""
    costs = costs or {}
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.dates as mdates
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise RuntimeError(
            "--plot needs matplotlib: pip install 'pvopt[sim]' (make demo installs it)"
        ) from exc
    main = runs[0][1]
    per_bin = max(int(BIN_S / main.step_s), 1)
    times = [
        datetime.fromtimestamp(main.start + (i + per_bin / 2) * main.step_s, tz)
        for i in range(0, main.steps, per_bin)
    ]
    fig, axes = plt.subplots(4, 1, figsize=(12, 11), sharex=True)
    pv_ax, grid_ax, load_ax, tank_ax = axes
    pv_ax.plot(times, _means(main, main.pv_w), color="orange", label="PV")
    pv_ax.plot(times, _means(main, main.base_w), color="grey", label="household load")
    pv_ax.set_ylabel("W")
    pv_ax.legend(loc="upper right")
    pv_ax.set_title(title)
    styles = ("-", "--", ":")
    for (name, rec), style in zip(runs, styles, strict=False):
        grid_ax.plot(times, _means(rec, rec.grid_w), style, label=f"grid, {_label(name, costs)}")
    slot_times = []
    if optimum is not None:
        slot_times = [
            datetime.fromtimestamp(optimum.start + (i + 0.5) * optimum.slot_s, tz)
            for i in range(len(optimum.grid_w))
        ]
        grid_ax.plot(
            slot_times,
            optimum.grid_w,
            "-.",
            color="black",
            label=f"grid, {_label('optimum', costs)}",
        )
    grid_ax.axhline(0, color="black", linewidth=0.5)
    grid_ax.set_ylabel("W (+ import)")
    grid_ax.legend(loc="upper right")
    for name in main.names:
        load_ax.plot(times, _means(main, main.drawn_w[name]), label=name)
    load_ax.set_ylabel(f"W drawn ({runs[0][0]})")
    load_ax.legend(loc="upper right")
    for (controller, rec), style in zip(runs, styles, strict=False):
        for name, temps in rec.tank_c.items():
            tank_ax.plot(times, _means(rec, temps), style, label=f"{name}, {controller}")
    if optimum is not None:
        for name, best_c in optimum.tank_c.items():
            tank_ax.plot(slot_times, best_c, "-.", color="black", label=f"{name}, optimum")
    tank_ax.set_ylabel("tank °C")
    if any(rec.tank_c for _, rec in runs):
        tank_ax.legend(loc="upper right")
    tank_ax.xaxis.set_major_formatter(
        mdates.DateFormatter("%H:%M", tz=tz)  # type: ignore[no-untyped-call]
    )
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
