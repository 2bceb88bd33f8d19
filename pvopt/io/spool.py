"""A disk spool of InfluxDB line-protocol batches, replayed oldest first.

One file per batch, written to a temporary name and renamed, so a crash or power cut
leaves whole batches only. Files are numbered; the order of the numbers is the order of
the points. The spool is bounded in bytes: past the bound the oldest batches are dropped
with an error in the log (a full SD card must not kill the daemon).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

_LOG = logging.getLogger(__name__)
_SUFFIX = ".lp"


class Spool:
    """Numbered batch files in ``directory`` (created if missing)."""

    def __init__(self, directory: Path, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        directory.mkdir(parents=True, exist_ok=True)
        for leftover in directory.glob("*.tmp"):
            leftover.unlink(missing_ok=True)  # a batch interrupted while being written
        files = self._files()
        self._next = int(files[-1].stem) + 1 if files else 1
        self._bytes = sum(f.stat().st_size for f in files)
        self._lines = sum(_count_lines(f) for f in files)
        self.dropped_lines = 0

    def _files(self) -> list[Path]:
        return sorted(self.directory.glob("*" + _SUFFIX), key=lambda p: int(p.stem))

    @property
    def empty(self) -> bool:
        """True when nothing waits to be replayed."""
        return self._lines == 0

    @property
    def pending_lines(self) -> int:
        """How many points wait in the spool."""
        return self._lines

    def append(self, lines: list[str]) -> None:
        """Store one batch after all the others."""
        if not lines:
            return
        data = ("\n".join(lines) + "\n").encode("utf-8")
        path = self.directory / f"{self._next:012d}{_SUFFIX}"
        tmp = path.with_suffix(".tmp")
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.rename(path)
        self._next += 1
        self._bytes += len(data)
        self._lines += len(lines)
        self._enforce_bound()

    def oldest(self) -> tuple[Path, list[str]] | None:
        """The oldest batch and its lines, or None when empty."""
        files = self._files()
        if not files:
            return None
        path = files[0]
        return path, path.read_text("utf-8").splitlines()

    def remove(self, path: Path) -> None:
        """Forget a batch that has been written to the database."""
        size = path.stat().st_size
        lines = _count_lines(path)
        path.unlink()
        self._bytes -= size
        self._lines -= lines

    def _enforce_bound(self) -> None:
        while self._bytes > self.max_bytes:
            batch = self.oldest()
            if batch is None:
                return
            path, lines = batch
            self.remove(path)
            self.dropped_lines += len(lines)
            _LOG.error(
                "spool over %d bytes: dropped the oldest %d points (%d dropped so far)",
                self.max_bytes,
                len(lines),
                self.dropped_lines,
            )


def _count_lines(path: Path) -> int:
    with open(path, "rb") as fh:
        return sum(1 for _ in fh)
