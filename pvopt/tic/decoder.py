"""Pure Linky TIC decoder: bytes in, frames out.

Framing (both modes, CPT_54E §5.3): a frame is ``STX group* ETX``; a group is
``LF label SEP [horodate SEP] data SEP checksum CR``; ``EOT`` aborts the frame in
progress. Bytes outside ``STX … ETX`` are ignored, so a reader that starts in the middle
of a frame simply waits for the next ``STX``.

Checksum (both modes): ``(sum(zone) & 0x3F) + 0x20``. The zone is
``label … data`` in historic mode (the last SP excluded) and ``label … data HT`` in
standard mode (the last HT included). Each group is verified on its own: a bad group is
dropped and counted, the rest of the frame is kept.

Every byte is masked with 0x7F first, so a port opened 8N1 instead of 7E1 decodes the
same (the checksum is then the only integrity check, as it is anyway on Linux ptys).

The decoder never reads a clock: the caller passes the reception time with each chunk.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import NamedTuple
from zoneinfo import ZoneInfo

from pvopt.tic.labels import (
    ERQ_LABELS,
    HISTORIC_LABELS,
    SHORT_FRAME_LABELS,
    STANDARD_LABELS,
    Kind,
    LabelSpec,
    spec_for,
)

STX, ETX, EOT, LF, CR, HT, SP = 0x02, 0x03, 0x04, 0x0A, 0x0D, 0x09, 0x20

#: Longest accepted STX…ETX span. A real three-phase producer frame is about 1.5 kB;
#: PJOURF+1/PPOINTE add 2×~110 bytes. Anything longer is a lost ETX, not a frame.
MAX_FRAME_BYTES = 4096

_PARIS = ZoneInfo("Europe/Paris")
_SEASON_OFFSETS = {
    "H": timezone(timedelta(hours=1)),
    "E": timezone(timedelta(hours=2)),
}
_MASK_7BIT = bytes(b & 0x7F for b in range(256))


class Mode(Enum):
    """The two TIC modes, with what differs between them as data."""

    STANDARD = "standard"
    HISTORIC = "historic"

    @property
    def baudrate(self) -> int:
        """Line speed of this mode (both are 7E1)."""
        return 9600 if self is Mode.STANDARD else 1200

    @property
    def separator(self) -> int:
        """Field separator byte: HT in standard mode, SP in historic mode."""
        return HT if self is Mode.STANDARD else SP

    @property
    def labels(self) -> dict[str, LabelSpec]:
        """The label table of this mode."""
        return STANDARD_LABELS if self is Mode.STANDARD else HISTORIC_LABELS


def checksum(zone: bytes) -> int:
    """The TIC checksum byte of ``zone`` (the bytes the mode sums)."""
    return (sum(zone) & 0x3F) + 0x20


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded frame: only values from groups whose checksum verified.

    ``time`` is when the frame's ETX was received (given by the caller).
    ``values`` holds ints for numeric labels and stripped text otherwise;
    ``horodates`` the timestamps carried by standard-mode groups (DATE, SMAXSN, …).
    """

    time: datetime
    mode: Mode
    values: dict[str, int | str]
    horodates: dict[str, datetime]
    rejected_groups: int = 0
    clock_degraded: bool = False

    @property
    def is_short(self) -> bool:
        """A three-phase historic short frame (ADIR*, ADCO, IINST* only, CPT_54E p.17).

        Its missing labels are not missing data: they come back in the next long frame.
        """
        return self.mode is Mode.HISTORIC and not SHORT_FRAME_LABELS.isdisjoint(self.values)

    @property
    def meter_id(self) -> str | None:
        """The meter address (ADSC in standard mode, ADCO in historic mode), if valid."""
        value = self.values.get("ADSC", self.values.get("ADCO"))
        return value if isinstance(value, str) else None

    @property
    def erqt(self) -> int | None:
        """Derived total reactive energy ERQ1+ERQ2+ERQ3+ERQ4 (VArh).

        Not a meter label: only defined when all four counters were valid in this frame.
        """
        total = 0
        for label in ERQ_LABELS:
            value = self.values.get(label)
            if not isinstance(value, int):
                return None
            total += value
        return total

    def to_json_dict(self) -> dict[str, object]:
        """The ``--dump`` / ``tic/frame`` shape of docs/design.md §2."""
        return {
            "time": self.time.isoformat(),
            "mode": self.mode.value,
            "values": dict(self.values),
            "horodates": {k: v.isoformat() for k, v in self.horodates.items()},
            "rejected_groups": self.rejected_groups,
        }


