"""The command line as a funder uses it: outputs, exit codes, and messages for bad input."""

from __future__ import annotations

import json
import signal
import subprocess

import pytest
import yaml

from scaleready.cli import cli
from tests.conftest import EXAMPLES, REPO, SCALEREADY, invoke, run_scaleready, write
from tests.test_rules import HEADER, rule

CODE_CLUB = REPO / "examples" / "code-club.yaml"
LOCAL = REPO / "examples" / "local-start.yaml"


@pytest.mark.slow
def test_assess_prints_a_readable_table_by_default():
    result = run_scaleready("assess", CODE_CLUB)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Code Club")
    assert (
        "Readiness level" in result.stdout
        and "Next steps" in result.stdout
        and "◀ bottleneck" in result.stdout
    )


@pytest.mark.parametrize("output_format", ["table", "json", "markdown"])
def test_assess_writes_every_format_whole_to_a_file(runner, tmp_path, output_format):
    output = tmp_path / "out" / f"card.{output_format}"
    result = invoke(
        runner, "assess", CODE_CLUB, LOCAL, "--format", output_format, "--output", output
    )
    assert result.exit_code == 0
    text = output.read_text(encoding="utf-8")
    assert "Code Club" in text and "Walk and Talk" in text
    assert [p.name for p in output.parent.iterdir()] == [output.name]  # no temporary file left
    if output_format == "json":
        assert [card["profile"]["name"] for card in json.loads(text)] == [
            "Code Club",
            "Walk and Talk Lewisham",
        ]
    if output_format == "markdown":
        assert text.startswith("# Code Club") and "## Provenance" in text


def test_json_output_is_byte_identical_when_the_clock_is_fixed(runner):
    env = {"SOURCE_DATE_EPOCH": "1767225600"}
    first = invoke(runner, "assess", CODE_CLUB, "--format", "json", env=env)
    second = invoke(runner, "assess", CODE_CLUB, "--format", "json", env=env)
    assert first.exit_code == 0 and first.stdout == second.stdout
    card = json.loads(first.stdout)
    assert card["provenance"]["assessed_at"] == "2026-01-01T00:00:00Z"
    assert card["provenance"]["backend"] in ("durable_rules", "python")
    assert {"score", "level", "bottleneck"} <= set(card["overall"])


BAD_PROFILES = {
    "malformed_yaml": ("name: x\norganisation: [unclosed\n", "not valid YAML"),
    "wrong_type": (
        "name: x\norganisation:\n  yearly_income: lots\n",
        "line 3: organisation.yearly_income",
    ),
    "unknown_key": ("name: x\norganisation:\n  yearly_incom: 5\n", "did you mean 'yearly_income'"),
    "missing_name": ("summary: no name\n", "name"),
}


@pytest.mark.parametrize("case", BAD_PROFILES, ids=list(BAD_PROFILES))
def test_a_bad_profile_exits_3_naming_the_file_and_the_line_or_field(runner, tmp_path, case):
    text, expected = BAD_PROFILES[case]
    path = write(tmp_path / "bad.yaml", text)
    result = invoke(runner, "assess", path)
    assert result.exit_code == 3
    assert str(path) in result.stderr and expected in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_a_yaml_tag_that_would_construct_a_python_object_is_rejected_and_runs_nothing(
    runner, tmp_path
):
    marker = tmp_path / "pwned"
    path = write(
        tmp_path / "evil.yaml", f"name: !!python/object/apply:os.system ['touch {marker}']\n"
    )
    result = invoke(runner, "assess", path)
    assert result.exit_code == 3 and "line 1" in result.stderr and "not allowed" in result.stderr
    assert not marker.exists()


def test_one_bad_profile_in_several_is_reported_and_the_rest_are_assessed(runner, tmp_path):
    bad = write(tmp_path / "bad.yaml", "name: [\n")
    result = invoke(runner, "assess", CODE_CLUB, bad, LOCAL, "--format", "json")
    assert result.exit_code == 3
    assert [card["profile"]["name"] for card in json.loads(result.stdout)] == [
        "Code Club",
        "Walk and Talk Lewisham",
    ]
    assert str(bad) in result.stderr


def test_fail_under_exits_1_when_a_score_is_below_the_gate(runner):
    passed = invoke(runner, "assess", LOCAL, "--fail-under", 0)
    failed = invoke(runner, "assess", LOCAL, "--fail-under", 100)
    assert passed.exit_code == 0
    assert (
        failed.exit_code == 1
        and "gate failed" in failed.stderr
        and "Readiness level" in failed.stdout
    )


@pytest.mark.parametrize(
    "args",
    [["assess"], ["assess", "x.yaml", "--format", "pdf"], ["nope"]],
    ids=["no_profile", "bad_format", "no_command"],
)
def test_usage_errors_exit_2(runner, args):
    assert runner.invoke(cli, args).exit_code == 2


