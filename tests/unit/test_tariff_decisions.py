"""The tariff in the regulation's decisions: whose off-peak hours, and what a red Tempo day
changes. The meter says the colours (STGE: today's, and tomorrow's once announced); the
night before a red day fills the tank to temp_max and buys the pool pump's run time, and
the red day's peak hours never heat from the grid."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from statistics import NormalDist
from zoneinfo import ZoneInfo

import pytest

from pvopt.ejp import EjpDay
from pvopt.equipment.model import (
    Command,
    ConstantPowerConfig,
    Contract,
    RegulationConfig,
    SiteConfig,
    TariffConfig,
    TempDrivenVariablePowerConfig,
    TimeWindow,
)
from pvopt.forecast import PvForecast, Slot
from pvopt.regulation.calendar import Calendar
from pvopt.regulation.core import Regulator
from pvopt.regulation.model import MeterSample
from pvopt.regulation.prices import Prices
from pvopt.regulation.rules import SUN_SIGMA, learn_heat_rate, sun_quantile
from pvopt.regulation.state import TankState
from pvopt.tic.tariff import Colour, MeterTariff

PARIS = ZoneInfo("Europe/Paris")
WHITE_DAY = date(2026, 1, 14)  # a Wednesday ...
RED_DAY = date(2026, 1, 15)  # ... and a red Thursday
TEMPO = TariffConfig(contract=Contract.TEMPO)
HC = RegulationConfig(offpeak_start=time(2, 5), offpeak_end=time(6, 50))


def at(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute, second), tzinfo=PARIS)


def said(instant: datetime) -> MeterTariff:
    """What a Linky on Tempo says: off-peak 22:00-06:00; the Tempo day from 06:00 on the
    14th is white, the one from 06:00 on the 15th red, announced at 11:00 the day before."""
    local = instant.astimezone(PARIS)
    offpeak = not time(6) <= local.time() < time(22)
    tempo_day = (local - timedelta(hours=6)).date()
    today = Colour.RED if tempo_day == RED_DAY else Colour.WHITE
    announced = local >= datetime.combine(tempo_day, time(11), PARIS)
    tomorrow = (
        (Colour.RED if tempo_day + timedelta(days=1) == RED_DAY else Colour.BLUE)
        if (announced)
        else None
    )
    return MeterTariff(offpeak=offpeak, colour_today=today, colour_tomorrow=tomorrow)


def prices(tariff: TariffConfig = TEMPO, regulation: RegulationConfig = HC) -> Prices:
    return Prices(tariff, Calendar(regulation, PARIS), PARIS)


# -- whose off-peak ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hour", "offpeak"), [(21, False), (22, True), (3, True), (6, False), (6.5, False)]
)
def test_without_labels_tempo_is_off_peak_on_its_own_hours_not_on_hc_start_end(
    hour: float, offpeak: bool
) -> None:
    instant = at(WHITE_DAY, int(hour), int(hour % 1 * 60))
    assert prices().view(instant, None).offpeak is offpeak


def test_the_meter_wins_over_the_schedule() -> None:
    assert prices().view(at(WHITE_DAY, 12), MeterTariff(offpeak=True)).offpeak is True


def test_a_base_contract_heats_in_the_regulation_window_even_if_the_meter_says_base() -> None:
    base = prices(TariffConfig())
    assert base.view(at(WHITE_DAY, 3), MeterTariff(period="BASE", offpeak=False)).offpeak
    assert not base.view(at(WHITE_DAY, 1), MeterTariff(period="BASE", offpeak=False)).offpeak
    # a meter with HP/HC labels knows the contract better than a section left at base
    assert base.view(at(WHITE_DAY, 23), MeterTariff(period="HC", offpeak=True)).offpeak


EJP = TariffConfig(contract=Contract.EJP, ejp_normal_price_eur_kwh=0.2, ejp_pm_price_eur_kwh=0.9)
HN = MeterTariff(period="HN", offpeak=False, ejp_peak=False)  # what a Linky on EJP says ...
PM = MeterTariff(period="PM", offpeak=False, ejp_peak=True)  # ... and in a mobile peak


@pytest.mark.parametrize("meter", [HN, None])
def test_an_ejp_contract_heats_in_the_regulation_window_as_a_base_one(
    meter: MeterTariff | None,
) -> None:
    """EJP has no off-peak hours: its "HN, not off-peak" must not leave the tank unheated
    on every grey day; the window is the regulation's, as on base."""
    ejp = prices(EJP)
    view = ejp.view(at(WHITE_DAY, 3), meter)
    assert (view.offpeak, view.offpeak_until) == (True, at(WHITE_DAY, 6, 50))
    assert view.dear_from is None  # no regulation/ejp: tomorrow's mobile peak is not known
    assert not ejp.view(at(WHITE_DAY, 1), meter).offpeak
    assert not ejp.view(at(WHITE_DAY, 12), meter).offpeak


def test_an_ejp_mobile_peak_is_never_off_peak_even_in_the_window() -> None:
    late = prices(EJP, RegulationConfig(offpeak_start=time(22, 0), offpeak_end=time(6, 0)))
    assert not late.view(at(WHITE_DAY, 23), PM).offpeak  # the peak runs to 01:00
    assert late.view(at(RED_DAY, 2), HN).offpeak


