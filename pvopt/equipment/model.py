"""Typed, frozen configuration of the equipment and of the regulation.

Each equipment type of docs/design.md §6 has a config dataclass here; the YAML ``type:`` picks it
from :data:`pvopt.equipment.registry.EQUIPMENT_TYPES`. Fields carry their YAML key, unit,
bounds and documentation as metadata (see :func:`option`): the loader validates from it
and the reference documentation is generated from it, so there is one schema.

Names keep the original system's YAML keys (``max_power``, ``nominal_power``,
``temp_min``…) while the Python fields carry units (``max_power_w``).
Powers are in W, energies in Wh, temperatures in °C, durations in seconds, times of day
local wall-clock times.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum
from typing import Any, Final
from zoneinfo import ZoneInfo

from pvopt.equipment.dimmer import Curve


def option(
    key: str,
    doc: str,
    *,
    default: Any = MISSING,
    unit: str = "",
    low: float | None = None,
    high: float | None = None,
    positive: bool = False,
    choices: tuple[str, ...] | None = None,
) -> Any:
    """A dataclass field with its YAML key, unit, bounds and documentation."""
    metadata = {
        "key": key,
        "doc": doc,
        "unit": unit,
        "low": low,
        "high": high,
        "positive": positive,
        "choices": choices,
    }
    if default is MISSING:
        return field(metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass(frozen=True)
class Command:
    """How one device is commanded (resolved from a preset and overrides)."""

    topic: str
    payload_on: str = "1"
    payload_off: str = "0"
    payload_percent: str = "{percent:.1f}"
    qos: int = 1
    retain: bool = False


@dataclass(frozen=True, kw_only=True)
class EquipmentConfig:
    """What every equipment has. List order in the YAML is priority (first = highest)."""

    name: str = option("name", "unique name, used in status, InfluxDB and regulation/control")
    id: str = option("id", "device id, used in the device topics (scr/<id>/...); unique")
    command: Command = field(metadata={"key": None})  # built from preset/topic/payload_*

    @property
    def is_variable(self) -> bool:
        """True for loads driven continuously (dimmers), False for on/off loads."""
        return isinstance(self, VariablePowerConfig)


@dataclass(frozen=True, kw_only=True)
class VariablePowerConfig(EquipmentConfig):
    """``VariablePowerEquipment``: a resistive load behind a phase-angle dimmer."""

    max_power_w: float = option("max_power", "power at 100 %", unit="W", positive=True)
    min_power_w: float = option(
        "min_power",
        "smallest power worth commanding; below it the load is off",
        default=0.0,
        unit="W",
        low=0,
    )
    min_energy_wh: float | None = option(
        "min_energy",
        "energy to deliver per period; reached from the sun it stops the diversion, "
        "a shortfall is completed from the grid late in the off-peak window",
        default=None,
        unit="Wh",
        positive=True,
    )
    period_s: int = option(
        "period",
        "length of a min_energy period, aligned on local midnight (86400 = a day)",
        default=86_400,
        unit="s",
        low=3600,
        high=7 * 86_400,
    )
    dimmer_curve: Curve = option(
        "dimmer_curve",
        "power → percent conversion: phase_angle (triac firing angle) or linear",
        default=Curve.PHASE_ANGLE,
        choices=tuple(c.value for c in Curve),
    )
    yields: bool = option(
        "yields",
        "gives way to lower-priority on/off loads once its own need is met (a water heater "
        "from temp_eco + 2 K until below temp_eco, and with a PV forecast while the day's sun left "
        "brings 2 h of its power; no min_energy short this period; and, in peak hours followed "
        "by a cheaper night, a water heater from temp_min + 2 K until below temp_min to a load "
        "still short of its daily_run_time): its power counts in their budget, so one may start "
        "and take it; false: strict priority, it never gives way",
        default=True,
    )


@dataclass(frozen=True, kw_only=True)
class TempDrivenVariablePowerConfig(VariablePowerConfig):
    """``TempDrivenVariablePowerEquipment``: a water heater with a probe on scr/<id>/temperature."""

    temp_min_c: float = option(
        "temp_min", "below it, heat from the grid in off-peak hours", unit="°C", low=0, high=90
    )
    temp_eco_c: float = option(
        "temp_eco", "off-peak grid heating stops here", unit="°C", low=0, high=90
    )
    temp_sol_min_c: float = option(
        "temp_sol_min",
        "once temp_max was reached, the tank takes only the surplus no other load takes "
        "until it falls below this; then it has its priority back",
        unit="°C",
        low=0,
        high=95,
    )
    temp_max_c: float = option(
        "temp_max", "never heated above it, in any mode", unit="°C", low=0, high=95
    )
    probe_timeout_s: float = option(
        "probe_timeout",
        "a probe silent for longer is unknown (not cold)",
        default=600.0,
        unit="s",
        positive=True,
    )


#: 00:00: as ``latest_end`` or a timer's end, the midnight that ends the local day (24:00).
MIDNIGHT: Final = time(0, 0)
#: A local day on the wall clock (s); a DST day is an hour shorter or longer in real time.
DAY_S: Final = 86_400


_DAILY_RUN_DOC: Final = (
    "run time the load needs each local day (a pool pump's filtration), done by latest_end; "
    "0: an opportunistic load, run on surplus alone"
)
_LATEST_END_DOC: Final = (
    "local time by which daily_run_time must be done; 00:00 is the end of the local day (midnight)"
)
_TIMER_START_DOC: Final = (
    "local time a plain timer switches it on for daily_run_time in a house without a "
    "router (the none run of pvopt simulate); the run must end by latest_end "
    "(default: latest_end − daily_run_time)"
)


@dataclass(frozen=True, kw_only=True)
class ConstantPowerConfig(EquipmentConfig):
    """``ConstantPowerEquipment``: an on/off load of known power (plug, relay)."""

    nominal_power_w: float = option("nominal_power", "power drawn when on", unit="W", positive=True)
    min_on_s: float = option("min_on", "shortest run once started", default=300.0, unit="s", low=0)
    min_off_s: float = option(
        "min_off", "shortest pause once stopped", default=300.0, unit="s", low=0
    )
    daily_run_s: float = option(
        "daily_run_time", _DAILY_RUN_DOC, default=0.0, unit="s", low=0, high=DAY_S
    )
    latest_end: time = option("latest_end", _LATEST_END_DOC, default=MIDNIGHT)
    timer_start: time | None = option("timer_start", _TIMER_START_DOC, default=None)

    def timer_window(self) -> TimerWindow | None:
        """The hours a plain timer runs it every local day (None: no daily run time)."""
        return timer_window(self.daily_run_s, self.latest_end, self.timer_start)


@dataclass(frozen=True, kw_only=True)
class UnknownPowerConfig(EquipmentConfig):
    """``UnknownPowerEquipment``: an on/off load whose power is learnt from the meter."""

    expected_power_w: float = option(
        "expected_power",
        "first guess of its power, replaced by what the meter shows when it switches",
        default=1000.0,
        unit="W",
        positive=True,
    )
    min_on_s: float = option("min_on", "shortest run once started", default=300.0, unit="s", low=0)
    min_off_s: float = option(
        "min_off", "shortest pause once stopped", default=300.0, unit="s", low=0
    )
    daily_run_s: float = option(
        "daily_run_time", _DAILY_RUN_DOC, default=0.0, unit="s", low=0, high=DAY_S
    )
    latest_end: time = option("latest_end", _LATEST_END_DOC, default=MIDNIGHT)
    timer_start: time | None = option("timer_start", _TIMER_START_DOC, default=None)

    def timer_window(self) -> TimerWindow | None:
        """The hours a plain timer runs it every local day (None: no daily run time)."""
        return timer_window(self.daily_run_s, self.latest_end, self.timer_start)


def clock_text(clock: time) -> str:
    """``16:00``, or ``15:59:30`` when the time has seconds."""
    return f"{clock:%H:%M}" if not (clock.second or clock.microsecond) else f"{clock:%H:%M:%S}"


def seconds_of_day(clock: time) -> float:
    """Wall-clock seconds from 00:00 to ``clock``."""
    return clock.hour * 3600 + clock.minute * 60 + clock.second + clock.microsecond / 1e6


def end_seconds(latest_end: time) -> float:
    """Wall-clock seconds from 00:00 to ``latest_end``, 00:00 being 24:00 (86,400)."""
    return seconds_of_day(latest_end) or float(DAY_S)


def _clock_at(seconds: float) -> time:
    """The time of day ``seconds`` after 00:00 (86,400: 00:00)."""
    return (datetime.combine(date(2000, 1, 1), MIDNIGHT) + timedelta(seconds=seconds)).time()


def local_instant(day: date, clock: time, tz: ZoneInfo) -> datetime:
    """The first instant (UTC) of local ``day`` at which the wall clock shows ``clock`` or
    later. A time the clocks go through twice (autumn) is its first occurrence; a time
    they skip (spring) is the jump itself, the first instant past it."""
    naive = datetime.combine(day, clock)
    first = naive.replace(tzinfo=tz).astimezone(UTC)  # fold=0: the earlier of a repeated time
    if first.astimezone(tz).replace(tzinfo=None) == naive:
        return first
    # Skipped (in a gap): read with the offset before the jump it is an instant after the
    # jump, with the offset after (fold=1) an instant before it. Offsets change on whole
    # seconds: find the jump between the two.
    before = int(naive.replace(tzinfo=tz, fold=1).astimezone(UTC).timestamp())
    after = int(first.timestamp())
    while after - before > 1:
        middle = (before + after) // 2
        shown = datetime.fromtimestamp(middle, UTC).astimezone(tz).replace(tzinfo=None)
        if shown >= naive:
            after = middle
        else:
            before = middle
    return datetime.fromtimestamp(after, UTC)


@dataclass(frozen=True, slots=True)
class TimerWindow:
    """The hours a plain timer runs an on/off load every local day: on at ``start``, off at
    ``end``, wall-clock times of the same local day, ``start`` before ``end``; ``end``
    00:00 is the midnight that ends the day (``00:00``–``00:00``: the whole day).

    A timer follows the wall clock: on a DST day a window spanning the clock change runs
    an hour less (spring) or more (autumn); any other window runs its usual length."""

    start: time
    end: time

    def __post_init__(self) -> None:
        if self.end != MIDNIGHT and self.end <= self.start:
            raise ValueError(f"timer window {self}: the end must come after the start")

    @property
    def length_s(self) -> float:
        """Its length on the wall clock (s); the real time differs on a DST day."""
        return end_seconds(self.end) - seconds_of_day(self.start)

    def bounds(self, day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """The instants (UTC) it switches on and off on local ``day`` (see
        :func:`local_instant`)."""
        return local_instant(day, self.start, tz), local_end(day, self.end, tz)

    def __str__(self) -> str:
        return f"{clock_text(self.start)}–{clock_text(self.end)}"


def local_end(day: date, clock: time, tz: ZoneInfo) -> datetime:
    """The instant (UTC) local ``day`` reaches ``clock`` as an end: a ``latest_end`` or a
    timer's end, 00:00 being the midnight that ends the day (24:00)."""
    if clock == MIDNIGHT:
        return local_instant(day + timedelta(days=1), MIDNIGHT, tz)
    return local_instant(day, clock, tz)


