"""No input stops ``pvopt regulate``, and nothing non-finite leaves it (issue 11).

The daemon's own MQTT handlers are fed, in process, every kind of payload on every input
topic: numbers of every magnitude, NaN and ±Infinity (as JSON tokens and as text), huge
integers, deep nesting, wrong types, 1 MB payloads. Between messages the queued items are
handled as the main loop would, with valid frames so the regulation really acts. What
would reach a device, ``regulation/status`` or InfluxDB is recorded and checked finite.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import paho.mqtt.client as mqtt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pvopt.config import Settings
from pvopt.daemons.power_regulation import MAX_FRAME_AGE_S, Item, RegulationDaemon, check_finite
from pvopt.equipment.loader import parse_site_config
from pvopt.points import Point
from pvopt.regulation.core import Regulator
from pvopt.regulation.inputs import LIMITS, Control
from pvopt.regulation.model import MeterSample, Mode
from pvopt.regulation.outputs import off_commands

CONFIG = """\
equipment:
  - {type: TempDrivenVariablePowerEquipment, id: 1, name: water_heater, max_power: 2400,
     temp_min: 45, temp_eco: 50, temp_sol_min: 55, temp_max: 60}
  - {type: VariablePowerEquipment, id: 2, name: radiator, max_power: 1000}
  - {type: ConstantPowerEquipment, id: pool, name: pool_pump, nominal_power: 800,
     min_on: 0, min_off: 0}
  - {type: UnknownPowerEquipment, id: plug1, name: dehumidifier, preset: tasmota,
     expected_power: 300}