def test_an_ejp_night_heats_a_cold_tank_from_the_grid() -> None:
    site = SiteConfig(equipment=(HEATER,), regulation=HC, tariff=EJP)
    regulator = Regulator(site, PARIS)
    now = at(WHITE_DAY, 3)
    regulator.set_temperature("0", 40.0, now)
    out = regulator.evaluate(MeterSample(now, 400, 0, HN), now).outputs[0]
    assert (out.power_w, out.reason) == (2400, "off-peak heating: 40.0 °C, up to 50 °C")


LATE = RegulationConfig(offpeak_start=time(22, 0), offpeak_end=time(6, 0))  # a 22:00 window


def ejp_prices(announced: EjpDay | None, regulation: RegulationConfig = HC) -> Prices:
    """EJP prices told (``regulation/ejp``) of one day, the evening before it."""
    ejp = prices(EJP, regulation)
    if announced is not None:
        ejp.know_ejp(announced, at(announced.day - timedelta(days=1), 20))
    return ejp


def test_the_night_before_an_announced_ejp_day_is_followed_by_dear_hours_from_07_00() -> None:
    view = ejp_prices(EjpDay(RED_DAY, True)).view(at(RED_DAY, 3), HN)
    assert view.offpeak_until == at(RED_DAY, 6, 50)
    assert view.dear_from == at(RED_DAY, 6, 50)  # the window's end: the run is bought in it
    assert view.peak_ratio == pytest.approx(0.9 / 0.2)
    assert view.dear_why == "mobile peak from 07:00"


@pytest.mark.parametrize(
    "announced",
    [
        None,  # no regulation/ejp: exactly as before
        EjpDay(RED_DAY, False),  # announced as an ordinary day
        EjpDay(RED_DAY + timedelta(days=1), True),  # the day after: not this night's
    ],
)
def test_no_dear_hours_after_an_ejp_window_unless_its_day_is_announced(
    announced: EjpDay | None,
) -> None:
    view = ejp_prices(announced).view(at(RED_DAY, 3), HN)
    assert (view.offpeak, view.dear_from, view.dear_why) == (True, None, "")


def test_a_late_window_is_followed_by_the_mobile_peak_of_the_morning_after_midnight() -> None:
    late = ejp_prices(
        EjpDay(RED_DAY, True), RegulationConfig(offpeak_start=time(22, 0), offpeak_end=time(6, 0))
    )
    assert late.view(at(WHITE_DAY, 23), HN).dear_from == at(RED_DAY, 6)
    assert late.view(at(RED_DAY, 5), None).dear_from == at(RED_DAY, 6)


def test_a_window_reaching_past_07_00_ends_where_an_announced_mobile_peak_begins() -> None:
    """A window of 02:00-08:00: on an announced EJP day its night is followed by the dear
    hours from 07:00 (the run bought, the tank filled before them), and 07:00-08:00 is
    not off-peak; on an ordinary day the whole window is."""
    window = RegulationConfig(offpeak_start=time(2, 0), offpeak_end=time(8, 0))
    announced = ejp_prices(EjpDay(RED_DAY, True), window)
    view = announced.view(at(RED_DAY, 3), HN)
    assert (view.offpeak_until, view.dear_from) == (at(RED_DAY, 7), at(RED_DAY, 7))
    assert view.dear_why == "mobile peak from 07:00"
    assert not announced.view(at(RED_DAY, 7, 30), None).offpeak  # the meter silent
    ordinary = ejp_prices(EjpDay(RED_DAY, False), window).view(at(RED_DAY, 3), HN)
    assert (ordinary.offpeak_until, ordinary.dear_from) == (at(RED_DAY, 8), None)


def test_an_announced_mobile_peak_is_never_off_peak_even_when_the_meter_says_nothing() -> None:
    late = ejp_prices(
        EjpDay(WHITE_DAY, True), RegulationConfig(offpeak_start=time(22, 0), offpeak_end=time(6, 0))
    )
    assert not late.view(at(WHITE_DAY, 23), None).offpeak  # the peak runs to 01:00
    assert late.view(at(RED_DAY, 2), None).offpeak


def test_announced_ejp_days_before_yesterday_are_forgotten() -> None:
    ejp = ejp_prices(EjpDay(WHITE_DAY, True))
    ejp.know_ejp(EjpDay(RED_DAY, False), at(WHITE_DAY, 20))
    assert dict(ejp.ejp_days) == {WHITE_DAY: True, RED_DAY: False}
    ejp.know_ejp(
        EjpDay(WHITE_DAY + timedelta(days=3), False), at(WHITE_DAY + timedelta(days=2), 20)
    )
    assert list(ejp.ejp_days) == [RED_DAY, WHITE_DAY + timedelta(days=3)]


# -- a dear day ahead -------------------------------------------------------------------------


def test_the_night_before_a_red_day_is_followed_by_dear_hours_from_06_00() -> None:
    view = prices().view(at(WHITE_DAY, 23), said(at(WHITE_DAY, 23)))
    assert view.dear_from == at(RED_DAY, 6)
    assert view.dear_why == "red day from 06:00"
    after_midnight = at(RED_DAY, 2)
    assert prices().view(after_midnight, said(after_midnight)).dear_from == at(RED_DAY, 6)


