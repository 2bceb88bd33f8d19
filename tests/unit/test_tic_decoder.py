"""What the pure TIC decoder promises (pvopt.tic.decoder), pinned on frames from the encoder.

Frames are built with :mod:`pvopt.tic.encoder` from the spec's own layout, then damaged
in the ways real lines damage them (tic.md §6): bad checksums, lost LF/CR, EOT, lost ETX,
a port opened mid-frame or 8N1 instead of 7E1.
"""

from __future__ import annotations

import json
import random
import sys
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from pvopt.tic.decoder import (
    MAX_FRAME_BYTES,
    Frame,
    FrameDecoder,
    GroupError,
    Mode,
    checksum,
    detect_mode,
    parse_group,
    parse_horodate,
)
from pvopt.tic.encoder import (
    encode_frame,
    encode_group,
    historic_frame,
    linky_standard_frame,
    standard_frame,
)

NOW = datetime(2026, 6, 14, 12, 0, tzinfo=UTC)
WINTER = timezone(timedelta(hours=1))
SUMMER = timezone(timedelta(hours=2))
PARIS = ZoneInfo("Europe/Paris")
STX, ETX, EOT, LF, CR = b"\x02", b"\x03", b"\x04", b"\n", b"\r"

#: A single-phase historic BASE frame, as CPT_02E lays it out (raw, padded data).
HISTORIC_VALUES: dict[str, str] = {
    "ADCO": "021861348497",
    "OPTARIF": "BASE",
    "ISOUSC": "30",
    "BASE": "012345678",
    "PTEC": "TH..",
    "IINST": "012",
    "IMAX": "090",
    "PAPP": "02830",
    "HHPHC": "A",
    "MOTDETAT": "000000",
}
HISTORIC_DECODED: dict[str, int | str] = {
    "ADCO": "021861348497",
    "OPTARIF": "BASE",
    "ISOUSC": 30,
    "BASE": 12345678,
    "PTEC": "TH..",
    "IINST": 12,
    "IMAX": 90,
    "PAPP": 2830,
    "HHPHC": "A",
    "MOTDETAT": "000000",
}
SHORT_FRAME_VALUES: dict[str, str] = {
    "ADIR1": "012",
    "ADIR2": "000",
    "ADIR3": "000",
    "ADCO": "021861348497",
    "IINST1": "065",
    "IINST2": "004",
    "IINST3": "003",
}
LONG_THREE_PHASE_VALUES: dict[str, str] = {
    "ADCO": "021861348497",
    "OPTARIF": "BASE",
    "ISOUSC": "20",
    "BASE": "012345678",
    "PTEC": "TH..",
    "IINST1": "005",
    "IINST2": "004",
    "IINST3": "003",
    "IMAX1": "060",
    "IMAX2": "060",
    "IMAX3": "060",
    "PMAX": "03500",
    "PAPP": "01520",
    "HHPHC": "A",
    "MOTDETAT": "000000",
    "PPOT": "00",
}


def producer_frame(erq: tuple[int, int, int, int] = (1, 890, 2546, 4)) -> bytes:
    """A realistic single-phase producer frame (SINSTI 1250 VA, EAIT, ERQ1..4)."""
    return linky_standard_frame(
        date="E260614140000", sinsts_va=0, sinsti_va=1250, eait_wh=32781, erq_varh=erq
    )


def decode(
    data: bytes, mode: Mode, *, max_frame_bytes: int = MAX_FRAME_BYTES
) -> tuple[list[Frame], FrameDecoder]:
    """Feed ``data`` in one chunk to a fresh decoder; return its frames and the decoder."""
    decoder = FrameDecoder(mode, max_frame_bytes)
    return decoder.feed(data, NOW), decoder


def feed_in_chunks(decoder: FrameDecoder, data: bytes, size: int) -> list[Frame]:
    """Feed ``data`` ``size`` bytes at a time, collecting every completed frame."""
    frames: list[Frame] = []
    for start in range(0, len(data), size):
        frames += decoder.feed(data[start : start + size], NOW)
    return frames


