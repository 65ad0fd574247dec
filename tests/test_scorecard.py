"""The scorecard's two forms: the typed data the engine builds, and the models at the boundary."""

from __future__ import annotations

import typing

import pytest

from scaleready.assessment import scorecard
from scaleready.assessment.policy import load_policy
from scaleready.outcome import Outcome
from scaleready.profile import load_profile, profile_from_data
from tests.conftest import EXAMPLES, REPO

PAIRS = [
    (scorecard.ScorecardData, scorecard.Scorecard),
    (scorecard.ProfileRefData, scorecard.ProfileRef),
    (scorecard.OverallData, scorecard.Overall),
    (scorecard.DimensionData, scorecard.Dimension),
    (scorecard.RuleResultData, scorecard.RuleResult),
    (scorecard.NextStepData, scorecard.NextStep),
    (scorecard.DataGapData, scorecard.DataGap),
    (scorecard.GapItemData, scorecard.GapItem),
    (scorecard.GateData, scorecard.Gate),
    (scorecard.ProvenanceData, scorecard.Provenance),
    (scorecard.RulesetProvenanceData, scorecard.RulesetProvenance),
    (scorecard.SectionProvenanceData, scorecard.SectionProvenance),
]


@pytest.mark.parametrize(("data", "model"), PAIRS, ids=[model.__name__ for _, model in PAIRS])
def test_the_typed_data_has_the_fields_of_its_model_in_their_order(data, model):
    assert list(typing.get_type_hints(data)) == list(model.model_fields)


def test_every_model_of_the_scorecard_has_its_typed_data():
    models = {model for _, model in PAIRS}
    nested = {
        part
        for model in models
        for field in model.model_fields.values()
        for part in typing.get_args(field.annotation) + (field.annotation,)
        if isinstance(part, type) and issubclass(part, scorecard.BaseModel)
    }
    assert nested <= models


def test_the_json_of_the_typed_data_is_the_json_of_the_model(engine):
    policy = load_policy(REPO / "examples/policies/scale-up-fund.yaml", engine.rulesets)
    profiles = [load_profile(path) for path in EXAMPLES] + [profile_from_data({"name": "x"})]
    for profile in profiles:
        for applied in (None, policy):
            data = engine.assess_raw(profile, policy=applied)
            expected = scorecard.scorecard_of(data).model_dump_json()
            assert scorecard.dump_json(data) == expected


def test_the_schema_lists_the_five_outcomes():
    schema = scorecard.scorecard_json_schema()
    assert schema["$defs"]["Outcome"]["enum"] == [outcome.value for outcome in Outcome]
    rule = schema["$defs"]["RuleResult"]["properties"]["outcome"]
    assert rule["$ref"] == "#/$defs/Outcome"
