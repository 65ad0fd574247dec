"""`scaleready rulesets test`: the built-in rulesets' cases pass, and a broken rule is caught."""

from __future__ import annotations

import shutil

import pytest

from scaleready.assessment import ruleset_cases
from tests.conftest import BUILTIN_RULESETS, REPO, run_scaleready, write


def test_tests_files_sit_beside_their_rulesets():
    tests_file = ruleset_cases.tests_file_for("rulesets/evidence.yaml")
    assert tests_file.as_posix() == "rulesets/evidence.tests.yaml"
    assert ruleset_cases.ruleset_file_for(tests_file).as_posix() == "rulesets/evidence.yaml"


@pytest.mark.slow
@pytest.mark.parametrize("ruleset_id", [p.stem for p in BUILTIN_RULESETS], ids=str)
def test_every_built_in_ruleset_passes_its_cases_with_full_coverage(ruleset_id):
    result = run_scaleready("rulesets", "test", ruleset_id, "--require-coverage")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 failed" in result.stdout and "coverage: every rule passes and fails" in result.stdout


@pytest.mark.slow
def test_a_condition_broken_on_purpose_makes_the_cases_fail(tmp_path):
    ruleset = shutil.copy(REPO / "rulesets" / "evidence.yaml", tmp_path / "evidence.yaml")
    shutil.copy(REPO / "rulesets" / "evidence.tests.yaml", tmp_path / "evidence.tests.yaml")
    text = ruleset.read_text(encoding="utf-8")
    broken = text.replace('result == "positive"', 'result == "negative"')
    assert broken != text
    ruleset.write_text(broken, encoding="utf-8")
    result = run_scaleready("rulesets", "test", ruleset)
    assert result.returncode == 1
    assert "✗" in result.stdout and "expected pass, got fail" in result.stdout


@pytest.mark.slow
def test_cases_that_name_an_unknown_rule_are_invalid_input(tmp_path):
    shutil.copy(REPO / "rulesets" / "evidence.yaml", tmp_path / "evidence.yaml")
    cases = (
        "ruleset: evidence\ncases:\n  - name: x\n    expect:\n      rules: {no_such_rule: pass}\n"
    )
    write(tmp_path / "evidence.tests.yaml", cases)
    result = run_scaleready("rulesets", "test", tmp_path / "evidence.tests.yaml")
    assert result.returncode == 3 and "unknown rule 'no_such_rule'" in result.stderr


@pytest.mark.slow
def test_a_target_that_is_neither_a_ruleset_nor_a_file_is_named(tmp_path):
    result = run_scaleready("rulesets", "test", "evidance")
    assert result.returncode == 3 and "'evidance' is neither an installed ruleset" in result.stderr
