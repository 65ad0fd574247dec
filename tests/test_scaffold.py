"""`scaleready plugin new`: the package it writes installs into a fresh virtualenv and passes
its own tests as written; bad names and occupied folders are refused with a clear message."""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from scaleready import scaffold
from scaleready.plugins import load_registry_with_sources
from tests.conftest import REPO, assert_cases_cover_and_pass, invoke


@pytest.mark.parametrize(
    ("name", "package", "ruleset_id"),
    [
        ("social-action", "scaleready_social_action", "social_action"),
        ("scaleready-peer_support", "scaleready_peer_support", "peer_support"),
        ("Safeguarding2", "scaleready_safeguarding2", "safeguarding2"),
    ],
    ids=["dashes", "prefix-given", "capitals"],
)
def test_a_name_gives_the_package_and_ruleset_names(name, package, ruleset_id):
    names = scaffold.plugin_names(name)
    assert (names.package, names.ruleset_id, names.plugin_name) == (package, ruleset_id, ruleset_id)
    assert names.distribution == "scaleready-" + ruleset_id.replace("_", "-")


@pytest.mark.parametrize(
    "name",
    ["", "2fast", "social action", "x" * 41, "a--b", "émigré", "$(rm -rf)", "a.b"],
    ids=["empty", "digit-first", "space", "too-long", "double-dash", "accents", "shell", "dot"],
)
def test_a_bad_name_is_refused_saying_what_a_name_is(runner, name, tmp_path):
    result = invoke(runner, "plugin", "new", name, "--directory", tmp_path / "p")
    assert result.exit_code == 2
    assert "cannot name a plugin: use lower-case letters and digits" in result.output
    assert not (tmp_path / "p").exists()


def test_a_builtin_name_is_refused(runner, tmp_path):
    result = invoke(runner, "plugin", "new", "evidence", "--directory", tmp_path / "p")
    assert result.exit_code == 2
    assert "'evidence' is the name of a built-in ruleset" in result.output


def test_a_core_profile_section_name_is_refused(runner, tmp_path):
    result = invoke(runner, "plugin", "new", "reach", "--directory", tmp_path / "p")
    assert result.exit_code == 2
    assert "'reach' is the name of a section of the core profile" in result.output
    assert not (tmp_path / "p").exists()


def test_a_folder_with_files_in_it_is_not_written_into(runner, tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    result = invoke(runner, "plugin", "new", "social-action", "--directory", tmp_path)
    assert result.exit_code == 2
    assert "is not an empty folder" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_the_package_has_every_part(runner, tmp_path):
    result = invoke(runner, "plugin", "new", "social-action", "--directory", tmp_path / "p")
    assert result.exit_code == 0, result.output
    package = tmp_path / "p" / "src" / "scaleready_social_action"
    pyproject = (tmp_path / "p" / "pyproject.toml").read_text()
    assert 'build-backend = "hatchling.build"' in pyproject
    assert 'social_action = "scaleready_social_action"' in pyproject
    assert 'packages = ["src/scaleready_social_action"]' in pyproject
    assert "$" not in "".join(p.read_text() for p in (tmp_path / "p").rglob("*") if p.is_file())
    assert (package / "__init__.py").is_file() and (tmp_path / "p" / "README.md").is_file()
    assert (tmp_path / "p" / "tests" / "test_social_action.py").is_file()
    init = (package / "__init__.py").read_text()
    assert "# PROFILE SECTION" in init
    assert "class SocialAction(ProfileSection):" in init
    assert 'register("social_action", SocialAction)' in init
    assert "social_action:" in (tmp_path / "p" / "examples" / "example.yaml").read_text()
    assert "--ruleset social_action" in (tmp_path / "p" / "README.md").read_text()


def test_the_ruleset_has_a_rule_at_every_level_and_its_cases_pass(tmp_path):
    """Read from its source folder as `rulesets validate --plugin` reads it: the section and the
    derived fact registered, a rule on each, and every case passing on every backend."""
    names = scaffold.plugin_names("scaffold-check")
    scaffold.write_plugin(names, tmp_path)
    registry = load_registry_with_sources([tmp_path])
    assert not registry.problems, registry.problems
    ruleset = registry.rulesets[names.ruleset_id]
    assert sorted({rule.level for rule in ruleset.rules}) == [1, 2, 3, 4, 5]
    assert any(names.fact_name in rule.derived for rule in ruleset.rules)
    fields = [field for rule in ruleset.rules for field in rule.fields]
    assert any(field.startswith(f"{names.section_name}.") for field in fields)
    assert_cases_cover_and_pass(
        registry, ruleset, tmp_path / "src" / names.package / names.tests_file
    )


@pytest.mark.slow
def test_the_generated_plugin_installs_in_a_fresh_virtualenv_and_passes_its_tests(tmp_path):
    """From scaleready's wheel (its templates are package data) to the plugin's tests passing."""
    python = _fresh_virtualenv(tmp_path / "venv")
    _pip(python, "install", str(REPO), "pytest")
    scaleready = python.with_name("scaleready")
    _run(scaleready, "plugin", "new", "social-action", cwd=tmp_path)
    plugin = tmp_path / "scaleready-social-action"
    _pip(python, "install", str(plugin))
    tests = _run(python, "-m", "pytest", "-p", "no:cacheprovider", cwd=plugin)
    assert "13 passed" in tests.stdout, tests.stdout
    example = plugin / "examples" / "example.yaml"
    card = _run(scaleready, "assess", example, "--ruleset", "social_action", "--format", "json")
    dimensions = {d["id"]: d for d in json.loads(card.stdout)["dimensions"]}
    assert list(dimensions) == ["social_action"]
    assert dimensions["social_action"]["level"] == 3  # its own section's rule passes there


def _fresh_virtualenv(folder: Path) -> Path:
    """A new virtualenv without pip of its own (this environment's pip installs into it)."""
    venv.EnvBuilder(with_pip=False).create(folder)
    return folder / "bin" / "python"


def _pip(python: Path, *args: str) -> None:
    _run(sys.executable, "-m", "pip", "--python", python, *args[:1], "--quiet", *args[1:])


def _run(*args: object, cwd: Path | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, f"{args}: {result.stdout}\n{result.stderr}"
    return result
