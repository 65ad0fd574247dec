"""Running a round: one item's failure costs only that item, interrupts and signals leave all the
outputs or none (and no temporary file), workers never outlive the batch, memory stays flat."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from scaleready.assessment.engine import Engine
from scaleready.assessment.scorecard import Scorecard
from scaleready.errors import EngineError
from scaleready.profile import load_profile_with_hash
from scaleready.report.html import portfolio_html
from scaleready.rounds import batch
from scaleready.rounds.spreadsheets import flatten
from scaleready.synthetic import synthetic_profiles
from tests.conftest import EXAMPLES, REPO, SCALEREADY, pip, run_scaleready, write

POOLED = batch.INLINE_BELOW + 200  # enough items for the worker processes to be used
POLICY = REPO / "examples" / "policies" / "scale-up-fund.yaml"
HANG_BOUND = 120  # seconds: a generous bound on a shared machine, only to catch a hang


def jsonl_round(path: Path, count: int, seed: int = 5, names: dict[int, str] | None = None) -> Path:
    """A synthetic round as JSON lines; ``names`` renames the profiles at those positions."""
    lines = []
    for number, profile in enumerate(synthetic_profiles(count, seed=seed)):
        profile["name"] = (names or {}).get(number, profile["name"])
        lines.append(json.dumps(profile))
    return write(path, "\n".join(lines) + "\n")


def summary_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def trouble_env(tmp_path_factory) -> dict:
    """The scaleready-trouble plugin, installed for real: it misbehaves for "Trouble:" profiles."""
    site = tmp_path_factory.mktemp("trouble")
    pip("install", "--target", str(site), str(REPO / "tests" / "plugins" / "scaleready-trouble"))
    return {**os.environ, "PYTHONPATH": str(site)}


# --- one item's failure is its own error row ----------------------------------------------------


class FailingEngine(Engine):
    """The real engine, failing as durable_rules can on the profiles named in ``fail_on``."""

    fail_on: tuple[str, ...] = ()

    def assess_raw(self, profile, **kwargs):
        if profile.name in self.fail_on:
            raise EngineError("durable_rules failed: Could not assert fact, error code: 204")
        return super().assess_raw(profile, **kwargs)


def test_an_engine_error_on_one_item_is_that_items_outcome_with_exit_4(registry):
    engine = FailingEngine(list(registry.rulesets.values()), registry.derived_facts)
    engine.fail_on = ("GoodSAM",)
    assessor = batch.Assessor.around(engine, batch.BatchOptions())
    outcomes = list(
        batch.assess_all([batch.Item(str(p), path=str(p)) for p in EXAMPLES], assessor, jobs=1)
    )
    failed = [o for o in outcomes if o.error]
    assert len(outcomes) == len(EXAMPLES) and len(failed) == 1
    assert failed[0].exit_code == 4 and failed[0].row["error"] == failed[0].error
    assert failed[0].error.startswith(failed[0].label) and "error code: 204" in failed[0].error
    assert all(o.row["overall_score"] != "" for o in outcomes if not o.error)


def test_a_bug_met_on_one_item_is_reported_as_an_internal_error_of_that_item(registry):
    class BuggyEngine(Engine):
        def assess_raw(self, profile, **kwargs):
            if profile.name == "GoodSAM":
                raise ZeroDivisionError("division by zero")
            return super().assess_raw(profile, **kwargs)

    engine = BuggyEngine(list(registry.rulesets.values()), registry.derived_facts)
    assessor = batch.Assessor.around(engine, batch.BatchOptions())
    outcomes = [assessor.assess(batch.Item(str(p), path=str(p))) for p in EXAMPLES]
    failed = [o for o in outcomes if o.error]
    assert [o.exit_code for o in failed] == [4]
    assert "internal error: ZeroDivisionError: division by zero" in failed[0].error


@pytest.mark.slow
def test_a_profile_the_engine_fails_on_never_costs_the_round(tmp_path):
    """Income 1e16 failed the durable_rules C core (error 204) and cost the whole round; whether
    or not the engine reads it now, every item is in the summary and the outputs are written."""
    folder = tmp_path / "round"
    for example in EXAMPLES[:3]:
        write(folder / example.name, example.read_text(encoding="utf-8"))
    rich = write(folder / "rich.yaml", "name: Rich\norganisation:\n  yearly_income: 1.0e+16\n")
    summary, report = tmp_path / "s.jsonl", tmp_path / "r.html"
    result = run_scaleready("batch", folder, "--summary", summary, "--report", report)
    rows = summary_rows(summary)
    assert len(rows) == 4 and report.is_file()
    assert all(row["overall_score"] != "" for row in rows if row["item"] != str(rich))
    failed = [row for row in rows if row["error"]]
    assert result.returncode == (4 if failed else 0), result.stderr
    assert all(row["item"] == str(rich) and str(rich) in row["error"] for row in failed)
    assert "Traceback" not in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("trouble", ["worker exits", "segfault"])
def test_a_worker_that_dies_costs_only_the_item_that_killed_it(trouble_env, tmp_path, trouble):
    names = {7: f"Trouble: {trouble}", 420: f"Trouble: {trouble}"}
    round_file = jsonl_round(tmp_path / "round.jsonl", POOLED, names=names)
    summary, cards = tmp_path / "s.jsonl", tmp_path / "cards.jsonl"
    result = run_scaleready(
        "batch", round_file, "--summary", summary, "--scorecards", cards, "--report",
        tmp_path / "r.html", "--jobs", "2", "--ruleset", "trouble", env=trouble_env,
    )  # fmt: skip
    assert result.returncode == 4, result.stderr
    rows = summary_rows(summary)
    assert len(rows) == POOLED
    failed = {row["item"]: row["error"] for row in rows if row["error"]}
    assert set(failed) == {f"{round_file}:line 8", f"{round_file}:line 421"}
    assert all("the worker process assessing it stopped" in e for e in failed.values())
    how = "exit code 70" if trouble == "worker exits" else "killed by signal SIGSEGV"
    assert all(how in error for error in failed.values())
    assert len(cards.read_text(encoding="utf-8").splitlines()) == POOLED - 2
    assert f"assessed {POOLED - 2} of {POOLED} profiles" in result.stderr
    assert "Traceback" not in result.stderr


# --- KeyboardInterrupt, SIGINT, SIGTERM: 130 and 143, all outputs or none ------------------------


@pytest.mark.slow
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_keyboard_interrupt_raised_in_a_plugin_exits_130(trouble_env, tmp_path, jobs):
    names = {450: "Trouble: interrupt"}
    round_file = jsonl_round(tmp_path / "round.jsonl", POOLED, names=names)
    out = tmp_path / "out"
    result = run_scaleready(
        "batch", round_file, "--summary", out / "s.csv", "--jobs", jobs, "--ruleset", "trouble",
        env=trouble_env,
    )  # fmt: skip
    assert result.returncode == 130, result.stderr
    assert "interrupted" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists() or list(out.iterdir()) == []


@pytest.mark.slow
def test_a_keyboard_interrupt_raised_in_a_plugin_exits_130_in_assess(trouble_env, tmp_path):
    profile = write(tmp_path / "p.yaml", "name: 'Trouble: interrupt'\n")
    result = run_scaleready("assess", profile, "--ruleset", "trouble", env=trouble_env)
    assert result.returncode == 130 and "Traceback" not in result.stderr


def children_of(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (read from /proc: psutil is not installed)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def running_with(marker: str) -> list[int]:
    """Processes whose command line holds ``marker``: a batch and its workers."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes()
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if marker.encode() in command and state != "Z":
                found.append(int(entry.name))
    return found


