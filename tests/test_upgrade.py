"""`scaleready profile upgrade`: a version-1 profile rewritten as version 2, comments kept."""

from __future__ import annotations

import json
import subprocess

import pytest

from scaleready.cli import cli
from scaleready.profile import load_profile
from tests.conftest import SCALEREADY, invoke, run_scaleready, write

V1 = """\
# Kept: the comment at the top.
name: Old programme  # kept: a comment after a value
evidence:
  evaluations:
    - title: Trial
      design: difference_in_differences  # kept: why this design
      sample_size: 300
      outcomes:
        - {measure: reading, result: positive, significant: true}
    - {title: Survey, design: user_feedback, sample_size: 40}
    - title: Comparison
      design: comparison_group
"""

V2 = """\
# Kept: the comment at the top.
schema_version: "2"
name: Old programme  # kept: a comment after a value
evidence:
  evaluations:
    - title: Trial
      design: quasi_experimental  # kept: why this design
      method: difference_in_differences
      sample: {individuals: 300}
      outcomes:
        - {measure: reading, result: positive, significant: true}
    - {title: Survey, design: repeated_surveys, sample: {individuals: 40}}
    - title: Comparison
      design: unmatched_comparison
"""

ANSWERS = ("--user-feedback", "repeated", "--comparison-group", "unmatched")


def test_upgrade_rewrites_only_what_changes_and_keeps_every_comment(runner, tmp_path):
    path = write(tmp_path / "old.yaml", V1)
    result = invoke(runner, "profile", "upgrade", path, *ANSWERS)
    assert result.exit_code == 0, result.output
    assert path.read_text(encoding="utf-8") == V2
    assert f"{path}: upgraded to version 2" in result.stdout
    assert "evidence.evaluations.2.design: user_feedback -> repeated_surveys" in result.stderr
    assert load_profile(path).evidence.evaluations[1].design == "repeated_surveys"  # no warning


def test_upgrade_asks_study_by_study_what_no_option_answers(runner, tmp_path):
    path = write(tmp_path / "old.yaml", V1)
    result = runner.invoke(
        cli,
        ["profile", "upgrade", str(path), "--comparison-group", "matched"],
        input="one-off\n",
        prog_name="scaleready",
    )
    assert result.exit_code == 0, result.output
    assert "evidence.evaluations.2 has design 'user_feedback'" in result.stderr
    studies = load_profile(path).evidence.evaluations
    assert [s.design for s in studies] == [
        "quasi_experimental",
        "one_off_survey",
        "quasi_experimental",
    ]


def test_upgrade_without_an_answer_names_the_option_and_leaves_the_file_alone(runner, tmp_path):
    path = write(tmp_path / "old.yaml", V1)
    result = runner.invoke(
        cli,
        ["profile", "upgrade", str(path), "--comparison-group", "matched"],
        input="",
        prog_name="scaleready",
    )
    assert result.exit_code == 2
    assert "evidence.evaluations.2: answer with --user-feedback one-off|repeated" in result.stderr
    assert path.read_text(encoding="utf-8") == V1


def test_upgrade_of_a_version_2_profile_changes_nothing(runner, tmp_path):
    path = write(tmp_path / "new.yaml", V2)
    result = invoke(runner, "profile", "upgrade", path)
    assert result.exit_code == 0
    assert "already version 2; unchanged" in result.stdout
    assert path.read_text(encoding="utf-8") == V2


def test_upgrade_replaces_a_stated_version_1(runner, tmp_path):
    path = write(tmp_path / "one.yaml", "schema_version: 1\nname: x\n")
    assert invoke(runner, "profile", "upgrade", path).exit_code == 0
    assert path.read_text(encoding="utf-8") == 'schema_version: "2"\nname: x\n'


def test_upgrade_writes_a_json_profile_again_whole(runner, tmp_path):
    data = {
        "name": "x",
        "evidence": {"evaluations": [{"design": "quasi_random", "sample_size": 5}]},
    }
    path = write(tmp_path / "old.json", json.dumps(data))
    assert invoke(runner, "profile", "upgrade", path).exit_code == 0
    upgraded = json.loads(path.read_text(encoding="utf-8"))
    assert list(upgraded)[:2] == ["name", "schema_version"]
    assert upgraded["evidence"]["evaluations"] == [
        {"design": "quasi_experimental", "sample": {"individuals": 5}}
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: x\nevidence:\n  evaluations:\n    - sample_size: -3\n", "sample.individuals"),
        ("name: x\nnot_a_field: 1\n", "not_a_field"),
    ],
    ids=["a bad value", "an unknown key"],
)
def test_an_invalid_profile_is_not_rewritten_and_the_problem_is_named(
    runner, tmp_path, text, expected
):
    path = write(tmp_path / "bad.yaml", text)
    result = invoke(runner, "profile", "upgrade", path)
    assert result.exit_code == 3
    assert str(path) in result.stderr and expected in result.stderr
    assert path.read_text(encoding="utf-8") == text


def test_upgrade_keeps_the_files_permissions(runner, tmp_path):
    path = write(
        tmp_path / "old.yaml", "name: x\nevidence:\n  evaluations:\n    - sample_size: 3\n"
    )
    path.chmod(0o644)
    assert invoke(runner, "profile", "upgrade", path).exit_code == 0
    assert path.stat().st_mode & 0o777 == 0o644
    assert not list(tmp_path.glob(".old.yaml.*"))  # no temporary file left behind


@pytest.mark.slow
def test_the_installed_command_asks_on_its_terminal_and_rewrites_the_file(tmp_path):
    path = write(tmp_path / "old.yaml", V1)
    result = subprocess_with_input(path, "repeated\nunmatched\n")
    assert result.returncode == 0, result.stderr
    assert path.read_text(encoding="utf-8") == V2


def subprocess_with_input(path, answers: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(SCALEREADY), "profile", "upgrade", str(path)],
        input=answers,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_the_installed_command_refuses_a_missing_file_with_exit_3(tmp_path):
    result = run_scaleready("profile", "upgrade", tmp_path / "none.yaml")
    assert result.returncode == 3 and "Traceback" not in result.stderr


def test_upgrade_adds_a_method_inside_a_flow_mapping_and_renames_an_estimate(runner, tmp_path):
    text = (
        "name: x\nestimates: [evidence.evaluations.sample_size]\nevidence:\n  evaluations:\n"
        "    - {design: difference_in_differences, sample_size: 10}  # a trial\n"
    )
    path = write(tmp_path / "flow.yaml", text)
    assert invoke(runner, "profile", "upgrade", path).exit_code == 0
    assert path.read_text(encoding="utf-8") == (
        'schema_version: "2"\nname: x\nestimates: [evidence.evaluations.sample.individuals]\n'
        "evidence:\n  evaluations:\n    - {design: quasi_experimental, method: "
        "difference_in_differences, sample: {individuals: 10}}  # a trial\n"
    )
