"""Loading rulesets: every check names the file, the line, the rule and the offending text."""

from __future__ import annotations

import math

import pytest

from scaleready.assessment.engine import Engine
from scaleready.errors import RulesetError
from scaleready.language import durable
from scaleready.language.ruleset import MAX_WEIGHT, MIN_WEIGHT, load_ruleset
from scaleready.language.size import MAX_ALTERNATIVES, MAX_DEPTH, MAX_GROUPS
from scaleready.profile import profile_from_data
from tests.conftest import LANGUAGE_RULESET, write

HEADER = """\
id: demo
title: Demo
version: 1.0.0
summary: A ruleset for tests.
references:
  - id: src
    title: A source
rules:
"""


def rule(rule_id: str, condition: str, level: int = 1, extra: str = "") -> str:
    return f"""\
  - id: {rule_id}
    title: Rule {rule_id}
    level: {level}
    condition: '{condition}'
    pass: Passed.
    fail: Failed.
    advice: Do it.
    references: [src]
{extra}"""


def load(tmp_path, body: str):
    return load_ruleset(
        write(tmp_path / "demo.yaml", HEADER + body), {"largest_funder_share": "number"}
    )


def problem(tmp_path, body: str) -> str:
    with pytest.raises(RulesetError) as caught:
        load(tmp_path, body)
    return str(caught.value)


def problem_in(tmp_path, text: str) -> str:
    """The error of a whole ruleset file."""
    with pytest.raises(RulesetError) as caught:
        load_ruleset(write(tmp_path / "demo.yaml", text), {})
    return str(caught.value)


def test_a_valid_ruleset_loads_with_its_hash_and_rules_in_file_order(tmp_path):
    ruleset = load(tmp_path, rule("b", "passed(a)") + rule("a", "reach.sites > 1"))
    assert [r.id for r in ruleset.rules] == ["b", "a"]
    assert [r.id for r in ruleset.evaluation_order] == ["a", "b"]
    assert len(ruleset.sha256) == 64 and ruleset.version == "1.0.0"
    assert ruleset.rule("a").fields == ("reach.sites",)


def test_a_condition_that_calls_a_function_is_rejected_naming_the_rule_and_line(tmp_path):
    message = problem(tmp_path, rule("ok", "reach.sites > 1") + rule("sneaky", 'os.system("ls")'))
    assert "demo.yaml:20" in message
    assert "rule 'sneaky'" in message and "unknown function 'os.system'" in message


def test_an_unknown_field_is_rejected_with_the_nearest_name(tmp_path):
    message = problem(tmp_path, rule("r", "reach.site > 1"))
    assert (
        "rule 'r'" in message
        and "did you mean 'reach.sites'" in message
        and "demo.yaml:12" in message
    )


def test_duplicate_rule_ids_are_rejected(tmp_path):
    assert "rule 'r': the id is used twice" in problem(tmp_path, rule("r", "reach.sites > 1") * 2)


def test_rules_that_cite_each_other_in_a_cycle_are_rejected(tmp_path):
    message = problem(
        tmp_path, rule("a", "passed(b)") + rule("b", "passed(c)") + rule("c", "passed(a)")
    )
    assert "cycle: a -> b -> c -> a" in message


def test_a_rule_that_cites_itself_is_rejected(tmp_path):
    assert "refers to itself" in problem(tmp_path, rule("a", "passed(a) or reach.sites > 1"))


def test_an_unknown_reference_id_is_rejected(tmp_path):
    body = rule("a", "reach.sites > 1").replace("[src]", "[srcs]")
    assert "cites unknown reference 'srcs'; did you mean 'src'?" in problem(tmp_path, body)


def test_an_unknown_key_is_rejected_with_the_nearest_key_and_line(tmp_path):
    body = rule("a", "reach.sites > 1", extra="    wieght: 2\n")
    message = problem(tmp_path, body)
    assert (
        "line 17" in message
        and "unknown key 'wieght'; did you mean 'weight'?" in message
        and "rule 'a'" in message
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("version: 1.0.0", "version: one"), "version"),
        (("level: 1", "level: 7"), "level"),
        (("rules:\n", "rules: []\n"), "rules"),
    ],
    ids=["bad_version", "level_out_of_range", "no_rules"],
)
def test_invalid_fields_are_named(tmp_path, change, message):
    text = (HEADER + rule("a", "reach.sites > 1")).replace(*change)
    if change[0] == "rules:\n":
        text = HEADER.replace(*change)
    with pytest.raises(RulesetError, match=message):
        load_ruleset(write(tmp_path / "demo.yaml", text), {})


