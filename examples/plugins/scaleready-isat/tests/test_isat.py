"""Tests of the isat plugin: its profile section, and whole assessments with its ruleset.

The cases in isat.tests.yaml run as tests too (the scaleready.testing pytest plugin collects them).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from scaleready import ScaleReadyError, create_engine, load_profile, profile_from_data

EXAMPLE = Path(__file__).resolve().parents[1] / "example-profile.yaml"


@pytest.fixture(scope="module")
def profile_model():
    engine, _registry = create_engine()  # the installed plugins, this one's section included
    return engine.profile_model


def test_the_section_is_read_into_its_own_model(profile_model):
    profile = profile_from_data(
        {"name": "x", "isat": {"context": {"policy_alignment": "explicit"}}}, model=profile_model
    )
    isat = getattr(profile, "isat")  # noqa: B009  # a plugin's section: not in the core model's type
    assert isat.context.policy_alignment == "explicit"
    assert isat.sustainability is None  # not answered, never a default


@pytest.mark.parametrize(
    ("section", "says"),
    [
        ({"reach": {"acceptability_share": 86}}, "acceptability_share"),  # a percent, not 0-1
        ({"context": {"policy_alignment": "strong"}}, "policy_alignment"),
        ({"delivery": {"workforse": "existing"}}, "workforse"),
        ({"sustainability": {"funded_years": "3"}}, "funded_years"),  # text is not a number
    ],
    ids=["share-out-of-range", "unknown-choice", "unknown-field", "text-for-number"],
)
def test_a_wrong_answer_in_the_section_is_refused_naming_it(profile_model, section, says):
    with pytest.raises(ScaleReadyError, match=says):
        profile_from_data({"name": "x", "isat": section}, model=profile_model)


def test_the_dimension_is_on_the_scorecard(scaleready_assess):
    card = scaleready_assess({"isat": {"context": {"policy_alignment": "explicit"}}})
    assert [dimension.id for dimension in card.dimensions] == ["isat"]


def test_an_unanswered_domain_is_unknown_not_failed(scaleready_outcomes):
    outcomes = scaleready_outcomes({"isat": {"context": {"policy_alignment": "explicit"}}})
    assert outcomes["fits_stated_priorities"] == "pass"
    assert outcomes["decision_makers_support"] == "unknown"
    assert outcomes["embedded_in_routine"] == "unknown"


def test_a_site_manual_from_the_core_profile_counts_with_the_section(scaleready_outcomes):
    section = {"infrastructure": {"implementation_support": True}}
    with_manual = scaleready_outcomes({"isat": section, "replication": {"manual": True}})
    without = scaleready_outcomes({"isat": section, "replication": {"manual": False}})
    assert (with_manual["sites_supported"], without["sites_supported"]) == ("pass", "fail")


def test_the_example_profile_is_held_at_level_3_by_the_scale_up_evaluation(scaleready_engine):
    profile = load_profile(EXAMPLE, scaleready_engine.profile_model)
    (dimension,) = scaleready_engine.assess(profile).dimensions
    assert dimension.level == 3
    failed = sorted(rule.id for rule in dimension.rules if str(rule.outcome) == "fail")
    assert failed == ["embedded_in_routine", "funded_beyond_scale_up", "scale_up_evaluated"]
