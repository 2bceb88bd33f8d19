"""The one registry of equipment types: YAML ``type:`` → config class and command presets.

Names are those of the original system, so existing ``equipment_config.yml`` files keep
their ``type:`` lines.
"""

from __future__ import annotations

from dataclasses import dataclass

from pvopt.equipment.model import (
    ConstantPowerConfig,
    EquipmentConfig,
    TempDrivenVariablePowerConfig,
    UnknownPowerConfig,
    VariablePowerConfig,
)
from pvopt.equipment.presets import DIMMER_PRESETS, SWITCH_PRESETS, CommandPreset


@dataclass(frozen=True)
class EquipmentType:
    """One registered type."""

    config: type[EquipmentConfig]
    presets: dict[str, CommandPreset]
    default_preset: str


EQUIPMENT_TYPES: dict[str, EquipmentType] = {
    "VariablePowerEquipment": EquipmentType(VariablePowerConfig, DIMMER_PRESETS, "scr"),
    "TempDrivenVariablePowerEquipment": EquipmentType(
        TempDrivenVariablePowerConfig, DIMMER_PRESETS, "scr"
    ),
    "ConstantPowerEquipment": EquipmentType(ConstantPowerConfig, SWITCH_PRESETS, "wifi_plug"),
    "UnknownPowerEquipment": EquipmentType(UnknownPowerConfig, SWITCH_PRESETS, "wifi_plug"),
}