def open_files(pid: int) -> list[str]:
    try:
        return [os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()]
    except OSError:
        return []


def wait_until(condition: Callable[[], bool], process: subprocess.Popen, what: str) -> None:
    """Wait for ``condition``; failing, end the process and close its pipes (left open, a
    pipe is reported as unraisable in whichever test the garbage collector next runs in)."""
    deadline = time.monotonic() + HANG_BOUND
    while not condition():
        if process.poll() is not None:
            _, stderr = process.communicate()
            pytest.fail(f"the batch ended before {what}: {stderr[-2000:]}")
        if time.monotonic() > deadline:
            process.kill()
            process.communicate()
            pytest.fail(f"no {what} after {HANG_BOUND} s")
        time.sleep(0.005)


PHASES = {
    # reading the round, before any worker is started
    "reading": lambda pid, round_file: str(round_file) in open_files(pid) and not children_of(pid),
    # workers assessing
    "assessing": lambda pid, round_file: len(children_of(pid)) >= 2,
    # (after the workers were seen) every item assessed, the workers gone: outputs being written
    "writing": lambda pid, round_file: not children_of(pid),
}


@pytest.fixture(scope="module")
def big_round(tmp_path_factory) -> Path:
    """A CSV round: its rows are read in the main process, long enough to signal it then."""
    rows = [flatten(profile) for profile in synthetic_profiles(1_200, seed=9)]
    header = sorted({key for row in rows for key in row})
    path = tmp_path_factory.mktemp("big") / "round.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.mark.slow
