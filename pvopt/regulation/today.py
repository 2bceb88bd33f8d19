"""Today's grid energy and money: what the house imported and exported, what the loads
took from the PV surplus, what the imports cost and what the diversion saved, per local
day (the site's zone, Europe/Paris; the counters start at 0 at local midnight, 23 or 25 h
apart on DST days, and are saved across restarts). Pure: time is an argument; the daemon
hands it each reading the regulation acted on (:meth:`DayLedger.reading`) and each safe
decision (:meth:`DayLedger.gap`).

Definitions (stated once; README, "Today's energy and money"):

- **Intervals.** Each interval between two readings the regulation acted on counts with
  the grid power the later reading measured (its frame shows what flowed over the
  interval), the power the loads were commanded over it (set at the earlier reading), and
  the prices of the later reading's moment (the tariff, with what its frame says of the
  period and the Tempo colours). Stale is never a zero: an interval counts for at most
  ``fresh_s`` (the regulation's ``stale_timeout``, as long as a reading is trusted), and a
  safe decision (stale data, teleinfo offline, a stop) ends the counting until the next
  fresh reading. A gap in the meter data is a gap in the counters, never a zero flow.
- **Imported / exported**: the grid power by its sign (``grid_w = SINSTS − SINSTI``,
  positive = import, :mod:`pvopt.regulation.model`).
- **Diverted**: the loads' power that was not bought, ``max(0, loads − imported)``.
  When a load draws while the house imports, the import is counted as the load's first:
  without the load the house would have imported that much less; only the rest came from
  the PV surplus.
- **Import cost**: the imported energy at the import price of its moment (€).
- **Saved**: the diverted energy at the import price of its moment, minus what it would
  have earned exported when the tariff has a feed-in price (``export_price_eur_kwh``):
  ``diverted × (import price − export price)`` (€).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Final
from zoneinfo import ZoneInfo

from pvopt.equipment.model import SiteConfig
from pvopt.regulation.calendar import Calendar
from pvopt.regulation.inputs import is_number, within
from pvopt.regulation.prices import Prices
from pvopt.tic.tariff import MeterTariff

#: A saved energy (Wh) beyond this is corrupt, not a day's (1 GWh, as the load counters).
ENERGY_MAX_WH: Final = 1e9
#: A saved amount (€) beyond this either way is corrupt, not a day's.
MONEY_MAX_EUR: Final = 1e6


@dataclass(slots=True)
class TodayTotals:
    """Today's counters (local day ``day``)."""

    day: date
    imported_wh: float = 0.0
    exported_wh: float = 0.0
    diverted_wh: float = 0.0
    import_cost_eur: float = 0.0
    saved_eur: float = 0.0


@dataclass(frozen=True, slots=True)
class _Held:
    """The last reading counted: when (POSIX seconds), and the loads' power commanded
    from then on."""

    at: float
    loads_w: float


