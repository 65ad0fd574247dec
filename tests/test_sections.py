"""Profile sections from plugins, and the core profile's identifiers and metadata (issue 10.1).

The social-action plugin (tests/plugins/scaleready-social-action) brings a section, a derived fact
that reads it and a ruleset whose conditions read it; the CLI tests install it (and a plugin whose
section clashes with it) with pip, as a user would; the library tests import it from its folder.
"""

from __future__ import annotations

import importlib
import json
import sys
import types
from pathlib import Path

import pytest
from pydantic import BaseModel, Field

from scaleready import ProfileSection, hookimpl
from scaleready.assessment.build import create_engine
from scaleready.errors import ProfileError, RulesetError
from scaleready.language.ruleset import load_ruleset
from scaleready.plugins import load_registry
from scaleready.profile import (
    IGNORE_UNKNOWN_SECTIONS_VARIABLE,
    InnovationProfile,
    UnknownSectionWarning,
    load_profile,
    profile_from_data,
    profile_template,
)
from tests.conftest import PLUGINS, run_scaleready, write, write_table

SOCIAL_ACTION = PLUGINS / "scaleready-social-action"
RULESET = SOCIAL_ACTION / "scaleready_social_action" / "social_action.yaml"
PEER_HELPERS = {
    "schema_version": "2",
    "name": "Peer Helpers",
    "organisation": {"volunteers": 100},
    "identifiers": {"org_id": "GB-CHC-1234567", "charity_number": "1129409"},
    "metadata": {"crm_id": "A-1043", "tags": ["peer", "youth"], "round": {"year": 2026}},
    "social_action": {
        "volunteer_hours": 5200,
        "retention": 0.6,
        "co_production": "co_designed",
        "safeguarding": {"policy": True, "checks": "all"},
        "roles": [{"role": "peer mentor", "supervised": True}],
    },
}
PEER_HELPERS_YAML = """\
schema_version: "2"
name: Peer Helpers
organisation:
  volunteers: 100
social_action:
  volunteer_hours: 5200
  retention: 0.3
  safeguarding:
    policy: true
    checks: some
"""


@pytest.fixture(scope="module")
def plugin():
    """The social-action plugin's package, imported from its folder."""
    sys.path.insert(0, str(SOCIAL_ACTION))
    try:
        yield importlib.import_module("scaleready_social_action")
    finally:
        sys.path.remove(str(SOCIAL_ACTION))
        sys.modules.pop("scaleready_social_action", None)


@pytest.fixture(scope="module")
def registry(plugin):
    return load_registry([plugin], load_entry_points=False)


def engine_of(plugin, backend: str = "python"):
    engine, _ = create_engine(
        ["social_action"], plugins=[plugin], load_entry_points=False, backend=backend
    )
    return engine


def outcomes(card) -> dict[str, str]:
    return {rule.id: rule.outcome for d in card.dimensions for rule in d.rules}


def section_plugin(name: str, model: object, **hooks) -> types.SimpleNamespace:
    """A plugin given by the program that registers one profile section."""

    @hookimpl
    def register_profile_sections(register):
        register(name, model)

    return types.SimpleNamespace(
        __name__=f"{name}_plugin", register_profile_sections=register_profile_sections, **hooks
    )


# --- validation -----------------------------------------------------------------------------------


def test_without_plugin_sections_the_profile_model_is_the_core_model():
    registry = load_registry(load_entry_points=False)
    assert registry.sections == {}
    assert registry.profile_model() is InnovationProfile


def test_a_plugin_section_is_validated_with_the_profile(registry):
    model = registry.profile_model()
    assert issubclass(model, InnovationProfile) and model is not InnovationProfile
    assert registry.profile_model() is model  # built once
    profile = profile_from_data(PEER_HELPERS, model=model)
    assert profile.social_action.roles[0].role == "peer mentor"
    bad = {**PEER_HELPERS, "social_action": {"retention": 1.5, "co_production": "maybe"}}
    with pytest.raises(ProfileError) as raised:
        profile_from_data(bad, model=model)
    assert "social_action.retention" in str(raised.value)
    assert "social_action.co_production" in str(raised.value)


