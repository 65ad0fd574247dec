"""Grant rounds: folders, JSONL, CSV and XLSX in; bad items named; outputs whole or not at all."""

from __future__ import annotations

import csv
import html
import json
import os
import pty
import re
import signal
import subprocess
import time

import pytest
import yaml
from openpyxl import Workbook, load_workbook

from scaleready.rounds.spreadsheets import flatten, template_header
from scaleready.synthetic import synthetic_profiles
from tests.conftest import EXAMPLES, REPO, SCALEREADY, run_scaleready, write

ROUND_SIZE = 600  # more than one worker's share, so the process pool is used


def flat_round(count: int, seed: int = 7) -> tuple[list[str], list[dict]]:
    """A generated round as flat rows: a wrong type in row 4, a bad choice in row 6."""
    rows = [flatten(profile) for profile in synthetic_profiles(count, seed=seed)]
    header = template_header()
    header += sorted({key for row in rows for key in row} - set(header))
    rows[2]["organisation.yearly_income"] = "lots"
    rows[4]["model.delivery_model"] = "volunter_led"
    return header, rows


def write_csv(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return path


def read_csv(path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def round_csv(tmp_path_factory):
    header, rows = flat_round(ROUND_SIZE)
    return write_csv(tmp_path_factory.mktemp("round") / "round.csv", header, rows)


@pytest.mark.slow
def test_a_csv_round_is_assessed_on_every_core_and_bad_rows_are_named(round_csv, tmp_path):
    summary = tmp_path / "summary.csv"
    result = run_scaleready("batch", round_csv, "--summary", summary, "--jobs", "2")
    assert result.returncode == 3, result.stderr
    rows = read_csv(summary)
    assert len(rows) == ROUND_SIZE
    errors = {row["item"]: row["error"] for row in rows if row["error"]}
    assert set(errors) == {f"{round_csv}:row 4", f"{round_csv}:row 6"}
    assert (
        "column 'organisation.yearly_income': 'lots' is not a number"
        in errors[f"{round_csv}:row 4"]
    )
    assert "did you mean 'volunteer_led'" in errors[f"{round_csv}:row 6"]
    assessed = [row for row in rows if not row["error"]]
    assert all(row["overall_score"] and row["evidence_level"] for row in assessed)
    assert f"assessed {ROUND_SIZE - 2} of {ROUND_SIZE} profiles" in result.stderr


@pytest.mark.slow
def test_one_process_and_two_give_the_same_summary(round_csv, tmp_path):
    one, two = tmp_path / "one.csv", tmp_path / "two.csv"
    run_scaleready("batch", round_csv, "--summary", one, "--jobs", "1")
    run_scaleready("batch", round_csv, "--summary", two, "--jobs", "2")
    assert one.read_bytes() == two.read_bytes()


@pytest.mark.slow
def test_an_xlsx_round_gives_an_xlsx_summary(tmp_path):
    header, rows = flat_round(40, seed=3)
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append([row.get(column) for column in header])
    workbook.save(tmp_path / "round.xlsx")
    result = run_scaleready(
        "batch", tmp_path / "round.xlsx", "--summary", tmp_path / "summary.xlsx"
    )
    assert result.returncode == 3
    values = list(load_workbook(tmp_path / "summary.xlsx").active.iter_rows(values_only=True))
    assert values[0][:6] == (
        "item",
        "name",
        "overall_level",
        "overall_potential_level",
        "overall_score",
        "overall_potential_score",
    )
    assert len(values) == 41
    assert [v[0] for v in values[1:] if v[-1]] == [
        f"{tmp_path / 'round.xlsx'}:row 4",
        f"{tmp_path / 'round.xlsx'}:row 6",
    ]


@pytest.mark.slow
def test_folders_and_jsonl_files_are_rounds_too_and_a_bad_line_or_file_is_reported(tmp_path):
    folder = tmp_path / "applications"
    folder.mkdir()
    for example in EXAMPLES[:3]:
        (folder / example.name).write_bytes(example.read_bytes())
    write(folder / "broken.yaml", "name: [unclosed\n")
    lines = [
        json.dumps({"name": "One"}),
        "{not json",
        json.dumps({"name": "Two", "reach": {"sites": 3}}),
    ]
    jsonl = write(tmp_path / "round.jsonl", "\n".join(lines) + "\n")
    cards = tmp_path / "cards.jsonl"
    result = run_scaleready(
        "batch", folder, jsonl, "--summary", tmp_path / "s.jsonl", "--scorecards", cards
    )
    assert result.returncode == 3
    summary = [json.loads(line) for line in (tmp_path / "s.jsonl").read_text().splitlines()]
    assert len(summary) == 7
    failed = {row["item"] for row in summary if row["error"]}
    assert failed == {str(folder / "broken.yaml"), f"{jsonl}:line 2"}
    assert len(cards.read_text().splitlines()) == 5


@pytest.mark.slow
def test_a_flat_row_scores_like_the_same_profile_in_yaml(tmp_path):
    example = REPO / "examples" / "evidenced-misfit.yaml"
    row = flatten(yaml.safe_load(example.read_text(encoding="utf-8")))
    path = write_csv(tmp_path / "one.csv", list(row), [row])
    result = run_scaleready("batch", path, "--summary", tmp_path / "s.csv")
    assert result.returncode == 0, result.stderr
    from_csv = read_csv(tmp_path / "s.csv")
    card = json.loads(run_scaleready("assess", example, "--format", "json").stdout)
    assert float(from_csv[0]["overall_score"]) == card["overall"]["score"]
    assert int(from_csv[0]["evidence_level"]) == next(
        d["level"] for d in card["dimensions"] if d["id"] == "evidence"
    )


@pytest.mark.slow
def test_an_unknown_column_is_reported_for_the_file_with_a_suggestion(tmp_path):
    path = write(tmp_path / "round.csv", "name,organisation.yearly_incom\nA,5\n")
    result = run_scaleready("batch", path)
    assert result.returncode == 3
    assert "column 'organisation.yearly_incom' is not a profile field" in result.stderr
    assert "did you mean 'organisation.yearly_income'?" in result.stderr


@pytest.mark.slow
def test_a_summary_format_that_cannot_be_written_is_refused_before_any_work(tmp_path):
    result = run_scaleready("batch", EXAMPLES[0], "--summary", tmp_path / "summary.pdf")
    assert result.returncode == 3 and ".csv, .xlsx, .jsonl" in result.stderr
    assert not (tmp_path / "summary.pdf").exists()


@pytest.mark.slow
def test_an_interrupted_batch_leaves_no_output_file(tmp_path):
    header, rows = flat_round(4000, seed=11)
    path = write_csv(tmp_path / "big.csv", header, rows)
    summary, report = tmp_path / "out" / "summary.csv", tmp_path / "out" / "round.html"
    process = subprocess.Popen(
        [
            str(SCALEREADY),
            "batch",
            str(path),
            "--summary",
            str(summary),
            "--report",
            str(report),
            "--jobs",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(2.0)
    assert process.poll() is None, "the batch finished before it could be interrupted"
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=60)
    assert process.returncode != 0
    assert not summary.exists() and not report.exists()
    assert not summary.parent.exists() or list(summary.parent.iterdir()) == []


@pytest.mark.slow
def test_a_portfolio_report_is_written_for_the_round(tmp_path):
    report = tmp_path / "round.html"
    result = run_scaleready("batch", *EXAMPLES, "--report", report, "--summary", tmp_path / "s.csv")
    assert result.returncode == 0, result.stderr
    page = report.read_text(encoding="utf-8")
    assert 'id="ranking"' in page and 'id="bottlenecks"' in page and "GoodSAM" in page


@pytest.mark.slow
def test_a_progress_bar_shows_on_a_terminal_and_not_in_a_pipe(tmp_path):
    args = [str(SCALEREADY), "batch", *map(str, EXAMPLES), "--summary", str(tmp_path / "s.csv")]
    piped = subprocess.run(args, capture_output=True, text=True)
    assert "assessing" not in piped.stderr
    controller, terminal = pty.openpty()
    process = subprocess.Popen(args, stdin=terminal, stdout=terminal, stderr=terminal)
    os.close(terminal)
    shown = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the terminal closed when the batch ended
            break
        if not chunk:
            break
        shown += chunk
    process.wait(timeout=60)
    os.close(controller)
    assert process.returncode == 0, shown.decode(errors="replace")[-2000:]
    assert b"assessing" in shown and b"100%" in shown


# The summary carries the level reached and the level possible, and can be sorted as ranked ----


@pytest.fixture(scope="module")
def ranked_round(tmp_path_factory) -> dict:
    """The examples and a bad file, assessed in input order and as ranked, with scorecards."""
    folder = tmp_path_factory.mktemp("ranked")
    sources = [*EXAMPLES, write(folder / "broken.yaml", "name: [unclosed\n")]
    runs = {}
    for order in ("input", "ranking"):
        summary, cards = folder / f"{order}.csv", folder / f"{order}-cards.jsonl"
        report = folder / f"{order}.html"
        result = run_scaleready(
            "batch",
            *sources,
            "--summary",
            summary,
            "--scorecards",
            cards,
            "--sort",
            order,
            "--report",
            report,
        )
        assert result.returncode == 3, result.stderr
        scorecards = [json.loads(line) for line in cards.read_text().splitlines()]
        runs[order] = {
            "report": report.read_text(encoding="utf-8"),
            "rows": read_csv(summary),
            "cards": {c["profile"]["source"]: c for c in scorecards},
        }
    return runs


def test_the_summary_gives_levels_and_scores_reached_and_possible(ranked_round):
    run = ranked_round["input"]
    assessed = [row for row in run["rows"] if not row["error"]]
    assert len(assessed) == len(EXAMPLES)
    for row in assessed:
        card = run["cards"][row["item"]]
        for prefix, verdict in [("overall", card["overall"])] + [
            (d["id"], d) for d in card["dimensions"]
        ]:
            for what in ("level", "potential_level", "score", "potential_score"):
                assert float(row[f"{prefix}_{what}"]) == verdict[what], (prefix, what)
    assert any(row["overall_potential_level"] > row["overall_level"] for row in assessed)


def test_the_summary_names_bottlenecks_by_title_and_says_when_only_data_is_missing(ranked_round):
    run = ranked_round["input"]
    for row in (row for row in run["rows"] if not row["error"]):
        card = run["cards"][row["item"]]
        dims = {d["id"]: d for d in card["dimensions"]}
        held = card["overall"]["bottleneck"]
        only_data = {
            b: bool(dims[b]["next_steps"])
            and all(s["outcome"] == "unknown" for s in dims[b]["next_steps"])
            for b in held
        }
        expected = [
            dims[b]["title"] + (" (data missing only)" if only_data[b] else "") for b in held
        ]
        assert row["bottleneck_titles"] == "; ".join(expected)
        assert row["bottleneck_missing_data_only"] == ("yes" if all(only_data.values()) else "no")
    flags = {row["bottleneck_missing_data_only"] for row in run["rows"] if not row["error"]}
    assert flags == {"yes", "no"}, "the examples hold both kinds"


def test_the_summary_keeps_the_input_order_unless_asked_to_rank(ranked_round):
    items = [row["item"] for row in ranked_round["input"]["rows"]]
    assert items == [*map(str, EXAMPLES), items[-1]] and items[-1].endswith("broken.yaml")
    assert "rank" not in ranked_round["input"]["rows"][0]


def test_a_ranked_summary_orders_by_level_reached_then_possible_then_score(ranked_round):
    rows = ranked_round["ranking"]["rows"]
    assert sorted(r["item"] for r in rows) == sorted(
        r["item"] for r in ranked_round["input"]["rows"]
    )
    assessed, failed = rows[: len(EXAMPLES)], rows[len(EXAMPLES) :]
    keys = [
        (-int(r["overall_level"]), -int(r["overall_potential_level"]), -float(r["overall_score"]))
        for r in assessed
    ]
    assert keys == sorted(keys)
    assert len({k[0] for k in keys}) > 1, "the examples reach more than one level"
    ranks = [keys.index(key) + 1 for key in keys]  # equal keys share the first one's rank
    assert [int(r["rank"]) for r in assessed] == ranks
    assert [(r["rank"], bool(r["error"])) for r in failed] == [("", True)], "errors last, unranked"


def test_the_ranked_summary_and_the_portfolio_rank_alike(ranked_round):
    ranking = re.search(
        r'<section id="ranking".*?</section>', ranked_round["ranking"]["report"], re.S
    )
    names = [
        html.unescape(n)
        for n in re.findall(r"<th scope=\"row\"><strong>(.*?)</strong>", ranking.group())
    ]
    assert names == [r["name"] for r in ranked_round["ranking"]["rows"] if not r["error"]]


def test_a_printed_summary_can_be_ranked_too(tmp_path):
    result = run_scaleready("batch", *EXAMPLES[:3], "--sort", "ranking")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(result.stdout.splitlines()))
    assert list(rows[0])[:3] == ["rank", "item", "name"]
    levels = [(int(r["overall_level"]), int(r["overall_potential_level"])) for r in rows]
    assert levels == sorted(levels, reverse=True)


def test_an_unknown_summary_order_is_refused_with_the_choices(tmp_path):
    result = run_scaleready("batch", EXAMPLES[0], "--sort", "score")
    assert result.returncode == 2
    assert "'input'" in result.stderr and "'ranking'" in result.stderr
