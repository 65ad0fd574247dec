"""scaleready.testing, the pytest plugin for plugin authors, run as pytest runs it: in a real
pytest subprocess, over real ruleset files; and the plugin API version a plugin declares."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO, run_scaleready, write

EVIDENCE = REPO / "rulesets" / "evidence.yaml"


def run_pytest(folder: Path, *args: str) -> subprocess.CompletedProcess:
    """pytest in a folder of its own, as a plugin author runs it (this env's plugins loaded)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-v", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def copy_evidence(folder: Path) -> Path:
    shutil.copy(EVIDENCE, folder / "evidence.yaml")
    return shutil.copy(REPO / "rulesets" / "evidence.tests.yaml", folder / "evidence.tests.yaml")


@pytest.mark.slow
def test_each_case_of_a_tests_file_is_a_test_named_by_the_case(tmp_path):
    cases = yaml.safe_load(copy_evidence(tmp_path).read_text())["cases"]
    result = run_pytest(tmp_path)
    assert result.returncode == 0, result.stdout
    for case in cases:
        assert f"evidence.tests.yaml::{case['name']} PASSED" in result.stdout
    assert f"{len(cases)} passed" in result.stdout


@pytest.mark.slow
def test_a_failing_case_names_its_line_and_what_differs(tmp_path):
    tests_file = copy_evidence(tmp_path)
    text = tests_file.read_text()
    tests_file.write_text(text.replace("level: 0", "level: 4", 1))
    result = run_pytest(tmp_path)
    assert result.returncode == 1
    assert "level: expected 4, got 0" in result.stdout
    assert "evidence.tests.yaml:" in result.stdout and "Traceback" not in result.stdout


@pytest.mark.slow
def test_a_tests_file_with_an_unknown_rule_is_a_collection_error_naming_it(tmp_path):
    tests_file = copy_evidence(tmp_path)
    tests_file.write_text(tests_file.read_text().replace("theory_of_change:", "theory_of_chang:"))
    result = run_pytest(tmp_path)
    assert result.returncode == 2
    assert "names unknown rule 'theory_of_chang'" in result.stdout


@pytest.mark.slow
def test_the_fixtures_assess_a_fragment_with_the_plugin_under_test(tmp_path):
    write(tmp_path / "pytest.ini", "[pytest]\nscaleready_plugin = evidence\n")
    write(
        tmp_path / "test_fragment.py",
        "def test_card(scaleready_assess, scaleready_outcomes):\n"
        "    card = scaleready_assess({'model': {'theory_of_change': {'problem': 'p'}}})\n"
        "    assert [d.id for d in card.dimensions] == ['evidence']\n"
        "    outcomes = scaleready_outcomes({})\n"
        "    assert outcomes['theory_of_change'] == outcomes['evidence.theory_of_change']\n"
        "    assert outcomes['theory_of_change'] in ('fail', 'unknown')\n",
    )
    result = run_pytest(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


@pytest.mark.slow
def test_another_test_suite_imports_nothing_of_scaleready_but_the_plugin(tmp_path):
    write(
        tmp_path / "test_other.py",
        "import sys\n"
        "def test_nothing_of_scaleready_is_imported():\n"
        "    loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'scaleready')\n"
        "    assert loaded == ['scaleready', 'scaleready.testing'], loaded\n",
    )
    result = run_pytest(tmp_path, "--trace-config")
    assert result.returncode == 0, result.stdout
    assert "scaleready.testing" in result.stdout  # registered, through the pytest11 entry point


@pytest.mark.slow
def test_a_plugin_built_for_another_api_is_named_and_skipped(plugin_sites):
    env = {**os.environ, **plugin_sites("scaleready-future-api")}
    result = run_scaleready("plugins", env=env)
    assert result.returncode == 0
    assert (
        "future_api 3.0.0: nothing  FAILED: it is built for scaleready plugin API 99 "
        "(SCALEREADY_PLUGIN_API), and this scaleready"
    ) in result.stdout
    assert "from_the_future" not in result.stdout
    strict = run_scaleready("plugins", "--strict-plugins", env=env)
    assert strict.returncode == 4
