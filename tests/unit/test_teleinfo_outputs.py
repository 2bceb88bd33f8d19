"""What one frame becomes on MQTT and in InfluxDB (docs/design.md §4–5), without any broker."""

from __future__ import annotations

import io
import json
import logging
from datetime import UTC, datetime, timedelta

import pytest

from pvopt.daemons.teleinfo import FrameSink, RejectLog, frame_point, mqtt_messages
from pvopt.io.influx import to_line
from pvopt.points import Point
from pvopt.tic import FrameDecoder, Mode
from pvopt.tic.decoder import DecoderStats
from pvopt.tic.encoder import encode_frame, encode_group, historic_frame, linky_standard_frame
from pvopt.topics import label_topic

NOW = datetime(2026, 6, 14, 10, 0, tzinfo=UTC)


def _decode(data: bytes, mode: Mode = Mode.STANDARD) -> list:  # type: ignore[type-arg]
    return FrameDecoder(mode).feed(data, NOW)


def _producer_frame() -> bytes:
    return linky_standard_frame(
        date="E260614120000", sinsts_va=0, sinsti_va=1834, eait_wh=5000, erq_varh=(1, 20, 300, 4)
    )


def test_every_numeric_label_is_published_as_a_decimal_integer() -> None:
    (frame,) = _decode(_producer_frame())
    messages = dict(mqtt_messages(frame))
    assert messages["tic/SINSTS"] == "0"
    assert messages["tic/SINSTI"] == "1834"
    assert messages["tic/EAIT"] == "5000"
    assert messages["tic/PREF"] == "9"
    # text labels are not numbers: not on tic/<LABEL>
    assert "tic/ADSC" not in messages and "tic/STGE" not in messages and "tic/PRM" not in messages


def test_erqt_is_derived_once_per_frame_from_the_four_quadrants() -> None:
    (frame,) = _decode(_producer_frame())
    topics = [t for t, _ in mqtt_messages(frame)]
    assert topics.count("tic/ERQT") == 1
    assert dict(mqtt_messages(frame))["tic/ERQT"] == "325"


def test_no_erqt_when_a_quadrant_group_was_rejected() -> None:
    data = _producer_frame().replace(b"ERQ3\t000000300\t", b"ERQ3\t000000301\t")
    (frame,) = _decode(data)
    assert frame.rejected_groups == 1
    topics = [t for t, _ in mqtt_messages(frame)]
    assert "tic/ERQT" not in topics and "tic/ERQ3" not in topics and "tic/ERQ2" in topics


def test_plus_in_a_label_is_spelled_out_in_the_topic() -> None:
    assert label_topic("NJOURF+1") == "tic/NJOURF_PLUS_1"
    assert label_topic("SMAXSN-1") == "tic/SMAXSN-1"
    (frame,) = _decode(_producer_frame())
    assert all("+" not in topic for topic, _ in mqtt_messages(frame))


def test_the_frame_topic_carries_the_dump_json_last() -> None:
    (frame,) = _decode(_producer_frame())
    topic, payload = mqtt_messages(frame)[-1]
    assert topic == "tic/frame"
    doc = json.loads(payload)
    assert set(doc) == {"time", "mode", "values", "horodates", "rejected_groups"}
    assert doc["values"]["SINSTI"] == 1834 and doc["mode"] == "standard"
    assert doc["horodates"]["DATE"] == "2026-06-14T12:00:00+02:00"


def test_the_influx_point_has_a_field_per_valid_label_and_the_meter_tag() -> None:
    (frame,) = _decode(_producer_frame())
    point = frame_point(frame, frame.meter_id, frame.time)
    assert point.measurement == "teleinfo"
    assert point.tags == {"meter": "041876097652"}
    assert point.fields["SINSTI"] == 1834 and point.fields["ERQT"] == 325
    assert point.fields["NGTF"] == "PRODUCTEUR" and point.fields["rejected_groups"] == 0
    assert point.fields["clock_degraded"] is False
    line = to_line(point)
    assert line.startswith("teleinfo,meter=041876097652 ")
    assert "SINSTI=1834i" in line and 'NGTF="PRODUCTEUR"' in line
    assert line.endswith(" " + str(int(NOW.timestamp()) * 1_000_000_000))


def test_historic_frames_publish_papp_and_indexes() -> None:
    data = historic_frame(
        {"ADCO": "021861348497", "BASE": "012345678", "PAPP": "01230", "PTEC": "TH.."}
    )
    (frame,) = _decode(data, Mode.HISTORIC)
    messages = dict(mqtt_messages(frame))
    assert messages["tic/PAPP"] == "1230" and messages["tic/BASE"] == "12345678"
    assert "tic/PTEC" not in messages
    assert frame_point(frame, frame.meter_id, NOW).tags == {"meter": "021861348497"}


def test_the_sink_dumps_every_frame_and_keeps_the_last_known_meter() -> None:
    out = io.StringIO()
    sink = FrameSink(None, None, out)
    good = _producer_frame()
    no_adsc = good.replace(b"ADSC\t041876097652\t", b"ADSC\t041876097653\t")
    all_bad = encode_frame([encode_group("SINSTS", "00100", Mode.STANDARD)[:-2] + b"!\r"])
    for data in (good, no_adsc, all_bad):
        for frame in _decode(data):
            sink.handle(frame)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [doc["rejected_groups"] for doc in lines] == [0, 1, 1]
    assert sink.meter_id == "041876097652"


def test_points_of_frames_decoded_in_the_same_instant_get_distinct_times() -> None:
    class Recorder:
        def __init__(self) -> None:
            self.points: list[Point] = []

        def write(self, point: Point) -> None:
            self.points.append(point)

    recorder = Recorder()
    sink = FrameSink(None, recorder, None)  # type: ignore[arg-type]
    for frame in _decode(_producer_frame() * 3):
        sink.handle(frame)
    times = [p.time for p in recorder.points]
    assert times == [NOW, NOW + timedelta(microseconds=1), NOW + timedelta(microseconds=2)]


def test_rejected_groups_are_logged_at_most_once_a_minute(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    stats = DecoderStats()
    log = RejectLog(now=0.0)
    for second in range(0, 185):
        stats.checksum_errors += 3  # a very noisy line: 3 bad groups a second
        log.maybe_log(stats, float(second))
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3  # at t=60, 120, 180
    assert lines[0].startswith("rejected 183 groups (183 bad checksum, 0 malformed)")
    assert lines[1].startswith("rejected 180 groups")
