"""The interface of a regulation policy: given the inputs and the time, the decision.

Three policies implement it: pvopt's regulation (:class:`pvopt.regulation.core.Regulator`),
the original photovoltaic_optimizer algorithm and "no router"
(:mod:`pvopt.sim.baseline`). ``pvopt regulate`` and the simulator depend on this
interface only; each policy keeps its loads in a :class:`~pvopt.regulation.plant.Plant`,
which makes the safety, manual modes, counters and commands the same for all.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from pvopt.ejp import EjpDay
from pvopt.equipment.model import SiteConfig
from pvopt.forecast import PvForecast
from pvopt.regulation.inputs import Control
from pvopt.regulation.model import Decision, MeterSample


class Policy(Protocol):
    """What drives a site's loads. Inputs come with their time; the policy never reads a
    clock. Not thread-safe: one caller at a time."""

    @property
    def site(self) -> SiteConfig:
        """The site it drives."""
        ...

    def knows(self, key: str) -> bool:
        """Is there an equipment with this name or id?"""
        ...

    def evaluate(self, sample: MeterSample, now: datetime) -> Decision:
        """One meter frame's SINSTS and SINSTI: the decision."""
        ...

    def tick(self, now: datetime) -> Decision | None:
        """Called regularly (≤ 1 s): a shed on stale data, or re-sends, when due."""
        ...

    def set_temperature(self, load_id: str, celsius: float, now: datetime) -> None:
        """A probe reading."""
        ...

    def set_forecast(self, forecast: PvForecast, max_age_s: float) -> None:
        """The newest valid PV forecast (pvopt's regulation reads it; the others do not)."""
        ...

    def set_ejp_day(self, announced: EjpDay, now: datetime) -> None:
        """An announced EJP day (pvopt's regulation prices it; the others do not)."""
        ...

    def set_teleinfo_online(self, online: bool, now: datetime) -> Decision | None:
        """teleinfo's availability: ``offline`` sheds every load."""
        ...

    def apply_control(self, key: str, control: Control, now: datetime) -> None:
        """A manual control (KeyError: no such load; ValueError: it cannot take it)."""
        ...

    def shutdown(self, now: datetime) -> Decision:
        """Every load off, whatever its mode (the daemon stops)."""
        ...

    def export_counters(self) -> dict[str, dict[str, object]]:
        """The energy counters to persist across a restart."""
        ...

    def restore_counters(self, data: dict[str, dict[str, object]], now: datetime) -> None:
        """Restore saved energy counters (stale or implausible values are ignored)."""
        ...


#: How a policy is made for a site (a class, or a ``functools.partial`` of one).
PolicyFactory = Callable[[SiteConfig, ZoneInfo], Policy]
