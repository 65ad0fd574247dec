"""A whole grant round with broken rows of many kinds: nothing is lost, whatever the file form.

Every row of the round is either assessed or named in the summary with its row number and reason,
as CSV (UTF-8, Windows-1252 from Excel, UTF-16 from Excel's "Unicode Text") and as XLSX.
"""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import Workbook, load_workbook

from scaleready.rounds.spreadsheets import flatten, template_header
from scaleready.synthetic import synthetic_profiles
from tests.conftest import run_scaleready

ROWS = 2_000  # eight chunks of work, more than are ever in flight at once
HEADER_ROW = 1

# (spreadsheet row, what spoils it, the text its error row must hold)
BROKEN = {
    10: ("organisation.yearly_income", "lots", "is not a number"),
    250: ("model.delivery_model", "volunter_led", "did you mean 'volunteer_led'"),
    1_000: ("reach.sites", "-3", "reach.sites"),
    1_500: ("organisation.free_reserves", "1,5", "organisation.free_reserves"),
    1_999: ("contracts.1.pbr_share", "30", "contracts.1.pbr_share"),
}
EXTRA_CELLS_ROW = 1_200
HOSTILE_NAMES = {
    20: '=HYPERLINK("http://example.org","click")',
    21: "=cmd|' /C calc'!A0",
    22: "Control\x07character\x1b[31m name",
    23: "Crèche Société Ñandú — “quoted”",
}


def _round() -> tuple[list[str], list[list[object]]]:
    """The header (with a grant system's own column) and ROWS rows, some of them broken."""
    profiles = [flatten(p) for p in synthetic_profiles(ROWS, seed=11)]
    header = template_header()
    header += sorted({key for row in profiles for key in row} - set(header))
    header.append("charity_number")  # no profile field: ignored, with a warning
    rows = [[row.get(column, "") for column in header] for row in profiles]
    for number, (column, value, _) in BROKEN.items():
        rows[number - 2][header.index(column)] = value
    for number, name in HOSTILE_NAMES.items():
        rows[number - 2][header.index("name")] = name
    rows[EXTRA_CELLS_ROW - 2] += ["stray", "cells"]
    return header, rows


def _csv_bytes(header, rows, encoding: str, delimiter: str = ",") -> bytes:
    text = io.StringIO(newline="")
    writer = csv.writer(text, delimiter=delimiter, lineterminator="\r\n")
    writer.writerows([header, *rows])
    return text.getvalue().encode(encoding)


def _xlsx_bytes(header, rows) -> bytes:
    """A workbook as a grant system exports it: texts are text cells, even one beginning "="."""
    workbook = Workbook()
    for row in [header, *rows]:
        workbook.active.append(row)
    for cells in workbook.active.iter_rows():
        for cell in cells:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"
    data = io.BytesIO()
    workbook.save(data)
    return data.getvalue()


def _without_control(value):
    return value.replace("\x07", "").replace("\x1b", "") if isinstance(value, str) else value


FORMS = {
    "utf-8.csv": lambda h, r: _csv_bytes(h, r, "utf-8"),
    # Excel's "CSV" on Windows: no control characters survive in a real export, so none here
    "windows-1252.csv": lambda h, r: _csv_bytes(
        h, [[_without_control(v) for v in row] for row in r], "cp1252"
    ),
    "utf-16.txt": lambda h, r: _csv_bytes(h, r, "utf-16", delimiter="\t"),
    "round.xlsx": lambda h, r: _xlsx_bytes(h, [[_without_control(v) for v in row] for row in r]),
}


@pytest.fixture(scope="module")
def broken_round():
    return _round()


@pytest.mark.slow
@pytest.mark.parametrize("form", FORMS, ids=list(FORMS))
def test_every_row_of_a_broken_round_is_assessed_or_named(broken_round, tmp_path, form):
    source = tmp_path / form
    source.write_bytes(FORMS[form](*broken_round))
    summary = tmp_path / "summary.csv"
    result = run_scaleready("batch", source, "--summary", summary, "--jobs", "2")
    assert result.returncode == 3, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    with open(summary, newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    labels = [row["item"] for row in rows]
    assert labels == [f"{source}:row {n}" for n in range(HEADER_ROW + 1, ROWS + 2)]
    errors = {int(row["item"].rsplit(" ", 1)[1]): row["error"] for row in rows if row["error"]}
    assert set(errors) == {*BROKEN, EXTRA_CELLS_ROW}
    for number, (_, _, reason) in BROKEN.items():
        assert reason in errors[number]
    assert "charity_number" in result.stderr  # the ignored column is named, once
    assert f"assessed {ROWS - len(errors)} of {ROWS} profiles" in result.stderr
    names = {int(row["item"].rsplit(" ", 1)[1]): row["name"] for row in rows}
    assert names[20].startswith("'=") and names[21].startswith("'=")
    assert names[23] == HOSTILE_NAMES[23]


@pytest.mark.slow
def test_the_xlsx_summary_of_a_hostile_round_holds_texts_not_formulas(broken_round, tmp_path):
    source = tmp_path / "utf-8.csv"
    source.write_bytes(FORMS["utf-8.csv"](*broken_round))
    summary = tmp_path / "summary.xlsx"
    result = run_scaleready("batch", source, "--summary", summary, "--jobs", "2")
    assert result.returncode == 3, result.stderr[-2000:]
    workbook = load_workbook(summary)
    rows = list(workbook.worksheets[0].iter_rows(min_row=2))
    workbook.close()
    assert len(rows) == ROWS
    hostile = [row[1] for row in rows[18:22]]  # the name cells of rows 20 to 23
    assert all(cell.data_type == "s" for cell in hostile)
    assert hostile[2].value == "Controlcharacter name"
