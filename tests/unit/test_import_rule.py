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
    "tariff.py",
    "forecast.py",
    "config.py",
    "topics.py",
    "homeassistant.py",
    "logthrottle.py",
    "web",
]
FORBIDDEN = {
    "paho",
    "influxdb",
    "serial",
    "requests",
    "socket",
    "urllib.request",
    "http.client",
    "asyncio",
    "aiohttp",
    "pvopt.io",
    "pvopt.daemons",
}
#: Adapters are the only importers of the I/O libraries.
IO_LIBS = {"paho", "influxdb", "serial", "urllib.request", "http.client", "aiohttp"}


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


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_graph() -> dict[str, set[str]]:
    """pvopt module → the pvopt modules it imports, at any depth of its code (a lazy import
    inside a function is a dependency too)."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for imported in _imports(path):
            # ``from pvopt.x import y`` names pvopt.x and pvopt.x.y: keep the modules.
            if imported in modules and imported not in (name, "pvopt"):
                targets.add(imported)
        graph[name] = targets
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, as the list of modules around it, or None."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        for target in sorted(graph[node]):
            found = visit(target, [*path, node])
            if found:
                return found
        done.add(node)
        return None

    for node in sorted(graph):
        found = visit(node, [])
        if found:
            return found
    return None


def test_no_import_cycle_between_pvopt_modules() -> None:
    assert _cycle(_import_graph()) is None


def test_the_cycle_finder_finds_one() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert _cycle(graph) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def _private_imports(path: Path) -> list[str]:
    """``from pvopt.x import _name``: another module's private names (dunders are public)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("pvopt"):
            found += [
                f"{node.module}.{alias.name}"
                for alias in node.names
                if alias.name.startswith("_") and not alias.name.endswith("__")
            ]
    return found


def test_no_module_imports_another_modules_private_names() -> None:
    offenders = {
        str(p.relative_to(PACKAGE)): _private_imports(p)
        for p in sorted(PACKAGE.rglob("*.py"))
        if _private_imports(p)
    }
    assert offenders == {}
