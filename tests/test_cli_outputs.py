"""Where outputs go: never over an input or each other, straight into devices and FIFOs, one
HTML report per profile even when file names repeat, and a target that cannot be written named."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from pathlib import Path

import pytest
from click.testing import Result

from scaleready.report import outputs
from tests.conftest import EXAMPLES, REPO, SCALEREADY, invoke, run_scaleready, write

CODE_CLUB = REPO / "examples" / "code-club.yaml"
LOCAL = REPO / "examples" / "local-start.yaml"
POLICY = REPO / "examples" / "policies" / "scale-up-fund.yaml"
FROZEN_CLOCK = {"SOURCE_DATE_EPOCH": "1700000000"}


def no_traceback(result: subprocess.CompletedProcess | Result) -> bool:
    return "Traceback" not in result.stdout + result.stderr


def files_in(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


# --- an output never overwrites an input, or another output -------------------------------------


def test_assess_refuses_an_output_that_is_the_profile_it_reads(runner, tmp_path):
    profile = write(tmp_path / "code-club.yaml", CODE_CLUB.read_text(encoding="utf-8"))
    result = invoke(runner, "assess", profile, "--output", profile)
    assert result.exit_code == 2 and no_traceback(result)
    assert f"--output {profile} would overwrite the input {profile}" in result.stderr
    assert profile.read_text(encoding="utf-8") == CODE_CLUB.read_text(encoding="utf-8")


def test_the_same_file_by_another_path_or_a_symlink_is_refused_too(runner, tmp_path):
    profile = write(tmp_path / "p" / "code-club.yaml", CODE_CLUB.read_text(encoding="utf-8"))
    (tmp_path / "link.yaml").symlink_to(profile)
    for target in (tmp_path / "p" / ".." / "p" / "code-club.yaml", tmp_path / "link.yaml"):
        result = invoke(runner, "assess", profile, "--output", target)
        assert result.exit_code == 2, result.stderr
        assert "would overwrite the input" in result.stderr
    assert profile.read_text(encoding="utf-8") == CODE_CLUB.read_text(encoding="utf-8")


def test_a_policy_or_rules_file_is_an_input_too(runner, tmp_path):
    policy = write(tmp_path / "policy.yaml", POLICY.read_text(encoding="utf-8"))
    result = invoke(runner, "assess", CODE_CLUB, "--policy", policy, "--output", policy)
    assert result.exit_code == 2 and "would overwrite the input" in result.stderr
    assert policy.read_text(encoding="utf-8") == POLICY.read_text(encoding="utf-8")


@pytest.mark.parametrize("option", ["--summary", "--scorecards", "--report"])
def test_batch_refuses_an_output_that_is_the_round_it_reads(runner, tmp_path, option):
    lines = [json.dumps({"name": "One"}), json.dumps({"name": "Two"})]
    round_file = write(tmp_path / "round.jsonl", "\n".join(lines) + "\n")
    before = round_file.read_bytes()
    result = invoke(runner, "batch", round_file, option, round_file)
    assert result.exit_code == 2 and no_traceback(result)
    assert f"{option} {round_file} would overwrite the input {round_file}" in result.stderr
    assert round_file.read_bytes() == before


def test_batch_refuses_an_output_over_a_profile_in_a_folder_it_reads(runner, tmp_path):
    folder = tmp_path / "applications"
    for example in EXAMPLES[:2]:
        write(folder / example.name, example.read_text(encoding="utf-8"))
    target = folder / EXAMPLES[0].name
    result = invoke(runner, "batch", folder, "--summary", tmp_path / "s.csv", "--report", target)
    assert result.exit_code == 2 and "would overwrite the input" in result.stderr
    assert target.read_bytes() == EXAMPLES[0].read_bytes()
    assert not (tmp_path / "s.csv").exists()


def test_a_new_output_in_a_folder_it_reads_is_allowed(runner, tmp_path):
    folder = tmp_path / "applications"
    write(folder / CODE_CLUB.name, CODE_CLUB.read_text(encoding="utf-8"))
    result = invoke(runner, "batch", folder, "--summary", folder / "summary.csv")
    assert result.exit_code == 0, result.stderr
    assert len((folder / "summary.csv").read_text(encoding="utf-8").splitlines()) == 2


@pytest.mark.parametrize(
    ("first", "second"),
    [("--summary", "--scorecards"), ("--summary", "--report"), ("--scorecards", "--report")],
)
def test_batch_refuses_two_outputs_naming_one_file(runner, tmp_path, first, second):
    target = tmp_path / "out.jsonl"
    result = invoke(runner, "batch", CODE_CLUB, first, target, second, target)
    assert result.exit_code == 2 and no_traceback(result)
    assert f"{first} and {second} both name {target}" in result.stderr
    assert not target.exists()


# --- devices, FIFOs and /dev/stdout are written straight ----------------------------------------


@pytest.mark.slow
def test_an_output_through_proc_self_fd_goes_to_the_stream_and_the_link_stays(tmp_path):
    """What /dev/stdout is: a symlink to /proc/self/fd/1 (tested through a link of our own, so
    that a regression replaces a file in tmp_path rather than the machine's /dev/stdout)."""
    stdout = tmp_path / "stdout"
    stdout.symlink_to("/proc/self/fd/1")
    result = run_scaleready("assess", CODE_CLUB, "--format", "json", "--output", stdout)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["profile"]["name"] == "Code Club"
    assert stdout.is_symlink() and os.readlink(stdout) == "/proc/self/fd/1"
    assert files_in(tmp_path) == ["stdout"]


@pytest.mark.slow
def test_an_output_to_stdout_redirected_to_a_file_appends_to_it(tmp_path):
    stdout = tmp_path / "stdout"
    stdout.symlink_to("/proc/self/fd/1")
    log = write(tmp_path / "log.txt", "earlier line\n")
    with log.open("a", encoding="utf-8") as appended:
        subprocess.run(
            [SCALEREADY, "assess", CODE_CLUB, "--output", stdout],
            stdout=appended,
            check=True,
            timeout=120,
        )
    text = log.read_text(encoding="utf-8")
    assert text.startswith("earlier line\nCode Club")


def read_fifo(fifo: Path, into: list[bytes]) -> threading.Thread:
    def read() -> None:
        with fifo.open("rb") as stream:
            into.append(stream.read())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return reader


@pytest.mark.slow
def test_a_fifo_output_gets_the_content_and_stays_a_fifo(tmp_path):
    fifo = tmp_path / "cards.fifo"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = read_fifo(fifo, received)
    result = run_scaleready("assess", CODE_CLUB, LOCAL, "--format", "json", "--output", fifo)
    reader.join(timeout=30)
    assert result.returncode == 0, result.stderr
    assert [card["profile"]["name"] for card in json.loads(received[0])] == [
        "Code Club",
        "Walk and Talk Lewisham",
    ]
    assert fifo.is_fifo()


def test_a_batch_summary_into_a_fifo_alongside_files(runner, tmp_path):
    fifo = tmp_path / "summary.fifo"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = read_fifo(fifo, received)
    result = invoke(
        runner, "batch", *EXAMPLES, "--summary", tmp_path / "s.csv", "--scorecards", fifo
    )
    reader.join(timeout=30)
    assert result.exit_code == 0, result.stderr
    assert len(received[0].decode().splitlines()) == len(EXAMPLES)
    assert fifo.is_fifo() and (tmp_path / "s.csv").is_file()


# --- one HTML report per profile, even when file names repeat -----------------------------------


def test_profiles_with_one_file_name_in_different_folders_get_a_report_each(runner, tmp_path):
    first = write(tmp_path / "a" / "x.yaml", CODE_CLUB.read_text(encoding="utf-8"))
    second = write(tmp_path / "b" / "x.yaml", LOCAL.read_text(encoding="utf-8"))
    other = write(tmp_path / "x-1.yaml", EXAMPLES[0].read_text(encoding="utf-8"))
    reports = tmp_path / "reports"
    result = invoke(runner, "assess", first, second, other, "--format", "html", "--output", reports)
    assert result.exit_code == 0, result.stderr
    assert files_in(reports) == ["x-1.html", "x-2.html", "x-3.html"]
    assert "Code Club" in (reports / "x-2.html").read_text(encoding="utf-8")
    assert "Walk and Talk Lewisham" in (reports / "x-3.html").read_text(encoding="utf-8")
    assert f"wrote {reports / 'x-2.html'}" in result.stderr
    again = invoke(runner, "assess", first, second, other, "--format", "html", "--output", reports)
    assert again.stderr == result.stderr  # the same names every time


def test_several_html_reports_need_a_folder_before_any_work(runner, tmp_path):
    result = invoke(runner, "assess", CODE_CLUB, LOCAL, "--format", "html")
    assert result.exit_code == 2 and "--output FOLDER" in result.stderr


# --- a target that cannot be written is named, with exit 2 --------------------------------------


def test_a_target_under_a_file_is_named_with_exit_2(runner, tmp_path):
    target = tmp_path / "code-club.yaml" / "card.json"
    write(tmp_path / "code-club.yaml", CODE_CLUB.read_text(encoding="utf-8"))
    result = invoke(runner, "assess", CODE_CLUB, "--output", target)
    assert result.exit_code == 2 and no_traceback(result)
    assert f"{target}: cannot write it" in result.stderr
    assert ".tmp" not in result.stderr and "internal error" not in result.stderr


def test_a_target_that_is_a_folder_is_named_with_exit_2(runner, tmp_path):
    result = invoke(runner, "assess", CODE_CLUB, "--output", tmp_path)
    assert result.exit_code == 2 and f"{tmp_path}: is a folder" in result.stderr
    assert files_in(tmp_path) == []


def test_a_batch_output_that_cannot_be_written_is_named_before_any_work(runner, tmp_path):
    write(tmp_path / "file", "")
    target = tmp_path / "file" / "cards.jsonl"
    result = invoke(
        runner, "batch", *EXAMPLES, "--summary", tmp_path / "s.csv", "--scorecards", target
    )
    assert result.exit_code == 2 and f"{target}: cannot write it" in result.stderr
    assert "assessed" not in result.stderr  # refused before the round was assessed
    assert files_in(tmp_path) == ["file"]


# --- the outputs of a command are written whole, and together -----------------------------------


def test_streamed_assess_output_is_the_same_bytes_as_before(runner, tmp_path):
    """JSON of several profiles is an array, of one profile an object, as it always was."""
    several = invoke(runner, "assess", *EXAMPLES, "--format", "json", env=FROZEN_CLOCK)
    cards = json.loads(several.stdout)
    assert several.stdout == json.dumps(cards, indent=2, ensure_ascii=False) + "\n"
    one = invoke(runner, "assess", EXAMPLES[0], "--format", "json", env=FROZEN_CLOCK)
    assert json.loads(one.stdout) == cards[0]
    tables = invoke(runner, "assess", *EXAMPLES, env=FROZEN_CLOCK).stdout
    singles = [invoke(runner, "assess", p, env=FROZEN_CLOCK).stdout for p in EXAMPLES]
    assert tables == "\n".join(singles)


def test_nothing_is_written_when_every_profile_fails(runner, tmp_path):
    bad = write(tmp_path / "bad.yaml", "name: [\n")
    result = invoke(runner, "assess", bad, "--output", tmp_path / "out.txt")
    assert result.exit_code == 3
    assert files_in(tmp_path) == ["bad.yaml"]


def test_an_output_set_puts_every_file_in_place_only_on_commit(tmp_path):
    targets = [tmp_path / "a.txt", tmp_path / "deeper" / "b.txt"]
    with outputs.OutputSet() as staged:
        paths = [staged.stage(target) for target in targets]
        for path, target in zip(paths, targets, strict=True):
            path.write_text(f"content of {target.name}", encoding="utf-8")
        assert files_in(tmp_path) == ["deeper"] and files_in(tmp_path / "deeper") == []
        staged.commit()
    assert [t.read_text(encoding="utf-8") for t in targets] == [
        "content of a.txt",
        "content of b.txt",
    ]
    assert files_in(tmp_path) == ["a.txt", "deeper"]


def test_an_output_set_not_committed_leaves_the_old_files_as_they_were(tmp_path):
    old = write(tmp_path / "summary.csv", "old\n")
    with pytest.raises(KeyboardInterrupt), outputs.OutputSet() as staged:
        staged.stage(old).write_text("new\n", encoding="utf-8")
        raise KeyboardInterrupt
    assert old.read_text(encoding="utf-8") == "old\n"
    assert files_in(tmp_path) == ["summary.csv"]


def test_a_committed_output_is_an_ordinary_file_for_its_umask(tmp_path):
    outputs.write_text(tmp_path / "card.txt", "x")
    assert (tmp_path / "card.txt").stat().st_mode & 0o777 == 0o666 & ~current_umask()


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
