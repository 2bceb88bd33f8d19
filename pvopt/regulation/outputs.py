"""What the regulation tells the devices and the status: command payloads, the commands
due (a change, or the periodic re-send), and each load's :class:`Output`.

Every decision asks for all of them and most loads stay as they were: the payload of a
power and the output of an unchanged load are remembered (inverting the dimmer curve is
the core's costliest step).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from pvopt.equipment.dimmer import percent_for_power
from pvopt.equipment.model import EquipmentConfig, SiteConfig, VariablePowerConfig
from pvopt.regulation.model import Mode, MqttCommand, Output
from pvopt.regulation.state import LoadState


def command_payload(cfg: EquipmentConfig, power_w: float) -> tuple[str, float | None]:
    """The command payload of a load at ``power_w`` (on/off loads: on above 0), and the
    dimmer percent (None for on/off loads)."""
    cmd = cfg.command
    if isinstance(cfg, VariablePowerConfig):
        percent = round(percent_for_power(power_w, cfg.max_power_w, cfg.dimmer_curve), 1)
        return cmd.payload_percent.format(percent=percent), percent
    return (cmd.payload_on if power_w > 0 else cmd.payload_off), None


def off_commands(site: SiteConfig) -> tuple[MqttCommand, ...]:
    """Every load's "off" command, from the configuration alone: what the daemon sends when
    the regulator itself cannot be trusted to say it (an unexpected error)."""
    return tuple(
        MqttCommand(
            cfg.command.topic, command_payload(cfg, 0.0)[0], cfg.command.qos, cfg.command.retain
        )
        for cfg in site.equipment
    )


@dataclass(frozen=True, slots=True)
class Sent:
    """The last command sent to a load, and when."""

    payload: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Payload:
    """A load's payload (and dimmer percent) for a power."""

    power_w: float
    payload: str
    percent: float | None


@dataclass(frozen=True, slots=True)
class OutputKey:
    """What an :class:`Output` is made of (rounded as published)."""

    power_w: float
    on: bool
    mode: Mode
    reason: str
    energy_wh: float
    percent: float | None
    temperature_c: float | None


@dataclass(slots=True)
class LoadOutput:
    """What the outputs remember of one load."""

    sent: Sent | None = None
    payload: Payload | None = None
    key: OutputKey | None = None  # what the last output was made of
    output: Output | None = None


class Emitter:
    """The commands and outputs of a site's loads (in priority order)."""

    def __init__(self, loads: Sequence[LoadState], resend_interval_s: float) -> None:
        self.loads = loads
        self.resend_interval_s = resend_interval_s
        self._memory = [LoadOutput() for _ in loads]
        self._resend_at: datetime | None = None  # the first periodic re-send due

    def _payload(self, state: LoadState, memory: LoadOutput) -> Payload:
        cached = memory.payload
        if cached is not None and cached.power_w == state.power_w:
            return cached
        payload, percent = command_payload(state.cfg, state.power_w)
        cached = memory.payload = Payload(state.power_w, payload, percent)
        return cached

    def commands(
        self, now: datetime, resend_only: bool = False, force: bool = False
    ) -> tuple[MqttCommand, ...]:
        """The commands to send now: every changed payload (unless ``resend_only``), every
        payload not sent for ``resend_interval``, or all of them (``force``)."""
        if resend_only and not force and self._resend_at is not None and now < self._resend_at:
            return ()  # nothing changed and nothing due: most ticks end here
        out: list[MqttCommand] = []
        interval = self.resend_interval_s
        for state, memory in zip(self.loads, self._memory, strict=True):
            payload = self._payload(state, memory).payload
            last = memory.sent
            due = last is None or (now - last.at).total_seconds() >= interval
            changed = last is None or last.payload != payload
            if force or due or (changed and not resend_only):
                cmd = state.cfg.command
                out.append(MqttCommand(cmd.topic, payload, cmd.qos, cmd.retain))
                memory.sent = Sent(payload, now)
        if out or self._resend_at is None:
            sent = [m.sent.at for m in self._memory if m.sent is not None]
            self._resend_at = (
                min(sent) + timedelta(seconds=interval)
                if sent and len(sent) == len(self.loads)
                else None
            )
        return tuple(out)

    def outputs(self) -> tuple[Output, ...]:
        """Each load's output, in priority order."""
        outputs = []
        for state, memory in zip(self.loads, self._memory, strict=True):
            percent = self._payload(state, memory).percent
            temp = state.temperature.celsius if state.temperature else None
            key = OutputKey(
                round(state.power_w, 1),
                state.on,
                state.manual.mode,
                state.reason,
                round(state.counters.energy_wh, 1),
                percent,
                temp,
            )
            output = memory.output
            if output is None or memory.key != key:  # most loads stay as they were
                output = memory.output = Output(
                    name=state.cfg.name,
                    id=state.cfg.id,
                    power_w=key.power_w,
                    on=key.on,
                    mode=key.mode,
                    forced=key.mode is Mode.FORCED,
                    reason=key.reason,
                    energy_wh=key.energy_wh,
                    percent=percent,
                    temperature_c=temp,
                )
                memory.key = key
            outputs.append(output)
        return tuple(outputs)
