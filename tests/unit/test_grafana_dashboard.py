"""The shipped Grafana files: a datasource, a dashboard provider and a dashboard whose every
InfluxQL query reads what the daemons really write.

"What the daemons write" is not a hand-kept list: it is collected from the points that
the real code builds — ``frame_point`` on frames decoded from encoder bytes (a producer
Linky in standard mode, an older meter in historic mode) and ``decision_points`` on the
decisions of the real :class:`Regulator` (a water heater with its probe, a pool pump on a
plug, a stale-data shed). A field renamed in a daemon breaks this test, not the dashboard
in production.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from pvopt.config import InfluxSettings
from pvopt.daemons.power_regulation import decision_points
from pvopt.daemons.teleinfo import frame_point
from pvopt.equipment.model import (
    Command,
    ConstantPowerConfig,
    RegulationConfig,
    SiteConfig,
    TempDrivenVariablePowerConfig,
)
from pvopt.points import Point
from pvopt.regulation.core import Regulator
from pvopt.regulation.inputs import sample_from_frame
from pvopt.tic import FrameDecoder, Mode
from pvopt.tic.encoder import historic_frame, linky_standard_frame

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "grafana"
DATASOURCE_FILE = GRAFANA / "provisioning" / "datasources" / "pvopt.yaml"
PROVIDER_FILE = GRAFANA / "provisioning" / "dashboards" / "pvopt.yaml"
DASHBOARD_FILE = GRAFANA / "dashboards" / "pvopt.json"
#: Where install.sh copies the dashboard JSON (the provider must point there).
DASHBOARD_DIR = "/var/lib/grafana/dashboards/pvopt"

T0 = datetime(2026, 6, 14, 10, 0, tzinfo=UTC)
PARIS = ZoneInfo("Europe/Paris")


# -- what the daemons write ------------------------------------------------------------------


@dataclass
class Measurement:
    """Field names with the Python types seen, and tag keys, of one measurement."""

    fields: dict[str, set[type]] = field(default_factory=dict)
    tags: set[str] = field(default_factory=set)

    def add(self, point: Point) -> None:
        for name, value in point.fields.items():
            self.fields.setdefault(name, set()).add(type(value))
        self.tags.update(point.tags or {})

    def numeric(self, name: str) -> bool:
        types = self.fields.get(name, set())
        return bool(types) and types <= {int, float}


def teleinfo_points() -> Iterator[Point]:
    """Points of a producer Linky in standard mode, and of a meter in historic mode."""
    decoder = FrameDecoder(Mode.STANDARD)
    standard = linky_standard_frame(
        date="E260614120000", sinsts_va=350, sinsti_va=1834, eait_wh=5000, erq_varh=(1, 2, 3, 4)
    )
    for frame in decoder.feed(standard, T0):
        yield frame_point(frame, frame.meter_id, T0)
    historic = historic_frame(
        {
            "ADCO": "021861348497",
            "OPTARIF": "HC..",
            "ISOUSC": "45",
            "HCHC": "012345678",
            "HCHP": "023456789",
            "PTEC": "HP..",
            "IINST": "006",
            "IMAX": "090",
            "PAPP": "01230",
            "HHPHC": "A",
            "MOTDETAT": "000000",
        }
    )
    for frame in FrameDecoder(Mode.HISTORIC).feed(historic, T0):
        yield frame_point(frame, frame.meter_id, T0)


def regulation_points() -> Iterator[Point]:
    """Points of the real regulator: frames through the daemon's own parsing, a probe
    reading, then silence until the stale-data shed."""
    heater = TempDrivenVariablePowerConfig(
        name="water heater",
        id="heater",
        command=Command("scr/heater/in"),
        max_power_w=2400,
        temp_min_c=45,
        temp_eco_c=50,
        temp_sol_min_c=55,
        temp_max_c=60,
    )
    pump = ConstantPowerConfig(
        name="pool pump", id="pump", command=Command("wifi_plug/pump/in"), nominal_power_w=600
    )
    regulator = Regulator(SiteConfig((heater, pump), RegulationConfig()), PARIS)
    decoder = FrameDecoder(Mode.STANDARD)
    now = T0
    regulator.set_temperature("heater", 52.0, now)
    for _ in range(5):
        raw = linky_standard_frame(date="E260614120000", sinsts_va=0, sinsti_va=1500)
        for frame in decoder.feed(raw, now):
            sample = sample_from_frame(json.dumps(frame.to_json_dict()).encode(), now)
            yield from decision_points(regulator.evaluate(sample, now))
        now += timedelta(seconds=1.2)
    shed = regulator.tick(now + timedelta(seconds=60))
    assert shed is not None and shed.safe, "the regulator must shed on stale data"
    yield from decision_points(shed)


@pytest.fixture(scope="module")
def written() -> dict[str, Measurement]:
    schema: dict[str, Measurement] = {}
    for point in [*teleinfo_points(), *regulation_points()]:
        schema.setdefault(point.measurement, Measurement()).add(point)
    return schema


# -- InfluxQL, as much of it as the dashboard uses ----------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<ident>"(?:[^"\\]|\\.)*")
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<var>\$\w+)
  | (?P<duration>\d+(?:ns|ms|u|s|m|h|d|w)\b)
  | (?P<number>\d+(?:\.\d+)?)
  | (?P<word>[A-Za-z_]\w*)
  | (?P<op>=~|!~|!=|<>|<=|>=|[=<>+\-*/%(),])
    """,
    re.VERBOSE,
)
_REGEX = re.compile(r"\s*(/(?:[^/\\]|\\.)*/)")

