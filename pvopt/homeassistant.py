"""Home Assistant MQTT discovery (docs/design.md §4, optional): the config messages, pure.

The daemons publish these retained (QoS 1) on every (re)connect and again when Home
Assistant announces itself (``online`` on ``<prefix>/status``); this module only builds
them. One config topic per entity, ``<prefix>/<component>/<unique_id>/config``, with
``unique_id`` = object id and no node id (HA's recommendation). Nothing new is published
for HA to read: the entities read the topics the daemons already publish.

- Meter (teleinfo, device "Linky"): ``tic/SINSTS`` / ``tic/SINSTI`` (``tic/PAPP`` in
  historic mode) are **apparent** powers: ``device_class: apparent_power``, unit ``VA``
  (HA's ``power`` class only takes W and the meter does not measure active power).
  Energy indexes ``tic/EAST`` / ``tic/EAIT`` (``BASE``, ``HCHC``, ``HCHP`` in historic
  mode): ``device_class: energy``, ``Wh``, ``state_class: total_increasing``. A grid
  power (``device_class: power``, W, positive = import) from ``tic/frame``: SINSTS −
  SINSTI of one frame (PAPP in historic mode), the VA used as W as the regulation does.
  Availability: ``pvopt/teleinfo/status``.
- Regulation (device "pvopt regulation"): grid power, surplus and reason from the
  ``regulation/status`` JSON. Each equipment is a device of its own (linked with
  ``via_device``): power (W), energy of the day (Wh, ``total_increasing``: the reset at
  midnight is a new cycle for HA), mode (``auto``/``on``/``off``/``forced``), reason,
  temperature (water heaters), and a ``select`` AUTO/ON/OFF that publishes the option to
  ``scr/<id>/control`` (every equipment type takes it there). Availability:
  ``pvopt/regulation/status``.
"""

from __future__ import annotations

import json
import re
from typing import NamedTuple

from pvopt import __version__, topics
from pvopt.equipment.loader import type_name
from pvopt.equipment.model import EquipmentConfig, SiteConfig, TempDrivenVariablePowerConfig
from pvopt.regulation.model import Mode

DEFAULT_PREFIX = "homeassistant"
#: Meter sensors become unavailable when no frame came for this long (s).
METER_EXPIRE_AFTER_S = 60
#: The modes an HA select can set (``scr/<id>/control`` text); ``forced`` is shown as unknown.
SELECT_OPTIONS = tuple(m.value.upper() for m in Mode if m is not Mode.FORCED)
MODES = tuple(m.value for m in Mode)

_ORIGIN = {"name": "pvopt", "sw_version": __version__}
_METER_DEVICE_ID = "pvopt_linky"
_REGULATION_DEVICE_ID = "pvopt_regulation"


class DiscoveryMessage(NamedTuple):
    """One message to publish (QoS 1): ``payload`` is JSON, or empty to remove an entity."""

    topic: str
    payload: str
    retain: bool = True


# (label, name, kind) per meter mode; kind "power" (VA) or "energy" (Wh index).
_METER_LABELS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "standard": (
        ("SINSTS", "Apparent power drawn", "power"),
        ("SINSTI", "Apparent power injected", "power"),
        ("EAST", "Energy drawn", "energy"),
        ("EAIT", "Energy injected", "energy"),
    ),
    "historic": (
        ("PAPP", "Apparent power drawn", "power"),
        ("BASE", "Energy drawn (base)", "energy"),
        ("HCHC", "Energy drawn (off-peak)", "energy"),
        ("HCHP", "Energy drawn (peak)", "energy"),
    ),
}


def status_topic(prefix: str = DEFAULT_PREFIX) -> str:
    """Where Home Assistant publishes its birth (``online``) and last will (``offline``)."""
    return f"{prefix}/status"


def config_topic(prefix: str, component: str, unique_id: str) -> str:
    """``<prefix>/<component>/<unique_id>/config``."""
    return f"{prefix}/{component}/{unique_id}/config"


def entity_slug(text: str) -> str:
    """``text`` as the object part of an HA entity id: lower case ``[a-z0-9_]``, no ``__``,
    no ``_`` at either end (HA refuses other entity ids)."""
    slug = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return slug or "pvopt"


def _message(prefix: str, component: str, config: dict[str, object]) -> DiscoveryMessage:
    unique_id = str(config["unique_id"])
    document = {
        **config,
        "default_entity_id": f"{component}.{entity_slug(unique_id)}",
        "origin": _ORIGIN,
    }
    return DiscoveryMessage(
        config_topic(prefix, component, unique_id),
        json.dumps(document, ensure_ascii=False, separators=(",", ":")),
    )


def _availability(topic: str) -> dict[str, object]:
    return {
        "availability_topic": topic,
        "payload_available": "online",
        "payload_not_available": "offline",
    }