def test_every_problem_of_a_file_is_reported_at_once_each_with_its_line(tmp_path):
    body = (
        rule("a", "reach.site > 1", level=7)  # a bad level (format) and a bad field (condition)
        + rule("b", "passed(a)").replace("[src]", "[srcs]")  # an unknown reference
        + rule("c", "reach.sites >> 1")  # a condition that does not parse
    )
    message = problem_in(tmp_path, HEADER.replace("1.0.0", "0.1") + body)
    assert message.startswith(f"{tmp_path / 'demo.yaml'}: 5 problems:\n")
    lines = message.splitlines()[1:]
    assert lines[0] == "  line 3: version: expected text, got 0.1; write it as text like '0.1.0'"
    assert lines[1].startswith("  line 11: rule 'a': rules.1.level: must be at most 5")
    assert lines[2].startswith("  line 12: rule 'a': condition 'reach.site > 1': unknown field")
    assert lines[3].startswith("  line 24: rule 'b': cites unknown reference 'srcs'")
    assert lines[4].startswith("  line 28: rule 'c': condition 'reach.sites >> 1'")


def test_a_version_written_as_a_number_asks_for_text_like_0_1_0(tmp_path):
    message = problem_in(tmp_path, HEADER.replace("1.0.0", "0.1") + rule("a", "reach.sites > 1"))
    assert "line 3: version: expected text, got 0.1; write it as text like '0.1.0'" in message


def test_rules_that_are_all_invalid_are_not_called_too_few(tmp_path):
    message = problem(tmp_path, rule("a", "reach.sites > 1", level=9) + rule("b", "x", level=0))
    assert "3 problems" in message and "at least one item" not in message
    assert "Tuple" not in message


def test_a_version_in_another_form_says_the_form_wanted(tmp_path):
    message = problem_in(tmp_path, HEADER.replace("1.0.0", "'v1'") + rule("a", "reach.sites > 1"))
    assert "version: expected a version of three numbers, like '0.1.0'" in message


def test_no_rules_at_all_asks_for_one(tmp_path):
    message = problem(tmp_path, "").replace("\n", " ")
    assert "rules: " in message and "Tuple" not in message


def test_a_yaml_tag_that_would_run_code_is_rejected_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    text = (
        HEADER
        + rule("a", "reach.sites > 1")
        + f"extra: !!python/object/apply:os.system ['touch {marker}']\n"
    )
    with pytest.raises(RulesetError, match="not allowed"):
        load_ruleset(write(tmp_path / "demo.yaml", text), {})
    assert not marker.exists()


def test_derived_facts_must_be_registered(tmp_path):
    assert load(tmp_path, rule("a", "derived.largest_funder_share <= 0.5")).rule("a").derived == (
        "largest_funder_share",
    )
    assert "unknown derived fact 'largest_funder_shares'" in problem(
        tmp_path, rule("a", "derived.largest_funder_shares < 1")
    )


# --- bounds on what a rule compiles into: each past a bound is an error naming the rule ---------


def values(count: int) -> str:
    return ", ".join(str(number) for number in range(count))


@pytest.mark.parametrize(
    ("condition", "outcome", "size"),
    [
        (f"reach.sites in [{values(MAX_ALTERNATIVES + 1)}]", "pass", 33),
        (f"reach.sites not in [{values(MAX_ALTERNATIVES + 1)}]", "fail", 33),
        (" or ".join(f"reach.sites > {n}" for n in range(MAX_ALTERNATIVES + 1)), "pass", 33),
        (
            "not (" + " and ".join(f"reach.sites != {n}" for n in range(33)) + ")",
            "pass",
            33,
        ),
        (" or ".join(f"any(contracts, lots > {n})" for n in range(6)), "fail", 64),
        (
            "(reach.sites > 1 or reach.areas > 1) and (reach.sites > 2 or reach.areas > 2) "
            "and (reach.sites > 3 or reach.areas > 3) and (reach.sites > 4 or reach.areas > 4) "
            "and (reach.sites > 5 or reach.areas > 5) and (reach.sites > 6 or reach.areas > 6)",
            "pass",
            64,
        ),
    ],
    ids=["in_list", "not_in_list", "or_chain", "negated_and", "negated_any", "and_of_ors"],
)
def test_a_rule_with_too_many_alternatives_is_rejected_naming_the_outcome(
    tmp_path, condition, outcome, size
):
    message = problem(tmp_path, rule("wide", condition))
    assert "demo.yaml:12: rule 'wide': condition " in message
    assert f"deciding {outcome!r} takes {size} alternatives (at most {MAX_ALTERNATIVES})" in message