def single(data: bytes, mode: Mode) -> Frame:
    """The one frame ``data`` must decode to."""
    frames, _ = decode(data, mode)
    assert len(frames) == 1, frames
    return frames[0]


def with_bad_checksum(frame: bytes, group: bytes) -> bytes:
    """``frame`` where ``group`` (LF … CR, as encoded) carries a wrong checksum byte."""
    assert frame.count(group) == 1
    wrong = 0x20 + (group[-2] - 0x20 + 1) % 64
    return frame.replace(group, group[:-2] + bytes((wrong,)) + CR)


# --------------------------------------------------------------------------- both modes


def test_a_historic_frame_decodes_every_group_in_frame_order() -> None:
    frame = single(historic_frame(HISTORIC_VALUES), Mode.HISTORIC)
    assert frame.mode is Mode.HISTORIC
    assert frame.values == HISTORIC_DECODED
    assert list(frame.values) == list(HISTORIC_VALUES)
    assert frame.horodates == {}
    assert frame.rejected_groups == 0
    assert frame.clock_degraded is False
    assert frame.time == NOW


def test_a_standard_producer_frame_decodes_the_power_energy_and_reactive_counters() -> None:
    frame = single(producer_frame(), Mode.STANDARD)
    assert frame.mode is Mode.STANDARD
    assert frame.rejected_groups == 0
    assert frame.values["SINSTS"] == 0
    assert frame.values["SINSTI"] == 1250
    assert frame.values["EAIT"] == 32781
    assert [frame.values[f"ERQ{i}"] for i in range(1, 5)] == [1, 890, 2546, 4]
    assert frame.values["PREF"] == 9
    assert frame.values["NGTF"] == "PRODUCTEUR"
    assert frame.values["LTARF"] == "INDEX NON CONSO"
    assert frame.time == NOW


def test_each_decoder_only_accepts_groups_of_its_own_mode() -> None:
    """Historic groups in a standard decoder (and the reverse) are rejected, not guessed."""
    frames, decoder = decode(historic_frame(HISTORIC_VALUES), Mode.STANDARD)
    assert frames[0].values == {}
    assert frames[0].rejected_groups == len(HISTORIC_VALUES)
    assert decoder.stats.valid_groups == 0
    frames, decoder = decode(producer_frame(), Mode.HISTORIC)
    assert frames[0].values == {}
    assert decoder.stats.valid_groups == 0


def test_the_frame_time_is_the_time_given_with_the_chunk_that_completed_it() -> None:
    """The decoder never reads a clock: ``time`` is the ``now`` of the ETX's chunk."""
    data = historic_frame(HISTORIC_VALUES)
    later = NOW + timedelta(seconds=2)
    decoder = FrameDecoder(Mode.HISTORIC)
    assert decoder.feed(data[:-1], NOW) == []
    (frame,) = decoder.feed(data[-1:], later)
    assert frame.time == later


# --------------------------------------------------------------------------- horodates


def _dated(horodates: dict[str, str], values: dict[str, str] | None = None) -> Frame:
    values = values if values is not None else {label: "" for label in horodates}
    return single(standard_frame(values, horodates), Mode.STANDARD)


def test_season_h_is_winter_time_utc_plus_1() -> None:
    frame = _dated({"DATE": "H260115083000"})
    when = frame.horodates["DATE"]
    assert when == datetime(2026, 1, 15, 8, 30, tzinfo=WINTER)
    assert when.utcoffset() == timedelta(hours=1)
    assert frame.clock_degraded is False


def test_season_e_is_summer_time_utc_plus_2() -> None:
    frame = _dated({"DATE": "E260614140005"})
    when = frame.horodates["DATE"]
    assert when == datetime(2026, 6, 14, 14, 0, 5, tzinfo=SUMMER)
    assert when.utcoffset() == timedelta(hours=2)
    assert when.astimezone(UTC) == datetime(2026, 6, 14, 12, 0, 5, tzinfo=UTC)
    assert frame.clock_degraded is False


