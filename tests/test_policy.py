"""Funder policies: weights, minimum levels and scores, disqualifying rules, and the gate."""

from __future__ import annotations

import json

import pytest

from scaleready.assessment.policy import load_policy
from scaleready.documents import MAX_LIST_ITEMS
from scaleready.errors import PolicyError
from scaleready.problems import MAX_PROBLEMS_SHOWN
from scaleready.profile import load_profile
from tests.conftest import REPO, run_scaleready, write

MISFIT = REPO / "examples" / "evidenced-misfit.yaml"
POLICIES = REPO / "examples" / "policies"


@pytest.fixture(scope="module")
def card(engine):
    return engine.assess(load_profile(MISFIT))


def policy(tmp_path, engine, text: str):
    return load_policy(write(tmp_path / "policy.yaml", "name: Test fund\n" + text), engine.rulesets)


def test_the_shipped_policies_load_against_the_built_in_rulesets(engine):
    for path in sorted(POLICIES.glob("*.yaml")):
        assert load_policy(path, engine.rulesets).spec.name


def test_weights_change_the_overall_score_and_are_recorded(tmp_path, engine, card):
    weights = policy(tmp_path, engine, "weights: {evidence: 10}\n")
    weighted = engine.assess(load_profile(MISFIT), policy=weights)
    evidence = next(d for d in weighted.dimensions if d.id == "evidence")
    assert evidence.weight == 10 and weighted.overall.score != card.overall.score
    assert weighted.gate.passed and weighted.gate.reasons == []
    assert len(weighted.gate.policy_sha256) == 64


def test_each_unmet_criterion_is_a_reason_the_gate_fails(tmp_path, engine, card):
    text = (
        "minimum_levels: {contract_fit: 3}\nminimum_overall_score: 99\nminimum_overall_level: 4\n"
        "disqualifying_rules: [contract_fit.contract_within_turnover_rule]\n"
    )
    gate = engine.assess(load_profile(MISFIT), policy=policy(tmp_path, engine, text)).gate
    assert not gate.passed
    assert any("Fit with public contracts is at level" in r for r in gate.reasons)
    assert any("overall score" in r for r in gate.reasons)
    assert any("overall level" in r for r in gate.reasons)
    assert "disqualifying rule contract_fit.contract_within_turnover_rule failed" in gate.reasons


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("weigths: {evidence: 2}\n", "unknown key 'weigths'; did you mean 'weights'?"),
        (
            "minimum_levels: {evidense: 2}\n",
            "names ruleset 'evidense', which is not assessed; did you mean 'evidence'?",
        ),
        (
            "disqualifying_rules: [evidence.causal]\n",
            "names rule 'evidence.causal', which is not assessed",
        ),
        ("minimum_levels: {evidence: 9}\n", "minimum_levels.evidence"),
    ],
    ids=["unknown_key", "unknown_ruleset", "unknown_rule", "level_out_of_range"],
)
def test_a_bad_policy_is_named_with_what_to_fix(tmp_path, engine, text, message):
    with pytest.raises(PolicyError) as caught:
        policy(tmp_path, engine, text)
    assert message in str(caught.value) and "policy.yaml" in str(caught.value)


@pytest.mark.slow
def test_assess_with_a_policy_records_the_gate_and_exits_1_when_it_fails(tmp_path):
    result = run_scaleready(
        "assess", MISFIT, "--policy", POLICIES / "scale-up-fund.yaml", "--format", "json"
    )
    assert result.returncode == 1
    gate = json.loads(result.stdout)["gate"]
    assert gate["passed"] is False and gate["policy"].startswith("Scale-up")
    assert "gate failed: Next Step Mentoring" in result.stderr


@pytest.mark.slow
def test_a_bad_policy_file_exits_3(tmp_path):
    path = write(tmp_path / "p.yaml", "name: x\nminimum_levels: {evidense: 2}\n")
    result = run_scaleready("assess", MISFIT, "--policy", path)
    assert result.returncode == 3 and "did you mean 'evidence'" in result.stderr


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("weights: {evidence: true}\n", "weights.evidence: expected a number"),
        ("weights: {evidence: '2'}\n", "weights.evidence: expected a number"),
        ("weights: {evidence: .inf}\n", "weights.evidence: Input should be a finite number"),
        ("minimum_overall_level: true\n", "minimum_overall_level: expected a whole number"),
        ("minimum_overall_level: 2.0\n", "minimum_overall_level: expected a whole number"),
        ("minimum_levels: {evidence: '3'}\n", "minimum_levels.evidence: expected a whole"),
        ("minimum_overall_score: false\n", "minimum_overall_score: expected a number"),
        ("minimum_overall_score: .nan\n", "minimum_overall_score: Input should be a finite"),
        ("summary: 12\n", "summary: expected text, got 12"),
        ("required_rulesets: [evidence, 7]\n", "required_rulesets.2: expected text, got 7"),
        ("disqualifying_rules: evidence.x\n", "disqualifying_rules: expected a list"),
    ],
    ids=[
        "weight_true",
        "weight_quoted",
        "weight_infinite",
        "level_true",
        "level_float",
        "level_quoted",
        "score_false",
        "score_nan",
        "summary_number",
        "ruleset_number",
        "rules_not_a_list",
    ],
)
def test_every_policy_field_is_strict_about_its_type(tmp_path, engine, text, message):
    with pytest.raises(PolicyError) as caught:
        policy(tmp_path, engine, text)
    assert message in str(caught.value)


