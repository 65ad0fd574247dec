"""The plugin host: finds plugins, collects what they register, and names the ones that break.

Only this module calls the hooks.  Each hook implementation is called on its own, so whatever a
plugin contributes is attributed to it, and a plugin that fails is skipped as a whole.

Plugin code is not trusted to return, nor to leave the process alone.  Its import, each hook call
and each third-party derived fact run on a helper thread that the caller stops waiting for after a
time limit (SCALEREADY_PLUGIN_TIMEOUT, SCALEREADY_FACT_TIMEOUT), and whatever it raises, SystemExit
included, is caught and blamed on the plugin.  Only KeyboardInterrupt goes on: Ctrl-C must still
stop scaleready.  A thread, not a signal, because an alarm works only in the main thread, and
engines are shared across threads by embedders.  The built-ins are scaleready's own code: they are
loaded first, their names and what they register cannot be taken, and their derived facts run
inline, so the default path pays nothing for the time limit.
"""

from __future__ import annotations

import importlib.metadata
import math
import os
import queue
import re
import sys
import threading
import time
import types
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import pluggy

from scaleready import __version__, hookspecs
from scaleready.errors import InputError, PluginError, SettingError
from scaleready.language.nodes import kind_of_value
from scaleready.language.ruleset import Ruleset, load_ruleset
from scaleready.problems import did_you_mean
from scaleready.profile import (
    CORE_SECTIONS,
    FieldInfo,
    InnovationProfile,
    SectionSpec,
    field_catalogue,
    profile_model_with,
    section_problem,
)

ENTRY_POINT_GROUP = "scaleready"
AUTOLOAD_OFF_VARIABLE = "SCALEREADY_DISABLE_PLUGIN_AUTOLOAD"
FACT_KINDS = ("number", "string", "boolean")
BUILTIN_DISTRIBUTION = "scaleready"  # entry points of this distribution are the built-ins
# The plugin API this scaleready offers: the hooks and what their register callbacks take. A
# plugin says which it is built for in its entry-point module (SCALEREADY_PLUGIN_API = 1); one
# built for another is named and skipped. Raised only when a change would break plugins.
PLUGIN_API_VERSION = 1
PLUGIN_API_ATTRIBUTE = "SCALEREADY_PLUGIN_API"

# Time limits, in seconds; each can be changed with its environment variable.
PLUGIN_TIMEOUT_VARIABLE = "SCALEREADY_PLUGIN_TIMEOUT"
DEFAULT_PLUGIN_TIMEOUT = 10.0  # a plugin's import, and then each of its hook calls
FACT_TIMEOUT_VARIABLE = "SCALEREADY_FACT_TIMEOUT"
DEFAULT_FACT_TIMEOUT = 5.0  # one third-party derived fact on one profile
HELPER_IDLE_SECONDS = 1.0  # a helper thread with nothing to do for this long ends


@dataclass
class _FactState:
    """What one derived fact has done in this process: set once it ran out of time."""

    hung: str | None = None


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
    time_limit: float | None = DEFAULT_FACT_TIMEOUT  # None: a built-in, called inline
    state: _FactState = field(default_factory=_FactState, compare=False, repr=False)


@dataclass
class PluginInfo:
    """What one plugin is and provides, for `scaleready plugins`."""

    name: str
    version: str | None
    rulesets: list[str] = field(default_factory=list)
    derived_facts: list[str] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)
    error: str | None = None
    distribution: str | None = None
    builtin: bool = False


@dataclass
class Registry:
    """Everything the installed plugins provide, and the problems met collecting it."""

    rulesets: dict[str, Ruleset] = field(default_factory=dict)
    derived_facts: dict[str, DerivedFact] = field(default_factory=dict)
    sections: dict[str, SectionSpec] = field(default_factory=dict)  # profile sections by name
    plugins: dict[str, PluginInfo] = field(default_factory=dict)
    problems: list[PluginError] = field(default_factory=list)
    skipped: set[str] = field(default_factory=set)  # plugins whose own code failed
    plugin_timeout: float = DEFAULT_PLUGIN_TIMEOUT
    fact_timeout: float = DEFAULT_FACT_TIMEOUT

    def fact_kinds(self) -> dict[str, str]:
        return {name: fact.kind for name, fact in self.derived_facts.items()}

    def profile_model(self) -> type[InnovationProfile]:
        """The profile with the plugins' sections: the model profiles are validated with."""
        return profile_model_with(self.sections.values())

    def fields(self) -> Mapping[str, FieldInfo]:
        """The field catalogue of ``profile_model``: what conditions and fact inputs may name."""
        return field_catalogue(self.profile_model())