def test_the_season_letter_makes_the_repeated_autumn_hour_exact() -> None:
    """25 Oct 2026 02:30 happens twice in Paris; E and H tell the two apart."""
    first, _ = parse_horodate("E261025023000")
    second, _ = parse_horodate("H261025023000")
    assert first.astimezone(UTC) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert second - first == timedelta(hours=1)


@pytest.mark.parametrize(("text", "offset"), [("e260614120000", 2), ("h260115120000", 1)])
def test_a_lower_case_season_flags_a_degraded_clock(text: str, offset: int) -> None:
    """Lower case = the meter clock is in degraded mode; the offset is still the season's."""
    when, degraded = parse_horodate(text)
    assert degraded is True
    assert when.utcoffset() == timedelta(hours=offset)
    frame = _dated({"DATE": text})
    assert frame.clock_degraded is True
    assert frame.horodates["DATE"] == when


@pytest.mark.parametrize("degraded_first", [False, True])
def test_one_degraded_horodate_is_enough_to_flag_the_frame(degraded_first: bool) -> None:
    horodates = {"DATE": "E260614120000", "SMAXSN": "e260614071502"}
    values = {"DATE": "", "SMAXSN": "04210"}  # the groups' order in the frame
    if degraded_first:
        values = dict(reversed(values.items()))
    frame = _dated(horodates, values)
    assert frame.clock_degraded is True
    assert frame.values == {"SMAXSN": 4210}


def test_a_space_season_is_local_paris_time() -> None:
    """DPM/FPM groups may carry a space season ("not applicable"): Europe/Paris is assumed."""
    frame = _dated({"DPM1": " 260614060000"}, {"DPM1": "00"})
    when = frame.horodates["DPM1"]
    assert when.tzinfo is PARIS
    assert when.utcoffset() == timedelta(hours=2)
    assert frame.values == {"DPM1": 0}
    assert frame.clock_degraded is False
    winter, degraded = parse_horodate(" 260115060000")
    assert winter.tzinfo is PARIS
    assert winter.utcoffset() == timedelta(hours=1)
    assert degraded is False


def test_every_horodate_is_timezone_aware() -> None:
    frame = single(producer_frame(), Mode.STANDARD)
    assert set(frame.horodates) == {"DATE", "SMAXSN", "SMAXSN-1", "UMOY1", "SMAXIN", "SMAXIN-1"}
    assert all(when.tzinfo is not None for when in frame.horodates.values())
    assert frame.horodates["DATE"] == datetime(2026, 6, 14, 14, 0, tzinfo=SUMMER)


@pytest.mark.parametrize(
    "text",
    [
        "X260614120000",
        "E26061412000",
        "E2606141200000",
        "E261314120000",
        "E260614250000",
        "E2606A4120000",
        "E260230120000",
    ],
)
def test_an_invalid_horodate_rejects_its_group(text: str) -> None:
    with pytest.raises(GroupError):
        parse_horodate(text)
    frames, decoder = decode(
        standard_frame({"DATE": "", "SINSTS": "00420"}, {"DATE": text}), Mode.STANDARD
    )
    assert frames[0].values == {"SINSTS": 420}
    assert frames[0].horodates == {}
    assert frames[0].rejected_groups == 1
    assert decoder.stats.malformed_groups == 1


# --------------------------------------------------------------------------- values


def test_date_has_an_empty_value_and_lives_only_in_horodates() -> None:
    group = parse_group(
        encode_group("DATE", "", Mode.STANDARD, "E260614140000")[1:-1], Mode.STANDARD
    )
    assert group.value is None
    frame = single(producer_frame(), Mode.STANDARD)
    assert "DATE" not in frame.values
    assert "DATE" in frame.horodates


def test_date_without_a_horodate_is_rejected() -> None:
    frames, _ = decode(standard_frame({"DATE": "", "SINSTS": "00001"}), Mode.STANDARD)
    assert frames[0].values == {"SINSTS": 1}
    assert frames[0].horodates == {}
    assert frames[0].rejected_groups == 1