@pytest.mark.parametrize(
    "meter",
    [
        None,  # no colours: nothing is known to be dear
        MeterTariff(offpeak=True, colour_today=Colour.WHITE, colour_tomorrow=Colour.WHITE),
        MeterTariff(offpeak=True, colour_today=Colour.BLUE, colour_tomorrow=None),
    ],
)
def test_no_dear_hours_without_a_red_day_announced(meter: MeterTariff | None) -> None:
    assert prices().view(at(WHITE_DAY, 23), meter).dear_from is None


def test_peak_hours_are_never_off_peak_nor_dear() -> None:
    view = prices().view(at(RED_DAY, 9), said(at(RED_DAY, 9)))
    assert (view.offpeak, view.dear_from) == (False, None)


# -- the decisions, hour by hour ----------------------------------------------------------------

HEATER = TempDrivenVariablePowerConfig(
    name="water_heater",
    id="0",
    command=Command("scr/0/in"),
    max_power_w=2400,
    temp_min_c=45,
    temp_eco_c=50,
    temp_sol_min_c=55,
    temp_max_c=60,
)
PUMP = ConstantPowerConfig(
    name="pool_pump",
    id="pool",
    command=Command("shellies/pool/relay/0/command"),
    nominal_power_w=750,
    min_on_s=1800,
    min_off_s=600,
    daily_run_s=4 * 3600,
    latest_end=time(20, 0),
)


class Night:
    """A house without sun: 400 W of its own, the heater heating the tank 1 K every
    6 minutes at full power, cooling 1 K an hour; a meter reading every 30 s."""

    def __init__(
        self,
        celsius: float,
        tariff: TariffConfig = TEMPO,
        meter: Callable[[datetime], MeterTariff] = said,
    ) -> None:
        site = SiteConfig(equipment=(HEATER, PUMP), regulation=HC, tariff=tariff)
        self.regulator = Regulator(site, PARIS)
        self.meter = meter
        self.celsius = celsius
        self.warmest_c = celsius
        self.log: list[tuple[datetime, float, float, str, str]] = []

    def run(self, start: datetime, end: datetime) -> None:
        now, step = start, timedelta(seconds=30)
        heater = self.regulator.load("water_heater")
        pump = self.regulator.load("pool_pump")
        assert heater is not None and pump is not None
        while now < end:
            self.regulator.set_temperature("0", self.celsius, now)  # scr/0/temperature
            grid_w = 400 + heater.power_w + pump.power_w
            d = self.regulator.evaluate(MeterSample(now, int(grid_w), 0, self.meter(now)), now)
            heater_out, pump_out = d.outputs
            self.log.append(
                (now, heater_out.power_w, pump_out.power_w, heater_out.reason, pump_out.reason)
            )
            self.celsius += heater_out.power_w / 2400 / 12 - 1 / 120
            self.warmest_c = max(self.warmest_c, self.celsius)
            now += step


def test_the_night_before_a_red_day_fills_the_tank_to_temp_max_and_buys_the_pump_run() -> None:
    house = Night(celsius=52.0)  # above temp_eco: an ordinary night would not heat
    house.run(at(WHITE_DAY, 21, 30), at(RED_DAY, 6))
    first_heat = next(row for row in house.log if row[1] > 0)
    assert first_heat[0] == at(WHITE_DAY, 22)  # the off-peak hours, not HC_START_TIME
    assert first_heat[3] == "heating off-peak: red day from 06:00, 51.5 °C, up to 60 °C"
    assert house.warmest_c >= 60.0 and house.celsius > 58.0  # full when the red day begins
    runs = [row for row in house.log if row[2] > 0]
    # the pump's day starts at midnight: its 4 h as late in the night as still end by 06:00
    assert runs[0][0] == at(RED_DAY, 1, 54) + timedelta(seconds=30)
    assert runs[0][4] == "run time: 4 h to buy, off-peak: red day from 06:00"
    assert len(runs) * 30 >= 4 * 3600


def ejp_meter(instant: datetime) -> MeterTariff:
    """What a Linky on EJP says: PM from 07:00 on RED_DAY (an EJP day) to 01:00, else HN."""
    local = instant.astimezone(PARIS)
    return PM if at(RED_DAY, 7) <= local < at(RED_DAY + timedelta(days=1), 1) else HN


@pytest.mark.parametrize("announced", [True, False])
def test_the_night_before_an_announced_ejp_day_fills_the_tank_and_buys_the_pump_run(
    announced: bool,
) -> None:
    house = Night(celsius=52.0, tariff=EJP, meter=ejp_meter)  # above temp_eco
    if announced:  # regulation/ejp, the evening before
        house.regulator.set_ejp_day(EjpDay(RED_DAY, True), at(WHITE_DAY, 20))
    house.run(at(WHITE_DAY, 21, 30), at(RED_DAY, 7))
    runs = [row for row in house.log if row[2] > 0]
    if not announced:  # as before the input: an ordinary night, the peak learnt at 07:00
        assert house.warmest_c < 52.5 and not runs
        return
    first_heat = next(row for row in house.log if row[1] > 0)
    assert first_heat[0] == at(RED_DAY, 2, 5)  # the regulation's window
    assert first_heat[3].startswith("heating off-peak: mobile peak from 07:00, ")
    assert first_heat[3].endswith(" °C, up to 60 °C")
    # filled to temp_max in the window, then left to cool 1 K an hour (full: not topped up)
    assert house.warmest_c >= 60.0 and house.celsius > 56.0
    assert runs[0][4] == "run time: 4 h to buy, off-peak: mobile peak from 07:00"
    assert len(runs) * 30 >= 4 * 3600
    assert runs[-1][0] < at(RED_DAY, 6, 50)


