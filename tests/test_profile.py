"""The innovation profile model, its loader and its messages."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

import pytest
import yaml
from annotated_types import MaxLen
from pydantic import BaseModel

from scaleready.documents import MAX_LIST_ITEMS, MAX_NESTED_LIST_ITEMS
from scaleready.errors import ProfileError, ProfileVersionWarning
from scaleready.problems import MAX_PROBLEMS_SHOWN
from scaleready.profile import (
    EVALUATION_DESIGNS,
    InnovationProfile,
    field_catalogue,
    load_profile,
    load_profile_with_hash,
    profile_from_data,
    profile_json_schema,
    profile_template,
    read_version_1,
)
from tests.conftest import run_scaleready

EXAMPLES = Path(__file__).parent.parent / "examples"
RESERVED = {"id", "sid", "m", "scaleready"}


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path) -> str:
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    return str(caught.value)


@pytest.mark.parametrize("name", ["code-club.yaml", "local-start.yaml"], ids=str)
def test_example_profiles_are_valid(name):
    assert load_profile(EXAMPLES / name).name


def test_code_club_example_keeps_its_facts():
    profile = load_profile(EXAMPLES / "code-club.yaml")
    assert profile.reach.sites == 3472
    assert profile.evidence.evaluations[0].design == "rct"
    assert profile.organisation.yearly_income is None  # not in the sources: unknown, not zero
    assert "reach.people_per_year" in profile.estimates


def test_load_with_hash_returns_the_sha256_of_the_file_bytes():
    path = EXAMPLES / "local-start.yaml"
    _, digest = load_profile_with_hash(path)
    assert digest == hashlib.sha256(path.read_bytes()).hexdigest()


def test_unknown_key_names_the_key_its_line_and_the_nearest_field(tmp_path):
    path = write(tmp_path, "p.yaml", "name: x\norganisation:\n  yearly_incom: 1000\n")
    assert problems(path) == (
        f"{path}: line 3: organisation: unknown key 'yearly_incom'; did you mean 'yearly_income'?"
    )


def test_unknown_key_without_a_near_match_lists_the_allowed_keys(tmp_path):
    path = write(tmp_path, "p.yaml", "name: x\nreach:\n  zebra: 1\n")
    assert "unknown key 'zebra'; the keys allowed here are sites, areas" in problems(path)


def test_wrong_type_names_the_field_the_line_and_the_value(tmp_path):
    path = write(tmp_path, "p.yaml", "name: x\norganisation:\n  free_reserves: lots\n")
    text = problems(path)
    assert "line 3: organisation.free_reserves: expected a number, got 'lots'" in text


def test_a_quoted_number_is_not_silently_accepted(tmp_path):
    path = write(tmp_path, "p.yaml", "name: x\nreach:\n  sites: '40'\n")
    assert "reach.sites: expected a whole number, got '40'; remove the quotes" in problems(path)


def test_a_number_written_with_an_exponent_is_a_number(tmp_path):
    text = "name: x\norganisation:\n  yearly_income: 1e6\n  free_reserves: 2.5e5\n"
    profile = load_profile(write(tmp_path, "p.yaml", text))
    assert (profile.organisation.yearly_income, profile.organisation.free_reserves) == (1e6, 2.5e5)


def test_a_quoted_exponent_stays_text_and_the_advice_to_unquote_it_now_works(tmp_path):
    path = write(tmp_path, "p.yaml", "name: x\norganisation:\n  yearly_income: '1e6'\n")
    assert "got '1e6'; remove the quotes around the number" in problems(path)
    unquoted = write(tmp_path, "q.yaml", "name: x\norganisation:\n  yearly_income: 1e6\n")
    assert load_profile(unquoted).organisation.yearly_income == 1e6


def test_text_that_is_no_number_gets_no_advice_to_unquote_it(tmp_path):
    path = write(tmp_path, "p.yaml", "name: x\norganisation:\n  yearly_income: '1,000'\n")
    assert "write a plain number without units or commas" in problems(path)


def test_a_whole_number_is_accepted_where_a_number_is_expected():
    profile = profile_from_data({"name": "x", "organisation": {"yearly_income": 1000}})
    assert profile.organisation.yearly_income == 1000.0


def test_item_fields_are_numbered_from_1_as_the_csv_columns_are(tmp_path):
    text = "name: x\nevidence:\n  evaluations:\n    - design: rct\n    - design: rtc\n"
    text = problems(write(tmp_path, "p.yaml", text))
    assert (
        "line 5: evidence.evaluations.2.design: 'rtc' is not one of the choices; "
        "did you mean 'rct'?" in text
    )


def test_a_contract_problem_names_the_contract_as_its_column_does(tmp_path):
    text = "name: x\ncontracts:\n  - pbr_share: 0.5\n    upfront_share: 0.7\n  - pbr_share: 2\n"
    lines = problems(write(tmp_path, "p.yaml", text)).splitlines()
    assert lines[1].endswith(
        "line 3: contracts.1: pbr_share and upfront_share add up to more than 1 (100%)"
    )
    assert lines[2].startswith("  line 5: contracts.2.pbr_share: must be at most 1, got 2")


def test_unknown_keys_in_list_items_are_numbered_from_1():
    with pytest.raises(ProfileError) as caught:
        profile_from_data({"name": "x", "sources": [{}, {"titel": "a"}]})
    assert "sources.2: unknown key 'titel'; did you mean 'title'?" in str(caught.value)


def test_every_problem_is_reported_at_once_in_document_order(tmp_path):
    text = "reach:\n  sites: many\norganisation:\n  staff: -1\n"
    lines = problems(write(tmp_path, "p.yaml", text)).splitlines()
    assert lines[0].endswith("3 problems:")
    assert [line.split(":")[0].strip() for line in lines[1:]] == ["line 2", "line 4", "name"]


def test_missing_name_is_required(tmp_path):
    assert problems(write(tmp_path, "p.yaml", "summary: x\n")).endswith("name: is required; add it")


def test_shares_above_one_get_a_hint_about_fractions(tmp_path):
    path = write(tmp_path, "p.yaml", "name: x\ncontracts:\n  - pbr_share: 30\n")
    assert "must be at most 1, got 30; shares are fractions: write 0.3 for 30%" in problems(path)


def test_estimates_must_name_real_field_paths():
    with pytest.raises(ProfileError, match="did you mean 'reach.people_per_year'"):
        profile_from_data({"name": "x", "estimates": ["reach.people_per_yer"]})


def test_json_profile_loads_and_its_errors_have_line_numbers(tmp_path):
    good = write(tmp_path, "good.json", json.dumps({"name": "x", "reach": {"sites": 4}}))
    assert load_profile(good).reach.sites == 4
    bad = write(
        tmp_path, "bad.json", '{\n  "name": "x",\n  "reach": {\n    "sites": "many"\n  }\n}'
    )
    assert "line 4: reach.sites: expected a whole number, got 'many'" in problems(bad)


def test_profile_from_data_reports_problems_without_lines():
    with pytest.raises(ProfileError) as caught:
        profile_from_data({"name": "x", "reach": {"sites": -1}}, source="application 17")
    assert str(caught.value) == "application 17: reach.sites: must be at least 0, got -1"


def test_profile_from_data_rejects_data_that_is_not_a_mapping():
    with pytest.raises(ProfileError, match="expected a mapping"):
        profile_from_data(["name"])


def test_python_tag_in_a_profile_is_rejected_and_executes_nothing(tmp_path):
    marker = tmp_path / "pwned"
    path = write(tmp_path, "p.yaml", f'name: !!python/object/apply:os.system ["touch {marker}"]\n')
    assert "line 1: the tag '!!python/object/apply:os.system' is not allowed" in problems(path)
    assert not marker.exists()


def test_template_loads_back_as_a_valid_profile_with_every_section():
    data = yaml.safe_load(profile_template())
    assert set(InnovationProfile.model_fields) <= set(data)
    assert profile_from_data(data).organisation.yearly_income is None


def test_template_describes_every_field():
    template = profile_template()
    for path, info in field_catalogue().items():
        assert f"{path.rsplit('.', 1)[-1]}:" in template, path
        assert info.description in " ".join(template.replace("#", " ").split()), path


def test_schema_has_a_description_for_every_property():
    schema = profile_json_schema()
    models = [schema, *schema["$defs"].values()]
    for model in models:
        for name, prop in model["properties"].items():
            assert prop.get("description"), name


def test_catalogue_gives_kinds_choices_and_list_membership():
    catalogue = field_catalogue()
    assert catalogue["organisation.yearly_income"].kind == "number"
    assert catalogue["organisation"].kind == "object"
    assert catalogue["partnerships"].kind == "list"
    assert catalogue["partnerships"].item_kind == "object"
    design = catalogue["evidence.evaluations.design"]
    assert (design.kind, design.choices, design.in_list) == (
        "string",
        EVALUATION_DESIGNS,
        "evidence.evaluations",
    )
    assert catalogue["evidence.evaluations.outcomes.result"].in_list == (
        "evidence.evaluations.outcomes"
    )
    assert catalogue["model.core_components"].item_kind == "string"
    assert catalogue["replication.manual"].kind == "boolean"
    assert catalogue["reach.sites"].in_list is None


def test_catalogue_gives_what_a_value_needs_to_be_valid():
    catalogue = field_catalogue()
    year, share = catalogue["figures_year"], catalogue["contracts.pbr_share"]
    assert (year.whole, year.minimum, year.maximum) == (True, 1900, 2100)
    assert (share.whole, share.minimum, share.maximum) == (False, 0, 1)
    assert catalogue["reach.people_per_year"].maximum is None
    assert catalogue["name"].required and not catalogue["summary"].required


def test_catalogue_works_for_any_pydantic_model():
    from scaleready.profile import GrowthPoint

    assert list(field_catalogue(GrowthPoint)) == ["year", "sites", "people"]


def test_no_field_uses_a_name_reserved_by_the_rules_engine():
    for path in field_catalogue():
        for part in path.split("."):
            assert part not in RESERVED and not part.startswith("$"), path


def test_evaluation_designs_run_from_weakest_to_strongest():
    assert EVALUATION_DESIGNS[0] == "case_study" and EVALUATION_DESIGNS[-1] == "rct"


def test_a_dumped_profile_loads_back_unchanged():
    profile = load_profile(EXAMPLES / "code-club.yaml")
    assert profile_from_data(profile.model_dump(mode="json")) == profile


# ---------------------------------------------------------------- bounds


def _base(annotation: Any) -> Any:
    """`X | None` -> X."""
    args = [arg for arg in get_args(annotation) if arg is not type(None)]
    return (
        args[0] if get_origin(annotation) in (Union, UnionType) and len(args) == 1 else annotation
    )


def _item(annotation: Any) -> Any | None:
    """The item type of a list field, or None for other fields."""
    base = _base(annotation)
    return get_args(base)[0] if get_origin(base) is list else None


def _is_model(kind: Any) -> bool:
    return isinstance(kind, type) and issubclass(kind, BaseModel)


def _models(model: type[BaseModel] = InnovationProfile) -> list[type[BaseModel]]:
    found = [model]
    for spec in model.model_fields.values():
        inner = _item(spec.annotation) or _base(spec.annotation)
        if _is_model(inner):
            found += [m for m in _models(inner) if m not in found]
    return found


def _max_length(spec: Any) -> int | None:
    return next((m.max_length for m in spec.metadata if isinstance(m, MaxLen)), None)


def test_every_list_in_a_profile_has_its_documented_bound():
    list_items = {_item(s.annotation) for m in _models() for s in m.model_fields.values()}
    for model in _models():
        for name, spec in model.model_fields.items():
            if _item(spec.annotation) is not None:
                expected = MAX_NESTED_LIST_ITEMS if model in list_items else MAX_LIST_ITEMS
                assert _max_length(spec) == expected, f"{model.__name__}.{name}"


def full_profile(model: type[BaseModel] = InnovationProfile) -> dict:
    """A valid profile with every field answered and every list filled to its bound."""
    return {name: _filled(name, spec) for name, spec in model.model_fields.items()}


def _filled(name: str, spec: Any) -> Any:
    item, kind = _item(spec.annotation), _base(spec.annotation)
    if item is not None:
        count = _max_length(spec)
        if _is_model(item):
            return [full_profile(item) for _ in range(count)]
        if name == "estimates":  # field paths
            paths = list(field_catalogue())
            return [paths[n % len(paths)] for n in range(count)]
        return [f"item {n}" for n in range(count)]
    if _is_model(kind):
        return full_profile(kind)
    if get_origin(kind) is Literal:
        return get_args(kind)[-1]
    if kind is bool:
        return True
    return spec.examples[0] if spec.examples else {int: 3, float: 0.5, str: "text"}[kind]


@pytest.fixture(scope="module")
def profile_at_the_bounds() -> InnovationProfile:
    return profile_from_data({**full_profile(), "name": "Every list full"})


@pytest.mark.slow
def test_a_profile_with_every_list_at_its_bound_is_valid(profile_at_the_bounds):
    assert len(profile_at_the_bounds.partnerships) == MAX_LIST_ITEMS
    evaluations = profile_at_the_bounds.evidence.evaluations
    assert len(evaluations) == MAX_LIST_ITEMS
    assert {len(e.outcomes) for e in evaluations} == {MAX_NESTED_LIST_ITEMS}


@pytest.mark.slow
def test_durable_rules_assesses_a_profile_with_every_list_at_its_bound(
    engine, profile_at_the_bounds
):
    # 100,000 partnerships made durable_rules 2.0.28 fail (error 314): the bounds keep clear
    assert engine.backend == "durable_rules"
    card = engine.assess(profile_at_the_bounds)
    assert card.profile.name == "Every list full"
    judged = [rule for dimension in card.dimensions for rule in dimension.rules]
    assert judged and all(rule.outcome != "error" for rule in judged)


@pytest.mark.parametrize(
    "data",
    [
        {"partnerships": [{}] * (MAX_LIST_ITEMS + 1)},
        {"model": {"core_components": ["a"] * (MAX_LIST_ITEMS + 1)}},
        {"evidence": {"evaluations": [{"outcomes": [{}] * (MAX_NESTED_LIST_ITEMS + 1)}]}},
    ],
    ids=["partnerships", "core_components", "outcomes"],
)
def test_a_list_over_its_bound_is_one_problem_naming_the_list(data):
    with pytest.raises(ProfileError) as caught:
        profile_from_data({"name": "x", **data})
    text = str(caught.value)
    assert "items, more than the" in text and "a list may hold here" in text
    assert "\n" not in text


def test_a_million_wrong_items_are_one_short_problem_not_a_million_lines():
    with pytest.raises(ProfileError) as caught:
        profile_from_data({"name": "x", "partnerships": [1] * 1_000_000})
    assert str(caught.value) == (
        "<data>: partnerships: holds 1,000,000 items, more than the 1,000 a list may hold "
        "here; keep the ones that matter most"
    )


def test_many_problems_show_the_first_in_document_order_and_count_the_rest(tmp_path):
    items = "".join(f"  - since: year {n}\n" for n in range(1, 31))
    lines = problems(write(tmp_path, "p.yaml", "name: x\npartnerships:\n" + items)).splitlines()
    assert lines[0].endswith("30 problems:")
    assert lines[1].startswith("  line 3: partnerships.1.since: expected a whole number")
    assert lines[MAX_PROBLEMS_SHOWN].startswith(f"  line {MAX_PROBLEMS_SHOWN + 2}:")
    assert lines[-1] == f"  ... and {30 - MAX_PROBLEMS_SHOWN} more"


@pytest.mark.slow
def test_40000_unknown_keys_are_reported_briefly(tmp_path):
    text = "name: x\n" + "".join(f"key{n}: 1\n" for n in range(40_000))
    path = write(tmp_path, "p.yaml", text)
    result = run_scaleready("profile", "validate", path)  # was quadratic: over a minute
    assert result.returncode == 3
    lines = result.stderr.splitlines()
    assert lines[0].endswith("40,000 problems:")
    assert lines[1].startswith("  line 2: top level: unknown key 'key0'")
    assert lines[-1] == f"  ... and {40_000 - MAX_PROBLEMS_SHOWN:,} more"


def test_an_unknown_key_with_a_control_character_is_quoted_so_the_message_stays_one_line():
    with pytest.raises(ProfileError) as caught:
        profile_from_data({"name": "x", "bad\x1b[2J\nkey": 1})
    text = str(caught.value)
    assert "top level: unknown key 'bad\\x1b[2J\\nkey'" in text and "\x1b" not in text
    assert len(text.splitlines()) == 1


# ---------------------------------------------------------------- version 2 of the evidence model


def study(**fields: Any) -> dict[str, Any]:
    """A version-2 profile with one study."""
    return {"name": "x", "schema_version": "2", "evidence": {"evaluations": [fields]}}


def outcome_of(data: dict[str, Any]) -> Any:
    return profile_from_data(data).evidence.evaluations[0].outcomes[0]


def test_a_version_2_study_keeps_its_groups_attrition_and_outcome_details():
    data = study(
        design="quasi_experimental",
        method="difference_in_differences",
        sample={"treatment": 120, "control": 130, "clusters": 12, "at_least": True},
        attrition=12.5,
        differential_attrition=3,
        outcomes=[{"measure": "m", "primary": True, "measured_by": "administrative_data"}],
    )
    evaluation = profile_from_data(data).evidence.evaluations[0]
    assert (evaluation.sample.treatment, evaluation.sample.control) == (120, 130)
    assert evaluation.sample.at_least and evaluation.attrition == 12.5
    assert evaluation.outcomes[0].primary and evaluation.method == "difference_in_differences"


def test_an_outcome_without_its_own_design_or_follow_up_has_its_studys():
    data = study(
        design="quasi_experimental",
        follow_up_months=12,
        outcomes=[{"measure": "exams"}, {"measure": "destinations", "design": "pre_post"}],
    )
    exams, destinations = profile_from_data(data).evidence.evaluations[0].outcomes
    assert (exams.design, exams.follow_up_months) == ("quasi_experimental", 12)
    assert destinations.design == "pre_post"


@pytest.mark.parametrize(
    ("numbers", "significant"),
    [
        ({"p_value": 0.03}, True),
        ({"p_value": 0.05}, False),
        ({"ci_lower": 0.02, "ci_upper": 0.4}, True),
        ({"ci_lower": -0.4, "ci_upper": -0.1}, True),
        ({"ci_lower": -0.05, "ci_upper": 0.3}, False),
        ({"ci_lower": 0.1}, True),
        ({"ci_lower": -0.1}, None),
        ({}, None),
        ({"p_value": 0.2, "significant": True}, True),
        ({"ci_lower": 0.1, "ci_upper": 0.3, "significant": False}, False),
    ],
    ids=[
        "p below 0.05",
        "p at 0.05",
        "interval above zero",
        "interval below zero",
        "interval across zero",
        "lower end alone above zero",
        "lower end alone below zero",
        "nothing given",
        "the study's word beats its p",
        "the study's word beats its interval",
    ],
)
def test_significance_is_read_from_the_p_value_or_the_interval_when_not_stated(
    numbers, significant
):
    assert outcome_of(study(outcomes=[numbers])).significant is significant


def test_an_upside_down_confidence_interval_names_the_outcome(tmp_path):
    text = (
        'name: x\nschema_version: "2"\nevidence:\n  evaluations:\n    - outcomes:\n'
        "        - {ci_lower: 0.4, ci_upper: 0.1}\n"
    )
    message = problems(write(tmp_path, "p.yaml", text))
    assert "line 6: evidence.evaluations.1.outcomes.1: ci_lower (0.4) is above ci_upper (0.1)" in (
        message
    )


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("attrition", 120, "evidence.evaluations.1.attrition"),
        ("differential_attrition", -1, "evidence.evaluations.1.differential_attrition"),
        ("design", "user_feedback", "'user_feedback' is not one of the choices"),
        ("method", "matched", "'matched' is not one of the choices"),
    ],
    ids=["attrition over 100%", "negative differential", "a version-1 design", "unknown method"],
)
def test_version_2_values_out_of_range_are_named(field, value, expected):
    with pytest.raises(ProfileError) as caught:
        profile_from_data(study(**{field: value}))
    assert expected in str(caught.value)


def test_a_p_value_given_as_a_percentage_is_refused():
    with pytest.raises(ProfileError) as caught:
        profile_from_data(study(outcomes=[{"p_value": 3}]))
    assert "evidence.evaluations.1.outcomes.1.p_value" in str(caught.value)


def test_an_unknown_schema_version_is_refused_with_the_choices():
    with pytest.raises(ProfileError) as caught:
        profile_from_data({"name": "x", "schema_version": "3"})
    assert "schema_version: '3' is not one of the choices" in str(caught.value)


# ---------------------------------------------------------------- version-1 profiles


V1_TEXT = """\
# A version-1 profile
name: Old
evidence:
  evaluations:
    - design: difference_in_differences
      sample_size: 300
    - design: user_feedback
