"""Building an engine from the installed plugins' rulesets and derived facts.

Which rulesets count (docs/choosing-rulesets.md), the first that says wins:

1. ``--ruleset`` (``create_engine(rulesets=...)``): exactly these;
2. a policy's ``rulesets``: exactly these;
3. scaleready.toml's ``rulesets``: exactly these;
4. the default: the built-in rulesets (and those of plugins the program gives), and every
   ruleset the policy names in weights, required_rulesets, minimum_levels or disqualifying_rules.

A ruleset given as a file (``--rules``) always counts. An installed plugin's ruleset counts only
when chosen, so installing a plugin never moves a score, level or bottleneck: it is not run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scaleready.assessment.engine import Engine
from scaleready.errors import InputError, PolicyError, Problem
from scaleready.plugins import PluginInfo, Registry, add_ruleset_files, load_registry
from scaleready.problems import did_you_mean

if TYPE_CHECKING:
    from scaleready.assessment.policy import Policy
    from scaleready.config import ProjectConfig

DEFAULT = "the default (the built-in rulesets and those the policy names)"


@dataclass(frozen=True)
class RulesetChoice:
    """The ids of the rulesets that count, and what chose them, as messages name it."""

    ids: tuple[str, ...]
    chosen_by: str

    @property
    def pinned(self) -> bool:
        """True if the rulesets were named (an option, a policy's rulesets, the config file)."""
        return self.chosen_by != DEFAULT


def create_engine(
    rulesets: Sequence[str] = (),
    *,
    rule_files: Sequence[str] = (),
    plugins: Iterable[object] = (),
    load_entry_points: bool | None = None,
    backend: str = "auto",
    strict_plugins: bool = False,
    policy: Policy | Mapping[str, Any] | None = None,
    config: ProjectConfig | None = None,
    rulesets_from: str = "rulesets",
) -> tuple[Engine, Registry]:
    """An engine over the rulesets that count: ``rulesets`` if given, else the policy's or the
    config's choice, else the built-ins and those the policy names (see the module docstring).

    ``policy`` is a ``Policy`` or policy data (a dict, as ``Policy.from_dict`` reads it); it
    chooses rulesets here, and is applied by ``engine.assess(profile, policy=...)``.
    scaleready.toml is read only when passed: ``config=scaleready.config.project_config()``.
    ``rulesets_from`` is how a message names where ``rulesets`` came from (the CLI: --ruleset).
    """
    if isinstance(policy, Mapping):  # policy data; a Policy is no mapping
        from scaleready.assessment.policy import Policy  # here: policies cost every cold start

        policy = Policy.from_dict(policy)
    registry = load_registry(plugins, load_entry_points=load_entry_points)
    if strict_plugins and registry.problems:
        raise registry.problems[0]
    from_files = add_ruleset_files(registry, rule_files)
    choice = choose_rulesets(
        registry,
        rulesets,
        policy=policy,
        config=config,
        rule_files=from_files,
        option_name=rulesets_from,
    )
    engine = Engine(
        [registry.rulesets[name] for name in choice.ids],
        registry.derived_facts,
        backend=backend,
        sections=list(registry.sections.values()),
    )
    return engine, registry


def choose_rulesets(
    registry: Registry,
    option: Sequence[str] = (),
    *,
    policy: Policy | None = None,
    config: ProjectConfig | None = None,
    rule_files: Sequence[str] = (),
    option_name: str = "--ruleset",
) -> RulesetChoice:
    """The rulesets that count, by the precedence in the module docstring; InputError naming
    the option or file at fault (and its line) for an id that is not installed."""
    if option:
        ids, chosen_by = tuple(option), option_name
        _check_installed(ids, registry, _in_option(option_name))
    elif policy is not None and policy.spec.rulesets is not None:
        ids, chosen_by = tuple(policy.spec.rulesets), f"{policy.source} (its rulesets)"
        _check_installed(ids, registry, _in_file(policy.source, policy.line_of, PolicyError))
    elif config is not None and config.rulesets is not None:
        ids, chosen_by = config.rulesets, f"{config.path} (its rulesets)"
        line_of = _ruleset_lines(config)
        _check_installed(ids, registry, _in_file(str(config.path), line_of, InputError))
    else:
        ids, chosen_by = _default(registry, policy), DEFAULT
    choice = RulesetChoice(tuple(dict.fromkeys([*ids, *rule_files])), chosen_by)
    if policy is not None:
        _check_policy_counted(policy, choice)
    return choice


def _default(registry: Registry, policy: Policy | None) -> tuple[str, ...]:
    """The built-in rulesets, those of plugins the program gave, and those the policy names."""
    ours = [rs for info in registry.plugins.values() if _ours(info) for rs in info.rulesets]
    named = policy.named_rulesets() if policy is not None else {}
    for ruleset_id, key in named.items():
        if ruleset_id not in registry.rulesets:
            hint = did_you_mean(ruleset_id, registry.rulesets, otherwise=_installed(registry))
            message = f"{key} names ruleset {ruleset_id!r}, which is not installed; {hint}"
            assert policy is not None  # only a policy names rulesets here
            line = policy.line_of(key, ruleset_id)
            where = f"line {line}: " if line else ""
            problem = Problem(key, message, line)
            raise PolicyError(where + message, source=policy.source, problems=[problem])
    return tuple(sorted(dict.fromkeys([*ours, *named])))


def _ours(info: PluginInfo) -> bool:
    """A built-in plugin, or one the program passed in (it has no installed distribution)."""
    return info.builtin or info.distribution is None


# An unknown id's error: the error type, and how its message is placed (source, line, field).
_Unknown = Callable[[int, str], InputError]


def _check_installed(ids: Sequence[str], registry: Registry, unknown: _Unknown) -> None:
    for index, ruleset_id in enumerate(ids):
        if ruleset_id not in registry.rulesets:
            hint = did_you_mean(ruleset_id, registry.rulesets, otherwise=_installed(registry))
            raise unknown(index, f"unknown ruleset {ruleset_id!r}; {hint}")


def _ruleset_lines(config: ProjectConfig) -> Callable[..., int | None]:
    """``line_of("rulesets", index)`` for scaleready.toml (TOML keeps no lines: found by text)."""
    rulesets = config.rulesets or ()
    return lambda _key, index: config.line_of_ruleset(rulesets[index])


def _in_option(option_name: str) -> _Unknown:
    return lambda index, message: InputError(message, source=option_name)


def _in_file(source: str, line_of: Callable[..., int | None], error: type[InputError]) -> _Unknown:
    """An unknown id in a file's ``rulesets`` list: named with its line and field path."""

    def unknown(index: int, message: str) -> InputError:
        line = line_of("rulesets", index)
        problem = Problem(f"rulesets[{index}]", message, line)
        where = f"line {line}: " if line else ""
        return error(f"{where}rulesets: {message}", source=source, problems=[problem])

    return unknown


def _installed(registry: Registry) -> str:
    return f"installed: {', '.join(sorted(registry.rulesets)) or 'none'}"


def _check_policy_counted(policy: Policy, choice: RulesetChoice) -> None:
    """A ruleset the policy names must count: a weight or minimum of one that does not is a
    contradiction to name, not a rule to skip silently."""
    for ruleset_id, key in policy.named_rulesets().items():
        if ruleset_id not in choice.ids:
            message = (
                f"{key} names ruleset {ruleset_id!r}, which does not count here: the rulesets "
                f"that count ({', '.join(choice.ids)}) were chosen by {choice.chosen_by}; "
                "add it there, or remove it from the policy"
            )
            raise PolicyError(message, source=policy.source, problems=[Problem(key, message)])
