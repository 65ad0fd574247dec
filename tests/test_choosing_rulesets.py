"""A funder chooses the rulesets that count: --ruleset, a policy's rulesets, scaleready.toml.

Issue 10, finding 5: installing an unrelated plugin must not move a funder's results.
"""

from __future__ import annotations

import json
import os
import types
from pathlib import Path

import pytest

from scaleready.assessment.build import create_engine
from scaleready.config import project_config
from scaleready.hookspecs import hookimpl
from tests.conftest import EXAMPLES, LANGUAGE_RULESET, REPO, invoke, run_scaleready, write

POLICIES = REPO / "examples" / "policies"
LOCAL_START = REPO / "examples" / "local-start.yaml"
BUILTINS = {"evidence", "partnership", "contract_fit", "replicability"}
SOCIAL_VALUE = "scaleready-social-value"  # an unrelated plugin: one ruleset, one derived fact


def verdicts(stdout: str) -> list[dict]:
    """What a funder reads off each scorecard: scores, levels, bottleneck, gate, dimensions."""
    return [
        {
            "profile": card["profile"]["name"],
            "overall": card["overall"],
            "gate": card["gate"],
            "dimensions": {
                d["id"]: (d["score"], d["level"], d["weight"]) for d in card["dimensions"]
            },
        }
        for card in json.loads(stdout)
    ]


def assess_all(policy: Path, env: dict | None = None, cwd: Path | None = None) -> list[dict]:
    result = run_scaleready(
        "assess", *EXAMPLES, "--policy", policy, "--format", "json", env=env, cwd=cwd
    )
    assert result.returncode in (0, 1), result.stderr  # 1: some profiles fail the gate
    return verdicts(result.stdout)


@pytest.fixture(scope="module")
def with_social_value(plugin_sites) -> dict:
    return {**os.environ, **plugin_sites(SOCIAL_VALUE)}


@pytest.mark.slow
@pytest.mark.parametrize("policy", sorted(POLICIES.glob("*.yaml")), ids=lambda p: p.stem)
def test_installing_an_unrelated_plugin_moves_no_verdict_or_score(
    policy, with_social_value, tmp_path
):
    before = assess_all(policy, cwd=tmp_path)
    after = assess_all(policy, env=with_social_value, cwd=tmp_path)
    assert after == before
    assert all("social_value" not in card["dimensions"] for card in after)


