"""equipment_config.yml (docs/design.md §3): what loads, what is refused, and how it is reported.

Errors are specified by their exact text: ``file:line: key.path: message``, one per line.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import time
from pathlib import Path
from textwrap import dedent

import pytest

from pvopt.cli import main
from pvopt.equipment.dimmer import Curve
from pvopt.equipment.loader import (
    COMMAND_KEYS,
    ConfigFileError,
    load_site_config,
    parse_site_config,
    type_name,
)
from pvopt.equipment.model import (
    Command,
    ConstantPowerConfig,
    RegulationConfig,
    SiteConfig,
    TempDrivenVariablePowerConfig,
    TimerWindow,
    UnknownPowerConfig,
    VariablePowerConfig,
)
from pvopt.equipment.reference import BEGIN_MARK, END_MARK, reference_markdown
from pvopt.equipment.registry import EQUIPMENT_TYPES

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "equipment_config.yml.template"
README = ROOT / "README_equipment_config.md"
HC = (time(2, 5), time(6, 50))
FILE = "equipment_config.yml"

#: The original fork's configuration, as in the brief (flow style) ...
ORIGINAL_FLOW = (
    "equipment: [{type: TempDrivenVariablePowerEquipment, id: 0, name: water_heater, "
    "max_power: 2400, temp_min: 45, temp_eco: 50, temp_sol_min: 55, temp_max: 60}]\n"
)
#: ... and as the fork ships it (block style).
ORIGINAL_BLOCK = """\
equipment:
  - type: TempDrivenVariablePowerEquipment
    id: 0
    name: water_heater
    max_power: 2400
    temp_min: 45
    temp_eco: 50
    temp_sol_min: 55
    temp_max: 60
