"""The TIC checksum on the worked examples of tic.md §5, group by group.

Both modes compute ``(sum(zone) & 0x3F) + 0x20``; they differ only in the zone:
historic sums ``label SP data`` (the last SP is *not* summed), standard sums
``label HT [horodate HT] data HT`` (the last HT *is* summed). Every row below is a group
as a real meter sent it (pyteleinfo, openHAB and Enedis TIC2WebSocket captures), with the
byte sum tic.md computed for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest

from pvopt.tic.decoder import ChecksumError, GroupError, Mode, checksum, parse_group

SP = b" "
UTC_PLUS_2 = timezone(timedelta(hours=2))


@dataclass(frozen=True)
class Worked:
    """One worked example: the group as received (no LF/CR) and what it must give."""

    mode: Mode
    group: bytes
    byte_sum: int
    label: str
    value: int | str | None
    horodate: datetime | None = None

    @property
    def received_checksum(self) -> int:
        return self.group[-1]

    @property
    def zone(self) -> bytes:
        """The bytes the spec sums: the last separator excluded (historic) / included."""
        return self.group[:-2] if self.mode is Mode.HISTORIC else self.group[:-1]

    @property
    def wrong_zone(self) -> bytes:
        """The classic mistake: historic *with* the last SP, standard *without* the last HT."""
        return self.group[:-1] if self.mode is Mode.HISTORIC else self.group[:-2]


WORKED: list[Worked] = [
    # historic: zone = label SP data
    Worked(Mode.HISTORIC, b"PAPP 02830 .", 590, "PAPP", 2830),
    Worked(Mode.HISTORIC, b"IINST 012 Z", 570, "IINST", 12),
    Worked(Mode.HISTORIC, b"ADCO 021861348497 L", 940, "ADCO", "021861348497"),
    Worked(Mode.HISTORIC, b"PPOT 00 #", 451, "PPOT", "00"),
    # standard: zone = label HT [horodate HT] data HT
    Worked(Mode.STANDARD, b"SINSTI\t01258\tL", 748, "SINSTI", 1258),
    Worked(
        Mode.STANDARD,
        b"SMAXIN\tE180716103316\t01423\t/",
        1423,
        "SMAXIN",
        1423,
        datetime(2018, 7, 16, 10, 33, 16, tzinfo=UTC_PLUS_2),
    ),
    Worked(Mode.STANDARD, b"ERQ1\t002970842\t[", 763, "ERQ1", 2970842),
    # the checksum of EASD01 is a space (sum & 0x3F == 0)
    Worked(Mode.STANDARD, b"EASD01\t000000000\t ", 832, "EASD01", 0),
    # DATE has an empty data field, all separators still present
    Worked(
        Mode.STANDARD,
        b"DATE\tE170915101601\t\t>",
        990,
        "DATE",
        None,
        datetime(2017, 9, 15, 10, 16, 1, tzinfo=UTC_PLUS_2),
    ),
]


def _id(example: Worked) -> str:
    return f"{example.mode.value}-{example.label}"


@pytest.mark.parametrize("example", WORKED, ids=_id)
def test_zone_byte_sum_matches_the_worked_example(example: Worked) -> None:
    """The zone as the spec defines it has exactly the byte sum tic.md §5 computed."""
    assert sum(example.zone) == example.byte_sum


@pytest.mark.parametrize("example", WORKED, ids=_id)
def test_checksum_of_the_zone_is_the_byte_the_meter_sent(example: Worked) -> None:
    """``checksum(zone)`` == ``(S1 & 0x3F) + 0x20`` == the received checksum byte."""
    expected = (example.byte_sum & 0x3F) + 0x20
    assert checksum(example.zone) == expected == example.received_checksum


@pytest.mark.parametrize("example", WORKED, ids=_id)
def test_parse_group_accepts_the_received_group_and_decodes_it(example: Worked) -> None:
    """The same group through ``parse_group``: verified and decoded to the expected value."""
    group = parse_group(example.group, example.mode)
    assert group.label == example.label
    assert group.value == example.value
    assert type(group.value) is type(example.value)
    assert group.horodate == example.horodate
    if example.horodate is not None:
        assert group.horodate is not None
        assert group.horodate.utcoffset() == example.horodate.utcoffset()
    assert group.clock_degraded is False


@pytest.mark.parametrize("example", WORKED, ids=_id)
def test_the_wrong_zone_gives_the_wrong_checksum(example: Worked) -> None:
    """Including the last SP (historic) or leaving out the last HT (standard) fails.

    This pins the zone: an off-by-one-separator implementation cannot pass the table.
    """
    assert checksum(example.wrong_zone) != example.received_checksum


@pytest.mark.parametrize("example", WORKED, ids=_id)
def test_a_group_checksummed_over_the_wrong_zone_is_rejected(example: Worked) -> None:
    """A sender that used the wrong zone produces a group ``parse_group`` refuses."""
    forged = example.group[:-1] + bytes((checksum(example.wrong_zone),))
    with pytest.raises(ChecksumError):
        parse_group(forged, example.mode)


@pytest.mark.parametrize("example", WORKED, ids=_id)
def test_a_group_is_not_valid_in_the_other_mode(example: Worked) -> None:
    """The separator before the checksum ties a group to its mode."""
    other = Mode.STANDARD if example.mode is Mode.HISTORIC else Mode.HISTORIC
    with pytest.raises(GroupError):
        parse_group(example.group, other)


@pytest.mark.parametrize("example", WORKED, ids=_id)
def test_every_other_checksum_byte_is_rejected(example: Worked) -> None:
    """Exactly one of the 64 possible checksum bytes (0x20..0x5F) is accepted."""
    accepted = []
    for candidate in range(0x20, 0x60):
        try:
            parse_group(example.group[:-1] + bytes((candidate,)), example.mode)
        except ChecksumError:
            continue
        accepted.append(candidate)
    assert accepted == [example.received_checksum]


def _zone_with_space_checksum() -> bytes:
    """A historic zone ``XLABEL <text>`` whose sum is a multiple of 64 (checksum SP)."""
    for n in range(64):
        zone = b"XLABEL " + b"A" * n
        if checksum(zone) == 0x20:
            return zone
    raise AssertionError("unreachable: 64 consecutive 'A' paddings cover every residue")


def test_a_space_checksum_in_historic_mode_is_a_checksum_not_a_separator() -> None:
    """Historic groups can end ``SP SP`` (separator, then a space checksum): still valid."""
    zone = _zone_with_space_checksum()
    group = parse_group(zone + SP + SP, Mode.HISTORIC)
    assert group.label == "XLABEL"
    assert group.value == zone.split(SP, 1)[1].decode()


@pytest.mark.parametrize("residue", range(64))
def test_the_checksum_is_always_printable(residue: int) -> None:
    """Whatever the zone, the checksum is 0x20..0x5F: never a framing or separator byte."""
    zone = b"\x7f" * 3 + bytes((residue,))
    value = checksum(zone)
    assert 0x20 <= value <= 0x5F
    assert value == ((3 * 0x7F + residue) & 0x3F) + 0x20
