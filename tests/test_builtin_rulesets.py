"""The built-in rulesets: well-formed, cited, and judging small profiles as a funder would."""

from __future__ import annotations

import pytest

from scaleready.engine import Engine
from scaleready.profile import profile_from_data
from scaleready.rules import load_ruleset
from scaleready_builtins import ruleset_path

BUILTINS = ("evidence", "partnership", "contract_fit", "replicability")
BACKENDS = ("durable_rules", "python")


@pytest.fixture(scope="module", params=BUILTINS)
def ruleset(request, registry):
    return load_ruleset(ruleset_path(f"{request.param}.yaml"), registry.fact_kinds())


def test_every_builtin_ruleset_is_installed_through_its_plugin(registry):
    assert set(BUILTINS) <= registry.rulesets.keys()
    assert not registry.problems


def test_the_installed_ruleset_is_the_file_in_the_repository(ruleset, registry):
    assert registry.rulesets[ruleset.id].sha256 == ruleset.sha256


def test_every_rule_cites_at_least_one_reference(ruleset):
    uncited = [rule.id for rule in ruleset.rules if not rule.spec.references]
    assert uncited == []


def test_every_level_from_1_to_5_has_a_meaning_and_a_rule(ruleset):
    assert sorted(ruleset.spec.levels) == [1, 2, 3, 4, 5]
    assert all(meaning.strip() for meaning in ruleset.spec.levels.values())
    assert {rule.level for rule in ruleset.rules} == {1, 2, 3, 4, 5}


def test_every_rule_says_what_passing_and_failing_mean_and_what_to_do(ruleset):
    for rule in ruleset.rules:
        assert rule.spec.title and rule.spec.pass_text and rule.spec.fail_text and rule.spec.advice


def test_the_ruleset_has_five_to_eight_rules(ruleset):
    assert 5 <= len(ruleset.rules) <= 8


def test_references_that_are_cited_exist_and_those_with_an_address_are_web_links(ruleset):
    for reference in ruleset.spec.references:
        assert reference.url is None or reference.url.startswith(("http://", "https://"))


# ---------------------------------------------------------------- small profiles, real engine

THEORY = {
    "theory_of_change": {"problem": "Isolation while waiting", "outcomes": ["Less loneliness"]}
}
RCT = {
    "design": "rct",
    "independent": True,
    "sites": 21,
    "outcomes": [{"measure": "coding skills", "result": "positive", "significant": True}],
}
PRE_POST = {"design": "pre_post", "outcomes": [{"result": "positive"}]}

