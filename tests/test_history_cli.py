"""`--record` on assess and batch, `scaleready history` and `scaleready reassess`, on SQLite and
on a real PostgreSQL server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from scaleready.history import open_store
from scaleready.profile import load_profile
from tests.conftest import EXAMPLES, REPO, invoke, run_scaleready

CODE_CLUB = REPO / "examples" / "code-club.yaml"
GOODSAM = REPO / "examples" / "goodsam.yaml"
SCALE_UP = REPO / "examples" / "policies" / "scale-up-fund.yaml"
HISTORY_RULESETS = REPO / "tests" / "rulesets" / "history"
REACH_1, REACH_2 = HISTORY_RULESETS / "reach-1.yaml", HISTORY_RULESETS / "reach-2.yaml"
REACH_POLICY = HISTORY_RULESETS / "reach-policy.yaml"
# the built-in evidence ruleset's version, whichever it is: unchanged between the two runs
EVIDENCE = yaml.safe_load((REPO / "rulesets" / "evidence.yaml").read_text())["version"]


def records(url):
    with open_store(url) as store:
        return store.find(limit=None)


def test_assess_records_each_profile_with_its_policy(runner, history_url):
    result = invoke(
        runner, "assess", CODE_CLUB, GOODSAM, "--policy", SCALE_UP, "--record", history_url
    )
    assert result.exit_code == 1  # both fail the scale-up fund's gate, and are recorded anyway
    goodsam, club = records(history_url)
    assert (club.name, goodsam.name) == ("Code Club", "GoodSAM")
    assert club.profile == load_profile(CODE_CLUB).model_dump(mode="json", exclude_none=True)
    assert club.policy == yaml.safe_load(SCALE_UP.read_text())
    assert club.policy_sha256 == club.scorecard["gate"]["policy_sha256"]
    assert club.scorecard["gate"]["passed"] is False and club.caller.startswith("cli:")
    assert club.scorecard["profile"]["source"] == str(CODE_CLUB)
    assert "recorded 2 assessments in" in result.stderr


def test_the_default_history_comes_from_the_environment(runner, tmp_path):
    url = f"sqlite:///{tmp_path / 'env.sqlite'}"
    result = invoke(runner, "assess", CODE_CLUB, "--record", env={"SCALEREADY_HISTORY_URL": url})
    assert result.exit_code == 0, result.output
    assert [r.name for r in records(url)] == ["Code Club"]


def test_a_profile_that_cannot_be_assessed_is_not_recorded(runner, history_url, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: Bad\nprofile_version: 2\norganisation: {yearly_income: lots}\n")
    result = invoke(runner, "assess", bad, CODE_CLUB, "--record", history_url)
    assert result.exit_code == 3 and "bad.yaml" in result.stderr
    assert [r.name for r in records(history_url)] == ["Code Club"]


def test_a_profile_after_record_is_refused_as_its_url(runner, tmp_path):
    result = invoke(runner, "assess", "--record", CODE_CLUB, GOODSAM)
    assert result.exit_code == 2
    assert "a profile, not a database URL; write --record after the profiles" in result.stderr


def test_a_history_that_cannot_be_opened_stops_before_any_work(runner, tmp_path):
    output = tmp_path / "card.json"
    url = "sqlite:////no/such/folder/h.sqlite"
    result = invoke(runner, "assess", CODE_CLUB, "--output", output, "--record", url)
    assert result.exit_code == 2
    assert "folder /no/such/folder does not exist" in result.stderr
    assert not output.exists()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "extra"),
    [
        (["assess", str(CODE_CLUB), "--record"], "history"),
        (["history"], "history"),
        (["reassess"], "history"),
        (["token", "list"], "history"),
        (["serve"], "service"),
    ],
    ids=["assess-record", "history", "reassess", "token", "serve"],
)
def test_without_the_extra_a_command_says_what_to_install(tmp_path, args, extra):
    block = "import sys; sys.modules['sqlalchemy'] = None; from scaleready.cli import main; main()"
    command = [sys.executable, "-c", block, *args]
    env = {"SCALEREADY_HISTORY_URL": f"sqlite:///{tmp_path / 'h.sqlite'}", "PATH": ""}
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 2, result.stderr
    assert f"pip install 'scaleready[{extra}]'" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_batch_records_every_profile_it_assessed(runner, history_url, tmp_path):
    summary = tmp_path / "round.csv"
    result = invoke(
        runner, "batch", REPO / "examples", "--summary", summary, "--record", history_url
    )
    assert result.exit_code == 0, result.stderr
    recorded = records(history_url)
    assert len(recorded) == len(EXAMPLES)
    assert {r.name for r in recorded} == {load_profile(path).name for path in EXAMPLES}
    by_source = {r.scorecard["profile"]["source"]: r for r in recorded}
    club = by_source[str(CODE_CLUB)]
    assert club.profile == load_profile(CODE_CLUB).model_dump(mode="json", exclude_none=True)
    assert f"recorded {len(EXAMPLES)} assessments" in result.stderr


@pytest.mark.slow
def test_a_round_on_worker_processes_is_recorded_whole(tmp_path):
    """More items than are assessed inline: the workers send each profile back to be recorded
    (on SQLite only: what is written is the same as the other tests write on PostgreSQL)."""
    history_url = f"sqlite:///{tmp_path / 'history.sqlite'}"
    profiles = [load_profile(path).model_dump(mode="json", exclude_none=True) for path in EXAMPLES]
    lines = [dict(profiles[n % len(profiles)], name=f"Applicant {n}") for n in range(450)]
    lines[7] = {"name": "Broken", "organisation": {"yearly_income": "lots"}}
    round_file = tmp_path / "round.jsonl"
    round_file.write_text("".join(json.dumps(line) + "\n" for line in lines))
    result = run_scaleready(
        "batch", round_file, "--summary", tmp_path / "s.csv", "--jobs", "2", "--record", history_url
    )
    assert result.returncode == 3, result.stderr  # the broken line
    recorded = records(history_url)
    assert len(recorded) == 449
    assert "Broken" not in {r.name for r in recorded}
    applicant = next(r for r in recorded if r.name == "Applicant 9")
    assert applicant.profile == lines[9]


def test_history_lists_newest_first_and_filters(runner, history_url):
    invoke(runner, "assess", CODE_CLUB, "--record", history_url)
    invoke(runner, "assess", GOODSAM, "--rules", REACH_1, "--record", history_url)
    listed = invoke(runner, "history", "--url", history_url)
    assert listed.exit_code == 0
    lines = listed.stdout.splitlines()
    assert lines[0].split()[:3] == ["recorded", "(UTC)", "id"]
    assert [line.split()[-1] for line in lines[1:]] == ["GoodSAM", "Club"]
    assert _names(runner, history_url, "--name", "code") == ["Code Club"]
    assert _names(runner, history_url, "--ruleset", "reach") == ["GoodSAM"]
    assert _names(runner, history_url, "--ruleset", "reach@1.0.0") == ["GoodSAM"]
    assert _names(runner, history_url, "--ruleset", "reach@2.0.0") == []
    assert _names(runner, history_url, "--since", "2000-01-01") == ["GoodSAM", "Code Club"]
    assert _names(runner, history_url, "--until", "2000-01-01") == []
    assert _names(runner, history_url, "--funder", "north") == []
    assert _names(runner, history_url, "--limit", "1") == ["GoodSAM"]


def _names(runner, url, *filters) -> list[str]:
    result = invoke(runner, "history", "--url", url, "--json", *filters)
    assert result.exit_code == 0, result.output
    return [row["name"] for row in json.loads(result.stdout)]


def test_history_shows_one_record_in_full(runner, history_url):
    invoke(runner, "assess", CODE_CLUB, "--policy", SCALE_UP, "--record", history_url)
    (record,) = records(history_url)
    shown = invoke(runner, "history", record.id, "--url", history_url)
    assert shown.exit_code == 0
    document = json.loads(shown.stdout)
    assert document["scorecard"] == record.scorecard and document["profile"] == record.profile
    assert document["policy"] == record.policy and document["gate"] == "failed"
    assert document["policy_name"] == "Scale-up commissioning fund (example policy)"
    missing = invoke(runner, "history", "no-such-id", "--url", history_url)
    assert missing.exit_code == 3 and "no recorded assessment has the id" in missing.stderr


def test_history_refuses_a_date_it_cannot_read(runner, tmp_path):
    result = invoke(runner, "history", "--url", tmp_path / "h.sqlite", "--since", "last week")
    assert result.exit_code == 2 and "'last week' is not a date or time" in result.output


@pytest.mark.parametrize("command", ["history", "reassess"])
def test_reading_a_history_that_does_not_exist_makes_none(runner, tmp_path, command):
    missing = tmp_path / "typo.sqlite"
    result = invoke(runner, command, "--url", missing)
    assert result.exit_code == 2
    assert f"no history at {missing}: nothing has been recorded there" in result.stderr
    assert not missing.exists()


def test_reassess_reports_what_a_new_ruleset_version_changes(runner, history_url):
    """Recorded under reach 1.0.0 with a policy; reassessed under reach 2.0.0."""
    options = ("--rules", REACH_1, "--policy", REACH_POLICY, "--record", history_url)
    assert invoke(runner, "assess", CODE_CLUB, *options).exit_code == 0
    result = invoke(runner, "reassess", "--url", history_url, "--rules", REACH_2, "--json")
    assert result.exit_code == 0, result.stderr
    (done,) = json.loads(result.stdout)
    assert done["changed"] == ["level", "bottleneck", "gate", "score"]
    assert done["rulesets"] == [
        {"id": "evidence", "recorded": EVIDENCE, "now": EVIDENCE, "same_file": True},
        {"id": "reach", "recorded": "1.0.0", "now": "2.0.0", "same_file": False},
    ]
    before, after = done["before"], done["after"]
    assert (before["level"], before["bottleneck"], before["gate"]) == (2, ["evidence"], "passed")
    assert (after["level"], after["bottleneck"], after["gate"]) == (0, ["reach"], "failed")
    assert after["gate_reasons"] == ["Reach is at level 0, below 1"]
    assert "reassessed 1 of 1; 1 changed" in result.stderr


def test_reassess_in_words_names_each_change(runner, history_url):
    options = ("--rules", REACH_1, "--policy", REACH_POLICY, "--record", history_url)
    invoke(runner, "assess", CODE_CLUB, *options)
    result = invoke(runner, "reassess", "--url", history_url, "--rules", REACH_2)
    assert result.stdout.splitlines()[1:] == [
        "  ruleset reach: 1.0.0 -> 2.0.0",
        "  level: 2/5 (3 possible) -> 0/5",
        "  score: 81 -> 64.4",
        "  bottleneck: evidence -> reach",
        "  gate: passed -> failed (Reach is at level 0, below 1)",
    ]


def test_reassess_under_the_same_rulesets_changes_nothing(runner, history_url):
    invoke(runner, "assess", CODE_CLUB, GOODSAM, "--policy", SCALE_UP, "--record", history_url)
    result = invoke(runner, "reassess", "--url", history_url, "--json")
    assert result.exit_code == 0
    done = json.loads(result.stdout)
    assert [d["changed"] for d in done] == [[], []]
    assert [d["after"] for d in done] == [d["before"] for d in done]
    assert invoke(runner, "reassess", "--url", history_url, "--changed").stdout == ""


def test_reassess_names_a_ruleset_no_longer_installed(runner, history_url):
    invoke(runner, "assess", CODE_CLUB, "--rules", REACH_1, "--record", history_url)
    result = invoke(runner, "reassess", "--url", history_url)
    assert result.exit_code == 3
    assert "ruleset 'reach' is not installed now; install it, or give its file with --rules" in (
        result.output
    )


def test_history_suggests_a_ruleset_for_one_no_record_used(runner, history_url):
    invoke(runner, "assess", CODE_CLUB, "--record", history_url)
    result = invoke(runner, "history", "--url", history_url, "--ruleset", "evidnce@0.3.0")
    assert result.exit_code == 0 and result.stdout == ""
    assert "no recorded assessment used ruleset 'evidnce'; did you mean 'evidence'?" in (
        result.stderr
    )


def test_a_name_from_a_profile_cannot_control_the_terminal(runner, tmp_path):
    url = f"sqlite:///{tmp_path / 'h.sqlite'}"
    profile = yaml.safe_load(CODE_CLUB.read_text())
    profile["name"] = "Club\x1b[2J\x1b]0;owned\x07 \u202eevil"
    path = tmp_path / "hostile.yaml"
    path.write_text(yaml.safe_dump(profile), encoding="utf-8")
    assert invoke(runner, "assess", path, "--record", url).exit_code == 0
    for args in (("history",), ("history", "--json"), ("reassess",)):
        shown = invoke(runner, *args, "--url", url).stdout
        assert "\x1b" not in shown and "\x07" not in shown and "\u202e" not in shown, args


@pytest.mark.slow
def test_an_interrupted_round_keeps_what_it_recorded(tmp_path):
    """Ctrl-C mid-round: no outputs, but every assessment handed to the history stays there."""
    import signal

    from tests.conftest import SCALEREADY

    profiles = [load_profile(path).model_dump(mode="json", exclude_none=True) for path in EXAMPLES]
    round_file = tmp_path / "round.jsonl"
    round_file.write_text(
        "".join(
            json.dumps(dict(profiles[n % len(profiles)], name=f"Applicant {n}")) + "\n"
            for n in range(20_000)
        )
    )
    url = f"sqlite:///{tmp_path / 'history.sqlite'}"
    summary = tmp_path / "summary.csv"
    command = [str(SCALEREADY), "batch", str(round_file), "--summary", str(summary)]
    process = subprocess.Popen(
        [*command, "--jobs", "2", "--record", url], stderr=subprocess.PIPE, text=True
    )
    seen = _wait_for_records(url, at_least=400, process=process)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    kept = records(url)
    assert len(kept) >= seen and len(kept) < 20_000
    assert len({r.id for r in kept}) == len(kept)
    assert f"recorded {len(kept)} assessments" in stderr and not summary.exists()


def _wait_for_records(url, at_least: int, process) -> int:
    """The number of records once there are at least ``at_least`` (the round still running)."""
    import time

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, "the round ended before it could be interrupted"
        path = url.removeprefix("sqlite:///")
        if Path(path).exists():
            with open_store(url) as store:
                count = len(store.find(limit=None))
            if count >= at_least:
                return count
        time.sleep(0.2)
    raise AssertionError("no records appeared")