"""


def test_a_version_1_file_loads_mapped_where_certain_with_a_note_naming_the_file(tmp_path):
    path = write(tmp_path, "old.yaml", V1_TEXT)
    with pytest.warns(ProfileVersionWarning) as caught:
        profile = load_profile(path)
    first, second = profile.evidence.evaluations
    assert (first.design, first.method) == ("quasi_experimental", "difference_in_differences")
    assert first.sample.individuals == 300
    assert second.design is None  # one-off or repeated surveys: not guessed
    note = str(caught[0].message)
    assert str(path) in note and f"scaleready profile upgrade {path}" in note
    assert "evidence.evaluations.2.design ('user_feedback')" in note


def test_a_comparison_group_is_left_unknown_as_matched_or_not_cannot_be_told():
    data = {"name": "x", "evidence": {"evaluations": [{"design": "comparison_group"}]}}
    with pytest.warns(ProfileVersionWarning, match="comparison_group"):
        assert profile_from_data(data).evidence.evaluations[0].design is None


def test_a_version_1_file_that_version_2_reads_alike_loads_without_a_note(tmp_path):
    path = write(tmp_path, "same.yaml", "name: x\nevidence:\n  evaluations:\n    - design: rct\n")
    assert load_profile(path).evidence.evaluations[0].design == "rct"  # warnings are errors here


def test_reading_version_1_leaves_the_data_it_was_given_unchanged():
    data = {"name": "x", "evidence": {"evaluations": [{"sample_size": 9}]}}
    read_version_1(data)
    assert data == {"name": "x", "evidence": {"evaluations": [{"sample_size": 9}]}}


@pytest.mark.slow
def test_a_command_prints_the_note_as_one_warning_line(tmp_path):
    path = write(tmp_path, "old.yaml", V1_TEXT)
    result = run_scaleready("profile", "validate", path)
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith(f"warning: {path}: a version-1 profile")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_the_template_says_it_is_version_2_and_loads_back_without_a_note():
    assert '\nschema_version: "2"' in profile_template()
    assert profile_from_data(yaml.safe_load(profile_template())).schema_version == "2"


def test_a_version_1_estimate_of_the_sample_size_names_the_version_2_field():
    data = {"name": "x", "estimates": ["evidence.evaluations.sample_size"]}
    data["evidence"] = {"evaluations": [{"sample_size": 9}]}
    profile = profile_from_data(data)  # data, not a file: mapped with no note, nothing was lost
    assert profile.estimates == ["evidence.evaluations.sample.individuals"]
