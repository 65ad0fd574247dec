"""The condition language: what parses, what is rejected, and how errors read."""

from __future__ import annotations

import pytest

from scaleready.conditions import (
    And,
    Compare,
    ConditionError,
    Count,
    Not,
    OneOf,
    Quantified,
    Vocabulary,
    parse_condition,
    unparse,
)
from scaleready.rules import profile_fields


@pytest.fixture(scope="module")
def vocabulary() -> Vocabulary:
    return Vocabulary(
        profile_fields(), {"largest_funder_share": "number"}, frozenset({"other_rule"})
    )


@pytest.mark.parametrize(
    "text",
    [
        "organisation.yearly_income >= 100000",
        'organisation.legal_form in ["charity", "cio"] and not replication.manual',
        "organisation.free_reserves / organisation.yearly_income >= 0.25",
        'count(partnerships, role == "buyer") >= 2',
        'any(evidence.evaluations, design == "rct" and any(outcomes, result == "positive"))',
        "all(contracts, lots >= 2) or missing(contracts)",
        "derived.largest_funder_share <= 0.5",
        "passed(other_rule) and present(scaling_plan.route)",
        "reach.sites >= -1 and 3 < reach.areas",
    ],
    ids=[
        "compare",
        "membership",
        "arithmetic",
        "count",
        "nested_any",
        "all_missing",
        "derived",
        "rule_ref",
        "signs",
    ],
)
def test_valid_conditions_parse_and_unparse_to_text_that_parses_the_same(text, vocabulary):
    tree = parse_condition(text, vocabulary)
    assert parse_condition(unparse(tree), vocabulary) == tree


def test_operators_bind_as_documented(vocabulary):
    tree = parse_condition(
        "replication.manual or replication.training and not replication.data_system", vocabulary
    )
    assert (
        unparse(tree)
        == "replication.manual or (replication.training and not replication.data_system)"
    )
    assert isinstance(tree.parts[1], And) and isinstance(tree.parts[1].parts[1], Not)


def test_a_bare_yes_no_field_means_it_is_true(vocabulary):
    tree = parse_condition("replication.manual", vocabulary)
    assert isinstance(tree, Compare) and tree.op == "==" and tree.right.value is True


def test_not_in_is_the_negation_of_in(vocabulary):
    tree = parse_condition('organisation.legal_form not in ["cic"]', vocabulary)
    assert isinstance(tree, Not) and isinstance(tree.part, OneOf)


def test_names_inside_any_are_fields_of_each_item(vocabulary):
    tree = parse_condition('any(partnerships, role == "buyer")', vocabulary)
    assert isinstance(tree, Quantified)
    assert tree.where.left.path == "partnerships.role" and tree.where.left.keys == ("role",)


def test_count_without_a_condition_counts_items(vocabulary):
    tree = parse_condition("count(partnerships) > 0", vocabulary)
    assert isinstance(tree.left, Count) and tree.left.where is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('os.system("rm -rf /")', "unknown function 'os.system'"),
        ("__import__('os')", "unknown function '__import__'"),
        ("open('/etc/passwd')", "unknown function 'open'"),
        ("organisation.yearly_incom > 5", "did you mean 'organisation.yearly_income'"),
        ("organisation.yearly_income = 5", "compare with =="),
        ('organisation.yearly_income > "high"', "types cannot match"),
        ('organisation.legal_form > "charity"', "needs numbers"),
        ('any(partnerships, role == "buyr")', "did you mean 'buyer'"),
        (
            "any(partnerships, since > organisation.founded)",
            "unknown field 'organisation.founded' in the items of partnerships",
        ),
        ("any(partnerships, since * 2 > 4000)", "calculations cannot be used inside any/all/count"),
        ("count(organisation.yearly_income) > 1", "is not a list"),
        ("organisation.yearly_income", "not a yes/no condition"),
        ("derived.nope > 1", "unknown derived fact 'nope'"),
        ("passed(unknown_rule)", "unknown rule 'unknown_rule'"),
        ("1 < 2", "compares two constants"),
        ("reach.sites > 1 and", "expected a value"),
        ("(reach.sites > 1", "expected ')'"),
        ("reach.sites > 1; import os", "unexpected ';'"),
        ("", "non-empty"),
    ],
    ids=[
        "call_os_system",
        "dunder_import",
        "open",
        "unknown_field",
        "single_equals",
        "type_mismatch",
        "ordering_text",
        "unknown_choice",
        "outer_field_in_items",
        "arithmetic_in_items",
        "count_non_list",
        "number_as_condition",
        "unknown_derived",
        "unknown_rule",
        "constants",
        "dangling_and",
        "unclosed",
        "semicolon",
        "empty",
    ],
)
def test_bad_conditions_are_rejected_with_a_message_naming_the_problem(text, message, vocabulary):
    with pytest.raises(ConditionError) as caught:
        parse_condition(text, vocabulary)
    assert message in str(caught.value)


def test_errors_give_the_column_of_the_offending_text(vocabulary):
    with pytest.raises(ConditionError, match="column 20"):
        parse_condition("reach.sites > 1 or eval(1)", vocabulary)