regulation: {start_delay: 0, stop_delay: 0}
"""
SITE = parse_site_config(CONFIG)
TOPICS = [
    "tic/frame",
    "tic/SINSTS",
    "tic/SINSTI",
    "scr/1/temperature",
    "scr/9/temperature",
    "scr/1/control",
    "scr/pool/control",
    "scr/99/control",
    "regulation/control",
    "pvopt/teleinfo/status",
    "regulation/forecast",
    "regulation/ejp",
]


@dataclass
class Published:
    """What the daemon handed to MQTT and to the Influx writer."""

    messages: list[tuple[str, str]] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)
    connected: bool = True

    def publish(self, topic: str, payload: str | bytes, qos: int = 0, retain: bool = False) -> bool:
        text = payload.decode() if isinstance(payload, bytes) else payload
        self.messages.append((topic, text))
        return True

    def write(self, point: Point) -> None:
        self.points.append(point)

    def device_commands(self) -> list[tuple[str, str]]:
        return [(t, p) for t, p in self.messages if t.startswith(("scr/", "cmnd/", "wifi_plug/"))]


def make_daemon(tmp_path: Path) -> tuple[RegulationDaemon, Published]:
    out = Published()
    daemon = RegulationDaemon(
        SITE, Settings(state_dir=tmp_path), cast(Any, out), cast(Any, out), dry_run=False
    )
    return daemon, out


def deliver(daemon: RegulationDaemon, topic: str, payload: bytes) -> None:
    """As MqttClient does: every matching handler gets the message."""
    for pattern, handler in daemon.subscriptions().items():
        if mqtt.topic_matches_sub(pattern, topic):
            handler(topic, payload)


def queued(daemon: RegulationDaemon) -> list[Item]:
    items: list[Item] = []
    while not daemon.events.empty():
        items.append(daemon.events.get_nowait())
    return items


def frame(export_va: object, at: datetime | str | None = None, **values: object) -> bytes:
    when = datetime.now(UTC) if at is None else at
    doc = {
        "time": when.isoformat() if isinstance(when, datetime) else when,
        "values": {"SINSTS": 0, "SINSTI": export_va, **values},
    }
    return json.dumps(doc).encode()


def _finite_json(text: str) -> Any:
    def refuse(name: str) -> Any:
        raise AssertionError(f"{name} in {text[:200]}")

    return json.loads(text, parse_constant=refuse)


def assert_all_finite(out: Published) -> None:
    """Device commands are numbers or on/off words, statuses and points finite numbers."""
    for topic, payload in out.messages:
        if topic.startswith("scr/"):
            assert math.isfinite(float(payload)), (topic, payload)
        elif topic == "regulation/status":
            _finite_json(payload)
        elif topic.startswith(("cmnd/", "wifi_plug/")):
            assert payload.lower() not in ("nan", "inf", "-inf"), (topic, payload)
    for point in out.points:
        for name, value in point.fields.items():
            if isinstance(value, float):
                assert math.isfinite(value), (point.measurement, name, value)


# -- strategies ------------------------------------------------------------------------------

BIG = 10**1000
numbers = st.one_of(
    st.integers(-BIG, BIG),
    st.integers(-200_000, 200_000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, 99_999, 100_000, 10**20, int("9" * 401), 1e12, 1e308, -0.0]),
)
json_values = st.recursive(
    st.one_of(numbers, st.booleans(), st.none(), st.text(max_size=12)),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=8,
)


def mostly(usual: st.SearchStrategy[Any], odd: st.SearchStrategy[Any]) -> Any:
    """``usual`` four times in five, else ``odd``."""
    return st.integers(0, 4).flatmap(lambda n: odd if n == 0 else usual)


times = mostly(st.sampled_from(["now", "old", "future"]), json_values)
frame_docs = st.fixed_dictionaries(
    {
        "time": times,
        "values": st.fixed_dictionaries(
            {"SINSTS": numbers},
            optional={"SINSTI": numbers, "PAPP": numbers, "PTEC": json_values},
        ),
    },
)
control_docs = st.fixed_dictionaries(
    {
        "command": mostly(st.sampled_from(["force", "force", "unforce"]), json_values),
        "name": mostly(st.sampled_from(["water_heater", "radiator", "pool", "1"]), json_values),
    },
    optional={"power": numbers, "duration": numbers},
)
texts = mostly(
    st.one_of(
        numbers.map(str),
        st.tuples(st.sampled_from(["MIN;", "MAX;", "ECO;"]), numbers.map(str)).map("".join),
    ),
    st.one_of(
        st.sampled_from(["ON", "OFF", "AUTO", "online", "offline", "nan", "-Infinity"]),
        st.text(max_size=30),
    ),
)
raw = st.one_of(
    st.binary(max_size=100),
    st.integers(1, 200_000).map(lambda n: b"[" * n + b"]" * n),
    st.integers(1, 200_000).map(lambda n: b'{"values":' * n + b"1" + b"}" * n),
    st.just(b"9" * 1_000_000),
    st.just(b'{"values": {"SINSTS": ' + b"1" * 1_000_000 + b"}}"),
)


def _dumps(doc: object) -> bytes:
    try:
        return json.dumps(doc).encode()  # NaN and Infinity as JavaScript writes them
    except ValueError:  # an integer too long for str(): send it anyway, as text
        return repr(doc).encode()


@st.composite
def payloads(draw: st.DrawFn, topic: str) -> Callable[[datetime], bytes]:
    """A payload maker for ``topic`` (frame times are relative to when it is sent): mostly
    what the topic expects, with every kind of value in it, sometimes raw junk."""
    if draw(st.integers(0, 4)) == 0:
        payload = draw(raw)
        return lambda now: payload
    if topic == "regulation/control":
        control = _dumps(draw(control_docs))
        return lambda now: control
    if topic == "regulation/ejp":
        day = draw(st.one_of(st.dates().map(lambda d: d.isoformat()), st.text(max_size=12)))
        ejp = draw(st.one_of(st.booleans(), st.integers(), st.none(), st.text(max_size=5)))
        announced = _dumps({"date": day, "ejp": ejp})
        return lambda now: announced
    if topic != "tic/frame":
        text = draw(texts).encode("utf-8", "surrogatepass")
        return lambda now: text
    doc = draw(frame_docs)

    def make(now: datetime) -> bytes:
        shift = {"now": 0.0, "old": -30.0, "future": 3600.0}.get(str(doc["time"]))
        if shift is None:
            return _dumps(doc)
        return _dumps({**doc, "time": (now + timedelta(seconds=shift)).isoformat()})

    return make


@pytest.fixture
def tmp_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("state")


@pytest.mark.parametrize("topic", TOPICS)
@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_no_message_stops_the_regulation_or_sends_a_non_finite_value(
    tmp_state: Path, topic: str, data: st.DataObject
) -> None:
    makers = data.draw(st.lists(payloads(topic), min_size=1, max_size=4))
    daemon, out = make_daemon(tmp_state)
    daemon.connected()
    deliver(daemon, "scr/1/temperature", b"50")
    deliver(daemon, "tic/frame", frame(2500))
    daemon.handle(queued(daemon), datetime.now(UTC))
    assert out.device_commands(), "the regulation acts on a valid frame"
    for make in makers:
        deliver(daemon, topic, make(datetime.now(UTC)))
        daemon.handle(queued(daemon), datetime.now(UTC))
        deliver(daemon, "tic/frame", frame(1500))
        daemon.handle(queued(daemon), datetime.now(UTC))
        daemon._publish(daemon.regulator.tick(datetime.now(UTC) + timedelta(seconds=61)))
    daemon.shed()
    assert_all_finite(out)


@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        (
            "regulation/control",
            b'{"command":"force","name":"water_heater","power":500,"duration":1e12}',
        ),
        (
            "regulation/control",
            b'{"command":"force","name":"water_heater","power":500,"duration":Infinity}',
        ),
        ("regulation/control", b'{"command":"force","name":"water_heater","power":NaN}'),
        ("tic/frame", frame(int("9" * 401))),
        ("tic/frame", frame(0, SINSTS=10**20)),
        ("tic/SINSTS", b"9" * 401),
    ],
)
def test_the_messages_that_killed_the_daemon_are_refused_with_one_line(
    tmp_path: Path, topic: str, payload: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    """Each of these once raised OverflowError in the main loop (exit 1, heater left on)
    or sent ``nan`` to a dimmer; now they are refused in the network thread, logged once
    per topic and minute however often they come, and nothing is queued."""
    daemon, _ = make_daemon(tmp_path)
    for _ in range(1000):
        deliver(daemon, topic, payload)
    assert queued(daemon) == []
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("pvopt")]
    assert len(lines) == 1 and lines[0].startswith("ignored"), lines


def test_a_backlog_of_frames_collapses_to_the_newest_and_old_frames_are_not_acted_on(
    tmp_path: Path,
) -> None:
    """The daemon paused 15 s (SIGSTOP, a slow SD card): 75 frames wait, 0–15 s old. They
    once gave 78 commands in 0.45 s. Now the stale data is shed on the first tick, and of
    the backlog only the newest frame is evaluated: one decision."""
    daemon, out = make_daemon(tmp_path)
    t0 = datetime.now(UTC)
    daemon.handle([MeterSample(t0, 0, 2000)], t0)
    assert ("scr/1/in", "0.0") not in out.device_commands()
    resumed = t0 + timedelta(seconds=15.2)
    mark = len(out.messages)
    daemon._publish(daemon.regulator.tick(resumed))
    assert {(c.topic, c.payload) for c in off_commands(SITE)} <= set(out.messages[mark:])
    backlog: list[Item] = [
        MeterSample(t0 + timedelta(seconds=0.2 * (i + 1)), 0, 2000 + i) for i in range(75)
    ]
    evaluated: list[MeterSample] = []
    real = daemon.regulator.evaluate
    daemon.regulator.evaluate = lambda s, now: evaluated.append(s) or real(s, now)  # type: ignore[method-assign]
    daemon.handle(backlog, resumed)
    assert evaluated == [backlog[-1]]
    # an older frame arriving after a newer one is not evaluated either
    daemon.handle([backlog[10]], resumed)
    assert evaluated == [backlog[-1]]


def test_a_frame_older_than_the_limit_is_not_acted_on_even_alone(tmp_path: Path) -> None:
    daemon, out = make_daemon(tmp_path)
    now = datetime.now(UTC)
    limit = timedelta(seconds=MAX_FRAME_AGE_S)
    daemon.handle([MeterSample(now - limit - timedelta(seconds=0.1), 0, 2000)], now)
    assert out.messages == []
    daemon.handle([MeterSample(now - limit + timedelta(seconds=0.1), 0, 2000)], now)
    assert ("scr/1/in", "0.0") not in out.device_commands() and out.device_commands()


def test_after_the_clock_is_set_back_frames_are_acted_on_and_an_old_reading_grows_stale(
    tmp_path: Path,
) -> None:
    """A Pi without a clock battery may step its clock back (NTP after a wrong start): the
    frames timed by the new clock are not "older than the last one used", and the last
    reading, now in the future, does not stay fresh until the clock catches up."""
    daemon, out = make_daemon(tmp_path)
    before = datetime.now(UTC)
    daemon.handle([MeterSample(before, 0, 2000)], before)
    back = before - timedelta(hours=1)
    mark = len(out.messages)
    daemon._publish(daemon.regulator.tick(back))
    assert ("scr/1/in", "0.0") in out.messages[mark:]  # the reading from the "future": stale
    daemon.handle([MeterSample(back, 0, 2000)], back)
    assert out.device_commands()[-1][0] == "scr/1/in"
    assert float(out.device_commands()[-1][1]) > 0


def test_after_a_reconnect_sinsts_alone_is_not_a_reading(tmp_path: Path) -> None:
    """After a broker restart teleinfo's tic/SINSTS arrives before its tic/frame: taken
    alone it read an exporting house (−1,466 W) as 0 W. The regulation waits for a frame."""
    daemon, _ = make_daemon(tmp_path)
    daemon.connected()
    deliver(daemon, "tic/SINSTS", b"0")
    deliver(daemon, "tic/SINSTI", b"1466")
    assert queued(daemon) == []
    deliver(daemon, "tic/frame", frame(1466))
    (sample,) = queued(daemon)
    assert isinstance(sample, MeterSample) and sample.grid_w == -1466


@pytest.mark.parametrize("producer", [True, False])
def test_a_publisher_without_tic_frame_is_used_once_the_grace_has_passed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, producer: bool
) -> None:
    """The original teleinfo publishes tic/SINSTS (and tic/SINSTI on a producer meter)
    only: after 10 s without tic/frame they are the readings, SINSTS alone only when no
    SINSTI came in those 10 s (a consumer meter)."""
    daemon, _ = make_daemon(tmp_path)
    clock = [1000.0]
    monkeypatch.setattr("pvopt.daemons.power_regulation.time.monotonic", lambda: clock[0])
    daemon.connected()
    for _ in range(10):  # until FRAME_TOPIC_GRACE_S after the connection
        deliver(daemon, "tic/SINSTS", b"0" if producer else b"700")
        if producer:
            deliver(daemon, "tic/SINSTI", b"1466")
        assert queued(daemon) == []
        clock[0] += 1.0
    deliver(daemon, "tic/SINSTS", b"0" if producer else b"700")
    if producer:
        deliver(daemon, "tic/SINSTI", b"1466")
    (sample,) = queued(daemon)
    assert isinstance(sample, MeterSample) and sample.grid_w == (-1466 if producer else 700)


def _crashing_run(daemon: RegulationDaemon) -> BaseException | None:
    stop = threading.Event()
    caught: list[BaseException] = []

    def target() -> None:
        try:
            daemon.run(stop)
        except BaseException as exc:
            caught.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    deliver(daemon, "tic/frame", frame(2000))
    thread.join(5)
    stop.set()
    thread.join(5)
    return caught[0] if caught else None


def test_an_unexpected_error_in_the_loop_sends_every_load_off_and_is_raised(
    tmp_path: Path,
) -> None:
    daemon, out = make_daemon(tmp_path)

    def broken(sample: MeterSample, now: datetime) -> Any:
        raise ZeroDivisionError("a bug")

    daemon.regulator.evaluate = broken  # type: ignore[method-assign]
    assert isinstance(_crashing_run(daemon), ZeroDivisionError)
    sent = set(out.device_commands())
    assert {(c.topic, c.payload) for c in off_commands(SITE)} <= sent


def test_when_the_regulator_cannot_even_stop_the_configuration_says_off(
    tmp_path: Path,
) -> None:
    daemon, out = make_daemon(tmp_path)

    def broken(*args: object) -> Any:
        raise ZeroDivisionError("a bug")

    daemon.regulator.evaluate = broken  # type: ignore[method-assign]
    daemon.regulator.shutdown = broken  # type: ignore[method-assign]
    assert isinstance(_crashing_run(daemon), ZeroDivisionError)
    assert out.device_commands() == [(c.topic, c.payload) for c in off_commands(SITE)]
    assert ("scr/1/in", "0.0") in out.device_commands()
    assert ("cmnd/plug1/POWER", "OFF") in out.device_commands()


def test_off_commands_from_the_configuration_are_what_a_stop_sends(tmp_path: Path) -> None:
    daemon, out = make_daemon(tmp_path)
    daemon.handle([MeterSample(datetime.now(UTC), 0, 3000)], datetime.now(UTC))
    mark = len(out.messages)
    daemon.shed()
    sent = [(t, p) for t, p in out.messages[mark:] if t != "regulation/status"]
    assert sorted(sent) == sorted((c.topic, c.payload) for c in off_commands(SITE))


@pytest.mark.parametrize(
    "saved",
    [
        '{"water_heater": {"day": "%s", "energy_wh": NaN, "learnt_power_w": Infinity}}',
        '{"water_heater": {"day": "%s", "energy_wh": 1e999}}',
        '{"water_heater": {"day": "%s", "energy_wh": ' + "9" * 401 + "}}",
        '{"dehumidifier": {"learnt_power_w": -5}}',
        "[" * 100_000,
    ],
)
def test_corrupt_saved_counters_are_ignored(tmp_path: Path, saved: str) -> None:
    daemon, out = make_daemon(tmp_path)
    today = datetime.now(daemon.regulator.tz).date().isoformat()
    daemon.counters_path.write_text(saved.replace("%s", today))
    daemon._restore()
    daemon.handle([MeterSample(datetime.now(UTC), 0, 3000)], datetime.now(UTC))
    assert_all_finite(out)
    assert daemon.regulator.loads[3].learnt_power_w is None


@pytest.fixture(autouse=True)
def _no_leftover_threads() -> Iterator[None]:
    yield
    assert not [t for t in threading.enumerate() if t.name.startswith("influx")]


core_steps = st.lists(
    st.tuples(
        st.floats(-3600.0, 90_000.0),  # seconds since the previous step: the clock may jump back
        st.sampled_from(["frame", "tick", "force", "temperature", "mode", "offline", "online"]),
        st.integers(*LIMITS.meter_va),
        st.integers(*LIMITS.meter_va),
        st.floats(*LIMITS.force_power_w),
        st.one_of(st.none(), st.floats(*LIMITS.force_duration_s, exclude_min=True)),
        st.floats(*LIMITS.probe_c, exclude_min=True, exclude_max=True),
    ),
    max_size=30,
)


@settings(max_examples=300, deadline=None)
@given(core_steps)
def test_the_core_never_raises_or_decides_a_non_finite_value_on_valid_inputs(
    steps: list[tuple[float, str, int, int, float, float | None, float]],
) -> None:
    """Whatever the parsers let through (the whole ranges of LIMITS), in any order, with
    the clock jumping back and forth by up to a day: the core decides finite values."""
    reg = Regulator(SITE, ZoneInfo("Europe/Paris"))
    now = datetime(2026, 6, 14, 10, tzinfo=UTC)
    for dt, kind, import_va, export_va, power_w, duration_s, celsius in steps:
        now += timedelta(seconds=dt)
        decision = None
        if kind == "frame":
            decision = reg.evaluate(MeterSample(now, import_va, export_va), now)
        elif kind == "tick":
            decision = reg.tick(now)
        elif kind == "force":
            control = Control(mode=Mode.FORCED, power_w=power_w, duration_s=duration_s)
            reg.apply_control("water_heater", control, now)
        elif kind == "temperature":
            reg.set_temperature("1", celsius, now)
        elif kind == "mode":
            reg.apply_control("pool", Control(mode=Mode.ON), now)
        else:
            decision = reg.set_teleinfo_online(kind == "online", now)
        if decision is not None:
            check_finite(decision)
    check_finite(reg.shutdown(now))
