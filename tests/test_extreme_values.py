"""Extreme but valid numbers: the durable_rules C core reads every one, and both backends agree.

The C core reads a number only as ``-?digits[.digits[e[+-]digits]]`` (Python writes ``1e-05``
and ``1e+16``), holds integers in 64 bits and compares an integer with a double as doubles; see
docs/engine.md.  These tests assess profiles and rules that meet each of those limits.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Literal, get_args, get_origin

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from scaleready.assessment.engine import Engine
from scaleready.errors import EngineError
from scaleready.language import durable
from scaleready.language.durable import DurableProgram, RuleToRun
from scaleready.language.evaluate import Context
from scaleready.language.nodes import Compare, Const, Derived, Field
from scaleready.language.ruleset import load_ruleset
from scaleready.problems import unwrap as _unwrap
from scaleready.profile import InnovationProfile, _item_type, profile_from_data
from tests.test_backends_agree import assert_backends_agree, both_engines  # noqa: F401

pytestmark = pytest.mark.skipif(
    not durable.AVAILABLE, reason="durable_rules cannot be imported here"
)

# Rules that compare with constants at the C core's limits, and fields with each other.
EXTREME_CONDITIONS = {
    "tiny_weight": "any(contracts, social_value_weight >= 0.00001)",
    "tinier_weight": "any(contracts, social_value_weight > 0.000000000000000000001)",
    "large_income": "organisation.yearly_income >= 10000000000000000",
    "double_2_53": "reach.people_per_year > 9007199254740992.0",
    "int_2_53": "reach.people_per_year == 9007199254740993",
    "int64_max": "reach.people_per_year < 9223372036854775807",
    "fields_int": "reach.people_per_year > reach.level_of_need",
    "fields_mixed": "organisation.staff >= organisation.volunteers",
    "fields_money": "organisation.free_reserves < organisation.yearly_income",
    "fields_equal": "reach.people_per_year == reach.level_of_need",
    "fields_mixed_equal": "organisation.staff == organisation.volunteers",
    "int_2_63": "reach.level_of_need >= 9223372036854775808",
    "double_2_63": "organisation.yearly_income < 9223372036854775808.0",
    "share_of_income": "derived.block_contract_income_share < 0.0001",
    "effect": "any(evidence.evaluations, any(outcomes, effect_size < -0.00001))",
    "calculation": "organisation.yearly_income * 0.00001 > organisation.free_reserves",
}
EXTREME_RULESET = {
    "id": "extreme",
    "title": "Numbers at the durable_rules C core's limits",
    "version": "1.0.0",
    "summary": "Not a real dimension: constants and comparisons at the C core's limits.",
    "references": [{"id": "docs", "title": "docs/engine.md"}],
    "rules": [
        {"id": key, "title": "t", "level": 1, "condition": condition}
        | {"pass": "p", "fail": "f", "advice": "a"}
        for key, condition in EXTREME_CONDITIONS.items()
    ],
}
BIG_CHARITY_SMALL_CONTRACT = {
    "organisation": {"yearly_income": 100_000_000, "free_reserves": 20_000_000},
    "contracts": [
        {
            "buyer": "A council",
            "status": "offered",
            "value": 1000,
            "length_months": 12,
            "payment_model": "block",
        }
    ],
}
# Each profile made `assess` exit 4 (durable_rules error 204) or decided a rule wrongly.
NAMED_PROFILES = {
    "block contract share 1e-05 of a 100m income": BIG_CHARITY_SMALL_CONTRACT,
    "social value weight 0.00005": {"contracts": [{"social_value_weight": 0.00005}]},
    "yearly income 1e16": {"organisation": {"yearly_income": 1e16}},
    "yearly income 1e300": {"organisation": {"yearly_income": 1e300, "free_reserves": 1e299}},
    "free reserves 5e-324": {"organisation": {"free_reserves": 5e-324, "yearly_income": 1}},
    "largest float reserves": {
        "organisation": {"free_reserves": sys.float_info.max, "yearly_income": 1.0}
    },
    "effect size -1e-05": {"evidence": {"evaluations": [{"outcomes": [{"effect_size": -1e-05}]}]}},
    "people 2**53 + 1": {"reach": {"people_per_year": 2**53 + 1, "level_of_need": 2**53}},
    "people 2**63 - 1": {"reach": {"people_per_year": 2**63 - 1, "level_of_need": 2**63 - 2}},
    "people beyond 64 bits": {"reach": {"people_per_year": 2**64 + 1, "level_of_need": 2**64}},
    "staff 2.0**53 and volunteers 2**53 + 1": {
        "organisation": {"staff": 2.0**53, "volunteers": 2**53 + 1}
    },
    "negative zero effect": {"evidence": {"evaluations": [{"outcomes": [{"effect_size": -0.0}]}]}},
}


def write_extreme_ruleset(folder: Path) -> Path:
    path = folder / "extreme.yaml"
    path.write_text(json.dumps(EXTREME_RULESET), encoding="utf-8")  # JSON is YAML
    return path


@pytest.fixture(scope="module")
def extreme_engines(both_engines, tmp_path_factory):  # noqa: F811
    """Both backends over every ruleset in the repository and the extreme rules above."""
    path = write_extreme_ruleset(tmp_path_factory.mktemp("rulesets"))
    rulesets = [*both_engines[0].rulesets]
    derived = both_engines[0].derived_facts
    rulesets.append(load_ruleset(path, {name: fact.kind for name, fact in derived.items()}))
    return tuple(Engine(rulesets, derived, backend=b) for b in ("durable_rules", "python"))


def assess_both(engines, data: dict) -> dict[str, str]:
    return assert_backends_agree(engines, profile_from_data({"name": "Extreme", **data}))


@pytest.mark.parametrize("data", NAMED_PROFILES.values(), ids=NAMED_PROFILES.keys())
def test_profiles_with_extreme_numbers_are_assessed_alike_by_both_backends(extreme_engines, data):
    assess_both(extreme_engines, data)


def test_a_tiny_contract_share_of_a_large_income_is_decided(extreme_engines):
    outcomes = assess_both(extreme_engines, BIG_CHARITY_SMALL_CONTRACT)
    assert outcomes["extreme.share_of_income"] == "pass"  # 1e-05 < 0.0001
    assert outcomes["contract_fit.block_contracts_not_dominant"] == "pass"


def test_an_integer_above_2_53_is_compared_exactly_with_a_double(extreme_engines):
    outcomes = assess_both(extreme_engines, NAMED_PROFILES["people 2**53 + 1"])
    assert outcomes["extreme.double_2_53"] == "pass"  # the C core alone rounds 2**53 + 1 down
    assert outcomes["extreme.int_2_53"] == "pass"
    assert outcomes["extreme.fields_int"] == "pass"
    mixed = assess_both(extreme_engines, NAMED_PROFILES["staff 2.0**53 and volunteers 2**53 + 1"])
    assert mixed["extreme.fields_mixed"] == "fail"


def test_integers_beyond_64_bits_are_compared_exactly(extreme_engines):
    outcomes = assess_both(extreme_engines, NAMED_PROFILES["people beyond 64 bits"])
    assert outcomes["extreme.fields_int"] == "pass"  # the C core alone saturates both at 2**63-1
    assert outcomes["extreme.int64_max"] == "fail"


def test_a_calculation_that_overflows_to_infinity_is_decided(extreme_engines):
    outcomes = assess_both(extreme_engines, NAMED_PROFILES["largest float reserves"])
    assert (
        outcomes["contract_fit.reserves_carry_payment_in_arrears"] == "pass"
    )  # free_reserves * 6 is inf


# --- constants and non-finite values, straight through the adapter ---------------------------

INCOME = Field("organisation.yearly_income", ("organisation", "yearly_income"), "number")
PEOPLE = Field("reach.people_per_year", ("reach", "people_per_year"), "number")


def no_citations(rule_id: str):
    raise AssertionError(f"no rule cites {rule_id}")


def run_one_rule(condition, data: dict, derived: dict | None = None) -> str:
    """The durable_rules outcome of one rule; the reference evaluator is never asked."""

    def reference(context: Context) -> dict[str, str]:
        raise AssertionError("the C core was expected to decide this fact")

    program = DurableProgram(
        [RuleToRun("test/rule", condition, None, no_citations)], reference=reference
    )
    return program.run(data, Context(data, derived or {})).get("test/rule", "unknown")


CONSTANTS = {
    "1e-05 against 1e-05": (Compare("==", INCOME, Const(1e-05)), 1e-05, "pass"),
    "5e-324 above 0": (Compare(">", INCOME, Const(0.0)), 5e-324, "pass"),
    "0 below 5e-324": (Compare("<", INCOME, Const(5e-324)), 0.0, "pass"),
    "-0.0 equals 0": (Compare("==", INCOME, Const(0)), -0.0, "pass"),
    "1e16 equals 10**16": (Compare("==", INCOME, Const(10**16)), 1e16, "pass"),
    "2**53 + 1 above 2.0**53": (Compare(">", PEOPLE, Const(2.0**53)), 2**53 + 1, "pass"),
    "2**63 - 1 below 2.0**63": (Compare("<", PEOPLE, Const(2.0**63)), 2**63 - 1, "pass"),
    "2**63 - 1 below 10**22": (Compare(">=", PEOPLE, Const(10**22)), 2**63 - 1, "fail"),
    "2**63 - 1 above -10**22": (Compare(">", PEOPLE, Const(-(10**22))), 2**63 - 1, "pass"),
    "2**63 - 1 is not 1e300": (Compare("==", PEOPLE, Const(1e300)), 2**63 - 1, "fail"),
    "1e-300 above 1e-301": (Compare(">", INCOME, Const(1e-301)), 1e-300, "pass"),
}


@pytest.mark.parametrize(("condition", "value", "expected"), CONSTANTS.values(), ids=CONSTANTS)
def test_rule_constants_at_the_limits_are_compared_exactly(condition, value, expected):
    data = {"organisation": {"yearly_income": value}, "reach": {"people_per_year": value}}
    assert run_one_rule(condition, data) == expected


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan], ids=str)
def test_a_non_finite_derived_fact_is_an_engine_error_naming_it(value):
    condition = Compare(">=", Derived("ratio", "number"), Const(1))
    with pytest.raises(EngineError, match=r"derived\.ratio"):
        run_one_rule(condition, {}, {"ratio": value})


@pytest.mark.parametrize("value", [math.inf, math.nan], ids=str)
def test_a_non_finite_rule_constant_is_an_engine_error_naming_the_rule(value):
    rule = RuleToRun("test/rule", Compare(">=", INCOME, Const(value)), None, no_citations)
    with pytest.raises(EngineError, match="test/rule"):
        DurableProgram([rule], reference=lambda context: {})


def test_a_rule_constant_python_writes_with_an_exponent_compiles(registry, tmp_path):
    ruleset = load_ruleset(write_extreme_ruleset(tmp_path), registry.fact_kinds())
    engine = Engine([ruleset], registry.derived_facts, backend="durable_rules")
    data = {"name": "Weighted", "contracts": [{"social_value_weight": 0.00005}]}
    card = engine.assess(profile_from_data(data))
    outcomes = {r.id: r.outcome for d in card.dimensions for r in d.rules}
    assert outcomes["tiny_weight"] == "pass" and outcomes["tinier_weight"] == "pass"


# --- the property: schema-shaped profiles with extreme values ----------------------------------

EXTREME_FLOATS = (
    0.0,
    -0.0,
    5e-324,
    2.2250738585072014e-308,
    1e-300,
    1e-05,
    5e-05,
    0.1,
    0.30000000000000004,
    1 - 2**-53,
    1.0,
    123456789.12345678,
    4503599627370495.5,
    2.0**53,
    2.0**53 + 2,
    1e16,
    2.0**63 - 1024,
    2.0**63,
    1e19,
    1e300,
    sys.float_info.max,
)
EXTREME_INTS = (0, 1, 2**31, 2**53 - 1, 2**53, 2**53 + 1, 2**63 - 1, 2**63, 2**64 + 1, 10**30)
TEXTS = ("alpha", "1e-05 of them", "1234567890123456789", "https://example.org/")


def _bounds(spec) -> tuple[float | None, float | None]:
    low = next((m.ge for m in spec.metadata if hasattr(m, "ge")), None)
    high = next((m.le for m in spec.metadata if hasattr(m, "le")), None)
    return low, high


def _within(values, low, high) -> list:
    return [v for v in values if (low is None or v >= low) and (high is None or v <= high)]


def _number(annotation, spec) -> st.SearchStrategy:
    low, high = _bounds(spec)
    if annotation is int:
        drawn = st.integers(min_value=low, max_value=high if high is not None else 10**30)
        return st.one_of(st.sampled_from(_within(EXTREME_INTS, low, high) or [low]), drawn)
    signed = EXTREME_FLOATS + tuple(-v for v in EXTREME_FLOATS)
    drawn = st.floats(min_value=low, max_value=high, allow_nan=False, allow_infinity=False)
    return st.one_of(st.sampled_from(_within(signed, low, high)), drawn)


def _value(annotation, spec) -> st.SearchStrategy:
    annotation = _unwrap(annotation)
    if get_origin(annotation) is Literal:
        return st.sampled_from(get_args(annotation))
    if get_origin(annotation) is list:
        item = _item_type(annotation)
        inner = _model(item) if isinstance(item, type) and issubclass(item, BaseModel) else None
        return st.lists(inner if inner is not None else st.sampled_from(TEXTS), max_size=2)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _model(annotation)
    if annotation is bool:
        return st.booleans()
    if annotation is str:
        return st.sampled_from(TEXTS)
    return _number(annotation, spec)


def _model(model) -> st.SearchStrategy:
    fields = {
        name: _value(spec.annotation, spec)
        for name, spec in model.model_fields.items()
        if name not in ("name", "estimates", "identifiers", "metadata")  # texts of set forms
    }
    drawn = st.fixed_dictionaries({}, optional=fields)
    if model.__name__ == "Contract":
        drawn = drawn.filter(lambda c: c.get("pbr_share", 0) + c.get("upfront_share", 0) <= 1)
    return drawn


def _urls_fixed(data: dict) -> dict:
    """URL fields must look like URLs; nothing else about them matters here."""
    for key in ("website", "url", "document_url"):
        if key in data:
            data[key] = "https://example.org/"
    for value in data.values():
        for item in value if type(value) is list else [value]:
            if type(item) is dict:
                _urls_fixed(item)
    return data


EXTREME_PROFILES = _model(InnovationProfile).map(_urls_fixed)


def derived_facts_are_finite(engine: Engine, data: dict) -> bool:
    """Non-finite derived facts are the plugin host's to refuse; they are tested above."""
    profile = profile_from_data({"name": "Extreme", **data})
    for fact in engine.derived_facts.values():
        try:
            value = fact.function(profile)
        except (ArithmeticError, ValueError):
            continue  # a plugin's failure: an error outcome in both backends
        if isinstance(value, float) and not math.isfinite(value):
            return False
    return True


