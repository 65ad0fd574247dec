"""durable_rules and the plain-Python evaluator must agree on every rule of every ruleset."""

from __future__ import annotations

import importlib.util

import pytest
import yaml

from scaleready.assessment.engine import Engine
from scaleready.language import durable
from scaleready.language.ruleset import load_ruleset
from scaleready.plugins import load_registry
from scaleready.profile import load_profile, profile_from_data
from scaleready.synthetic import synthetic_profiles
from tests.conftest import EXAMPLES, LANGUAGE_RULESET, REPO, TEST_PROFILES

pytestmark = pytest.mark.skipif(
    not durable.AVAILABLE, reason="durable_rules cannot be imported here"
)
SOCIAL_VALUE_PLUGIN = (
    REPO / "tests/plugins/scaleready-social-value/scaleready_social_value/__init__.py"
)
SYNTHETIC_COUNT = 600


def _third_party_plugin():
    spec = importlib.util.spec_from_file_location(
        "scaleready_social_value_in_repo", SOCIAL_VALUE_PLUGIN
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def both_engines():
    """Every ruleset in the repository, compiled for both backends."""
    registry = load_registry([_third_party_plugin()], load_entry_points=True)
    rulesets = [*registry.rulesets.values(), load_ruleset(LANGUAGE_RULESET, registry.fact_kinds())]
    repo_files = {ruleset.source for ruleset in rulesets}
    assert any(source.endswith("social_value.yaml") for source in repo_files)
    return tuple(
        Engine(rulesets, registry.derived_facts, backend=b) for b in ("durable_rules", "python")
    )


def outcomes(card) -> dict[str, str]:
    return {f"{d.id}.{r.id}": r.outcome for d in card.dimensions for r in d.rules}


def assert_backends_agree(engines, profile) -> dict[str, str]:
    durable, python = (engine.assess(profile) for engine in engines)
    assert outcomes(durable) == outcomes(python)
    assert durable.model_dump(exclude={"provenance"}) == python.model_dump(exclude={"provenance"})
    return outcomes(durable)


@pytest.mark.parametrize("path", EXAMPLES + TEST_PROFILES, ids=lambda p: p.name)
def test_backends_agree_on_every_example_and_test_profile(both_engines, path):
    assert_backends_agree(both_engines, load_profile(path))


# Lists some of whose items leave a count's condition unknown: the count is a range, and a
# comparison the whole range decides is decided (docs/conditions.md, "Missing data").
BUYER, UNKNOWN_ROLE = {"role": "buyer", "renewed": True}, {"partner": "Ltd", "renewed": False}
COUNT_PROFILES = {
    "two_buyers_one_unknown": [BUYER, BUYER, UNKNOWN_ROLE],
    "one_buyer_two_unknown": [BUYER, UNKNOWN_ROLE, {"formal_agreement": True}],
    "no_buyer_one_unknown": [{"role": "host", "early_adopter": False}, UNKNOWN_ROLE],
    "all_unknown": [{}, {}, {}],
    "none": [],
}
COUNT_EVALUATIONS = [{"design": "rct", "independent": True}, {"design": "pre_post"}]


def count_profile(partnerships: list[dict], areas: int | None):
    reach = {} if areas is None else {"areas": areas}
    data = {"name": "counts", "partnerships": partnerships, "reach": reach}
    return profile_from_data(data | {"evidence": {"evaluations": COUNT_EVALUATIONS}})


@pytest.mark.parametrize("areas", [None, 0, 1, 2, 4], ids=lambda a: f"areas_{a}")
@pytest.mark.parametrize("name", sorted(COUNT_PROFILES))
def test_backends_agree_on_counts_over_unknown_items(both_engines, name, areas):
    assert_backends_agree(both_engines, count_profile(COUNT_PROFILES[name], areas))


def test_a_count_that_every_unknown_item_leaves_met_passes_on_both_backends(both_engines):
    found = assert_backends_agree(
        both_engines, count_profile(COUNT_PROFILES["two_buyers_one_unknown"], 2)
    )
    assert found["language.count_where"] == "pass"  # 2 or 3 buyers or commissioners: >= 2
    assert found["language.count_equals"] == "fail"  # 2 or 3 buyers, never 1
    assert found["language.count_not_equals"] == "fail"  # exactly 2 renewed, all known
    assert found["language.count_equals_field"] == "unknown"  # 1 or 2 independent, 2 areas
    found = assert_backends_agree(
        both_engines, count_profile(COUNT_PROFILES["no_buyer_one_unknown"], 1)
    )
    assert found["language.count_where"] == "fail"  # 0 or 1 buyers can never reach 2
    assert found["language.count_equals_field"] == "unknown"
    assert found["language.count_in"] == "unknown"  # 0 or 1 early adopters


# Item conditions that calculate, or compare two fields of the item: decided per item in
# Python and asserted as a flag for durable_rules (which can test neither inside $iany).
ITEM_CONDITIONS = {
    "calculation": "any(contracts, value / annual_value >= 3)",
    "calculation_in": "any(contracts, length_months + mobilisation_months in [27, 39])",
    "two_fields": "all(contracts, annual_value <= value)",
    "nested": "any(evidence.evaluations, any(outcomes, effect_size * 2 > ci_upper))",
    "negated_calculation": "not any(contracts, value - annual_value < 0)",
}
ITEM_PROFILES = {
    "known": [{"value": 600, "annual_value": 200, "length_months": 36, "mobilisation_months": 3}],
    "unknown_one": [{"value": 600}, {"value": 100, "annual_value": 200}],
    "none": [],
}
ITEM_EVALUATIONS = [
    {"design": "rct", "outcomes": [{"measure": "m", "effect_size": 0.4, "ci_upper": 0.7}]},
    {"design": "rct", "outcomes": [{"measure": "m", "effect_size": 0.1}]},
]


@pytest.fixture(scope="module")
def item_engines(tmp_path_factory):
    texts = {"title": "t", "level": 1, "pass": "p", "fail": "f", "advice": "a"}
    rules = [{"id": key, "condition": text, **texts} for key, text in ITEM_CONDITIONS.items()]
    document = {"id": "items", "title": "t", "version": "1.0.0", "summary": "s", "rules": rules}
    path = tmp_path_factory.mktemp("items") / "items.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False, width=10_000), encoding="utf-8")
    ruleset = load_ruleset(path, load_registry().fact_kinds())
    return tuple(Engine([ruleset], {}, backend=b) for b in ("durable_rules", "python"))


@pytest.mark.parametrize("name", sorted(ITEM_PROFILES))
def test_backends_agree_on_item_conditions_that_calculate_or_compare_fields(item_engines, name):
    data = {"name": "items", "contracts": ITEM_PROFILES[name]}
    data["evidence"] = {"evaluations": ITEM_EVALUATIONS}
    found = assert_backends_agree(item_engines, profile_from_data(data))
    if name == "known":
        assert set(found.values()) == {"pass"}, found
        return
    assert found["items.calculation"] == ("fail" if name == "none" else "unknown")
    assert found["items.two_fields"] == "fail"  # all() of none; or 200 > 100 in the second


@pytest.mark.slow
def test_backends_agree_on_synthetic_profiles_and_those_reach_every_outcome(both_engines):
    seen: dict[str, set[str]] = {}
    for data in synthetic_profiles(SYNTHETIC_COUNT, seed=2026):
        for key, outcome in assert_backends_agree(both_engines, profile_from_data(data)).items():
            seen.setdefault(key, set()).add(outcome)
    language_rules = {key: found for key, found in seen.items() if key.startswith("language.")}
    never_unknown = {
        "language.missing_field",
        "language.present_nested",
    }  # missing() is always decided
    for key, found in language_rules.items():
        expected = {"pass", "fail"} if key in never_unknown else {"pass", "fail", "unknown"}
        assert expected <= found, key
    assert "not_applicable" in language_rules["language.applies"]
