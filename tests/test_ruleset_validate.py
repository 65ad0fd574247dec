"""`scaleready rulesets validate ID|FILE [--plugin PATH]`: installed ids as well as files, and a
plugin's own derived facts read from its source folder before it is installed."""

from __future__ import annotations

import os
import shutil

import pytest
import yaml

from scaleready import scaffold
from tests.conftest import PLUGINS, REPO, invoke, run_scaleready


def test_an_installed_ruleset_is_validated_by_its_id(runner):
    result = invoke(
        runner, "rulesets", "validate", "evidence", REPO / "rulesets" / "partnership.yaml"
    )
    assert result.exit_code == 0, result.output
    assert "ok: evidence (evidence " in result.output
    assert "ok: " + str(REPO / "rulesets" / "partnership.yaml") in result.output


def test_an_unknown_id_is_named_with_the_nearest(runner):
    result = invoke(runner, "rulesets", "validate", "evidenc")
    assert result.exit_code == 3
    assert "no installed ruleset 'evidenc'; did you mean 'evidence'?" in result.output


def test_a_missing_file_is_named(runner, tmp_path):
    result = invoke(runner, "rulesets", "validate", tmp_path / "nothing.yaml")
    assert result.exit_code == 3
    assert "nothing.yaml" in result.output


@pytest.fixture
def new_plugin(tmp_path):
    names = scaffold.plugin_names("social-action")
    scaffold.write_plugin(names, tmp_path / "plugin")
    return tmp_path / "plugin", tmp_path / "plugin" / "src" / names.package / names.ruleset_file


@pytest.mark.slow
def test_a_ruleset_using_its_own_plugins_fact_is_validated_from_the_source_folder(new_plugin):
    folder, ruleset = new_plugin
    without = run_scaleready("rulesets", "validate", ruleset)
    assert without.returncode == 3
    assert "unknown derived fact 'social_action_volunteers_per_staff'" in without.stderr
    assert "--plugin PATH" in without.stderr
    with_plugin = run_scaleready("rulesets", "validate", ruleset, "--plugin", folder)
    assert with_plugin.returncode == 0, with_plugin.stderr
    rules = len(yaml.safe_load(ruleset.read_text(encoding="utf-8"))["rules"])
    assert f"(social_action 0.1.0, {rules} rules)" in with_plugin.stdout
    by_id = run_scaleready("rulesets", "validate", "social_action", "--plugin", folder)
    assert by_id.returncode == 0, by_id.stderr


@pytest.mark.slow
def test_the_source_folder_is_read_in_place_of_an_installed_copy(plugin_sites, tmp_path):
    source = shutil.copytree(PLUGINS / "scaleready-social-value", tmp_path / "social-value")
    package = source / "scaleready_social_value"
    hooks = package / "__init__.py"
    hooks.write_text(hooks.read_text().replace('"volunteers_per_staff"', '"helpers_per_staff"'))
    ruleset = package / "social_value.yaml"
    ruleset.write_text(ruleset.read_text().replace("volunteers_per_staff", "helpers_per_staff"))
    env = {**os.environ, **plugin_sites("scaleready-social-value")}  # the old copy, installed
    installed = run_scaleready("rulesets", "validate", ruleset, env=env)
    assert "unknown derived fact 'helpers_per_staff'" in installed.stderr
    from_source = run_scaleready("rulesets", "validate", ruleset, "--plugin", source, env=env)
    assert from_source.returncode == 0, from_source.stderr
    assert from_source.stderr == ""  # the installed copy is replaced, not reported as a clash


def test_a_folder_that_is_no_plugin_is_named(runner, tmp_path):
    result = invoke(runner, "rulesets", "validate", "evidence", "--plugin", tmp_path)
    assert result.exit_code == 4
    assert "not a plugin's folder: give the folder of its pyproject.toml" in result.output


@pytest.mark.slow
def test_a_plugin_without_a_build_backend_is_warned_about(new_plugin):
    folder, ruleset = new_plugin
    pyproject = folder / "pyproject.toml"
    text = pyproject.read_text()
    pyproject.write_text(text[text.index("[project]") :])  # as the old tutorial had it
    result = run_scaleready("rulesets", "validate", ruleset, "--plugin", folder)
    assert result.returncode == 0, result.stderr
    assert "has no [build-system] build-backend: pip then builds with setuptools'" in result.stderr


@pytest.mark.slow
def test_a_source_plugin_built_for_another_plugin_api_is_named(tmp_path):
    folder = tmp_path / "future"
    shutil.copytree(PLUGINS / "scaleready-future-api", folder)
    result = run_scaleready("rulesets", "validate", "evidence", "--plugin", folder)
    assert result.returncode == 4, result.stderr
    assert "plugin 'future_api': it is built for scaleready plugin API 99" in result.stderr
    assert "Traceback" not in result.stderr