#: Bare words a query may contain: keywords and functions. Anything else unquoted would
#: be an identifier the checks below could not see, so every identifier must be quoted.
KEYWORDS = {
    "select", "from", "where", "and", "or", "group", "by", "as", "fill", "null", "none",
    "previous", "linear", "tz", "time", "now", "true", "false", "show", "tag", "values",
    "with", "key", "limit", "order", "desc", "asc",
}  # fmt: skip
SELECTORS = {"last", "first", "count"}  # any field type
NUMERIC_FUNCTIONS = {
    "mean", "median", "sum", "integral", "spread", "percentile", "max", "min", "abs",
    "stddev", "difference", "non_negative_difference", "derivative", "non_negative_derivative",
}  # fmt: skip
GRAFANA_VARIABLES = {"$timeFilter", "$__interval"}


@dataclass(frozen=True)
class Token:
    kind: str
    text: str

    @property
    def name(self) -> str:
        """An identifier without its quotes, a word in lower case."""
        return self.text[1:-1] if self.kind == "ident" else self.text.lower()


def tokenize(query: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(query):
        if tokens and tokens[-1].text in ("=~", "!~"):
            regex = _REGEX.match(query, pos)
            if regex is None:
                raise AssertionError(f"no /regex/ after {tokens[-1].text} at {pos}: {query}")
            tokens.append(Token("regex", regex.group(1)))
            pos = regex.end()
            continue
        m = _TOKEN.match(query, pos)
        if m is None:
            raise AssertionError(f"cannot read the query at {pos}: {query[pos:]!r}")
        if m.lastgroup != "space":
            tokens.append(Token(str(m.lastgroup), m.group()))
        pos = m.end()
    return tokens


@dataclass
class Analysis:
    """What one query reads."""

    measurements: set[str] = field(default_factory=set)
    aliases: set[str] = field(default_factory=set)
    references: set[str] = field(default_factory=set)
    numeric_args: set[str] = field(default_factory=set)  # identifiers under mean(), …
    boolean_args: set[str] = field(default_factory=set)  # identifiers compared with true/false
    tags: set[str] = field(default_factory=set)  # identifiers in GROUP BY / =~ / KEY =
    variables: set[str] = field(default_factory=set)
    bare_words: set[str] = field(default_factory=set)
    group_by_time: list[str] = field(default_factory=list)


def analyse(query: str) -> Analysis:
    tokens = tokenize(query)
    pad = Token("", "")
    a = Analysis()
    depth = 0
    group_by_depth: int | None = None  # the parenthesis depth of the open GROUP BY clause
    for i, tok in enumerate(tokens):
        prev = tokens[i - 1] if i else pad
        after = tokens[i + 1] if i + 1 < len(tokens) else pad
        argument = tokens[i + 2] if i + 2 < len(tokens) else pad
        if tok.text == "(":
            depth += 1
        elif tok.text == ")":
            depth -= 1
            if group_by_depth is not None and depth < group_by_depth:
                group_by_depth = None
        elif tok.kind == "word":
            word = tok.name
            if word in SELECTORS | NUMERIC_FUNCTIONS:
                if after.text != "(":
                    a.bare_words.add(tok.text)
                elif word in NUMERIC_FUNCTIONS and argument.kind == "ident":
                    a.numeric_args.add(argument.name)
            elif word not in KEYWORDS:
                a.bare_words.add(tok.text)
            if word == "by" and prev.name == "group":
                group_by_depth = depth
            elif word in ("fill", "tz", "limit", "order", "where", "select", "from"):
                group_by_depth = None
            elif word == "time" and group_by_depth == depth and after.text == "(":
                a.group_by_time.append(argument.text)
        elif tok.kind == "var":
            a.variables.add(tok.text)
        elif tok.kind == "regex":
            a.variables.update(re.findall(r"\$\w+", tok.text))
        elif tok.kind == "ident":
            if prev.name == "from":
                a.measurements.add(tok.name)
            elif prev.name == "as":
                a.aliases.add(tok.name)
            else:
                a.references.add(tok.name)
                grouped = group_by_depth == depth and prev.name in ("by", ",")
                if grouped or after.text in ("=~", "!~"):
                    a.tags.add(tok.name)
                if prev.text == "=" and i >= 2 and tokens[i - 2].name == "key":
                    a.tags.add(tok.name)
                if after.text in ("=", "!=", "<>") and argument.name in ("true", "false"):
                    a.boolean_args.add(tok.name)
    return a


def test_the_query_reader_sees_fields_tags_aliases_and_variables() -> None:
    a = analyse(
        'SELECT mean("power_w") AS "p", last("mode") FROM "equipment" WHERE $timeFilter '
        'AND "name" =~ /^$name$/ GROUP BY time($__interval), "name" fill(null)'
    )
    assert a.measurements == {"equipment"} and a.aliases == {"p"}
    assert a.references == {"power_w", "mode", "name"} and a.numeric_args == {"power_w"}
    assert a.tags == {"name"} and a.group_by_time == ["$__interval"]
    assert a.variables == {"$timeFilter", "$__interval", "$name"}
    assert analyse('SELECT mean(power_w) FROM "equipment"').bare_words == {"power_w"}
    assert analyse('SELECT count("safe") FROM "r" WHERE "safe" = true').boolean_args == {"safe"}


# -- the files ---------------------------------------------------------------------------------


def load_dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD_FILE.read_text("utf-8"))
    return data


