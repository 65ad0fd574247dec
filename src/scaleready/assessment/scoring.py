"""Scoring: rule outcomes to a dimension's score and level, dimensions to the overall verdict.

Scores are built as typed plain data (``scorecard.DimensionData`` and its parts), validated only
where a ``Scorecard`` model is made. What a ruleset's results share from one profile to the next
(ids, titles, levels, weights, references, the findings of a pass, a fail and not applicable) is
worked out once, in its ``DimensionPlan``, so each profile only fills in its outcomes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal, NamedTuple

from scaleready.assessment.gaps import NOT_IN_A_LIST, GapFinder, gap_meaning
from scaleready.assessment.scorecard import (
    DataGapData,
    DimensionData,
    NextStepData,
    OverallData,
    RuleResultData,
)
from scaleready.language.ruleset import Rule, Ruleset
from scaleready.outcome import MAX_LEVEL, MET, Outcome

_PASS, _FAIL, _UNKNOWN = Outcome.PASS, Outcome.FAIL, Outcome.UNKNOWN
_NOT_APPLICABLE, _ERROR = Outcome.NOT_APPLICABLE, Outcome.ERROR
_MET_OR_UNKNOWN = (*MET, _UNKNOWN)  # the potential level: were every unknown rule to pass


class Judgement(NamedTuple):
    """A rule's outcome, with the fields whose absence made it unknown and any error."""

    outcome: Outcome
    missing: tuple[str, ...] = ()
    error: str | None = None


class DimensionPlan:
    """What scoring one ruleset needs, worked out once for every profile it will score."""

    def __init__(self, ruleset: Ruleset) -> None:
        self.ruleset = ruleset
        self.rules = [RulePlan(rule) for rule in ruleset.rules]
        self.by_level = sorted(range(len(self.rules)), key=lambda i: self.rules[i].level)

    def score(
        self, judgements: Mapping[str, Judgement], gaps: GapFinder | None = None
    ) -> DimensionData:
        """One ruleset's dimension from each rule's judgement."""
        return self.dimension([plan.result(judgements[plan.id]) for plan in self.rules], gaps)

    def dimension(
        self, results: list[RuleResultData], gaps: GapFinder | None = None
    ) -> DimensionData:
        """One ruleset's dimension: 0-100 score, 0-5 level, findings, gaps and next steps.

        ``results`` are the rules' results in ruleset order, as ``RulePlan`` makes them;
        ``gaps``, the profile's, says which list items lack each missing field (without it,
        none are named).
        """
        level = reached_level(results)
        potential = reached_level(results, unknown_met=True)
        spec = self.ruleset.spec
        return {
            "id": spec.id,
            "title": spec.title,
            "weight": spec.weight,
            "score": dimension_score(results),
            "potential_score": dimension_score(results, unknown_passed=True),
            "level": level,
            "potential_level": potential,
            "level_meaning": spec.levels.get(level),
            "findings": [
                results[i]["finding"]
                for i in self.by_level
                if results[i]["outcome"] != _NOT_APPLICABLE
            ],
            "data_gaps": _data_gaps(results, potential, gaps),
            "next_steps": _next_steps(spec.id, results, level + 1),
            "rules": results,
        }


class RulePlan:
    """A rule's result as far as it is the same for every profile."""

    def __init__(self, rule: Rule) -> None:
        spec = rule.spec
        self.rule, self.id, self.level = rule, spec.id, spec.level
        self.references = list(rule.citations)
        self.fixed = {  # the whole result of the outcomes whose finding needs no profile data
            _PASS: self._result(_PASS, spec.pass_text, None),
            _FAIL: self._result(_FAIL, spec.fail_text, spec.advice),
            _NOT_APPLICABLE: self._result(_NOT_APPLICABLE, f"Not applicable: {spec.title}.", None),
        }
        # an unknown result differs from one profile to the next only in its finding and fields
        self.fixed_unknown = self._result(_UNKNOWN, "", spec.advice)

    def _result(self, outcome: Outcome, finding: str, advice: str | None) -> RuleResultData:
        spec = self.rule.spec
        return {
            "id": spec.id,
            "title": spec.title,
            "level": spec.level,
            "weight": spec.weight,
            "outcome": outcome,
            "finding": finding,
            "advice": advice,
            "missing": [],
            "references": [],
        }

    def decided(self, outcome: str) -> RuleResultData | None:
        """The result of a pass, a fail or not applicable; None for any other outcome."""
        fixed = self.fixed.get(outcome)  # type: ignore[call-overload]  # a plain string will do
        if fixed is None:
            return None
        result = fixed.copy()  # a fresh result, and fresh lists: a scorecard is its own
        result["missing"] = []
        result["references"] = self.references.copy()
        return result

    def unknown(self, missing: tuple[str, ...]) -> RuleResultData:
        """The result of a rule that missing data left undecided."""
        result = self.fixed_unknown.copy()
        result["finding"] = _not_known_yet(self.rule.spec.title, missing)
        result["missing"] = list(missing)
        result["references"] = self.references.copy()
        return result

    def result(self, judgement: Judgement) -> RuleResultData:
        decided = self.decided(judgement.outcome)
        if decided is not None:
            return decided
        if judgement.outcome == _UNKNOWN:
            return self.unknown(judgement.missing)
        title = self.rule.spec.title
        result = self._result(judgement.outcome, _finding(title, judgement), self.rule.spec.advice)
        result["missing"] = list(judgement.missing)
        result["references"] = self.references.copy()
        return result


