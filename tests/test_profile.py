"""The innovation profile model, its loader and its messages."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml

from scaleready.errors import ProfileError
from scaleready.profile import (
    EVALUATION_DESIGNS,
    InnovationProfile,
    field_catalogue,
    load_profile,
    load_profile_with_hash,
    profile_from_data,
    profile_json_schema,
    profile_template,
)

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


def test_a_whole_number_is_accepted_where_a_number_is_expected():
    profile = profile_from_data({"name": "x", "organisation": {"yearly_income": 1000}})
    assert profile.organisation.yearly_income == 1000.0


def test_item_fields_are_named_with_their_list_index(tmp_path):
    text = "name: x\nevidence:\n  evaluations:\n    - design: rct\n    - design: rtc\n"
    text = problems(write(tmp_path, "p.yaml", text))
    assert (
        "line 5: evidence.evaluations[1].design: 'rtc' is not one of the choices; "
        "did you mean 'rct'?" in text
    )


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
