"""Steering a load from the page (pure): validate a request, build the control message.

The page asks for a load's mode (``AUTO``, ``ON``, ``OFF``) or a boost (N minutes at P W);
this module checks the request against the site's ``equipment_config.yml`` and builds the
message the regulation already takes (README, "Manual control"):

- mode → ``scr/<id>/control`` with ``AUTO`` / ``ON`` / ``OFF`` (``AUTO`` also ends a boost);
- boost → ``regulation/control`` ``{"command":"force","name":N,"power":W,"duration":S}``.

Every message built is parsed again by ``pvopt regulate``'s own parsers
(:func:`~pvopt.regulation.inputs.parse_scr_control`,
:func:`~pvopt.regulation.inputs.parse_regulation_control`) before it is handed out, and must
mean what was asked: the two sides cannot drift apart silently.

A request that cannot be sent raises :class:`Refused` (an HTTP status, a stable ``code`` the
page translates, an English reason). Sending is not doing: the result shows in the
regulation's own ``regulation/status`` (the live view), never assumed here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from pvopt import topics
from pvopt.equipment.model import (
    ConstantPowerConfig,
    EquipmentConfig,
    SiteConfig,
    UnknownPowerConfig,
    VariablePowerConfig,
)
from pvopt.regulation.inputs import (
    Control,
    InputError,
    is_number,
    parse_regulation_control,
    parse_scr_control,
)
from pvopt.regulation.model import Mode

#: The modes the page may set (``scr/<id>/control``; the thresholds are not steered here).
MODES: Mapping[str, Mode] = {"AUTO": Mode.AUTO, "ON": Mode.ON, "OFF": Mode.OFF}
#: A boost lasts from 1 minute to 12 hours (the regulation takes up to a week: a page
#: button left at a week would be a mistake, not a wish).
BOOST_MINUTES: tuple[int, int] = (1, 720)
#: Controls are delivered once to the regulation (QoS 1), never retained: a retained
#: control would be replayed at every restart of the regulation.
QOS = 1


@dataclass(frozen=True)
class Load:
    """What steering needs of one equipment of the site config."""

    name: str
    id: str
    #: The most it draws: a dimmer's ``max_power``, an on/off load's ``nominal_power`` or
    #: ``expected_power`` (the regulation caps a forced power at the load's own).
    max_power_w: float
    #: A dimmer takes any power up to its maximum; an on/off load runs flat out or not.
    variable: bool

    @property
    def min_boost_w(self) -> float:
        """The least power a boost may ask: an on/off load forced to less than half its
        power stays off (the regulation's rule), so such a request is refused."""
        return 0.0 if self.variable else self.max_power_w / 2

    def as_json(self) -> dict[str, object]:
        """What the page is told of it (to draw its buttons and bounds)."""
        return {
            "name": self.name,
            "id": self.id,
            "max_power_w": self.max_power_w,
            "min_boost_w": self.min_boost_w,
            "variable": self.variable,
        }


def _max_power(config: EquipmentConfig) -> tuple[float, bool]:
    if isinstance(config, VariablePowerConfig):
        return config.max_power_w, True
    if isinstance(config, ConstantPowerConfig):
        return config.nominal_power_w, False
    if isinstance(config, UnknownPowerConfig):
        return config.expected_power_w, False
    raise LookupError(f"{type(config).__name__}: no known maximum power")


def loads_of(site: SiteConfig) -> tuple[Load, ...]:
    """The site's loads, in its priority order."""
    loads = []
    for config in site.equipment:
        power, variable = _max_power(config)
        loads.append(Load(config.name, config.id, power, variable))
    return tuple(loads)


@dataclass(frozen=True)
class Message:
    """One MQTT control message, exactly as it goes to the broker."""

    topic: str
    payload: str
    qos: int = QOS
    retain: bool = False


class Refused(ValueError):
    """A request that is not sent: ``status`` (HTTP), ``code`` (stable, for the page's
    translations), and the reason in English (``str()``)."""

    def __init__(self, status: int, code: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.code = code
        self.reason = reason


class Publisher(Protocol):
    """What sends a message (:class:`pvopt.io.mqtt.MqttClient`)."""

    @property
    def connected(self) -> bool:
        """True while the broker has accepted the connection."""
        ...

    def publish(self, topic: str, payload: str | bytes, qos: int = 0, retain: bool = False) -> bool:
        """Hand the message over; False when it could not be."""
        ...


@dataclass(frozen=True)
class Steering:
    """What the server steers with: the loads (None with ``problem`` when the site config
    could not be loaded) and the publisher (None: no MQTT client)."""

    loads: tuple[Load, ...] | None
    publisher: Publisher | None
    problem: str = ""


def refuse_constant(name: str) -> object:
    """For ``json.loads(parse_constant=…)``: ``NaN`` and ``Infinity`` are not JSON."""
    raise ValueError(f"{name} is not a number")


# -- validation -----------------------------------------------------------------------------


def find(loads: Sequence[Load], key: str) -> Load:
    """The load whose id (first) or name is ``key``; 404 otherwise."""
    for load in loads:
        if load.id == key:
            return load
    for load in loads:
        if load.name == key:
            return load
    shown = key[:40]
    raise Refused(404, "unknown_load", f"no load {shown!r} in equipment_config.yml")


def _fields(body: object, expected: tuple[str, ...]) -> Mapping[str, object]:
    if not isinstance(body, dict):
        raise Refused(400, "bad_body", f"expected a JSON object with {', '.join(expected)}")
    unknown = sorted(str(k)[:40] for k in body if k not in expected)
    if unknown:
        raise Refused(400, "unknown_field", f"unexpected field(s): {', '.join(unknown)}")
    missing = [k for k in expected if k not in body]
    if missing:
        raise Refused(400, "missing_field", f"missing field(s): {', '.join(missing)}")
    return body


def _mode(value: object) -> Mode:
    if not isinstance(value, str) or value not in MODES:
        raise Refused(400, "bad_mode", f"mode must be one of {', '.join(MODES)}")
    return MODES[value]


def _minutes(value: object) -> int:
    low, high = BOOST_MINUTES
    if (
        not is_number(value)
        or not low <= value <= high  # a huge int compares without overflow; NaN fails
        or value != int(value)
    ):
        raise Refused(400, "bad_minutes", f"minutes must be a whole number from {low} to {high}")
    return int(value)


def _power(value: object, load: Load) -> float:
    # Bounds compared before any conversion: a huge int compares without overflow, NaN fails.
    if not is_number(value) or not 0 < value <= load.max_power_w:
        raise Refused(
            400,
            "bad_power",
            f"power_w must be more than 0 and at most {load.max_power_w:g} W for {load.name}",
        )
    if value < load.min_boost_w:
        raise Refused(
            400,
            "power_too_low",
            f"{load.name} is switched on or off, not dimmed: a boost below "
            f"{load.min_boost_w:g} W (half its power) would leave it off",
        )
    return float(value)


# -- messages -------------------------------------------------------------------------------


def _dumps(doc: object) -> str:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _checked(message: Message, key: str, meant: Control) -> Message:
    """``message`` as ``pvopt regulate`` parses it must mean ``meant`` for ``key``: else a
    bug here (never sent)."""
    payload = message.payload.encode("utf-8")
    try:
        if message.topic == topics.REGULATION_CONTROL:
            got_key, control = parse_regulation_control(payload)
        else:
            got_key, control = (
                topics.equipment_id(message.topic),
                parse_scr_control(message.topic, payload),
            )
    except InputError as exc:
        raise AssertionError(f"steer built a message regulate refuses: {exc}") from None
    if (got_key, control) != (key, meant):
        raise AssertionError(f"steer built {message} but regulate reads {got_key} {control}")
    return message


def mode_message(load: Load, mode: Mode) -> Message:
    """``scr/<id>/control`` ``AUTO`` / ``ON`` / ``OFF``."""
    text = next(k for k, v in MODES.items() if v is mode)
    message = Message(topics.scr_control(load.id), text)
    return _checked(message, load.id, Control(mode=mode))


def boost_message(load: Load, minutes: int, power_w: float) -> Message:
    """``regulation/control`` force ``power_w`` for ``minutes`` (by the load's name)."""
    doc = {"command": "force", "name": load.name, "power": power_w, "duration": minutes * 60}
    message = Message(topics.REGULATION_CONTROL, _dumps(doc))
    meant = Control(mode=Mode.FORCED, power_w=power_w, duration_s=float(minutes * 60))
    return _checked(message, load.name, meant)


def mode_request(loads: Sequence[Load], key: str, body: object) -> tuple[Load, Message]:
    """``POST /api/loads/{key}/mode`` ``{"mode": "AUTO" | "ON" | "OFF"}``."""
    load = find(loads, key)
    fields = _fields(body, ("mode",))
    return load, mode_message(load, _mode(fields["mode"]))


def boost_request(loads: Sequence[Load], key: str, body: object) -> tuple[Load, Message]:
    """``POST /api/loads/{key}/boost`` ``{"minutes": N, "power_w": P}``."""
    load = find(loads, key)
    fields = _fields(body, ("minutes", "power_w"))
    minutes = _minutes(fields["minutes"])
    power = _power(fields["power_w"], load)
    return load, boost_message(load, minutes, power)
