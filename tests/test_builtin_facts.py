"""The derived facts the built-in plugins compute from a profile."""

from __future__ import annotations

import pytest

from scaleready.profile import profile_from_data


@pytest.fixture(scope="module")
def facts(registry):
    return registry.derived_facts


def fact(facts, name: str, **sections):
    """The value of one registered derived fact for a profile made of `sections`."""
    return facts[name].function(profile_from_data({"name": "Test", **sections}))


def funding(*sources: dict) -> dict:
    return {"funding": {"sources": list(sources)}}


def contracts(*items: dict) -> dict:
    return {"contracts": list(items)}


def test_builtin_facts_are_registered_as_numbers_with_descriptions(facts):
    names = {
        "largest_funder_share",
        "buyer_areas",
        "largest_contract_annual_value",
        "largest_pbr_money_at_risk",
    }
    assert names <= facts.keys()
    assert all(facts[name].kind == "number" and facts[name].description for name in names)


# ---------------------------------------------------------------- largest_funder_share


def test_largest_funder_share_is_the_biggest_funders_part_of_all_funding(facts):
    data = funding({"funder": "Trust", "amount": 30000}, {"funder": "Council", "amount": 10000})
    assert fact(facts, "largest_funder_share", **data) == pytest.approx(0.75)


def test_largest_funder_share_adds_up_streams_from_the_same_funder_whatever_its_spelling(facts):
    data = funding(
        {"funder": "Big Trust", "kind": "grant", "amount": 20000},
        {"funder": " big  trust", "kind": "in_kind", "amount": 10000},
        {"funder": "Council", "amount": 30000},
    )
    assert fact(facts, "largest_funder_share", **data) == pytest.approx(0.5)


def test_largest_funder_share_counts_each_unnamed_stream_as_its_own_funder(facts):
    data = funding({"amount": 10000}, {"amount": 10000}, {"funder": "Trust", "amount": 20000})
    assert fact(facts, "largest_funder_share", **data) == pytest.approx(0.5)


def test_largest_funder_share_is_missing_without_funding_sources(facts):
    assert fact(facts, "largest_funder_share") is None
    assert fact(facts, "largest_funder_share", funding={"co_investment": 5000}) is None


def test_largest_funder_share_is_missing_when_no_source_is_listed(facts):
    assert fact(facts, "largest_funder_share", **funding()) is None


def test_largest_funder_share_is_missing_when_any_amount_is_missing(facts):
    data = funding({"funder": "Trust", "amount": 30000}, {"funder": "Council"})
    assert fact(facts, "largest_funder_share", **data) is None


def test_largest_funder_share_is_missing_not_a_crash_when_all_amounts_are_zero(facts):
    data = funding({"funder": "Trust", "amount": 0}, {"funder": "Council", "amount": 0})
    assert fact(facts, "largest_funder_share", **data) is None


# ---------------------------------------------------------------- buyer_areas


def test_buyer_areas_counts_the_different_areas_where_partners_buy_or_commission(facts):
    partnerships = [
        {"partner": "Lewisham Council", "role": "commissioner", "area": "Lewisham"},
        {"partner": "Lewisham school", "role": "buyer", "area": "lewisham "},
        {"partner": "Kent Council", "role": "buyer", "area": "Kent"},
        {"partner": "GP practice", "role": "referrer", "area": "Croydon"},
    ]
    assert fact(facts, "buyer_areas", partnerships=partnerships) == 2


def test_buyer_areas_is_zero_when_no_partner_buys(facts):
    partnerships = [{"partner": "GP practice", "role": "referrer", "area": "Croydon"}]
    assert fact(facts, "buyer_areas", partnerships=partnerships) == 0
    assert fact(facts, "buyer_areas", partnerships=[]) == 0


def test_buyer_areas_is_missing_without_partnerships(facts):
    assert fact(facts, "buyer_areas") is None


def test_buyer_areas_is_missing_when_a_buyers_area_is_not_given(facts):
    partnerships = [
        {"partner": "Kent Council", "role": "buyer", "area": "Kent"},
        {"partner": "A school", "role": "buyer"},
    ]
    assert fact(facts, "buyer_areas", partnerships=partnerships) is None


def test_buyer_areas_is_missing_when_a_partner_of_unknown_role_may_add_an_area(facts):
    partnerships = [
        {"partner": "Kent Council", "role": "buyer", "area": "Kent"},
        {"partner": "Medway Council", "area": "Medway"},  # a buyer? the count is 1 or 2
    ]
    assert fact(facts, "buyer_areas", partnerships=partnerships) is None


def test_a_partner_of_unknown_role_in_a_counted_area_changes_nothing(facts):
    partnerships = [
        {"partner": "Kent Council", "role": "buyer", "area": "Kent"},
        {"partner": "Kent school", "area": "kent"},
        {"partner": "A GP", "role": "referrer"},  # not a buyer: its area cannot count
    ]
    assert fact(facts, "buyer_areas", partnerships=partnerships) == 1


# ---------------------------------------------------------------- largest_contract_annual_value


