"""Prices and tariff periods (pvopt/tariff.py), colour calendars, and the ``tariff:``
section of equipment_config.yml."""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from textwrap import dedent
from zoneinfo import ZoneInfo

import pytest

from pvopt.cli import main
from pvopt.equipment.loader import (
    ConfigFileError,
    load_site_config,
    load_tempo_calendar,
    parse_site_config,
)
from pvopt.equipment.model import (
    TARIF_BLEU_2026_08,
    Contract,
    SiteConfig,
    TariffConfig,
    TimeWindow,
)
from pvopt.equipment.reference import reference_markdown
from pvopt.tariff import (
    DEFAULT_OFFPEAK,
    Colour,
    EjpCalendar,
    MeterTariff,
    Source,
    Tariff,
    TempoCalendar,
    generate_ejp_calendar,
    generate_tempo_calendar,
    parse_tempo_calendar,
    tempo_rule_violations,
    tempo_season,
)

PARIS = ZoneInfo("Europe/Paris")
ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "equipment_config.yml.template"
FILE = "equipment_config.yml"
HC = (time(2, 5), time(6, 50))
B, W, R = Colour.BLUE, Colour.WHITE, Colour.RED
P = TARIF_BLEU_2026_08

#: Thursday 14 January 2027 is red, Friday 15 white, Saturday 16 blue; 13 is blue.
CALENDAR = TempoCalendar(
    {date(2027, 1, 13): B, date(2027, 1, 14): R, date(2027, 1, 15): W, date(2027, 1, 16): B}
)
TEMPO = TariffConfig(contract=Contract.TEMPO)
HPHC = TariffConfig(contract=Contract.HPHC)
EJP = TariffConfig(contract=Contract.EJP, ejp_normal_price_eur_kwh=0.2, ejp_pm_price_eur_kwh=0.9)