def timer_window(
    daily_run_s: float, latest_end: time = MIDNIGHT, timer_start: time | None = None
) -> TimerWindow | None:
    """The window of a plain timer running ``daily_run_s`` a day, from ``timer_start``
    (default: ``latest_end`` − ``daily_run_s``); None without a daily run time. A run that
    would end after ``latest_end`` (00:00 being 24:00) is a :class:`ValueError`: the
    loader refuses such a file."""
    if daily_run_s <= 0:
        return None
    end_s = end_seconds(latest_end)
    start_s = end_s - daily_run_s if timer_start is None else seconds_of_day(timer_start)
    stop_s = start_s + daily_run_s
    if start_s < 0 or stop_s > end_s + 1e-6:
        raise ValueError(
            f"a {daily_run_s:g} s run from {clock_text(_clock_at(max(start_s, 0.0)))} "
            f"does not end by latest_end {clock_text(latest_end)}"
        )
    return TimerWindow(_clock_at(start_s), _clock_at(min(stop_s, end_s)))


@dataclass(frozen=True, kw_only=True)
class RegulationConfig:
    """The ``regulation:`` section: tunables with their defaults."""

    target_grid_w: float = option(
        "target_grid_power",
        "grid power aimed at (negative = slight export, so the meter never bills a trim); "
        "a negative target becomes 0 W while importing costs nothing: with a PV forecast, "
        "when the sun left today cannot fill a water heater below temp_eco and the price "
        "now is no dearer than the next night's (README, trim loop)",
        default=-20.0,
        unit="W",
        low=-5000,
        high=5000,
    )
    dead_band_w: float = option(
        "dead_band",
        "errors smaller than this leave the outputs alone",
        default=10.0,
        unit="W",
        low=0,
        high=500,
    )
    stale_timeout_s: float = option(
        "stale_timeout",
        "meter data older than this: every load off",
        default=10.0,
        unit="s",
        positive=True,
        high=300,
    )
    gain: float = option(
        "gain",
        "fraction of the grid error the trim loop corrects at each settled meter reading "
        "(integral action; 1 = dead-beat)",
        default=0.9,
        low=0.05,
        high=1.0,
    )
    settle_time_s: float = option(
        "settle_time",
        "after a command, meter readings received within this time cannot show its effect "
        "in full (actuation + a 1 s mean + up to one frame of meter delay); the part not yet "
        "visible is predicted, and on/off switches wait for it",
        default=2.6,
        unit="s",
        low=0,
        high=30,
    )
    thermostat_probe_s: float = option(
        "thermostat_probe_interval",
        "a variable load found drawing nothing (thermostat cut) is tried again after this",
        default=900.0,
        unit="s",
        low=60,
    )
    start_margin_w: float = option(
        "start_margin",
        "spare surplus needed beyond an on/off load's power to start it",
        default=300.0,
        unit="W",
        low=0,
    )
    start_delay_s: float = option(
        "start_delay",
        "an on/off load starts when its surplus, averaged over this time, covers it "
        "(a passing gap in the clouds starts nothing)",
        default=600.0,
        unit="s",
        low=0,
    )
    stop_delay_s: float = option(
        "stop_delay",
        "an on/off load stops when the power it could have, averaged over this time, "
        "no longer covers it (a passing cloud stops nothing)",
        default=120.0,
        unit="s",
        low=0,
    )
    start_max_import: float = option(
        "start_max_import",
        "an on/off load does not start when, over start_delay, the surplus left this "
        "fraction of its power uncovered on average (it would import in every cloud "
        "shadow); raise it to run on/off loads more on broken-cloud days",
        default=0.05,
        low=0,
        high=1,
    )
    stop_max_import: float = option(
        "stop_max_import",
        "a running on/off load stops (after min-on) when it imported this fraction of its "
        "power on average over start_delay",
        default=0.1,
        low=0,
        high=1,
    )
    offpeak_start: time | None = option(
        "offpeak_start", "off-peak window start HH:MM (default: $HC_START_TIME)", default=None
    )
    offpeak_end: time | None = option(
        "offpeak_end", "off-peak window end HH:MM (default: $HC_END_TIME)", default=None
    )
    resend_interval_s: float = option(
        "resend_interval",
        "commands are re-sent at least this often",
        default=60.0,
        unit="s",
        low=5,
        high=60,
    )