def test_spaces_inside_standard_values_are_kept_and_padding_is_stripped() -> None:
    """In standard mode only HT separates fields: MSG1/PJOURF+1/LTARF keep inner spaces."""
    frame = single(
        standard_frame(
            {
                "MSG1": "PAS DE          MESSAGE         ",
                "PJOURF+1": "00008001 0100C001 NONUTILE",
                "NGTF": "     TEMPO      ",
                "LTARF": "    HP  BLEU    ",
            }
        ),
        Mode.STANDARD,
    )
    assert frame.values == {
        "MSG1": "PAS DE          MESSAGE",
        "PJOURF+1": "00008001 0100C001 NONUTILE",
        "NGTF": "TEMPO",
        "LTARF": "HP  BLEU",
    }


def test_numeric_labels_become_ints_and_text_labels_stay_text() -> None:
    """Numbers lose their zero padding; addresses keep theirs (they are not numbers)."""
    frame = single(producer_frame(), Mode.STANDARD)
    for label in (
        "EAST",
        "EASF01",
        "SINSTS",
        "SINSTI",
        "PREF",
        "PCOUP",
        "RELAIS",
        "NTARF",
        "IRMS1",
        "URMS1",
        "UMOY1",
        "SMAXSN",
    ):
        assert type(frame.values[label]) is int, label
    assert frame.values["RELAIS"] == 0
    assert frame.values["NTARF"] == 1
    assert frame.values["ADSC"] == "041876097652"
    assert frame.values["PRM"] == "09876543210987"
    assert frame.values["VTIC"] == "02"
    assert frame.values["STGE"] == "002A0301"
    historic = single(historic_frame(HISTORIC_VALUES), Mode.HISTORIC)
    assert historic.values["ADCO"] == "021861348497"
    assert historic.values["MOTDETAT"] == "000000"
    assert historic.values["ISOUSC"] == 30


@pytest.mark.parametrize("mode", list(Mode))
def test_unknown_labels_are_kept_as_text_never_as_numbers(mode: Mode) -> None:
    data = encode_frame([encode_group("GAZ", "0001234", mode), encode_group("IMAX", "090", mode)])
    frame = single(data, mode)
    assert frame.values["GAZ"] == "0001234"  # a pre-Linky concentrator label: unknown
    # IMAX is a historic label (an int); in standard mode it is unknown, so text
    assert frame.values["IMAX"] == (90 if mode is Mode.HISTORIC else "090")


@pytest.mark.parametrize(
    ("mode", "label", "data"),
    [
        (Mode.STANDARD, "SINSTS", "01A58"),
        (Mode.STANDARD, "EAST", ""),
        (Mode.STANDARD, "SINSTI", " 1258"),
        (Mode.HISTORIC, "PAPP", "0283O"),
        (Mode.HISTORIC, "BASE", "-00001234"),
    ],
)
def test_a_numeric_label_with_non_digits_is_rejected_not_guessed(
    mode: Mode, label: str, data: str
) -> None:
    frames, decoder = decode(
        encode_frame([encode_group(label, data, mode), encode_group("ADXX", "1", mode)]), mode
    )
    assert frames[0].values == {"ADXX": "1"}
    assert frames[0].rejected_groups == 1
    assert decoder.stats.malformed_groups == 1
    assert decoder.stats.checksum_errors == 0


# --------------------------------------------------------------------------- bad groups


def test_a_bad_checksum_drops_that_group_only_and_counts_it() -> None:
    good = producer_frame()
    smaxin = encode_group("SMAXIN", "02980", Mode.STANDARD, "E260614131020")
    frames, decoder = decode(with_bad_checksum(good, smaxin), Mode.STANDARD)
    (frame,) = frames
    reference = single(good, Mode.STANDARD)
    assert frame.rejected_groups == 1
    assert "SMAXIN" not in frame.values
    assert "SMAXIN" not in frame.horodates
    assert frame.values == {k: v for k, v in reference.values.items() if k != "SMAXIN"}
    assert frame.horodates == {k: v for k, v in reference.horodates.items() if k != "SMAXIN"}
    assert decoder.stats.checksum_errors == 1
    assert decoder.stats.malformed_groups == 0
    assert decoder.stats.rejected_groups == 1
    assert decoder.stats.valid_groups == len(frame.values) + 1  # + DATE, which has no value
    assert decoder.stats.frames == 1


