"""One formatter words every document's validation errors: lines, field paths, plain words."""

from __future__ import annotations

from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from scaleready.documents import load_document
from scaleready.errors import InputError
from scaleready.problems import MAX_PROBLEMS_SHOWN, did_you_mean, validation_problems


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

    id: str
    pass_text: str | None = Field(None, alias="pass")
    kind: Literal["walk", "run"] | None = None


class Plan(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

    name: str = Field(min_length=1)
    weights: dict[str, Annotated[float, Field(gt=0)]] = Field(default_factory=dict)
    steps: list[Step] = Field(default_factory=list)
    share: float | None = Field(None, ge=0, le=1, examples=[0.3])


def message(tmp_path, text: str) -> str:
    path = tmp_path / "plan.yaml"
    path.write_text(text, encoding="utf-8")
    document = load_document(path, InputError)
    with pytest.raises(ValidationError) as caught:
        Plan.model_validate(document.data)
    return validation_problems(caught.value, Plan, document)


def test_problems_come_in_document_order_with_their_lines_and_paths_from_1(tmp_path):
    text = "steps:\n  - id: a\n  - id: 3\nname: ''\n"
    assert message(tmp_path, text).splitlines() == [
        "2 problems:",
        "  line 3: steps.2.id: expected text, got 3",
        "  line 4: name: must not be empty",
    ]


def test_an_unknown_key_is_matched_against_the_keys_of_its_own_section_aliases_included(tmp_path):
    assert "line 3: steps.1: unknown key 'pas'; did you mean 'pass'?" in message(
        tmp_path, "name: x\nsteps:\n  - {id: a, pas: ok}\n"
    )


def test_an_unknown_key_with_no_near_name_lists_the_keys_allowed_there(tmp_path):
    assert message(tmp_path, "name: x\nzebra: 1\n") == (
        "line 2: top level: unknown key 'zebra'; "
        "the keys allowed here are name, weights, steps, share"
    )


NUMBER_ADVICE = "write a plain number without units or commas, e.g. 0.3"
NOT_NUMBERS = "(true, false and quoted numbers are not numbers)"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "share: '0.3'",
            "share: expected a number, got '0.3'; remove the quotes around the number",
        ),
        ("share: lots", f"share: expected a number, got 'lots'; {NUMBER_ADVICE}"),
        ("share: 30", "share: must be at most 1, got 30; shares are fractions: write 0.3 for 30%"),
        ("weights: {a: 0}", "weights.a: must be more than 0, got 0"),
        ("weights: {a: true}", f"weights.a: expected a number {NOT_NUMBERS}, got true"),
        (
            "steps: [{id: a, kind: rnu}]",
            "steps.1.kind: 'rnu' is not one of the choices; did you mean 'run'?",
        ),
        (
            "steps: [{id: a, kind: 7}]",
            "steps.1.kind: 7 is not one of the choices; use one of: walk, run",
        ),
        ("steps: [{kind: run}]", "steps.1.id: is required; add it"),
    ],
    ids=[
        "quoted_number",
        "words",
        "above_maximum",
        "not_above_bound",
        "boolean",
        "misspelt_choice",
        "not_a_choice",
        "missing",
    ],
)
def test_each_kind_of_mistake_is_said_in_plain_words_with_what_to_do(tmp_path, text, expected):
    assert expected in message(tmp_path, f"name: x\n{text}\n")


def test_many_problems_show_the_first_and_count_the_rest(tmp_path):
    text = "name: x\n" + "".join(f"key{n}: 1\n" for n in range(MAX_PROBLEMS_SHOWN + 5))
    lines = message(tmp_path, text).splitlines()
    assert lines[0] == f"{MAX_PROBLEMS_SHOWN + 5} problems:"
    assert lines[1].startswith("  line 2: top level: unknown key 'key0'")
    assert lines[-1] == "  ... and 5 more"


def test_an_owner_is_named_before_the_path():
    with pytest.raises(ValidationError) as caught:
        Plan.model_validate({"name": "x", "steps": [{"id": 1}]})
    text = validation_problems(caught.value, Plan, owner=lambda location: "step 'a': ")
    assert text == "step 'a': steps.1.id: expected text, got 1"


def test_did_you_mean_names_the_nearest_candidate_or_says_otherwise():
    assert did_you_mean("weigths", ["weights", "name"]) == "did you mean 'weights'?"
    assert did_you_mean("zzz", ["weights"], otherwise="see the docs") == "see the docs"
