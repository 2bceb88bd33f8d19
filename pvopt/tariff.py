"""Prices and tariff periods (pure): which period and which price apply at an instant.

The yardstick of "what the household pays": a :class:`Tariff` is built from the
``tariff:`` section (:class:`~pvopt.equipment.model.TariffConfig`) and the site's time
zone, with optional colour calendars; it answers with a :class:`TariffState` (period,
Tempo colour, off-peak flag, import and export prices). Time is always an argument (an
aware datetime); nothing here reads a clock or a file.

What decides, in order:

1. the meter, when it says so (a :class:`~pvopt.tic.tariff.MeterTariff` decoded from
   PTEC / LTARF / STGE / DEMAIN): the period label in force is what the supplier bills;
2. the configured off-peak windows and the colour calendars (Tempo, EJP);
3. an assumption, reported as such (:attr:`Source.ASSUMED`): a Tempo day of unknown
   colour is blue (300 of the 365 days), a day not known to be an EJP day is normal.

Rules of the regulated options (arrêté du 30 octobre 2014, art. 3, "Tarif Bleu"):

- Tempo: 16 peak hours and 8 off-peak hours, **22:00 to 06:00 the next morning**. A Tempo
  day runs from 06:00 to 06:00 the next day, so the off-peak night belongs to the colour
  of the day that started at 06:00 the evening before (EDF: "if Friday is red and
  Saturday white, Saturday 00:00–06:00 is red, off-peak, then white from 06:00";
  jbromain/rte-tempo #7, hekmon/rtetempo #17). Each Tempo year (1 September → 31 August)
  has 22 red days, on weekdays from 1 November to 31 March, 43 white days, and 300 or
  301 blue days; Sundays are blue.
- EJP: 22 mobile-peak days from 1 November to 31 March, each with 18 mobile-peak hours,
  **07:00 to 01:00 the next morning**; every other hour is "normal" (HN).
- HP/HC: the 8 off-peak hours are set locally by the network operator: configure them.

Wall-clock rules are applied on the local time of each instant, so they hold across DST
(the 02:00–03:00 hour that does not exist or happens twice is inside the off-peak night).
"""

from __future__ import annotations

import random
import re
import types
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum
from typing import Final
from zoneinfo import ZoneInfo

from pvopt.equipment.model import Contract, TariffConfig, TimeWindow
from pvopt.schema import ConfigFileError, ConfigIssue
from pvopt.tic.tariff import Colour, MeterTariff

__all__ = [
    "DEFAULT_OFFPEAK",
    "EJP_DAYS",
    "EJP_PEAK",
    "TEMPO_DAY_START",
    "TEMPO_RED_DAYS",
    "TEMPO_WHITE_DAYS",
    "Colour",
    "EjpCalendar",
    "MeterTariff",
    "Source",
    "Tariff",
    "TariffState",
    "TempoCalendar",
    "generate_ejp_calendar",
    "generate_tempo_calendar",
    "parse_tempo_calendar",
    "tempo_rule_violations",
    "tempo_season",
]

#: A Tempo day starts at 06:00 local time, when the off-peak night ends.
TEMPO_DAY_START: Final = time(6, 0)
#: The off-peak window of Tempo, and of HP/HC when nothing else is configured.
DEFAULT_OFFPEAK: Final = (TimeWindow(time(22, 0), time(6, 0)),)
#: The mobile-peak hours of an EJP day, to 01:00 the next morning.
EJP_PEAK: Final = TimeWindow(time(7, 0), time(1, 0))
TEMPO_RED_DAYS: Final = 22
TEMPO_WHITE_DAYS: Final = 43
EJP_DAYS: Final = 22
#: Winter months of the red (Tempo) and mobile-peak (EJP) days: 1 November to 31 March.
WINTER_MONTHS: Final = frozenset({11, 12, 1, 2, 3})
SUNDAY: Final = 6
SATURDAY: Final = 5