def test_a_bad_historic_group_is_dropped_and_counted() -> None:
    good = historic_frame(HISTORIC_VALUES)
    papp = encode_group("PAPP", "02830", Mode.HISTORIC)
    frames, decoder = decode(with_bad_checksum(good, papp), Mode.HISTORIC)
    assert frames[0].values == {k: v for k, v in HISTORIC_DECODED.items() if k != "PAPP"}
    assert frames[0].rejected_groups == 1
    assert decoder.stats.checksum_errors == 1
    assert decoder.stats.valid_groups == len(HISTORIC_VALUES) - 1


def test_rejected_groups_are_counted_per_frame_and_accumulated_in_stats() -> None:
    papp = encode_group("PAPP", "02830", Mode.HISTORIC)
    iinst = encode_group("IINST", "012", Mode.HISTORIC)
    bad_one = with_bad_checksum(historic_frame(HISTORIC_VALUES), papp)
    bad_two = with_bad_checksum(bad_one, iinst)
    frames, decoder = decode(bad_one + bad_two + historic_frame(HISTORIC_VALUES), Mode.HISTORIC)
    assert [f.rejected_groups for f in frames] == [1, 2, 0]
    assert decoder.stats.rejected_groups == 3
    assert decoder.stats.frames == 3


@pytest.mark.parametrize("mode", list(Mode))
@pytest.mark.parametrize("damage", ["LF", "CR"])
def test_a_damaged_lf_or_cr_rejects_the_group_it_not_silently_lost(mode: Mode, damage: str) -> None:
    """Noise turning LF into 0x0B or CR into 0x0E (linkytic #67): the group is counted."""
    values = (
        HISTORIC_VALUES
        if mode is Mode.HISTORIC
        else {"ADSC": "041876097652", "SINSTS": "00000", "SINSTI": "01250", "EAIT": "000032781"}
    )
    victim = "PAPP" if mode is Mode.HISTORIC else "SINSTI"
    group = encode_group(victim, values[victim], mode)
    damaged = b"\x0b" + group[1:] if damage == "LF" else group[:-1] + b"\x0e"
    good = encode_frame(encode_group(k, v, mode) for k, v in values.items())
    reference = single(good, mode)
    frames, decoder = decode(good.replace(group, damaged), mode)
    (frame,) = frames
    assert frame.rejected_groups == 1
    assert decoder.stats.rejected_groups == 1
    assert frame.values == {k: v for k, v in reference.values.items() if k != victim}


def test_a_malformed_group_is_counted_as_malformed() -> None:
    data = STX + b"\nGARBAGE\r" + encode_group("PAPP", "02830", Mode.HISTORIC) + ETX
    frames, decoder = decode(data, Mode.HISTORIC)
    assert frames[0].values == {"PAPP": 2830}
    assert decoder.stats.malformed_groups == 1
    assert decoder.stats.checksum_errors == 0


# --------------------------------------------------------------------------- link layer


@pytest.mark.parametrize("mode", list(Mode))
def test_bytes_with_the_parity_bit_set_decode_identically(mode: Mode) -> None:
    """A port opened 8N1 delivers the 7E1 parity in bit 7: every byte is masked to 7 bits."""
    data = historic_frame(HISTORIC_VALUES) if mode is Mode.HISTORIC else producer_frame()
    with_parity = bytes(b | 0x80 for b in data)
    assert single(with_parity, mode) == single(data, mode)


