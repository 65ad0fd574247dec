"""The plugin host: finds plugins, collects what they register, and names the ones that break.

Only this module calls the hooks.  Each hook implementation is called on its own, so whatever a
plugin contributes is attributed to it, and a plugin that raises is skipped as a whole.
"""

from __future__ import annotations

import importlib.metadata
import os
import types
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pluggy

from scaleready import hookspecs
from scaleready.conditions import kind_of_value
from scaleready.documents import nearest
from scaleready.errors import InputError, PluginError
from scaleready.rules import Ruleset, load_ruleset, profile_fields

ENTRY_POINT_GROUP = "scaleready"
AUTOLOAD_OFF_VARIABLE = "SCALEREADY_DISABLE_PLUGIN_AUTOLOAD"
FACT_KINDS = ("number", "string", "boolean")


@dataclass(frozen=True)
class DerivedFact:
    """A fact a plugin computes from a profile in Python; None means the data is missing."""

    name: str
    function: Callable[[object], object]
    kind: str
    description: str
    plugin: str
    inputs: tuple[
        str, ...
    ] = ()  # profile field paths it reads: the data to ask for when it is None


@dataclass
class PluginInfo:
    """What one plugin is and provides, for `scaleready plugins`."""

    name: str
    version: str | None
    rulesets: list[str] = field(default_factory=list)
    derived_facts: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass
class Registry:
    """Everything the installed plugins provide, and the problems met collecting it."""

    rulesets: dict[str, Ruleset] = field(default_factory=dict)
    derived_facts: dict[str, DerivedFact] = field(default_factory=dict)
    plugins: dict[str, PluginInfo] = field(default_factory=dict)
    problems: list[PluginError] = field(default_factory=list)

    def fact_kinds(self) -> dict[str, str]:
        return {name: fact.kind for name, fact in self.derived_facts.items()}


def autoload_enabled() -> bool:
    """Entry-point plugins load unless SCALEREADY_DISABLE_PLUGIN_AUTOLOAD is set."""
    return not os.environ.get(AUTOLOAD_OFF_VARIABLE)


def get_plugin_manager(
    plugins: Iterable[object] = (), *, load_entry_points: bool | None = None
) -> tuple[pluggy.PluginManager, Registry]:
    """A plugin manager with the given plugins and (unless turned off) the installed ones."""
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    registry = Registry()
    for plugin in plugins:
        name = getattr(plugin, "__name__", type(plugin).__name__)
        manager.register(plugin, name=name)
        registry.plugins[name] = PluginInfo(name, _module_version(plugin))
    if autoload_enabled() if load_entry_points is None else load_entry_points:
        _load_entry_points(manager, registry)
    manager.check_pending()
    return manager, registry


def _load_entry_points(manager: pluggy.PluginManager, registry: Registry) -> None:
    for entry_point in sorted(
        importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name
    ):
        version = entry_point.dist.version if entry_point.dist else None
        info = registry.plugins.setdefault(entry_point.name, PluginInfo(entry_point.name, version))
        try:
            plugin = entry_point.load()
            manager.register(plugin, name=entry_point.name)
        except Exception as error:  # a broken plugin is named and skipped, never fatal here
            _record(registry, info, f"failed to load {entry_point.value}: {_brief(error)}")


def _module_version(plugin: object) -> str | None:
    return getattr(plugin, "__version__", None) if isinstance(plugin, types.ModuleType) else None


