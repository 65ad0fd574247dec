"""The condition language: what parses, what is rejected, and how errors read."""

from __future__ import annotations

import pytest

from scaleready.language.nodes import (
    And,
    Compare,
    ConditionError,
    Count,
    Not,
    OneOf,
    Quantified,
    walk,
)
from scaleready.language.parser import (
    MAX_CONDITION_LENGTH,
    MAX_NESTING,
    MAX_TEXT_LENGTH,
    Vocabulary,
    _Parser,
    parse_condition,
    tokenize,
)
from scaleready.language.words import unparse
from scaleready.profile import profile_fields


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


def test_a_calculation_inside_items_reads_the_fields_of_each_item(vocabulary):
    tree = parse_condition("any(contracts, value / annual_value >= 2)", vocabulary)
    calculation = tree.where.left
    assert calculation.left.path == "contracts.value" and calculation.left.keys == ("value",)


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
        ("any(partnerships, role * 2 > 4000)", "needs numbers"),
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
        "arithmetic_on_text_in_items",
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


# --- hostile conditions: each is a ConditionError naming the text, never a crash or a hang ----


class _CountingParser(_Parser):
    """The real parser, counting the tokens it reads."""

    reads = 0

    def advance(self):
        _CountingParser.reads += 1
        return super().advance()


def nested_brackets(depth: int) -> str:
    text = "reach.sites > 1"
    for level in range(depth):
        text = f"({text} and organisation.volunteers >= {level})"
    return text


def test_the_parser_reads_each_token_once_however_deep_the_brackets(vocabulary):
    # the old parser read every bracket level twice: 24 levels of this took minutes
    text = nested_brackets(MAX_NESTING)
    _CountingParser.reads = 0
    tree = _CountingParser(text, vocabulary).parse()
    assert _CountingParser.reads == len(list(tokenize(text))) - 1  # all but the end
    ands, comparisons = MAX_NESTING, MAX_NESTING + 1  # a comparison is 3 nodes
    assert isinstance(tree, And) and len(list(walk(tree))) == ands + 3 * comparisons


def test_a_bracket_may_hold_a_calculation_or_a_condition(vocabulary):
    calculation = parse_condition("(reach.sites + 1) * 2 > reach.areas", vocabulary)
    assert unparse(calculation) == "((reach.sites + 1) * 2) > reach.areas"
    condition = parse_condition(
        "(reach.sites > 1 or reach.areas > 1) and replication.manual", vocabulary
    )
    assert isinstance(condition, And)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("(reach.sites ; > 1)", "unexpected ';' at column 14"),
        ("(reach.sites + 1 > 2) * 3 > 1", "'*' needs numbers, but a condition is not a number"),
        ("(reach.sites > 1) == true", "cannot compare a condition with =="),
        ("(reach.sites + 1) and replication.manual", "a calculation at column 1 is not a yes/no"),
        ("not (reach.sites)", "field 'reach.sites' (number) at column 5 is not a yes/no"),
        ("reach.sites > 1 or (reach.areas)", "at column 20 is not a yes/no condition"),
    ],
    ids=["bad_character", "condition_times", "condition_compared", "calculation_and", "not", "or"],
)
def test_brackets_are_checked_for_what_they_hold(text, message, vocabulary):
    with pytest.raises(ConditionError) as caught:
        parse_condition(text, vocabulary)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("text", "column"),
    [
        ("(" * (MAX_NESTING + 1) + "reach.sites > 1" + ")" * (MAX_NESTING + 1), 33),
        ("(" * 4000 + "reach.sites > 1" + ")" * 4000, 33),
        ("not " * 2000 + "replication.manual", 129),
        (nested_brackets(MAX_NESTING + 1), 33),
        ("not (" * 20 + "replication.manual" + ")" * 20, 81),
    ],
    ids=["one_too_many", "4000_brackets", "2000_nots", "nested_conditions", "not_brackets"],
)
def test_nesting_past_the_limit_is_rejected_where_it_starts(text, column, vocabulary):
    with pytest.raises(ConditionError) as caught:
        parse_condition(text, vocabulary)
    assert f"nested more than {MAX_NESTING} deep at column {column}" in str(caught.value)


def test_nesting_up_to_the_limit_parses(vocabulary):
    text = "(" * MAX_NESTING + "reach.sites > 1" + ")" * MAX_NESTING
    assert parse_condition(text, vocabulary) == parse_condition("reach.sites > 1", vocabulary)
    assert parse_condition("not " * MAX_NESTING + "replication.manual", vocabulary)


def test_a_calculation_of_more_steps_than_the_nesting_limit_is_rejected(vocabulary):
    steps = " + reach.areas" * MAX_NESTING
    assert parse_condition(f"reach.sites{steps} > 1", vocabulary)
    with pytest.raises(ConditionError, match=f"calculation of more than {MAX_NESTING} steps"):
        parse_condition(f"reach.sites{steps} + 1 > 1", vocabulary)


def test_a_condition_longer_than_the_limit_is_rejected_before_it_is_read(vocabulary):
    text = "(" * 10_000 + "reach.sites > 1" + ")" * 10_000
    with pytest.raises(ConditionError, match="20,015 characters long; at most 10,000"):
        parse_condition(text, vocabulary)
    fits = "reach.sites > 1" + " " * (MAX_CONDITION_LENGTH - 15)
    assert parse_condition(fits, vocabulary)


@pytest.mark.parametrize(
    ("number", "value"),
    [
        ("1_000_000", 10**6),
        ("1" + "0" * 308, 10**308),
        ("-" + "1" + "0" * 308, -(10**308)),
        ("10000000000000000.0", 1e16),
        ("0.00001", 1e-05),
        ("0.000000000000000000001", 1e-21),
        ("0." + "0" * 319 + "1", 1e-320),
        ("0.0", 0.0),
        ("0", 0),
    ],
    ids=["underscores", "1e308", "-1e308", "1e16", "1e-05", "1e-21", "subnormal", "0.0", "0"],
)
def test_numbers_a_float_can_hold_are_read_exactly(number, value, vocabulary):
    compare = parse_condition(f"organisation.yearly_income > {number}", vocabulary)
    assert compare.right.value == value and type(compare.right.value) is type(value)


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("1" + "0" * 309, "1000000000000000... (310 characters) at column 30 is too large"),
        ("-" + "2" * 309, "-222222222222222... (310 characters) at column 30 is too large"),
        ("9" * 5000, "9999999999999999... (5,000 characters) at column 30 is too large"),
        ("0." + "0" * 400 + "1", "0.00000000000000... (403 characters) at column 30 is too small"),
    ],
    ids=["1e309", "negative", "5000_digits", "rounds_to_0"],
)
def test_numbers_a_float_cannot_hold_are_rejected(number, message, vocabulary):
    with pytest.raises(ConditionError) as caught:
        parse_condition(f"organisation.yearly_income > {number}", vocabulary)
    assert message in str(caught.value)


def test_a_calculation_with_a_huge_constant_is_rejected_when_the_ruleset_loads(vocabulary):
    with pytest.raises(ConditionError, match="is too large"):
        parse_condition("9" * 400 + " / reach.people_per_year > 1", vocabulary)


def test_text_constants_longer_than_the_limit_are_rejected(vocabulary):
    fits = "x" * MAX_TEXT_LENGTH
    assert parse_condition(f'model.unit_cost_basis == "{fits}"', vocabulary)
    with pytest.raises(
        ConditionError, match="201 characters long; texts in conditions are at most"
    ):
        parse_condition(f'model.unit_cost_basis == "{fits}x"', vocabulary)
