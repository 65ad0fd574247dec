"""Loading rulesets: every check names the file, the line, the rule and the offending text."""

from __future__ import annotations

import pytest

from scaleready.errors import RulesetError
from scaleready.rules import load_ruleset
from tests.conftest import write

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