def test_rules_at_the_bounds_load(tmp_path):
    rules = [
        rule("in_list", f"reach.sites in [{values(MAX_ALTERNATIVES)}]"),
        rule("any", " or ".join(f"any(contracts, lots > {n})" for n in range(5))),
        rule("groups", nested_groups(MAX_GROUPS // 2)),
    ]
    ruleset = load(tmp_path, "".join(rules))
    sizes = {r.id: r.size.outcomes() for r in ruleset.rules}
    assert sizes["in_list"]["pass"].paths == MAX_ALTERNATIVES
    assert ruleset.rule("in_list").size.alternatives() == MAX_ALTERNATIVES + 1  # and one to fail
    assert sizes["any"]["fail"].paths == 2**5
    assert sizes["groups"]["pass"].groups == MAX_GROUPS


def nested_groups(levels: int) -> str:
    """``and`` and ``or`` alternating ``2 * levels`` groups deep, with few alternatives."""
    opening = "".join(f"reach.sites > {n} and (reach.areas > {n} or " for n in range(levels))
    return opening + "replication.manual" + ")" * levels


def test_a_rule_of_too_many_and_or_groups_is_rejected(tmp_path):
    message = problem(tmp_path, rule("deep", nested_groups(MAX_GROUPS // 2 + 1)))
    assert "rule 'deep'" in message and f"14 and/or groups (at most {MAX_GROUPS})" in message


def test_the_size_of_a_cited_rule_counts_in_the_rule_that_cites_it(tmp_path):
    body = rule("base", "reach.sites in [1, 2, 3, 4, 5, 6]")
    body += rule("twice", "passed(base) or failed(base)")  # fine alone, 6 + 1 alternatives
    body += rule("again", "passed(twice) and passed(twice) and passed(twice)")  # 7 ** 3
    message = problem(tmp_path, body)
    assert "rule 'again'" in message and "deciding 'pass' takes 343 alternatives" in message
    assert "counting `in` lists, negations and the rules it cites" in message


def test_a_long_chain_of_citations_is_rejected_past_the_depth_bound(tmp_path):
    chain = rule("r0", "reach.sites > 1")
    chain += "".join(rule(f"r{n}", f"passed(r{n - 1})") for n in range(1, MAX_DEPTH + 2))
    message = problem(tmp_path, chain)
    assert f"nested {MAX_DEPTH + 1} levels deep, counting the rules it cites" in message
    assert f"rule 'r{MAX_DEPTH - 1}'" in message


def test_an_applies_when_too_large_is_named_as_such(tmp_path):
    extra = f"    applies_when: 'reach.sites in [{values(40)}]'\n"
    message = problem(tmp_path, rule("a", "reach.areas > 1", extra=extra))
    assert "rule 'a': applies_when 'reach.sites in [0, 1, 2," in message
    assert "deciding that it applies takes 40 alternatives" in message


def test_a_long_condition_is_cut_in_the_message(tmp_path):
    condition = " or ".join(["reach.sites > 1"] * 100)
    message = problem(tmp_path, rule("long", condition))
    assert f"... ({len(condition):,} characters): too large for the rules engine" in message
    assert len(message) < 600


# --- the bounds, measured against the real durable_rules engine ---------------------------------

AT_THE_BOUNDS = {
    "or_chain": " or ".join(f"reach.sites > {n}" for n in range(MAX_ALTERNATIVES)),
    "in_list": f"reach.sites in [{values(MAX_ALTERNATIVES)}]",
    "groups": nested_groups(MAX_GROUPS // 2),
    "quantifiers": " or ".join(f"any(contracts, lots > {n})" for n in range(5)),
    "product": " and ".join(f"(reach.sites > {n} or reach.areas > {n})" for n in range(5)),
}
EVERYTHING_MATCHES = {
    "name": "Matches every alternative",
    "reach": {"sites": 1000, "areas": 1000},
    "replication": {"manual": True},
    "contracts": [{"lots": 100}, {"lots": 200}],
}


def outcomes_on_both_backends(ruleset, data: dict = EVERYTHING_MATCHES) -> list[dict[str, str]]:
    profile = profile_from_data(data)
    cards = [Engine([ruleset], backend=b).assess(profile) for b in ("durable_rules", "python")]
    return [{r.id: r.outcome for d in card.dimensions for r in d.rules} for card in cards]


@pytest.mark.skipif(not durable.AVAILABLE, reason="durable_rules cannot be imported here")
@pytest.mark.parametrize("rule_id", AT_THE_BOUNDS)
def test_a_rule_at_the_bounds_runs_on_durable_rules_with_every_alternative_matching(
    tmp_path, rule_id
):
    ruleset = load(tmp_path, rule(rule_id, AT_THE_BOUNDS[rule_id]))
    durable, python = outcomes_on_both_backends(ruleset)
    assert durable == python and durable[rule_id] in ("pass", "fail")


@pytest.mark.skipif(not durable.AVAILABLE, reason="durable_rules cannot be imported here")
def test_rules_at_the_bounds_run_together_in_one_ruleset(tmp_path):
    ruleset = load(tmp_path, "".join(rule(key, text) for key, text in AT_THE_BOUNDS.items()))
    durable, python = outcomes_on_both_backends(ruleset)
    assert durable == python and len(durable) == len(AT_THE_BOUNDS)


@pytest.mark.skipif(not durable.AVAILABLE, reason="durable_rules cannot be imported here")
def test_wide_rules_together_stay_within_the_engines_stack(tmp_path):
    fields = ("reach.sites", "reach.areas", "reach.people_per_year")
    body = "".join(
        rule(f"wide_{n}", " or ".join(f"{field} > {k}" for k in range(22)))
        for n, field in enumerate(fields)
    )
    data = EVERYTHING_MATCHES | {"reach": {"sites": 1000, "areas": 1000, "people_per_year": 1000}}
    durable, python = outcomes_on_both_backends(load(tmp_path, body), data)
    assert durable == python


def durable_json_size(condition: dict) -> tuple[int, int, int]:
    """(tests, paths, groups) of durable_rules JSON, counted from the JSON itself."""
    ((key, value),) = condition.items() if len(condition) == 1 else [(None, None)]
    if key in ("$and", "$or"):
        parts = [durable_json_size(part) for part in value]
        paths = [part[1] for part in parts]
        return (
            sum(part[0] for part in parts),
            math.prod(paths) if key == "$and" else sum(paths),
            1 + sum(part[2] for part in parts),
        )
    if key in ("$iany", "$iall"):
        tests, _, groups = durable_json_size(next(iter(value.values())))
        return 1 + tests, 1, groups
    return 1, 1, 0


def compiled_json(ruleset, rule_) -> dict[str, dict]:
    """The durable_rules conditions durable_backend compiles a rule's outcomes into."""

    def cited(rule_id):
        return ruleset.rule(rule_id).condition, ruleset.rule(rule_id).applies

    to_run = durable.RuleToRun("k", rule_.condition, rule_.applies, cited)
    return durable._Compiler().outcome_conditions(to_run)


def test_the_measured_size_is_the_size_of_what_durable_backend_compiles(registry):
    rulesets = [*registry.rulesets.values(), load_ruleset(LANGUAGE_RULESET, registry.fact_kinds())]
    compared = 0
    for ruleset in rulesets:
        for rule_ in ruleset.rules:
            model = rule_.size.outcomes()
            for outcome, condition in compiled_json(ruleset, rule_).items():
                shape = model[outcome]
                assert durable_json_size(condition) == (shape.tests, shape.paths, shape.groups)
                compared += 1
    assert compared > 100


@pytest.mark.parametrize(
    ("weight", "message"),
    [
        (".inf", "Input should be a finite number"),
        (".nan", "Input should be a finite number"),
        ("1001", "must be at most 1000, got 1001"),
        ("0.0001", "must be at least 0.001, got 0.0001"),
        ("0", "must be at least 0.001, got 0"),
    ],
    ids=["infinite", "nan", "too_large", "too_small", "zero"],
)
def test_a_weight_outside_the_documented_range_is_rejected(tmp_path, weight, message):
    rule_weight = problem(tmp_path, rule("a", "reach.sites > 1", extra=f"    weight: {weight}\n"))
    assert "line 17: rule 'a': rules.1.weight" in rule_weight and message in rule_weight
    text = (HEADER + rule("a", "reach.sites > 1")).replace(
        "summary:", f"weight: {weight}\nsummary:"
    )
    with pytest.raises(RulesetError) as caught:
        load_ruleset(write(tmp_path / "demo.yaml", text), {})
    assert "line 4: weight" in str(caught.value) and message in str(caught.value)


def test_weights_at_the_ends_of_the_range_load(tmp_path):
    body = rule("a", "reach.sites > 1", extra=f"    weight: {MIN_WEIGHT}\n")
    body += rule("b", "reach.sites > 2", extra=f"    weight: {MAX_WEIGHT}\n")
    assert [r.spec.weight for r in load(tmp_path, body).rules] == [MIN_WEIGHT, MAX_WEIGHT]
