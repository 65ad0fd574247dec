"""The built-in rulesets: well-formed, cited, and judging small profiles as a funder would."""

from __future__ import annotations

import pytest

from scaleready.language.ruleset import load_ruleset
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


# The rulesets' own test cases (rulesets/<id>.tests.yaml) run in tests/test_ruleset_tests.py.
