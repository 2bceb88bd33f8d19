"""A new ``equipment_config.yml`` taken by a running regulation (pure, no clock).

The regulation is rebuilt from the new site; what it knew of each load is carried over,
matched by the load's **id** (the id names its topics; a renamed load keeps its day):

- same id, same kind (YAML ``type``): today's counters (energy, run time, ``min_energy``
  period; a changed period starts afresh), the manual mode and a boost in progress, the
  tank's latches and the user's threshold overrides, the probe's last reading, a learnt
  power, the run-time hold, the power it is commanded and when it last switched (so
  ``min_on``/``min_off`` still hold);
- same id, another kind: starts fresh, as a new load;
- an id no longer in the file: its device is commanded off before it is dropped, and so
  is the old command topic of a kept load whose topic changed.

The site-wide inputs (the last meter sample, teleinfo's availability, the PV forecast)
carry over too, so the caller can re-plan at once with :meth:`Regulator.evaluate`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime

from pvopt.ejp import EjpDay
from pvopt.equipment.model import EquipmentConfig, SiteConfig, VariablePowerConfig
from pvopt.regulation.core import Regulator
from pvopt.regulation.model import MqttCommand
from pvopt.regulation.outputs import command_payload
from pvopt.regulation.state import LoadState


@dataclass(frozen=True)
class Carried:
    """What a reload did with each load id."""

    kept: tuple[str, ...]  # same id and kind: its state carried over
    fresh: tuple[str, ...]  # new id, or a changed kind: starts afresh
    removed: tuple[str, ...]  # gone from the file: commanded off, dropped


@dataclass(frozen=True)
class Reloaded:
    """The regulator of the new site, what it carried, and the off commands due first."""

    regulator: Regulator
    carried: Carried
    off_commands: tuple[MqttCommand, ...]


def off_command(cfg: EquipmentConfig) -> MqttCommand:
    """The "off" command of one load, from its configuration."""
    return MqttCommand(
        topic=cfg.command.topic,
        payload=command_payload(cfg, 0.0)[0],
        qos=cfg.command.qos,
        retain=cfg.command.retain,
    )


def carry_state(old: LoadState, new: LoadState) -> None:
    """Give ``new`` (same id, same kind) what ``old`` knew; its configuration decides
    the rest (a lower maximum caps the power commanded, a changed period starts afresh)."""
    new.manual = copy.deepcopy(old.manual)
    counters = copy.deepcopy(old.counters)
    if new.period_s != old.period_s:
        counters.period_start = None  # the next accounting starts the new period at 0
        counters.period_energy_wh = 0.0
    new.counters = counters
    overrides = dict(old.tank.overrides)
    new.tank = copy.deepcopy(old.tank)
    new.tank.overrides = {}
    for threshold, celsius in overrides.items():
        new.override(threshold, celsius)  # its thresholds follow
    new.temperature = old.temperature
    new.learnt_power_w = old.learnt_power_w
    new.need = copy.deepcopy(old.need)
    new.budget = copy.deepcopy(old.budget)
    new.cut = copy.deepcopy(old.cut)
    new.switched_at = old.switched_at
    new.reason = old.reason
    if isinstance(new.cfg, VariablePowerConfig):
        new.power_w = min(old.power_w, new.full_power_w)
    else:
        new.power_w = new.onoff_power_w if old.power_w > 0 else 0.0


def carry_over(old: list[LoadState], new: list[LoadState]) -> tuple[Carried, list[MqttCommand]]:
    """Carry each kept load's state into ``new`` (in place); the off commands of the
    removed loads and of the old topics of kept loads whose command topic changed."""
    by_id = {state.cfg.id: state for state in old}
    kept: list[str] = []
    fresh: list[str] = []
    offs: list[MqttCommand] = []
    for state in new:
        before = by_id.get(state.cfg.id)
        if before is None or type(before.cfg) is not type(state.cfg):
            fresh.append(state.cfg.id)
            if before is not None:
                offs.append(off_command(before.cfg))  # a changed kind starts off
            continue
        carry_state(before, state)
        kept.append(state.cfg.id)
        if before.cfg.command.topic != state.cfg.command.topic:
            offs.append(off_command(before.cfg))
    new_ids = {state.cfg.id for state in new}
    removed = [state.cfg.id for state in old if state.cfg.id not in new_ids]
    offs.extend(off_command(state.cfg) for state in old if state.cfg.id not in new_ids)
    return Carried(tuple(kept), tuple(fresh), tuple(removed)), offs


def reload(old: Regulator, site: SiteConfig, now: datetime) -> Reloaded:
    """The regulator of ``site`` continuing ``old``: counters accounted up to ``now`` then
    carried, inputs carried; not yet evaluated (the caller re-plans)."""
    old.plant.account(now)
    new = Regulator(site, old.tz)
    carried, offs = carry_over(old.plant.loads, new.plant.loads)
    plant, before = new.plant, old.plant
    plant.last_eval = now
    plant.teleinfo_online = before.teleinfo_online
    plant.safe = before.safe
    plant.safe_reason = before.safe_reason
    plant.sample = before.sample
    plant.forecast = before.forecast
    plant.forecast_max_age_s = before.forecast_max_age_s
    for day, ejp in old.prices.ejp_days.items():
        new.set_ejp_day(EjpDay(day=day, ejp=ejp), now)
    return Reloaded(regulator=new, carried=carried, off_commands=tuple(offs))


@dataclass(frozen=True)
class ConfigState:
    """What the regulation runs (for ``regulation/config``): the file, its version, when it
    was loaded, its loads; and how the last attempt went."""

    path: str
    version: str
    loaded_at: datetime
    site: SiteConfig
    #: ``started``, ``loaded`` or ``refused`` (the file read then was invalid).
    result: str
    attempted_at: datetime
    attempted_version: str
    errors: tuple[dict[str, object], ...] = ()
    carried: Carried | None = None


def config_document(state: ConfigState, type_names: dict[str, str]) -> dict[str, object]:
    """The retained ``regulation/config`` JSON (``type_names``: load id → YAML type)."""
    last: dict[str, object] = {
        "at": state.attempted_at.isoformat(timespec="seconds"),
        "result": state.result,
        "version": state.attempted_version,
        "errors": list(state.errors),
    }
    if state.carried is not None:
        last["kept"] = list(state.carried.kept)
        last["fresh"] = list(state.carried.fresh)
        last["removed"] = list(state.carried.removed)
    return {
        "path": state.path,
        "version": state.version,
        "loaded_at": state.loaded_at.isoformat(timespec="seconds"),
        "loads": [
            {"id": cfg.id, "name": cfg.name, "type": type_names.get(cfg.id, "")}
            for cfg in state.site.equipment
        ],
        "last_reload": last,
    }
