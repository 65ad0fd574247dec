"""Three-valued evaluation: missing data is unknown, never a pass and never a false fail."""

from __future__ import annotations

import pytest

from scaleready.language.evaluate import (
    MISSING,
    Context,
    planned,
    planned_decision,
    truth,
    value_of,
)
from scaleready.language.parser import Vocabulary, parse_condition
from scaleready.profile import profile_fields


@pytest.fixture(scope="module")
def vocabulary() -> Vocabulary:
    return Vocabulary(profile_fields(), {}, frozenset({"cited"}))


def judge(text: str, profile: dict, vocabulary, outcomes: dict | None = None):
    condition = parse_condition(text, vocabulary)
    return truth(condition, profile, Context(profile, {}, (outcomes or {}).get))


INCOME = {"organisation": {"yearly_income": 200_000}}
EVALUATIONS = {
    "evidence": {"evaluations": [{"design": "rct", "independent": True}, {"design": "pre_post"}]}
}


@pytest.mark.parametrize(
    ("text", "profile", "expected"),
    [
        ("organisation.yearly_income > 100000", INCOME, True),
        ("organisation.yearly_income > 100000", {}, None),
        ("organisation.free_reserves > 0 and organisation.yearly_income < 5", INCOME, False),
        ("organisation.free_reserves > 0 and organisation.yearly_income > 5", INCOME, None),
        ("organisation.free_reserves > 0 or organisation.yearly_income > 5", INCOME, True),
        ("organisation.free_reserves > 0 or organisation.yearly_income < 5", INCOME, None),
        ("not organisation.free_reserves > 0", INCOME, None),
        ("missing(organisation.free_reserves)", INCOME, True),
        ("present(organisation.yearly_income)", INCOME, True),
        ("organisation.free_reserves / organisation.yearly_income > 0", INCOME, None),
        (
            "organisation.yearly_income / organisation.free_reserves > 0",
            {"organisation": {"yearly_income": 1, "free_reserves": 0}},
            None,
        ),
        ('any(evidence.evaluations, design == "rct")', EVALUATIONS, True),
        ("any(evidence.evaluations, independent)", EVALUATIONS, True),
        ("all(evidence.evaluations, independent)", EVALUATIONS, None),
        ('all(evidence.evaluations, design != "case_study")', EVALUATIONS, True),
        ('any(evidence.evaluations, design == "case_study")', EVALUATIONS, False),
        ('any(evidence.evaluations, design == "rct")', {"evidence": {"evaluations": []}}, False),
        ('all(evidence.evaluations, design == "rct")', {"evidence": {"evaluations": []}}, False),
        ('any(evidence.evaluations, design == "rct")', {}, None),
        ("count(evidence.evaluations) == 2", EVALUATIONS, True),
        ("count(evidence.evaluations, independent) >= 1", EVALUATIONS, True),
        ("count(evidence.evaluations, independent) >= 2", EVALUATIONS, None),
        ('count(evidence.evaluations, design == "rct") == 1', EVALUATIONS, True),
    ],
    ids=[
        "known_true",
        "missing_is_unknown",
        "unknown_and_false_is_false",
        "unknown_and_true_is_unknown",
        "unknown_or_true_is_true",
        "unknown_or_false_is_unknown",
        "not_unknown_is_unknown",
        "missing_is_known",
        "present_is_known",
        "arithmetic_on_missing",
        "division_by_zero",
        "any_true",
        "any_with_gap_but_one_true",
        "all_with_gap",
        "all_true",
        "any_false",
        "any_of_empty_is_false",
        "all_of_empty_is_false",
        "missing_list_is_unknown",
        "count_items",
        "count_with_gap_met_by_the_known_items",
        "count_with_gap_is_unknown",
        "count_known",
    ],
)
def test_conditions_follow_three_valued_logic(text, profile, expected, vocabulary):
    assert judge(text, profile, vocabulary) is expected


@pytest.mark.parametrize(
    ("outcome", "passed", "failed"),
    [
        ("pass", True, False),
        ("fail", False, True),
        ("not_applicable", False, False),
        ("unknown", None, None),
        ("error", None, None),
    ],
    ids=["pass", "fail", "not_applicable", "unknown", "error"],
)
def test_rule_references_read_the_cited_outcome(outcome, passed, failed, vocabulary):
    assert judge("passed(cited)", {}, vocabulary, {"cited": outcome}) is passed
    assert judge("failed(cited)", {}, vocabulary, {"cited": outcome}) is failed