class Source(Enum):
    """Where the least certain part of a :class:`TariffState` came from."""

    METER = "meter"  # the meter's labels said all that mattered
    SCHEDULE = "schedule"  # the configured windows and the colour calendar
    ASSUMED = "assumed"  # a default: unknown Tempo colour taken as blue, EJP day as normal


_CERTAINTY: Final = {Source.METER: 0, Source.SCHEDULE: 1, Source.ASSUMED: 2}


def _least_certain(first: Source, second: Source) -> Source:
    return first if _CERTAINTY[first] >= _CERTAINTY[second] else second


@dataclass(frozen=True, slots=True)
class TariffState:
    """The tariff in force at an instant.

    ``period`` uses the TIC's names: ``BASE``, ``HC``, ``HP``, ``HCJB`` … ``HPJR`` (Tempo:
    off-peak/peak × blue ``B``, white ``W``, red ``R``), ``HN`` and ``PM`` (EJP normal
    hours and mobile peak). ``colour`` is the Tempo colour (None for other contracts).
    """

    period: str
    colour: Colour | None
    offpeak: bool
    import_price_eur_kwh: float
    export_price_eur_kwh: float
    source: Source


@dataclass(frozen=True, slots=True)
class _Rate:
    """One period of the contract and its import price (built once per tariff)."""

    period: str
    colour: Colour | None
    offpeak: bool
    import_price_eur_kwh: float


@dataclass(frozen=True, slots=True)
class _Span:
    """A :class:`TimeWindow` as seconds of the day, for the per-slot loop."""

    start_s: int
    end_s: int

    @classmethod
    def of(cls, window: TimeWindow) -> _Span:
        def seconds(clock: time) -> int:
            return clock.hour * 3600 + clock.minute * 60 + clock.second

        return cls(seconds(window.start), seconds(window.end))

    def contains(self, second_of_day: float) -> bool:
        if self.start_s < self.end_s:
            return self.start_s <= second_of_day < self.end_s
        return second_of_day >= self.start_s or second_of_day < self.end_s


@dataclass(frozen=True, slots=True)
class _Resolved:
    rate: _Rate
    source: Source


_NO_METER: Final = MeterTariff()
_TEMPO_DAY_START_S: Final = TEMPO_DAY_START.hour * 3600
_EJP_PEAK: Final = _Span.of(EJP_PEAK)


def _rates(config: TariffConfig) -> dict[str, _Rate]:
    """Period name → rate, for the periods of the configured contract."""
    contract = config.contract
    if contract is Contract.BASE:
        return {"BASE": _Rate("BASE", None, False, config.base_price_eur_kwh)}
    if contract is Contract.HPHC:
        return {
            "HP": _Rate("HP", None, False, config.hphc_hp_price_eur_kwh),
            "HC": _Rate("HC", None, True, config.hphc_hc_price_eur_kwh),
        }
    if contract is Contract.TEMPO:
        prices = {
            (Colour.BLUE, False): config.tempo_blue_hp_price_eur_kwh,
            (Colour.BLUE, True): config.tempo_blue_hc_price_eur_kwh,
            (Colour.WHITE, False): config.tempo_white_hp_price_eur_kwh,
            (Colour.WHITE, True): config.tempo_white_hc_price_eur_kwh,
            (Colour.RED, False): config.tempo_red_hp_price_eur_kwh,
            (Colour.RED, True): config.tempo_red_hc_price_eur_kwh,
        }
        rates = [
            _Rate(_tempo_period(colour, offpeak), colour, offpeak, price)
            for (colour, offpeak), price in prices.items()
        ]
        return {rate.period: rate for rate in rates}
    if config.ejp_normal_price_eur_kwh is None or config.ejp_pm_price_eur_kwh is None:
        raise ValueError("contract ejp needs ejp_normal_price_eur_kwh and ejp_pm_price_eur_kwh")
    return {
        "HN": _Rate("HN", None, False, config.ejp_normal_price_eur_kwh),
        "PM": _Rate("PM", None, False, config.ejp_pm_price_eur_kwh),
    }


def _tempo_period(colour: Colour, offpeak: bool) -> str:
    return f"{'HC' if offpeak else 'HP'}J{colour.letter}"


