"""The decoder on real meter captures (shared/fixtures/tic, see SOURCES.md there).

Each capture must decode to exactly what SOURCES.md says, and to the *same* frames however
the bytes arrive: all at once, byte by byte, or in random chunks (a serial port returns
whatever happens to be in its buffer). Junk around a capture changes nothing.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pvopt.tic.decoder import DecoderStats, Frame, FrameDecoder, Mode, detect_mode

NOW = datetime(2026, 6, 14, 12, 0, tzinfo=UTC)
FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "tic"

HISTORIC = "historic_tempo_10frames.bin"
CONSUMER = "standard_consumer_1frame.bin"
PRODUCER = "standard_producer_midstream.bin"
CAPTURES: dict[str, Mode] = {
    HISTORIC: Mode.HISTORIC,
    CONSUMER: Mode.STANDARD,
    PRODUCER: Mode.STANDARD,
}
SEEDS = [0, 1, 7, 42, 2026]


def load(name: str) -> bytes:
    """The raw capture, or skip (fail on CI) when the shared fixtures are not checked out."""
    path = FIXTURES / name
    if not path.is_file():
        reason = f"TIC capture {path} not found (the sibling ../shared checkout is missing)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return path.read_bytes()


@dataclass
class Decoded:
    frames: list[Frame]
    stats: DecoderStats


def decode_chunks(data: bytes, mode: Mode, sizes: list[int] | None = None) -> Decoded:
    """Decode ``data`` fed in chunks of the given sizes (cycled), or whole if ``sizes`` is None."""
    decoder = FrameDecoder(mode)
    frames: list[Frame] = []
    if sizes is None:
        frames += decoder.feed(data, NOW)
    else:
        pos, i = 0, 0
        while pos < len(data):
            size = sizes[i % len(sizes)]
            frames += decoder.feed(data[pos : pos + size], NOW)
            pos += size
            i += 1
    return Decoded(frames, decoder.stats)


def random_sizes(seed: int, upper: int) -> list[int]:
    rng = random.Random(seed)
    return [rng.randint(1, upper) for _ in range(500)]


def decode_whole(name: str) -> Decoded:
    return decode_chunks(load(name), CAPTURES[name])


# --------------------------------------------------------------------------- SOURCES.md


def test_historic_tempo_capture_gives_ten_frames_with_rising_bbrhcjb() -> None:
    decoded = decode_whole(HISTORIC)
    frames = decoded.frames
    assert len(frames) == 10
    assert all(frame.mode is Mode.HISTORIC for frame in frames)
    assert all(frame.rejected_groups == 0 for frame in frames)
    assert {frame.values["PAPP"] for frame in frames} <= {2830, 2840}
    bbrhcjb = [frame.values["BBRHCJB"] for frame in frames]
    assert bbrhcjb[0] == 18328702
    assert bbrhcjb[-1] == 18328721
    assert bbrhcjb == sorted(bbrhcjb)
    assert all(frame.values["OPTARIF"] == "BBR(" for frame in frames)
    assert all(frame.meter_id == "021861348497" for frame in frames)
    assert all(frame.is_short is False for frame in frames)
    assert decoded.stats.rejected_groups == 0
    assert decoded.stats.interrupted_frames == 0


def test_standard_consumer_capture_gives_one_frame() -> None:
    data = load(CONSUMER)
    assert b"\nEASD01\t000000000\t \r" in data  # the space checksum is in the capture
    assert b"\nDATE\tE170915101601\t\t>\r" in data  # and DATE with its empty data
    (frame,) = decode_chunks(data, Mode.STANDARD).frames
    assert frame.rejected_groups == 0
    assert frame.values["SINSTS"] == 0
    assert frame.values["PCOUP"] == 2
    assert frame.values["NTARF"] == 2
    assert frame.values["EASD01"] == 0
    assert "DATE" in frame.horodates
    assert "DATE" not in frame.values
    assert frame.horodates["DATE"].isoformat() == "2017-09-15T10:16:01+02:00"
    assert frame.erqt is None


def test_standard_producer_capture_gives_exactly_one_complete_frame() -> None:
    """Leading partial frame (starts at ``EP*PREF``) and trailing partial frame: not frames."""
    decoded = decode_whole(PRODUCER)
    (frame,) = decoded.frames
    assert frame.rejected_groups == 0
    assert frame.values["SINSTI"] == 1253
    assert frame.values["EAIT"] == 32781
    assert frame.values["ERQ2"] == 890
    assert frame.values["ERQ3"] == 2546
    assert frame.erqt == 3436
    assert frame.values["NGTF"] == "PRODUCTEUR"
    assert decoded.stats.frames == 1


@pytest.mark.parametrize("name", list(CAPTURES))
def test_detect_mode_recognises_each_capture(name: str) -> None:
    assert detect_mode(load(name), NOW) is CAPTURES[name]


# --------------------------------------------------------------------------- chunking


@pytest.mark.parametrize("name", list(CAPTURES))
def test_byte_by_byte_gives_the_same_frames_as_whole(name: str) -> None:
    whole = decode_whole(name)
    one_by_one = decode_chunks(load(name), CAPTURES[name], [1])
    assert one_by_one.frames == whole.frames
    assert one_by_one.stats == whole.stats


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", list(CAPTURES))
def test_random_chunk_sizes_give_the_same_frames_as_whole(name: str, seed: int) -> None:
    whole = decode_whole(name)
    for upper in (3, 64, 700):
        chunked = decode_chunks(load(name), CAPTURES[name], random_sizes(seed, upper))
        assert chunked.frames == whole.frames, (seed, upper)
        assert chunked.stats == whole.stats, (seed, upper)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", list(CAPTURES))
def test_junk_around_a_capture_does_not_change_its_frames(name: str, seed: int) -> None:
    """Line noise before and after (anything but STX/ETX, parity bit or not) is ignored."""
    rng = random.Random(seed)
    alphabet = [b for b in range(256) if b & 0x7F not in (0x02, 0x03)]
    before = bytes(rng.choice(alphabet) for _ in range(rng.randint(1, 600)))
    after = bytes(rng.choice(alphabet) for _ in range(rng.randint(1, 600)))
    whole = decode_whole(name)
    noisy = before + load(name) + after
    assert decode_chunks(noisy, CAPTURES[name]).frames == whole.frames
    assert decode_chunks(noisy, CAPTURES[name], random_sizes(seed, 50)).frames == whole.frames


@pytest.mark.parametrize("name", list(CAPTURES))
def test_captures_read_8n1_with_the_parity_bit_decode_the_same(name: str) -> None:
    """7E1 parity lands in bit 7 on a port opened 8N1: even-parity it, decode identically."""
    data = load(name)
    with_parity = bytes(b | 0x80 if bin(b).count("1") % 2 else b for b in data)
    assert decode_chunks(with_parity, CAPTURES[name]).frames == decode_whole(name).frames


def test_all_captures_back_to_back_resync_on_each_frame() -> None:
    """Consumer then producer captures concatenated: the producer's leading partial frame
    follows a complete frame, so it is junk between frames and adds nothing."""
    consumer, producer = decode_whole(CONSUMER), decode_whole(PRODUCER)
    both = decode_chunks(load(CONSUMER) + load(PRODUCER), Mode.STANDARD)
    assert both.frames == consumer.frames + producer.frames
