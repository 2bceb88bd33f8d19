"""A disk spool of InfluxDB line-protocol batches, replayed oldest first.

One file per batch, written to a temporary name and renamed, so a crash or power cut
leaves whole batches only. Files are numbered; the order of the numbers is the order of
the points. The spool is bounded in bytes: past the bound the oldest batches are dropped
with an error in the log (a full SD card must not kill the daemon).

A spool that cannot be used (a read-only or full file system, a missing parent) never
stops the daemon: the constructor does not raise, the directory is tried again at each
:meth:`Spool.append`, which raises :class:`OSError` for the caller to hold the points
elsewhere. A replayed batch that cannot be deleted is forgotten until the next start,
when it is sent again (harmless: re-writing a point is idempotent in InfluxDB).
"""

from __future__ import annotations

import contextlib
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
        self.dropped_lines = 0
        self._next = 1
        self._bytes = 0
        self._lines = 0
        self._opened = False
        self._sent: set[Path] = set()  # replayed, but the file could not be deleted
        try:
            self._open()
        except OSError as exc:
            _LOG.warning("cannot open the spool %s (%s): tried again when needed", directory, exc)

    def _open(self) -> None:
        """Create the directory and take stock of the batches a previous run left there."""
        self.directory.mkdir(parents=True, exist_ok=True)
        for leftover in self.directory.glob("*.tmp"):  # a batch interrupted while written
            with contextlib.suppress(OSError):
                leftover.unlink()
        files = self._files()
        self._next = int(files[-1].stem) + 1 if files else 1
        self._bytes = sum(f.stat().st_size for f in files)
        self._lines = sum(_count_lines(f) for f in files)
        self._opened = True

    def _files(self) -> list[Path]:
        files = (f for f in self.directory.glob("*" + _SUFFIX) if f not in self._sent)
        return sorted(files, key=lambda p: int(p.stem))

    @property
    def empty(self) -> bool:
        """True when nothing waits to be replayed."""
        return self._lines == 0

    @property
    def pending_lines(self) -> int:
        """How many points wait in the spool."""
        return self._lines

    def append(self, lines: list[str]) -> None:
        """Store one batch after all the others; OSError when it cannot be written."""
        if not lines:
            return
        if not self._opened:
            self._open()
        data = ("\n".join(lines) + "\n").encode("utf-8")
        path = self.directory / f"{self._next:012d}{_SUFFIX}"
        tmp = path.with_suffix(".tmp")
        try:
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            tmp.rename(path)
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)  # e.g. half written on a full disk
            raise
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
        try:
            path.unlink()
        except OSError as exc:
            if not self._sent:
                _LOG.warning(
                    "cannot delete replayed batches in %s (%s): sent again after a restart",
                    self.directory,
                    exc,
                )
            self._sent.add(path)
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