def _second_of_day(local: datetime) -> float:
    return local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6


def _tempo_day_of(local: datetime) -> date:
    """The Tempo day holding a local time: before 06:00 it is the previous date's."""
    if local.hour * 3600 + local.minute * 60 + local.second < _TEMPO_DAY_START_S:
        return local.date() - timedelta(days=1)
    return local.date()


def _aware(instant: datetime, name: str = "instant") -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got {instant!r}")
    return instant


# -- calendars -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TempoCalendar:
    """Tempo colours by Tempo day: the colour of ``day`` holds from 06:00 on ``day`` to
    06:00 the next day. A day it does not hold has an unknown colour."""

    colours: Mapping[date, Colour] = field(default_factory=dict)

    def __post_init__(self) -> None:  # a read-only copy: no one changes it under a Tariff
        object.__setattr__(self, "colours", types.MappingProxyType(dict(self.colours)))

    def colour(self, day: date) -> Colour | None:
        """The colour of the Tempo day starting at 06:00 on ``day``, if known."""
        return self.colours.get(day)

    def with_colours(self, colours: Mapping[date, Colour]) -> TempoCalendar:
        """A calendar with these colours added (they win over the ones held)."""
        return TempoCalendar({**self.colours, **colours})

    def days(self, colour: Colour) -> list[date]:
        """The days of one colour, in order."""
        return sorted(day for day, held in self.colours.items() if held is colour)

    def to_csv(self) -> str:
        """The calendar in the file format :func:`parse_tempo_calendar` reads."""
        lines = ["date,colour"]
        lines += [f"{day.isoformat()},{self.colours[day].value}" for day in sorted(self.colours)]
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class EjpCalendar:
    """The EJP days (mobile peak from 07:00 on the day to 01:00 the next morning)."""

    days: frozenset[date] = frozenset()

    def is_peak_day(self, day: date) -> bool:
        return day in self.days


_CSV_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
_CSV_HEADERS: Final = frozenset({"date,colour", "date,color"})
_CSV_LINE: Final = "YYYY-MM-DD,BLUE|WHITE|RED"


def parse_tempo_calendar(text: str, source: str = "<string>") -> TempoCalendar:
    """A :class:`TempoCalendar` from CSV text: a header ``date,colour``, then one
    ``YYYY-MM-DD,BLUE|WHITE|RED`` line per day (colour in any case; blank lines and lines
    starting with ``#`` are skipped). Every bad line is reported, with its number, in one
    :class:`~pvopt.schema.ConfigFileError` (``source`` names the file)."""
    issues: list[ConfigIssue] = []
    colours: dict[date, Colour] = {}
    first_line: dict[date, int] = {}
    header_seen = False
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if not header_seen:
            header_seen = True
            if stripped.replace(" ", "").lower() not in _CSV_HEADERS:
                issues.append(
                    ConfigIssue(number, "", f"expected the header 'date,colour', got {line!r}")
                )
            continue
        parts = [part.strip() for part in stripped.split(",")]
        day: date | None = None
        if len(parts) == 2 and _CSV_DATE.fullmatch(parts[0]):
            try:
                day = date.fromisoformat(parts[0])
            except ValueError:
                day = None
        colour = Colour.__members__.get(parts[-1].upper()) if len(parts) == 2 else None
        if day is None or colour is None:
            issues.append(ConfigIssue(number, "", f"expected {_CSV_LINE}, got {line!r}"))
            continue
        if day in first_line:
            issues.append(
                ConfigIssue(number, "", f"{day} is already given at line {first_line[day]}")
            )
            continue
        first_line[day] = number
        colours[day] = colour
    if not header_seen:
        issues.append(ConfigIssue(None, "", f"no header 'date,colour' and no {_CSV_LINE} line"))
    if issues:
        raise ConfigFileError(source, issues)
    return TempoCalendar(colours)


def tempo_season(day: date) -> int:
    """The year in which the Tempo year holding ``day`` started (1 September)."""
    return day.year if day.month >= 9 else day.year - 1