def test_a_red_day_never_heats_from_the_grid_in_its_peak_hours() -> None:
    house = Night(celsius=44.0)  # below temp_min all day: off-peak hours would heat
    house.run(at(RED_DAY, 6), at(RED_DAY, 22))  # 06:00-06:50 is in HC_START-HC_END
    peak = [row for row in house.log if row[0] < at(RED_DAY, 22)]
    assert peak and all(row[1] == 0 for row in peak), {row[3] for row in peak if row[1]}
    # no run bought by the red night (none was told of it): the pump's latest start
    # still runs it by 20:00, priced as the grading prices a missed run
    assert any(row[2] > 0 for row in peak)


def test_an_ordinary_night_heats_from_temp_min_to_temp_eco_only() -> None:
    house = Night(celsius=44.0)
    house.run(at(date(2026, 1, 12), 21, 30), at(date(2026, 1, 13), 6))
    heated = [row for row in house.log if row[1] > 0]
    assert heated[0][0] == at(date(2026, 1, 12), 22)
    assert heated[0][3] == "off-peak heating: 43.5 °C, up to 50 °C"
    assert 50.0 <= house.warmest_c < 51.0
    assert not any(row[2] > 0 for row in house.log)  # the pump waits for the day


def test_once_it_knows_how_fast_the_tank_warms_a_night_heats_as_late_as_still_reaches_it() -> None:
    """The first night heats at 22:00: no rate is known yet, and its first 10 min teach
    it (1.5 K in 400 Wh, the tank cooling 1 K an hour: 6.7 min a K at full power). The
    next night the tank, at 44 °C again, is put off to the latest start that still
    reaches temp_eco by 06:00 with 30 % and 20 min to spare: at 22:00, 6.5 K, 04:43; as
    it cools, earlier (6.7 min × 1.3 × (6.5 + x / 60) + 20 min = 480 − x min after
    22:00: x ≈ 353, 03:53). Once begun it heats on to temp_eco in one run, though its
    latest start moves later as it warms."""
    house = Night(celsius=44.0)
    first, second, third = date(2026, 1, 12), date(2026, 1, 13), date(2026, 1, 14)
    house.run(at(first, 21, 30), at(second, 6))
    assert next(row for row in house.log if row[1] > 0)[0] == at(first, 22)
    house.celsius, house.warmest_c, house.log = 44.0, 44.0, []
    house.run(at(second, 21, 30), at(third, 6, 30))
    heated = [row for row in house.log if row[1] > 0]
    assert at(third, 3, 52) <= heated[0][0] <= at(third, 3, 54)
    assert heated[0][3].startswith("off-peak heating: 37.6 °C, up to 50 °C")
    put_off = next(row for row in house.log if row[0] == at(second, 22))
    assert put_off[1] == 0
    assert put_off[3] == "off: no surplus; off-peak heating: 43.5 °C, up to 50 °C, starts 04:43"
    # one run to temp_eco, 44 min before 06:00 (then held there for the morning's draws)
    run_end = next(row for row in house.log if row[0] > heated[0][0] and row[1] == 0)
    assert run_end[0] == at(third, 5, 16)
    assert 50.0 <= house.warmest_c < 51.0


def test_heating_put_off_in_an_afternoon_window_leaves_the_heater_to_the_sun() -> None:
    """An afternoon off-peak window (12:00-16:00), 1.5 kW exported with the heater off:
    the tank below temp_min is put off to 14:53:12 (6 K at 1 K per 240 Wh: 36 min,
    × 1.3, + 20 min before 16:00); meanwhile the heater takes the export, as any regulated
    dimmer, and then the grid gives the rest of its power."""
    tariff = TariffConfig(contract=Contract.HPHC, offpeak=(TimeWindow(time(12), time(16)),))
    regulator = Regulator(SiteConfig(equipment=(HEATER,), regulation=HC, tariff=tariff), PARIS)
    heater = regulator.load("water_heater")
    assert heater is not None
    heater.tank.rate.k_per_wh = 1 / 240  # learnt on an earlier day
    day = date(2026, 5, 12)

    def heater_at(now: datetime) -> tuple[float, str]:
        regulator.set_temperature("0", 44.0, now)
        grid_w = round(400 + heater.power_w - 1900)
        sample = MeterSample(now, max(grid_w, 0), max(-grid_w, 0))
        out = regulator.evaluate(sample, now).outputs[0]
        return out.power_w, out.reason

    for second in range(0, 60, 2):
        power_w, reason = heater_at(at(day, 12, 0, second))
    assert 1400 < power_w < 1600, reason
    assert reason.endswith("; off-peak heating: 44.0 °C, up to 50 °C, starts 14:53")
    assert heater_at(at(day, 14, 53, 14)) == (2400, "off-peak heating: 44.0 °C, up to 50 °C")


