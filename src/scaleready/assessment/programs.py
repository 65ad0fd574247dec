"""The rule programs an engine runs: durable_rules, or the plain-Python evaluator.

Both are a ``Program``: given a profile (as JSON-mode data) and its context, the outcome of each
rule they could decide, by rule key (``ruleset/rule``); a key left out is unknown.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from scaleready.assessment.scorecard import Backend
from scaleready.errors import EngineError, InputError
from scaleready.language import durable
from scaleready.language.evaluate import Context, Judge, planned
from scaleready.language.ruleset import Rule, Ruleset
from scaleready.outcome import Outcome

BACKENDS = ("auto", "durable_rules", "python")


class Program(Protocol):
    """An engine's rules, compiled for one backend."""

    def run(self, data: Mapping[str, object], context: Context, /) -> Mapping[str, str]:
        """Outcome per rule key of the rules decided; keys left out are unknown."""
        ...


class PythonProgram:
    """The rules run by the plain-Python evaluator: the reference semantics."""

    def __init__(self, rulesets: Sequence[Ruleset]) -> None:
        # Each condition planned once into closures (``truth`` without the walk over the tree).
        self._rulesets = [
            [_PlannedRule(rs, rule) for rule in rs.evaluation_order] for rs in rulesets
        ]

    def run(self, data: Mapping[str, object], context: Context, /) -> dict[str, str]:
        outcomes: dict[str, str] = {}
        for rules in self._rulesets:
            local: dict[str, Outcome] = {}  # a rule cites rules of its own ruleset only
            scoped = Context(context.profile, context.derived, local.__getitem__)
            for rule in rules:
                applies = True if rule.applies is None else rule.applies(data, scoped)
                holds = rule.condition(data, scoped) if applies else None
                outcome = local[rule.id] = decide(applies, holds)
                if outcome is not Outcome.UNKNOWN:
                    outcomes[rule.key] = outcome
        return outcomes


class _PlannedRule:
    """A rule's key and its conditions as closures, for the plain-Python program."""

    __slots__ = ("applies", "condition", "id", "key")

    def __init__(self, ruleset: Ruleset, rule: Rule) -> None:
        self.id, self.key = rule.id, rule_key(ruleset, rule)
        self.applies: Judge | None = None if rule.applies is None else planned(rule.applies)
        self.condition: Judge = planned(rule.condition)


def program_for(backend: Backend, rulesets: Sequence[Ruleset]) -> Program:
    """The program of a chosen backend (see ``choose_backend``)."""
    python = PythonProgram(rulesets)
    if backend == "python":
        return python
    return durable.DurableProgram(_rules_to_run(rulesets), reference=_reference(python))


def _reference(program: PythonProgram) -> Callable[[Context], dict[str, str]]:
    """The plain evaluator, for the facts durable_rules cannot be given exactly."""
    return lambda context: program.run(context.profile, context)


def _rules_to_run(rulesets: Sequence[Ruleset]) -> list[durable.RuleToRun]:
    return [
        durable.RuleToRun(
            rule_key(rs, rule),
            rule.condition,
            rule.applies,
            _citations(rs),
            _alternatives(rule),
        )
        for rs in rulesets
        for rule in rs.rules
    ]


def _citations(
    ruleset: Ruleset,
):  # the type is durable.RuleToRun.cited's (nodes are the language's)
    """How a rule reads the rules it cites: their condition and applies-when, by rule id."""
    return lambda rule_id: (ruleset.rule(rule_id).condition, ruleset.rule(rule_id).applies)


def decide(applies: bool | None, holds: bool | None) -> Outcome:
    """A rule's outcome from whether it applies and whether its condition holds."""
    if applies is False:
        return Outcome.NOT_APPLICABLE
    if applies is None or holds is None:
        return Outcome.UNKNOWN
    return Outcome.PASS if holds else Outcome.FAIL


def _alternatives(rule: Rule) -> int:
    """Branches a rule's outcomes can put on durable_rules' match stack (measured at load)."""
    return rule.size.alternatives() if rule.size is not None else 2


def rule_key(ruleset: Ruleset, rule: Rule, separator: str = "/") -> str:
    return f"{ruleset.id}{separator}{rule.id}"


def rule_key_prefix(ruleset: Ruleset) -> str:
    """What every key of the ruleset's rules begins with: a key is this and the rule's id."""
    return f"{ruleset.id}/"


def choose_backend(requested: str) -> Backend:
    """The backend to run: ``auto`` is durable_rules where it can be imported."""
    if requested not in BACKENDS:
        raise InputError(f"unknown backend {requested!r}; choose one of {', '.join(BACKENDS)}")
    if requested == "python" or (requested == "auto" and not durable.AVAILABLE):
        return "python"
    if not durable.AVAILABLE:
        raise EngineError("durable_rules cannot be imported on this Python; use --backend python")
    return "durable_rules"