def test_largest_contract_annual_value_takes_the_biggest_yearly_value(facts):
    data = contracts(
        {"status": "held", "annual_value": 40000},
        {"status": "bidding", "annual_value": 90000},
    )
    assert fact(facts, "largest_contract_annual_value", **data) == 90000


def test_largest_contract_annual_value_spreads_the_value_over_the_years_when_no_yearly_value(facts):
    data = contracts({"status": "offered", "value": 300000, "length_months": 36})
    assert fact(facts, "largest_contract_annual_value", **data) == pytest.approx(100000)


def test_a_contract_shorter_than_a_year_counts_at_its_whole_value(facts):
    data = contracts({"status": "offered", "value": 50000, "length_months": 6})
    assert fact(facts, "largest_contract_annual_value", **data) == pytest.approx(50000)


def test_largest_contract_annual_value_leaves_completed_contracts_out(facts):
    data = contracts(
        {"status": "completed", "annual_value": 500000},
        {"status": "held", "annual_value": 20000},
    )
    assert fact(facts, "largest_contract_annual_value", **data) == 20000


def test_largest_contract_annual_value_is_missing_without_current_contracts(facts):
    assert fact(facts, "largest_contract_annual_value") is None
    assert fact(facts, "largest_contract_annual_value", **contracts()) is None
    assert (
        fact(
            facts,
            "largest_contract_annual_value",
            **contracts({"status": "completed", "annual_value": 1}),
        )
        is None
    )


def test_largest_contract_annual_value_is_missing_when_a_contracts_size_is_unknown(facts):
    data = contracts(
        {"status": "held", "annual_value": 20000}, {"status": "bidding", "value": 90000}
    )
    assert fact(facts, "largest_contract_annual_value", **data) is None


def test_largest_contract_annual_value_is_missing_not_a_crash_for_a_zero_month_contract(facts):
    data = contracts({"status": "offered", "value": 50000, "length_months": 0})
    assert fact(facts, "largest_contract_annual_value", **data) is None


# ---------------------------------------------------------------- largest_pbr_money_at_risk


def test_largest_pbr_money_at_risk_is_value_times_the_share_paid_on_results(facts):
    data = contracts(
        {
            "status": "held",
            "payment_model": "payment_by_results",
            "value": 200000,
            "pbr_share": 0.4,
        },
        {"status": "bidding", "payment_model": "mixed", "value": 100000, "pbr_share": 0.5},
    )
    assert fact(facts, "largest_pbr_money_at_risk", **data) == pytest.approx(80000)


def test_largest_pbr_money_at_risk_uses_yearly_value_times_years_when_no_whole_value(facts):
    data = contracts(
        {"status": "held", "annual_value": 50000, "length_months": 24, "pbr_share": 0.5}
    )
    assert fact(facts, "largest_pbr_money_at_risk", **data) == pytest.approx(50000)


def test_largest_pbr_money_at_risk_is_zero_when_no_contract_pays_on_results(facts):
    data = contracts(
        {"status": "held", "payment_model": "block", "value": 200000},
        {"status": "held", "payment_model": "fee_for_service", "pbr_share": 0},
    )
    assert fact(facts, "largest_pbr_money_at_risk", **data) == 0


def test_largest_pbr_money_at_risk_is_missing_when_a_results_contracts_share_is_unknown(facts):
    data = contracts({"status": "held", "payment_model": "payment_by_results", "value": 200000})
    assert fact(facts, "largest_pbr_money_at_risk", **data) is None


def test_largest_pbr_money_at_risk_is_missing_when_the_payment_model_is_unknown(facts):
    assert (
        fact(facts, "largest_pbr_money_at_risk", **contracts({"status": "held", "value": 1000}))
        is None
    )


def test_largest_pbr_money_at_risk_is_missing_without_current_contracts(facts):
    assert fact(facts, "largest_pbr_money_at_risk") is None
    assert fact(facts, "largest_pbr_money_at_risk", **contracts()) is None


def test_new_builtin_facts_are_registered_as_numbers_with_their_inputs(facts):
    names = {
        "eif_cost_rating",
        "largest_pbr_net_exposure",
        "highest_minimum_turnover",
        "largest_mobilisation_share",
        "block_contract_income_share",
    }
    assert names <= facts.keys()
    assert all(facts[name].kind == "number" and facts[name].inputs for name in names)


# ---------------------------------------------------------------- eif_cost_rating


@pytest.mark.parametrize(
    ("unit_cost", "rating"),
    [(0, 1), (99.99, 1), (100, 2), (499, 2), (500, 3), (999, 3), (1000, 4), (2000, 4), (2000.5, 5)],
)
def test_eif_cost_rating_follows_the_eif_cost_bands(facts, unit_cost, rating):
    assert fact(facts, "eif_cost_rating", model={"unit_cost": unit_cost}) == rating


def test_eif_cost_rating_is_missing_without_a_unit_cost(facts):
    assert fact(facts, "eif_cost_rating") is None
    assert fact(facts, "eif_cost_rating", model={"social_action": True}) is None


