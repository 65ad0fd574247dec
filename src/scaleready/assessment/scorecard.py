"""The scale-readiness scorecard: the stable JSON shape every output and embedder reads.

It has two forms. The engine builds, and a policy adjusts, plain typed data (the ``...Data``
TypedDicts): cheap to make, and written as JSON without a model (``dump_json``).
The pydantic models are the boundary: what ``Engine.assess`` returns and the JSON Schema.
Both list the same keys in the same order (tests/test_scorecard.py holds them in step).
"""

from __future__ import annotations

from functools import cache
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from typing_extensions import TypedDict  # pydantic reads only this one before Python 3.12

from scaleready.outcome import MAX_LEVEL, Outcome

SCHEMA_VERSION: Final = "2"  # 2: potential levels and scores; data gaps say what they unlock
Backend = Literal["durable_rules", "python"]


class RuleResultData(TypedDict):
    id: str
    title: str
    level: int
    weight: float
    outcome: Outcome
    finding: str
    advice: str | None
    missing: list[str]
    references: list[str]


class NextStepData(TypedDict):
    dimension: str
    rule: str
    level: int
    outcome: Outcome
    action: str


class GapItemData(TypedDict):
    path: str
    name: str | None


class DataGapData(TypedDict):
    field: str
    meaning: str | None
    unlocks: int | None
    rules: list[str]
    missing_in: list[GapItemData]
    list_items: int


class DimensionData(TypedDict):
    id: str
    title: str
    weight: float
    score: float
    potential_score: float
    level: int
    potential_level: int
    level_meaning: str | None
    findings: list[str]
    data_gaps: list[DataGapData]
    next_steps: list[NextStepData]
    rules: list[RuleResultData]


class OverallData(TypedDict):
    score: float
    potential_score: float
    level: int
    potential_level: int
    bottleneck: list[str]
    summary: str


class RulesetProvenanceData(TypedDict):
    id: str
    version: str
    sha256: str


class SectionProvenanceData(TypedDict):
    name: str
    plugin: str
    version: str | None


class ProvenanceData(TypedDict):
    scaleready_version: str
    backend: Backend
    assessed_at: str
    profile_sha256: str | None
    rulesets: list[RulesetProvenanceData]
    sections: list[SectionProvenanceData]


class GateData(TypedDict):
    policy: str
    policy_sha256: str
    passed: bool
    reasons: list[str]


class ProfileRefData(TypedDict):
    name: str
    source: str | None
    figures_year: int | None
    identifiers: dict[str, str] | None
    metadata: dict[str, Any] | None


class ScorecardData(TypedDict):
    """A scorecard as the engine builds it; ``Scorecard`` is the same, validated."""

    schema_version: Literal["2"]
    profile: ProfileRefData
    overall: OverallData
    dimensions: list[DimensionData]
    next_steps: list[NextStepData]
    gate: GateData | None
    provenance: ProvenanceData


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RuleResult(_Model):
    """What one rule found."""

    id: str = Field(description="Rule id, unique within its dimension.")
    title: str = Field(description="What the rule checks.")
    level: int = Field(description="Readiness level (1-5) the rule belongs to.")
    weight: float = Field(description="Weight of the rule in the dimension score.")
    outcome: Outcome = Field(
        description="pass, fail, unknown (data missing: never a pass), not_applicable, or error."
    )
    finding: str = Field(description="What the outcome means, in words for funder and innovator.")
    advice: str | None = Field(None, description="What would move it to a pass (unless passed).")
    missing: list[str] = Field(
        default_factory=list, description="Profile fields whose absence left it unknown."
    )
    references: list[str] = Field(default_factory=list, description="Sources the rule stands on.")


class NextStep(_Model):
    """An unmet rule that stands between a dimension and its next level."""

    dimension: str = Field(description="Dimension (ruleset) id.")
    rule: str = Field(description="Rule id.")
    level: int = Field(description="The level this step unlocks.")
    outcome: Outcome = Field(description="Why it is unmet: fail, unknown or error.")
    action: str = Field(description="What to do: the rule's advice, or the data to supply.")


class GapItem(_Model):
    """A list item that lacks the field of a data gap."""

    path: str = Field(
        description="Where the item is, numbered from 0 as profile errors write it: "
        "evidence.evaluations[2], evidence.evaluations[1].outcomes[0]."
    )
    name: str | None = Field(
        description="The item's own name: its title, else its name, else its measure (null: none)."
    )


class DataGap(_Model):
    """A profile field that is missing and that at least one rule needs."""

    field: str = Field(description="Dotted path of the missing field ([] marks list items).")
    meaning: str | None = Field(description="What the field holds, from the profile schema.")
    unlocks: int | None = Field(
        ge=1,
        le=MAX_LEVEL,
        description="The level supplying it could unlock (null: a rule at or below every level "
        "it bears on is not met whatever the data).",
    )
    rules: list[str] = Field(description="Rules it could decide, now unknown.")
    missing_in: list[GapItem] = Field(
        default_factory=list,
        description="For a field of list items, each item that lacks it, in profile order "
        "(empty for a field outside lists, or a list missing whole: then the list is the gap).",
    )
    list_items: int = Field(
        0,
        ge=0,
        description="For a field of list items, how many items its list has (in every item of "
        "the lists around it); 0 for a field outside lists, or a list missing whole.",
    )