def local(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    """A wall-clock time in Paris (fold 0)."""
    return datetime(year, month, day, hour, minute, second, tzinfo=PARIS)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def period_at(tariff: Tariff, instant: datetime, meter: MeterTariff | None = None) -> str:
    return tariff.at(instant, meter).period


# -- one instant -----------------------------------------------------------------------------


def test_base_has_one_price_whatever_the_meter_says() -> None:
    tariff = Tariff(TariffConfig(export_price_eur_kwh=0.04), PARIS)
    state = tariff.at(local(2027, 1, 14, 19, 0), MeterTariff(offpeak=True, colour_today=R))
    assert state.period == "BASE" and state.colour is None and not state.offpeak
    assert (state.import_price_eur_kwh, state.export_price_eur_kwh) == (P.base_eur_kwh, 0.04)
    assert state.source is Source.SCHEDULE


@pytest.mark.parametrize(
    ("clock", "period"),
    [
        (time(21, 59, 59), "HP"),
        (time(22, 0), "HC"),
        (time(0, 0), "HC"),
        (time(5, 59, 59), "HC"),
        (time(6, 0), "HP"),
        (time(12, 0), "HP"),
    ],
)
def test_hphc_follows_the_default_window(clock: time, period: str) -> None:
    tariff = Tariff(HPHC, PARIS)
    state = tariff.at(datetime.combine(date(2027, 1, 14), clock, PARIS))
    assert state.period == period and state.offpeak is (period == "HC")
    expected = P.hphc_hc_eur_kwh if period == "HC" else P.hphc_hp_eur_kwh
    assert state.import_price_eur_kwh == expected and state.source is Source.SCHEDULE


def test_hphc_follows_split_configured_windows() -> None:
    windows = (TimeWindow(time(12, 30), time(14, 30)), TimeWindow(time(1, 30), time(7, 30)))
    tariff = Tariff(dataclasses.replace(HPHC, offpeak=windows), PARIS)
    day = date(2027, 6, 2)
    periods = {
        clock: period_at(tariff, datetime.combine(day, clock, PARIS))
        for clock in (
            time(1, 29),
            time(1, 30),
            time(7, 29),
            time(7, 30),
            time(12, 30),
            time(14, 30),
        )
    }
    assert periods == {
        time(1, 29): "HP",
        time(1, 30): "HC",
        time(7, 29): "HC",
        time(7, 30): "HP",
        time(12, 30): "HC",
        time(14, 30): "HP",
    }


def test_the_meters_offpeak_flag_wins_over_the_window() -> None:
    tariff = Tariff(HPHC, PARIS)
    noon = local(2027, 1, 14, 12, 0)
    state = tariff.at(noon, MeterTariff(offpeak=True))
    assert (state.period, state.source) == ("HC", Source.METER)
    assert tariff.at(local(2027, 1, 14, 23, 0), MeterTariff(offpeak=False)).period == "HP"
    assert tariff.at(noon, MeterTariff()).source is Source.SCHEDULE  # says nothing


@pytest.mark.parametrize(
    ("instant", "period", "price"),
    [
        # Wednesday 13 is blue; Thursday 14 red from 06:00 to 06:00 on Friday 15 (white).
        (local(2027, 1, 14, 5, 59), "HCJB", P.tempo_blue_hc_eur_kwh),
        (local(2027, 1, 14, 6, 0), "HPJR", P.tempo_red_hp_eur_kwh),
        (local(2027, 1, 14, 21, 59), "HPJR", P.tempo_red_hp_eur_kwh),
        (local(2027, 1, 14, 22, 0), "HCJR", P.tempo_red_hc_eur_kwh),
        # After midnight, the night still belongs to the red day that began at 06:00.
        (local(2027, 1, 15, 0, 0), "HCJR", P.tempo_red_hc_eur_kwh),
        (local(2027, 1, 15, 5, 59, 59), "HCJR", P.tempo_red_hc_eur_kwh),
        (local(2027, 1, 15, 6, 0), "HPJW", P.tempo_white_hp_eur_kwh),
        (local(2027, 1, 15, 22, 0), "HCJW", P.tempo_white_hc_eur_kwh),
        (local(2027, 1, 16, 3, 0), "HCJW", P.tempo_white_hc_eur_kwh),
        (local(2027, 1, 16, 6, 0), "HPJB", P.tempo_blue_hp_eur_kwh),
    ],
)
def test_a_tempo_day_runs_from_0600_to_0600(instant: datetime, period: str, price: float) -> None:
    state = Tariff(TEMPO, PARIS, tempo_calendar=CALENDAR).at(instant)
    assert (state.period, state.import_price_eur_kwh, state.source) == (
        period,
        price,
        Source.SCHEDULE,
    )
    assert state.colour is {"B": B, "W": W, "R": R}[period[-1]]
    assert state.offpeak is period.startswith("HC")


def test_tempo_default_window_is_2200_0600_even_with_a_regulation_window() -> None:
    assert TEMPO.offpeak is None
    assert Tariff(TEMPO, PARIS).offpeak_windows == DEFAULT_OFFPEAK
    site = parse_site_config(ORIGINAL + "tariff:\n  contract: tempo\n", FILE, HC)
    assert site.tariff.offpeak is None


@pytest.mark.parametrize(
    ("instant", "period"),
    [
        # Spring forward, Sunday 28 March 2027 (02:00 CET → 03:00 CEST). Saturday 27 red.
        (utc(2027, 3, 27, 20, 59), "HPJR"),  # 21:59 CET
        (utc(2027, 3, 27, 21, 0), "HCJR"),  # 22:00 CET
        (utc(2027, 3, 28, 0, 59), "HCJR"),  # 01:59 CET
        (utc(2027, 3, 28, 1, 0), "HCJR"),  # 03:00 CEST
        (utc(2027, 3, 28, 3, 59), "HCJR"),  # 05:59 CEST
        (utc(2027, 3, 28, 4, 0), "HPJB"),  # 06:00 CEST: Sunday, blue
        (utc(2027, 3, 28, 19, 59), "HPJB"),  # 21:59 CEST
        (utc(2027, 3, 28, 20, 0), "HCJB"),  # 22:00 CEST
        # Fall back, Sunday 25 October 2026 (03:00 CEST → 02:00 CET). Saturday 24 white.
        (utc(2026, 10, 24, 19, 59), "HPJW"),  # 21:59 CEST
        (utc(2026, 10, 24, 20, 0), "HCJW"),  # 22:00 CEST
        (utc(2026, 10, 25, 0, 30), "HCJW"),  # 02:30 CEST, the first time
        (utc(2026, 10, 25, 1, 30), "HCJW"),  # 02:30 CET, the second time
        (utc(2026, 10, 25, 4, 59), "HCJW"),  # 05:59 CET
        (utc(2026, 10, 25, 5, 0), "HPJB"),  # 06:00 CET
        (utc(2026, 10, 25, 20, 59), "HPJB"),  # 21:59 CET
        (utc(2026, 10, 25, 21, 0), "HCJB"),  # 22:00 CET
    ],
)
def test_tempo_periods_follow_the_wall_clock_across_dst(instant: datetime, period: str) -> None:
    calendar = TempoCalendar(
        {date(2027, 3, 27): R, date(2027, 3, 28): B, date(2026, 10, 24): W, date(2026, 10, 25): B}
    )
    assert period_at(Tariff(TEMPO, PARIS, tempo_calendar=calendar), instant) == period


def test_the_meter_wins_for_tempo_colour_and_period() -> None:
    tariff = Tariff(TEMPO, PARIS, tempo_calendar=CALENDAR)
    # The calendar says red at 10:00 on the 14th; the meter says white, off-peak.
    state = tariff.at(local(2027, 1, 14, 10, 0), MeterTariff(offpeak=True, colour_today=W))
    assert (state.period, state.import_price_eur_kwh, state.source) == (
        "HCJW",
        P.tempo_white_hc_eur_kwh,
        Source.METER,
    )
    # Only the colour from the meter: the off-peak flag comes from the window.
    state = tariff.at(local(2027, 1, 14, 10, 0), MeterTariff(colour_today=W))
    assert (state.period, state.source) == ("HPJW", Source.SCHEDULE)


def test_an_unknown_tempo_colour_is_assumed_blue_and_says_so() -> None:
    state = Tariff(TEMPO, PARIS).at(local(2027, 1, 14, 10, 0))
    assert (state.period, state.colour, state.source) == ("HPJB", B, Source.ASSUMED)
    state = Tariff(TEMPO, PARIS, tempo_calendar=CALENDAR).at(local(2027, 2, 1, 10, 0))
    assert state.source is Source.ASSUMED
    state = Tariff(TEMPO, PARIS).at(local(2027, 1, 14, 10, 0), MeterTariff(offpeak=False))
    assert state.source is Source.ASSUMED  # the least certain part decides


def test_with_meter_learns_today_and_tomorrow_as_tempo_days() -> None:
    tariff = Tariff(TEMPO, PARIS).with_meter(
        local(2027, 1, 15, 3, 0), MeterTariff(colour_today=R, colour_tomorrow=W)
    )
    # At 03:00 on the 15th the Tempo day is the 14th: today = 14, tomorrow = 15.
    assert tariff.tempo_day(local(2027, 1, 15, 3, 0)) == date(2027, 1, 14)
    assert period_at(tariff, local(2027, 1, 14, 12, 0)) == "HPJR"
    assert period_at(tariff, local(2027, 1, 15, 12, 0)) == "HPJW"
    assert tariff.at(local(2027, 1, 16, 12, 0)).source is Source.ASSUMED


@pytest.mark.parametrize(
    ("instant", "period"),
    [
        (local(2027, 1, 14, 6, 59), "HN"),
        (local(2027, 1, 14, 7, 0), "PM"),  # Thursday 14 is an EJP day
        (local(2027, 1, 14, 23, 59), "PM"),
        (local(2027, 1, 15, 0, 59), "PM"),  # the mobile peak runs to 01:00 the next morning
        (local(2027, 1, 15, 1, 0), "HN"),
        (local(2027, 1, 15, 7, 0), "HN"),  # Friday 15 is not
        (local(2027, 1, 16, 0, 30), "HN"),
    ],
)
def test_ejp_mobile_peak_runs_from_0700_to_0100(instant: datetime, period: str) -> None:
    tariff = Tariff(EJP, PARIS, ejp_calendar=EjpCalendar(frozenset({date(2027, 1, 14)})))
    state = tariff.at(instant)
    assert (state.period, state.source) == (period, Source.SCHEDULE)
    assert state.import_price_eur_kwh == (0.9 if period == "PM" else 0.2)
    assert state.colour is None and not state.offpeak


def test_ejp_meter_and_assumptions() -> None:
    tariff = Tariff(EJP, PARIS)
    assert tariff.at(local(2027, 1, 14, 12, 0), MeterTariff(ejp_peak=True)).period == "PM"
    state = tariff.at(local(2027, 1, 14, 12, 0))
    assert (state.period, state.source) == ("HN", Source.ASSUMED)  # no calendar
    assert tariff.at(local(2027, 1, 14, 3, 0)).source is Source.SCHEDULE  # never a peak
    with pytest.raises(ValueError, match="ejp_normal_price_eur_kwh"):
        Tariff(TariffConfig(contract=Contract.EJP), PARIS)


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        Tariff(TEMPO, PARIS).at(datetime(2027, 1, 14, 12, 0))


# -- many instants ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "start", "slot_s", "count"),
    [
        (TEMPO, local(2027, 1, 13, 0, 0), 60.0, 4 * 1440),
        (TEMPO, local(2027, 3, 27, 0, 0), 60.0, 3 * 1440),  # spring forward
        (TEMPO, local(2026, 10, 24, 0, 0), 900.0, 3 * 96),  # fall back
        (HPHC, local(2027, 1, 14, 0, 0), 30.0, 2880),
        (EJP, local(2027, 1, 13, 0, 0), 60.0, 4 * 1440),
        (TariffConfig(), local(2027, 1, 13, 0, 0), 3600.0, 24),
    ],
)
def test_slot_prices_are_the_prices_at_each_slot_start(
    config: TariffConfig, start: datetime, slot_s: float, count: int
) -> None:
    calendar = CALENDAR.with_colours(
        {date(2027, 3, 27): R, date(2027, 3, 28): W, date(2026, 10, 24): R, date(2026, 10, 25): W}
    )
    ejp_days = EjpCalendar(frozenset({date(2027, 1, 14), date(2027, 1, 15)}))
    tariff = Tariff(config, PARIS, tempo_calendar=calendar, ejp_calendar=ejp_days)
    prices = tariff.import_prices_eur_kwh(start, slot_s, count)
    first = start.astimezone(UTC)
    expected = [
        tariff.at(first + timedelta(seconds=i * slot_s)).import_price_eur_kwh for i in range(count)
    ]
    assert prices == expected
    assert len(set(prices)) > 1 or config.contract is Contract.BASE