def test_eot_aborts_the_frame_in_progress_and_the_next_frame_decodes() -> None:
    first = historic_frame({"ADPS": "045", **HISTORIC_VALUES, "PAPP": "09990"})
    second = historic_frame(HISTORIC_VALUES)
    cut = first.index(b"\nPAPP")  # several complete groups (ADPS…) already received
    frames, decoder = decode(first[:cut] + EOT + second, Mode.HISTORIC)
    assert frames == [single(second, Mode.HISTORIC)]
    assert decoder.stats.interrupted_frames == 1
    assert decoder.stats.frames == 1


def test_what_follows_an_eot_does_not_complete_the_aborted_frame() -> None:
    """After EOT, bytes up to the next STX are ignored, even a trailing ETX."""
    data = historic_frame(HISTORIC_VALUES)
    cut = data.index(b"\nPAPP")
    decoder = FrameDecoder(Mode.HISTORIC)
    assert decoder.feed(data[:cut], NOW) == []
    assert decoder.feed(EOT, NOW) == []
    assert decoder.feed(data[cut:], NOW) == []
    assert decoder.stats.interrupted_frames == 1
    assert decoder.feed(data, NOW) == [single(data, Mode.HISTORIC)]


def test_an_eot_outside_a_frame_is_ignored() -> None:
    data = historic_frame(HISTORIC_VALUES)
    frames, decoder = decode(EOT + data + EOT, Mode.HISTORIC)
    assert len(frames) == 1
    assert decoder.stats.interrupted_frames == 0


def test_bytes_before_the_first_stx_are_ignored_even_valid_groups() -> None:
    """Opening the port mid-frame: the tail of that frame is not a frame."""
    data = historic_frame(HISTORIC_VALUES)
    tail = b"97 L\r" + encode_group("PAPP", "09990", Mode.HISTORIC) + ETX + b"\r\n\x04junk"
    frames, decoder = decode(tail + data, Mode.HISTORIC)
    assert frames == [single(data, Mode.HISTORIC)]
    assert frames[0].values["PAPP"] == 2830
    assert decoder.stats.frames == 1
    assert decoder.stats.rejected_groups == 0


def test_a_stx_inside_a_frame_restarts_it() -> None:
    """STX without ETX: the cut frame is dropped (counted), the new one decodes alone."""
    first = historic_frame({"ADPS": "045", **HISTORIC_VALUES})
    second = historic_frame(HISTORIC_VALUES)
    cut = first.index(b"\nPAPP")  # ADPS and more are complete before the cut
    frames, decoder = decode(first[:cut] + second, Mode.HISTORIC)
    assert frames == [single(second, Mode.HISTORIC)]
    assert "ADPS" not in frames[0].values
    assert decoder.stats.interrupted_frames == 1