def test_the_trace_records_each_test_with_the_values_it_saw(vocabulary):
    condition = parse_condition(
        "organisation.yearly_income > 100000 and missing(organisation.free_reserves)", vocabulary
    )
    trace = []
    truth(condition, INCOME, Context(INCOME, {}, trace=trace))
    assert [(step.text, step.result) for step in trace] == [
        ("organisation.yearly_income > 100000", True),
        ("missing(organisation.free_reserves)", True),
    ]
    assert trace[0].values == {"organisation.yearly_income": 200_000}
    assert trace[1].values == {"organisation.free_reserves": MISSING}


def test_a_missing_field_has_the_missing_value(vocabulary):
    field = parse_condition("organisation.free_reserves > 0", vocabulary).left
    assert value_of(field, INCOME, Context(INCOME)) is MISSING


# --- calculations past what a float can hold: +-infinity, never an exception ---------------------


# --- count over items some of which are unknown: a range, as Kleene logic reads it -------------

# two buyers, and a partner whose role is not given: between 2 and 3 buyers
PARTNERS = {"partnerships": [{"role": "buyer"}, {"role": "buyer"}, {"partner": "Ltd"}], "reach": {}}
ONE_UNKNOWN = {"partnerships": [{"role": "host"}, {}]}  # between 0 and 1 buyers
BUYERS = 'count(partnerships, role == "buyer")'


@pytest.mark.parametrize(
    ("text", "profile", "expected"),
    [
        (f"{BUYERS} >= 2", PARTNERS, True),
        (f"{BUYERS} < 2", PARTNERS, False),
        (f"{BUYERS} >= 3", PARTNERS, None),
        (f"{BUYERS} > 3", PARTNERS, False),
        (f"{BUYERS} <= 3", PARTNERS, True),
        (f"{BUYERS} == 2", PARTNERS, None),
        (f"{BUYERS} == 4", PARTNERS, False),
        (f"{BUYERS} != 4", PARTNERS, True),
        (f"{BUYERS} != 2", PARTNERS, None),
        (f"2 <= {BUYERS}", PARTNERS, True),
        (f"not {BUYERS} >= 2", PARTNERS, False),
        (f"{BUYERS} >= 2", ONE_UNKNOWN, False),
        (f"{BUYERS} >= 1", ONE_UNKNOWN, None),
        (f"{BUYERS} in [5, 6]", PARTNERS, False),
        (f"{BUYERS} in [2, 3]", PARTNERS, None),
        (f"{BUYERS} not in [0, 1]", PARTNERS, True),
        (f"{BUYERS} >= reach.sites", {**PARTNERS, "reach": {"sites": 2}}, True),
        (f"{BUYERS} > reach.sites", {**PARTNERS, "reach": {"sites": 3}}, False),
        (f"{BUYERS} >= reach.sites", PARTNERS, None),
        (f"{BUYERS} + 1 >= 3", PARTNERS, True),
        (f"{BUYERS} / count(partnerships) >= 0.5", PARTNERS, True),
        (f"{BUYERS} * 2 - 1 < 3", PARTNERS, False),
        (f"count(partnerships) / ({BUYERS} - 2) > 0", PARTNERS, None),
        (f"{BUYERS} >= 2", {}, None),
    ],
    ids=[
        "at_least_known_true",
        "fewer_than_known_false",
        "at_least_beyond_known_unknown",
        "more_than_reachable_false",
        "at_most_reachable_true",
        "equal_in_range_unknown",
        "equal_out_of_range_false",
        "not_equal_out_of_range_true",
        "not_equal_in_range_unknown",
        "constant_on_the_left",
        "negated",
        "cannot_reach_false",
        "could_reach_unknown",
        "in_none_reachable_false",
        "in_every_reachable_but_as_or_of_equals_unknown",
        "not_in_none_reachable_true",
        "against_a_field_true",
        "against_a_field_false",
        "against_a_missing_field_unknown",
        "in_a_sum",
        "in_a_ratio",
        "in_a_calculation_false",
        "a_divisor_that_may_be_zero_unknown",
        "missing_list_unknown",
    ],
)
def test_a_count_over_unknown_items_is_known_where_every_possible_count_agrees(
    text, profile, expected, vocabulary
):
    assert judge(text, profile, vocabulary) is expected


