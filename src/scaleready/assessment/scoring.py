"""Scoring: rule outcomes to a dimension's score and level, dimensions to the overall verdict.

Scores are built as plain dicts in the shape of the scorecard's models and validated once, as a
whole, by ``Scorecard.model_validate``: one validation of nested data costs a fraction of
building dozens of model instances per profile.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from scaleready.language.ruleset import Rule, Ruleset

MET = ("pass", "not_applicable")  # outcomes that do not stand in the way of a level
MAX_LEVEL = 5


@dataclass(frozen=True)
class Judgement:
    """A rule's outcome, with the fields whose absence made it unknown and any error."""

    outcome: str
    missing: tuple[str, ...] = ()
    error: str | None = None


def score_dimension(ruleset: Ruleset, judgements: Mapping[str, Judgement]) -> dict:
    """One ruleset's dimension: 0-100 score, 0-5 level, findings, gaps and next steps."""
    results = [_rule_result(rule, judgements[rule.id]) for rule in ruleset.rules]
    level = reached_level(results)
    spec = ruleset.spec
    by_level = sorted(results, key=lambda r: r["level"])
    return {
        "id": spec.id,
        "title": spec.title,
        "weight": spec.weight,
        "score": dimension_score(results),
        "level": level,
        "level_meaning": spec.levels.get(level),
        "findings": [r["finding"] for r in by_level if r["outcome"] != "not_applicable"],
        "data_gaps": _data_gaps(results),
        "next_steps": _next_steps(spec.id, results),
        "rules": results,
    }


def dimension_score(results: Sequence[Mapping]) -> float:
    """Weighted share of applicable rules that passed; unknown and error count as not passed."""
    applicable = [r for r in results if r["outcome"] != "not_applicable"]
    total = sum(r["weight"] for r in applicable)
    if not total:
        return 100.0
    return round(100 * sum(r["weight"] for r in applicable if r["outcome"] == "pass") / total, 1)


def reached_level(results: Sequence[Mapping]) -> int:
    """Highest level N (up to the ruleset's highest rule level) with every rule of 1..N met."""
    top = max(r["level"] for r in results)
    for level in range(1, top + 1):
        if any(r["level"] == level and r["outcome"] not in MET for r in results):
            return level - 1
    return min(top, MAX_LEVEL)


def _rule_result(rule: Rule, judgement: Judgement) -> dict:
    spec = rule.spec
    return {
        "id": spec.id,
        "title": spec.title,
        "level": spec.level,
        "weight": spec.weight,
        "outcome": judgement.outcome,
        "finding": _finding(rule, judgement),
        "advice": None if judgement.outcome in MET else spec.advice,
        "missing": list(judgement.missing),
        "references": list(rule.citations),
    }


def _finding(rule: Rule, judgement: Judgement) -> str:
    spec = rule.spec
    if judgement.outcome == "pass":
        return spec.pass_text
    if judgement.outcome == "fail":
        return spec.fail_text
    if judgement.outcome == "not_applicable":
        return f"Not applicable: {spec.title}."
    if judgement.outcome == "error":
        return f"Could not be assessed: {spec.title} ({judgement.error})."
    missing = ", ".join(judgement.missing) or "data the rule needs"
    return f"Not known yet: {spec.title}. The profile does not give {missing}."


def _data_gaps(results: Sequence[Mapping]) -> list[dict]:
    rules_by_field: dict[str, list[str]] = {}
    for result in results:
        if result["outcome"] == "unknown":
            for path in result["missing"]:
                rules_by_field.setdefault(path, []).append(result["id"])
    return [{"field": path, "rules": rules} for path, rules in sorted(rules_by_field.items())]


def _next_steps(dimension: str, results: Sequence[Mapping]) -> list[dict]:
    """The unmet rules of the lowest level that has any: what stands before the next level."""
    unmet = [r for r in results if r["outcome"] not in MET]
    if not unmet:
        return []
    level = min(r["level"] for r in unmet)
    return [_step(dimension, r) for r in unmet if r["level"] == level]


def _step(dimension: str, result: Mapping) -> dict:
    if result["outcome"] == "unknown" and result["missing"]:
        action = (
            f"Supply {', '.join(result['missing'])} so that this can be judged. {result['advice']}"
        )
    else:
        action = result["advice"] or result["title"]
    return {
        "dimension": dimension,
        "rule": result["id"],
        "level": result["level"],
        "outcome": result["outcome"],
        "action": action,
    }


def overall_verdict(dimensions: Sequence[Mapping]) -> dict:
    """The lowest dimension level names the bottleneck; the score is the weighted mean."""
    level = min(d["level"] for d in dimensions)
    bottleneck = [d["id"] for d in dimensions if d["level"] == level]
    total_weight = sum(d["weight"] for d in dimensions)
    score = round(sum(d["score"] * d["weight"] for d in dimensions) / total_weight, 1)
    if level < MAX_LEVEL:
        names = _join_names([_held_back_by(d) for d in dimensions if d["id"] in bottleneck])
        summary = f"Readiness level {level} of {MAX_LEVEL}, held back by {names}; "
    else:
        summary = f"Readiness level {MAX_LEVEL} of {MAX_LEVEL} in every dimension; "
    summary += f"overall score {score:g}/100."
    unknown = sum(r["outcome"] == "unknown" for d in dimensions for r in d["rules"])
    if unknown:
        summary += (
            f" {unknown} rule{'s' if unknown > 1 else ''} could not be judged for lack of data."
        )
    return {"score": score, "level": level, "bottleneck": bottleneck, "summary": summary}


def _held_back_by(dimension: Mapping) -> str:
    """A bottleneck's name, saying so when only missing data holds it at its level."""
    steps = dimension["next_steps"]
    unknown_only = steps and all(step["outcome"] == "unknown" for step in steps)
    return (
        f"{dimension['title']} (not yet known: data missing)"
        if unknown_only
        else dimension["title"]
    )


def _join_names(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def ordered_next_steps(dimensions: Sequence[Mapping], bottleneck: Sequence[str]) -> list[dict]:
    """Every dimension's next steps, the bottleneck's first."""
    first = [s for d in dimensions if d["id"] in bottleneck for s in d["next_steps"]]
    rest = [s for d in dimensions if d["id"] not in bottleneck for s in d["next_steps"]]
    return first + rest