def autoload_enabled() -> bool:
    """Entry-point plugins load unless SCALEREADY_DISABLE_PLUGIN_AUTOLOAD is set."""
    return not os.environ.get(AUTOLOAD_OFF_VARIABLE)


def time_limit(variable: str, default: float) -> float:
    """Seconds from an environment variable, or the default; SettingError if it is not a time."""
    text = os.environ.get(variable, "").strip()
    if not text:
        return default
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not 0 < seconds < math.inf:
        raise SettingError(
            f"{text!r} is not a number of seconds above 0; e.g. {variable}={default:g}",
            source=variable,
        )
    return min(seconds, threading.TIMEOUT_MAX)


def get_plugin_manager(
    plugins: Iterable[object] = (), *, load_entry_points: bool | None = None
) -> tuple[pluggy.PluginManager, Registry]:
    """A plugin manager with the given plugins and (unless turned off) the installed ones."""
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    registry = Registry(
        plugin_timeout=time_limit(PLUGIN_TIMEOUT_VARIABLE, DEFAULT_PLUGIN_TIMEOUT),
        fact_timeout=time_limit(FACT_TIMEOUT_VARIABLE, DEFAULT_FACT_TIMEOUT),
    )
    for plugin in plugins:
        name = getattr(plugin, "__name__", type(plugin).__name__)
        manager.register(plugin, name=name)
        registry.plugins[name] = PluginInfo(name, _module_version(plugin))
    if autoload_enabled() if load_entry_points is None else load_entry_points:
        _load_entry_points(manager, registry)
    manager.check_pending()
    return manager, registry


# --- finding and loading installed plugins -------------------------------------------------------


@dataclass(frozen=True)
class _Installed:
    """One entry point in the scaleready group, and the distribution that provides it."""

    entry_point: importlib.metadata.EntryPoint
    distribution: str
    version: str
    location: str
    builtin: bool

    def describe(self) -> str:
        return f"{self.distribution} {self.version} in {self.location}"


def _installed_plugins() -> dict[str, list[_Installed]]:
    """Every installed entry point by name: built-ins first, then by name; copies in path order.

    importlib.metadata's own entry_points() keeps one distribution of each name and drops the
    others without a word; every copy is listed here, so a plugin installed twice can be named.
    """
    found: dict[str, list[_Installed]] = {}
    seen: dict[tuple[str, str], None] = {}  # a dict keeps sys.path order
    for dist in importlib.metadata.distributions():
        entry_points = dist.entry_points.select(group=ENTRY_POINT_GROUP)
        if not entry_points:
            continue  # not a plugin: its METADATA, slow to parse, is never read
        metadata = dist.metadata  # parsed anew each time it is asked for: asked once
        name, version, location = metadata["Name"], metadata["Version"], str(dist.locate_file(""))
        if not name or (_canonical(name), location) in seen:
            continue  # no metadata, or the same folder twice on sys.path
        seen[_canonical(name), location] = None
        builtin = _canonical(name) == BUILTIN_DISTRIBUTION
        for entry_point in entry_points:
            copy = _Installed(entry_point, name, version, location, builtin)
            found.setdefault(entry_point.name, []).append(copy)
    folders = list(dict.fromkeys(location for _, location in seen))  # in sys.path order
    for copies in found.values():  # the built-in, else the first on sys.path, else by name
        copies.sort(key=lambda c: (not c.builtin, folders.index(c.location), c.distribution))
    return dict(sorted(found.items(), key=lambda item: (not item[1][0].builtin, item[0])))