CASES = [
    pytest.param(
        "evidence",
        {"model": THEORY, "evidence": {"evaluations": [PRE_POST]}},
        {"theory_of_change": "pass", "outcome_data": "pass", "causal_design": "fail"},
        2,
        id="evidence-before-and-after-data-reaches-level-2",
    ),
    pytest.param(
        "evidence",
        {"model": THEORY, "evidence": {"evaluations": [RCT], "cost_evaluated": True}},
        {"independent_evaluation": "pass", "cost_known": "unknown", "impact_elsewhere": "unknown"},
        3,
        id="evidence-independent-rct-with-unit-cost-unknown-stops-at-level-3",
    ),
    pytest.param(
        "evidence",
        {"evidence": {"evaluations": []}},
        {"theory_of_change": "unknown", "outcome_data": "fail"},
        0,
        id="evidence-theory-unknown-and-no-studies-is-level-0",
    ),
    pytest.param(
        "partnership",
        {
            "partnerships": [
                {
                    "partner": "GP practices",
                    "sector": "public",
                    "role": "referrer",
                    "early_adopter": True,
                }
            ],
            "funding": {
                "sources": [
                    {"funder": "Trust", "amount": 10000},
                    {"funder": "Donors", "amount": 2000},
                ]
            },
        },
        {
            "early_adopter_partner": "pass",
            "public_referral_route": "pass",
            "no_single_funder_dependence": "fail",
        },
        2,
        id="partnership-early-adopter-referrer-but-one-main-funder-is-level-2",
    ),
    pytest.param(
        "partnership",
        {
            "partnerships": [
                {
                    "partner": "Kent",
                    "sector": "public",
                    "role": "commissioner",
                    "area": "Kent",
                    "early_adopter": True,
                    "formal_agreement": True,
                    "renewed": True,
                },
                {"partner": "Medway", "sector": "public", "role": "buyer", "area": "Medway"},
                {"partner": "Libraries", "sector": "public", "role": "host", "area": "Kent"},
            ],
            "funding": {
                "sources": [
                    {"funder": "Kent", "amount": 40000},
                    {"funder": "Medway", "amount": 40000},
                ]
            },
            "scaling_plan": {"buyer_can_commission": True},
        },
        {"buyers_in_several_areas": "pass", "buyer_renewed": "pass", "several_pathways": "pass"},
        5,
        id="partnership-renewed-buyers-in-two-areas-off-the-shelf-is-level-5",
    ),
    pytest.param(
        "partnership",
        {"partnerships": [{"partner": "A school", "role": "host"}]},
        {
            "early_adopter_partner": "unknown",
            "no_single_funder_dependence": "unknown",
            "several_pathways": "fail",
        },
        0,
        id="partnership-unanswered-early-adopter-is-unknown-not-fail",
    ),
    pytest.param(
        "contract_fit",
        {"organisation": {"yearly_income": 12000, "free_reserves": 1500}, "contracts": []},
        {
            "reserves_carry_payment_in_arrears": "fail",
            "contract_within_turnover_rule": "not_applicable",
            "contract_track_record": "fail",
            "multi_year_commitment": "fail",
        },
        0,
        id="contract-fit-small-reserves-and-no-contracts-is-level-0",
    ),
    pytest.param(
        "contract_fit",
        {
            "organisation": {"yearly_income": 300000, "free_reserves": 60000},
            "contracts": [
                {
                    "status": "held",
                    "annual_value": 100000,
                    "length_months": 36,
                    "payment_model": "block",
                },
                {
                    "status": "bidding",
                    "value": 400000,
                    "length_months": 24,
                    "payment_model": "payment_by_results",
                    "pbr_share": 0.3,
                    "lots": 1,
                    "route": "open",
                    "social_value_weight": 0.1,
                },
            ],
        },
        {
            "contract_within_turnover_rule": "fail",
            "pbr_risk_covered_by_reserves": "fail",
            "social_value_weighted": "pass",
            "contracts_in_lots": "fail",
        },
        1,
        id="contract-fit-bid-too-big-for-income-and-reserves-fails-turnover-and-pbr",
    ),
    pytest.param(
        "contract_fit",
        {
            "organisation": {"yearly_income": 500000, "free_reserves": 100000},
            "contracts": [
                {
                    "status": "held",
                    "annual_value": 150000,
                    "length_months": 36,
                    "payment_model": "fee_for_service",
                },
                {
                    "status": "offered",
                    "annual_value": 60000,
                    "length_months": 12,
                    "payment_model": "mixed",
                    "pbr_share": 0.2,
                    "lots": 4,
                    "social_value_weight": 0.15,
                },
            ],
        },
        {
            "pbr_risk_covered_by_reserves": "pass",
            "contracts_in_lots": "pass",
            "multi_year_commitment": "pass",
        },
        5,
        id="contract-fit-well-sized-lotted-three-year-contracts-is-level-5",
    ),
    pytest.param(
        "replicability",
        {
            "model": {
                "core_components": ["Peer volunteers lead"],
                "adaptable_components": ["Meeting place"],
            },
            "replication": {"manual": False, "training": True, "sites_run_by_others": 0},
            "scaling_plan": {"route": "organisational_growth"},
        },
        {"route_to_scale_chosen": "pass", "manual_and_training": "fail", "run_by_others": "fail"},
        2,
        id="replicability-codified-but-no-manual-is-level-2",
    ),
    pytest.param(
        "replicability",
        {
            "model": {"core_components": ["Carers"], "adaptable_components": ["Matching"]},
            "replication": {
                "manual": True,
                "training": True,
                "fidelity_monitoring": True,
                "learning_system": True,
                "licensing_model": False,
                "sites_run_by_others": 3,
                "replications": [{"outcomes_retained": True}, {"outcomes_retained": True}],
            },
            "scaling_plan": {"route": "licensing"},
        },
        {"route_to_scale_chosen": "fail", "outcomes_retained_elsewhere": "pass"},
        1,
        id="replicability-licensing-route-without-a-licence-holds-it-at-level-1",
    ),
    pytest.param(
        "replicability",
        {"model": {"core_components": ["Volunteers"]}},
        {
            "core_components_named": "pass",
            "fixed_and_flexible_known": "unknown",
            "route_to_scale_chosen": "unknown",
        },
        1,
        id="replicability-unanswered-questions-are-unknown",
    ),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("ruleset_id", "data", "expected", "level"), CASES)
def test_builtin_ruleset_judges_a_small_profile(
    registry, backend, ruleset_id, data, expected, level
):
    engine = Engine([registry.rulesets[ruleset_id]], registry.derived_facts, backend=backend)
    [dimension] = engine.assess(profile_from_data({"name": "Test", **data})).dimensions
    outcomes = {rule.id: rule.outcome for rule in dimension.rules}
    assert {rule_id: outcomes[rule_id] for rule_id in expected} == expected
    assert dimension.level == level
