"""Properties of the TIC decoder that must hold for *any* input, checked with hypothesis.

What is pinned, and what is deliberately not:

* Arbitrary bytes never make the decoder raise, and everything it returns comes from a
  piece of the input whose checksum verifies (checked here independently of the decoder).
* Valid groups mixed with junk that cannot form a group decode to exactly those groups.
* A single flipped bit: bit 7 is the parity bit and is masked (no change at all); bits 0–5
  change the byte sum modulo 64, so the damaged group is always rejected (when the flip
  leaves the framing intact). Bit 6 changes the sum by ±64, which a 6-bit checksum cannot
  see: the damaged group may come back with a wrong label or value. That is a limit of
  the TIC, not of the decoder, so for it only "no raise, nothing else changes" is asserted.
* The frames do not depend on how the bytes are chunked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

from hypothesis import event, given, settings
from hypothesis import strategies as st

from pvopt.tic.decoder import Frame, FrameDecoder, GroupError, Mode, parse_group
from pvopt.tic.encoder import encode_frame, encode_group

NOW = datetime(2026, 6, 14, 12, 0, tzinfo=UTC)
FAST = settings(max_examples=150, deadline=None, database=None)
FRAMING = frozenset(b"\x02\x03\x04\n\r")
_FRAMING_RE = re.compile(rb"[\x02\x03\x04\n\r]")
_OFFSETS: dict[str, tzinfo] = {
    "H": timezone(timedelta(hours=1)),
    "E": timezone(timedelta(hours=2)),
    " ": ZoneInfo("Europe/Paris"),
}

#: Labels and the zero-padded width of their numeric data.
INT_LABELS: dict[Mode, dict[str, int]] = {
    Mode.STANDARD: {
        "EAST": 9, "EASF01": 9, "EAIT": 9, "ERQ1": 9, "ERQ2": 9, "SINSTS": 5, "SINSTI": 5,
        "IRMS1": 3, "URMS1": 3, "PREF": 2, "PCOUP": 2, "NTARF": 2, "RELAIS": 3,
    },
    Mode.HISTORIC: {
        "BASE": 9, "HCHC": 9, "HCHP": 9, "ISOUSC": 2, "IINST": 3, "IMAX": 3, "PAPP": 5,
        "ADIR1": 3,
    },
}  # fmt: skip
TEXT_LABELS: dict[Mode, list[str]] = {
    Mode.STANDARD: ["ADSC", "VTIC", "NGTF", "LTARF", "STGE", "MSG1", "PRM", "PJOURF+1", "XNEW"],
    Mode.HISTORIC: ["ADCO", "OPTARIF", "PTEC", "DEMAIN", "HHPHC", "MOTDETAT", "GAZ"],
}
#: Standard labels sent with a horodate (DATE has no data).
DATED_LABELS: dict[str, int] = {"DATE": 0, "SMAXSN": 5, "SMAXIN": 5, "UMOY1": 3, "CCASN": 5}


@dataclass(frozen=True)
class G:
    """A valid group to send and what it must decode to."""

    label: str
    data: str
    horodate: str | None
    value: int | str | None
    when: datetime | None

    def encode(self, mode: Mode) -> bytes:
        return encode_group(self.label, self.data, mode, self.horodate)


@st.composite
def horodates(draw: st.DrawFn) -> tuple[str, datetime]:
    season = draw(st.sampled_from("HEhe "))
    moment = draw(
        st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31, 23, 59, 59))
    )
    text = season + moment.strftime("%y%m%d%H%M%S")
    return text, moment.replace(microsecond=0, tzinfo=_OFFSETS[season.upper()])


def text_data(mode: Mode) -> st.SearchStrategy[str]:
    """Printable data; spaces allowed (inside standard data they are legal)."""
    alphabet = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
    return st.text(alphabet, min_size=1, max_size=32).filter(lambda s: s.strip() != "")


@st.composite
def groups(draw: st.DrawFn, mode: Mode) -> G:
    kinds = ["int", "text", "dated"] if mode is Mode.STANDARD else ["int", "text"]
    kind = draw(st.sampled_from(kinds))
    if kind == "int":
        label, width = draw(st.sampled_from(sorted(INT_LABELS[mode].items())))
        number = draw(st.integers(0, 10**width - 1))
        return G(label, f"{number:0{width}d}", None, number, None)
    if kind == "text":
        label = draw(st.sampled_from(TEXT_LABELS[mode]))
        data = draw(text_data(mode))
        return G(label, data, None, data.strip(), None)
    label, width = draw(st.sampled_from(sorted(DATED_LABELS.items())))
    text, when = draw(horodates())
    if width == 0:
        return G(label, "", text, None, when)
    number = draw(st.integers(0, 10**width - 1))
    return G(label, f"{number:0{width}d}", text, number, when)


def frame_contents(mode: Mode, min_size: int = 1) -> st.SearchStrategy[list[G]]:
    return st.lists(groups(mode), min_size=min_size, max_size=12, unique_by=lambda g: g.label)


def expected_values(content: list[G]) -> dict[str, int | str]:
    return {g.label: g.value for g in content if g.value is not None}


def verified_pieces(data: bytes, mode: Mode) -> set[tuple[str, int | str | None]]:
    """Label/value of every piece of ``data`` (cut at any framing byte) whose checksum passes.

    The checksum is recomputed here from the spec, not taken from the decoder.
    """
    found: set[tuple[str, int | str | None]] = set()
    masked = bytes(b & 0x7F for b in data)
    for piece in _FRAMING_RE.split(masked):
        if len(piece) < 4 or piece[-2] != mode.separator:
            continue
        zone = piece[:-1] if mode is Mode.STANDARD else piece[:-2]
        if (sum(zone) % 64) + 32 != piece[-1]:
            continue
        try:
            group = parse_group(piece, mode)
        except GroupError:
            continue
        found.add((group.label, group.value))
    return found


def decode(data: bytes, mode: Mode) -> list[Frame]:
    return FrameDecoder(mode).feed(data, NOW)


def returned_pairs(frames: list[Frame]) -> set[tuple[str, int | str]]:
    return {(label, value) for frame in frames for label, value in frame.values.items()}


def assert_reencoding_round_trips(frames: list[Frame], mode: Mode) -> None:
    """Whatever is returned is something a valid group can carry: re-encoded, it verifies
    and decodes back to the same label and value."""
    for frame in frames:
        for label, value in frame.values.items():
            again = parse_group(encode_group(label, str(value), mode)[1:-1], mode)
            assert (again.label, again.value) == (label, value)


modes = st.sampled_from(list(Mode))


# --------------------------------------------------------------------------- random bytes


#: Bytes a TIC line is made of, so that random input often forms frames and groups.
_TIC_ALPHABET = b"\x02\x03\x04\n\r\t  0123ABCDEHIPST.-+\x82\x83\x8a\x8d"
tic_like_bytes = st.lists(st.sampled_from(_TIC_ALPHABET), max_size=3000).map(bytes)


@FAST
@given(mode=modes, data=st.one_of(st.binary(max_size=3000), tic_like_bytes))
def test_random_bytes_never_raise_and_only_verified_groups_come_out(
    mode: Mode, data: bytes
) -> None:
    decoder = FrameDecoder(mode)
    frames = decoder.feed(data, NOW)
    assert returned_pairs(frames) <= verified_pieces(data, mode)
    assert len(frames) == decoder.stats.frames <= bytes(b & 0x7F for b in data).count(0x03)


@FAST
@given(
    mode=modes,
    parts=st.lists(
        st.one_of(
            st.binary(max_size=40),
            st.sampled_from([b"\x02", b"\x03", b"\x04", b"\n", b"\r", b"\t", b" "]),
            groups(Mode.STANDARD).map(lambda g: g.encode(Mode.STANDARD)),
            groups(Mode.HISTORIC).map(lambda g: g.encode(Mode.HISTORIC)),
        ),
        max_size=40,
    ),
)
def test_junk_mixed_with_groups_of_both_modes_never_raises(mode: Mode, parts: list[bytes]) -> None:
    data = b"".join(parts)
    frames = decode(data, mode)
    assert returned_pairs(frames) <= verified_pieces(data, mode)
    assert_reencoding_round_trips(frames, mode)


@FAST
@given(data=st.data(), mode=modes)
def test_valid_groups_among_junk_decode_to_exactly_those_groups(
    data: st.DataObject, mode: Mode
) -> None:
    """Junk that holds no framing byte other than LF/CR and no separator cannot make a
    valid group, so the frame holds exactly the valid groups, and every junk piece is a
    counted rejection."""
    content = data.draw(frame_contents(mode))
    banned = {0x02, 0x03, 0x04, mode.separator}
    junk_byte = st.sampled_from([b for b in range(256) if b & 0x7F not in banned])
    junk = st.lists(junk_byte, max_size=12).map(bytes)
    junks = data.draw(st.lists(junk, min_size=len(content) + 1, max_size=len(content) + 1))
    before, after = data.draw(junk), data.draw(junk)
    body = junks[0] + b"".join(g.encode(mode) + j for g, j in zip(content, junks[1:], strict=True))
    frames = decode(before + b"\x02" + body + b"\x03" + after, mode)
    assert len(frames) == 1
    (frame,) = frames
    assert frame.values == expected_values(content)
    assert frame.horodates == {g.label: g.when for g in content if g.when is not None}
    pieces = [p for j in junks for p in re.split(rb"[\n\r]", bytes(b & 0x7F for b in j))]
    assert frame.rejected_groups == sum(1 for p in pieces if p)


# --------------------------------------------------------------------------- bit flips


@st.composite
def flipped_frames(draw: st.DrawFn) -> tuple[Mode, list[G], bytes, int, int]:
    mode = draw(modes)
    content = draw(frame_contents(mode, min_size=2))
    frame = encode_frame(g.encode(mode) for g in content)
    position = draw(st.integers(0, len(frame) - 1))
    bit = draw(st.integers(0, 7))
    return mode, content, frame, position, bit


def _group_at(content: list[G], mode: Mode, position: int) -> tuple[G, int, int]:
    """The group holding byte ``position`` of the frame, and its LF and CR offsets."""
    start = 1  # after STX
    for g in content:
        length = len(g.encode(mode))
        if start <= position < start + length:
            return g, start, start + length - 1
        start += length
    raise AssertionError("position is STX or ETX")


@FAST
@given(flipped_frames())
def test_a_single_bit_flip_never_raises_and_never_goes_unnoticed_unless_the_tic_cannot_see_it(
    case: tuple[Mode, list[G], bytes, int, int],
) -> None:
    mode, content, frame, position, bit = case
    flipped = bytearray(frame)
    flipped[position] ^= 1 << bit
    frames = decode(bytes(flipped), mode)
    original = expected_values(content)

    assert len(frames) <= 1
    assert returned_pairs(frames) <= verified_pieces(bytes(flipped), mode)
    assert_reencoding_round_trips(frames, mode)

    if bit == 7:  # the parity bit: masked away
        event("bit 7: masked")
        assert [f.values for f in frames] == [original]
        assert [f.rejected_groups for f in frames] == [0]
        return
    if position in (0, len(frame) - 1):  # STX or ETX damaged: no frame (nothing invented)
        event("STX/ETX damaged")
        assert frames == []
        return
    victim, lf, cr = _group_at(content, mode, position)
    new_byte = flipped[position] & 0x7F
    if position in (lf, cr) or new_byte in FRAMING:
        event("framing damaged")
        return  # framing changed: only the general properties above hold
    (decoded,) = frames
    others = {k: v for k, v in original.items() if k != victim.label}
    if bit < 6:
        # ±1..±32 changes the sum modulo 64: always caught, and only that group is lost
        event("bits 0-5: group rejected")
        assert decoded.values == others
        assert decoded.rejected_groups == 1
    else:
        # ±64 is invisible to a 6-bit checksum: every *other* group is untouched, and the
        # damaged one is either rejected by the label/value checks or returned as one pair
        assert {k: v for k, v in decoded.values.items() if k in others} == others
        extra = set(decoded.values.items()) - set(others.items())
        assert len(extra) + decoded.rejected_groups == 1
        event("bit 6: wrong pair returned" if extra else "bit 6: group rejected")


# --------------------------------------------------------------------------- chunking


@st.composite
def streams(draw: st.DrawFn) -> tuple[Mode, bytes]:
    """Several frames back to back, starting and ending mid-frame like a real port."""
    mode = draw(modes)
    frames = [
        encode_frame(g.encode(mode) for g in draw(frame_contents(mode)))
        for _ in range(draw(st.integers(1, 4)))
    ]
    stream = b"".join(frames)
    head = draw(st.integers(0, len(frames[0]) - 1))
    tail = draw(st.integers(0, len(frames[-1]) - 1))
    return mode, frames[-1][head:] + stream + frames[0][:tail]


@FAST
@given(case=streams(), data=st.data())
def test_any_chunking_gives_the_same_frames(case: tuple[Mode, bytes], data: st.DataObject) -> None:
    mode, stream = case
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=40)))
    whole = FrameDecoder(mode)
    expected = whole.feed(stream, NOW)
    chunked = FrameDecoder(mode)
    frames: list[Frame] = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        frames += chunked.feed(stream[start:end], NOW)
    assert frames == expected
    assert chunked.stats == whole.stats