def _canonical(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def _load_entry_points(manager: pluggy.PluginManager, registry: Registry) -> None:
    for name, (chosen, *others) in _installed_plugins().items():
        if name in registry.plugins:
            _record_copy_of_given(registry, name, chosen)
        else:
            info = PluginInfo(
                name, chosen.version, distribution=chosen.distribution, builtin=chosen.builtin
            )
            registry.plugins[name] = info
            _load_one(manager, registry, info, chosen.entry_point)
        for other in others:
            _record_copy(registry, name, chosen, other)


def _load_one(
    manager: pluggy.PluginManager,
    registry: Registry,
    info: PluginInfo,
    entry_point: importlib.metadata.EntryPoint,
) -> None:
    """Import one plugin within the time limit and register it; a failure skips it, named."""
    try:
        plugin = _call_plugin(entry_point.load, registry.plugin_timeout)
    except _PluginCallFailed as failure:
        _skip(registry, info, f"failed to load {entry_point.value}: {failure}")
        return
    if not _built_for_this_api(registry, info, plugin):
        return
    if manager.is_registered(plugin):
        already = manager.get_name(plugin)
        _record(registry, info, f"{entry_point.value} is already loaded as plugin {already!r}")
        return
    try:
        manager.register(plugin, name=info.name)
    except pluggy.PluginValidationError as error:  # a hook with parameters the spec lacks
        _record(registry, info, f"{entry_point.value} is not a valid plugin: {error}")


def _built_for_this_api(registry: Registry, info: PluginInfo, plugin: object) -> bool:
    """Whether a plugin is built for this plugin API; one built for another is skipped, named.

    A plugin that does not say is taken to be built for this one.
    """
    mismatch = _api_mismatch(plugin)
    if mismatch is None:
        return True
    _skip(registry, info, f"{mismatch}: install a version of the plugin built for it")
    return False


def _api_mismatch(plugin: object) -> str | None:
    """Why a plugin is not built for this plugin API, or None if it is (or does not say)."""
    declared = getattr(plugin, PLUGIN_API_ATTRIBUTE, PLUGIN_API_VERSION)
    if declared == PLUGIN_API_VERSION:
        return None
    return (
        f"it is built for scaleready plugin API {declared!r} ({PLUGIN_API_ATTRIBUTE}), and this "
        f"scaleready {__version__} offers API {PLUGIN_API_VERSION}"
    )


def _record_copy(registry: Registry, name: str, chosen: _Installed, other: _Installed) -> None:
    """Name a second entry point of the same name: the built-in's name, or a plugin twice over."""
    if chosen.builtin and not other.builtin:
        culprit = other.distribution
        message = (
            f"its entry point {name!r} has the name of a built-in plugin, which cannot be "
            f"replaced; not loaded ({other.describe()})"
        )
    else:
        culprit = name
        message = (
            f"installed twice: {chosen.describe()}, and {other.describe()}; the first is "
            "loaded, the second is not: uninstall one of them"
        )
    info = PluginInfo(name, other.version, distribution=other.distribution, error=message)
    registry.plugins[f"{name} ({other.describe()})"] = info
    registry.problems.append(PluginError(message, plugin=culprit))


def _record_copy_of_given(registry: Registry, name: str, installed: _Installed) -> None:
    message = f"a plugin given by the program already has this name; {installed.describe()} skipped"
    registry.problems.append(PluginError(message, plugin=name))


def _module_version(plugin: object) -> str | None:
    return getattr(plugin, "__version__", None) if isinstance(plugin, types.ModuleType) else None


def _brief(error: BaseException) -> str:
    if isinstance(error, SystemExit):
        return f"it called sys.exit({error.code!r}), which a plugin must not do"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def _record(registry: Registry, info: PluginInfo, message: str) -> None:
    info.error = message if info.error is None else f"{info.error}; {message}"
    registry.problems.append(PluginError(message, plugin=info.name))


def _skip(registry: Registry, info: PluginInfo, message: str) -> None:
    """A plugin whose own code failed: nothing more of it is called or kept."""
    _record(registry, info, f"{message}; plugin skipped")
    registry.skipped.add(info.name)


# --- collecting what plugins register ------------------------------------------------------------


def collect(manager: pluggy.PluginManager, registry: Registry) -> Registry:
    """Call every plugin's hooks: profile sections first (facts and rules read their fields),
    then derived facts (rulesets are checked against them), then rulesets."""
    _collect_sections(manager, registry)
    fields = registry.fields()
    facts = partial(_fact_registrar, fields=fields)
    for plugin, registered in _call_each(manager, registry, "register_derived_facts", facts):
        for fact in registered:
            _add_fact(registry, plugin, fact)
    for plugin, paths in _call_each(manager, registry, "register_rulesets", _path_registrar):
        for path in paths:
            _add_plugin_ruleset(registry, plugin, path)
    _drop_skipped(registry)
    return registry


def _drop_skipped(registry: Registry) -> None:
    """Drop everything a skipped plugin registered, and the rulesets that need its facts."""
    dropped: dict[str, str] = {}  # fact name: the plugin that registered it
    for name in registry.skipped & registry.plugins.keys():
        info = registry.plugins[name]
        for fact in info.derived_facts:
            registry.derived_facts.pop(fact, None)
            dropped[fact] = name
        for ruleset_id in info.rulesets:
            registry.rulesets.pop(ruleset_id, None)
        for section in info.sections:  # a plugin skipped in a later hook keeps no section
            registry.sections.pop(section, None)
        info.derived_facts, info.rulesets, info.sections = [], [], []
    for info in list(registry.plugins.values()):
        for ruleset_id in list(info.rulesets):
            needed = {f for rule in registry.rulesets[ruleset_id].rules for f in rule.derived}
            lost = sorted(needed & dropped.keys())
            if lost:
                del registry.rulesets[ruleset_id]
                info.rulesets.remove(ruleset_id)
                _record(
                    registry,
                    info,
                    f"ruleset {ruleset_id!r} uses derived fact {lost[0]!r} of plugin "
                    f"{dropped[lost[0]]!r}, which was skipped; ruleset skipped",
                )


def _call_each(
    manager: pluggy.PluginManager,
    registry: Registry,
    hook_name: str,
    make_registrar: Callable[[list[Any]], Callable[..., None]],
) -> list[tuple[PluginInfo, list[Any]]]:
    """Call one hook plugin by plugin; keep what each registered unless it failed.

    The built-ins come first, then the others by name: the first to register a name keeps it.
    """
    contributions = []
    for implementation in getattr(manager.hook, hook_name).get_hookimpls():
        name = implementation.plugin_name
        info = registry.plugins.setdefault(name, PluginInfo(name, None))
        if name in registry.skipped:
            continue  # failed in another hook: skipped as a whole
        registered: list[Any] = []
        arguments = {arg: make_registrar(registered) for arg in implementation.argnames}
        try:
            _call_plugin(partial(implementation.function, **arguments), registry.plugin_timeout)
        except _PluginCallFailed as failure:
            _skip(registry, info, f"{hook_name} failed: {failure}")
            continue
        contributions.append((info, registered))
    return sorted(contributions, key=lambda pair: (not pair[0].builtin, pair[0].name))


def _fact_registrar(registered: list[Any], fields: Mapping[str, FieldInfo]) -> Callable[..., None]:
    def register(
        name: str, function: Callable, *, kind: str, description: str, inputs: Iterable[str] = ()
    ) -> None:
        if kind not in FACT_KINDS:
            raise ValueError(f"derived fact {name!r}: kind must be one of {', '.join(FACT_KINDS)}")
        unknown = [path for path in inputs if path not in fields]
        if unknown:
            advice = did_you_mean(unknown[0], fields)
            raise ValueError(
                f"derived fact {name!r}: input {unknown[0]!r} is not a profile field"
                + (f"; {advice}" if advice else "")
            )
        registered.append((name, function, kind, description, tuple(inputs)))

    return register


def _path_registrar(registered: list[Any]) -> Callable[..., None]:
    def register(path: str | Path) -> None:
        registered.append(Path(path))

    return register


def _add_fact(registry: Registry, info: PluginInfo, fact: tuple) -> None:
    name, function, kind, description, inputs = fact
    if name in registry.derived_facts:
        owner = _owner(registry, registry.derived_facts[name].plugin)
        _record(registry, info, f"derived fact {name!r} is already registered by {owner}; skipped")
        return
    limit = None if info.builtin else registry.fact_timeout
    registry.derived_facts[name] = DerivedFact(
        name, function, kind, description, info.name, inputs, limit
    )
    info.derived_facts.append(name)


def _add_plugin_ruleset(registry: Registry, info: PluginInfo, path: Path) -> None:
    try:
        ruleset = load_ruleset(path, registry.fact_kinds(), registry.fields())
    except InputError as error:
        # Skipped as a whole (its facts and other rulesets dropped by collect), so what a
        # plugin provides is all or nothing, as docs/plugins.md promises.
        _skip(registry, info, f"ruleset {path.name} is invalid: {error}")
        return
    if ruleset.id in registry.rulesets:
        owner = next(p.name for p in registry.plugins.values() if ruleset.id in p.rulesets)
        _record(
            registry,
            info,
            f"ruleset {ruleset.id!r} is already provided by {_owner(registry, owner)}; skipped",
        )
        return
    registry.rulesets[ruleset.id] = ruleset
    info.rulesets.append(ruleset.id)


# --- profile sections --------------------------------------------------------------------------


def _collect_sections(manager: pluggy.PluginManager, registry: Registry) -> None:
    """Each plugin's sections, all or none: one whose name is taken skips the plugin."""
    hook = "register_profile_sections"
    for plugin, specs in _call_each(manager, registry, hook, _section_registrar):
        clash = next(filter(None, (_section_clash(registry, spec.name) for spec in specs)), None)
        if clash:
            _skip(registry, plugin, clash)
            continue
        for spec in specs:
            spec = replace(spec, plugin=plugin.name, version=plugin.version)
            registry.sections[spec.name] = spec
            plugin.sections.append(spec.name)


def _section_registrar(registered: list[Any]) -> Callable[..., None]:
    def register(name: str, model: type, *, description: str = "") -> None:
        if not isinstance(name, str) or not SECTION_NAME.fullmatch(name):
            raise ValueError(
                f"profile section name {name!r} must be lower_snake_case: a letter, then "
                "letters, digits or _ (at most 64)"
            )
        problem = section_problem(name, model)
        if problem:
            raise ValueError(f"profile section {name!r}: {problem}")
        if any(spec.name == name for spec in registered):
            raise ValueError(f"profile section {name!r} is registered twice")
        text = description or (model.__doc__ or "").strip().split("\n")[0]
        registered.append(SectionSpec(name, model, text, plugin=""))

    return register


SECTION_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")


def _section_clash(registry: Registry, name: str) -> str | None:
    """Why a plugin may not have section ``name``: the core profile's, or another plugin's."""
    if name in CORE_SECTIONS:
        return (
            f"profile section {name!r} clashes with the core profile's field {name!r}; "
            "choose another name"
        )
    if name in registry.sections:
        owner = _owner(registry, registry.sections[name].plugin)
        return f"profile section {name!r} is already provided by {owner}"
    return None


def _owner(registry: Registry, plugin: str) -> str:
    builtin = registry.plugins.get(plugin, PluginInfo(plugin, None)).builtin
    return f"the built-in plugin {plugin!r}" if builtin else f"plugin {plugin!r}"


def add_ruleset_files(registry: Registry, paths: Iterable[str | Path]) -> list[str]:
    """Load the user's ruleset files (RulesetError if bad); each replaces one of the same id."""
    ids = []
    for path in paths:
        ruleset = load_ruleset(Path(path), registry.fact_kinds(), registry.fields())
        registry.rulesets[ruleset.id] = ruleset
        ids.append(ruleset.id)
    return ids


def load_registry(
    plugins: Iterable[object] = (), *, load_entry_points: bool | None = None
) -> Registry:
    """Everything the given and installed plugins provide."""
    manager, registry = get_plugin_manager(plugins, load_entry_points=load_entry_points)
    return collect(manager, registry)


# --- a plugin from its source folder, not installed ----------------------------------------------


def load_registry_with_sources(folders: Iterable[Path]) -> Registry:
    """The installed plugins, with the plugins in these source folders read from there: an
    installed copy of one is replaced by its source, one not installed is added."""
    installed = {name for name in _installed_plugins()}
    given = []
    for folder in folders:
        root, entry_points = source_plugin(Path(folder))
        sys.path.insert(0, str(root))  # ahead of site-packages: the source shadows a copy
        importlib.invalidate_caches()
        for name, target in entry_points.items():
            _forget_module(target.partition(":")[0])
            if name not in installed:  # an installed one loads from the source, by its name
                given.append(_import_source(name, target, root))
    return load_registry(given)


def source_plugin(folder: Path) -> tuple[Path, dict[str, str]]:
    """Where a plugin's source imports from, and its scaleready entry points (name: module).

    ``folder`` is a project (its pyproject.toml declares the entry points; the package is in
    ``src/`` or beside it) or a package folder (with ``__init__.py``).
    """
    import tomllib

    pyproject = folder / "pyproject.toml"
    if pyproject.is_file():
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise PluginError(f"{pyproject} cannot be read: {error}", plugin=str(folder)) from None
        entry_points = data.get("project", {}).get("entry-points", {}).get(ENTRY_POINT_GROUP)
        if not isinstance(entry_points, dict) or not entry_points:
            raise PluginError(
                f"{pyproject} declares no plugin: add [project.entry-points.{ENTRY_POINT_GROUP}] "
                'with a line name = "your_package"',
                plugin=str(folder),
            )
        root = folder / "src" if (folder / "src").is_dir() else folder
        return root, {str(name): str(target) for name, target in entry_points.items()}
    if (folder / "__init__.py").is_file():
        return folder.resolve().parent, {folder.name: folder.name}
    raise PluginError(
        "not a plugin's folder: give the folder of its pyproject.toml, or of its package "
        "(with __init__.py)",
        plugin=str(folder),
    )


def _forget_module(module: str) -> None:
    """Drop a module imported from elsewhere, so the next import reads the source."""
    for name in [n for n in sys.modules if n == module or n.startswith(module + ".")]:
        del sys.modules[name]


def _import_source(name: str, target: str, root: Path) -> object:
    module_name, _, attribute = target.partition(":")
    try:
        module = _call_plugin(
            partial(importlib.import_module, module_name.strip()),
            time_limit(PLUGIN_TIMEOUT_VARIABLE, DEFAULT_PLUGIN_TIMEOUT),
        )
        plugin = getattr(module, attribute.strip()) if attribute else module
    except (_PluginCallFailed, AttributeError) as error:
        raise PluginError(f"cannot load {target} from {root}: {error}", plugin=name) from None
    mismatch = _api_mismatch(plugin)  # checked as an installed plugin's is
    if mismatch is not None:
        raise PluginError(f"{mismatch}: update it to API {PLUGIN_API_VERSION}", plugin=name)
    return plugin


# --- derived facts, on every profile -------------------------------------------------------------


def compute_derived_facts(
    facts: Mapping[str, DerivedFact], names: Iterable[str], profile: object
) -> tuple[dict[str, object], dict[str, str]]:
    """Values of the named facts for a profile, and the facts that failed (with why).

    Built-in facts are called here; the others on a helper thread, each within its time limit.
    """
    values: dict[str, object] = {}
    errors: dict[str, str] = {}
    limited: list[tuple[DerivedFact, float]] = []  # third-party facts, with their time limits
    for name in names:
        fact = facts[name]
        if fact.time_limit is None:  # a built-in: called here, no thread to hand over to
            try:
                value, error = fact.function(profile), None
            except KeyboardInterrupt:
                raise
            except BaseException as raised:  # plugin code: even sys.exit() is its bug
                value, error = None, raised
            _judge(fact, value, error, values, errors)
        elif fact.state.hung is not None:
            errors[name] = fact.state.hung
        else:
            limited.append((fact, fact.time_limit))
    while limited:
        calls = [(partial(fact.function, profile), limit) for fact, limit in limited]
        outcomes, stuck = _call_in_turn(calls)
        for (fact, _), outcome in zip(limited, outcomes, strict=False):
            _judge(fact, *outcome, values, errors)
        if stuck is None:
            break
        _give_up_on(limited[stuck][0], errors)
        limited = limited[stuck + 1 :]
    return values, errors


def _judge(
    fact: DerivedFact,
    value: object,
    error: BaseException | None,
    values: dict[str, object],
    errors: dict[str, str],
) -> None:
    """Keep a fact's value, or say why the rules that need it cannot be assessed."""
    if error is None and (value is None or _usable(fact, value)):
        if value is not None:
            values[fact.name] = value
        return
    problem = _problem_with(fact, value, error)
    errors[fact.name] = f"derived fact {fact.name!r} from plugin {fact.plugin!r} {problem}"


def _usable(fact: DerivedFact, value: object) -> bool:
    """Of the fact's kind, and finite if a float (the durable_rules C core reads no NaN)."""
    return kind_of_value(value) == fact.kind and (
        not isinstance(value, float) or math.isfinite(value)
    )


def _problem_with(fact: DerivedFact, value: object, error: BaseException | None) -> str:
    """What is wrong with what a fact's function returned or raised."""
    if isinstance(error, KeyboardInterrupt):
        raise error
    if error is not None:
        return f"failed: {_brief(error)}"
    if kind_of_value(value) != fact.kind:
        return f"returned a {kind_of_value(value)}, not a {fact.kind}"
    return (
        f"returned {value!r}, not a finite number (it should return None when the data it "
        "needs is missing)"
    )


def _give_up_on(fact: DerivedFact, errors: dict[str, str]) -> None:
    """A fact that ran out of time is not called again: its thread may still be running."""
    fact.state.hung = (
        f"derived fact {fact.name!r} from plugin {fact.plugin!r} did not return within "
        f"{fact.time_limit:g} s ({FACT_TIMEOUT_VARIABLE}); it is not called again in this run"
    )
    errors[fact.name] = fact.state.hung


# --- calling plugin code with a time limit -------------------------------------------------------


_CallOutcome = tuple[object, BaseException | None]  # what a call returned, or what it raised


class _PluginCallFailed(Exception):
    """A plugin's call raised (anything but KeyboardInterrupt) or ran out of time."""


def _call_plugin(call: Callable[[], object], limit: float) -> object:
    """What ``call`` returns, made on a helper thread; _PluginCallFailed saying why if it failed."""
    outcomes, stuck = _call_in_turn([(call, limit)])
    if stuck is not None:
        raise _PluginCallFailed(f"it did not finish within {limit:g} s ({PLUGIN_TIMEOUT_VARIABLE})")
    value, error = outcomes[0]
    if isinstance(error, KeyboardInterrupt):
        raise error
    if error is not None:
        raise _PluginCallFailed(_brief(error))
    return value


class _Calls:
    """Calls to make one after another on a helper thread, and what each returned or raised."""

    def __init__(self, calls: Sequence[tuple[Callable[[], object], float]]) -> None:
        self.calls = calls
        self.outcomes: list[_CallOutcome] = []
        self.progress = (0, time.monotonic())  # the call running, and when it started
        self.finished = threading.Lock()
        self.finished.acquire()

    def run(self, helper: _HelperThread) -> None:
        for index, (call, _) in enumerate(self.calls):
            if helper.abandoned:
                return
            self.progress = (index, time.monotonic())
            outcome: _CallOutcome
            try:
                outcome = (call(), None)
            except BaseException as error:  # plugin code: the caller judges what it raised
                outcome = (None, error)
            self.outcomes.append(outcome)
        self.finished.release()

    def time_left(self) -> float:
        index, started = self.progress
        return started + self.calls[index][1] - time.monotonic()


def _call_in_turn(
    calls: Sequence[tuple[Callable[[], object], float]],
) -> tuple[list[_CallOutcome], int | None]:
    """(value, error) of each call made in turn, each within its limit; and the index of the
    call that ran out of time (the outcomes stop before it), or None."""
    job = _Calls(calls)
    helper = _submit(job)
    try:
        while not job.finished.acquire(timeout=max(job.time_left(), 0.0)):
            index, _ = job.progress
            if job.time_left() <= 0 and len(job.outcomes) == index:  # still in that call
                helper.abandon()
                return job.outcomes[:index], index
    except BaseException:  # Ctrl-C while waiting: the call is left to run on its own thread
        helper.abandon()
        raise
    return job.outcomes, None


class _HelperThread:
    """A daemon thread making calls for one caller thread; it ends when idle or abandoned."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[_Calls] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._open = True
        self.abandoned = False
        threading.Thread(target=self._serve, name="scaleready-plugin-calls", daemon=True).start()

    def submit(self, job: _Calls) -> bool:
        with self._lock:
            if self._open and not self.abandoned:
                self._jobs.put(job)
                return True
            return False

    def abandon(self) -> None:
        self.abandoned = True

    def _serve(self) -> None:
        while not self.abandoned:
            try:
                job = self._jobs.get(timeout=HELPER_IDLE_SECONDS)
            except queue.Empty:
                with self._lock:
                    if self._jobs.empty():
                        self._open = False
                        return
                continue
            job.run(self)


_helpers = threading.local()


def _submit(job: _Calls) -> _HelperThread:
    """Hand a job to this thread's helper, starting one if it has none or its helper ended."""
    helper = getattr(_helpers, "thread", None)
    if helper is None or not helper.submit(job):
        helper = _helpers.thread = _HelperThread()
        helper.submit(job)
    return helper


def _forget_helpers() -> None:
    """In a forked child the helper threads do not exist: start new ones when needed."""
    global _helpers
    _helpers = threading.local()


os.register_at_fork(after_in_child=_forget_helpers)
