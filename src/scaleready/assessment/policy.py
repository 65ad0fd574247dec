"""Funder policies: dimension weights and the gate a scorecard must pass (levels, score, rules)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from scaleready.assessment.scorecard import DimensionData, OverallData, ScorecardData
from scaleready.assessment.scoring import overall_verdict
from scaleready.documents import MAX_LIST_ITEMS, Document, load_document
from scaleready.errors import PolicyError, Problem
from scaleready.language.ruleset import Ruleset
from scaleready.outcome import MAX_LEVEL, Outcome
from scaleready.problems import brief, did_you_mean, field_path, validated

Level = Annotated[int, Field(ge=0, le=MAX_LEVEL)]


class PolicySpec(BaseModel):
    """A funder's criteria, as written in a policy file."""

    # strict: a weight of true, or of "2", is a mistake to name, not a number to guess
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    name: str = Field(min_length=1, description="The fund or programme the policy is for.")
    summary: str | None = Field(None, description="What the policy looks for, in a sentence.")
    rulesets: list[str] | None = Field(
        None,
        min_length=1,
        max_length=MAX_LIST_ITEMS,
        description="The rulesets (ids) that count, and no others; by default the built-in "
        "rulesets and those the policy names below (docs/choosing-rulesets.md).",
    )
    weights: dict[str, Annotated[float, Field(gt=0)]] = Field(
        default_factory=dict,
        max_length=MAX_LIST_ITEMS,
        description="Weight of each dimension (ruleset id) in the overall score.",
    )
    required_rulesets: list[str] = Field(
        default_factory=list,
        max_length=MAX_LIST_ITEMS,
        description="Dimensions that must be assessed for the policy to apply (they count).",
    )
    minimum_levels: dict[str, Level] = Field(
        default_factory=dict,
        max_length=MAX_LIST_ITEMS,
        description="Lowest acceptable level per dimension (ruleset id).",
    )
    minimum_overall_level: Level | None = Field(
        None, description="Lowest acceptable overall level."
    )
    minimum_overall_score: Annotated[float, Field(ge=0, le=100)] | None = Field(
        None, description="Lowest acceptable overall score, 0-100."
    )
    disqualifying_rules: list[str] = Field(
        default_factory=list,
        max_length=MAX_LIST_ITEMS,
        description="Rules (ruleset.rule) whose failure disqualifies.",
    )
    gate_on: Literal["confirmed", "potential"] = Field(
        "confirmed",
        description="Which levels and score the minimums are compared with: confirmed (a rule "
        "left unknown for want of data counts as not passed) or potential (as if every missing "
        "answer were to pass, for a first sift of applications still gathering data).",
    )