@pytest.mark.slow
def test_the_default_says_which_installed_rulesets_it_left_out(with_social_value, tmp_path):
    result = run_scaleready("assess", LOCAL_START, env=with_social_value, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "note: installed ruleset social_value not counted" in result.stderr
    pinned = run_scaleready(
        "assess", LOCAL_START, "--ruleset", "evidence", env=with_social_value, cwd=tmp_path
    )
    assert pinned.returncode == 0 and "note:" not in pinned.stderr


@pytest.mark.slow
def test_a_plugin_ruleset_a_policy_weighs_counts_without_listing_the_rest(
    with_social_value, tmp_path
):
    policy = write(tmp_path / "fund.yaml", "name: Fund\nweights: {social_value: 3}\n")
    result = run_scaleready(
        "assess", LOCAL_START, "--policy", policy, "--format", "json",
        env=with_social_value, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    weights = {d["id"]: d["weight"] for d in json.loads(result.stdout)["dimensions"]}
    assert weights == {**dict.fromkeys(BUILTINS, 1.0), "social_value": 3.0}
    counted = [r["id"] for r in json.loads(result.stdout)["provenance"]["rulesets"]]
    assert counted == sorted(weights)  # the scorecard says which rulesets counted


# --- precedence: --ruleset > the policy's rulesets > scaleready.toml > the default -------------


def counted(result) -> list[str]:
    assert result.exit_code == 0, result.output
    return [d["id"] for d in json.loads(result.stdout)["dimensions"]]


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """A project folder with a scaleready.toml, the working folder two folders below it."""
    write(tmp_path / "scaleready.toml", 'rulesets = ["contract_fit", "evidence"]\n')
    write(tmp_path / "fund.yaml", "name: Fund\nrulesets: [partnership]\n")
    working = tmp_path / "applications" / "2026"
    working.mkdir(parents=True)
    monkeypatch.chdir(working)
    return tmp_path


def test_without_a_choice_the_built_in_rulesets_count(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke(runner, "assess", LOCAL_START, "--format", "json")
    assert counted(result) == sorted(BUILTINS)


def test_the_config_file_is_found_from_a_subfolder(runner, project):
    result = invoke(runner, "assess", LOCAL_START, "--format", "json")
    assert counted(result) == ["contract_fit", "evidence"]


def test_a_policy_s_rulesets_override_the_config_file(runner, project):
    result = invoke(
        runner, "assess", LOCAL_START, "--policy", project / "fund.yaml", "--format", "json"
    )
    assert counted(result) == ["partnership"]


def test_the_ruleset_option_overrides_policy_and_config(runner, project):
    args = ["--policy", project / "fund.yaml", "--ruleset", "partnership", "--ruleset", "evidence"]
    result = invoke(runner, "assess", LOCAL_START, *args, "--format", "json")
    assert counted(result) == ["evidence", "partnership"]


def test_the_config_file_s_policy_applies_unless_one_is_given(runner, project):
    write(project / "scaleready.toml", 'policy = "fund.yaml"\n')
    result = invoke(runner, "assess", LOCAL_START, "--format", "json")
    assert counted(result) == ["partnership"]
    assert json.loads(result.stdout)["gate"]["policy"] == "Fund"
    other = write(project / "other.yaml", "name: Other\n")
    result = invoke(runner, "assess", LOCAL_START, "--policy", other, "--format", "json")
    assert json.loads(result.stdout)["gate"]["policy"] == "Other"
    assert counted(result) == sorted(BUILTINS)


def test_no_config_leaves_the_config_file_and_its_policy_out(runner, project):
    write(project / "scaleready.toml", 'rulesets = ["contract_fit"]\npolicy = "fund.yaml"\n')
    result = invoke(runner, "--no-config", "assess", LOCAL_START, "--format", "json")
    assert counted(result) == sorted(BUILTINS)
    assert json.loads(result.stdout)["gate"] is None
    listing = json.loads(invoke(runner, "--no-config", "rulesets", "list", "--json").stdout)
    assert all(row["counts"] for row in listing)


def test_no_config_passes_over_a_broken_config_file(runner, project):
    write(project / "scaleready.toml", "rulesets = [\n")
    assert invoke(runner, "assess", LOCAL_START).exit_code == 3
    assert counted(invoke(runner, "--no-config", "assess", LOCAL_START, "--format", "json"))


def test_rulesets_list_says_which_count_here(runner, project):
    listing = json.loads(invoke(runner, "rulesets", "list", "--json").stdout)
    assert {row["id"]: row["counts"] for row in listing} == {
        "contract_fit": True,
        "evidence": True,
        "partnership": False,
        "replicability": False,
    }
    table = {
        line.split()[0]: line for line in invoke(runner, "rulesets", "list").stdout.splitlines()
    }
    assert table["replicability"].endswith("(not counted)")
    assert not table["evidence"].endswith("(not counted)")


def test_a_round_counts_the_chosen_rulesets_in_every_worker(runner, project, tmp_path):
    summary = tmp_path / "summary.csv"
    result = invoke(runner, "batch", *EXAMPLES[:3], "--jobs", "2", "--summary", summary)
    assert result.exit_code == 0, result.output
    header = summary.read_text(encoding="utf-8").splitlines()[0]
    assert "contract_fit" in header and "evidence" in header
    assert "partnership" not in header and "replicability" not in header


def test_the_python_api_reads_the_config_file_only_when_given(project):
    engine, _ = create_engine()
    assert [r.id for r in engine.rulesets] == sorted(BUILTINS)
    engine, _ = create_engine(config=project_config())
    assert [r.id for r in engine.rulesets] == ["contract_fit", "evidence"]


def test_a_plugin_the_program_gives_counts_by_default():
    plugin = types.ModuleType("extra_ruleset")

    @hookimpl
    def register_rulesets(register):
        register(LANGUAGE_RULESET)

    plugin.register_rulesets = register_rulesets  # type: ignore[attr-defined]
    engine, registry = create_engine(plugins=[plugin])
    assert {r.id for r in engine.rulesets} == BUILTINS | {"language"}


# --- errors: the option or file at fault, and the nearest id ---------------------------------


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("option", "--ruleset: unknown ruleset 'evidnce'; did you mean 'evidence'?"),
        (
            "policy",
            "fund.yaml: line 3: rulesets: unknown ruleset 'evidnce'; did you mean 'evidence'",
        ),
        ("config", "scaleready.toml: line 3: rulesets: unknown ruleset 'evidnce'; did you mean"),
        ("weights", "fund.yaml: line 2: weights names ruleset 'evidnce', which is not installed"),
    ],
    ids=str,
)
def test_an_unknown_ruleset_names_where_it_was_written_and_the_nearest_id(
    runner, tmp_path, monkeypatch, where, message
):
    monkeypatch.chdir(tmp_path)
    args = ["assess", LOCAL_START]
    if where == "option":
        args += ["--ruleset", "evidnce"]
    elif where == "config":
        write(tmp_path / "scaleready.toml", 'rulesets = [\n  "evidence",\n  "evidnce",\n]\n')
    else:
        key = "rulesets: [evidence,\n  evidnce]" if where == "policy" else "weights: {evidnce: 2}"
        args += ["--policy", write(tmp_path / "fund.yaml", f"name: Fund\n{key}\n")]
    result = invoke(runner, *args)
    assert result.exit_code == 3
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_a_policy_that_weighs_a_ruleset_outside_its_rulesets_names_the_line(runner, tmp_path):
    text = "name: Fund\nrulesets: [evidence]\nweights:\n  partnership: 2\n"
    result = invoke(runner, "assess", LOCAL_START, "--policy", write(tmp_path / "f.yaml", text))
    assert result.exit_code == 3
    assert "f.yaml: line 3: weights names ruleset 'partnership', which is not in" in result.stderr


def test_a_policy_naming_a_ruleset_the_option_left_out_says_who_chose(runner, tmp_path):
    policy = write(tmp_path / "f.yaml", "name: Fund\nminimum_levels: {partnership: 1}\n")
    result = invoke(runner, "assess", LOCAL_START, "--policy", policy, "--ruleset", "evidence")
    assert result.exit_code == 3
    assert "minimum_levels names ruleset 'partnership', which does not count here" in result.stderr
    assert "chosen by --ruleset" in result.stderr


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('rulesets = ["evidence"]\npolicy "x"\n', "line 2: Expected '=' after a key"),
        ('rulesets = ["evidence",\n  "partnership"\n', "line 2: Unclosed array"),
        (
            'rulesets = ["evidence"]\nrulset = 1\n',
            "line 2: unknown key 'rulset'; did you mean 'rulesets'?",
        ),
        ('\n\nrulesets = "evidence"\n', "line 3: rulesets: expected a list of ruleset ids"),
        ("rulesets = []\n", "line 1: rulesets: is empty"),
        ("policy = 3\n", "line 1: policy: expected the path of a policy file, got 3"),
        ("[rulesets]\nx = 1\n", "line 1: rulesets: expected a list of ruleset ids"),
    ],
    ids=[
        "not TOML",
        "not TOML at the end",
        "unknown key",
        "not a list",
        "empty",
        "policy not text",
        "a table",
    ],
)
def test_a_bad_config_file_names_the_file_and_line(runner, tmp_path, monkeypatch, text, message):
    write(tmp_path / "scaleready.toml", text)
    monkeypatch.chdir(tmp_path)
    result = invoke(runner, "assess", LOCAL_START)
    assert result.exit_code == 3
    assert f"{tmp_path / 'scaleready.toml'}: {message}" in result.stderr


@pytest.mark.slow
def test_explain_reaches_a_plugin_rule_that_does_not_count(with_social_value, tmp_path):
    result = run_scaleready(
        "explain", LOCAL_START, "social_value.social_action", env=with_social_value, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "social_action" in result.stdout and "pass" in result.stdout