def test_a_weight_written_as_a_whole_number_or_with_an_exponent_is_a_number(tmp_path, engine):
    loaded = policy(tmp_path, engine, "weights: {evidence: 2, partnership: 1.5e0}\n")
    assert loaded.spec.weights == {"evidence": 2.0, "partnership": 1.5}


def test_policy_problems_name_their_line_and_number_items_from_1(tmp_path, engine):
    text = "required_rulesets:\n  - evidence\n  - 3\nweights:\n  evidence: true\n"
    with pytest.raises(PolicyError) as caught:
        policy(tmp_path, engine, text)
    lines = str(caught.value).splitlines()
    assert lines[0].endswith("2 problems:")
    assert lines[1:] == [
        "  line 4: required_rulesets.2: expected text, got 3",
        "  line 6: weights.evidence: expected a number (true, false and quoted numbers are "
        "not numbers), got true",
    ]


def test_a_policy_with_thousands_of_problems_lists_a_few_and_counts_the_rest(tmp_path, engine):
    items = "".join(f"  - {n}\n" for n in range(MAX_LIST_ITEMS))
    with pytest.raises(PolicyError) as caught:
        policy(tmp_path, engine, "required_rulesets:\n" + items)
    lines = str(caught.value).splitlines()
    assert lines[0].endswith(f"{MAX_LIST_ITEMS:,} problems:")
    assert lines[-1] == f"  ... and {MAX_LIST_ITEMS - MAX_PROBLEMS_SHOWN:,} more"


def test_a_policy_list_over_its_bound_is_one_problem(tmp_path, engine):
    rules = ", ".join(["evidence.x"] * (MAX_LIST_ITEMS + 1))
    with pytest.raises(PolicyError) as caught:
        policy(tmp_path, engine, f"disqualifying_rules: [{rules}]\n")
    assert "line 2: disqualifying_rules: holds 1,001 items, more than the" in str(caught.value)


@pytest.mark.slow
def test_a_weight_of_true_exits_3_naming_the_field(tmp_path):
    path = write(tmp_path / "p.yaml", "name: x\nweights:\n  evidence: true\n")
    result = run_scaleready("assess", MISFIT, "--policy", path)
    assert result.returncode == 3
    assert "line 3: weights.evidence: expected a number" in result.stderr


def test_an_unknown_key_is_named_under_its_section_and_quoted(tmp_path, engine):
    with pytest.raises(PolicyError) as caught:
        policy(tmp_path, engine, 'weigths: {}\n"' + "x" * 100 + '\\e": 1\n')  # \e: escape
    lines = str(caught.value).splitlines()
    assert lines[1] == "  line 2: top level: unknown key 'weigths'; did you mean 'weights'?"
    assert lines[2].startswith("  line 3: top level: unknown key 'xxxx") and "\x1b" not in lines[2]


GAPPY = REPO / "examples" / "data-gaps.yaml"


def test_a_policy_gates_on_the_confirmed_level_unless_it_says_potential(tmp_path, engine):
    profile = load_profile(GAPPY)
    card = engine.assess(profile)
    evidence = next(d for d in card.dimensions if d.id == "evidence")
    assert evidence.level < evidence.potential_level  # missing data holds it back
    minimum = f"minimum_levels: {{evidence: {evidence.potential_level}}}\n"
    confirmed = engine.assess(profile, policy=policy(tmp_path, engine, minimum)).gate
    assert not confirmed.passed
    assert f"Evidence of impact is at level {evidence.level}" in confirmed.reasons[0]
    lenient = policy(tmp_path, engine, minimum + "gate_on: potential\n")
    assert engine.assess(profile, policy=lenient).gate.passed
    assert policy(tmp_path, engine, "").spec.gate_on == "confirmed"
