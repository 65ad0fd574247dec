"""The house drawn from its imports: layers that import only downwards, and no cycles."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "src" / "scaleready"

# Lowest first. A module may import from its own layer or a lower one, never a higher one.
LAYERS = {
    "foundation": (
        "errors",
        "problems",
        "outcome",
        "documents",
        "profile",
        "config",
        "upgrade",
        "synthetic",
        "processes",
    ),
    "language": ("language",),
    "plugins": ("hookspecs", "plugins"),
    "assessment": ("assessment",),
    "report": ("report",),
    "rounds": ("rounds",),
    "history": ("history",),  # the audit history: a database of recorded assessments
    "service": ("service",),  # the HTTP service over the library and the history
    "kit": ("scaffold", "testing"),  # for plugin authors: a new plugin, and its tests
    "cli": ("cli",),
}
RANK = {part: rank for rank, parts in enumerate(LAYERS.values()) for part in parts}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every scaleready module the file imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {f"{node.module}.{alias.name}" for alias in node.names} | {node.module}
    return {name for name in found if name.split(".")[0] == "scaleready"}


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def known(name: str, names: set[str]) -> str | None:
    """The module an imported name belongs to (``a.b.c`` may be function ``c`` of ``a.b``)."""
    while name and name not in names:
        name = name.rpartition(".")[0]
    return name or None


def layer_of(name: str) -> int | None:
    parts = name.split(".")
    return RANK.get(parts[1]) if len(parts) > 1 else None


@cache
def import_graph() -> dict[str, set[str]]:
    found = modules()
    names = set(found)
    # a package naming its own modules (`from scaleready.cli import assess` in its __init__)
    # imports from itself: that is no cycle
    return {
        name: {m for m in map(lambda i: known(i, names), imported_modules(path)) if m and m != name}
        for name, path in found.items()
    }


def test_every_module_has_a_layer():
    unplaced = [name for name in modules() if name != "scaleready" and layer_of(name) is None]
    assert unplaced == [], "add these modules to LAYERS (and docs/architecture.md)"


@pytest.mark.parametrize("name", sorted(import_graph()), ids=str)
def test_no_import_runs_back_up(name):
    if name == "scaleready":  # the lazy public API names modules of every layer
        return
    upward = sorted(
        target
        for target in import_graph()[name]
        if target != "scaleready" and (layer_of(target) or 0) > (layer_of(name) or 0)
    )
    assert upward == [], f"{name} imports from a higher layer"


def test_no_import_cycles():
    graph = import_graph()
    cycles = []

    def visit(node: str, trail: list[str]) -> None:
        for target in sorted(graph[node]):
            if target in trail:
                cycles.append(trail[trail.index(target) :] + [target])
            elif target not in done:
                visit(target, [*trail, target])
        done.add(node)

    done: set[str] = set()
    for start in sorted(graph):
        if start not in done:
            visit(start, [start])
    # the package's own __init__ only names modules lazily, and every module imports __version__
    cycles = [c for c in cycles if "scaleready" not in c]
    assert cycles == []
