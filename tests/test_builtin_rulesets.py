"""The built-in rulesets: well-formed, cited, and judging small profiles as a funder would."""

from __future__ import annotations

import pytest
import yaml

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


def test_the_ruleset_has_at_least_six_rules(ruleset):
    assert len(ruleset.rules) >= 6


def test_references_that_are_cited_exist_and_those_with_an_address_are_web_links(ruleset):
    for reference in ruleset.spec.references:
        assert reference.url is None or reference.url.startswith(("http://", "https://"))


# ---------------------------------------------------------------- the ruleset's own test cases
# Each built-in ruleset ships rulesets/<id>.tests.yaml (run by `scaleready rulesets test`); these
# tests check the files cover every rule and level, and that both backends give the expected results.


def _cases(ruleset_id: str) -> dict:
    with ruleset_path(f"{ruleset_id}.tests.yaml").open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def test_the_test_cases_cover_every_rule_passing_and_failing_and_every_level(ruleset):
    cases = _cases(ruleset.id)
    assert cases["ruleset"] == ruleset.id
    seen: dict[str, set[str]] = {}
    for case in cases["cases"]:
        for rule_id, outcome in case["expect"].get("rules", {}).items():
            seen.setdefault(rule_id, set()).add(outcome)
    uncovered = {
        rule.id: sorted({"pass", "fail"} - seen.get(rule.id, set())) for rule in ruleset.rules
    }
    assert {rule_id: gaps for rule_id, gaps in uncovered.items() if gaps} == {}
    levels = {case["expect"]["level"] for case in cases["cases"] if "level" in case["expect"]}
    assert levels == {0, 1, 2, 3, 4, 5}
    assert any("unknown" in outcomes for outcomes in seen.values())


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_ruleset_gives_the_expected_outcomes_and_level_for_each_test_case(
    ruleset, registry, backend
):
    engine = Engine([ruleset], registry.derived_facts, backend=backend)
    for case in _cases(ruleset.id)["cases"]:
        data = {"name": "Test", **case["profile"]}
        [dimension] = engine.assess(profile_from_data(data)).dimensions
        outcomes = {rule.id: rule.outcome for rule in dimension.rules}
        expected = case["expect"]
        rules = expected.get("rules", {})
        assert {rule_id: outcomes[rule_id] for rule_id in rules} == rules, case["name"]
        assert dimension.level == expected.get("level", dimension.level), case["name"]