def score_dimension(ruleset: Ruleset, judgements: Mapping[str, Judgement]) -> DimensionData:
    """One ruleset's dimension (planning the ruleset anew: engines keep their plans)."""
    return DimensionPlan(ruleset).score(judgements)


def dimension_score(results: Sequence[RuleResultData], *, unknown_passed: bool = False) -> float:
    """Weighted share of applicable rules that passed; unknown and error count as not passed
    (or, for the top of the score's range, unknown as passed)."""
    passing = (_PASS, _UNKNOWN) if unknown_passed else (_PASS,)
    total = passed = 0.0
    for result in results:
        if result["outcome"] != _NOT_APPLICABLE:
            total += result["weight"]
            if result["outcome"] in passing:
                passed += result["weight"]
    if not total:
        return 100.0
    return round(100 * passed / total, 1)


def reached_level(results: Sequence[RuleResultData], *, unknown_met: bool = False) -> int:
    """Highest level N (up to the ruleset's highest rule level) with every rule of 1..N met: the
    confirmed level, or with ``unknown_met`` the potential one (were every unknown to pass)."""
    met = _MET_OR_UNKNOWN if unknown_met else MET
    unmet = [r["level"] for r in results if r["outcome"] not in met]
    if unmet:
        return min(unmet) - 1  # levels start at 1: a level with no rules stands in no way
    return min(max(r["level"] for r in results), MAX_LEVEL)


def _finding(title: str, judgement: Judgement) -> str:
    """The finding of an outcome that depends on the profile: unknown (what is missing), error."""
    if judgement.outcome == _ERROR:
        return f"Could not be assessed: {title} ({judgement.error})."
    return _not_known_yet(title, judgement.missing)


def _not_known_yet(title: str, missing: Sequence[str]) -> str:
    """The finding of a rule left unknown: what is missing."""
    fields = ", ".join(missing) or "data the rule needs"
    return f"Not known yet: {title}. The profile does not give {fields}."


def _data_gaps(
    results: Sequence[RuleResultData], potential_level: int, gaps: GapFinder | None
) -> list[DataGapData]:
    """Each missing field that could decide a rule, with the level supplying it could unlock
    (a rule's level, unless a rule at or below it is not met whatever the data) and the list
    items that lack it, nearest first."""
    rules_by_field: dict[str, list[RuleResultData]] = {}
    for result in results:
        if result["outcome"] == _UNKNOWN:
            for path in result["missing"]:
                rules_by_field.setdefault(path, []).append(result)
    found: list[DataGapData] = []
    for path, rules in rules_by_field.items():
        levels = [r["level"] for r in rules if r["level"] <= potential_level]
        places = gaps.places_of(path) if gaps is not None else NOT_IN_A_LIST
        found.append(
            {
                "field": path,
                "meaning": gap_meaning(path),
                "unlocks": min(levels) if levels else None,
                "rules": [r["id"] for r in rules],
                # a list of its own: a label's places serve every dimension it is a gap of
                "missing_in": [*places.missing_in],
                "list_items": places.list_items,
            }
        )
    return sorted(found, key=_nearest_first)


def _nearest_first(gap: DataGapData) -> tuple[bool, int, str]:
    return gap["unlocks"] is None, gap["unlocks"] or 0, gap["field"]


