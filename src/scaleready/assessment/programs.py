"""The rule programs an engine runs: durable_rules, or the plain-Python evaluator."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import partial

from scaleready.errors import EngineError, InputError
from scaleready.language import durable
from scaleready.language.evaluate import Context, truth
from scaleready.language.ruleset import Rule, Ruleset

BACKENDS = ("auto", "durable_rules", "python")


def durable_program(rulesets: Sequence[Ruleset]) -> durable.DurableProgram:
    """The rulesets compiled for durable_rules, with the plain evaluator for facts beyond it."""
    return durable.DurableProgram(
        _rules_to_run(rulesets), reference=partial(evaluate_outcomes, rulesets)
    )


def _rules_to_run(rulesets: Sequence[Ruleset]) -> list[durable.RuleToRun]:
    def citer(ruleset: Ruleset):
        return lambda rule_id: (ruleset.rule(rule_id).condition, ruleset.rule(rule_id).applies)

    return [
        durable.RuleToRun(
            rule_key(rs, rule), rule.condition, rule.applies, citer(rs), _alternatives(rule)
        )
        for rs in rulesets
        for rule in rs.rules
    ]


def evaluate_outcomes(rulesets: Iterable[Ruleset], context: Context) -> dict[str, str]:
    """Outcome per rule key, by the plain-Python evaluator (the reference semantics)."""
    outcomes: dict[str, str] = {}
    for ruleset in rulesets:
        local: dict[str, str] = {}
        scoped = Context(context.profile, context.derived, local.__getitem__)
        for rule in ruleset.evaluation_order:
            applies = True if rule.applies is None else truth(rule.applies, context.profile, scoped)
            holds = truth(rule.condition, context.profile, scoped) if applies else None
            local[rule.id] = decide(applies, holds)
        outcomes.update({f"{ruleset.id}/{rule_id}": outcome for rule_id, outcome in local.items()})
    return {key: outcome for key, outcome in outcomes.items() if outcome != "unknown"}


def decide(applies: bool | None, holds: bool | None) -> str:
    """A rule's outcome from whether it applies and whether its condition holds."""
    if applies is False:
        return "not_applicable"
    if applies is None or holds is None:
        return "unknown"
    return "pass" if holds else "fail"


def _alternatives(rule: Rule) -> int:
    """Branches a rule's outcomes can put on durable_rules' match stack (measured at load)."""
    return rule.size.alternatives() if rule.size is not None else 2


def rule_key(ruleset: Ruleset, rule: Rule, separator: str = "/") -> str:
    return f"{ruleset.id}{separator}{rule.id}"


def choose_backend(requested: str) -> str:
    if requested not in BACKENDS:
        raise InputError(f"unknown backend {requested!r}; choose one of {', '.join(BACKENDS)}")
    if requested == "auto":
        return "durable_rules" if durable.AVAILABLE else "python"
    if requested == "durable_rules" and not durable.AVAILABLE:
        raise EngineError("durable_rules cannot be imported on this Python; use --backend python")
    return requested