class DayLedger:
    """Integrates today's energy and money (the module's docstring). Not thread-safe."""

    def __init__(self, site: SiteConfig, tz: ZoneInfo, fresh_s: float) -> None:
        self.calendar = Calendar(site.regulation, tz)
        self.prices = Prices(site.tariff, self.calendar, tz)
        self.export_price_eur_kwh = site.tariff.export_price_eur_kwh
        self.tz = tz
        self.fresh_s = fresh_s
        self.totals: TodayTotals | None = None  # None: nothing counted nor restored yet
        self._held: _Held | None = None

    def use_site(self, site: SiteConfig) -> None:
        """A reloaded configuration: its tariff, calendar and staleness count from now
        on; today's totals and the last reading are kept (a reload is not a new day)."""
        self.calendar = Calendar(site.regulation, self.tz)
        self.prices = Prices(site.tariff, self.calendar, self.tz)
        self.export_price_eur_kwh = site.tariff.export_price_eur_kwh
        self.fresh_s = site.regulation.stale_timeout_s

    def _today(self, now: datetime) -> TodayTotals:
        """Today's counters, started afresh at 0 when the local day changed."""
        day = self.calendar.today(now)
        totals = self.totals
        if totals is None or totals.day != day:
            totals = TodayTotals(day=day)
            self.totals = totals
        return totals

    def reading(
        self, now: datetime, grid_w: float, loads_w: float, meter: MeterTariff | None
    ) -> None:
        """A fresh reading the regulation acted on at ``now``: the interval since the last
        one counts (up to ``fresh_s``, from local midnight at most); ``loads_w`` is what
        the loads were commanded from now on."""
        held = self._held
        totals = self._today(now)
        # POSIX seconds: real time whatever the zones (aware datetimes of one zone compare
        # and subtract as wall clocks, wrong across a DST change)
        at = now.timestamp()
        if held is not None and at > held.at:
            midnight = datetime.combine(totals.day, time(0), self.tz).timestamp()
            seconds = min(at - held.at, self.fresh_s, max(0.0, at - midnight))
            self._count(totals, seconds, grid_w, held.loads_w, now, meter)
        self._held = _Held(at=at, loads_w=loads_w)

    def _count(
        self,
        totals: TodayTotals,
        seconds: float,
        grid_w: float,
        loads_w: float,
        now: datetime,
        meter: MeterTariff | None,
    ) -> None:
        hours = seconds / 3600.0
        imported_w = max(grid_w, 0.0)
        diverted_wh = max(0.0, loads_w - imported_w) * hours
        imported_wh = imported_w * hours
        price = self.prices.view(now, meter).import_price_eur_kwh
        totals.imported_wh += imported_wh
        totals.exported_wh += max(-grid_w, 0.0) * hours
        totals.diverted_wh += diverted_wh
        totals.import_cost_eur += imported_wh / 1000.0 * price
        totals.saved_eur += diverted_wh / 1000.0 * (price - self.export_price_eur_kwh)

    def gap(self) -> None:
        """The readings are not trusted any more (a safe decision): nothing counts until
        the next fresh reading."""
        self._held = None

    def today(self, now: datetime) -> TodayTotals | None:
        """Today's counters at ``now`` (zeros after local midnight), None before anything
        was counted or restored."""
        if self.totals is None:
            return None
        return self._today(now)

    def export(self) -> dict[str, object]:
        """The counters to persist."""
        totals = self.totals
        if totals is None:
            return {}
        return {
            "day": totals.day.isoformat(),
            "imported_wh": round(totals.imported_wh, 3),
            "exported_wh": round(totals.exported_wh, 3),
            "diverted_wh": round(totals.diverted_wh, 3),
            "import_cost_eur": round(totals.import_cost_eur, 6),
            "saved_eur": round(totals.saved_eur, 6),
        }

    def restore(self, data: object, now: datetime) -> bool:
        """Restore what :meth:`export` saved when it is today's and every value plausible;
        True when restored (anything else is ignored: the day starts at 0)."""
        if not isinstance(data, dict) or data.get("day") != self.calendar.today(now).isoformat():
            return False
        imported, exported, diverted = (
            _saved(data, key, (0.0, ENERGY_MAX_WH))
            for key in ("imported_wh", "exported_wh", "diverted_wh")
        )
        cost, saved = (
            _saved(data, key, (-MONEY_MAX_EUR, MONEY_MAX_EUR))
            for key in ("import_cost_eur", "saved_eur")
        )
        if imported is None or exported is None or diverted is None:
            return False
        if cost is None or saved is None:
            return False
        self.totals = TodayTotals(
            day=self.calendar.today(now),
            imported_wh=imported,
            exported_wh=exported,
            diverted_wh=diverted,
            import_cost_eur=cost,
            saved_eur=saved,
        )
        return True


def _saved(data: dict[object, object], key: str, bounds: tuple[float, float]) -> float | None:
    """A saved counter worth restoring (a finite number within ``bounds``), else None."""
    value = data.get(key)
    return float(value) if is_number(value) and within(value, bounds) else None


def today_document(totals: TodayTotals | None) -> dict[str, object] | None:
    """The ``today`` block of ``regulation/status`` (None: not known yet)."""
    if totals is None:
        return None
    return {
        "day": totals.day.isoformat(),
        "imported_today_wh": round(totals.imported_wh, 1),
        "exported_today_wh": round(totals.exported_wh, 1),
        "diverted_today_wh": round(totals.diverted_wh, 1),
        "import_cost_today_eur": round(totals.import_cost_eur, 4),
        "saved_today_eur": round(totals.saved_eur, 4),
    }
