"""Building an engine from the installed plugins' rulesets and derived facts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from scaleready.assessment.engine import Engine
from scaleready.errors import InputError
from scaleready.plugins import Registry, add_ruleset_files, load_registry


def create_engine(
    rulesets: Sequence[str] = (),
    *,
    rule_files: Sequence[str] = (),
    plugins: Iterable[object] = (),
    load_entry_points: bool | None = None,
    backend: str = "auto",
    strict_plugins: bool = False,
) -> tuple[Engine, Registry]:
    """An engine over the installed (and given) plugins' rulesets, or just ``rulesets``."""
    registry = load_registry(plugins, load_entry_points=load_entry_points)
    if strict_plugins and registry.problems:
        raise registry.problems[0]
    add_ruleset_files(registry, rule_files)
    chosen = list(rulesets) or sorted(registry.rulesets)
    unknown = [name for name in chosen if name not in registry.rulesets]
    if unknown:
        known = ", ".join(sorted(registry.rulesets)) or "none installed"
        raise InputError(f"unknown ruleset {unknown[0]!r}; available: {known}")
    engine = Engine(
        [registry.rulesets[name] for name in chosen],
        registry.derived_facts,
        backend=backend,
        sections=list(registry.sections.values()),
    )
    return engine, registry