"""


def parse(text: str, settings_hc: tuple[time, time] | None = HC) -> SiteConfig:
    return parse_site_config(dedent(text), FILE, settings_hc)


def errors_of(text: str) -> list[str]:
    with pytest.raises(ConfigFileError) as info:
        parse(text)
    return str(info.value).splitlines()


def yaml_blocks(markdown: str) -> list[str]:
    return re.findall(r"^```yaml\n(.*?)^```", markdown, flags=re.MULTILINE | re.DOTALL)


# -- what loads ---------------------------------------------------------------------------


@pytest.mark.parametrize("text", [ORIGINAL_FLOW, ORIGINAL_BLOCK], ids=["flow", "block"])
def test_the_original_forks_config_loads_unchanged(text: str) -> None:
    site = parse(text)
    assert len(site.equipment) == 1
    heater = site.equipment[0]
    assert isinstance(heater, TempDrivenVariablePowerConfig)
    assert (heater.name, heater.id, heater.max_power_w) == ("water_heater", "0", 2400.0)
    assert (heater.temp_min_c, heater.temp_eco_c, heater.temp_sol_min_c, heater.temp_max_c) == (
        45.0,
        50.0,
        55.0,
        60.0,
    )
    assert heater.command == Command(topic="scr/0/in")
    assert heater.is_variable and heater.dimmer_curve is Curve.PHASE_ANGLE
    assert heater.min_energy_wh is None and heater.min_power_w == 0.0
    assert site.regulation == RegulationConfig(offpeak_start=HC[0], offpeak_end=HC[1])


def test_the_template_loads_in_priority_order() -> None:
    site = load_site_config(TEMPLATE, HC)
    assert [(type(e), e.name, e.command.topic) for e in site.equipment] == [
        (TempDrivenVariablePowerConfig, "water_heater", "scr/0/in"),
        (ConstantPowerConfig, "pool_pump", "shellies/pool/relay/0/command"),
        (UnknownPowerConfig, "dehumidifier", "cmnd/plug1/POWER"),
    ]
    heater = site.equipment[0]
    assert isinstance(heater, TempDrivenVariablePowerConfig)
    assert (heater.id, heater.max_power_w) == ("0", 2400.0)
    assert (heater.temp_min_c, heater.temp_eco_c, heater.temp_sol_min_c, heater.temp_max_c) == (
        45,
        50,
        55,
        60,
    )


def test_the_templates_commented_regulation_section_shows_the_defaults() -> None:
    lines = TEMPLATE.read_text("utf-8").splitlines()
    start = lines.index("# regulation:")
    section = [line.removeprefix("# ") for line in lines[start:] if line.startswith("#")]
    uncommented = ORIGINAL_BLOCK + "\n".join(section) + "\n"
    default_keys = {f.metadata["key"] for f in dataclasses.fields(RegulationConfig)}
    assert {line.split(":")[0].strip() for line in section[1:]} == default_keys
    assert parse(uncommented, settings_hc=None).regulation == RegulationConfig(
        offpeak_start=HC[0], offpeak_end=HC[1]
    )


@pytest.mark.parametrize("index", range(len(yaml_blocks(README.read_text("utf-8")))))
def test_every_yaml_example_of_the_readme_loads(index: int) -> None:
    block = yaml_blocks(README.read_text("utf-8"))[index]
    site = parse_site_config(block, f"README block {index}", HC)
    assert site.equipment


def test_the_readme_has_yaml_examples_of_each_kind_of_device() -> None:
    blocks = yaml_blocks(README.read_text("utf-8"))
    assert len(blocks) >= 5
    kinds = {type(e) for block in blocks for e in parse_site_config(block, "x", HC).equipment}
    assert kinds == {entry.config for entry in EQUIPMENT_TYPES.values()}
    presets = "".join(blocks)
    assert "preset: shelly" in presets and "preset: tasmota" in presets


def test_the_readme_embeds_the_generated_reference() -> None:
    text = README.read_text("utf-8")
    assert f"{BEGIN_MARK}\n{reference_markdown()}{END_MARK}\n" in text, (
        "README_equipment_config.md is out of date: paste `python -m pvopt.equipment.reference`"
        " between its GENERATED marks"
    )


def test_the_readmes_error_example_is_what_the_loader_prints() -> None:
    text = README.read_text("utf-8")
    numbered, printed = re.search(
        r"```text\n( 1  equipment:.*?)```.*?```text\n(.*?)```", text, flags=re.DOTALL
    ).groups()  # type: ignore[union-attr]
    yaml_text = "".join(line[4:] + "\n" for line in numbered.splitlines())
    assert errors_of(yaml_text) == printed.splitlines()


def test_the_reference_documents_every_type_key_and_preset() -> None:
    reference = reference_markdown()
    for name, entry in EQUIPMENT_TYPES.items():
        assert f"### `{name}`" in reference
        for f in dataclasses.fields(entry.config):
            if f.metadata["key"] is not None:
                assert f"| `{f.metadata['key']}` |" in reference
        for preset in entry.presets.values():
            assert f"`{preset.topic}`" in reference
    for key in COMMAND_KEYS:
        assert f"| `{key}` |" in reference
    for f in dataclasses.fields(RegulationConfig):
        assert f"| `{f.metadata['key']}` |" in reference


def test_presets_resolve_topics_and_payloads() -> None:
    site = parse(
        """\
        equipment:
          - {type: TempDrivenVariablePowerEquipment, id: 0, name: heater, max_power: 2400,
             temp_min: 45, temp_eco: 50, temp_sol_min: 55, temp_max: 60}
          - {type: UnknownPowerEquipment, id: plug1, name: plug, preset: tasmota}
          - {type: ConstantPowerEquipment, id: pool, name: pump, preset: shelly,
             nominal_power: 750}
          - {type: ConstantPowerEquipment, id: 3, name: plug3, nominal_power: 100}
          - {type: VariablePowerEquipment, id: d1, name: dimmer, max_power: 1000,
             preset: tasmota}
        """
    )
    assert [e.command for e in site.equipment] == [
        Command("scr/0/in", "1", "0", "{percent:.1f}"),
        Command("cmnd/plug1/POWER", "ON", "OFF"),
        Command("shellies/pool/relay/0/command", "on", "off"),
        Command("wifi_plug/3/in", "1", "0"),
        Command("cmnd/d1/Dimmer", payload_percent="{percent:.0f}"),
    ]
    assert [type_name(e) for e in site.equipment] == [
        "TempDrivenVariablePowerEquipment",
        "UnknownPowerEquipment",
        "ConstantPowerEquipment",
        "ConstantPowerEquipment",
        "VariablePowerEquipment",
    ]


def test_explicit_command_keys_override_the_preset() -> None:
    site = parse(
        """\
        equipment:
          - type: ConstantPowerEquipment
            id: garage
            name: charger
            nominal_power: 1800
            preset: tasmota
            topic: home/{id}/charger/set
            payload_on: ON
            payload_off: 0
            qos: 2
            retain: yes
          - type: VariablePowerEquipment
            id: 7
            name: heater
            max_power: 2000
            payload_percent: "{percent:.0f}%"
        """
    )
    charger, heater = site.equipment
    assert charger.command == Command("home/garage/charger/set", "ON", "0", qos=2, retain=True)
    assert heater.command == Command("scr/7/in", payload_percent="{percent:.0f}%")


def test_yaml_11_surprises_are_read_as_a_user_means_them() -> None:
    site = parse(
        """\
        equipment:
          - type: VariablePowerEquipment
            id: 007
            name: heater
            max_power: 2.4e3
            min_power: 1e2
            period: 86400
            dimmer_curve: linear
            min_energy: ~
        regulation:
          offpeak_start: 22:30
          offpeak_end: "6:05"
        """
    )
    heater = site.equipment[0]
    assert isinstance(heater, VariablePowerConfig)
    assert (heater.id, heater.max_power_w, heater.min_power_w) == ("007", 2400.0, 100.0)
    assert heater.dimmer_curve is Curve.LINEAR and heater.min_energy_wh is None
    assert isinstance(heater.period_s, int)
    assert (site.regulation.offpeak_start, site.regulation.offpeak_end) == (
        time(22, 30),
        time(6, 5),
    )


def test_anchors_and_merge_keys_share_settings_between_items() -> None:
    site = parse(
        """\
        equipment:
          - &plug {type: UnknownPowerEquipment, id: plug1, name: p1, preset: tasmota}
          - <<: *plug
            id: plug2
            name: p2
        """
    )
    assert [e.command.topic for e in site.equipment] == ["cmnd/plug1/POWER", "cmnd/plug2/POWER"]


def test_off_peak_window_comes_from_the_settings_unless_the_file_sets_it() -> None:
    assert parse(ORIGINAL_BLOCK, None).regulation.offpeak_start is None
    assert parse(ORIGINAL_BLOCK, (time(22, 0), time(6, 0))).regulation.offpeak_end == time(6, 0)
    site = parse(ORIGINAL_BLOCK + "regulation:\n  offpeak_start: '23:00'\n", HC)
    assert (site.regulation.offpeak_start, site.regulation.offpeak_end) == (time(23), HC[1])
    assert parse(ORIGINAL_BLOCK + "regulation:\n", HC).regulation == RegulationConfig(
        offpeak_start=HC[0], offpeak_end=HC[1]
    )


def test_regulation_values_are_read_into_their_fields() -> None:
    site = parse(ORIGINAL_BLOCK + "regulation:\n  target_grid_power: -50\n  dead_band: 25\n")
    assert (site.regulation.target_grid_w, site.regulation.dead_band_w) == (-50.0, 25.0)


def test_the_loaded_config_is_frozen() -> None:
    site = parse(ORIGINAL_BLOCK)
    assert isinstance(site.equipment, tuple)
    with pytest.raises(dataclasses.FrozenInstanceError):
        site.equipment[0].name = "other"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        site.equipment[0].command.topic = "x"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        site.regulation.dead_band_w = 0  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        site.equipment = ()  # type: ignore[misc]


# -- what is refused, and how it is said ---------------------------------------------------

HEATER = """\
equipment:
  - type: TempDrivenVariablePowerEquipment
    id: 0
    name: water_heater
    max_power: 2400
    temp_min: 45
    temp_eco: 50
    temp_sol_min: 55
    temp_max: 60