class Contract(Enum):
    """The supply contract's tariff option (Tarif Bleu options and their look-alikes)."""

    BASE = "base"
    HPHC = "hphc"
    TEMPO = "tempo"
    EJP = "ejp"


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """A daily window of local wall-clock time, ``[start, end)``; it crosses midnight when
    ``end`` is not after ``start`` (``22:00-06:00``). Never empty: start != end."""

    start: time
    end: time

    def __post_init__(self) -> None:
        if self.start == self.end:
            raise ValueError(f"empty time window {self}")

    def contains(self, clock: time) -> bool:
        """``clock`` (a local time of day) is inside the window."""
        if self.start < self.end:
            return self.start <= clock < self.end
        return clock >= self.start or clock < self.end

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True, slots=True)
class TarifBleuPrices:
    """Energy prices of the French regulated tariff (Tarif Bleu résidentiel), €/kWh TTC.

    The figures in :data:`TARIF_BLEU_2026_08` are those in force from 1 August 2026,
    the latest movement that could be established on 6 December 2026 (the next one is due
    on 1 February 2027), for 6 kVA (Base: 3 and 6 kVA; 9 kVA and above is 0.1985 €/kWh).
    Sources, all secondary, all agreeing: the "grille officielle EDF du 1er août 2026" as
    transcribed in the release notes of FigurinePanda43/hass-tarif-edf v2.4.0 (Tempo)
    and v2.4.1 (Base, HP/HC); evcc's EDF Tempo tariff page (docs.evcc.io/en/tariffs/
    edf-tempo, "regulated EDF prices incl. taxes from 1 August 2026"); the price table of
    NicolasPopy/elec-moins-chere-prix (data/offres.csv, checked 2026-10-30). The CRE
    deliberation and EDF's own PDF grid were not found. The EJP option could not be
    established (it exists only from 9 kVA and its August 2026 prices were not found):
    it has no default.
    """

    base_eur_kwh: float
    hphc_hp_eur_kwh: float
    hphc_hc_eur_kwh: float
    tempo_blue_hp_eur_kwh: float
    tempo_blue_hc_eur_kwh: float
    tempo_white_hp_eur_kwh: float
    tempo_white_hc_eur_kwh: float
    tempo_red_hp_eur_kwh: float
    tempo_red_hc_eur_kwh: float


