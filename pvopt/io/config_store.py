"""``equipment_config.yml`` on disk, for the settings page: read it with its version and
backups, write a new one safely.

A write never leaves a half-written or missing file: the new text goes to a temporary
file in the same folder (same owner group and mode as the file it replaces), is flushed
to disk (fsync), then renamed over the file (``os.replace``, atomic), and the folder is
synced. The previous file is first copied to a dated backup next to it
(:func:`pvopt.web.settings.backup_name`); the backups beyond the newest ``keep`` are
deleted. The names and the version are decided in :mod:`pvopt.web.settings` and
:mod:`pvopt.equipment.check` (pure); this module only touches files.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pvopt.equipment.check import config_version
from pvopt.web.settings import KEEP_BACKUPS, backup_name, backups, to_prune

_LOG = logging.getLogger(__name__)

#: The mode of a new file when there was none before (the regulation's group reads it).
DEFAULT_MODE = 0o640


class ConfigWriteError(Exception):
    """The file could not be written (the old one is intact); ``str()`` says why."""


@dataclass(frozen=True)
class StoredConfig:
    """The file as it is: its bytes (empty when missing), version, newest backups first."""

    data: bytes
    version: str
    backups: tuple[str, ...]
    exists: bool


@dataclass(frozen=True)
class SavedConfig:
    """A write done: the new version, the backup made (None: no file before), pruned ones."""

    version: str
    backup: str | None
    pruned: tuple[str, ...]


def read_config(path: Path) -> StoredConfig:
    """The file and its backups (OSError when it exists but cannot be read)."""
    try:
        data = path.read_bytes()
        exists = True
    except FileNotFoundError:
        data, exists = b"", False
    try:
        names = os.listdir(path.parent)
    except OSError:
        names = []
    return StoredConfig(data, config_version(data), tuple(backups(path.name, names)), exists)


def _write_new(
    folder: Path, name: str, data: bytes, mode: int, owner: os.stat_result | None
) -> Path:
    """``data`` in a new file of ``folder`` (exclusive create, fsync, owner kept if we can)."""
    target = folder / name
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fchmod(fd, mode)  # the umask must not narrow it
        if owner is not None and (owner.st_uid, owner.st_gid) != (os.geteuid(), os.getegid()):
            with contextlib.suppress(PermissionError):  # root, or a member of the group
                uid = owner.st_uid if os.geteuid() == 0 else -1
                os.fchown(fd, uid, owner.st_gid)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        target.unlink(missing_ok=True)
        raise
    os.close(fd)
    return target


def save_config(
    path: Path, data: bytes, expected_version: str, now: datetime, keep: int = KEEP_BACKUPS
) -> SavedConfig:
    """Replace ``path`` by ``data`` if it is still at ``expected_version`` (else
    :class:`VersionMismatch`), the old file backed up first; :class:`ConfigWriteError`
    when it cannot be done (nothing replaced)."""
    folder = path.parent
    current = read_config(path)
    if current.version != expected_version:
        raise VersionMismatch(current.version)
    try:
        old = path.stat() if current.exists else None
    except OSError as exc:
        raise ConfigWriteError(f"cannot read {path}: {exc.strerror}") from None
    mode = stat.S_IMODE(old.st_mode) if old is not None else DEFAULT_MODE
    backup: str | None = None
    temporary: Path | None = None
    try:
        if old is not None:
            backup = backup_name(path.name, now, os.listdir(folder))
            _write_new(folder, backup, current.data, mode, old)
        temporary = _write_new(folder, f".{path.name}.{os.getpid()}.tmp", data, mode, old)
        os.replace(temporary, path)
        temporary = None
        dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError as exc:
        if temporary is not None:
            temporary.unlink(missing_ok=True)
        raise ConfigWriteError(f"cannot write {path}: {exc.strerror or exc}") from None
    pruned = []
    for name in to_prune(path.name, os.listdir(folder), keep):
        try:
            (folder / name).unlink()
            pruned.append(name)
        except OSError as exc:
            _LOG.warning("cannot delete the old backup %s: %s", folder / name, exc.strerror)
    return SavedConfig(config_version(data), backup, tuple(pruned))


class VersionMismatch(Exception):
    """The file changed since the page read it: ``current`` is its version now."""

    def __init__(self, current: str) -> None:
        super().__init__(current)
        self.current = current