def test_the_last_hour_of_the_night_heats_a_tank_below_temp_eco_for_the_morning() -> None:
    """Above temp_min the night does not heat, until its last hour: then a tank below
    temp_eco is heated to it and kept there until the night ends (a tank a tenth of a
    degree above temp_min would be below it at the morning's first draw); one at temp_eco
    is not heated."""
    site = SiteConfig(equipment=(HEATER,), regulation=HC, tariff=TEMPO)
    night = date(2026, 1, 12)

    def heater_at(
        regulator: Regulator, hour: int, minute: int, celsius: float
    ) -> tuple[float, str]:
        now = at(night + timedelta(days=1), hour, minute)
        regulator.set_temperature("0", celsius, now)
        out = regulator.evaluate(MeterSample(now, 400, 0, said(now)), now).outputs[0]
        return out.power_w, out.reason

    regulator = Regulator(site, PARIS)
    heats = "off-peak heating"
    assert heats not in heater_at(regulator, 4, 59, 45.1)[1]  # Tempo's night ends at 06:00
    assert heater_at(regulator, 5, 0, 45.1) == (
        2400,
        "off-peak heating: 45.1 °C, up to 50 °C for the morning's draws",
    )
    assert heater_at(regulator, 5, 20, 49.9)[0] == 2400  # up to temp_eco, once started
    assert heats not in heater_at(regulator, 5, 25, 50.0)[1]
    assert heats in heater_at(regulator, 5, 40, 49.8)[1]  # held at temp_eco until 06:00
    assert heats not in heater_at(regulator, 6, 1, 49.0)[1]
    full = Regulator(site, PARIS)
    assert heats not in heater_at(full, 5, 30, 50.0)[1]


# -- tomorrow's sun -----------------------------------------------------------------------------


def sunny(day: date, peak_w: float, issued: datetime) -> PvForecast:
    """A forecast of ``day`` in 15-minute slots, as Open-Meteo's: a sine from 08:00 to
    18:00 peaking at ``peak_w``, 0 W the rest of the day."""
    slots = []
    for n in range(96):
        start = at(day, 0) + timedelta(minutes=15 * n)
        daylight = n - 32  # slots since 08:00
        power_w = peak_w * math.sin(math.pi * (daylight + 0.5) / 40) if 0 <= daylight < 40 else 0.0
        slots.append(Slot(start=start.astimezone(UTC), duration_s=900, power_w=power_w))
    return PvForecast(issued=issued.astimezone(UTC), slots=tuple(slots))


@pytest.mark.parametrize(
    ("peak_w", "heats", "reason"),
    [
        # 6 kW peak: 38.2 kWh expected, the sun heats the tank: what the top-up would add
        # is mostly heat the sun brings for nothing (the draws take the tank ~15 K)
        (6000.0, False, "off: no surplus; no morning top-up: sun expected 38.2 kWh"),
        # 600 W peak: 3.8 kWh, less than 2 h of the heater: a grey day keeps the heat
        (600.0, True, "off-peak heating: 46.0 °C, up to 50 °C for the morning's draws"),
    ],
)
def test_the_morning_top_up_is_left_to_the_sun_a_forecast_expects(
    peak_w: float, heats: bool, reason: str
) -> None:
    """The last hour of the night tops up a tank above temp_min only when the sun is not
    expected to heat it; the status says which."""
    site = SiteConfig(equipment=(HEATER,), regulation=HC, tariff=TEMPO)
    regulator = Regulator(site, PARIS)
    morning = date(2026, 4, 15)
    regulator.set_forecast(sunny(morning, peak_w, at(morning, 1)), 24 * 3600.0)
    now = at(morning, 5, 10)  # Tempo's night ends at 06:00
    regulator.set_temperature("0", 46.0, now)
    out = regulator.evaluate(MeterSample(now, 400, 0, said(now)), now).outputs[0]
    assert (out.power_w > 0, out.reason) == (heats, reason)


@pytest.mark.parametrize(
    ("peak_w", "first_heat"),
    [
        # 6 kW peak: 38.2 kWh expected, 0.4 of it is 57 K at 1.5 K per 400 Wh, more than
        # the 10 K from temp_eco to temp_max: the sun fills the tank, heated at once
        (6000.0, (21, 22, 0)),
        # 600 W peak: 3.8 kWh, 5.7 K: the tank keeps the night's heat, put off
        (600.0, (22, 3, 53)),
    ],
)
def test_a_night_followed_by_sun_that_fills_the_tank_is_not_put_off(
    peak_w: float, first_heat: tuple[int, int, int]
) -> None:
    """When the forecast expects the coming day's sun to fill the tank, the night's heat
    only has to carry the morning's draws: what the tank loses of it overnight is heat
    the sun brings back for nothing, and bought late it would be more. So that night
    heats at once, as before its rate was known; a night followed by less sun is put off
    (as in the test above: 03:53)."""
    house = Night(celsius=44.0)
    heater = house.regulator.load("water_heater")
    assert heater is not None
    heater.tank.rate.k_per_wh = 1.5 / 400  # learnt on an earlier night
    day, hour, minute = first_heat
    house.regulator.set_forecast(
        sunny(date(2026, 4, 22), peak_w, at(date(2026, 4, 21), 18)), 24 * 3600.0
    )
    house.run(at(date(2026, 4, 21), 21, 30), at(date(2026, 4, 22), 6))
    heated = [row for row in house.log if row[1] > 0]
    assert heated[0][0] == at(date(2026, 4, day), hour, minute)