def _season_days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def tempo_rule_violations(calendar: TempoCalendar, season_year: int) -> list[str]:
    """What breaks the rules of one Tempo year (1 September ``season_year`` to 31 August):
    22 red days on weekdays from 1 November to 31 March, 43 white days, no white Sunday,
    every day coloured. Empty when the year follows them."""
    days = _season_days(date(season_year, 9, 1), date(season_year + 1, 8, 31))
    problems = [f"{day}: no colour" for day in days if calendar.colour(day) is None]
    reds = [day for day in days if calendar.colour(day) is Colour.RED]
    whites = [day for day in days if calendar.colour(day) is Colour.WHITE]
    if len(reds) != TEMPO_RED_DAYS:
        problems.append(f"{len(reds)} red days, expected {TEMPO_RED_DAYS}")
    if len(whites) != TEMPO_WHITE_DAYS:
        problems.append(f"{len(whites)} white days, expected {TEMPO_WHITE_DAYS}")
    problems += [f"{day}: red on a weekend" for day in reds if day.weekday() >= SATURDAY]
    problems += [
        f"{day}: red outside 1 Nov-31 Mar" for day in reds if day.month not in WINTER_MONTHS
    ]
    problems += [f"{day}: white on a Sunday" for day in whites if day.weekday() == SUNDAY]
    return problems


#: Relative chance of a red (or EJP) day by month: the coldest weeks are in Dec–Feb.
_COLD_WEIGHT: Final = {11: 1.0, 12: 3.0, 1: 3.0, 2: 3.0, 3: 1.0}
#: Relative chance of a white day by month (whites come in winter, a few in mid-season).
_WHITE_WEIGHT: Final = {
    9: 0.15, 10: 0.7, 11: 2.0, 12: 3.0, 1: 3.0, 2: 3.0, 3: 2.0, 4: 0.7, 5: 0.15,
    6: 0.03, 7: 0.03, 8: 0.03,
}  # fmt: skip


def _weighted_pick(
    rng: random.Random, candidates: Iterable[date], weight: Callable[[date], float], count: int
) -> set[date]:
    """``count`` days drawn without replacement, each with a chance proportional to its
    weight (Efraimidis–Spirakis keys: one random draw per candidate, in order, so a seed
    gives one result)."""
    keyed = sorted(((rng.random() ** (1.0 / weight(day)), day) for day in candidates), reverse=True)
    if len(keyed) < count:
        raise ValueError(f"{count} days wanted among {len(keyed)} candidates")
    return {day for _, day in keyed[:count]}


def generate_tempo_calendar(season_year: int, seed: int, seasons: int = 1) -> TempoCalendar:
    """A plausible Tempo calendar for ``seasons`` Tempo years from 1 September
    ``season_year``, reproducible from ``seed``: per year 22 red days on weekdays from
    1 November to 31 March, 43 white days never on a Sunday, the rest blue; red and white
    days are three times likelier in December–February than in November or March."""
    colours: dict[date, Colour] = {}
    for year in range(season_year, season_year + seasons):
        rng = random.Random(f"tempo:{year}:{seed}")
        days = _season_days(date(year, 9, 1), date(year + 1, 8, 31))
        reds = _weighted_pick(
            rng,
            (d for d in days if d.month in WINTER_MONTHS and d.weekday() < SATURDAY),
            lambda d: _COLD_WEIGHT[d.month],
            TEMPO_RED_DAYS,
        )
        whites = _weighted_pick(
            rng,
            (d for d in days if d not in reds and d.weekday() != SUNDAY),
            lambda d: _WHITE_WEIGHT[d.month],
            TEMPO_WHITE_DAYS,
        )
        for day in days:
            colours[day] = (
                Colour.RED if day in reds else Colour.WHITE if day in whites else Colour.BLUE
            )
    return TempoCalendar(colours)


