"""What electricity costs now and in the next peak hours, as the regulation sees it.

Built on :class:`pvopt.tariff.Tariff` (the ``tariff:`` section) and updated by what the
meter says (:class:`~pvopt.tic.tariff.MeterTariff`: off-peak or not, today's and
tomorrow's Tempo colours). Pure: time is an argument.

- **Off-peak** (grid heating, completions): the meter's word where it gives one; else the
  contract's schedule (Tempo 22:00–06:00, HP/HC the configured hours); on a ``base``
  contract, where every hour costs the same, the regulation's own window
  (``offpeak_start``–``offpeak_end``), as in the original system (a base meter's
  "TH.." is not taken as "never off-peak"); on ``ejp``, which has no off-peak hours,
  that window too, never in a mobile peak (the meter's PM, or a day announced as EJP).
- **A dear day ahead**: in an off-peak window, is the import price of the peak hours that
  follow it at least :data:`DEAR_RATIO` times the price now? On Tempo, the night before
  a red day (0.73 €/kWh against 0.16): what the house needs in those hours is better
  bought now. The colour of the coming day is the meter's (STGE, DEMAIN: known from late
  morning the day before); not known, no day is taken as dear. On EJP, the mobile peak
  (07:00) after a window is dear when its day was announced as EJP
  (:meth:`Prices.know_ejp`, the optional ``regulation/ejp`` input); not announced, not.
- **A cheaper night ahead**: in peak hours, how much cheaper is the next off-peak window
  than now (:attr:`PriceView.night_ratio`)? A run bought in peak hours costs that much
  more than the heat a water heater would otherwise take from the grid at night.

Answers are remembered for the minute (the tariff changes on whole local minutes) and
the meter's labels (which change a few times a day).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from types import MappingProxyType
from typing import Final
from zoneinfo import ZoneInfo

from pvopt.ejp import EjpDay
from pvopt.equipment.model import Contract, TariffConfig
from pvopt.regulation.calendar import Calendar
from pvopt.tariff import EjpCalendar, Tariff
from pvopt.tic.tariff import Colour, MeterTariff

#: The next peak hours are "dear" from this many times the price now: a red Tempo day
#: (4.5× its night), an EJP mobile peak; not HP against HC (1.35×) nor a white day.
DEAR_RATIO: Final = 2.0
#: When an EJP mobile peak starts (local), and how soon after an off-peak window's end it
#: must start to be the peak hours that follow that window.
EJP_PEAK_START: Final = time(7, 0)
EJP_PEAK_WITHIN: Final = timedelta(hours=6)
#: Announced EJP days before yesterday are forgotten (yesterday's peak runs to 01:00).
EJP_KEEP: Final = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class PriceView:
    """The tariff at one instant, for the rules."""

    offpeak: bool
    import_price_eur_kwh: float
    #: When the off-peak window in progress ends by the schedule (UTC; None: not in one).
    offpeak_until: datetime | None = None
    #: In an off-peak window: the price of the peak hours after it over the price now.
    peak_ratio: float = 1.0
    #: Why those peak hours are dear ("red day from 06:00"), "" when they are not.
    dear_why: str = ""
    #: In peak hours: the price now over the price of the next off-peak window (1.0 on a
    #: base contract, where no hour is cheaper).
    night_ratio: float = 1.0
    #: In peak hours: when the next off-peak window starts by the schedule (UTC).
    next_offpeak: datetime | None = None

    @property
    def dear_from(self) -> datetime | None:
        """In an off-peak window followed by dear peak hours (:data:`DEAR_RATIO`): when
        the window ends (UTC), else None."""
        return self.offpeak_until if self.peak_ratio >= DEAR_RATIO else None


@dataclass(frozen=True, slots=True)
class _Known:
    """A view, valid for one minute and one set of meter labels."""

    start: datetime
    end: datetime
    meter: MeterTariff | None
    view: PriceView


class Prices:
    """The regulation's view of the tariff (see the module docstring)."""

    def __init__(self, config: TariffConfig, calendar: Calendar, tz: ZoneInfo) -> None:
        self.config = config
        self.calendar = calendar
        self.tz = tz
        self.tariff = Tariff(config, tz)
        self._known: _Known | None = None
        self._with_meter: tuple[object, Tariff] | None = None
        #: The announced EJP days (local date → mobile peak or not), and the tariff
        #: whose EJP calendar holds the announced peak days.
        self._ejp_days: dict[date, bool] = {}
        self._ejp_tariff = self.tariff

    @property
    def ejp_days(self) -> Mapping[date, bool]:
        """The announced EJP days kept (read-only)."""
        return MappingProxyType(self._ejp_days)

    def know_ejp(self, announced: EjpDay, now: datetime) -> None:
        """An announced day (``regulation/ejp``): kept, with the others, until
        yesterday (:data:`EJP_KEEP`); the view of the minute is asked again."""
        days = self._ejp_days
        days[announced.day] = announced.ejp
        oldest = now.astimezone(self.tz).date() - EJP_KEEP
        for day in [day for day in days if day < oldest]:
            del days[day]
        peaks = EjpCalendar(frozenset(day for day, ejp in days.items() if ejp))
        self._ejp_tariff = Tariff(self.config, self.tz, ejp_calendar=peaks) if days else self.tariff
        self._known = None

    def view(self, now: datetime, meter: MeterTariff | None) -> PriceView:
        """The tariff at ``now`` with what the meter says."""
        known = self._known
        if (
            known is not None
            and known.start <= now < known.end
            and (known.meter is meter or known.meter == meter)
        ):
            return known.view
        minute = self.calendar.minute(now)
        view = self._view(minute.start, meter)
        self._known = _Known(start=minute.start, end=minute.end, meter=meter, view=view)
        return view

    def _view(self, now: datetime, meter: MeterTariff | None) -> PriceView:
        config = self.config
        said = meter if meter is not None else MeterTariff()
        if config.contract is Contract.BASE:
            state = self.tariff.at(now)
            # A meter with HP/HC labels knows better than a section left at its default;
            # a base meter's "not off-peak" means no off-peak at all: the window.
            meter_says = None if said.period == "BASE" else said.offpeak
            offpeak = self.calendar.offpeak(now, meter_says)
            return PriceView(
                offpeak=offpeak,
                import_price_eur_kwh=state.import_price_eur_kwh,
                offpeak_until=self.calendar.window_end(now) if offpeak else None,
            )
        if config.contract is Contract.EJP:
            return self._ejp_view(now, said)
        tariff = self._tariff(now, said)
        state = tariff.at(now, said)
        if not state.offpeak:
            price = state.import_price_eur_kwh
            starts = self._next_offpeak(now, tariff)
            night = tariff.at(starts).import_price_eur_kwh if starts is not None else price
            return PriceView(
                offpeak=False,
                import_price_eur_kwh=price,
                night_ratio=price / night if night > 0 else 1.0,
                next_offpeak=starts,
            )
        ends = self._offpeak_end(now, tariff)
        why, peak_ratio = "", 1.0
        if ends is not None:
            # The meter speaks of now, not of the peak hours: the schedule and the
            # colours it announced price them.
            later = tariff.at(ends)
            peak_ratio = later.import_price_eur_kwh / state.import_price_eur_kwh
            if later.import_price_eur_kwh >= DEAR_RATIO * state.import_price_eur_kwh:
                why = _why(later.colour, ends.astimezone(self.tz))
        return PriceView(
            offpeak=True,
            import_price_eur_kwh=state.import_price_eur_kwh,
            offpeak_until=ends,
            peak_ratio=peak_ratio,
            dear_why=why,
        )

    def _ejp_view(self, now: datetime, said: MeterTariff) -> PriceView:
        """EJP has no off-peak hours, only normal ones (HN) and, on 22 winter days, the
        mobile peak (PM, 07:00–01:00). So, as on a base contract, the regulation's own
        window is its off-peak (the original's heating hours: the meter's "HN, not
        off-peak" is not "never off-peak", which left tanks unheated on grey days), but
        never in a mobile peak (the meter's PM, or an announced EJP day's 07:00–01:00).
        The meter tells a mobile peak only once it has begun (historic mode's PEJP,
        30 min before), so the peak hours after a window are dear only when their day was
        announced (:meth:`know_ejp`): then what the house needs in them is bought in the
        window, as the night before a red Tempo day."""
        tariff = self._ejp_tariff
        state = tariff.at(now, said)
        offpeak = state.period != "PM" and self.calendar.offpeak(now, None)
        ends = self.calendar.window_end(now) if offpeak else None
        why, peak_ratio = "", 1.0
        if ends is not None:
            peak = self._ejp_peak_after(now, ends)
            if peak is not None:
                # PM only on a day announced as EJP (the tariff's calendar holds them)
                at_peak = tariff.at(peak)
                if peak < ends and at_peak.period == "PM":
                    ends = peak  # a window reaching past 07:00 ends where the peak begins
                later = at_peak.import_price_eur_kwh
                if state.import_price_eur_kwh > 0:
                    peak_ratio = later / state.import_price_eur_kwh
                if peak_ratio >= DEAR_RATIO:
                    why = f"mobile peak from {peak.astimezone(self.tz):%H:%M}"
        return PriceView(
            offpeak=offpeak,
            import_price_eur_kwh=state.import_price_eur_kwh,
            offpeak_until=ends,
            peak_ratio=peak_ratio,
            dear_why=why,
        )

    def _ejp_peak_after(self, now: datetime, ends: datetime) -> datetime | None:
        """When (UTC) a mobile peak would start in or after the window from ``now`` to
        ``ends``: the next 07:00 local after ``now``, if no later than
        :data:`EJP_PEAK_WITHIN` after ``ends``; else None."""
        local = now.astimezone(self.tz)
        day = local.date() if local.time() < EJP_PEAK_START else local.date() + timedelta(days=1)
        starts = datetime.combine(day, EJP_PEAK_START, self.tz).astimezone(ends.tzinfo)
        return starts if starts - ends <= EJP_PEAK_WITHIN else None

    def _tariff(self, now: datetime, meter: MeterTariff) -> Tariff:
        """The tariff with the meter's colours of today and tomorrow in its calendar
        (remade when they or the Tempo day change)."""
        if meter.colour_today is None and meter.colour_tomorrow is None:
            return self.tariff
        key = (self.tariff.tempo_day(now), meter.colour_today, meter.colour_tomorrow)
        cached = self._with_meter
        if cached is None or cached[0] != key:
            cached = (key, self.tariff.with_meter(now, meter))
            self._with_meter = cached
        return cached[1]

    def _offpeak_end(self, now: datetime, tariff: Tariff) -> datetime | None:
        """The end (UTC) of the off-peak window holding ``now`` by the schedule; None
        when the schedule does not have ``now`` off-peak (the meter said so alone)."""
        local = now.astimezone(self.tz)
        clock = local.time()
        for window in tariff.offpeak_windows:
            if not window.contains(clock):
                continue
            day, end = local.date(), window.end
            if end <= clock:
                day += timedelta(days=1)
            return datetime.combine(day, end, self.tz).astimezone(now.tzinfo)
        return None

    def _next_offpeak(self, now: datetime, tariff: Tariff) -> datetime | None:
        """When (UTC) the next off-peak window starts by the schedule, within a day."""
        local = now.astimezone(self.tz)
        clock = local.time()
        starts: list[datetime] = []
        for window in tariff.offpeak_windows:
            day = local.date()
            if window.start <= clock:
                day += timedelta(days=1)
            starts.append(datetime.combine(day, window.start, self.tz))
        return min(starts).astimezone(now.tzinfo) if starts else None


def _why(colour: Colour | None, ends: datetime) -> str:
    """Why the peak hours from ``ends`` (local) are dear, for a reason."""
    what = "red day" if colour is Colour.RED else "dear hours"
    return f"{what} from {ends:%H:%M}"
