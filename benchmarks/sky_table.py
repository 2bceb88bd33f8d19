"""Derive the monthly clear-sky index table of :mod:`pvopt.sim.climate` from its source.

Usage: python benchmarks/sky_table.py [--wheel-dir DIR]

Downloads the pvlib 0.10.5 wheel from PyPI (``pip download --no-deps pvlib==0.10.5``, into
a temporary folder unless ``--wheel-dir`` names one holding it already), reads two
typical meteorological years shipped in it as test data, and prints per station and
month the clear-sky index

    K_c = Σ GHI / Σ GHI_clear

where GHI is the file's hourly global horizontal irradiance and GHI_clear the
Ineichen–Perez clear-sky GHI of the installed pvlib (``Location.get_clearsky``, its
bundled monthly Linke turbidity climatology) averaged over the interval each hourly
value stands for, from 1-min values:

- PVGIS-SARAH TMY (``tmy_45.000_8.000_2005_2016.csv``), 45.0° N 8.0° E, 250 m: stamps in
  UTC (``time(UTC)``); each value is taken as the mean of the hour centred on its stamp;
- ASHRAE IWEC (``NLD_Amsterdam062400_IWEC.epw``), Amsterdam Schiphol 52.30° N 4.77° E,
  −2 m: EPW hours 1–24 end the hour, in local standard time at the header's time zone
  (LOCATION field 9: +1 h), field 14 is the hour's global horizontal radiation (Wh/m²);
  each value is the hour ending at its stamp.

A check of these conventions is printed: the shift (minutes) of the clear sky that
correlates best with the hourly data (about 0 when the convention is right). A monthly
K_c hardly depends on it (whole days are summed: a shifted clear-sky curve has the same
sum), the hourly alignment does. The year of each typical month is replaced by a common
non-leap year (the clear sky barely depends on it; the sun's position does, by the day
of year).

Then it prints each sky type's mean daily PV / clear-sky energy ratio, measured on the
simulator's own cloud process (:class:`pvopt.sim.pv.CloudProcess`): the reference array
(textbook clear sky, minute steps), one day on each of the 365 days of 2026 for each of
4 seeds per sky type; the ratio is Σ PV / Σ clear-sky power over all those days.

Needs pvlib and pandas (``pip install 'pvopt[sim]'``) and pip with access to PyPI.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import warnings
import zipfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pvlib

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pvopt.sim import scenarios  # noqa: E402
from pvopt.sim.pv import CloudProcess, Sky, clear_sky_w  # noqa: E402

WHEEL = "pvlib==0.10.5"
PVGIS_FILE = "pvlib/data/tmy_45.000_8.000_2005_2016.csv"
IWEC_FILE = "pvlib/data/NLD_Amsterdam062400_IWEC.epw"
#: The common year the typical months are moved to (not a leap year).
YEAR = 2019
#: The clear sky is averaged over each hour from values this far apart.
STEP_MIN = 1


@dataclass(frozen=True)
class Hourly:
    """A station's hourly GHI: where, and for each value the UTC start of the hour it
    stands for."""

    station: str
    source: str
    latitude_deg: float
    longitude_deg: float
    altitude_m: float
    hour_start_utc: pd.DatetimeIndex
    ghi_wh_m2: np.ndarray[Any, Any]


def fetch(folder: Path) -> Path:
    """The wheel in ``folder``, downloaded from PyPI by pip unless it is there."""
    found = sorted(folder.glob("pvlib-0.10.5-*.whl"))
    if not found:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", WHEEL, "-d", str(folder)],
            check=True,
            stdout=sys.stderr,  # stdout is the table
        )
        found = sorted(folder.glob("pvlib-0.10.5-*.whl"))
    return found[0]


def _common_year(stamps: pd.DatetimeIndex) -> pd.DatetimeIndex:
    return pd.DatetimeIndex([s.replace(year=YEAR) for s in stamps])


def read_pvgis(text: str) -> Hourly:
    """The PVGIS TMY CSV: header lines, a months/years table, then ``time(UTC),…,G(h),…``
    rows until a blank line."""
    lines = text.splitlines()
    meta = {k.strip(): v for k, _, v in (line.partition(":") for line in lines[:3])}
    head = next(i for i, line in enumerate(lines) if line.startswith("time(UTC)"))
    columns = lines[head].split(",")
    ghi_col = columns.index("G(h)")
    rows = []
    for line in lines[head + 1 :]:
        fields = line.split(",")
        if len(fields) != len(columns):
            break
        rows.append((fields[0], float(fields[ghi_col])))
    stamps = pd.to_datetime([r[0] for r in rows], format="%Y%m%d:%H%M", utc=True)
    centre = _common_year(pd.DatetimeIndex(stamps))
    return Hourly(
        "PVGIS-SARAH TMY 45.0N 8.0E (Piedmont)",
        "PVGIS TMY (EU JRC, SARAH, 2005-2016), pvlib 0.10.5 data/tmy_45.000_8.000_2005_2016.csv",
        float(meta["Latitude (decimal degrees)"]),
        float(meta["Longitude (decimal degrees)"]),
        float(meta["Elevation (m)"]),
        centre - pd.Timedelta(minutes=30),
        np.array([r[1] for r in rows]),  # W/m² over an hour = Wh/m²
    )


def read_epw(text: str) -> Hourly:
    """An EPW file: LOCATION header (latitude, longitude, time zone h, elevation), 7 more
    header lines, then hourly rows (year, month, day, hour 1–24 ending the hour in local
    standard time, minute, …, field 14 global horizontal radiation Wh/m²)."""
    lines = text.splitlines()
    location = lines[0].split(",")
    latitude, longitude = float(location[6]), float(location[7])
    tz_h, altitude = float(location[8]), float(location[9])
    starts = []
    ghi = []
    for line in lines[8:]:
        fields = line.split(",")
        if len(fields) < 14:
            continue
        month, day, hour = int(fields[1]), int(fields[2]), int(fields[3])
        local_end = pd.Timestamp(YEAR, month, day) + pd.Timedelta(hours=hour)
        starts.append(local_end - pd.Timedelta(hours=1) - pd.Timedelta(hours=tz_h))
        ghi.append(float(fields[13]))
    return Hourly(
        f"ASHRAE IWEC {location[1].title()} Schiphol",
        f"ASHRAE IWEC (WMO {location[5]}), pvlib 0.10.5 data/NLD_Amsterdam062400_IWEC.epw",
        latitude,
        longitude,
        altitude,
        pd.DatetimeIndex(starts).tz_localize("UTC"),
        np.array(ghi),
    )


def clear_hourly(data: Hourly, shift_min: float = 0.0) -> np.ndarray[Any, Any]:
    """The Ineichen clear-sky GHI averaged over each value's hour (Wh/m²), the hours moved
    by ``shift_min``."""
    per_hour = 60 // STEP_MIN
    offsets = pd.to_timedelta(np.arange(per_hour) * STEP_MIN + STEP_MIN / 2 + shift_min, unit="min")
    times = pd.DatetimeIndex((data.hour_start_utc.values[:, None] + offsets.values).ravel())
    location = pvlib.location.Location(
        data.latitude_deg, data.longitude_deg, tz="UTC", altitude=data.altitude_m
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ghi = location.get_clearsky(times.tz_localize("UTC"), model="ineichen")["ghi"]
    values: np.ndarray[Any, Any] = ghi.to_numpy().reshape(-1, per_hour).mean(axis=1)
    return values


def monthly_index(data: Hourly, clear: np.ndarray[Any, Any]) -> list[float]:
    """K_c of each month, January first."""
    months = (data.hour_start_utc + pd.Timedelta(minutes=30)).month.to_numpy()
    return [
        float(data.ghi_wh_m2[months == m].sum() / clear[months == m].sum()) for m in range(1, 13)
    ]


def best_shift_min(data: Hourly) -> int:
    """The shift of the clear sky (minutes, −30…30 by 5) that correlates best with the
    hourly data: about 0 when the stated time convention is right."""
    scores = {
        shift: float(np.corrcoef(data.ghi_wh_m2, clear_hourly(data, shift))[0, 1])
        for shift in range(-30, 31, 5)
    }
    return max(scores, key=lambda s: scores[s])


def sky_ratios(seeds: int = 4) -> dict[Sky, float]:
    """Each sky's Σ PV / Σ clear-sky energy over every day of 2026 × ``seeds``."""
    site = scenarios.REFERENCE_PV
    ratios = {}
    for sky in Sky:
        pv_wh = clear_wh = 0.0
        for day in pd.date_range("2026-01-01", "2026-12-31", freq="D"):
            start = scenarios.local_time(date(day.year, day.month, day.day), 0.0)
            clear = [clear_sky_w(site, start + 60.0 * i) for i in range(1440)]
            for seed in range(seeds):
                rng = random.Random(f"{seed}:{day.date()}")
                clouds = CloudProcess(sky, rng, start, start + 86_400.0)
                factor = clouds.sample(start, 60.0, 1440)
                pv_wh += sum(min(c * k, site.cap_w) for c, k in zip(clear, factor, strict=True))
                clear_wh += sum(clear)
        ratios[sky] = pv_wh / clear_wh
    return ratios


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel-dir", type=Path, help="a folder holding the wheel already")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        wheel = fetch(args.wheel_dir or Path(tmp))
        with zipfile.ZipFile(wheel) as archive:
            pvgis = read_pvgis(archive.read(PVGIS_FILE).decode("utf-8"))
            iwec = read_epw(archive.read(IWEC_FILE).decode("latin-1"))
    print(f"# {wheel.name}, pvlib {pvlib.__version__} Ineichen clear sky")
    rows = []
    for data in (pvgis, iwec):
        clear = clear_hourly(data)
        k_c = monthly_index(data, clear)
        print(
            f"# {data.station}: {data.ghi_wh_m2.sum() / 1000:.0f} kWh/m² a year "
            f"({clear.sum() / 1000:.0f} clear sky); best-correlating clear-sky shift "
            f"{best_shift_min(data):+d} min"
        )
        rows.append((data, k_c))
    print("CLIMATE_POINTS = (")
    for data, k_c in rows:
        values = ", ".join(f"{k:.3f}" for k in k_c)
        print(
            f"    ClimatePoint(\n        station={data.station!r},\n"
            f"        latitude_deg={data.latitude_deg:.2f},\n"
            f"        longitude_deg={data.longitude_deg:.2f},\n"
            f"        source={data.source!r},\n        clear_sky_index=({values}),\n    ),"
        )
    print(")")
    print("# mean daily PV / clear-sky energy ratio of each sky (CloudProcess)")
    for sky, ratio in sky_ratios().items():
        print(f"#   {sky.name}: {ratio:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