def test_a_section_no_installed_plugin_provides_is_named_with_the_nearest_name(registry, tmp_path):
    text = PEER_HELPERS_YAML.replace("social_action:", "social_acton:")
    path = write(tmp_path / "typo.yaml", text)
    with pytest.raises(ProfileError) as raised:
        load_profile(path, registry.profile_model())
    message = str(raised.value)
    assert "line 5: top level: section 'social_acton' is not part of the profile" in message
    assert "did you mean 'social_action'?" in message
    assert IGNORE_UNKNOWN_SECTIONS_VARIABLE in message


def test_the_setting_leaves_an_unknown_section_out_with_a_warning(monkeypatch, tmp_path):
    path = write(tmp_path / "p.yaml", PEER_HELPERS_YAML)
    monkeypatch.setenv(IGNORE_UNKNOWN_SECTIONS_VARIABLE, "1")
    with pytest.warns(UnknownSectionWarning, match="left out section 'social_action'"):
        profile = load_profile(path)
    assert profile.name == "Peer Helpers" and not hasattr(profile, "social_action")


def test_an_unknown_scalar_key_stays_a_misspelt_field_even_with_the_setting(monkeypatch):
    monkeypatch.setenv(IGNORE_UNKNOWN_SECTIONS_VARIABLE, "yes")
    with pytest.raises(ProfileError, match="summry"):
        profile_from_data({"name": "x", "summry": "text"})


# --- registering: names, clashes, models ----------------------------------------------------------


class Tiny(ProfileSection):
    hours: int | None = Field(None, ge=0, description="Hours.")


def test_a_section_named_as_a_core_field_skips_the_plugin_naming_the_field():
    registry = load_registry([section_plugin("evidence", Tiny)], load_entry_points=False)
    assert registry.sections == {}
    assert "evidence_plugin" in registry.skipped
    assert str(registry.problems[0]) == (
        "plugin 'evidence_plugin': profile section 'evidence' clashes with the core profile's "
        "field 'evidence'; choose another name; plugin skipped"
    )


def test_two_plugins_with_one_section_name_keep_the_first_and_name_both(plugin):
    late = section_plugin("social_action", Tiny)
    registry = load_registry([plugin, late], load_entry_points=False)
    assert registry.sections["social_action"].plugin == "scaleready_social_action"
    assert [str(p) for p in registry.problems] == [
        "plugin 'social_action_plugin': profile section 'social_action' is already provided by "
        "plugin 'scaleready_social_action'; plugin skipped"
    ]


class Loose(BaseModel):
    hours: int | None = None


class Required(ProfileSection):
    hours: int


class Mapping(ProfileSection):
    anything: dict[str, int] | None = None


@pytest.mark.parametrize(
    ("name", "model", "expected"),
    [
        ("Social", Tiny, "must be lower_snake_case"),
        ("loose", Loose, "model Loose must refuse unknown keys"),
        ("required", Required, "field required.hours must be optional"),
        ("mapping", Mapping, "model Mapping: unsupported field type"),
        ("not_a_model", dict, "must be a pydantic model class"),
    ],
    ids=["name", "extra-keys", "required-field", "field-type", "not-a-model"],
)
def test_a_section_unfit_for_the_profile_is_refused_and_its_plugin_skipped(name, model, expected):
    registry = load_registry([section_plugin(name, model)], load_entry_points=False)
    assert registry.sections == {}
    assert expected in str(registry.problems[0])
    assert str(registry.problems[0]).endswith("plugin skipped")


def test_a_plugin_skipped_in_a_later_hook_keeps_no_section():
    @hookimpl
    def register_rulesets(register):
        raise RuntimeError("broken")

    broken = section_plugin("tiny", Tiny, register_rulesets=register_rulesets)
    registry = load_registry([broken], load_entry_points=False)
    assert registry.sections == {} and registry.profile_model() is InnovationProfile
    assert registry.plugins["tiny_plugin"].sections == []


