"""Today's energy and money (pvopt.regulation.today): what was imported, exported and
diverted from the PV surplus, what the imports cost and what the diversion saved, per
local day, on a fake clock."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
from daemons import Published
from houses import dimmer

from pvopt import topics
from pvopt.config import Settings
from pvopt.daemons.power_regulation import RegulationDaemon
from pvopt.equipment.model import Contract, RegulationConfig, SiteConfig, TariffConfig
from pvopt.points import Point
from pvopt.regulation.model import MeterSample
from pvopt.regulation.today import DayLedger, TodayTotals, today_document
from pvopt.tic.tariff import Colour, MeterTariff

PARIS = ZoneInfo("Europe/Paris")
BASE = TariffConfig(contract=Contract.BASE, base_price_eur_kwh=0.20)
STALE_S = 10.0


def ledger(tariff: TariffConfig = BASE) -> DayLedger:
    site = SiteConfig(equipment=(), regulation=RegulationConfig(), tariff=tariff)
    return DayLedger(site, PARIS, STALE_S)


def local(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A local wall-clock time, as the UTC instant the daemon would hand over (so that
    adding seconds adds real seconds, across DST changes too)."""
    return datetime.combine(day, time(hour, minute, second), PARIS).astimezone(UTC)


def feed(
    book: DayLedger,
    start: datetime,
    seconds: float,
    grid_w: float,
    loads_w: float,
    step_s: float = 1.0,
    meter: MeterTariff | None = None,
) -> datetime:
    """A reading every ``step_s`` for ``seconds`` after ``start`` (the loads drawing
    ``loads_w`` throughout, the grid reading ``grid_w``); returns the last reading's time."""
    now = start
    book.reading(now, grid_w, loads_w, meter)
    for _ in range(round(seconds / step_s)):
        now += timedelta(seconds=step_s)
        book.reading(now, grid_w, loads_w, meter)
    return now


SUMMER = date(2026, 6, 14)


def totals(book: DayLedger, now: datetime) -> TodayTotals:
    found = book.today(now)
    assert found is not None
    return found


def test_nothing_is_known_before_the_first_reading() -> None:
    book = ledger()
    assert book.today(local(SUMMER, 12)) is None
    assert today_document(None) is None


def test_a_load_drawing_while_the_house_exports_is_all_diverted() -> None:
    book = ledger()
    end = feed(book, local(SUMMER, 12), 3600, grid_w=-1000, loads_w=2000)
    day = totals(book, end)
    assert day.diverted_wh == pytest.approx(2000)
    assert day.exported_wh == pytest.approx(1000)
    assert day.imported_wh == 0
    assert day.saved_eur == pytest.approx(2.0 * 0.20)
    assert day.import_cost_eur == 0


def test_only_the_part_of_a_load_not_imported_counts_as_diverted() -> None:
    # 2 kW heater, the house imports 500 W: 1.5 kW came from the sun, 0.5 kW was bought
    book = ledger()
    end = feed(book, local(SUMMER, 12), 3600, grid_w=500, loads_w=2000)
    day = totals(book, end)
    assert day.imported_wh == pytest.approx(500)
    assert day.diverted_wh == pytest.approx(1500)
    assert day.import_cost_eur == pytest.approx(0.5 * 0.20)
    assert day.saved_eur == pytest.approx(1.5 * 0.20)


def test_a_load_entirely_bought_diverts_nothing() -> None:
    book = ledger()
    end = feed(book, local(SUMMER, 21), 1800, grid_w=3000, loads_w=2000)
    day = totals(book, end)
    assert day.diverted_wh == 0
    assert day.saved_eur == 0
    assert day.imported_wh == pytest.approx(1500)


def test_a_feed_in_price_is_taken_off_the_savings() -> None:
    book = ledger(TariffConfig(base_price_eur_kwh=0.20, export_price_eur_kwh=0.05))
    end = feed(book, local(SUMMER, 12), 3600, grid_w=-500, loads_w=1000)
    assert totals(book, end).saved_eur == pytest.approx(1.0 * (0.20 - 0.05))


