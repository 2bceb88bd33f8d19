"""The disk spool keeps batches in order, across restarts, within its bound."""

from __future__ import annotations

from pathlib import Path

import pytest

from pvopt.io.spool import Spool


def _drain(spool: Spool) -> list[str]:
    out: list[str] = []
    while (batch := spool.oldest()) is not None:
        path, lines = batch
        out += lines
        spool.remove(path)
    return out


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