# --- conditions ---------------------------------------------------------------------------------


def rule_file(tmp_path: Path, condition: str) -> Path:
    return write(
        tmp_path / "r.yaml",
        f"""\
id: demo
title: Demo
version: 1.0.0
summary: A demo.
rules:
  - id: a
    title: A
    level: 1
    condition: '{condition}'
    pass: p
    fail: f
    advice: a
""",
    )


def test_a_ruleset_reads_section_fields_checked_as_core_fields_are(registry, tmp_path):
    ruleset = load_ruleset(RULESET, registry.fact_kinds(), registry.fields())
    assert "social_action.retention" in ruleset.rule("volunteers_stay").fields
    cases = {
        "social_action.retension >= 0.5": "did you mean 'social_action.retention'?",
        'social_action.co_production == "maybe"': "'maybe' is not a value",
        'social_action.retention == "high"': "their types cannot match",
        "any(social_action.roles, supervisd)": "in the items of social_action.roles",
        "social_action.safeguarding > 1": "cannot compare",
    }
    for condition, expected in cases.items():
        with pytest.raises(RulesetError, match=expected.replace("?", r"\?")):
            load_ruleset(rule_file(tmp_path, condition), registry.fact_kinds(), registry.fields())


def test_without_the_plugin_a_ruleset_that_reads_its_section_does_not_load(tmp_path):
    with pytest.raises(RulesetError, match="unknown field 'social_action.retention'"):
        load_ruleset(rule_file(tmp_path, "social_action.retention >= 0.5"))


@pytest.mark.parametrize("path", ["metadata", "metadata.crm_id"])
def test_a_condition_cannot_read_metadata_and_is_told_why(registry, tmp_path, path):
    with pytest.raises(RulesetError) as raised:
        load_ruleset(rule_file(tmp_path, f"present({path})"), {}, registry.fields())
    assert f"field '{path}' cannot be used in a condition: metadata is a grant system's" in str(
        raised.value
    )


def test_both_backends_agree_on_section_fields(plugin):
    python, durable = engine_of(plugin, "python"), engine_of(plugin, "durable_rules")
    assert durable.backend == "durable_rules"
    variants = [
        PEER_HELPERS,
        {"name": "Nothing yet"},
        {**PEER_HELPERS, "social_action": {"retention": 0.2, "roles": []}},
        {**PEER_HELPERS, "social_action": {"roles": [{"supervised": False}, {"role": "x"}]}},
        {**PEER_HELPERS, "organisation": {"volunteers": 1000}},
    ]
    seen = set()
    for data in variants:
        profile = profile_from_data(data, model=python.profile_model)
        results = outcomes(python.assess(profile))
        assert outcomes(durable.assess(profile)) == results, data
        seen |= set(results.values())
    assert {"pass", "fail", "unknown"} <= seen


def test_a_section_profile_is_assessed_with_its_gaps_named(plugin):
    engine = engine_of(plugin)
    card = engine.assess(profile_from_data(PEER_HELPERS, model=engine.profile_model))
    assert set(outcomes(card).values()) == {"pass"}
    sparse = {"name": "x", "social_action": {"volunteer_hours": 2000}}
    card = engine.assess(profile_from_data(sparse, model=engine.profile_model))
    results = {rule.id: rule for d in card.dimensions for rule in d.rules}
    assert results["volunteers_stay"].missing == ["social_action.retention"]
    assert results["regular_volunteers"].missing == ["organisation.volunteers"]  # a fact's input


# --- identifiers, metadata, provenance -----------------------------------------------------------


def test_identifiers_and_metadata_round_trip_into_the_scorecard(plugin):
    engine = engine_of(plugin)
    card = engine.assess(profile_from_data(PEER_HELPERS, model=engine.profile_model))
    assert card.profile.identifiers == PEER_HELPERS["identifiers"]
    assert card.profile.metadata == PEER_HELPERS["metadata"]
    again = json.loads(card.model_dump_json())
    assert again["profile"]["metadata"] == PEER_HELPERS["metadata"]
    assert again["provenance"]["sections"] == [
        {"name": "social_action", "plugin": "scaleready_social_action", "version": "0.3.0"}
    ]