def test_each_interval_is_priced_at_its_moment() -> None:
    # HP/HC: off-peak 22:00-06:00 at 0.15, peak at 0.25; an hour importing 1 kW each side
    tariff = TariffConfig(
        contract=Contract.HPHC, hphc_hp_price_eur_kwh=0.25, hphc_hc_price_eur_kwh=0.15
    )
    book = ledger(tariff)
    feed(book, local(SUMMER, 20, 30), 3600, grid_w=1000, loads_w=0, step_s=5)
    end = feed(book, local(SUMMER, 22, 0), 3600, grid_w=1000, loads_w=0, step_s=5)
    assert totals(book, end).import_cost_eur == pytest.approx(0.25 + 0.15, abs=0.002)


def test_the_meter_says_which_price_applies() -> None:
    tempo = TariffConfig(contract=Contract.TEMPO)
    book = ledger(tempo)
    red = MeterTariff(offpeak=False, colour_today=Colour.RED)
    end = feed(book, local(date(2026, 1, 15), 10), 3600, 1000, 0, step_s=5, meter=red)
    assert totals(book, end).import_cost_eur == pytest.approx(
        tempo.tempo_red_hp_price_eur_kwh, rel=1e-3
    )


def test_the_counters_start_at_zero_at_local_midnight() -> None:
    book = ledger()
    before = local(SUMMER, 23, 59)
    end = feed(book, before, 120, grid_w=-1000, loads_w=1000)  # 23:59 → 00:01
    day = totals(book, end)
    assert day.day == SUMMER + timedelta(days=1)
    assert day.diverted_wh == pytest.approx(1000 * 60 / 3600)  # only the minute after
    # asked later without a reading (a safe decision), the day has still changed
    book2 = ledger()
    feed(book2, before, 30, grid_w=500, loads_w=0)
    assert totals(book2, local(SUMMER + timedelta(days=1), 0, 5)).imported_wh == 0


def test_a_dst_day_counts_its_23_hours() -> None:
    spring = date(2026, 3, 29)  # 02:00 → 03:00 in Paris
    book = ledger()
    start = local(spring, 0)
    end = feed(book, start, 23 * 3600 - 10, grid_w=1000, loads_w=0, step_s=10)
    day = totals(book, end)
    assert day.day == spring
    assert (end - start).total_seconds() == 23 * 3600 - 10
    assert day.imported_wh == pytest.approx(23_000 - 1000 * 10 / 3600)


def test_the_autumn_dst_day_counts_its_25_hours() -> None:
    autumn = date(2026, 10, 25)  # 03:00 → 02:00 in Paris
    book = ledger()
    start = local(autumn, 0)
    end = feed(book, start, 25 * 3600 - 10, grid_w=1000, loads_w=0, step_s=10)
    assert totals(book, end).day == autumn
    assert totals(book, end).imported_wh == pytest.approx(25_000 - 1000 * 10 / 3600)
    after = end + timedelta(seconds=20)  # past local midnight: a new day
    book.reading(after, 1000, 0, None)
    assert totals(book, after).day == autumn + timedelta(days=1)
    assert totals(book, after).imported_wh == pytest.approx(1000 * 10 / 3600)


def test_readings_timed_in_local_time_count_real_seconds_across_the_change() -> None:
    book = ledger()
    before = datetime(2026, 10, 25, 2, 59, 58, tzinfo=PARIS)  # summer time, the first 02:59
    after = datetime(2026, 10, 25, 2, 0, 3, fold=1, tzinfo=PARIS)  # 5 s later, winter time
    book.reading(before, 3600, 0, None)
    book.reading(after, 3600, 0, None)
    assert totals(book, after).imported_wh == pytest.approx(5.0)


def test_a_stale_gap_counts_as_nothing_not_as_zero_nor_the_last_flow() -> None:
    book = ledger()
    start = local(SUMMER, 12)
    feed(book, start, 60, grid_w=2000, loads_w=0)
    # the meter goes silent for an hour: one reading arrives after it
    later = start + timedelta(seconds=60 + 3600)
    book.reading(later, 2000, 0, None)
    assert totals(book, later).imported_wh == pytest.approx(2000 * (60 + STALE_S) / 3600)


def test_after_a_safe_decision_nothing_counts_until_the_next_fresh_reading() -> None:
    book = ledger()
    start = local(SUMMER, 12)
    end = feed(book, start, 60, grid_w=2000, loads_w=0)
    book.gap()
    book.reading(end + timedelta(seconds=5), 2000, 0, None)
    assert totals(book, end).imported_wh == pytest.approx(2000 * 60 / 3600)


