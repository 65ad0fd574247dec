"""Data gaps: the missing fields that left rules unknown, and the list items that lack them."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from tests.conftest import REPO, invoke

TWO_OF_THREE = REPO / "tests/profiles/attrition-missing-in-two-of-three.yaml"


@pytest.fixture(scope="module")
def gaps() -> dict[str, dict]:
    """The evidence dimension's data gaps of the profile whose trials lack attrition, by field,
    as `assess --format json` gives them."""
    result = invoke(
        CliRunner(), "assess", TWO_OF_THREE, "--ruleset", "evidence", "--format", "json"
    )
    assert result.exit_code == 0, result.output
    (evidence,) = json.loads(result.output)["dimensions"]
    return {gap["field"]: gap for gap in evidence["data_gaps"]}


def test_a_field_of_list_items_names_each_item_that_lacks_it_with_its_title(gaps):
    gap = gaps["evidence.evaluations[].attrition"]
    assert gap["missing_in"] == [
        {"path": "evidence.evaluations[0]", "name": "Jones 2019 <Leeds & Bradford>"},
        {"path": "evidence.evaluations[2]", "name": "Okafor 2023, a trial in Glasgow"},
    ]
    assert gap["list_items"] == 3


def test_a_field_of_nested_list_items_names_each_by_its_whole_path_and_measure(gaps):
    gap = gaps["evidence.evaluations[].outcomes[].measured_by"]
    assert gap["missing_in"] == [
        {"path": f"evidence.evaluations[{n}].outcomes[0]", "name": "reading age"} for n in range(3)
    ]
    assert gap["list_items"] == 3


@pytest.mark.parametrize(
    "field",
    ["model.unit_cost", "replication.replications"],
    ids=["a field outside lists", "a whole list missing"],
)
def test_a_gap_outside_list_items_names_no_items(gaps, field):
    assert (gaps[field]["missing_in"], gaps[field]["list_items"]) == ([], 0)


def test_an_item_name_with_double_quotes_is_not_shown_inside_nested_double_quotes():
    from scaleready.assessment.scorecard import DataGap, GapItem
    from scaleready.report.levels import missing_in_text

    item = GapItem(path="evidence.evaluations[1]", name='hostile bias ("What Would I Do")')
    gap = DataGap(
        field="evidence.evaluations[].attrition",
        meaning=None,
        unlocks=3,
        rules=["evidence.low_attrition"],
        missing_in=[item],
        list_items=2,
    )
    text = missing_in_text(gap)
    assert (
        text
        == "missing in 1 of 2 items: evidence.evaluations[1] (\"hostile bias ('What Would I Do')\")"
    )
