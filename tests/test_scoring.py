"""Scoring: rule outcomes to scores, levels, next steps and the overall verdict."""

from __future__ import annotations

import pytest

from scaleready.assessment.scoring import (
    Judgement,
    dimension_score,
    overall_verdict,
    reached_level,
    score_dimension,
)
from scaleready.language.ruleset import load_ruleset
from tests.conftest import write
from tests.test_rules import HEADER, rule


def result(level: int, outcome: str, weight: float = 1) -> dict:
    return {"id": f"r{level}{outcome}", "level": level, "weight": weight, "outcome": outcome}


@pytest.mark.parametrize(
    ("outcomes", "level"),
    [
        ([(1, "pass"), (2, "pass"), (3, "fail")], 2),
        ([(1, "fail"), (2, "pass")], 0),
        ([(1, "pass"), (2, "unknown"), (3, "pass")], 1),
        ([(1, "pass"), (2, "not_applicable"), (3, "pass")], 3),
        ([(1, "pass"), (3, "pass")], 3),
        ([(1, "pass"), (2, "error")], 1),
        ([(1, "pass"), (2, "pass")], 2),
    ],
    ids=[
        "stops_at_first_unmet",
        "level_one_unmet",
        "unknown_blocks",
        "not_applicable_does_not_block",
        "empty_level_is_no_obstacle",
        "error_blocks",
        "capped_at_highest_rule_level",
    ],
)
def test_a_level_is_reached_when_every_rule_of_that_level_and_below_is_met(outcomes, level):
    assert reached_level([result(lvl, outcome) for lvl, outcome in outcomes]) == level


def test_the_score_is_the_weighted_share_of_applicable_rules_passed():
    results = [
        result(1, "pass", 3),
        result(2, "fail", 1),
        result(3, "unknown", 1),
        result(4, "not_applicable", 5),
    ]
    assert dimension_score(results) == 60.0


def test_the_overall_verdict_names_every_dimension_at_the_lowest_level(engine, tmp_path):
    ruleset = load_ruleset(
        write(
            tmp_path / "d.yaml",
            HEADER + rule("a", "reach.sites > 1") + rule("b", "reach.areas > 1", 2),
        ),
        {},
    )
    low = score_dimension(ruleset, {"a": Judgement("pass"), "b": Judgement("fail")})
    high = score_dimension(ruleset, {"a": Judgement("pass"), "b": Judgement("pass")})
    verdict = overall_verdict([low, {**high, "id": "other", "title": "Other"}])
    assert verdict["level"] == 1 and verdict["bottleneck"] == ["demo"] and verdict["score"] == 75.0
    assert "held back by Demo;" in verdict["summary"]


def test_next_steps_are_the_unmet_rules_of_the_lowest_unmet_level(tmp_path):
    body = (
        rule("a", "reach.sites > 1")
        + rule("b", "reach.areas > 1", 2)
        + rule("c", "reach.areas > 2", 2)
        + rule("d", "reach.areas > 3", 3)
    )
    ruleset = load_ruleset(write(tmp_path / "d.yaml", HEADER + body), {})
    judgements = {
        "a": Judgement("pass"),
        "b": Judgement("unknown", ("reach.areas",)),
        "c": Judgement("fail"),
        "d": Judgement("fail"),
    }
    dimension = score_dimension(ruleset, judgements)
    assert [(step["rule"], step["outcome"]) for step in dimension["next_steps"]] == [
        ("b", "unknown"),
        ("c", "fail"),
    ]
    assert "Supply reach.areas" in dimension["next_steps"][0]["action"]
    assert [gap["field"] for gap in dimension["data_gaps"]] == ["reach.areas"]


def test_a_bottleneck_held_only_by_missing_data_says_so(tmp_path):
    ruleset = load_ruleset(write(tmp_path / "d.yaml", HEADER + rule("a", "reach.sites > 1")), {})
    dimension = score_dimension(ruleset, {"a": Judgement("unknown", ("reach.sites",))})
    assert "Demo (not yet known: data missing)" in overall_verdict([dimension])["summary"]


def test_the_potential_level_and_score_count_every_unknown_as_passed(tmp_path):
    body = (
        rule("a", "reach.sites > 1")
        + rule("b", "reach.areas > 1", 2)
        + rule("c", "reach.areas > 9", 3)
    )
    ruleset = load_ruleset(write(tmp_path / "d.yaml", HEADER + body), {})
    unknown = Judgement("unknown", ("reach.areas",))
    dimension = score_dimension(ruleset, {"a": Judgement("pass"), "b": unknown, "c": unknown})
    assert (dimension["level"], dimension["potential_level"]) == (1, 3)
    assert (dimension["score"], dimension["potential_score"]) == (pytest.approx(33.3), 100.0)
    failed = score_dimension(
        ruleset, {"a": Judgement("pass"), "b": Judgement("fail"), "c": unknown}
    )
    assert failed["potential_level"] == 1  # a fail stands whatever the data says


def test_data_gaps_say_what_they_could_unlock_nearest_first(tmp_path):
    body = (
        rule("a", "reach.sites > 1")
        + rule("b", "reach.areas > 1", 2)
        + rule("c", "organisation.staff > 1", 3)
        + rule("d", "organisation.volunteers > 1", 4)
        + rule("e", "organisation.yearly_income > 1", 5)
    )
    ruleset = load_ruleset(write(tmp_path / "d.yaml", HEADER + body), {})
    judgements = {
        "a": Judgement("pass"),
        "b": Judgement("unknown", ("reach.areas",)),
        "c": Judgement("unknown", ("organisation.staff",)),
        "d": Judgement("fail"),
        "e": Judgement("unknown", ("organisation.yearly_income",)),
    }
    gaps = score_dimension(ruleset, judgements)["data_gaps"]
    assert [(g["field"], g["unlocks"]) for g in gaps] == [
        ("reach.areas", 2),
        ("organisation.staff", 3),
        ("organisation.yearly_income", None),  # level 4 fails first: it can unlock nothing
    ]
    assert gaps[0]["meaning"] and gaps[0]["rules"] == ["b"]


def test_an_unknown_rule_asks_for_data_and_never_for_the_failure_remedy(tmp_path):
    ruleset = load_ruleset(write(tmp_path / "d.yaml", HEADER + rule("a", "reach.sites > 1")), {})
    dimension = score_dimension(ruleset, {"a": Judgement("unknown", ("reach.sites",))})
    (step,) = dimension["next_steps"]
    assert step["action"].startswith("Supply reach.sites (") and "Do it." not in step["action"]
    verdict = overall_verdict([dimension])
    assert "level 1 possible once `reach.sites` is supplied" in verdict["summary"]
    assert verdict["potential_level"] == 1 and verdict["potential_score"] == 100.0
    assert "(up to 100 with the missing data)" in verdict["summary"]


def test_a_missing_yes_no_field_is_asked_for_as_the_question_it_asks(tmp_path):
    condition = "any(partnerships, early_adopter)"
    ruleset = load_ruleset(write(tmp_path / "d.yaml", HEADER + rule("a", condition)), {})
    dimension = score_dimension(
        ruleset, {"a": Judgement("unknown", ("partnerships[].early_adopter",))}
    )
    (step,) = dimension["next_steps"]
    assert step["action"].startswith("Supply partnerships[].early_adopter (whether the partner ")
    assert dimension["data_gaps"][0]["meaning"].startswith("whether the partner ")
