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
from typing import Final

from pvopt.equipment.dimmer import percent_for_power
from pvopt.equipment.model import EquipmentConfig, SiteConfig, VariablePowerConfig
from pvopt.regulation.calendar import at_least
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
            topic=cfg.command.topic,
            payload=command_payload(cfg, 0.0)[0],
            qos=cfg.command.qos,
            retain=cfg.command.retain,
        )
        for cfg in site.equipment
    )


@dataclass(slots=True)
class Sent:
    """The last command sent to a load, and when (read-only, ``Final``: one per command,
    see :mod:`pvopt.regulation.model`)."""

    payload: Final[str]
    at: Final[datetime]


@dataclass(slots=True)
class Payload:
    """A load's payload (and dimmer percent) for a power (read-only, ``Final``: one per
    change of a dimmer's power)."""

    power_w: Final[float]
    payload: Final[str]
    percent: Final[float | None]


@dataclass(slots=True)
class LoadOutput:
    """What the outputs remember of one load (and the load: the loops over them need no
    zip with the loads)."""

    state: LoadState
    sent: Sent | None = None
    payload: Payload | None = None
    output: Output | None = None  # the last one
    power_w: float | None = None  # the power it was made of, unrounded
    energy_wh: float | None = None  # the energy it was made of, unrounded


class Emitter:
    """The commands and outputs of a site's loads (in priority order)."""

    def __init__(self, loads: Sequence[LoadState], resend_interval_s: float) -> None:
        self.loads = loads
        self.resend_interval_s = resend_interval_s
        self._resend_after = at_least(resend_interval_s)  # exactly resend_interval_s
        self._memory = [LoadOutput(state=state) for state in loads]
        #: When the first periodic re-send falls due (None: not every load was sent a
        #: command yet). Set by :meth:`commands` alone; a plain attribute, not a property:
        #: the plant reads it on each of ~170,000 ticks a day.
        self.resend_at: datetime | None = None
        #: The oldest command sent (None: none yet): no load is due for its re-send
        #: before ``resend_interval`` after it, and most decisions need not ask each load.
        self._oldest_sent: datetime | None = None
        self._outputs: tuple[Output, ...] = ()  # the last ones

    def _payload(self, state: LoadState, memory: LoadOutput) -> Payload:
        cached = memory.payload
        if cached is not None and cached.power_w == state.power_w:
            return cached
        payload, percent = command_payload(state.cfg, state.power_w)
        cached = memory.payload = Payload(power_w=state.power_w, payload=payload, percent=percent)
        return cached

    def commands(
        self, now: datetime, resend_only: bool = False, force: bool = False
    ) -> tuple[MqttCommand, ...]:
        """The commands to send now: every changed payload (unless ``resend_only``), every
        payload not sent for ``resend_interval``, or all of them (``force``)."""
        if resend_only and not force and self.resend_at is not None and now < self.resend_at:
            return ()  # nothing changed and nothing due: most ticks end here
        out: list[MqttCommand] = []
        resend_after = self._resend_after
        oldest = self._oldest_sent
        due = oldest is None or now - oldest >= resend_after  # any load due?
        for memory in self._memory:
            state = memory.state
            cached = memory.payload
            if cached is None or cached.power_w != state.power_w:
                cached = self._payload(state, memory)  # the power moved: a new payload
            payload = cached.payload
            last = memory.sent
            if (
                force
                or last is None
                or (not resend_only and last.payload != payload)  # changed
                or (due and now - last.at >= resend_after)  # due
            ):
                cmd = state.cfg.command
                out.append(
                    MqttCommand(topic=cmd.topic, payload=payload, qos=cmd.qos, retain=cmd.retain)
                )
                memory.sent = Sent(payload=payload, at=now)
        if not out and self.resend_at is not None:
            return ()
        sent = [m.sent.at for m in self._memory if m.sent is not None]
        self._oldest_sent = min(sent) if sent else None
        self.resend_at = (
            self._oldest_sent + timedelta(seconds=self.resend_interval_s)
            if self._oldest_sent is not None and len(sent) == len(self.loads)
            else None
        )
        return tuple(out)

    def outputs(self) -> tuple[Output, ...]:
        """Each load's output, in priority order (the same objects while unchanged)."""
        changed = len(self._outputs) != len(self._memory)
        for memory in self._memory:
            state = memory.state
            output = memory.output
            temperature = state.temperature
            if (
                output is not None
                and state.power_w == memory.power_w
                and state.counters.energy_wh == memory.energy_wh
                and output.reason == state.reason
                and output.mode is state.manual.mode
                and output.temperature_c == (temperature.celsius if temperature else None)
            ):
                continue  # most loads stay as they were
            if self._refresh(state, memory):
                changed = True
        if changed:
            self._outputs = tuple([m.output for m in self._memory if m.output is not None])
        return self._outputs

    def _refresh(self, state: LoadState, memory: LoadOutput) -> bool:
        """Remake a load's output from its state if anything published (rounded) changed;
        True if so."""
        cached = memory.payload
        if cached is None or cached.power_w != state.power_w:
            cached = self._payload(state, memory)  # the power moved: a new payload
        percent = cached.percent
        temp = state.temperature.celsius if state.temperature else None
        power_w = round(state.power_w, 1)
        energy_wh = round(state.counters.energy_wh, 1)
        on = state.power_w > 0
        mode = state.manual.mode
        memory.power_w = state.power_w
        memory.energy_wh = state.counters.energy_wh
        output = memory.output
        if (
            output is not None
            and output.power_w == power_w
            and output.on == on
            and output.mode is mode
            and output.reason == state.reason
            and output.energy_wh == energy_wh
            and output.percent == percent
            and output.temperature_c == temp
        ):
            return False
        memory.output = Output(
            name=state.name,
            id=state.cfg.id,
            power_w=power_w,
            on=on,
            mode=mode,
            forced=mode is Mode.FORCED,
            reason=state.reason,
            energy_wh=energy_wh,
            percent=percent,
            temperature_c=temp,
        )
        return True