@pytest.mark.parametrize("phase", list(PHASES))
@pytest.mark.parametrize(
    ("sent", "exit_code"),
    [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGKILL, -signal.SIGKILL)],
    ids=["SIGINT", "SIGTERM", "SIGKILL"],
)
def test_a_signal_at_any_phase_leaves_all_outputs_or_none_and_no_worker(
    big_round, tmp_path, phase, sent, exit_code
):
    out = tmp_path / "out"
    args = [SCALEREADY, "batch", big_round, "--jobs", "2", "--summary", out / "summary.xlsx"]
    args += ["--scorecards", out / "cards.jsonl", "--report", out / "round.html"]
    args += ["--policy", POLICY]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if phase == "writing":
        wait_until(lambda: len(children_of(process.pid)) >= 2, process, "workers")
    wait_until(lambda: PHASES[phase](process.pid, big_round), process, f"{phase} phase")
    process.send_signal(sent)
    _, stderr = process.communicate(timeout=HANG_BOUND)
    assert process.returncode == exit_code, stderr[-2000:]
    assert "Traceback" not in stderr
    deadline = time.monotonic() + 10  # a killed worker takes a moment to go
    while running_with(str(out)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert running_with(str(out)) == [], "worker processes outlived the batch"
    written = sorted(p.name for p in out.iterdir()) if out.exists() else []
    assert written in ([], ["cards.jsonl", "round.html", "summary.xlsx"]), written


@pytest.mark.slow
@pytest.mark.parametrize(
    ("sent", "exit_code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"]
)
def test_assess_interrupted_exits_130_or_143_and_writes_nothing(tmp_path, sent, exit_code):
    folder = tmp_path / "profiles"
    for number, profile in enumerate(synthetic_profiles(1_500, seed=3)):
        write(folder / f"p{number}.json", json.dumps(profile))
    out = tmp_path / "out" / "cards.json"
    args = [SCALEREADY, "assess", *sorted(folder.iterdir()), "--format", "json", "--output", out]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wait_until(lambda: out.parent.exists(), process, "the output folder")
    time.sleep(0.5)
    process.send_signal(sent)
    _, stderr = process.communicate(timeout=HANG_BOUND)
    assert process.returncode == exit_code and "Traceback" not in stderr, stderr[-2000:]
    assert list(out.parent.iterdir()) == []


@pytest.mark.slow
def test_workers_end_when_the_batch_is_killed(big_round, tmp_path):
    """SIGKILL cannot be caught: the workers must notice on their own (PR_SET_PDEATHSIG)."""
    out = tmp_path / "out"
    args = [SCALEREADY, "batch", big_round, "--jobs", "2", "--summary", out / "s.csv"]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_until(lambda: len(children_of(process.pid)) >= 2, process, "workers")
    workers = children_of(process.pid)
    process.kill()
    # the workers hold the batch's stdout too: it ends only when they do
    stdout, _ = process.communicate(timeout=30)
    assert stdout == b""
    deadline = time.monotonic() + 10
    while [pid for pid in workers if alive(pid)] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [pid for pid in workers if alive(pid)] == []


def alive(pid: int) -> bool:
    """True while a process runs (a zombie has ended: it only waits to be reaped)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


# --- the portfolio report from a compact summary per profile ------------------------------------


def test_the_portfolio_from_compact_cards_is_the_same_page_as_from_full_scorecards(registry):
    engine = Engine(list(registry.rulesets.values()), registry.derived_facts)
    options = batch.BatchOptions(policy=str(POLICY), keep_scorecards=True, keep_portfolio=True)
    assessor = batch.Assessor.around(engine, options)
    portfolio, cards = batch.Portfolio(), []
    items = [batch.Item(str(p), path=str(p)) for p in EXAMPLES]
    items.append(batch.Item("broken.yaml", error="broken.yaml: not a profile"))
    for outcome in batch.assess_all(items, assessor, jobs=1):
        portfolio.add(outcome)
        if outcome.scorecard_json:
            cards.append(Scorecard.model_validate_json(outcome.scorecard_json))
    errors = [("broken.yaml", "broken.yaml: not a profile")]
    assert portfolio.html("Round") == portfolio_html(cards, title="Round", errors=errors)


def test_parts_shared_by_profiles_are_kept_once(registry, monkeypatch):
    # a provenance holds the time to the second: three assessments that straddle a second (as
    # on a loaded machine) have two provenances, rightly not shared; the clock is fixed here
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    engine = Engine(list(registry.rulesets.values()), registry.derived_facts)
    assessor = batch.Assessor.around(engine, batch.BatchOptions(keep_portfolio=True))
    profile, _ = load_profile_with_hash(EXAMPLES[0])
    portfolio = batch.Portfolio()
    for number in range(3):
        portfolio.add(assessor.assess(batch.Item(f"copy {number}", data=profile.model_dump())))
    first, *others = portfolio.cards
    assert all(card.dimensions is first.dimensions for card in others)
    assert all(card.provenance is first.provenance for card in others)


@pytest.mark.slow
def test_one_process_and_two_give_the_same_outputs(tmp_path):
    round_file = jsonl_round(tmp_path / "round.jsonl", POOLED, seed=12)
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000"}
    made = {}
    for jobs in ("1", "2"):
        out = tmp_path / f"jobs{jobs}"
        result = run_scaleready(
            "batch", round_file, "--jobs", jobs, "--summary", out / "s.csv", "--scorecards",
            out / "c.jsonl", "--report", out / "r.html", "--policy", POLICY, env=env,
        )  # fmt: skip
        assert result.returncode in (0, 1), result.stderr
        made[jobs] = [(out / name).read_bytes() for name in ("s.csv", "c.jsonl", "r.html")]
    assert made["1"] == made["2"]