def _brief(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def _record(registry: Registry, info: PluginInfo, message: str) -> None:
    info.error = message if info.error is None else f"{info.error}; {message}"
    registry.problems.append(PluginError(message, plugin=info.name))


def collect(manager: pluggy.PluginManager, registry: Registry) -> Registry:
    """Call every plugin's hooks, derived facts first (rulesets are checked against them)."""
    for plugin, facts in _call_each(manager, registry, "register_derived_facts", _fact_registrar):
        for fact in facts:
            _add_fact(registry, plugin, fact)
    for plugin, paths in _call_each(manager, registry, "register_rulesets", _path_registrar):
        for path in paths:
            _add_plugin_ruleset(registry, plugin, path)
    return registry


def _call_each(
    manager, registry: Registry, hook_name: str, make_registrar: Callable
) -> list[tuple]:
    """Call one hook plugin by plugin; keep what each registered unless it raised."""
    contributions = []
    for implementation in getattr(manager.hook, hook_name).get_hookimpls():
        name = implementation.plugin_name
        info = registry.plugins.setdefault(name, PluginInfo(name, None))
        registered: list = []
        try:
            implementation.function(
                **{arg: make_registrar(registered) for arg in implementation.argnames}
            )
        except Exception as error:  # the plugin's own code failed: skip all it registered
            _record(registry, info, f"{hook_name} failed: {_brief(error)}")
            continue
        contributions.append((info, registered))
    return sorted(contributions, key=lambda pair: pair[0].name)


def _fact_registrar(registered: list) -> Callable:
    def register(
        name: str, function: Callable, *, kind: str, description: str, inputs: Iterable[str] = ()
    ) -> None:
        if kind not in FACT_KINDS:
            raise ValueError(f"derived fact {name!r}: kind must be one of {', '.join(FACT_KINDS)}")
        unknown = [path for path in inputs if path not in profile_fields()]
        if unknown:
            hint = nearest(unknown[0], profile_fields())
            suggestion = f"; did you mean {hint!r}?" if hint else ""
            raise ValueError(
                f"derived fact {name!r}: input {unknown[0]!r} is not a profile field{suggestion}"
            )
        registered.append((name, function, kind, description, tuple(inputs)))

    return register


def _path_registrar(registered: list) -> Callable:
    def register(path: str | Path) -> None:
        registered.append(Path(path))

    return register


def _add_fact(registry: Registry, info: PluginInfo, fact: tuple) -> None:
    name, function, kind, description, inputs = fact
    if name in registry.derived_facts:
        owner = registry.derived_facts[name].plugin
        _record(
            registry, info, f"derived fact {name!r} is already registered by {owner!r}; skipped"
        )
        return
    registry.derived_facts[name] = DerivedFact(name, function, kind, description, info.name, inputs)
    info.derived_facts.append(name)


def _add_plugin_ruleset(registry: Registry, info: PluginInfo, path: Path) -> None:
    try:
        ruleset = load_ruleset(path, registry.fact_kinds())
    except InputError as error:
        _record(registry, info, f"ruleset {path.name} is invalid and was skipped: {error}")
        return
    if ruleset.id in registry.rulesets:
        owner = next(p.name for p in registry.plugins.values() if ruleset.id in p.rulesets)
        _record(registry, info, f"ruleset {ruleset.id!r} is already provided by {owner!r}; skipped")
        return
    registry.rulesets[ruleset.id] = ruleset
    info.rulesets.append(ruleset.id)


def add_ruleset_files(registry: Registry, paths: Iterable[str | Path]) -> list[str]:
    """Load the user's ruleset files (RulesetError if bad); each replaces one of the same id."""
    ids = []
    for path in paths:
        ruleset = load_ruleset(Path(path), registry.fact_kinds())
        registry.rulesets[ruleset.id] = ruleset
        ids.append(ruleset.id)
    return ids


def load_registry(
    plugins: Iterable[object] = (), *, load_entry_points: bool | None = None
) -> Registry:
    """Everything the given and installed plugins provide."""
    manager, registry = get_plugin_manager(plugins, load_entry_points=load_entry_points)
    return collect(manager, registry)


def compute_derived_facts(
    facts: Mapping[str, DerivedFact], names: Iterable[str], profile: object
) -> tuple[dict[str, object], dict[str, str]]:
    """Values of the named facts for a profile, and the facts whose function failed (with why)."""
    values, errors = {}, {}
    for name in names:
        fact = facts[name]
        try:
            value = fact.function(profile)
        except Exception as error:  # a plugin's bug: the rules that need it report an error outcome
            errors[name] = (
                f"derived fact {name!r} from plugin {fact.plugin!r} failed: {_brief(error)}"
            )
            continue
        if value is None:
            continue
        if kind_of_value(value) != fact.kind:
            errors[name] = (
                f"derived fact {name!r} returned a {kind_of_value(value)}, not a {fact.kind}"
            )
            continue
        values[name] = value
    return values, errors