def test_help_documents_the_exit_codes(runner):
    for args in ([], ["assess"]):
        assert "3 invalid input" in invoke(runner, *args, "--help").output


def test_explain_shows_each_condition_and_the_value_that_failed_it(runner):
    result = invoke(runner, "explain", LOCAL, "evidence.outcome_data")
    assert result.exit_code == 0
    assert "Outcome: ✗ fail" in result.output
    assert "any(evidence.evaluations" in result.output and "0 of 0 items meet it" in result.output
    assert "Advice:" in result.output


def test_explain_names_an_unknown_rule(runner):
    result = runner.invoke(cli, ["explain", str(LOCAL), "evidence.nope"])
    assert result.exit_code == 3 and "rule 'evidence.nope' does not exist" in result.stderr


def test_rulesets_validate_rejects_a_condition_that_calls_a_function_naming_the_rule(
    runner, tmp_path
):
    path = write(tmp_path / "evil.yaml", HEADER + rule("sneaky", '__import__("os").system("ls")'))
    result = invoke(runner, "rulesets", "validate", path)
    assert result.exit_code == 3
    assert "rule 'sneaky'" in result.stderr and "unknown function '__import__'" in result.stderr
    assert "Traceback" not in result.stderr


def test_assess_with_a_broken_rules_file_exits_3_naming_the_rule(runner, tmp_path):
    path = write(tmp_path / "typo.yaml", HEADER + rule("r", "reach.sitse > 3"))
    result = runner.invoke(cli, ["assess", str(LOCAL), "--rules", str(path)])
    assert (
        result.exit_code == 3
        and "rule 'r'" in result.stderr
        and "did you mean 'reach.sites'" in result.stderr
    )


def test_assess_with_a_rules_file_scores_it(runner, tmp_path):
    path = write(tmp_path / "mine.yaml", HEADER + rule("sites", "reach.sites >= 2"))
    result = invoke(
        runner, "assess", LOCAL, "--rules", path, "--ruleset", "demo", "--format", "json"
    )
    card = json.loads(result.stdout)
    assert [d["id"] for d in card["dimensions"]] == ["demo"]
    assert card["dimensions"][0]["rules"][0]["outcome"] == "pass"


def test_rulesets_list_and_show_describe_the_installed_rulesets(runner):
    listing = json.loads(invoke(runner, "rulesets", "list", "--json").stdout)
    assert "evidence" in {row["id"] for row in listing}
    shown = invoke(runner, "rulesets", "show", "evidence").output
    assert "Evidence of impact" in shown and "condition:" in shown


def test_profile_commands_give_a_schema_a_template_that_loads_and_validation(runner, tmp_path):
    schema = json.loads(invoke(runner, "profile", "schema").stdout)
    assert "organisation" in schema["properties"]
    template = invoke(runner, "profile", "template").output
    assert yaml.safe_load(template)["name"]
    ok = invoke(runner, "profile", "validate", CODE_CLUB, LOCAL)
    assert ok.exit_code == 0 and ok.output.count("ok:") == 2
    bad = runner.invoke(cli, ["profile", "validate", str(write(tmp_path / "b.yaml", "name: 3\n"))])
    assert bad.exit_code == 3 and "b.yaml" in bad.stderr


def test_scorecard_schema_is_json_schema(runner):
    schema = json.loads(invoke(runner, "scorecard", "schema").stdout)
    assert {"overall", "dimensions", "provenance"} <= set(schema["properties"])


def test_explain_shows_the_fields_inside_a_calculation_as_people_write_numbers(runner):
    misfit = REPO / "examples" / "evidenced-misfit.yaml"
    result = invoke(runner, "explain", misfit, "contract_fit.contract_within_turnover_rule")
    assert "Outcome: ✗ fail" in result.output
    assert "derived.largest_contract_annual_value = 800,000" in result.output
    assert "organisation.yearly_income = 420,000" in result.output


def test_output_read_only_in_part_ends_quietly_as_a_closed_pipe():
    """`scaleready ... | head -1`: the reader closes the pipe early; that is not an error of
    scaleready's, so no message, and the exit code a shell gives a command ended by SIGPIPE.
    (The output, 400 kB, is more than a pipe holds: the write after the close must fail.)"""
    command = [SCALEREADY, "assess", *EXAMPLES, "--format", "json"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.readline()  # the first line, then the pipe closes, as head does
    process.stdout.close()
    stderr = process.stderr.read().decode()
    process.stderr.close()
    assert process.wait(timeout=60) == 128 + signal.SIGPIPE, stderr
    assert stderr == ""
