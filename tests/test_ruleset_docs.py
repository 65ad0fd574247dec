"""Ruleset documentation is generated from the rulesets, and the committed pages do not drift."""

from __future__ import annotations

import pytest

from scaleready.language.parser import Vocabulary, parse_condition
from scaleready.language.words import in_words
from scaleready.profile import profile_fields
from scaleready.report.ruleset_docs import ruleset_markdown
from tests.conftest import REPO, run_scaleready


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
        != ruleset_markdown(ruleset)
    ]
    assert stale == [], f"run `scaleready rulesets docs` and commit docs/rulesets/ (stale: {stale})"


def test_rulesets_docs_writes_a_page_per_ruleset(tmp_path):
    result = run_scaleready("rulesets", "docs", "evidence", "--output", tmp_path)
    assert result.returncode == 0
    page = (tmp_path / "evidence.md").read_text(encoding="utf-8")
    assert (
        page.startswith("# Evidence of impact")
        and "## Levels" in page
        and "**Passes when**" in page
    )