@pytest.mark.parametrize(
    ("identifiers", "expected"),
    [
        ({"org_id": "GB CHC 1234567"}, "is not an org-id"),
        ({"charity_number": "12"}, "is not a charity number"),
        ({"company_number": "123456789"}, "is not a company number"),
        ({"grant_id": "x" * 101}, "identifiers.grant_id"),
    ],
    ids=["org-id", "charity", "company", "grant-id"],
)
def test_an_identifier_not_in_its_form_is_refused_saying_the_form(identifiers, expected):
    with pytest.raises(ProfileError, match=expected):
        profile_from_data({"name": "x", "identifiers": identifiers})


def test_registered_numbers_written_without_quotes_are_read_as_written():
    profile = profile_from_data({"name": "x", "identifiers": {"charity_number": 1129409}})
    assert profile.identifiers.charity_number == "1129409"


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        ({"a": float("nan")}, "a: nan is not a number JSON can hold"),
        ({"a": {"b": {"c": {"d": [1]}}}}, "a.b.c.d: nested more than 4 deep"),
        ({"when": __import__("datetime").date(2026, 1, 2)}, "write dates and other values as"),
        ({"a": "x" * 20_000}, "metadata holds at most 16,384"),
        ({"": 1}, "keys must be text"),
    ],
    ids=["nan", "depth", "date", "size", "empty-key"],
)
def test_metadata_that_is_not_bounded_json_is_refused(metadata, expected):
    with pytest.raises(ProfileError, match=expected):
        profile_from_data({"name": "x", "metadata": metadata})


def test_the_template_has_sections_and_identifiers_with_comments_and_loads_back(registry, tmp_path):
    model = registry.profile_model()
    template = profile_template(model)
    assert "# Hours volunteers gave in the figures year." in template
    assert "  volunteer_hours:  # a whole number, e.g. 5200" in template
    comments = " ".join(line.strip(" #") for line in template.splitlines())
    assert "(A section from plugin 'scaleready_social_action' 0.3.0.)" in comments
    assert "  org_id:  # text, e.g. GB-CHC-1234567" in template
    assert "metadata:  # your own keys" in template
    assert load_profile(write(tmp_path / "t.yaml", template), model).name


# --- the CLI, with the plugins installed for real ------------------------------------------------


@pytest.fixture(scope="module")
def installed_env(plugin_sites):
    return {**plugin_sites("scaleready-social-action"), "SOURCE_DATE_EPOCH": "0"}


def env_with(variables: dict) -> dict:
    import os

    return {**os.environ, **variables}


@pytest.mark.slow
def test_the_cli_validates_templates_and_assesses_a_section_profile(installed_env, tmp_path):
    env = env_with(installed_env)
    path = write(tmp_path / "p.yaml", json.dumps(PEER_HELPERS))
    assert run_scaleready("profile", "validate", path, env=env).returncode == 0
    schema = json.loads(run_scaleready("profile", "schema", env=env).stdout)
    assert "social_action" in schema["properties"] and "SocialAction" in schema["$defs"]
    template = run_scaleready("profile", "template", env=env).stdout
    assert "social_action:" in template
    card = run_scaleready("assess", path, "--ruleset", "social_action", "--format", "json", env=env)
    assert card.returncode == 0, card.stderr
    cases = run_scaleready("rulesets", "test", "social_action", env=env)
    assert cases.returncode == 0, cases.stdout + cases.stderr
    assert "3 passed, 0 failed" in cases.stdout
    scorecard = json.loads(card.stdout)
    assert scorecard["profile"]["identifiers"]["org_id"] == "GB-CHC-1234567"
    assert scorecard["provenance"]["sections"] == [
        {"name": "social_action", "plugin": "social_action", "version": "0.3.0"}
    ]


