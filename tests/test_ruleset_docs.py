"""Ruleset documentation is generated from the rulesets, and the committed pages do not drift."""

from __future__ import annotations

import json

import pytest

from scaleready.language.parser import Vocabulary, parse_condition
from scaleready.language.words import in_words
from scaleready.profile import profile_fields
from scaleready.report.ruleset_docs import ruleset_markdown
from tests.conftest import REPO, invoke, run_scaleready


@pytest.mark.parametrize(
    ("condition", "words"),
    [
        (
            "organisation.yearly_income >= 100000",
            "`organisation.yearly_income` is at least 100,000",
        ),
        (
            "replication.manual and not replication.training",
            "`replication.manual` is yes, and `replication.training` is no",
        ),
        (
            'any(partnerships, role in ["buyer", "commissioner"])',
            'at least one item in `partnerships` where `role` is one of "buyer", "commissioner"',
        ),
        ("missing(organisation.free_reserves)", "`organisation.free_reserves` is not given"),
        (
            'not any(contracts, payment_model == "block")',
            'no item in `contracts` where `payment_model` is "block"',
        ),
        (
            "count(partnerships) >= 2 or reach.sites > 3",
            "either the number of `partnerships` is at least 2, or `reach.sites` is more than 3",
        ),
    ],
    ids=["compare", "yes_no", "any_membership", "missing", "none", "count_or"],
)
def test_conditions_read_in_plain_words(condition, words):
    vocabulary = Vocabulary(profile_fields(), {}, frozenset())
    assert in_words(parse_condition(condition, vocabulary)) == words


def test_the_committed_ruleset_docs_match_the_rulesets(registry):
    stale = [
        ruleset_id
        for ruleset_id, ruleset in registry.rulesets.items()
        if (REPO / "docs" / "rulesets" / f"{ruleset_id}.md").read_text(encoding="utf-8")
        != ruleset_markdown(ruleset, registry.derived_facts)
    ]
    regenerate = "scaleready rulesets docs --output docs/rulesets"
    assert stale == [], f"run `{regenerate}` and commit docs/rulesets/ (stale: {stale})"


def test_rulesets_docs_writes_a_page_per_ruleset(tmp_path):
    result = run_scaleready("rulesets", "docs", "evidence", "--output", tmp_path)
    assert result.returncode == 0
    page = (tmp_path / "evidence.md").read_text(encoding="utf-8")
    assert (
        page.startswith("# Evidence of impact")
        and "## Levels" in page
        and "**Passes when**" in page
    )


def test_a_derived_fact_reads_as_its_description_with_its_units(registry):
    vocabulary = Vocabulary(profile_fields(), registry.fact_kinds(), frozenset())
    condition = parse_condition("derived.largest_funder_share <= 0.5", vocabulary)
    described = {"largest_funder_share": registry.derived_facts["largest_funder_share"].description}
    assert in_words(condition, described) == (
        "the share (0-1) of the yearly funding in funding.sources that comes from the largest "
        "single funder (computed: `largest_funder_share`) is at most 0.5"
    )
    assert in_words(condition) == "`largest_funder_share` (computed) is at most 0.5"


def test_the_page_lists_the_computed_facts_its_rules_use(registry):
    page = ruleset_markdown(registry.rulesets["partnership"], registry.derived_facts)
    facts = page.split("## Computed facts", 1)[1].split("## References")[0]
    assert "- **`largest_funder_share`** (number): Share (0-1) of the yearly funding" in facts
    assert "(computed)" not in page


def test_without_output_the_one_page_is_printed_and_nothing_written(tmp_path):
    result = run_scaleready("rulesets", "docs", "evidence", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("# Evidence of impact")
    assert list(tmp_path.iterdir()) == []


def test_without_output_several_pages_are_refused_naming_output(tmp_path):
    result = run_scaleready("rulesets", "docs", cwd=tmp_path)
    assert result.returncode == 2
    assert "give --output DIR" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_plugins_describes_each_derived_fact(runner, registry):
    result = invoke(runner, "plugins")
    assert result.exit_code == 0
    fact = registry.derived_facts["eif_cost_rating"]
    assert f"    derived.eif_cost_rating (number): {fact.description}" in result.output
    listed = json.loads(invoke(runner, "plugins", "--json").output)
    evidence = next(plugin for plugin in listed if plugin["name"] == "evidence")
    assert evidence["derived_fact_descriptions"][0]["description"] == fact.description


def test_rulesets_show_describes_the_facts_its_rules_use(runner, registry):
    result = invoke(runner, "rulesets", "show", "partnership")
    assert result.exit_code == 0
    fact = registry.derived_facts["buyer_areas"]
    assert f"  derived.buyer_areas (number): {fact.description}" in result.output
