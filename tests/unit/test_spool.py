"""The disk spool keeps batches in order, across restarts, within its bound, and fails
softly: an unusable folder makes ``append`` raise OSError, never the constructor."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from pvopt.io.spool import Spool


def _drain(spool: Spool) -> list[str]:
    """Replay and remove every batch (at most 100: a spool handing one out again fails)."""
    out: list[str] = []
    for _ in range(100):
        batch = spool.oldest()
        if batch is None:
            return out
        path, lines = batch
        out += lines
        spool.remove(path)
    raise AssertionError("the spool hands out batches forever")


def test_batches_come_back_oldest_first(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    assert spool.empty
    for i in range(12):  # more than 9: order must be numeric, not lexical
        spool.append([f"m v={i}i {i}", f"m w={i}i {i}"])
    assert spool.pending_lines == 24
    assert _drain(spool) == [f"m {k}={i}i {i}" for i in range(12) for k in "vw"]
    assert spool.empty


def test_a_new_spool_on_the_same_directory_resumes_after_a_restart(tmp_path: Path) -> None:
    first = Spool(tmp_path)
    first.append(["a 1"])
    first.append(["b 2"])
    (tmp_path / "000000000099.tmp").write_text("half a batch")  # killed mid-write
    second = Spool(tmp_path)
    assert second.pending_lines == 2
    second.append(["c 3"])
    assert _drain(second) == ["a 1", "b 2", "c 3"]
    assert not list(tmp_path.glob("*.tmp"))


def test_over_its_bound_the_oldest_batches_are_dropped_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spool = Spool(tmp_path, max_bytes=100)
    for i in range(10):
        spool.append([f"line-{i}-" + "x" * 20])  # 29 bytes a batch
    assert spool.dropped_lines == 7
    assert _drain(spool) == [f"line-{i}-" + "x" * 20 for i in (7, 8, 9)]
    assert "dropped the oldest" in caplog.text


def test_a_folder_that_cannot_be_created_fails_each_append_not_the_constructor(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The daemon must start without its spool: the constructor logs and carries on,
    ``append`` raises OSError while the folder cannot be made and works once it can."""
    parent = tmp_path / "state"
    parent.write_text("")  # a regular file: mkdir under it fails, even as root
    spool = Spool(parent / "spool")
    assert spool.empty
    assert spool.oldest() is None
    assert "cannot open the spool" in caplog.text
    with pytest.raises(OSError):
        spool.append(["a 1"])
    assert spool.empty

    parent.unlink()
    spool.append(["b 2"])
    assert _drain(spool) == ["b 2"]


def test_a_failed_append_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk: the half-written batch is removed and not counted; the next append,
    once there is room, takes the next place in the order."""
    spool = Spool(tmp_path)
    spool.append(["a 1"])

    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(os, "fsync", disk_full)
        with pytest.raises(OSError):
            spool.append(["b 2"])
    assert spool.pending_lines == 1
    assert not list(tmp_path.glob("*.tmp"))
    spool.append(["c 3"])
    assert _drain(spool) == ["a 1", "c 3"]


def test_a_replayed_batch_that_cannot_be_deleted_is_not_replayed_again_until_a_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A read-only spool left by a previous run: its batches are replayed once each (one
    warning, not one per batch), and again by the next run (InfluxDB takes the same
    points twice without harm)."""
    Spool(tmp_path).append(["a 1"])
    Spool(tmp_path).append(["b 2"])

    def read_only(path: Path, missing_ok: bool = False) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    with monkeypatch.context() as patch:
        patch.setattr(Path, "unlink", read_only)
        spool = Spool(tmp_path)
        assert _drain(spool) == ["a 1", "b 2"]
        assert spool.empty
    assert caplog.text.count("cannot delete") == 1
    assert _drain(Spool(tmp_path)) == ["a 1", "b 2"]
