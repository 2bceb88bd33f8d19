"""The architecture rule: the pure core never imports an I/O library (docs/design.md §7)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "pvopt"
PURE = [
    "tic",
    "regulation",
    "equipment",
    "sim",
    "points.py",
    "config.py",
    "topics.py",
    "homeassistant.py",
    "logthrottle.py",
]
FORBIDDEN = {
    "paho",
    "influxdb",
    "serial",
    "requests",
    "socket",
    "asyncio",
    "pvopt.io",
    "pvopt.daemons",
}
#: Adapters are the only importers of the I/O libraries.
IO_LIBS = {"paho", "influxdb", "serial"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            # Relative imports resolved against the file's package; ``from pvopt import io``
            # names ``pvopt.io`` as well as ``pvopt`` (the imported name may be a module).
            base = node.module or ""
            if node.level:
                package = path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1]
                anchor = package[: len(package) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def _files(part: str) -> list[Path]:
    target = PACKAGE / part
    if target.is_file():
        return [target]
    return sorted(target.rglob("*.py")) if target.is_dir() else []


def _forbidden(names: set[str], banned: set[str]) -> set[str]:
    return {n for n in names for b in banned if n == b or n.startswith(b + ".")}


@pytest.mark.parametrize("path", [p for part in PURE for p in _files(part)], ids=str)
def test_core_modules_import_no_io_library(path: Path) -> None:
    assert not _forbidden(_imports(path), FORBIDDEN)


def test_only_adapters_import_io_libraries() -> None:
    offenders = {
        str(p.relative_to(PACKAGE)): sorted(_forbidden(_imports(p), IO_LIBS))
        for p in PACKAGE.rglob("*.py")
        if p.parent.name != "io" and _forbidden(_imports(p), IO_LIBS)
    }
    assert offenders == {}