def test_reset_forgets_the_partial_frame() -> None:
    data = historic_frame(HISTORIC_VALUES)
    decoder = FrameDecoder(Mode.HISTORIC)
    decoder.feed(data[: len(data) // 2], NOW)
    decoder.reset()
    assert decoder.feed(data[len(data) // 2 :], NOW) == []
    assert decoder.feed(data, NOW) == [single(data, Mode.HISTORIC)]


def _runaway(mode: Mode, size: int) -> bytes:
    """STX followed by valid groups for more than ``size`` bytes, and no ETX (it was lost)."""
    groups = b""
    i = 0
    while len(groups) <= size:
        groups += encode_group(f"L{i:04d}", "X" * 20, mode)
        i += 1
    return STX + groups


@pytest.mark.parametrize("chunk", [1, 7, 16, 100])
def test_a_frame_whose_etx_is_lost_is_bounded_and_the_next_frame_decodes(chunk: int) -> None:
    limit = 256
    good = historic_frame(HISTORIC_VALUES)
    data = _runaway(Mode.HISTORIC, 2 * limit) + good
    decoder = FrameDecoder(Mode.HISTORIC, max_frame_bytes=limit)
    frames: list[Frame] = []
    for start in range(0, len(data), chunk):
        frames += decoder.feed(data[start : start + chunk], NOW)
        assert len(decoder._buf) <= limit  # the buffer never grows past the bound
    assert frames == [single(good, Mode.HISTORIC)]
    assert decoder.stats.oversized_frames == 1
    assert decoder.stats.frames == 1


def test_the_default_bound_is_max_frame_bytes() -> None:
    good = producer_frame()
    data = _runaway(Mode.STANDARD, MAX_FRAME_BYTES + 1000) + good
    decoder = FrameDecoder(Mode.STANDARD)
    frames: list[Frame] = []
    for start in range(0, len(data), 512):
        frames += decoder.feed(data[start : start + 512], NOW)
        assert len(decoder._buf) <= MAX_FRAME_BYTES
    assert frames == [single(good, Mode.STANDARD)]
    assert decoder.stats.oversized_frames == 1


@pytest.mark.parametrize("chunk", [1, 13, 10_000])
def test_a_frame_of_exactly_max_bytes_decodes_and_one_more_byte_is_oversized(chunk: int) -> None:
    data = historic_frame(HISTORIC_VALUES)
    body = len(data) - 2  # without STX and ETX
    fits = FrameDecoder(Mode.HISTORIC, max_frame_bytes=body)
    assert feed_in_chunks(fits, data, chunk) == [single(data, Mode.HISTORIC)]
    too_small = FrameDecoder(Mode.HISTORIC, max_frame_bytes=body - 1)
    assert feed_in_chunks(too_small, data + data, chunk) == []
    assert too_small.stats.oversized_frames == 2
    assert too_small.stats.frames == 0


def test_a_lost_etx_is_counted_oversized_even_when_fed_in_one_chunk() -> None:
    limit = 256
    good = historic_frame(HISTORIC_VALUES)
    frames, decoder = decode(
        _runaway(Mode.HISTORIC, 2 * limit) + good, Mode.HISTORIC, max_frame_bytes=limit
    )
    assert frames == [single(good, Mode.HISTORIC)]
    assert decoder.stats.oversized_frames == 1
    assert decoder.stats.interrupted_frames == 0


def _overlong_digits() -> bytes:
    """More digits than CPython's int/str conversion accepts (the ``int_max_str_digits`` limit)."""
    limit = sys.get_int_max_str_digits()
    if limit == 0:
        pytest.skip("int_max_str_digits is unlimited in this interpreter")
    return b"1" * (limit + 1)


def test_an_overlong_numeric_value_is_a_group_error() -> None:
    body = b"PAPP " + _overlong_digits()
    with pytest.raises(GroupError):
        parse_group(body + b" " + bytes((checksum(body),)), Mode.HISTORIC)


def test_feed_never_raises_on_an_overlong_numeric_group_with_a_larger_bound() -> None:
    body = b"PAPP " + _overlong_digits()
    group = LF + body + b" " + bytes((checksum(body),)) + CR
    decoder = FrameDecoder(Mode.HISTORIC, max_frame_bytes=len(group) + 100)
    (frame,) = decoder.feed(STX + group + encode_group("IINST", "012", Mode.HISTORIC) + ETX, NOW)
    assert frame.values == {"IINST": 12}
    assert frame.rejected_groups == 1


@pytest.mark.parametrize(
    "body",
    [b"DATE\t\xc5260614120000\t\t", b"SINST\xc9\t01258\t"],
    ids=["horodate", "label"],
)
def test_parse_group_reports_non_ascii_bytes_as_a_group_error(body: bytes) -> None:
    with pytest.raises(GroupError):
        parse_group(body + bytes((checksum(body),)), Mode.STANDARD)


# --------------------------------------------------------------------------- Frame


def test_erqt_is_the_sum_of_the_four_quadrants_when_all_are_valid() -> None:
    frame = single(producer_frame((1, 890, 2546, 4)), Mode.STANDARD)
    assert frame.erqt == 1 + 890 + 2546 + 4


@pytest.mark.parametrize("quadrant", [1, 2, 3, 4])
def test_erqt_is_none_when_one_quadrant_was_rejected(quadrant: int) -> None:
    erq = (1, 890, 2546, 4)
    group = encode_group(f"ERQ{quadrant}", f"{erq[quadrant - 1]:09d}", Mode.STANDARD)
    frame = single(with_bad_checksum(producer_frame(erq), group), Mode.STANDARD)
    assert f"ERQ{quadrant}" not in frame.values
    assert frame.erqt is None


def test_erqt_is_none_without_reactive_counters() -> None:
    consumer = linky_standard_frame(date="E260614140000", sinsts_va=1200)
    assert single(consumer, Mode.STANDARD).erqt is None
    assert single(historic_frame(HISTORIC_VALUES), Mode.HISTORIC).erqt is None


def test_meter_id_is_adsc_in_standard_mode_and_adco_in_historic_mode() -> None:
    assert single(producer_frame(), Mode.STANDARD).meter_id == "041876097652"
    assert single(historic_frame(HISTORIC_VALUES), Mode.HISTORIC).meter_id == "021861348497"


def test_meter_id_is_none_when_the_address_group_was_rejected() -> None:
    adsc = encode_group("ADSC", "041876097652", Mode.STANDARD)
    assert single(with_bad_checksum(producer_frame(), adsc), Mode.STANDARD).meter_id is None


def test_three_phase_short_frames_are_short_and_long_frames_are_not() -> None:
    short = single(historic_frame(SHORT_FRAME_VALUES), Mode.HISTORIC)
    long = single(historic_frame(LONG_THREE_PHASE_VALUES), Mode.HISTORIC)
    assert short.is_short is True
    assert short.values["ADIR1"] == 12
    assert long.is_short is False
    assert single(historic_frame(HISTORIC_VALUES), Mode.HISTORIC).is_short is False
    assert single(producer_frame(), Mode.STANDARD).is_short is False
    # ADIR is not a standard-mode label: a standard frame carrying one is still not short
    adir = encode_frame([encode_group("ADIR1", "012", Mode.STANDARD)])
    assert single(adir, Mode.STANDARD).is_short is False


def test_to_json_dict_has_exactly_the_dump_shape() -> None:
    group = encode_group("SINSTS", "00000", Mode.STANDARD)
    frame = single(with_bad_checksum(producer_frame(), group), Mode.STANDARD)
    dumped = frame.to_json_dict()
    assert set(dumped) == {"time", "mode", "values", "horodates", "rejected_groups"}
    assert dumped["time"] == NOW.isoformat() == "2026-06-14T12:00:00+00:00"
    assert dumped["mode"] == "standard"
    assert dumped["values"] == frame.values
    assert dumped["horodates"] == {k: v.isoformat() for k, v in frame.horodates.items()}
    assert dumped["horodates"]["DATE"] == "2026-06-14T14:00:00+02:00"
    assert dumped["rejected_groups"] == 1
    assert json.loads(json.dumps(dumped)) == dumped
    historic = single(historic_frame(HISTORIC_VALUES), Mode.HISTORIC).to_json_dict()
    assert historic["mode"] == "historic"
    assert historic["horodates"] == {}


# --------------------------------------------------------------------------- detect_mode


def test_detect_mode_recognises_each_mode_by_its_valid_checksums() -> None:
    assert detect_mode(producer_frame(), NOW) is Mode.STANDARD
    assert detect_mode(historic_frame(HISTORIC_VALUES), NOW) is Mode.HISTORIC


def test_detect_mode_returns_none_for_junk() -> None:
    rng = random.Random(20260614)
    assert detect_mode(b"", NOW) is None
    assert detect_mode(bytes(rng.randrange(256) for _ in range(4000)), NOW) is None
    assert detect_mode(STX + b"\nthis is not\r\n a TIC frame\r" + ETX, NOW) is None
    # bytes at the wrong speed look like this: framing bytes, but no checksum passes
    assert detect_mode(bytes(b ^ 0x55 for b in producer_frame()), NOW) is None