HUGE_INTEGER = 10**400  # a valid count in a profile, beyond any float
HUGE = {"organisation": {"yearly_income": 1e200, "free_reserves": 1e200}}
HUGE_SITES = {"reach": {"sites": HUGE_INTEGER}}


@pytest.mark.parametrize(
    ("text", "profile", "expected"),
    [
        ("organisation.yearly_income * organisation.free_reserves > 1", HUGE, True),
        ("organisation.yearly_income * organisation.free_reserves < 1", HUGE, False),
        ("0 - organisation.yearly_income * organisation.free_reserves < 1", HUGE, True),
        ("reach.sites * 2.5 > 10", HUGE_SITES, True),
        ("reach.sites * -2.5 < 10", HUGE_SITES, True),
        ("reach.sites / 3 > 10", HUGE_SITES, True),
        ("reach.sites * 0.5 == reach.sites", HUGE_SITES, False),
        ("2.5 - reach.sites < 0", HUGE_SITES, True),
        ("reach.sites * 0.0 == 0", HUGE_SITES, True),
        ("reach.sites * reach.areas > 10", {"reach": {"sites": 10**300, "areas": 10**300}}, True),
    ],
    ids=[
        "float_product",
        "float_product_less",
        "negative",
        "int_times_float",
        "negative_int_times_float",
        "int_quotient",
        "infinity_is_no_particular_number",
        "float_minus_int",
        "times_zero",
        "int_product_stays_exact",
    ],
)
def test_a_calculation_past_the_largest_float_compares_as_infinity(
    text, profile, expected, vocabulary
):
    assert judge(text, profile, vocabulary) is expected


@pytest.mark.parametrize(
    ("text", "profile"),
    [
        (
            "organisation.yearly_income * organisation.free_reserves "
            "- organisation.free_reserves * organisation.yearly_income > 0",
            HUGE,
        ),
        ("organisation.yearly_income * organisation.free_reserves * 0 == 0", HUGE),
        (
            "organisation.yearly_income * organisation.free_reserves - reach.sites > 0",
            {**HUGE, **HUGE_SITES},
        ),
    ],
    ids=["infinity_minus_infinity", "infinity_times_zero", "infinity_minus_huge_integer"],
)
def test_a_calculation_that_is_not_a_number_is_unknown(text, profile, vocabulary):
    assert judge(text, profile, vocabulary) is None


def test_a_calculation_with_an_integer_beyond_floats_is_exact_where_it_can_be(vocabulary):
    term = parse_condition("reach.sites * organisation.staff > 10", vocabulary).left
    profile = {"reach": {"sites": HUGE_INTEGER}, "organisation": {"staff": 1e-300}}
    assert value_of(term, profile, Context(profile)) == pytest.approx(1e100)
    equal = {"reach": {"sites": HUGE_INTEGER, "areas": HUGE_INTEGER}}
    assert judge("reach.sites - reach.areas == 0", equal, vocabulary) is True


def test_comparing_a_huge_integer_with_a_number_needs_no_calculation(vocabulary):
    assert judge("reach.sites > 0.5", HUGE_SITES, vocabulary) is True


PLANNED = [
    'any(evidence.evaluations, design == "rct" or independent)',
    'all(evidence.evaluations, design in ["rct", "pre_post"] and not independent)',
    "all(evidence.evaluations, missing(independent) or independent)",
    "organisation.free_reserves > 0 or organisation.yearly_income < 5",
    "organisation.yearly_income > organisation.free_reserves",
    "organisation.yearly_income / 2 > 5 and passed(cited)",
    "count(evidence.evaluations, independent) >= 1",
    f"{BUYERS} >= 2 and {BUYERS} != 3",
    f"{BUYERS} in [1, 2] or {BUYERS} + 1 > reach.sites",
]