@dataclass(slots=True)
class DecoderStats:
    """Running counters, for rate-limited logs and for tests."""

    frames: int = 0
    valid_groups: int = 0
    checksum_errors: int = 0
    malformed_groups: int = 0
    interrupted_frames: int = 0
    oversized_frames: int = 0

    @property
    def rejected_groups(self) -> int:
        """Groups dropped for any reason."""
        return self.checksum_errors + self.malformed_groups


class GroupError(ValueError):
    """A group that cannot be used: bad checksum or malformed."""


class ChecksumError(GroupError):
    """The group's checksum does not match its bytes."""


class Group(NamedTuple):
    """One verified information group (a tuple: built for every changed group)."""

    label: str
    value: int | str | None
    horodate: datetime | None = None
    clock_degraded: bool = False


def parse_horodate(text: str) -> tuple[datetime, bool]:
    """Parse ``SAAMMJJhhmmss`` into an aware datetime and a "clock degraded" flag.

    The season letter gives the offset (H = UTC+1, E = UTC+2), which is exact even in
    the repeated hour of the autumn change; lower case flags a degraded clock. A space
    (DPM/FPM groups) means "not applicable": local Paris time is assumed.
    """
    if len(text) != 13 or not text[1:].isdigit():
        raise GroupError(f"bad horodate {text!r}")
    season = text[0]
    offset = _SEASON_OFFSETS.get(season.upper())
    if offset is None and season != " ":
        raise GroupError(f"bad horodate season {season!r}")
    try:
        aware = datetime(
            2000 + int(text[1:3]),
            int(text[3:5]),
            int(text[5:7]),
            int(text[7:9]),
            int(text[9:11]),
            int(text[11:13]),
            tzinfo=offset if offset is not None else _PARIS,
        )
    except ValueError as exc:
        raise GroupError(f"bad horodate {text!r}: {exc}") from exc
    return aware, season.islower()


_SEP_BYTES = {Mode.STANDARD: b"\t", Mode.HISTORIC: b" "}


def parse_group(body: bytes, mode: Mode) -> Group:
    """Verify and decode one group, given without its LF and CR.

    Raises ChecksumError or GroupError; never returns anything from a bad group.
    """
    standard = mode is Mode.STANDARD
    sep = _SEP_BYTES[mode]
    if len(body) < 4:
        raise GroupError(f"group too short: {body!r}")
    if body[-2] != sep[0]:
        raise GroupError(f"no separator before checksum: {body!r}")
    # Standard mode sums the separator before the checksum, historic mode does not.
    if checksum(body[:-1] if standard else body[:-2]) != body[-1]:
        raise ChecksumError(f"checksum mismatch: {body!r}")
    fields = body[:-2].split(sep, 2 if standard else 1)
    if len(fields) < 2 or not fields[0] or b" " in fields[0]:
        raise GroupError(f"malformed group: {body!r}")
    try:
        return _decode_fields(fields, mode)
    except UnicodeDecodeError as exc:  # only when called on unmasked bytes
        raise GroupError(f"not ASCII: {body!r}") from exc


#: Longest numeric field accepted: TIC numbers have at most 9 digits; this keeps int()
#: away from CPython's huge-integer guard whatever the frame bound.
_MAX_DIGITS = 18


def _decode_fields(fields: list[bytes], mode: Mode) -> Group:
    label = fields[0].decode("ascii")
    if not label.isprintable():
        raise GroupError(f"bad label {label!r}")
    kind = spec_for(label, mode.labels).kind
    horodate: datetime | None = None
    degraded = False
    if len(fields) == 3:
        horodate, degraded = parse_horodate(fields[1].decode("ascii"))
        raw = fields[2]
    elif kind is Kind.NONE:
        raise GroupError(f"{label}: horodate missing")
    else:
        raw = fields[1]
    value: int | str | None
    if kind is Kind.INT:
        if not raw.isdigit() or len(raw) > _MAX_DIGITS:
            raise GroupError(f"{label}: expected up to {_MAX_DIGITS} digits, got {raw!r}")
        value = int(raw)
    elif kind is Kind.NONE:
        value = None
    else:
        value = raw.decode("ascii").strip()
    return Group(label, value, horodate, degraded)


