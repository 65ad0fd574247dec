"""The example third-party plugin, examples/plugins/scaleready-isat: installed from its folder
with pip, it brings its own profile section (ISAT domains), its ruleset passes its own test cases
with full coverage, the CLI assesses its example profile with the section, and its own pytest
passes.

The plugin is installed once into a folder of its own (as tests/plugins packages are), so the
test environment stays clean; subprocesses see it through PYTHONPATH."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO, pip, run_scaleready

PLUGIN = REPO / "examples" / "plugins" / "scaleready-isat"
EXAMPLE = PLUGIN / "example-profile.yaml"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict[str, str]:
    """The environment of a subprocess that has the plugin installed from its folder."""
    site = tmp_path_factory.mktemp("isat-site")
    pip("install", "--target", str(site), str(PLUGIN))
    paths = [str(site), os.environ.get("PYTHONPATH")]
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, paths)),
        "PYTHONDONTWRITEBYTECODE": "1",  # leave no __pycache__ in the example's folder
    }


def test_the_plugin_registers_its_section_and_ruleset(env):
    result = run_scaleready("plugins", env=env)
    assert result.returncode == 0, result.stderr
    assert "isat 0.1.0: isat, profile section isat" in result.stdout


def test_the_schema_has_the_section_s_fields(env):
    result = run_scaleready("profile", "schema", env=env)
    assert result.returncode == 0, result.stderr
    schema = json.loads(result.stdout)
    assert "isat" in schema["properties"]
    assert "acceptability_share" in result.stdout and "workforce_capacity" in result.stdout


def test_its_cases_pass_with_full_coverage(env):
    result = run_scaleready("rulesets", "test", "isat", "--require-coverage", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "8 passed, 0 failed" in result.stdout
    assert "levels 0-5 are all expected" in result.stdout


def test_the_example_profile_is_assessed_with_the_section(env):
    result = run_scaleready(
        "assess", EXAMPLE, "--ruleset", "isat", "--ruleset", "evidence", "--format", "json", env=env
    )
    assert result.returncode == 0, result.stderr
    card = json.loads(result.stdout)
    dimensions = {dimension["id"]: dimension for dimension in card["dimensions"]}
    assert sorted(dimensions) == ["evidence", "isat"]
    isat = dimensions["isat"]
    assert isat["level"] == 3  # held by the scale-up evaluation the example lacks (B4)
    outcomes = {rule["id"]: rule["outcome"] for rule in isat["rules"]}
    assert outcomes["scale_up_evaluated"] == "fail"
    assert outcomes["workforce_ready"] == "pass"
    sections = card["provenance"]["sections"]
    assert sections == [{"name": "isat", "plugin": "isat", "version": "0.1.0"}]


def test_without_choosing_it_the_isat_ruleset_does_not_count(env):
    result = run_scaleready("assess", EXAMPLE, "--format", "json", env=env)
    assert result.returncode == 0, result.stderr
    card = json.loads(result.stdout)
    assert "isat" not in {dimension["id"] for dimension in card["dimensions"]}
    assert "installed ruleset isat not counted" in result.stderr


def test_the_plugin_s_own_pytest_passes(env):
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=PLUGIN,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout and "failed" not in result.stdout


def test_a_csv_round_gives_the_section_as_columns(env, tmp_path):
    header = "name,isat.context.policy_alignment,isat.context.political_support\n"
    round_file = tmp_path / "round.csv"
    round_file.write_text(header + "Aligned,explicit,championed\nNot yet,partial,neutral\n")
    summary = tmp_path / "summary.csv"
    result = run_scaleready("batch", round_file, "--ruleset", "isat", "--summary", summary, env=env)
    assert result.returncode == 0, result.stderr
    with summary.open(encoding="utf-8", newline="") as table:
        rows = {row["name"]: row for row in csv.DictReader(table)}
    assert (rows["Aligned"]["isat_level"], rows["Not yet"]["isat_level"]) == ("1", "0")