@pytest.mark.parametrize("text", PLANNED, ids=range(len(PLANNED)))
@pytest.mark.parametrize(
    "profile",
    [INCOME, EVALUATIONS, PARTNERS, ONE_UNKNOWN, {}],
    ids=["income", "evaluations", "partners", "one_unknown", "empty"],
)
def test_a_planned_condition_judges_as_truth_does(text, profile, vocabulary):
    condition = parse_condition(text, vocabulary)
    context = Context(profile, {}, {"cited": "pass"}.get)
    assert planned(condition)(profile, context) is truth(condition, profile, context)


def deciding(text: str, profile: dict, vocabulary, cited: dict | None = None):
    condition = parse_condition(text, vocabulary)
    context = Context(profile, {}, {"cited": "unknown"}.get)
    return planned_decision(condition)(profile, context, lambda rule: (cited or {})[rule])


PARTLY = {"organisation": {"yearly_income": 200_000}, "reach": {"sites": 3}}


@pytest.mark.parametrize(
    ("text", "profile", "expected"),
    [
        ("organisation.free_reserves > 0", PARTLY, {"organisation.free_reserves"}),
        # a clause decided already asks for nothing: only the undecided one can decide it
        (
            "(organisation.staff > 2 and reach.sites > 5) or organisation.free_reserves > 0",
            PARTLY,
            {"organisation.free_reserves"},
        ),
        (
            "organisation.staff > 2 and organisation.free_reserves > 0",
            PARTLY,
            {"organisation.staff", "organisation.free_reserves"},
        ),
        (
            "organisation.free_reserves / organisation.staff > 1",
            PARTLY,
            {
                "organisation.free_reserves",
                "organisation.staff",
            },
        ),
        (  # a divisor of 0 leaves it undecided, and no data is missing
            "organisation.yearly_income / organisation.free_reserves > 1",
            {"organisation": {"yearly_income": 1, "free_reserves": 0}},
            set(),
        ),
        ("not organisation.staff in [1, 2]", PARTLY, {"organisation.staff"}),
        ("any(evidence.evaluations, independent)", {}, {"evidence.evaluations"}),
        # the items that cannot decide it ask for nothing: the rct without its sample does
        (
            'any(evidence.evaluations, design == "rct" and sample.individuals > 40)',
            {"evidence": {"evaluations": [{"design": "pre_post"}, {"design": "rct"}]}},
            {"evidence.evaluations.sample.individuals"},
        ),
        ("passed(cited) or organisation.staff > 1", PARTLY, {"organisation.staff", "cited"}),
        (f"{BUYERS} >= 3", PARTNERS, {"partnerships.role"}),
        # no role can make it 5 buyers: that count is decided, and only the staff can decide it
        (f"{BUYERS} >= 5 or organisation.staff > 1", PARTNERS, {"organisation.staff"}),
        (f"{BUYERS} > reach.sites", PARTNERS, {"partnerships.role", "reach.sites"}),
    ],
    ids=[
        "leaf",
        "decided_clause",
        "both",
        "calculation",
        "division_by_zero_waits",
        "one_of",
        "missing_list",
        "items",
        "cited",
        "count_across_the_constant",
        "count_that_cannot_cross_asks_nothing",
        "count_against_a_missing_field",
    ],
)
def test_what_could_decide_an_undecided_condition(text, profile, expected, vocabulary):
    result, found = deciding(text, profile, vocabulary, {"cited": {"cited"}})
    assert result is None
    assert found == expected


@pytest.mark.parametrize("text", PLANNED, ids=range(len(PLANNED)))
@pytest.mark.parametrize(
    "profile",
    [INCOME, EVALUATIONS, PARTNERS, ONE_UNKNOWN, {}],
    ids=["income", "evaluations", "partners", "one_unknown", "empty"],
)
def test_a_decision_judges_as_truth_does_and_asks_nothing_once_decided(text, profile, vocabulary):
    condition = parse_condition(text, vocabulary)
    context = Context(profile, {}, {"cited": "pass"}.get)
    result, found = planned_decision(condition)(profile, context, lambda rule: set())
    assert result is truth(condition, profile, context)
    assert (result is None) or not found


def test_an_explanation_shows_a_count_over_unknown_items_as_its_range(vocabulary):
    condition = parse_condition(f"{BUYERS} >= 3", vocabulary)
    trace: list = []
    assert truth(condition, PARTNERS, Context(PARTNERS, {}, trace=trace)) is None
    assert trace[-1].values == {BUYERS: "2 to 3"}