def test_within_a_night_a_new_forecast_counts_at_once_and_a_stale_one_stops_counting() -> None:
    """The coming day's sun is worked out once per night (it does not move within it), but
    a forecast that replaces it, or that grows too old, is seen the next minute."""
    site = SiteConfig(equipment=(HEATER,), regulation=HC, tariff=TEMPO)
    regulator = Regulator(site, PARIS)
    morning = date(2026, 4, 15)
    regulator.set_temperature("0", 46.0, at(morning, 5, 10))

    def reason(now: datetime) -> str:
        return regulator.evaluate(MeterSample(now, 400, 0, said(now)), now).outputs[0].reason

    regulator.set_forecast(sunny(morning, 6000.0, at(morning, 1)), 24 * 3600.0)
    assert reason(at(morning, 5, 10)).endswith("no morning top-up: sun expected 38.2 kWh")
    regulator.set_forecast(sunny(morning, 6000.0, at(morning, 1)), 24 * 3600.0)  # equal
    assert reason(at(morning, 5, 11)).endswith("no morning top-up: sun expected 38.2 kWh")
    regulator.set_forecast(sunny(morning, 4000.0, at(morning, 1)), 24 * 3600.0)
    assert reason(at(morning, 5, 12)).endswith("no morning top-up: sun expected 25.5 kWh")
    # issued 03:00, relied on for 2 h 13: stale from 05:13 on, the night tops up
    regulator.set_forecast(sunny(morning, 6000.0, at(morning, 3)), 2 * 3600.0 + 13 * 60.0)
    assert reason(at(morning, 5, 12, 30)).endswith("sun expected 38.2 kWh")
    assert reason(at(morning, 5, 13, 30)).startswith("off-peak heating: 46.0 °C, up to 50 °C")


def test_a_sunny_forecast_still_heats_a_tank_below_temp_min_in_the_last_hour() -> None:
    """The sun spares the top-up, not the comfort: below temp_min the night heats."""
    site = SiteConfig(equipment=(HEATER,), regulation=HC, tariff=TEMPO)
    regulator = Regulator(site, PARIS)
    morning = date(2026, 4, 15)
    regulator.set_forecast(sunny(morning, 6000.0, at(morning, 1)), 24 * 3600.0)
    now = at(morning, 5, 10)
    regulator.set_temperature("0", 44.9, now)
    out = regulator.evaluate(MeterSample(now, 400, 0, said(now)), now).outputs[0]
    assert (out.power_w, out.reason) == (2400, "off-peak heating: 44.9 °C, up to 50 °C")


@pytest.mark.parametrize(
    ("peak_w", "age_h", "mornings", "warmest_c", "reason"),
    [
        # 6 kW peak: ~38 kWh expected, the sun heats the tank: keep for the morning what
        # the last mornings took (2 K at most) and 1 K
        (6000.0, 2, [1.0, 2.0], (48.0, 49.0), "up to 48 °C, sun expected: 38.2 kWh"),
        # no morning watched yet: what the morning takes is not known
        (6000.0, 2, [], (50.0, 51.0), "up to 50 °C"),
        # mornings that took 5 K: nothing to leave to the sun
        (6000.0, 2, [5.0], (50.0, 51.0), "up to 50 °C"),
        # 600 W peak: 3.8 kWh, less than 2 h of the heater: as without a forecast
        (600.0, 2, [2.0], (50.0, 51.0), "up to 50 °C"),
        # a sunny forecast 30 h old is stale (FORECAST_MAX_AGE_H 24): unknown, not sun
        (6000.0, 30, [2.0], (50.0, 51.0), "up to 50 °C"),
    ],
)
def test_the_off_peak_top_up_leaves_room_for_the_sun_a_forecast_expects(
    peak_w: float, age_h: float, mornings: list[float], warmest_c: tuple[float, float], reason: str
) -> None:
    night = date(2026, 4, 14)
    house = Night(celsius=44.0)
    heater = house.regulator.load("water_heater")
    assert heater is not None
    heater.tank.morning.drops_k = mornings
    issued = at(night, 21) - timedelta(hours=age_h)
    house.regulator.set_forecast(sunny(night + timedelta(days=1), peak_w, issued), 24 * 3600.0)
    house.run(at(night, 21, 30), at(night + timedelta(days=1), 6))
    heated = [row for row in house.log if row[1] > 0]
    assert heated[0][3] == f"off-peak heating: 43.5 °C, {reason}"
    low, high = warmest_c
    assert low <= house.warmest_c < high