def meter_messages(prefix: str = DEFAULT_PREFIX, mode: str = "standard") -> list[DiscoveryMessage]:
    """The meter's sensors (teleinfo). ``mode``: ``standard``, ``historic`` or ``auto``
    (= standard, the mode of a Linky set up for a producer)."""
    labels = _METER_LABELS["historic" if mode == "historic" else "standard"]
    device = {
        "identifiers": [_METER_DEVICE_ID],
        "name": "Linky",
        "manufacturer": "Enedis",
        "model": f"Linky (TIC {'historic' if mode == 'historic' else 'standard'} mode)",
    }
    messages = []
    for label, name, kind in labels:
        config: dict[str, object] = {
            "name": name,
            "unique_id": f"pvopt_linky_{label.lower()}",
            "state_topic": topics.label_topic(label),
            "expire_after": METER_EXPIRE_AFTER_S,
            **_availability(topics.TELEINFO_STATUS),
            "device": device,
        }
        if kind == "power":
            config |= {
                "device_class": "apparent_power",
                "unit_of_measurement": "VA",
                "state_class": "measurement",
            }
        else:
            config |= {
                "device_class": "energy",
                "unit_of_measurement": "Wh",
                "state_class": "total_increasing",
            }
        messages.append(_message(prefix, "sensor", config))
    # Grid power in W with device_class power, from one frame (tic/frame): the meter's
    # apparent powers used as W (power factor 1), as the regulation itself uses them.
    # Positive = import. "None" (HA: unknown) when the frame lacks the label.
    if mode == "historic":
        grid = "{{ v.PAPP if 'PAPP' in v else None }}"
    else:
        grid = "{{ v.SINSTS - v.get('SINSTI', 0) if 'SINSTS' in v else None }}"
    config = {
        "name": "Grid power",
        "unique_id": "pvopt_linky_grid_power",
        "state_topic": topics.FRAME,
        "value_template": "{% set v = value_json['values'] %}" + grid,
        "device_class": "power",
        "unit_of_measurement": "W",
        "state_class": "measurement",
        "expire_after": METER_EXPIRE_AFTER_S,
        **_availability(topics.TELEINFO_STATUS),
        "device": device,
    }
    messages.append(_message(prefix, "sensor", config))
    return messages


def _equipment_template(name: str, expression: str) -> str:
    """A value_template that renders ``expression`` (of ``e``) for the equipment ``name``
    in the ``regulation/status`` document; empty if it is not there."""
    return (
        f"{{% for e in value_json.equipment if e.name == {json.dumps(name)} %}}"
        f"{{{{ {expression} }}}}{{% endfor %}}"
    )


def _equipment_messages(prefix: str, eq: EquipmentConfig) -> list[DiscoveryMessage]:
    base = f"pvopt_equipment_{eq.name}"  # names are [A-Za-z0-9_-]: fit for a topic
    device = {
        "identifiers": [base],
        "name": eq.name,
        "manufacturer": "pvopt",
        "model": type_name(eq),
        "via_device": _REGULATION_DEVICE_ID,
    }
    common = {
        "state_topic": topics.DECISION,
        **_availability(topics.REGULATION_STATUS),
        "device": device,
    }

    def sensor(what: str, name: str, expression: str, **extra: object) -> DiscoveryMessage:
        config: dict[str, object] = {
            "name": name,
            "unique_id": f"{base}_{what}",
            "value_template": _equipment_template(eq.name, expression),
            **common,
            **extra,
        }
        return _message(prefix, "sensor", config)

    messages = [
        sensor(
            "power",
            "Power",
            "e.power_w",
            device_class="power",
            unit_of_measurement="W",
            state_class="measurement",
        ),
        sensor(
            "energy",
            "Energy today",
            "e.energy_wh",
            device_class="energy",
            unit_of_measurement="Wh",
            state_class="total_increasing",
        ),
        sensor("mode", "Mode", "e.mode", device_class="enum", options=list(MODES)),
        sensor("reason", "Reason", "e.reason[:255]", icon="mdi:information-outline"),
    ]
    if isinstance(eq, TempDrivenVariablePowerConfig):
        messages.append(
            sensor(
                "temperature",
                "Temperature",
                "e.temperature_c",
                device_class="temperature",
                unit_of_measurement="°C",
                state_class="measurement",
            )
        )
    allowed = json.dumps([o.lower() for o in SELECT_OPTIONS])
    select: dict[str, object] = {
        "name": "Control",
        "unique_id": f"{base}_control",
        "command_topic": topics.scr_control(eq.id),
        "options": list(SELECT_OPTIONS),
        "qos": 1,
        "retain": False,
        # "None" leaves the select unknown (mode forced by regulation/control).
        "value_template": _equipment_template(
            eq.name, f'e.mode | upper if e.mode in {allowed} else "None"'
        ),
        "icon": "mdi:tune-variant",
        **common,
    }
    messages.append(_message(prefix, "select", select))
    return messages


def regulation_messages(site: SiteConfig, prefix: str = DEFAULT_PREFIX) -> list[DiscoveryMessage]:
    """The regulation's sensors and, per equipment, its sensors and its AUTO/ON/OFF select."""
    device = {
        "identifiers": [_REGULATION_DEVICE_ID],
        "name": "pvopt regulation",
        "manufacturer": "pvopt",
        "model": "PV surplus router",
        "sw_version": __version__,
    }
    common = {
        "state_topic": topics.DECISION,
        **_availability(topics.REGULATION_STATUS),
        "device": device,
    }
    power = {"device_class": "power", "unit_of_measurement": "W", "state_class": "measurement"}
    messages = [
        _message(
            prefix,
            "sensor",
            {
                "name": "Grid power",
                "unique_id": "pvopt_regulation_grid_power",
                "value_template": "{{ value_json.grid_power_w }}",
                **power,
                **common,
            },
        ),
        _message(
            prefix,
            "sensor",
            {
                "name": "Surplus",
                "unique_id": "pvopt_regulation_surplus",
                "value_template": "{{ value_json.surplus_w }}",
                **power,
                **common,
            },
        ),
        _message(
            prefix,
            "sensor",
            {
                "name": "Reason",
                "unique_id": "pvopt_regulation_reason",
                "value_template": "{{ value_json.reason[:255] }}",
                "icon": "mdi:information-outline",
                **common,
            },
        ),
    ]
    for eq in site.equipment:
        messages.extend(_equipment_messages(prefix, eq))
    return messages
