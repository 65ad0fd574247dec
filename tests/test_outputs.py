"""Summaries that are safe to open: no text becomes a formula, every text can be written."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest
from openpyxl import load_workbook

from scaleready.report import outputs
from scaleready.report.outputs import write_table
from scaleready.report.safe_text import SPREADSHEET_CELL_CHARS
from scaleready.rounds.spreadsheets import template_header
from tests.conftest import run_scaleready, write

# Each name begins with a character a spreadsheet reads as the start of a formula (OWASP).
FORMULAS = {
    "hyperlink": '=HYPERLINK("http://x","click")',
    "dde": "=cmd|' /C calc'!A0",
    "plus": "+1+cmd|' /C calc'!A0",
    "minus": "-2+3+cmd|' /C calc'!A0",
    "at": "@SUM(1+1)*cmd|' /C calc'!A0",
    "space": "  =1+1",
}
# The same names as a spreadsheet must show them: as text, after a single quote.
GUARDED = {key: "'" + name for key, name in FORMULAS.items()}
CONTROL_NAME = (
    "Bell\x07 and\x00 escape \x1b[31mred\x1b[0m \x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\"
)
CONTROL_SHOWN = "Bell and escape red link"


def yaml_string(text: str) -> str:
    """A YAML double-quoted scalar holding exactly ``text`` (JSON is YAML)."""
    return json.dumps(text)


@pytest.fixture(scope="module")
def hostile_round(tmp_path_factory) -> Path:
    """A folder of profiles named with formulas, control characters and an error code."""
    folder = tmp_path_factory.mktemp("round")
    names = {**FORMULAS, "control": CONTROL_NAME, "error-code": "#N/A", "tab": "\t=1+1"}
    for key, name in names.items():
        write(folder / f"{key}.yaml", f"name: {yaml_string(name)}\n")
    return folder


def names_by_item(rows: list[dict]) -> dict[str, str]:
    return {Path(row["item"]).stem: row["name"] for row in rows}


@pytest.mark.slow
@pytest.mark.parametrize("printed", [False, True], ids=["summary-file", "printed"])
def test_formula_names_are_text_in_the_csv_summary(hostile_round, tmp_path, printed):
    target = tmp_path / "summary.csv"
    args = [] if printed else ["--summary", target]
    result = run_scaleready("batch", hostile_round, *args)
    assert result.returncode == 0, result.stderr
    text = result.stdout if printed else target.read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    names = names_by_item(rows)
    assert {key: names[key] for key in GUARDED} == GUARDED
    assert names["tab"] == "' =1+1"
    assert names["control"] == CONTROL_SHOWN
    assert all(float(row["overall_score"]) >= 0 for row in rows), "numbers are not guarded"
    assert not any(cell.startswith(tuple("=+-@\t\r")) for row in rows for cell in row.values())


@pytest.mark.slow
def test_formula_names_are_string_cells_in_the_xlsx_summary(hostile_round, tmp_path):
    target = tmp_path / "summary.xlsx"
    result = run_scaleready("batch", hostile_round, "--summary", target)
    assert result.returncode == 0, result.stderr
    sheet = load_workbook(target).active
    header = [cell.value for cell in sheet[1]]
    rows = [dict(zip(header, row, strict=True)) for row in sheet.iter_rows(min_row=2)]
    names = {Path(r["item"].value).stem: r["name"] for r in rows}
    assert {key: names[key].value for key in GUARDED} == GUARDED
    assert names["control"].value == CONTROL_SHOWN
    assert names["error-code"].value == "#N/A"
    text_cells = [cell for row in rows for cell in row.values() if isinstance(cell.value, str)]
    assert {cell.data_type for cell in text_cells} == {"s"}, "no formula, no error code"
    scores = [row["overall_score"] for row in rows]
    assert {cell.data_type for cell in scores} == {"n"}
    assert all(isinstance(cell.value, int | float) for cell in scores)


@pytest.mark.slow
def test_a_control_character_no_longer_loses_the_xlsx_summary(tmp_path):
    """Before: IllegalCharacterError after all the work, exit 4, no summary."""
    profile = write(tmp_path / "ctrl.yaml", "name: " + yaml_string("A\x01B\x1fC") + "\n")
    target = tmp_path / "summary.xlsx"
    result = run_scaleready("batch", profile, "--summary", target)
    assert result.returncode == 0, result.stderr
    assert load_workbook(target).active["B2"].value == "ABC"


def test_numbers_stay_numbers_and_texts_that_look_negative_are_guarded(tmp_path):
    columns = ["name", "score", "level", "flag"]
    rows = [{"name": "-1", "score": -12.5, "level": -2, "flag": True}]
    write_table(tmp_path / "s.csv", columns, rows)
    write_table(tmp_path / "s.xlsx", columns, rows)
    assert (tmp_path / "s.csv").read_text(encoding="utf-8").splitlines()[1] == "'-1,-12.5,-2,True"
    cells = list(load_workbook(tmp_path / "s.xlsx").active.iter_rows(min_row=2))[0]
    assert [(c.value, c.data_type) for c in cells] == [
        ("'-1", "s"),
        (-12.5, "n"),
        (-2, "n"),
        (True, "b"),
    ]


@pytest.mark.slow
def test_a_text_longer_than_a_spreadsheet_cell_is_cut_and_says_so(tmp_path):
    name = "x" * (SPREADSHEET_CELL_CHARS + 10)
    profile = write(tmp_path / "long.yaml", f"name: {name}\n")
    result = run_scaleready(
        "batch", profile, "--summary", tmp_path / "s.xlsx", "--report", tmp_path / "r.html"
    )
    assert result.returncode == 0, result.stderr
    cell = load_workbook(tmp_path / "s.xlsx").active["B2"].value
    assert len(cell) == SPREADSHEET_CELL_CHARS
    assert cell.endswith(f"[cut: {len(name):,} characters in all]")
    assert run_scaleready("batch", profile, "--summary", tmp_path / "s.csv").returncode == 0
    rows = list(csv.DictReader(io.StringIO((tmp_path / "s.csv").read_text(encoding="utf-8"))))
    assert rows[0]["name"] == name, "a CSV cell has no such limit, so nothing is cut"


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="a file name that is not UTF-8 needs a POSIX system")
@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".jsonl"])
def test_a_file_name_that_is_not_utf8_is_shown_by_its_byte(tmp_path, suffix):
    """Before: the CSV summary failed with UnicodeEncodeError after all the work, exit 4."""
    folder = tmp_path / "round"
    folder.mkdir()
    (folder / os.fsdecode(b"caf\xe9.yaml")).write_text("name: Cafe\n", encoding="utf-8")
    target = tmp_path / f"summary{suffix}"
    result = run_scaleready("batch", folder, "--summary", target)
    assert result.returncode == 0, result.stderr
    if suffix == ".xlsx":
        item = load_workbook(target).active["A2"].value
    elif suffix == ".jsonl":
        item = json.loads(target.read_text(encoding="utf-8"))["item"]
    else:
        item = next(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))["item"]
    assert item.endswith("caf\\xe9.yaml")


@pytest.mark.slow
def test_the_csv_template_goes_through_the_same_writer_unchanged():
    result = run_scaleready("profile", "template", "--format", "csv")
    assert result.returncode == 0, result.stderr
    assert next(csv.reader(io.StringIO(result.stdout))) == template_header()


# Outputs that would overwrite an input or each other -------------------------------------------


def test_an_output_that_is_an_input_is_named_with_its_option(tmp_path):
    profile = write(tmp_path / "p.yaml", "name: x\n")
    assert outputs.clash({"--output": profile}, [profile]) == (
        f"--output {profile} would overwrite the input {profile}; choose another file"
    )


def test_two_outputs_naming_one_file_are_both_named(tmp_path):
    target = tmp_path / "out.jsonl"
    problem = outputs.clash({"--summary": target, "--scorecards": target}, [])
    assert problem == f"--summary and --scorecards both name {target}: give each its own file"


def test_an_output_among_the_profiles_of_an_input_folder_clashes(tmp_path):
    profile = write(tmp_path / "round" / "a.yaml", "name: x\n")
    assert outputs.clash({"--report": profile}, [tmp_path / "round"]) is not None
    assert (
        outputs.clash({"--report": tmp_path / "round" / "new.yaml"}, [tmp_path / "round"]) is None
    )


def test_outputs_apart_from_the_inputs_and_streams_do_not_clash(tmp_path):
    profile = write(tmp_path / "p.yaml", "name: x\n")
    targets = {"--output": tmp_path / "out.csv", "--report": Path("/dev/stdout"), "--x": None}
    assert outputs.clash(targets, [profile, None]) is None


def test_staged_text_appears_whole_only_on_commit(tmp_path):
    target = tmp_path / "out.txt"
    with outputs.OutputSet() as staged:
        text = staged.open_text(target)
        text.write("whole")
        text.close()
        assert not target.exists()
        staged.commit()
    assert target.read_text(encoding="utf-8") == "whole"


@pytest.mark.parametrize("run_rows", [1, 7, 1000], ids=["run-of-one", "runs-of-seven", "one-run"])
def test_a_spool_reads_its_rows_back_sorted_and_stable_whatever_the_runs(run_rows):
    rows = [{"n": n, "level": (n * 7) % 4, "name": f"p{n % 5}"} for n in range(120)]
    spool = outputs.RowSpool(batch_size=5)
    for row in rows:
        spool.add(row)
    try:
        key = lambda row: (-row["level"], row["name"])  # noqa: E731
        got = list(spool.sorted_rows(key=key, run_rows=run_rows))
        assert got == sorted(rows, key=key), "in order, equal keys in the order added"
        assert list(spool.rows()) == rows, "and the rows as added are still there"
    finally:
        spool.close()