def test_each_morning_the_tank_s_fall_until_the_sun_is_learnt() -> None:
    """From the end of the off-peak night to the tank's lowest before it warms again by
    1 K: the fall the morning's draws took, the last seven kept."""
    regulator = Regulator(SiteConfig(equipment=(HEATER,), regulation=HC, tariff=TEMPO), PARIS)
    heater = regulator.load("water_heater")
    assert heater is not None
    day = date(2026, 4, 15)
    readings = [(5, 50.0), (6, 50.0), (7, 46.0), (8, 45.5), (9, 46.0), (10, 46.8), (11, 52.0)]
    # 05:00 off-peak; 06:00 the night ends at 50 °C; the draws take it to 45.5 °C
    for hour, celsius in readings:
        now = at(day, hour)
        regulator.set_temperature("0", celsius, now)
        regulator.evaluate(MeterSample(now, 400, 0, said(now)), now)
        if hour == 9:
            assert heater.tank.morning.drops_k == []  # 0.5 K warmer: still the morning
    assert heater.tank.morning.drops_k == [4.5]  # 1.3 K warmer at 10:00: the sun


def test_before_a_sunny_red_day_the_night_leaves_the_sun_its_share() -> None:
    """A forecast of 25.5 kWh for the red day (a 4 kW peak). A shortfall in its peak
    hours would cost 4.75 times the night (0.7295 against 0.1536 €/kWh), so the sun
    counts for that much less: the tank is heated only to temp_eco (25.5 kWh ≥ 2 h of the
    heater × 4.75 = 22.8 kWh). The pump's run counts on a quarter of the forecast's
    1 / 4.75 quantile (× 0.725 with SUN_SIGMA 0.4): 4.6 kWh, more than its 4 h × 750 W,
    so the night buys none of it."""
    house = Night(celsius=47.0)
    issued = at(WHITE_DAY, 18)
    house.regulator.set_forecast(sunny(RED_DAY, 4000.0, issued), 24 * 3600.0)
    house.run(at(WHITE_DAY, 21, 30), at(RED_DAY, 6))
    heated = [row for row in house.log if row[1] > 0]
    assert heated[0][3] == (
        "heating off-peak: red day from 06:00, 46.5 °C, up to 50 °C, sun expected: 25.5 kWh"
    )
    assert 50.0 <= house.warmest_c < 51.0
    assert not any(row[2] > 0 for row in house.log)


def test_before_a_red_day_a_forecast_of_little_sun_leaves_its_room_and_buys_most_of_the_run() -> (
    None
):
    """6.4 kWh forecast (a 1 kW peak): not enough to stop at temp_eco, but the tank counts
    on 6.4 kWh × 0.4 × 0.725 = 1.85 kWh of it: once the night's first 10 min showed how
    fast the heater warms it (0.075 K per 20 Wh), it stops 6.9 K short of temp_max. The
    pump counts on 6.4 kWh × 0.25 × 0.725 = 1.16 kWh (1 h 33 of its 4 h): the night buys
    2 h 28, as late as still ends it by 06:00."""
    house = Night(celsius=47.0)
    house.regulator.set_forecast(sunny(RED_DAY, 1000.0, at(WHITE_DAY, 18)), 24 * 3600.0)
    house.run(at(WHITE_DAY, 21, 30), at(RED_DAY, 6))
    heated = [row for row in house.log if row[1] > 0]
    # before the rate is learnt, temp_max
    assert heated[0][3] == "heating off-peak: red day from 06:00, 46.5 °C, up to 60 °C"
    assert heated[-1][3].endswith("up to 53.2 °C, room for 1.8 kWh of sun")
    assert 53.1 <= house.warmest_c < 53.5
    runs = [row for row in house.log if row[2] > 0]
    assert runs[0][4] == "run time: 2 h 28 to buy, off-peak: red day from 06:00"
    assert 2.4 * 3600 <= len(runs) * 30 <= 2.55 * 3600
    assert runs[-1][0] < at(RED_DAY, 6)


def test_before_a_red_day_a_night_buy_shorter_than_min_on_still_ends_by_06_00() -> None:
    """15.9 kWh forecast (a 2.5 kW peak): the pump counts on 15.9 kWh × 0.25 × 0.725 =
    2.9 kWh, all but 9 min of its 4 h. Once started it runs its 30 min min_on: the night
    starts it 30 min before 06:00, not 10, else 20 min of it are bought at the red price."""
    house = Night(celsius=55.0)
    house.regulator.set_forecast(sunny(RED_DAY, 2500.0, at(WHITE_DAY, 18)), 24 * 3600.0)
    house.run(at(WHITE_DAY, 21, 30), at(RED_DAY, 7))
    runs = [row for row in house.log if row[2] > 0]
    assert runs[0][4] == "run time: 9 min to buy, off-peak: red day from 06:00"
    assert at(RED_DAY, 5, 25) <= runs[0][0] < at(RED_DAY, 5, 30)
    assert runs[-1][0] < at(RED_DAY, 6)  # min_on ends in the window