def test_slot_prices_resolve_once_per_stretch_not_per_slot(monkeypatch: pytest.MonkeyPatch) -> None:
    """A day at 1-minute slots (the simulator's call) costs one rate resolution per stretch
    between two boundaries, not one per slot."""
    tariff = Tariff(TEMPO, PARIS, tempo_calendar=CALENDAR)
    calls = 0
    resolve = tariff._resolve

    def counting(*args: object) -> object:
        nonlocal calls
        calls += 1
        return resolve(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(tariff, "_resolve", counting)
    prices = tariff.import_prices_eur_kwh(local(2027, 1, 14, 0, 0), 60.0, 1440)
    assert len(prices) == 1440 and calls <= 6


def test_slot_prices_validate_their_arguments() -> None:
    tariff = Tariff(TEMPO, PARIS)
    assert tariff.import_prices_eur_kwh(local(2027, 1, 14, 0, 0), 60.0, 0) == []
    with pytest.raises(ValueError, match="slot_s"):
        tariff.import_prices_eur_kwh(local(2027, 1, 14, 0, 0), 0.0, 10)
    with pytest.raises(ValueError, match="count"):
        tariff.import_prices_eur_kwh(local(2027, 1, 14, 0, 0), 60.0, -1)
    with pytest.raises(ValueError, match="aware"):
        tariff.import_prices_eur_kwh(datetime(2027, 1, 14), 60.0, 10)


@pytest.mark.parametrize(
    ("day", "dearest"),
    [
        (date(2027, 1, 13), P.tempo_blue_hp_eur_kwh),  # blue all day
        (date(2027, 1, 14), P.tempo_red_hp_eur_kwh),  # red from 06:00
        (date(2027, 1, 15), P.tempo_white_hp_eur_kwh),  # red only off-peak, 00:00-06:00
        (date(2027, 1, 17), P.tempo_blue_hp_eur_kwh),  # unknown: assumed blue
    ],
)
def test_the_dearest_price_of_a_local_day(day: date, dearest: float) -> None:
    assert Tariff(TEMPO, PARIS, tempo_calendar=CALENDAR).dearest_import_price_eur_kwh(day) == (
        dearest
    )


def test_the_dearest_price_of_a_day_counts_the_previous_tempo_night() -> None:
    """With a red off-peak price above the white peak price, the red night that ends a
    white day's first six hours is that day's dearest price."""
    config = dataclasses.replace(TEMPO, tempo_red_hc_price_eur_kwh=0.5)
    tariff = Tariff(config, PARIS, tempo_calendar=CALENDAR)
    assert tariff.dearest_import_price_eur_kwh(date(2027, 1, 15)) == 0.5
    # Saturday 16 (blue) starts with the white night, cheaper than its blue peak hours.
    assert tariff.dearest_import_price_eur_kwh(date(2027, 1, 16)) == P.tempo_blue_hp_eur_kwh


def test_the_dearest_price_of_a_dst_day_covers_its_23_or_25_hours() -> None:
    """On the 25-hour day the extra hour is 02:00-03:00 (off-peak); a window that ends at
    the last local hour of a 23-hour day still counts."""
    late = TimeWindow(time(23, 0), time(23, 59))
    config = dataclasses.replace(HPHC, offpeak=(late,), hphc_hc_price_eur_kwh=1.0)
    tariff = Tariff(config, PARIS)
    assert tariff.dearest_import_price_eur_kwh(date(2027, 3, 28)) == 1.0
    assert tariff.dearest_import_price_eur_kwh(date(2026, 10, 25)) == 1.0


# -- calendars -------------------------------------------------------------------------------


def test_a_tempo_calendar_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "tempo.csv"
    path.write_text(
        "# RTE, 2026-2027\ndate,colour\n2027-01-14,RED\n\n2027-01-15, white \n2027-01-16,Blue\n",
        "utf-8",
    )
    calendar = load_tempo_calendar(path)
    assert calendar == TempoCalendar(
        {date(2027, 1, 14): R, date(2027, 1, 15): W, date(2027, 1, 16): B}
    )
    assert parse_tempo_calendar(calendar.to_csv()) == calendar


def test_a_tempo_calendar_file_names_every_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "tempo.csv"
    path.write_text(
        "date,colour\n"
        "2027-01-14,RED\n"
        "2027-01-15,ROUGE\n"
        "2027-02-30,BLUE\n"
        "2027-01-16\n"
        "2027-01-14,WHITE\n"
        "14/01/2027,RED\n",
        "utf-8",
    )
    with pytest.raises(ConfigFileError) as info:
        load_tempo_calendar(path)
    assert str(info.value).splitlines() == [
        f"{path}:3: expected YYYY-MM-DD,BLUE|WHITE|RED, got '2027-01-15,ROUGE'",
        f"{path}:4: expected YYYY-MM-DD,BLUE|WHITE|RED, got '2027-02-30,BLUE'",
        f"{path}:5: expected YYYY-MM-DD,BLUE|WHITE|RED, got '2027-01-16'",
        f"{path}:6: 2027-01-14 is already given at line 2",
        f"{path}:7: expected YYYY-MM-DD,BLUE|WHITE|RED, got '14/01/2027,RED'",
    ]


def test_a_tempo_calendar_file_needs_its_header(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError) as info:
        parse_tempo_calendar("2027-01-14,RED\n", "tempo.csv")
    assert str(info.value) == "tempo.csv:1: expected the header 'date,colour', got '2027-01-14,RED'"
    with pytest.raises(ConfigFileError, match=r"^tempo\.csv: no header"):
        parse_tempo_calendar("\n# nothing\n", "tempo.csv")
    with pytest.raises(ConfigFileError, match="cannot read the file"):
        load_tempo_calendar(tmp_path / "absent.csv")


def test_a_calendar_cannot_be_changed_in_place() -> None:
    colours = {date(2027, 1, 14): R}
    calendar = TempoCalendar(colours)
    colours[date(2027, 1, 14)] = B
    assert calendar.colour(date(2027, 1, 14)) is R
    with pytest.raises(TypeError):
        calendar.colours[date(2027, 1, 14)] = B  # type: ignore[index]


SEEDS = range(6)
SEASONS = (2025, 2026, 2027)  # 2027-2028 has a 29 February


def season_days(year: int) -> list[date]:
    first, last = date(year, 9, 1), date(year + 1, 8, 31)
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("year", SEASONS)
def test_a_generated_tempo_year_follows_the_rules(year: int, seed: int) -> None:
    calendar = generate_tempo_calendar(year, seed)
    days = season_days(year)
    colours = [calendar.colour(day) for day in days]
    assert None not in colours
    counts = Counter(colours)
    assert counts[R] == 22 and counts[W] == 43 and counts[B] == len(days) - 65
    reds, whites = calendar.days(R), calendar.days(W)
    assert all(day.weekday() < 5 for day in reds)
    assert all(day.month in (11, 12, 1, 2, 3) for day in reds)
    assert all(day.weekday() != 6 for day in whites)
    assert {tempo_season(day) for day in calendar.colours} == {year}
    assert tempo_rule_violations(calendar, year) == []


def test_generated_red_and_white_days_gather_in_the_coldest_months() -> None:
    reds: Counter[str] = Counter()
    whites: Counter[str] = Counter()
    for seed in SEEDS:
        calendar = generate_tempo_calendar(2026, seed)
        reds.update("cold" if d.month in (12, 1, 2) else "other" for d in calendar.days(R))
        whites.update("cold" if d.month in (12, 1, 2) else "other" for d in calendar.days(W))
    # Dec-Feb has 65 weekdays, Nov+Mar 43: uniform draws would put 60 % of reds there.
    assert reds["cold"] / sum(reds.values()) > 0.7
    assert whites["cold"] / sum(whites.values()) > 0.5


def test_the_same_seed_gives_the_same_calendar() -> None:
    assert generate_tempo_calendar(2026, 7) == generate_tempo_calendar(2026, 7)
    assert generate_tempo_calendar(2026, 7) != generate_tempo_calendar(2026, 8)
    assert generate_ejp_calendar(2026, 7) == generate_ejp_calendar(2026, 7)
    assert generate_ejp_calendar(2026, 7) != generate_ejp_calendar(2026, 8)
    two = generate_tempo_calendar(2026, 7, seasons=2)
    assert len(two.colours) == 365 + 366
    assert two.days(R)[:22] == generate_tempo_calendar(2026, 7).days(R)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("year", SEASONS)
def test_generated_ejp_days_follow_the_rules(year: int, seed: int) -> None:
    days = sorted(generate_ejp_calendar(year, seed).days)
    assert len(days) == 22
    assert all(date(year, 11, 1) <= day <= date(year + 1, 3, 31) for day in days)
    assert all(day.weekday() < 5 for day in days)


def test_generated_ejp_days_gather_in_the_coldest_months() -> None:
    months = Counter(
        "cold" if day.month in (12, 1, 2) else "other"
        for seed in SEEDS
        for day in generate_ejp_calendar(2026, seed).days
    )
    assert months["cold"] / sum(months.values()) > 0.7


def test_the_rule_checker_finds_broken_years() -> None:
    calendar = generate_tempo_calendar(2026, 1)
    red = calendar.days(R)[0]
    saturday = next(d for d in season_days(2026) if d.weekday() == 5 and d.month == 12)
    sunday = saturday + timedelta(days=1)
    broken = calendar.with_colours({red: B, saturday: R, sunday: W, date(2026, 9, 2): R})
    problems = tempo_rule_violations(broken, 2026)
    assert f"{saturday}: red on a weekend" in problems
    assert f"{sunday}: white on a Sunday" in problems
    assert "2026-09-02: red outside 1 Nov-31 Mar" in problems
    assert "2026-09-03: no colour" not in problems
    assert "2026-09-03: no colour" in tempo_rule_violations(
        TempoCalendar({d: c for d, c in calendar.colours.items() if d != date(2026, 9, 3)}), 2026
    )


# -- the tariff: section -----------------------------------------------------------------------

ORIGINAL = """\
equipment:
  - type: TempDrivenVariablePowerEquipment
    id: 0
    name: water_heater
    max_power: 2400
    temp_min: 45
    temp_eco: 50
    temp_sol_min: 55
    temp_max: 60
"""


def parse(text: str, settings_hc: tuple[time, time] | None = HC) -> SiteConfig:
    return parse_site_config(dedent(text), FILE, settings_hc)


def errors_of(text: str) -> list[str]:
    with pytest.raises(ConfigFileError) as info:
        parse(text)
    return str(info.value).splitlines()


def test_without_a_tariff_section_the_contract_is_base_at_the_regulated_price() -> None:
    site = parse(ORIGINAL)
    assert site.tariff == TariffConfig() == SiteConfig(equipment=()).tariff
    assert site.tariff.contract is Contract.BASE
    assert site.tariff.base_price_eur_kwh == 0.2001
    assert parse(ORIGINAL + "tariff:\n").tariff == TariffConfig()


def test_the_template_still_loads_and_its_tariff_example_shows_the_defaults() -> None:
    assert load_site_config(TEMPLATE, HC).tariff == TariffConfig()
    lines = TEMPLATE.read_text("utf-8").splitlines()
    start = lines.index("# tariff:")
    section = []
    for line in lines[start:]:
        if not line.startswith("#"):
            break
        section.append(line.removeprefix("# "))
    written = {line.split(":")[0].strip() for line in section[1:]}
    assert written == {f.metadata["key"] for f in dataclasses.fields(TariffConfig)}
    site = parse(ORIGINAL + "\n".join(section) + "\n", None)
    assert site.tariff == dataclasses.replace(TariffConfig(), offpeak=DEFAULT_OFFPEAK)


def test_a_tariff_section_is_read_into_its_fields() -> None:
    site = parse(
        ORIGINAL
        + """\
tariff:
  contract: tempo
  tempo_red_hp_price_eur_kwh: 0.75
  offpeak: ["22:30-06:30", 12:00-13:00]
  export_price_eur_kwh: 0.04
"""
    )
    assert site.tariff == dataclasses.replace(
        TEMPO,
        tempo_red_hp_price_eur_kwh=0.75,
        offpeak=(TimeWindow(time(22, 30), time(6, 30)), TimeWindow(time(12), time(13))),
        export_price_eur_kwh=0.04,
    )


def test_hphc_windows_default_to_the_regulations_off_peak_window() -> None:
    window = (TimeWindow(*HC),)
    assert parse(ORIGINAL + "tariff:\n  contract: hphc\n").tariff.offpeak == window
    site = parse(
        ORIGINAL + "regulation:\n  offpeak_start: '23:00'\n  offpeak_end: '07:00'\n"
        "tariff:\n  contract: hphc\n",
        None,
    )
    assert site.tariff.offpeak == (TimeWindow(time(23), time(7)),)
    assert parse(ORIGINAL + "tariff:\n  contract: hphc\n", None).tariff.offpeak is None
    assert Tariff(
        parse(ORIGINAL + "tariff:\n  contract: hphc\n", None).tariff, PARIS
    ).offpeak_windows == (DEFAULT_OFFPEAK)
    written = parse(ORIGINAL + "tariff:\n  contract: hphc\n  offpeak: ['01:00-07:00']\n")
    assert written.tariff.offpeak == (TimeWindow(time(1), time(7)),)


def test_an_ejp_contract_needs_its_prices() -> None:
    assert errors_of(ORIGINAL + "tariff:\n  contract: ejp\n  ejp_pm_price_eur_kwh: ~\n") == [
        "equipment_config.yml:11: tariff.ejp_normal_price_eur_kwh: required when contract is ejp "
        "(no default: its regulated price in force could not be established)",
        "equipment_config.yml:12: tariff.ejp_pm_price_eur_kwh: required when contract is ejp "
        "(no default: its regulated price in force could not be established)",
    ]
    site = parse(
        ORIGINAL + "tariff:\n  contract: ejp\n  ejp_normal_price_eur_kwh: 0.18\n"
        "  ejp_pm_price_eur_kwh: 0.34\n"
    )
    assert (site.tariff.ejp_normal_price_eur_kwh, site.tariff.ejp_pm_price_eur_kwh) == (0.18, 0.34)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (
            "  contrat: tempo\n",
            "equipment_config.yml:11: tariff.contrat: unknown key (did you mean 'contract'?)",
        ),
        (
            "  tempo_red_price_eur_kwh: 0.8\n",
            "equipment_config.yml:11: tariff.tempo_red_price_eur_kwh: "
            "unknown key (did you mean 'tempo_red_hp_price_eur_kwh'?)",
        ),
        (
            "  contract: weekend\n",
            "equipment_config.yml:11: tariff.contract: "
            "expected one of base, hphc, tempo, ejp, got 'weekend'",
        ),
        (
            "  base_price_eur_kwh: 19.52\n",
            "equipment_config.yml:11: tariff.base_price_eur_kwh: "
            "expected a number from 0 to 10, got 19.52",
        ),
        (
            "  export_price_eur_kwh: '0.1'\n",
            "equipment_config.yml:11: tariff.export_price_eur_kwh: "
            "expected a number from 0 to 10, got '0.1'",
        ),
        (
            "  offpeak: 22:00-06:00\n",
            "equipment_config.yml:11: tariff.offpeak: "
            "expected a list of off-peak windows \"HH:MM-HH:MM\", got '22:00-06:00'",
        ),
        (
            "  offpeak: []\n",
            "equipment_config.yml:11: tariff.offpeak: "
            'expected a list of off-peak windows "HH:MM-HH:MM", got an empty list',
        ),
        (
            "  offpeak: ['22:00-25:00']\n",
            "equipment_config.yml:11: tariff.offpeak[0]: "
            "expected a window \"HH:MM-HH:MM\", got '22:00-25:00'",
        ),
        (
            "  offpeak: ['06:00-06:00']\n",
            "equipment_config.yml:11: tariff.offpeak[0]: the window '06:00-06:00' is empty",
        ),
        (
            "  offpeak: ['22:00-06:00', '05:00-07:00']\n",
            "equipment_config.yml:11: tariff.offpeak[1]: 05:00-07:00 overlaps 22:00-06:00",
        ),
        (
            "  - contract\n",
            "equipment_config.yml:11: tariff: expected a mapping of the contract "
            "and its prices, got a list",
        ),
    ],
)
def test_a_bad_tariff_section_names_the_key(section: str, message: str) -> None:
    assert errors_of(ORIGINAL + "tariff:\n" + section) == [message]


def test_check_config_exits_2_naming_a_wrong_tariff_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "equipment_config.yml"
    path.write_text(ORIGINAL + "tariff:\n  contract: tempo\n  export_price: 0.1\n", "utf-8")
    assert main(["check-config", str(path)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"{path}:12: tariff.export_price: unknown key (did you mean 'export_price_eur_kwh'?)"
    ]


def test_the_reference_documents_every_tariff_key() -> None:
    reference = reference_markdown()
    assert "### `tariff:`" in reference
    for f in dataclasses.fields(TariffConfig):
        assert f"| `{f.metadata['key']}` |" in reference
    assert "| `tempo_red_hp_price_eur_kwh` | €/kWh | `0.7295` |" in reference