class Dimension(_Model):
    """One dimension of scale readiness, judged by one ruleset."""

    id: str = Field(description="Ruleset id.")
    title: str = Field(description="Dimension name.")
    weight: float = Field(description="Weight in the overall score.")
    score: float = Field(
        ge=0,
        le=100,
        description="Weighted share of applicable rules passed, 0-100 (unknown: not passed).",
    )
    potential_score: float = Field(
        ge=0, le=100, description="The score were every unknown rule to pass: the range's top."
    )
    level: int = Field(
        ge=0,
        le=MAX_LEVEL,
        description="Confirmed level: the highest N such that every rule of levels 1..N passed.",
    )
    potential_level: int = Field(
        ge=0, le=MAX_LEVEL, description="The level were every unknown rule to pass."
    )
    level_meaning: str | None = Field(None, description="What the reached level means.")
    findings: list[str] = Field(description="What the rules found, lowest level first.")
    data_gaps: list[DataGap] = Field(description="Missing data that left rules unknown.")
    next_steps: list[NextStep] = Field(description="Unmet rules between this level and the next.")
    rules: list[RuleResult] = Field(description="Every rule and its outcome, in ruleset order.")


class Overall(_Model):
    """The verdict across dimensions."""

    score: float = Field(ge=0, le=100, description="Weighted mean of the dimension scores.")
    potential_score: float = Field(
        ge=0, le=100, description="Weighted mean of the dimensions' potential scores."
    )
    level: int = Field(
        ge=0,
        le=MAX_LEVEL,
        description="The lowest dimension level: the package is only as ready as its weakest part.",
    )
    potential_level: int = Field(
        ge=0, le=MAX_LEVEL, description="The lowest potential level of the dimensions."
    )
    bottleneck: list[str] = Field(
        description="Dimension ids at the lowest level: what holds the innovation back."
    )
    summary: str = Field(description="One sentence a funder and an innovator both understand.")


class RulesetProvenance(_Model):
    id: str
    version: str
    sha256: str = Field(description="SHA-256 of the ruleset file as loaded.")


class SectionProvenance(_Model):
    name: str = Field(description="The section's name: a top-level key of the profile.")
    plugin: str = Field(description="The plugin that provides it.")
    version: str | None = Field(description="The plugin's version.")


class Provenance(_Model):
    """What is needed to reproduce the assessment for an audit."""

    scaleready_version: str
    backend: Backend
    assessed_at: str = Field(description="UTC time of the assessment (fixed by SOURCE_DATE_EPOCH).")
    profile_sha256: str | None = Field(
        description="SHA-256 of the profile file (or its canonical JSON)."
    )
    rulesets: list[RulesetProvenance]
    sections: list[SectionProvenance] = Field(
        default_factory=list,
        description="The plugins' profile sections the profile was read with.",
    )


class Gate(_Model):
    """A funder policy's verdict on the scorecard."""

    policy: str = Field(description="Name of the policy applied.")
    policy_sha256: str = Field(description="SHA-256 of the policy file.")
    passed: bool = Field(description="True if the scorecard meets every criterion of the policy.")
    reasons: list[str] = Field(description="Each criterion not met; empty when passed.")


class ProfileRef(_Model):
    name: str
    source: str | None = Field(None, description="The profile file assessed.")
    figures_year: int | None = None
    identifiers: dict[str, str] | None = Field(
        None,
        description="The profile's identifiers (org-id, charity and company numbers, "
        "the funder's grant and application ids), as given.",
    )
    metadata: dict[str, Any] | None = Field(
        None, description="The profile's metadata: a grant system's own keys, carried as given."
    )


class Scorecard(_Model):
    """The scale-readiness scorecard of one innovation profile."""

    schema_version: Literal["2"] = SCHEMA_VERSION
    profile: ProfileRef
    overall: Overall
    dimensions: list[Dimension]
    next_steps: list[NextStep] = Field(description="Across dimensions, the bottleneck first.")
    gate: Gate | None = Field(None, description="The funder policy's verdict, if one was applied.")
    provenance: Provenance


def scorecard_json_schema() -> dict:
    """The JSON Schema of the scorecard."""
    return Scorecard.model_json_schema()


def scorecard_of(data: ScorecardData) -> Scorecard:
    """The public model of a scorecard the engine built: validated once, at the boundary."""
    return Scorecard.model_validate(data)


def dump_json(data: ScorecardData) -> str:
    """A scorecard's JSON, byte for byte as ``Scorecard.model_dump_json`` writes it.

    Serialised by pydantic from the typed data without validating it or making a model: less
    than half the time of either, and faster than ``json.dumps``.
    """
    return _serializer().dump_json(data).decode()


@cache
def _serializer() -> TypeAdapter[ScorecardData]:
    return TypeAdapter(ScorecardData)  # built on first use: it costs a cold start time