"""


def heater_with(line: int, replacement: str) -> str:
    """HEATER with its 1-based ``line`` replaced (``""`` deletes it)."""
    lines = HEATER.splitlines(keepends=True)
    lines[line - 1] = replacement + "\n" if replacement else ""
    return "".join(lines)


ERRORS = {
    "unknown key": (
        heater_with(6, "    temp_minimum: 45"),
        "equipment_config.yml:6: equipment[0].temp_minimum: unknown key (did you mean 'temp_min'?)",
    ),
    "unknown key, nothing close": (
        HEATER + "    colour: blue\n",
        "equipment_config.yml:10: equipment[0].colour: unknown key; expected one of type, name, "
        "id, max_power, min_power, min_energy, period, dimmer_curve, yields, temp_min, "
        "temp_eco, temp_sol_min, temp_max, probe_timeout, preset, topic, payload_on, payload_off, "
        "payload_percent, qos, retain",
    ),
    "missing key": (
        heater_with(9, ""),
        "equipment_config.yml:2: equipment[0].temp_max: "
        "required key is missing (never heated above it, in any mode, in °C)",
    ),
    "missing type": (
        "equipment:\n  - id: 0\n    name: water_heater\n    max_power: 2400\n",
        "equipment_config.yml:2: equipment[0].type: required key is missing (one of "
        "VariablePowerEquipment, TempDrivenVariablePowerEquipment, ConstantPowerEquipment, "
        "UnknownPowerEquipment)",
    ),
    "wrong type 'abc'": (
        """\
        equipment:
          - type: UnknownPowerEquipment
            id: plug1
            name: plug
          - type: VariablePowerEquipment
            id: 1
            max_power: abc
            name: heater
        """,
        "equipment_config.yml:7: equipment[1].max_power: expected a positive number, got 'abc'",
    ),
    "quoted number": (
        heater_with(5, '    max_power: "2400"'),
        "equipment_config.yml:5: equipment[0].max_power: expected a positive number, got '2400'",
    ),
    "boolean for a number": (
        heater_with(5, "    max_power: yes"),
        "equipment_config.yml:5: equipment[0].max_power: expected a positive number, got yes",
    ),
    "list for a number": (
        heater_with(5, "    max_power: [1, 2]"),
        "equipment_config.yml:5: equipment[0].max_power: expected a positive number, got a list",
    ),
    "zero": (
        heater_with(5, "    max_power: 0"),
        "equipment_config.yml:5: equipment[0].max_power: expected a positive number, got 0",
    ),
    "negative": (
        heater_with(5, "    max_power: -2400"),
        "equipment_config.yml:5: equipment[0].max_power: expected a positive number, got -2400",
    ),
    "infinite": (
        heater_with(5, "    max_power: .inf"),
        "equipment_config.yml:5: equipment[0].max_power: expected a positive number, got .inf",
    ),
    "out of range": (
        heater_with(9, "    temp_max: 120"),
        "equipment_config.yml:9: equipment[0].temp_max: expected a number from 0 to 95, got 120",
    ),
    "negative where at least 0": (
        HEATER + "    min_power: -1\n",
        "equipment_config.yml:10: equipment[0].min_power: expected a number of at least 0, got -1",
    ),
    "not a whole number": (
        HEATER + "    period: 3600.5\n",
        "equipment_config.yml:10: equipment[0].period: "
        "expected a whole number from 3600 to 604800, got 3600.5",
    ),
    "qos out of range": (
        HEATER + "    qos: 3\n",
        "equipment_config.yml:10: equipment[0].qos: expected a whole number from 0 to 2, got 3",
    ),
    "retain not a boolean": (
        HEATER + "    retain: sometimes\n",
        "equipment_config.yml:10: equipment[0].retain: expected true or false, got 'sometimes'",
    ),
    "unknown curve": (
        HEATER + "    dimmer_curve: cubic\n",
        "equipment_config.yml:10: equipment[0].dimmer_curve: "
        "expected one of phase_angle, linear, got 'cubic'",
    ),
    "unknown type": (
        heater_with(2, "  - type: WaterHeater"),
        "equipment_config.yml:2: equipment[0].type: unknown type 'WaterHeater'; expected one of "
        "VariablePowerEquipment, TempDrivenVariablePowerEquipment, ConstantPowerEquipment, "
        "UnknownPowerEquipment",
    ),
    "unknown preset": (
        HEATER + "    preset: shelly\n",
        "equipment_config.yml:10: equipment[0].preset: unknown preset 'shelly' for "
        "TempDrivenVariablePowerEquipment; expected one of scr, tasmota",
    ),
    "duplicate name": (
        HEATER + "  - {type: UnknownPowerEquipment, id: plug1,\n" + "     name: water_heater}\n",
        "equipment_config.yml:11: equipment[1].name: "
        "duplicate name 'water_heater' (also equipment[0].name at line 4)",
    ),
    "duplicate id": (
        HEATER + "  - {type: UnknownPowerEquipment, id: '0', name: plug}\n",
        "equipment_config.yml:10: equipment[1].id: "
        "duplicate id '0' (also equipment[0].id at line 3)",
    ),
    "temp_eco below temp_min": (
        heater_with(7, "    temp_eco: 40"),
        "equipment_config.yml:7: equipment[0].temp_eco: must be at least temp_min (45), got 40",
    ),
    "temp_eco above temp_max": (
        heater_with(7, "    temp_eco: 62.5"),
        "equipment_config.yml:7: equipment[0].temp_eco: must be at most temp_max (60), got 62.5",
    ),
    "temp_sol_min not below temp_max": (
        heater_with(8, "    temp_sol_min: 60"),
        "equipment_config.yml:8: equipment[0].temp_sol_min: must be below temp_max (60), got 60",
    ),
    "min_power not below max_power": (
        HEATER + "    min_power: 2400\n",
        "equipment_config.yml:10: equipment[0].min_power: must be below max_power (2400), got 2400",
    ),
    "name with a space": (
        heater_with(4, "    name: water heater"),
        "equipment_config.yml:4: equipment[0].name: expected letters, digits, '_' or '-' only "
        "(it goes into MQTT topics and InfluxDB tags), got 'water heater'",
    ),
    "name not a text": (
        heater_with(4, "    name: 12"),
        "equipment_config.yml:4: equipment[0].name: expected a text, got 12",
    ),
    "id with a topic separator": (
        heater_with(3, "    id: scr/0"),
        "equipment_config.yml:3: equipment[0].id: expected a non-empty id without '/', '+' or "
        "'#' (it goes into MQTT topics), got 'scr/0'",
    ),
    "id with a wildcard": (
        heater_with(3, "    id: '#'"),
        "equipment_config.yml:3: equipment[0].id: expected a non-empty id without '/', '+' or "
        "'#' (it goes into MQTT topics), got '#'",
    ),
    "topic with a wildcard": (
        HEATER + "    topic: scr/+/in\n",
        "equipment_config.yml:10: equipment[0].topic: "
        "must not contain the MQTT wildcards + or #, got 'scr/+/in'",
    ),
    "bad payload format": (
        HEATER + "    payload_percent: '{pct}'\n",
        "equipment_config.yml:10: equipment[0].payload_percent: "
        "expected a format of {percent} such as '{percent:.1f}', got '{pct}'",
    ),
    "key written twice": (
        HEATER + "    max_power: 3000\n",
        "equipment_config.yml:10: equipment[0].max_power: key repeated (first at line 5)",
    ),
    "bad HH:MM": (
        HEATER + "regulation:\n  offpeak_start: '25:00'\n",
        "equipment_config.yml:11: regulation.offpeak_start: "
        "expected a time of day HH:MM, got '25:00'",
    ),
    "bad HH:MM unquoted": (
        HEATER + "regulation:\n  offpeak_end: 6h50\n",
        "equipment_config.yml:11: regulation.offpeak_end: expected a time of day HH:MM, got '6h50'",
    ),
    "unknown regulation key": (
        HEATER + "regulation:\n  dead_bands: 5\n",
        "equipment_config.yml:11: regulation.dead_bands: unknown key (did you mean 'dead_band'?)",
    ),
    "regulation out of range": (
        HEATER + "regulation:\n  stale_timeout: 0\n",
        "equipment_config.yml:11: regulation.stale_timeout: "
        "expected a positive number up to 300, got 0",
    ),
    "regulation not a mapping": (
        HEATER + "regulation: [1]\n",
        "equipment_config.yml:10: regulation: expected a mapping of tunables, got a list",
    ),
    "unknown top-level key": (
        HEATER + "equipments: []\n",
        "equipment_config.yml:10: equipments: unknown key (did you mean 'equipment'?)",
    ),
    "empty equipment list": (
        "equipment: []\n",
        "equipment_config.yml:1: equipment: expected a non-empty list, got an empty list",
    ),
    "equipment without items": (
        "# nothing yet\nequipment:\n",
        "equipment_config.yml:2: equipment: expected a non-empty list, got nothing (null)",
    ),
    "no equipment key": (
        "regulation:\n  dead_band: 5\n",
        "equipment_config.yml:1: equipment: required key is missing (the list of equipment)",
    ),
    "item not a mapping": (
        "equipment:\n  - water_heater\n",
        "equipment_config.yml:2: equipment[0]: expected a mapping with a 'type:' key, "
        "got 'water_heater'",
    ),
    "top level not a mapping": (
        "- type: VariablePowerEquipment\n",
        "equipment_config.yml:1: "
        "expected a mapping with an 'equipment:' list at the top level, got a list",
    ),
    "empty file": (
        "# all commented out\n",
        "equipment_config.yml:1: the file is empty; expected a mapping with an 'equipment:' list",
    ),
    "YAML syntax error": (
        heater_with(6, "   temp_min: 45"),
        "equipment_config.yml:6: YAML syntax error: while parsing a block collection (line 2), "
        "expected <block end>, but found '<block mapping start>'",
    ),
    "YAML tab": (
        heater_with(6, "\ttemp_min: 45"),
        "equipment_config.yml:6: YAML syntax error: while scanning for the next token, "
        "found character '\\t' that cannot start any token",
    ),
    "two YAML documents": (
        HEATER + "---\n" + HEATER,
        "equipment_config.yml:10: YAML syntax error: expected a single document in the stream "
        "(line 1), but found another document",
    ),
    "impossible date where a number goes": (
        heater_with(5, "    max_power: 2026-13-01"),
        "equipment_config.yml:5: equipment[0].max_power: expected a positive number, "
        "got 2026-13-01",
    ),
    "control character": (
        HEATER + "    topic: a\x07b\n",
        "equipment_config.yml:10: YAML syntax error: character U+0007 is not allowed in YAML",
    ),
}


@pytest.mark.parametrize(
    ("line", "replacement"),
    [(7, "    temp_eco: 45"), (7, "    temp_eco: 60"), (8, "    temp_sol_min: 59.5")],
    ids=["temp_eco = temp_min", "temp_eco = temp_max", "temp_sol_min just below temp_max"],
)
def test_temperature_thresholds_may_meet_where_the_rules_allow(line: int, replacement: str) -> None:
    """The bounds of the ordering rules are accepted (only temp_sol_min = temp_max is not)."""
    (heater,) = parse(heater_with(line, replacement)).equipment
    assert isinstance(heater, TempDrivenVariablePowerConfig)
    assert heater.temp_min_c <= heater.temp_eco_c <= heater.temp_max_c
    assert heater.temp_sol_min_c < heater.temp_max_c


@pytest.mark.parametrize(("text", "message"), list(ERRORS.values()), ids=list(ERRORS))
def test_each_error_names_file_line_and_key(text: str, message: str) -> None:
    assert errors_of(text) == [message]


def test_every_error_is_reported_together_in_line_order() -> None:
    text = """\
    equipment:
      - type: TempDrivenVariablePowerEquipment
        id: 0
        name: water heater
        max_power: abc
        temp_min: 45
        temp_eco: 40
        temp_sol_min: 55
        temp_max: 60
      - type: ConstantPowerEquipment
        id: 0
        name: pump
        nominal_pwer: 750
        preset: shelly
      - type: Fridge
        name: pump
    regulation:
      stale_timeout: 1000
    extra: 1
    """
    with pytest.raises(ConfigFileError) as info:
        parse(text)
    assert str(info.value).splitlines() == [
        "equipment_config.yml:4: equipment[0].name: expected letters, digits, '_' or '-' only "
        "(it goes into MQTT topics and InfluxDB tags), got 'water heater'",
        "equipment_config.yml:5: equipment[0].max_power: expected a positive number, got 'abc'",
        "equipment_config.yml:7: equipment[0].temp_eco: must be at least temp_min (45), got 40",
        "equipment_config.yml:11: equipment[1].id: duplicate id '0' "
        "(also equipment[0].id at line 3)",
        "equipment_config.yml:13: equipment[1].nominal_pwer: "
        "unknown key (did you mean 'nominal_power'?)",
        "equipment_config.yml:15: equipment[2].type: unknown type 'Fridge'; expected one of "
        "VariablePowerEquipment, TempDrivenVariablePowerEquipment, ConstantPowerEquipment, "
        "UnknownPowerEquipment",
        "equipment_config.yml:16: equipment[2].name: duplicate name 'pump' "
        "(also equipment[1].name at line 12)",
        "equipment_config.yml:18: regulation.stale_timeout: "
        "expected a positive number up to 300, got 1000",
        "equipment_config.yml:19: extra: "
        "unknown key; expected one of equipment, regulation, tariff",
    ]
    assert info.value.source == FILE
    assert [issue.line for issue in info.value.issues] == [4, 5, 7, 11, 13, 15, 16, 18, 19]
    assert isinstance(info.value, ValueError)


def test_unsafe_yaml_tags_are_refused_not_run(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    text = HEATER.replace(
        "name: water_heater", f'name: !!python/object/apply:os.system ["touch {marker}"]'
    )
    assert errors_of(text) == [
        "equipment_config.yml:4: equipment[0].name: expected a text, got a list"
    ]
    assert not marker.exists()


def test_a_missing_or_unreadable_file_is_a_config_file_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yml"
    with pytest.raises(ConfigFileError, match=r"nope\.yml: cannot read the file: No such file"):
        load_site_config(missing)
    binary = tmp_path / "binary.yml"
    binary.write_bytes(b"equipment: \xff\xfe\n")
    with pytest.raises(ConfigFileError, match=r"binary\.yml: cannot read the file: not UTF-8"):
        load_site_config(binary)
    with pytest.raises(ConfigFileError, match=r": cannot read the file: Is a directory"):
        load_site_config(tmp_path)


def test_load_site_config_names_the_file_as_given(tmp_path: Path) -> None:
    path = tmp_path / "equipment_config.yml"
    path.write_text(heater_with(5, "    max_power: abc"), "utf-8")
    with pytest.raises(ConfigFileError) as info:
        load_site_config(path, HC)
    assert str(info.value) == (
        f"{path}:5: equipment[0].max_power: expected a positive number, got 'abc'"
    )


# -- pvopt check-config ----------------------------------------------------------------------


def test_check_config_lists_the_equipment_and_exits_0(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["check-config", str(TEMPLATE)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"{TEMPLATE}: OK, 3 equipment in priority order",
        "1. water_heater (TempDrivenVariablePowerEquipment) -> scr/0/in",
        "2. pool_pump (ConstantPowerEquipment) -> shellies/pool/relay/0/command",
        "3. dehumidifier (UnknownPowerEquipment) -> cmnd/plug1/POWER",
    ]


def test_check_config_defaults_to_pvopt_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "site.yml"
    path.write_text(ORIGINAL_BLOCK, "utf-8")
    monkeypatch.setenv("PVOPT_CONFIG", str(path))
    assert main(["check-config"]) == 0
    assert "1. water_heater (TempDrivenVariablePowerEquipment) -> scr/0/in" in (
        capsys.readouterr().out
    )


def test_check_config_prints_every_error_on_stderr_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "equipment_config.yml"
    path.write_text(heater_with(5, "    max_power: abc") + "bogus: 1\n", "utf-8")
    assert main(["check-config", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        f"{path}:5: equipment[0].max_power: expected a positive number, got 'abc'",
        f"{path}:10: bogus: unknown key; expected one of equipment, regulation, tariff",
    ]


def test_check_config_exits_2_on_a_missing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check-config", str(tmp_path / "absent.yml")]) == 2
    assert "absent.yml: cannot read the file" in capsys.readouterr().err


def test_an_item_without_id_gets_its_position_as_the_original_loader_gave() -> None:
    """The original system's README example: a water heater without ``id``; its topics
    are ``scr/0/…`` as they were there. An explicit id is kept; a position already taken
    by an explicit id is an error, not a silent clash."""
    site = parse(
        """\
        equipment:
          - {type: VariablePowerEquipment, name: water_heater, max_power: 2400}
          - {type: ConstantPowerEquipment, name: pump, id: pool, nominal_power: 800}
          - {type: ConstantPowerEquipment, name: plug, nominal_power: 300}
        """
    )
    assert [(e.id, e.command.topic) for e in site.equipment] == [
        ("0", "scr/0/in"),
        ("pool", "wifi_plug/pool/in"),
        ("2", "wifi_plug/2/in"),
    ]
    with pytest.raises(ConfigFileError) as info:
        parse(
            """\
            equipment:
              - {type: VariablePowerEquipment, name: heater, id: 1, max_power: 2400}
              - {type: ConstantPowerEquipment, name: pump, nominal_power: 800}
            """
        )
    assert str(info.value) == (
        "equipment_config.yml:3: equipment[1].id: no id: its position '1' is already the id "
        "of equipment[0].id at line 2"
    )


# -- daily run time of on/off loads ------------------------------------------------------------

PUMP = """\
equipment:
  - type: ConstantPowerEquipment
    id: pool
    name: pool_pump
    nominal_power: 750