TARIF_BLEU_2026_08: Final = TarifBleuPrices(
    base_eur_kwh=0.2001,
    hphc_hp_eur_kwh=0.2142,
    hphc_hc_eur_kwh=0.1589,
    tempo_blue_hp_eur_kwh=0.1654,
    tempo_blue_hc_eur_kwh=0.1356,
    tempo_white_hp_eur_kwh=0.1921,
    tempo_white_hc_eur_kwh=0.1536,
    tempo_red_hp_eur_kwh=0.7295,
    tempo_red_hc_eur_kwh=0.1615,
)
"""The default import prices: Tarif Bleu, 6 kVA, in force from 1 August 2026 (sources in
:class:`TarifBleuPrices`)."""

_PRICE_HIGH: Final = 10.0  # €/kWh: a price above it is a typo (a figure in c€)


def _price(key: str, doc: str, default: float | None) -> Any:
    return option(key, doc, default=default, unit="€/kWh", low=0, high=_PRICE_HIGH)


@dataclass(frozen=True, kw_only=True)
class TariffConfig:
    """The ``tariff:`` section: the supply contract and its prices, for what the household
    pays (import prices in €/kWh TTC; defaults: Tarif Bleu, 6 kVA, from 1 August 2026)."""

    contract: Contract = option(
        "contract",
        "tariff option of the supply contract",
        default=Contract.BASE,
        choices=tuple(c.value for c in Contract),
    )
    base_price_eur_kwh: float = _price(
        "base_price_eur_kwh", "import price, contract base", TARIF_BLEU_2026_08.base_eur_kwh
    )
    hphc_hp_price_eur_kwh: float = _price(
        "hphc_hp_price_eur_kwh",
        "import price in peak hours (HP), contract hphc",
        TARIF_BLEU_2026_08.hphc_hp_eur_kwh,
    )
    hphc_hc_price_eur_kwh: float = _price(
        "hphc_hc_price_eur_kwh",
        "import price in off-peak hours (HC), contract hphc",
        TARIF_BLEU_2026_08.hphc_hc_eur_kwh,
    )
    tempo_blue_hp_price_eur_kwh: float = _price(
        "tempo_blue_hp_price_eur_kwh",
        "import price, Tempo blue day, peak hours",
        TARIF_BLEU_2026_08.tempo_blue_hp_eur_kwh,
    )
    tempo_blue_hc_price_eur_kwh: float = _price(
        "tempo_blue_hc_price_eur_kwh",
        "import price, Tempo blue day, off-peak hours",
        TARIF_BLEU_2026_08.tempo_blue_hc_eur_kwh,
    )
    tempo_white_hp_price_eur_kwh: float = _price(
        "tempo_white_hp_price_eur_kwh",
        "import price, Tempo white day, peak hours",
        TARIF_BLEU_2026_08.tempo_white_hp_eur_kwh,
    )
    tempo_white_hc_price_eur_kwh: float = _price(
        "tempo_white_hc_price_eur_kwh",
        "import price, Tempo white day, off-peak hours",
        TARIF_BLEU_2026_08.tempo_white_hc_eur_kwh,
    )
    tempo_red_hp_price_eur_kwh: float = _price(
        "tempo_red_hp_price_eur_kwh",
        "import price, Tempo red day, peak hours",
        TARIF_BLEU_2026_08.tempo_red_hp_eur_kwh,
    )
    tempo_red_hc_price_eur_kwh: float = _price(
        "tempo_red_hc_price_eur_kwh",
        "import price, Tempo red day, off-peak hours",
        TARIF_BLEU_2026_08.tempo_red_hc_eur_kwh,
    )
    ejp_normal_price_eur_kwh: float | None = _price(
        "ejp_normal_price_eur_kwh", "import price in EJP normal hours (HN), contract ejp", None
    )
    ejp_pm_price_eur_kwh: float | None = _price(
        "ejp_pm_price_eur_kwh",
        "import price in EJP mobile peak hours (PM: 07:00 to 01:00 of an EJP day), contract ejp",
        None,
    )
    offpeak: tuple[TimeWindow, ...] | None = option(
        "offpeak",
        "off-peak (HC) windows of contracts hphc and tempo, local time; the meter's own "
        "period labels win when it sends them",
        default=None,
    )
    export_price_eur_kwh: float = option(
        "export_price_eur_kwh",
        "price paid for energy sent to the grid (0: self-consumption without sale)",
        default=0.0,
        unit="€/kWh",
        low=0,
        high=_PRICE_HIGH,
    )


@dataclass(frozen=True)
class SiteConfig:
    """A loaded ``equipment_config.yml``: equipment in priority order, tunables, and the
    supply contract's tariff."""

    equipment: tuple[EquipmentConfig, ...]
    regulation: RegulationConfig = field(default_factory=RegulationConfig)
    tariff: TariffConfig = field(default_factory=TariffConfig)