def test_the_counters_survive_a_restart_of_the_same_day_only() -> None:
    book = ledger()
    end = feed(book, local(SUMMER, 12), 3600, grid_w=500, loads_w=2000)
    saved = book.export()
    again = ledger()
    assert again.restore(saved, end + timedelta(minutes=5))
    assert again.export() == saved
    assert totals(again, end).diverted_wh == pytest.approx(1500)
    tomorrow = ledger()
    assert not tomorrow.restore(saved, local(SUMMER + timedelta(days=1), 8))
    assert tomorrow.today(local(SUMMER + timedelta(days=1), 8)) is None


@pytest.mark.parametrize(
    "broken",
    [
        {"imported_wh": -1.0},
        {"diverted_wh": "12"},
        {"saved_eur": float("nan")},
        {"import_cost_eur": 1e12},
        {"exported_wh": True},
    ],
)
def test_an_implausible_saved_counter_is_ignored(broken: dict[str, object]) -> None:
    book = ledger()
    end = feed(book, local(SUMMER, 12), 60, grid_w=500, loads_w=2000)
    again = ledger()
    assert not again.restore({**book.export(), **broken}, end)
    assert again.today(end) is None


def test_the_status_block_names_every_counter() -> None:
    book = ledger()
    end = feed(book, local(SUMMER, 12), 3600, grid_w=500, loads_w=2000)
    assert today_document(book.today(end)) == {
        "day": "2026-06-14",
        "imported_today_wh": 500.0,
        "exported_today_wh": 0.0,
        "diverted_today_wh": 1500.0,
        "import_cost_today_eur": 0.1,
        "saved_today_eur": 0.3,
    }


# -- in pvopt regulate ------------------------------------------------------------------------


class _Out(Published):
    """The daemon's MQTT client and Influx writer, recording."""

    def __init__(self) -> None:
        super().__init__()
        self.points: list[Point] = []

    def write(self, point: Point) -> None:
        self.points.append(point)

    def status(self) -> dict[str, Any]:
        found: dict[str, Any] = self.last(topics.DECISION)
        return found


def _daemon(state_dir: Path) -> tuple[RegulationDaemon, _Out]:
    site = SiteConfig(equipment=(dimmer("heater"),), tariff=BASE)
    out = _Out()
    settings = Settings(state_dir=state_dir)
    return RegulationDaemon(site, settings, cast(Any, out), cast(Any, out), True), out


def test_the_regulation_publishes_and_stores_today_and_keeps_it_across_a_restart(
    tmp_path: Path,
) -> None:
    daemon, out = _daemon(tmp_path)
    start = datetime.now(UTC)
    daemon.handle([MeterSample(start, 1000, 0)], start)
    assert out.status()["today"]["imported_today_wh"] == 0.0
    later = start + timedelta(seconds=2)
    daemon.handle([MeterSample(later, 1800, 0)], later)  # 2 s importing 1.8 kW
    today = out.status()["today"]
    assert today["imported_today_wh"] == pytest.approx(1.0, abs=0.05)
    assert today["day"] == later.astimezone(PARIS).date().isoformat()
    fields = [p for p in out.points if p.measurement == "regulation"][-1].fields
    assert fields["imported_today_wh"] == pytest.approx(1800 * 2 / 3600)
    assert {"import_cost_today_eur", "saved_today_eur", "diverted_today_wh"} <= set(fields)
    daemon.shed()  # every exit: the loads off, the counters saved

    again, out2 = _daemon(tmp_path)
    stopped = threading.Event()
    stopped.set()
    again.run(stopped)  # restores, then stops at once: its stop decision says today's
    assert out2.status()["today"]["imported_today_wh"] == pytest.approx(1.0, abs=0.05)


def test_a_reloaded_configuration_prices_from_then_on_and_keeps_the_day() -> None:
    # an hour diverting 1 kW at 0.20, then the file says 0.30: the next hour at 0.30
    book = ledger()
    end = feed(book, local(SUMMER, 12), 3600, grid_w=-500, loads_w=1000)
    dearer = TariffConfig(contract=Contract.BASE, base_price_eur_kwh=0.30)
    book.use_site(SiteConfig(equipment=(), regulation=RegulationConfig(), tariff=dearer))
    end = feed(book, end, 3600, grid_w=-500, loads_w=1000)
    day = totals(book, end)
    assert day.diverted_wh == pytest.approx(2000)
    assert day.saved_eur == pytest.approx(0.20 + 0.30)