def load_datasource() -> dict[str, Any]:
    doc = yaml.safe_load(DATASOURCE_FILE.read_text("utf-8"))
    assert doc["apiVersion"] == 1
    (source,) = doc["datasources"]
    return dict(source)


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel, rows' collapsed children included."""
    out: list[dict[str, Any]] = []
    for panel in dashboard["panels"]:
        out.append(panel)
        out.extend(panel.get("panels", []))
    return out


def queries(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    """(where, InfluxQL) of every panel target and every query variable."""
    found = []
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            found.append((f"panel {panel['title']!r} {target['refId']}", target["query"]))
    for var in dashboard["templating"]["list"]:
        if var["type"] == "query":
            found.append((f"variable ${var['name']}", var["query"]))
    return found


def test_the_datasource_is_the_influxdb_database_the_daemons_write() -> None:
    source = load_datasource()
    assert source["type"] == "influxdb" and source["access"] == "proxy"
    assert source["url"] == "http://localhost:8086"
    assert source["jsonData"]["dbName"] == InfluxSettings().database == "teleinfo"
    assert source["jsonData"].get("version", "InfluxQL") == "InfluxQL"
    # Credentials come from grafana-server's environment, never from the file itself.
    assert source["user"] == "${PVOPT_GRAFANA_INFLUX_USER}"
    assert source["secureJsonData"] == {"password": "${PVOPT_GRAFANA_INFLUX_PASSWORD}"}
    assert "password" not in source and "database" not in source  # deprecated keys
    assert re.fullmatch(r"[a-zA-Z0-9_-]{1,40}", source["uid"])


def test_the_provider_loads_the_dashboard_from_where_install_sh_puts_it() -> None:
    doc = yaml.safe_load(PROVIDER_FILE.read_text("utf-8"))
    assert doc["apiVersion"] == 1
    (provider,) = doc["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == DASHBOARD_DIR
    assert provider["allowUiUpdates"] is False  # the file in the checkout is the source


def test_the_dashboard_is_a_valid_grafana_dashboard() -> None:
    dashboard = load_dashboard()
    assert dashboard["uid"] == "pvopt" and dashboard["title"]
    assert dashboard.get("id") is None  # provisioned: Grafana assigns the id
    assert isinstance(dashboard["schemaVersion"], int) and 36 <= dashboard["schemaVersion"] <= 41
    ids = [p["id"] for p in panels(dashboard)]
    assert all(isinstance(i, int) for i in ids) and len(ids) == len(set(ids))
    cells: dict[tuple[int, int], str] = {}
    for panel in panels(dashboard):
        pos = panel["gridPos"]
        assert {"h", "w", "x", "y"} <= pos.keys(), panel["title"]
        assert all(isinstance(pos[k], int) and pos[k] >= 0 for k in "hwxy"), panel["title"]
        assert pos["w"] >= 1 and pos["h"] >= 1 and pos["x"] + pos["w"] <= 24, panel["title"]
        for x in range(pos["x"], pos["x"] + pos["w"]):
            for y in range(pos["y"], pos["y"] + pos["h"]):
                other = cells.setdefault((x, y), panel["title"])
                assert other == panel["title"], f"{panel['title']!r} overlaps {other!r}"
        if panel["type"] != "row":
            assert panel.get("targets"), f"{panel['title']!r} has no query"
        if "timeFrom" in panel:  # a relative time Grafana's describeTextRange accepts
            relative = r"now/d|now-\d+[smhdwMy](/[dwMy])?|\d+[smhdwMy]"
            assert re.fullmatch(relative, panel["timeFrom"]), panel["title"]


def test_every_panel_and_variable_uses_the_provisioned_datasource() -> None:
    source = load_datasource()
    expected = {"type": "influxdb", "uid": source["uid"]}
    dashboard = load_dashboard()
    for panel in panels(dashboard):
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == expected, panel["title"]
        for target in panel["targets"]:
            assert target.get("datasource", expected) == expected, panel["title"]
            assert target["rawQuery"] is True and target["query"].strip(), panel["title"]
    for var in dashboard["templating"]["list"]:
        if var["type"] == "query":
            assert var["datasource"] == expected, var["name"]


def test_every_query_reads_measurements_fields_and_tags_that_the_daemons_write(
    written: dict[str, Measurement],
) -> None:
    dashboard = load_dashboard()
    defined = {f"${v['name']}" for v in dashboard["templating"]["list"]} | GRAFANA_VARIABLES
    for where, query in queries(dashboard):
        a = analyse(query)
        assert not a.bare_words, f"{where}: quote every identifier: {a.bare_words}"
        assert len(a.measurements) == 1, f"{where}: reads {a.measurements or 'nothing'}"
        (name,) = a.measurements
        assert name in written, f"{where}: no daemon writes measurement {name!r}"
        m = written[name]
        for ref in a.references - a.aliases:
            assert ref in m.fields or ref in m.tags, f"{where}: {name!r} has no {ref!r}"
        for tag in a.tags:
            assert tag in m.tags, f"{where}: {tag!r} is not a tag of {name!r} but filtered on"
        for arg in a.numeric_args - a.aliases:
            assert m.numeric(arg), f"{where}: {arg!r} is {m.fields.get(arg)}, not a number"
        for arg in a.boolean_args - a.aliases:
            assert m.fields.get(arg) == {bool}, f"{where}: {arg!r} is not a boolean field"
        assert a.variables <= defined, f"{where}: undefined {a.variables - defined}"
        for interval in a.group_by_time:
            assert interval == "$__interval" or re.fullmatch(r"\d+[smhdw]", interval), where
        if not query.upper().startswith("SHOW"):
            # Grafana's InfluxQL backend expands $timeFilter (not $__timeFilter, a SQL macro)
            # and each SELECT … FROM "measurement" needs its own time range.
            assert "$__timeFilter" not in query, where
            assert query.count("$timeFilter") == query.upper().count('FROM "'), where


def test_the_dashboard_shows_what_issue_5_asks_for() -> None:
    """Grid import/export, PV surplus, power and daily energy per equipment, tank
    temperature, the surplus-use ratio, regulation error, meter status."""
    read: set[tuple[str, str]] = set()
    for _, query in queries(load_dashboard()):
        a = analyse(query)
        read |= {(m, ref) for m in a.measurements for ref in a.references}
    assert {
        ("teleinfo", "SINSTS"),  # grid import
        ("teleinfo", "SINSTI"),  # grid export
        ("teleinfo", "EAST"),  # energy imported per day
        ("teleinfo", "EAIT"),  # energy exported per day
        ("regulation", "surplus_w"),  # PV surplus, and the ratio of it used
        ("regulation", "grid_power_w"),  # … against what was exported anyway
        ("regulation", "diverted_w"),
        ("regulation", "error_w"),  # regulation error
        ("regulation", "safe"),  # stale meter data: every load off
        ("teleinfo", "rejected_groups"),  # rejected groups, frames received
        ("equipment", "power_w"),
        ("equipment", "energy_wh"),  # daily energy per equipment
        ("equipment", "temperature_c"),  # tank temperature
        ("equipment", "name"),
    } <= read


def test_panels_carry_units() -> None:
    units: set[str] = set()
    for panel in panels(load_dashboard()):
        if panel["type"] in ("row", "state-timeline"):
            continue
        config = panel["fieldConfig"]
        overridden = {
            p["value"] for o in config["overrides"] for p in o["properties"] if p["id"] == "unit"
        }
        assert config["defaults"].get("unit") or overridden, f"{panel['title']!r} has no unit"
        units |= overridden | {config["defaults"].get("unit")}
    assert {"watt", "kwatth", "celsius", "percent"} <= units


def test_the_equipment_variable_lists_the_written_names(
    written: dict[str, Measurement],
) -> None:
    (var,) = [v for v in load_dashboard()["templating"]["list"] if v["name"] == "name"]
    assert var["multi"] and var["includeAll"]
    assert analyse(var["query"]).tags == {"name"} <= written["equipment"].tags