def generate_ejp_calendar(season_year: int, seed: int, seasons: int = 1) -> EjpCalendar:
    """Plausible EJP days for ``seasons`` winters from 1 November ``season_year``,
    reproducible from ``seed``: 22 per winter, on weekdays from 1 November to 31 March,
    three times likelier in December–February. (The arrêté does not restrict EJP days to
    weekdays; the generator does, as the project's simulations assume.)"""
    picked: set[date] = set()
    for year in range(season_year, season_year + seasons):
        rng = random.Random(f"ejp:{year}:{seed}")
        days = _season_days(date(year, 11, 1), date(year + 1, 3, 31))
        picked |= _weighted_pick(
            rng,
            (d for d in days if d.weekday() < SATURDAY),
            lambda d: _COLD_WEIGHT[d.month],
            EJP_DAYS,
        )
    return EjpCalendar(frozenset(picked))


# -- the tariff ------------------------------------------------------------------------------


class Tariff:
    """Which period and price apply at an instant, for one contract in one time zone.

    ``tempo_calendar`` and ``ejp_calendar`` give the colours and EJP days when the meter
    does not (a simulation, a historic-mode meter before DEMAIN is announced). Off-peak
    windows are the configured ones, else :data:`DEFAULT_OFFPEAK` (22:00-06:00).
    """

    def __init__(
        self,
        config: TariffConfig,
        tz: ZoneInfo,
        *,
        tempo_calendar: TempoCalendar | None = None,
        ejp_calendar: EjpCalendar | None = None,
    ) -> None:
        self.config = config
        self.tz = tz
        self.tempo_calendar = tempo_calendar
        self.ejp_calendar = ejp_calendar
        windows = config.offpeak if config.offpeak is not None else DEFAULT_OFFPEAK
        self.offpeak_windows: tuple[TimeWindow, ...] = windows
        self._spans = tuple(_Span.of(window) for window in windows)
        #: Seconds of the day where a rate may change (within one local date).
        self._bounds_s = sorted(
            {_TEMPO_DAY_START_S, _EJP_PEAK.start_s, _EJP_PEAK.end_s}
            | {second for span in self._spans for second in (span.start_s, span.end_s)}
        )
        rates = _rates(config)
        #: (period, source) → the prebuilt answer; (colour, off-peak) → Tempo period.
        self._resolved = {
            (period, source): _Resolved(rate, source)
            for period, rate in rates.items()
            for source in Source
        }
        self._tempo_periods = {
            (colour, offpeak): _tempo_period(colour, offpeak)
            for colour in Colour
            for offpeak in (False, True)
        }

    # -- one instant -------------------------------------------------------------------------

    def at(self, instant: datetime, meter: MeterTariff | None = None) -> TariffState:
        """The tariff in force at ``instant`` (aware). ``meter`` is what the meter says at
        that instant; each thing it says (off-peak, today's colour, EJP peak) wins over
        the windows and calendars."""
        local = _aware(instant).astimezone(self.tz)
        resolved = self._resolve(local, meter or _NO_METER)
        rate = resolved.rate
        return TariffState(
            period=rate.period,
            colour=rate.colour,
            offpeak=rate.offpeak,
            import_price_eur_kwh=rate.import_price_eur_kwh,
            export_price_eur_kwh=self.config.export_price_eur_kwh,
            source=resolved.source,
        )

    def tempo_day(self, instant: datetime) -> date:
        """The Tempo day holding ``instant``: its date, the day that began at 06:00."""
        return _tempo_day_of(_aware(instant).astimezone(self.tz))

    def with_meter(self, instant: datetime, meter: MeterTariff) -> Tariff:
        """A tariff whose Tempo calendar also holds the meter's colours of today and
        tomorrow (Tempo days of ``instant``), for prices ahead of ``instant``."""
        today = self.tempo_day(instant)
        known = {
            day: colour
            for day, colour in (
                (today, meter.colour_today),
                (today + timedelta(days=1), meter.colour_tomorrow),
            )
            if colour is not None
        }
        calendar = (self.tempo_calendar or TempoCalendar()).with_colours(known)
        return Tariff(self.config, self.tz, tempo_calendar=calendar, ejp_calendar=self.ejp_calendar)

    # -- many instants -----------------------------------------------------------------------

    def import_prices_eur_kwh(self, start: datetime, slot_s: float, count: int) -> list[float]:
        """The import price at the start of each of ``count`` slots of ``slot_s`` seconds
        from ``start`` (aware), from the windows and calendars (no meter). With slots of a
        minute or a divisor of it, every boundary (HH:MM windows, 06:00, 07:00, 01:00)
        falls on a slot start, so each slot has one price.

        One local-time conversion per slot; the rate is resolved once per local date and
        stretch between two boundaries (it cannot change within one), so a day of
        1-minute slots costs about 1,440 conversions and a dozen resolutions."""
        if not slot_s > 0:
            raise ValueError(f"slot_s must be positive, got {slot_s}")
        if count < 0:
            raise ValueError(f"count must not be negative, got {count}")
        first = _aware(start, "start").timestamp()
        tz, bounds, fromtimestamp = self.tz, self._bounds_s, datetime.fromtimestamp
        known: dict[tuple[date, int], float] = {}
        prices: list[float] = []
        for i in range(count):
            local = fromtimestamp(first + i * slot_s, tz)
            stretch = (local.date(), bisect_right(bounds, _second_of_day(local)))
            price = known.get(stretch)
            if price is None:
                price = self._resolve(local, _NO_METER).rate.import_price_eur_kwh
                known[stretch] = price
            prices.append(price)
        return prices

    def dearest_import_price_eur_kwh(self, day: date) -> float:
        """The highest import price in force during the local day ``day`` (midnight to
        midnight: 23 or 25 hours at DST changes). For Tempo, 00:00–06:00 is still the
        previous Tempo day's off-peak night."""
        start = datetime.combine(day, time(0), self.tz).astimezone(UTC)
        end = datetime.combine(day + timedelta(days=1), time(0), self.tz).astimezone(UTC)
        minutes = int((end - start).total_seconds()) // 60
        return max(self.import_prices_eur_kwh(start, 60.0, minutes))

    # -- inside ------------------------------------------------------------------------------

    def _offpeak_by_clock(self, second_of_day: float) -> bool:
        return any(span.contains(second_of_day) for span in self._spans)

    def _resolve(self, local: datetime, meter: MeterTariff) -> _Resolved:
        """The rate at a local time and where it came from (called once per slot: the
        answers are prebuilt records, looked up)."""
        contract = self.config.contract
        if contract is Contract.BASE:
            return self._resolved["BASE", Source.SCHEDULE]
        second = _second_of_day(local)
        if contract is Contract.EJP:
            return self._ejp(local, second, meter)
        source = Source.METER
        offpeak = meter.offpeak
        if offpeak is None:
            offpeak, source = self._offpeak_by_clock(second), Source.SCHEDULE
        if contract is Contract.HPHC:
            return self._resolved["HC" if offpeak else "HP", source]
        colour = meter.colour_today
        if colour is None:
            calendar = self.tempo_calendar
            if calendar is not None:
                day = local.date()
                colour = calendar.colour(
                    day if second >= _TEMPO_DAY_START_S else day - timedelta(days=1)
                )
            if colour is None:
                colour, source = Colour.BLUE, Source.ASSUMED
            else:
                source = _least_certain(source, Source.SCHEDULE)
        return self._resolved[self._tempo_periods[colour, offpeak], source]

    def _ejp(self, local: datetime, second: float, meter: MeterTariff) -> _Resolved:
        if meter.ejp_peak is not None:
            return self._resolved["PM" if meter.ejp_peak else "HN", Source.METER]
        if not _EJP_PEAK.contains(second):
            return self._resolved["HN", Source.SCHEDULE]
        if self.ejp_calendar is None:
            return self._resolved["HN", Source.ASSUMED]
        # 00:00–01:00 is the end of the previous day's mobile peak.
        day = local.date() if second >= _EJP_PEAK.start_s else local.date() - timedelta(days=1)
        peak = self.ejp_calendar.is_peak_day(day)
        return self._resolved["PM" if peak else "HN", Source.SCHEDULE]

    def __repr__(self) -> str:
        return f"Tariff({self.config.contract.value}, {self.tz.key})"