# ---------------------------------------------------------------- largest_pbr_net_exposure


def test_largest_pbr_net_exposure_takes_the_up_front_payment_off_the_money_at_risk(facts):
    data = contracts(
        {"status": "held", "value": 200000, "pbr_share": 0.4, "upfront_share": 0.1},
        {"status": "bidding", "value": 100000, "pbr_share": 0.5, "upfront_share": 0},
    )
    assert fact(facts, "largest_pbr_net_exposure", **data) == pytest.approx(60000)


def test_largest_pbr_net_exposure_is_never_below_zero(facts):
    data = contracts({"status": "held", "value": 100000, "pbr_share": 0.2, "upfront_share": 0.5})
    assert fact(facts, "largest_pbr_net_exposure", **data) == 0


def test_largest_pbr_net_exposure_needs_no_up_front_share_when_nothing_is_paid_on_results(facts):
    data = contracts({"status": "held", "payment_model": "block", "value": 100000})
    assert fact(facts, "largest_pbr_net_exposure", **data) == 0


def test_largest_pbr_net_exposure_is_missing_when_a_results_contract_omits_its_up_front_share(
    facts,
):
    data = contracts({"status": "held", "value": 100000, "pbr_share": 0.2})
    assert fact(facts, "largest_pbr_net_exposure", **data) is None
    assert fact(facts, "largest_pbr_net_exposure", **contracts()) is None


# ---------------------------------------------------------------- highest_minimum_turnover


def test_highest_minimum_turnover_is_the_largest_requirement_of_current_contracts(facts):
    data = contracts(
        {"status": "bidding", "minimum_turnover": 100000},
        {"status": "offered", "minimum_turnover": 300000},
        {"status": "completed", "minimum_turnover": 900000},
        {"status": "held"},
    )
    assert fact(facts, "highest_minimum_turnover", **data) == 300000


def test_highest_minimum_turnover_is_missing_when_no_current_contract_states_one(facts):
    assert fact(facts, "highest_minimum_turnover", **contracts({"status": "held"})) is None
    assert fact(facts, "highest_minimum_turnover") is None


# ---------------------------------------------------------------- largest_mobilisation_share


def test_largest_mobilisation_share_is_the_longest_mobilisation_against_contract_length(facts):
    data = contracts(
        {"status": "bidding", "mobilisation_months": 3, "length_months": 24},
        {"status": "offered", "mobilisation_months": 6, "length_months": 12},
        {"status": "held", "mobilisation_months": 12, "length_months": 12},
        {"status": "offered", "length_months": 12},
    )
    assert fact(facts, "largest_mobilisation_share", **data) == pytest.approx(0.5)


def test_largest_mobilisation_share_is_missing_without_a_length_or_a_mobilisation(facts):
    no_length = contracts({"status": "offered", "mobilisation_months": 3})
    zero_length = contracts({"status": "offered", "mobilisation_months": 3, "length_months": 0})
    assert fact(facts, "largest_mobilisation_share", **no_length) is None
    assert fact(facts, "largest_mobilisation_share", **zero_length) is None
    assert fact(facts, "largest_mobilisation_share", **contracts({"status": "offered"})) is None


# ---------------------------------------------------------------- block_contract_income_share


def test_block_contract_income_share_adds_current_block_contracts_against_income(facts):
    data = contracts(
        {"status": "held", "payment_model": "block", "annual_value": 100000},
        {"status": "offered", "payment_model": "block", "value": 300000, "length_months": 36},
        {"status": "completed", "payment_model": "block", "annual_value": 900000},
        {"status": "held", "payment_model": "fee_for_service", "annual_value": 50000},
    )
    share = fact(
        facts, "block_contract_income_share", organisation={"yearly_income": 400000}, **data
    )
    assert share == pytest.approx(0.5)


def test_block_contract_income_share_is_zero_without_current_block_contracts(facts):
    data = contracts({"status": "held", "payment_model": "fee_for_service", "annual_value": 1})
    income = {"organisation": {"yearly_income": 400000}}
    assert fact(facts, "block_contract_income_share", **income, **data) == 0
    assert fact(facts, "block_contract_income_share", **income, **contracts()) == 0


def test_block_contract_income_share_is_missing_when_income_or_payment_model_is_unknown(facts):
    block = {"status": "held", "payment_model": "block", "annual_value": 1000}
    assert fact(facts, "block_contract_income_share", **contracts(block)) is None
    zero = {"organisation": {"yearly_income": 0}}
    assert fact(facts, "block_contract_income_share", **zero, **contracts(block)) is None
    income = {"organisation": {"yearly_income": 400000}}
    unknown_model = contracts({"status": "held", "annual_value": 1000})
    assert fact(facts, "block_contract_income_share", **income, **unknown_model) is None
    unknown_value = contracts({"status": "held", "payment_model": "block"})
    assert fact(facts, "block_contract_income_share", **income, **unknown_value) is None
    assert fact(facts, "block_contract_income_share", **income) is None