def _next_steps(
    dimension: str, results: Sequence[RuleResultData], next_level: int
) -> list[NextStepData]:
    """The unmet rules of the level above the one reached: what stands before it."""
    return [
        _step(dimension, r) for r in results if r["level"] == next_level and r["outcome"] not in MET
    ]


def _step(dimension: str, result: RuleResultData) -> NextStepData:
    if result["outcome"] == _UNKNOWN:  # missing data asks for data, never for the remedy
        action = _supply(result)
    else:
        action = result["advice"] or result["title"]
    return {
        "dimension": dimension,
        "rule": result["id"],
        "level": result["level"],
        "outcome": result["outcome"],
        "action": action,
    }


def _supply(result: RuleResultData) -> str:
    """The next step of a rule left unknown: the data to supply, with what each field means."""
    if not result["missing"]:  # undecided with nothing missing, as when a divisor is 0
        return f"Check the figures this rule reads ({result['title']}): they cannot be judged."
    fields = [_with_meaning(path) for path in result["missing"]]
    return f"Supply {_join_names(fields)} so that this can be judged."


def _with_meaning(path: str) -> str:
    meaning = gap_meaning(path)
    return f"{path} ({meaning.rstrip('.')})" if meaning else path


def overall_verdict(dimensions: Sequence[DimensionData]) -> OverallData:
    """The lowest dimension level names the bottleneck; the score is the weighted mean."""
    level = min(d["level"] for d in dimensions)
    potential = min(d["potential_level"] for d in dimensions)
    bottleneck = [d["id"] for d in dimensions if d["level"] == level]
    score = _weighted_mean(dimensions, "score")
    potential_score = _weighted_mean(dimensions, "potential_score")
    if level < MAX_LEVEL:
        names = _join_names([_held_back_by(d) for d in dimensions if d["id"] in bottleneck])
        summary = f"Readiness level {level} of {MAX_LEVEL}, held back by {names}; "
    else:
        summary = f"Readiness level {MAX_LEVEL} of {MAX_LEVEL} in every dimension; "
    if potential > level:
        unlocking = [
            g["field"] for d in dimensions for g in d["data_gaps"] if g["unlocks"] == level + 1
        ]
        summary += f"level {level + 1} possible once {_supplied(unlocking)}; "
    summary += f"overall score {score:g}/100"
    if potential_score > score:
        summary += f" (up to {potential_score:g} with the missing data)"
    summary += "."
    unknown = sum(r["outcome"] == _UNKNOWN for d in dimensions for r in d["rules"])
    if unknown:
        summary += (
            f" {unknown} rule{'s' if unknown > 1 else ''} could not be judged for lack of data."
        )
    return {
        "score": score,
        "potential_score": potential_score,
        "level": level,
        "potential_level": potential,
        "bottleneck": bottleneck,
        "summary": summary,
    }


def _weighted_mean(
    dimensions: Sequence[DimensionData], key: Literal["score", "potential_score"]
) -> float:
    total_weight = sum(d["weight"] for d in dimensions)
    return round(sum(d[key] * d["weight"] for d in dimensions) / total_weight, 1)


def _supplied(fields: Sequence[str], shown: int = 3) -> str:
    """``x is supplied``, ``x and y are supplied``, ``x, y, z and 4 more are supplied``."""
    unique = list(dict.fromkeys(fields))
    if not unique:
        return "the missing data is supplied"
    named = [f"`{field}`" for field in unique[:shown]]
    if len(unique) > shown:
        named.append(f"{len(unique) - shown} more")
    return f"{_join_names(named)} {'is' if len(unique) == 1 else 'are'} supplied"


def _held_back_by(dimension: DimensionData) -> str:
    """A bottleneck's name, saying so when only missing data holds it at its level."""
    steps = dimension["next_steps"]
    unknown_only = steps and all(step["outcome"] == _UNKNOWN for step in steps)
    return (
        f"{dimension['title']} (not yet known: data missing)"
        if unknown_only
        else dimension["title"]
    )


def _join_names(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def ordered_next_steps(
    dimensions: Sequence[DimensionData], bottleneck: Sequence[str]
) -> list[NextStepData]:
    """Every dimension's next steps, the bottleneck's first."""
    first = [s for d in dimensions if d["id"] in bottleneck for s in d["next_steps"]]
    rest = [s for d in dimensions if d["id"] not in bottleneck for s in d["next_steps"]]
    return first + rest