"""
PLUG = """\
equipment:
  - type: UnknownPowerEquipment
    id: plug1
    name: dehumidifier
"""


def test_on_off_loads_are_opportunistic_by_default() -> None:
    for text in (PUMP, PLUG):
        (load,) = parse(text).equipment
        assert isinstance(load, ConstantPowerConfig | UnknownPowerConfig)
        assert (load.daily_run_s, load.latest_end, load.timer_start) == (0.0, time(0, 0), None)
        assert load.timer_window() is None


@pytest.mark.parametrize("base", [PUMP, PLUG], ids=["constant", "unknown"])
def test_on_off_loads_accept_a_daily_run_time_a_latest_end_and_a_timer_start(base: str) -> None:
    (load,) = parse(
        base + '    daily_run_time: 14400\n    latest_end: "20:00"\n    timer_start: 09:30\n'
    ).equipment
    assert isinstance(load, ConstantPowerConfig | UnknownPowerConfig)
    assert (load.daily_run_s, load.latest_end, load.timer_start) == (
        14400.0,
        time(20, 0),
        time(9, 30),
    )
    assert load.timer_window() == TimerWindow(time(9, 30), time(13, 30))
    # without timer_start the timer ends at latest_end
    (load,) = parse(base + "    daily_run_time: 5400\n    latest_end: 20:00\n").equipment
    assert isinstance(load, ConstantPowerConfig | UnknownPowerConfig)
    assert load.timer_start is None
    assert load.timer_window() == TimerWindow(time(18, 30), time(20, 0))


@pytest.mark.parametrize(
    ("keys", "window"),
    [
        ("    daily_run_time: 14400\n", (time(20, 0), time(0, 0))),  # latest_end 00:00: midnight
        ("    daily_run_time: 14400\n    timer_start: '20:00'\n", (time(20, 0), time(0, 0))),
        ("    daily_run_time: 86400\n", (time(0, 0), time(0, 0))),  # the whole day
        ("    daily_run_time: 3600\n    latest_end: '01:00'\n", (time(0, 0), time(1, 0))),
        (
            "    daily_run_time: 3600\n    latest_end: '08:00'\n    timer_start: '07:00'\n",
            (time(7, 0), time(8, 0)),
        ),
    ],
    ids=["by midnight", "ends at midnight", "whole day", "from midnight", "ends at latest_end"],
)
def test_a_timer_may_end_exactly_at_latest_end(keys: str, window: tuple[time, time]) -> None:
    (pump,) = parse(PUMP + keys).equipment
    assert isinstance(pump, ConstantPowerConfig)
    assert pump.timer_window() == TimerWindow(*window)


DAILY_RUN_ERRORS = {
    "daily_run_time negative": (
        PUMP + "    daily_run_time: -1\n",
        "equipment_config.yml:6: equipment[0].daily_run_time: "
        "expected a number from 0 to 86400, got -1",
    ),
    "daily_run_time over a day": (
        PLUG + "    daily_run_time: 86401\n",
        "equipment_config.yml:5: equipment[0].daily_run_time: "
        "expected a number from 0 to 86400, got 86401",
    ),
    "daily_run_time not a number": (
        PUMP + "    daily_run_time: 4h\n",
        "equipment_config.yml:6: equipment[0].daily_run_time: "
        "expected a number from 0 to 86400, got '4h'",
    ),
    "latest_end not HH:MM": (
        PUMP + "    daily_run_time: 3600\n    latest_end: '24:00'\n",
        "equipment_config.yml:7: equipment[0].latest_end: "
        "expected a time of day HH:MM, got '24:00'",
    ),
    "timer_start not HH:MM": (
        PLUG + "    daily_run_time: 3600\n    timer_start: 16\n",
        "equipment_config.yml:6: equipment[0].timer_start: expected a time of day HH:MM, got 16",
    ),
    "run time longer than the day before latest_end": (
        PUMP + "    daily_run_time: 36000\n    latest_end: '08:00'\n",
        "equipment_config.yml:6: equipment[0].daily_run_time: must be at most the time from "
        "00:00 to latest_end 08:00 (28800 s), got 36000",
    ),
    "timer ends after latest_end": (
        PUMP + "    daily_run_time: 14400\n    latest_end: '20:00'\n    timer_start: '16:01'\n",
        "equipment_config.yml:8: equipment[0].timer_start: must be at most 16:00 "
        "(latest_end 20:00 − daily_run_time 14400 s), got 16:01",
    ),
    "timer crosses midnight": (
        PLUG + "    daily_run_time: 14400\n    timer_start: '22:00'\n",
        "equipment_config.yml:6: equipment[0].timer_start: must be at most 20:00 "
        "(latest_end 00:00 − daily_run_time 14400 s), got 22:00",
    ),
    "timer starts after latest_end": (
        PLUG + "    daily_run_time: 60\n    latest_end: '06:00'\n    timer_start: '07:00'\n",
        "equipment_config.yml:7: equipment[0].timer_start: must be at most 05:59 "
        "(latest_end 06:00 − daily_run_time 60 s), got 07:00",
    ),
    "unknown key on a dimmer": (
        HEATER + "    daily_run_time: 3600\n",
        "equipment_config.yml:10: equipment[0].daily_run_time: unknown key; expected one of "
        "type, name, id, max_power, min_power, min_energy, period, dimmer_curve, yields, "
        "temp_min, temp_eco, temp_sol_min, temp_max, probe_timeout, preset, topic, payload_on, "
        "payload_off, payload_percent, qos, retain",
    ),
}


@pytest.mark.parametrize(
    ("text", "message"), list(DAILY_RUN_ERRORS.values()), ids=list(DAILY_RUN_ERRORS)
)
def test_each_daily_run_error_names_file_line_and_key(text: str, message: str) -> None:
    assert errors_of(text) == [message]


def test_a_bad_daily_run_time_exits_2_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "equipment_config.yml"
    path.write_text(PUMP + "    daily_run_time: 14400\n    timer_start: '21:00'\n", "utf-8")
    assert main(["check-config", str(path)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"{path}:7: equipment[0].timer_start: must be at most 20:00 "
        "(latest_end 00:00 − daily_run_time 14400 s), got 21:00"
    ]


def test_the_templates_pool_pump_needs_4_h_by_20_00() -> None:
    site = load_site_config(TEMPLATE, HC)
    pump = next(e for e in site.equipment if e.name == "pool_pump")
    assert isinstance(pump, ConstantPowerConfig)
    assert (pump.daily_run_s, pump.latest_end, pump.timer_start) == (14400.0, time(20, 0), None)
    assert pump.timer_window() == TimerWindow(time(16, 0), time(20, 0))
    dehumidifier = next(e for e in site.equipment if e.name == "dehumidifier")
    assert isinstance(dehumidifier, UnknownPowerConfig)
    assert dehumidifier.daily_run_s == 0 and dehumidifier.timer_window() is None


def test_a_bad_yields_exits_2_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``yields`` (dimmers only, default true) is true or false; said wrong, exit 2."""
    assert isinstance(heater := parse(HEATER).equipment[0], VariablePowerConfig)
    assert heater.yields
    never = parse(HEATER + "    yields: false\n").equipment[0]
    assert isinstance(never, VariablePowerConfig) and not never.yields
    path = tmp_path / "equipment_config.yml"
    path.write_text(HEATER + "    yields: sometimes\n", "utf-8")
    assert main(["check-config", str(path)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"{path}:10: equipment[0].yields: expected true or false, got 'sometimes'"
    ]