@settings(
    derandomize=True,
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(data=EXTREME_PROFILES)
def test_both_backends_succeed_and_agree_on_profiles_with_extreme_values(extreme_engines, data):
    assume(derived_facts_are_finite(extreme_engines[0], data))
    assess_both(extreme_engines, data)


# Values at and next to each other around the C core's limits, so that comparisons tie.
BASES = (0, 1, 2**53, 2**63, 2**64, 10**22, 10**30)


def neighbouring_numbers(base: int) -> st.SearchStrategy:
    """Profiles whose compared numbers are each the base, or one integer or one double off it.

    Each number may be left out, so that a fact often holds only numbers the C core reads.
    """
    near_int = st.sampled_from([n for n in (base - 1, base, base + 1) if n >= 0])
    nudged = [math.nextafter(float(base), math.inf), math.nextafter(float(base), 0.0)]
    near_float = st.one_of(near_int.map(float), st.sampled_from(nudged))
    organisation = {"yearly_income": near_float, "free_reserves": near_float, "staff": near_float}
    reach = {"people_per_year": near_int, "level_of_need": near_int}
    contract = {"status": "offered", "payment_model": "block", "length_months": 12}
    return st.fixed_dictionaries(
        {},
        optional={
            "organisation": st.fixed_dictionaries(
                {}, optional=organisation | {"volunteers": near_int}
            ),
            "reach": st.fixed_dictionaries({}, optional=reach),
            "contracts": st.lists(
                near_float.map(lambda value: contract | {"value": value}), max_size=1
            ),
        },
    )


@settings(derandomize=True, max_examples=120, deadline=None, database=None)
@given(data=st.sampled_from(BASES).flatmap(neighbouring_numbers))
def test_both_backends_agree_where_extreme_numbers_meet_their_neighbours(extreme_engines, data):
    assume(derived_facts_are_finite(extreme_engines[0], data))
    assess_both(extreme_engines, data)