class Policy:
    """A funder's policy, checked: its weights and the gate a scorecard must pass.

    Made by ``Policy.from_file`` or ``Policy.from_dict``; ``engine.assess(profile, policy=...)``
    applies it. ``sha256`` is the file's, or that of the checked keys (defaults included) as
    canonical JSON.
    """

    def __init__(
        self, spec: PolicySpec, source: str, sha256: str, document: Document | None = None
    ) -> None:
        self.spec = spec
        self.source = source
        self.sha256 = sha256
        self._document = document  # a file's, for the line of a key; None for data

    def line_of(self, *path: str | int) -> int | None:
        """The line of a key path in the policy file (``line_of("rulesets", 0)``); None for a
        policy given as data."""
        return self._document.line_of(path) if self._document is not None else None

    @classmethod
    def from_file(cls, path: str | Path) -> Policy:
        """A policy file (.yaml, .yml or .json), or PolicyError naming each problem and line."""
        return read_policy(path)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "<policy>") -> Policy:
        """A policy given as data (as a policy file holds it), or PolicyError naming each
        problem by its field path; ``source`` is how messages name it."""
        if not isinstance(data, Mapping):
            raise PolicyError(
                f"top level: expected a mapping of policy keys, got {brief(data)}", source=source
            )
        spec = validated(PolicySpec, dict(data), PolicyError, source)
        digest = hashlib.sha256(_CANONICAL.encode(spec.model_dump(mode="json")).encode())
        policy = cls(spec, source, digest.hexdigest())
        _check_named_are_counted(policy)
        return policy

    def to_dict(self) -> dict[str, Any]:
        """The policy as data, only the keys it sets: what ``from_dict`` reads back."""
        return self.spec.model_dump(mode="json", exclude_unset=True)

    def __repr__(self) -> str:
        return f"<Policy {self.spec.name!r} from {self.source}>"

    def named_rulesets(self) -> dict[str, str]:
        """Each ruleset the policy names outside ``rulesets``, with the first key naming it."""
        spec = self.spec
        named: dict[str, str] = {}
        for key, ids in (
            ("weights", spec.weights),
            ("required_rulesets", spec.required_rulesets),
            ("minimum_levels", spec.minimum_levels),
            ("disqualifying_rules", [rule.split(".", 1)[0] for rule in spec.disqualifying_rules]),
        ):
            for ruleset_id in ids:
                named.setdefault(ruleset_id, key)
        return named

    def check_against(self, rulesets: Sequence[Ruleset]) -> None:
        """Every ruleset and rule the policy names must be among those assessed."""
        by_id = {ruleset.id: ruleset for ruleset in rulesets}
        spec = self.spec
        for key, names in (
            ("weights", spec.weights),
            ("required_rulesets", spec.required_rulesets),
            ("minimum_levels", spec.minimum_levels),
        ):
            for index, ruleset_id in enumerate(names):
                if ruleset_id not in by_id:
                    where = field_path((key, ruleset_id if isinstance(names, dict) else index))
                    message = f"names ruleset {ruleset_id!r}, which is not assessed"
                    raise self._error(message, ruleset_id, by_id, where)
        rules = {f"{rs.id}.{rule.id}" for rs in rulesets for rule in rs.rules}
        for index, reference in enumerate(spec.disqualifying_rules):
            if reference not in rules:
                message = f"names rule {reference!r}, which is not assessed"
                where = field_path(("disqualifying_rules", index))
                raise self._error(message, reference, rules, where)

    def _error(self, message: str, name: str, known: Iterable[str], where: str) -> PolicyError:
        suggestion = did_you_mean(name, known, otherwise=f"assessed: {', '.join(sorted(known))}")
        text = f"{message}; {suggestion}"
        return PolicyError(text, source=self.source, problems=[Problem(where, text)])

    def apply(self, card: ScorecardData) -> None:
        """Re-weight the scorecard by the policy, and add the gate's verdict and reasons."""
        for dimension in card["dimensions"]:
            dimension["weight"] = self.spec.weights.get(dimension["id"], dimension["weight"])
        overall = card["overall"] = overall_verdict(card["dimensions"])
        reasons = self._reasons(card["dimensions"], overall)
        card["gate"] = {
            "policy": self.spec.name,
            "policy_sha256": self.sha256,
            "passed": not reasons,
            "reasons": reasons,
        }

    def _reasons(self, dimensions: list[DimensionData], overall: OverallData) -> list[str]:
        spec = self.spec
        potential = spec.gate_on == "potential"
        kind = "potential " if potential else ""
        level = overall["potential_level"] if potential else overall["level"]
        score = overall["potential_score"] if potential else overall["score"]
        by_id = {d["id"]: d for d in dimensions}
        outcomes = {f"{d['id']}.{r['id']}": r["outcome"] for d in dimensions for r in d["rules"]}
        reasons = [f"{d} was not assessed" for d in spec.required_rulesets if d not in by_id]
        for dimension_id, minimum in spec.minimum_levels.items():
            dimension = by_id.get(dimension_id)
            if dimension is None:
                continue
            reached = dimension["potential_level"] if potential else dimension["level"]
            if reached < minimum:
                reasons.append(f"{dimension['title']} is at {kind}level {reached}, below {minimum}")
        if spec.minimum_overall_level is not None and level < spec.minimum_overall_level:
            reasons.append(f"overall {kind}level {level} is below {spec.minimum_overall_level}")
        if spec.minimum_overall_score is not None and score < spec.minimum_overall_score:
            reasons.append(f"overall {kind}score {score:g} is below {spec.minimum_overall_score:g}")
        for rule in spec.disqualifying_rules:
            if outcomes.get(rule) == Outcome.FAIL:
                reasons.append(f"disqualifying rule {rule} failed")
        return reasons


def load_policy(path: str | Path, rulesets: Sequence[Ruleset]) -> Policy:
    """Load a policy file and check it against the rulesets being assessed
    (``engine.rulesets``): PolicyError if it names one, or a rule, that is not assessed."""
    policy = read_policy(path)
    policy.check_against(rulesets)
    return policy


def read_policy(path: str | Path) -> Policy:
    """Load a policy file, before the rulesets are chosen (its ``rulesets`` may choose them)."""
    document = load_document(Path(path), PolicyError)
    spec = validated(PolicySpec, document.data, PolicyError, str(path), document)
    policy = Policy(spec, str(path), hashlib.sha256(document.raw).hexdigest(), document)
    _check_named_are_counted(policy)
    return policy


def _check_named_are_counted(policy: Policy) -> None:
    """With ``rulesets`` written, every ruleset named elsewhere must be in it."""
    if policy.spec.rulesets is None:
        return
    for ruleset_id, key in policy.named_rulesets().items():
        if ruleset_id not in policy.spec.rulesets:
            line = policy.line_of(key)
            where = f"line {line}: " if line else ""
            message = (
                f"{key} names ruleset {ruleset_id!r}, which is not in the policy's "
                f"rulesets ({', '.join(policy.spec.rulesets)}); add it there, or remove it "
                f"from {key}"
            )
            problem = Problem(key, message, line)
            raise PolicyError(f"{where}{message}", source=policy.source, problems=[problem])


# The form of a policy given as data that its sha256 is taken of (sorted keys, no spaces).
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"))
