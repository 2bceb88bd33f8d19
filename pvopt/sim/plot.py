"""``pvopt simulate --plot``: a PNG of a simulated day (matplotlib, the ``sim`` extra).

Four panels sharing the time axis (local time): PV and household load; grid power under
each decision core (positive = import); what each equipment drew under pvopt; the
temperature of each tank under each core. Curves are 1-minute means of the house's
0.2 s steps: the meter frames would only add noise at that scale.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from pvopt.sim.house import Recording

#: Width of the means plotted, seconds.
BIN_S = 60.0


def _means(rec: Recording, values: Sequence[float]) -> list[float]:
    per_bin = max(int(BIN_S / rec.step_s), 1)
    return [
        sum(values[i : i + per_bin]) / len(values[i : i + per_bin])
        for i in range(0, len(values), per_bin)
    ]


def plot_day(runs: Sequence[tuple[str, Recording]], path: Path, title: str, tz: ZoneInfo) -> Path:
    """Write the PNG of ``runs`` (controller name, recording; the first one is pvopt's)
    to ``path``; raise ``RuntimeError`` when matplotlib is missing."""
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
        grid_ax.plot(times, _means(rec, rec.grid_w), style, label=f"grid, {name}")
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