class FrameDecoder:
    """Incremental decoder: ``feed(chunk, now)`` returns the frames that chunk completed.

    Buffers at most MAX_FRAME_BYTES. Works the same whatever the chunking: the whole
    capture at once, byte by byte, or anything in between.
    """

    def __init__(self, mode: Mode, max_frame_bytes: int = MAX_FRAME_BYTES) -> None:
        self.mode = mode
        self.stats = DecoderStats()
        self._max = max_frame_bytes
        self._in_frame = False
        self._buf = bytearray()
        # Memo of verified groups: on a real meter most groups repeat byte for byte from
        # one frame to the next (addresses, indexes between two Wh, messages). Pure
        # function, bounded size, so it is a cache, not state.
        self._memo: dict[bytes, Group] = {}

    def reset(self) -> None:
        """Forget any partial frame (after reopening the port, or a mode change)."""
        self._in_frame = False
        self._buf.clear()

    def feed(self, data: bytes, now: datetime) -> list[Frame]:
        """Consume ``data`` (received at ``now``) and return the frames it completed."""
        data = data.translate(_MASK_7BIT)
        frames: list[Frame] = []
        pos, end = 0, len(data)
        while pos < end:
            if not self._in_frame:
                stx = data.find(b"\x02", pos)
                if stx < 0:
                    return frames
                self._in_frame = True
                self._buf.clear()
                pos = stx + 1
                continue
            # Inside a frame: look for whichever of ETX, EOT, STX comes first.
            stop = _first_control(data, pos)
            span_end = end if stop < 0 else stop
            room = self._max - len(self._buf)
            if span_end - pos > room:
                # A lost ETX: drop the runaway frame (never buffering past the bound) and
                # look for the next STX from the control byte on, whatever the chunking.
                self.stats.oversized_frames += 1
                self._in_frame = False
                self._buf.clear()
                pos = span_end
                continue
            self._buf += data[pos:span_end]
            if stop < 0:
                return frames
            control = data[stop]
            pos = stop + 1
            if control == ETX:
                frames.append(self._decode_frame(bytes(self._buf), now))
                self._in_frame = False
            elif control == EOT:
                self.stats.interrupted_frames += 1
                self._in_frame = False
            else:  # STX without ETX: the previous frame was cut, start again here
                self.stats.interrupted_frames += 1
            self._buf.clear()
        return frames

    def _decode_frame(self, body: bytes, now: datetime) -> Frame:
        values: dict[str, int | str] = {}
        horodates: dict[str, datetime] = {}
        rejected = 0
        degraded = False
        memo = self._memo
        stats = self.stats
        raws = _groups(body)
        for raw in raws:
            group = memo.get(raw)
            if group is None:
                try:
                    group = parse_group(raw, self.mode)
                except ChecksumError:
                    stats.checksum_errors += 1
                    rejected += 1
                    continue
                except GroupError:
                    stats.malformed_groups += 1
                    rejected += 1
                    continue
                if len(memo) >= 512:
                    memo.clear()
                memo[raw] = group
            if group.value is not None:
                values[group.label] = group.value
            if group.horodate is not None:
                horodates[group.label] = group.horodate
                degraded = degraded or group.clock_degraded
        stats.valid_groups += len(raws) - rejected
        stats.frames += 1
        return Frame(now, self.mode, values, horodates, rejected, degraded)


def _first_control(data: bytes, pos: int) -> int:
    """Index of the first STX, ETX or EOT at or after ``pos``, or -1."""
    best = -1
    for byte in (b"\x03", b"\x04", b"\x02"):
        idx = data.find(byte, pos) if best < 0 else data.find(byte, pos, best)
        if idx >= 0:
            best = idx
    return best


def _groups(body: bytes) -> list[bytes]:
    """The LF…CR spans of a frame body, without LF and CR.

    A damaged span (LF or CR lost to noise) is still returned, so that it is verified
    and, almost surely, rejected and counted: nothing disappears silently.
    """
    if body[:1] == b"\n" and body[-1:] == b"\r":
        parts = body[1:-1].split(b"\r\n")
        if body.count(b"\n") == len(parts) == body.count(b"\r"):
            return parts  # the well-formed case, with two C-level scans
    groups: list[bytes] = []
    for part in body.split(b"\n"):
        for piece in part.split(b"\r"):
            if piece:
                groups.append(piece)
    return groups


def detect_mode(sample: bytes, now: datetime) -> Mode | None:
    """The mode whose checksums pass on ``sample``, or None if neither does.

    Used for ``--mode auto`` on a capture file and, chunk by chunk, on a live port.
    """
    best: tuple[int, Mode] | None = None
    for mode in (Mode.STANDARD, Mode.HISTORIC):
        decoder = FrameDecoder(mode)
        decoder.feed(sample, now)
        valid = decoder.stats.valid_groups
        if valid and (best is None or valid > best[0]):
            best = (valid, mode)
    return best[1] if best else None


__all__ = [
    "MAX_FRAME_BYTES",
    "ChecksumError",
    "DecoderStats",
    "Frame",
    "FrameDecoder",
    "Group",
    "GroupError",
    "Mode",
    "checksum",
    "detect_mode",
    "parse_group",
    "parse_horodate",
]
