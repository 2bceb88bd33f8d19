"""Monthly clear-sky index at two points bracketing mainland France, as data.

The clear-sky index of a month, ``K_c = Σ GHI / Σ GHI_clear``, is the share of the
cloudless-sky global horizontal irradiation that reached the ground: 1 for a month without
a cloud, about 0.5 for a grey northern winter month. The seasonal sky
(:mod:`pvopt.sim.sky`) draws each simulated day's sky so that a month's expected PV
matches it.

**Sources.** Two typical meteorological years shipped as test data in the pvlib 0.10.5
wheel on PyPI (https://pypi.org/project/pvlib/0.10.5/, ``pvlib/data/``), the only
citable irradiation records reachable offline when this table was made:

- ``tmy_45.000_8.000_2005_2016.csv``: a PVGIS-SARAH typical meteorological year of the
  EU Joint Research Centre (PVGIS, https://re.jrc.ec.europa.eu), 45.0° N 8.0° E, 250 m
  (Piedmont, near Asti): each month is the most typical one of 2005–2016
  from the SARAH satellite irradiance (months of 2009–2014 were picked); hourly GHI, UTC;
- ``NLD_Amsterdam062400_IWEC.epw``: the ASHRAE IWEC typical year (International Weather
  for Energy Calculations, https://www.ashrae.org, © 2001 ASHRAE) of Amsterdam Schiphol,
  WMO 062400, 52.30° N 4.77° E, −2 m: typical months from the station's records (this
  file's months are of 1982–1999); hourly GHI (Wh/m², hour ending, local standard time
  UTC+1).

``GHI_clear`` is pvlib's Ineichen–Perez clear-sky model with its bundled monthly Linke
turbidity climatology (``Location.get_clearsky``), averaged over each hour from 1-min
values (PVGIS values taken as the hour centred on their UTC stamp, EPW values as the hour
ending at theirs; the clear sky that correlates best with the hourly data is 10 min later
and 5 min earlier respectively, and a monthly sum of whole days hardly depends on the
convention). The table is what ``python benchmarks/sky_table.py`` prints (it downloads
the wheel with pip and recomputes it; pvlib 0.16.1 was installed).

**What it says and what it does not.** Each value is one month of one year, chosen as
typical of its decade by the TMY method (temperature, humidity, wind and irradiation
statistics), not a multi-year mean: Piedmont's December (1.024: the December 2011 picked
came out clearer than the clear-sky model's climatological turbidity) and October (0.486)
show how far one month can stray. 45° N 8° E is a Po-valley climate (winter fog and haze,
summer thunderstorms), not Lyon's, and the Mediterranean coast is sunnier; Amsterdam is
maritime, close to Lille or Dunkirk. Between 45° N and 52.3° N :func:`clear_sky_index`
interpolates linearly in latitude, which ignores longitude, altitude and the coast; south
of 45° N (Provence, Corsica, 42–44° N) it holds the 45° N values, which understates their
sun. A GHI ratio is used as the ratio of the tilted array's energy, which overstates
winter PV on cloudy days (diffuse light gains less from the tilt than the beam).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

#: The wheel the data come from.
SOURCE_WHEEL = "https://pypi.org/project/pvlib/0.10.5/ (pvlib-0.10.5-py3-none-any.whl)"
#: The script that derives :data:`CLIMATE_POINTS`.
DERIVATION = "benchmarks/sky_table.py"


@dataclass(frozen=True)
class ClimatePoint:
    """A station's monthly clear-sky index (``clear_sky_index[0]`` is January)."""

    station: str
    latitude_deg: float
    longitude_deg: float
    source: str
    clear_sky_index: tuple[float, ...]


#: South to north. Printed by ``benchmarks/sky_table.py`` (rounded to 3 digits).
CLIMATE_POINTS: tuple[ClimatePoint, ...] = (
    ClimatePoint(
        station="PVGIS-SARAH TMY 45.0N 8.0E (Piedmont)",
        latitude_deg=45.00,
        longitude_deg=8.00,
        source="PVGIS TMY (EU JRC, SARAH, 2005-2016), pvlib 0.10.5 "
        "data/tmy_45.000_8.000_2005_2016.csv",
        clear_sky_index=(
            0.753,
            0.741,
            0.891,
            0.853,
            0.978,
            0.946,
            0.912,
            0.999,
            0.849,
            0.486,
            0.740,
            1.024,
        ),
    ),
    ClimatePoint(
        station="ASHRAE IWEC Amsterdam Schiphol",
        latitude_deg=52.30,
        longitude_deg=4.77,
        source="ASHRAE IWEC (WMO 062400), pvlib 0.10.5 data/NLD_Amsterdam062400_IWEC.epw",
        clear_sky_index=(
            0.534,
            0.589,
            0.646,
            0.590,
            0.660,
            0.633,
            0.675,
            0.690,
            0.630,
            0.583,
            0.548,
            0.507,
        ),
    ),
)


def clear_sky_index(latitude_deg: float, month: int) -> float:
    """The month's (1–12) clear-sky index at ``latitude_deg``: linear in latitude between
    the points of :data:`CLIMATE_POINTS`, their values held beyond them."""
    if not 1 <= month <= 12:
        raise ValueError(f"month {month} is not 1-12")
    points = sorted(CLIMATE_POINTS, key=lambda p: p.latitude_deg)
    if latitude_deg <= points[0].latitude_deg:
        return points[0].clear_sky_index[month - 1]
    for south, north in itertools.pairwise(points):
        if latitude_deg <= north.latitude_deg:
            share = (latitude_deg - south.latitude_deg) / (north.latitude_deg - south.latitude_deg)
            low, high = south.clear_sky_index[month - 1], north.clear_sky_index[month - 1]
            return low + share * (high - low)
    return points[-1].clear_sky_index[month - 1]