@pytest.mark.slow
def test_without_the_plugin_the_cli_refuses_the_section_unless_told_to_leave_it_out(tmp_path):
    path = write(tmp_path / "p.yaml", PEER_HELPERS_YAML)
    refused = run_scaleready("assess", path, env=env_with({}))
    assert refused.returncode == 3
    assert "section 'social_action' is not part of the profile" in refused.stderr
    told = run_scaleready("assess", path, env=env_with({IGNORE_UNKNOWN_SECTIONS_VARIABLE: "1"}))
    assert told.returncode == 0, told.stderr
    assert "warning: " in told.stderr and "left out section 'social_action'" in told.stderr
    bad = run_scaleready("assess", path, env=env_with({IGNORE_UNKNOWN_SECTIONS_VARIABLE: "maybe"}))
    assert bad.returncode == 2 and IGNORE_UNKNOWN_SECTIONS_VARIABLE in bad.stderr


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_spreadsheet_round_reads_section_columns_and_carries_identifiers(
    installed_env, tmp_path, suffix
):
    env = env_with(installed_env)
    header = run_scaleready("profile", "template", "--format", "csv", env=env).stdout
    assert "social_action.roles.1.supervised" in header.split(",")
    rows = [
        ["name", "organisation.volunteers", "social_action.volunteer_hours",
         "social_action.retention", "social_action.co_production",
         "social_action.roles.1.supervised", "identifiers.application_id", "metadata.crm_id"],
        ["Peer Helpers", 100, 5200, 0.6, "co_led", True, "APP-7", "A-1043"],
        ["Few Hours", 100, 200, 0.2, "none", False, "APP-8", "A-1044"],
    ]  # fmt: skip
    header, *values = rows
    write_table(
        tmp_path / f"round{suffix}", header, [dict(zip(header, v, strict=True)) for v in values]
    )
    summary = tmp_path / "summary.jsonl"
    result = run_scaleready(
        "batch", tmp_path / f"round{suffix}", "--ruleset", "social_action", "--summary", summary,
        "--scorecards", tmp_path / "cards.jsonl", env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in summary.read_text().splitlines()]
    assert [line["identifiers.application_id"] for line in lines] == ["APP-7", "APP-8"]
    assert json.loads(lines[0]["metadata"]) == {"crm_id": "A-1043"}
    assert lines[0]["social_action_level"] > lines[1]["social_action_level"]
    cards = [json.loads(line) for line in (tmp_path / "cards.jsonl").read_text().splitlines()]
    assert cards[1]["profile"]["metadata"] == {"crm_id": "A-1044"}
    assert cards[0]["provenance"]["sections"][0]["name"] == "social_action"


@pytest.mark.slow
def test_an_installed_plugin_whose_section_clashes_is_listed_as_skipped(plugin_sites):
    env = env_with(plugin_sites("scaleready-social-action", "scaleready-section-clash"))
    listing = run_scaleready("plugins", "--json", env=env)
    plugins = {entry["name"]: entry for entry in json.loads(listing.stdout)}
    assert plugins["social_action"]["sections"] == ["social_action"]
    assert plugins["volunteering"]["error"] == (
        "profile section 'social_action' is already provided by plugin 'social_action'; "
        "plugin skipped"
    )
    assert plugins["volunteering"]["derived_facts"] == []
    strict = run_scaleready("profile", "validate", "--strict-plugins", __file__, env=env)
    assert strict.returncode == 4 and "volunteering" in strict.stderr


def test_an_engine_finds_its_data_gaps_after_another_registry_was_loaded(plugin):
    engine = engine_of(plugin)
    load_registry(load_entry_points=False)  # the core profile alone, built after the engine
    card = engine.assess(profile_from_data({"name": "x"}, model=engine.profile_model))
    results = {rule.id: rule for d in card.dimensions for rule in d.rules}
    assert results["volunteers_stay"].missing == ["social_action.retention"]