def test_before_a_red_day_the_room_left_for_the_sun_never_goes_below_temp_eco() -> None:
    """12.7 kWh forecast (a 2 kW peak): 3.7 kWh counted, 13.9 K of room, more than the
    10 K from temp_eco to temp_max: the tank is heated to temp_eco."""
    house = Night(celsius=47.0)
    house.regulator.set_forecast(sunny(RED_DAY, 2000.0, at(WHITE_DAY, 18)), 24 * 3600.0)
    house.run(at(WHITE_DAY, 21, 30), at(RED_DAY, 6))
    heated = [row for row in house.log if row[1] > 0]
    assert heated[-1][3].endswith("up to 50 °C, room for 3.7 kWh of sun")
    assert 50.0 <= house.warmest_c < 50.2


def test_the_rise_per_wh_is_learnt_from_a_run_of_grid_heating_only() -> None:
    """10 min of a 2.4 kW heater (400 Wh) that took the tank 40 → 42 °C: 5 mK per Wh;
    a reading after a gap of more than 2 min starts a new run (the tank cooled or was
    drawn meanwhile), which teaches its own rate once it too lasted 10 min."""
    tank = TankState()
    start = at(WHITE_DAY, 22)
    for minute in range(10):  # a reading a minute
        learn_heat_rate(tank, 40.0 + 0.2 * minute, start + timedelta(minutes=minute), 2400.0)
    assert tank.rate.k_per_wh is None  # 9 min: too short
    learn_heat_rate(tank, 42.0, start + timedelta(minutes=10), 2400.0)
    assert tank.rate.k_per_wh == pytest.approx(2.0 / 400.0)
    later = start + timedelta(hours=3)  # a new run: from 35 °C, half as fast
    for minute in range(10):
        learn_heat_rate(tank, 35.0 + 0.1 * minute, later + timedelta(minutes=minute), 2400.0)
    assert tank.rate.k_per_wh == pytest.approx(2.0 / 400.0)  # still the last full run's
    learn_heat_rate(tank, 36.0, later + timedelta(minutes=10), 2400.0)
    assert tank.rate.k_per_wh == pytest.approx(1.0 / 400.0)


@pytest.mark.parametrize(
    "ratio", [1.077, 1.35, 2.0, 4.75, 10.0], ids=["white/blue", "HP/HC", "2x", "red", "10x"]
)
def test_a_night_counts_on_the_quantile_of_the_sun_where_a_shortfall_pays_off(
    ratio: float,
) -> None:
    """Buying x at night (price 1) against the later price ``ratio`` for what the sun
    leaves short is cheapest when the sun falls short with probability 1 / ratio: the
    share of the forecast counted is that quantile of a log-normal error of SUN_SIGMA."""
    counted = sun_quantile(ratio)
    z = math.log(counted) / SUN_SIGMA
    assert NormalDist().cdf(z) == pytest.approx(1 / ratio, abs=1e-9)
    assert (counted < 1.0) is (ratio > 2.0)


@pytest.mark.parametrize(
    ("peak_w", "bought_h"),
    [
        # 3.0 kWh: the night's 1 / 1.077 quantile is 1.80 × the forecast; a quarter of
        # that covers 1 h 48 of the 4 h, the night buys 2 h 12
        (470.0, (2.15, 2.3)),
        (6000.0, (0.0, 0.0)),  # 38 kWh: the sun will run it
        (None, (0.0, 0.0)),  # no forecast: the day's sun comes first
    ],
)
def test_an_ordinary_night_buys_the_run_a_forecast_of_little_sun_leaves_short(
    peak_w: float | None, bought_h: tuple[float, float]
) -> None:
    """Off-peak at 0.1536 €/kWh (a white night), then a blue day's peak hours at 0.1654
    (1.077×): with a forecast the pump buys at night what the counted sun will not give
    it; without one, or with plenty of sun, it waits for the day."""
    night = date(2026, 1, 12)
    house = Night(celsius=55.0)
    if peak_w is not None:
        forecast = sunny(night + timedelta(days=1), peak_w, at(night, 18))
        house.regulator.set_forecast(forecast, 24 * 3600.0)
    house.run(at(night, 21, 30), at(night + timedelta(days=1), 6))
    runs = [row for row in house.log if row[2] > 0]
    low, high = bought_h
    assert low * 3600 <= len(runs) * 30 <= high * 3600
    if runs:
        assert runs[0][4].startswith("run time: 2 h 12 ")
        assert runs[0][4].endswith("to buy, off-peak: 3.0 kWh of sun expected")
        assert runs[-1][0] < at(night + timedelta(days=1), 6)


def test_on_a_base_contract_the_night_does_not_top_up_a_tank_above_temp_min() -> None:
    """Every hour costs the same: heat bought in the window's last hour costs what the
    morning's shortfall it spares would, and a warmer tank loses more. Below temp_min the
    night heats, as on every contract."""
    site = SiteConfig(equipment=(HEATER,), regulation=HC)  # base: window 02:05-06:50
    regulator = Regulator(site, PARIS)
    morning = date(2026, 1, 13)

    def heater_at(hour: int, minute: int, celsius: float) -> tuple[float, str]:
        now = at(morning, hour, minute)
        regulator.set_temperature("0", celsius, now)
        out = regulator.evaluate(MeterSample(now, 400, 0), now).outputs[0]
        return out.power_w, out.reason

    assert heater_at(6, 0, 45.1) == (0.0, "off: no surplus")
    assert heater_at(6, 10, 44.9) == (2400, "off-peak heating: 44.9 °C, up to 50 °C")
