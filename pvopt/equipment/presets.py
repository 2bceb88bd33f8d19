"""How each kind of device is commanded over MQTT: topic and payloads, by preset.

``{id}`` in a topic is the equipment's YAML ``id``. Dimmer payloads are formatted from
the firing percentage ``{percent}`` (0–100); on/off payloads are fixed strings.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CommandPreset:
    """Topic template and payloads of one device family."""

    topic: str
    payload_on: str = "1"
    payload_off: str = "0"
    payload_percent: str = "{percent:.1f}"


#: Variable loads (dimmers): the percentage is sent.
DIMMER_PRESETS: dict[str, CommandPreset] = {
    # The ESP dimmer firmware of the original system: float 0–100 on scr/<id>/in.
    "scr": CommandPreset(topic="scr/{id}/in"),
    # Tasmota dimmer module: Dimmer 0–100.
    "tasmota": CommandPreset(topic="cmnd/{id}/Dimmer", payload_percent="{percent:.0f}"),
}

#: On/off loads (plugs, relays, contactors).
SWITCH_PRESETS: dict[str, CommandPreset] = {
    # The original system's plugs.
    "wifi_plug": CommandPreset(topic="wifi_plug/{id}/in", payload_on="1", payload_off="0"),
    "tasmota": CommandPreset(topic="cmnd/{id}/POWER", payload_on="ON", payload_off="OFF"),
    # Shelly Gen1 relay API (Gen2+ devices offer it too with MQTT "RPC + Gen1 compat").
    "shelly": CommandPreset(
        topic="shellies/{id}/relay/0/command", payload_on="on", payload_off="off"
    ),
}
