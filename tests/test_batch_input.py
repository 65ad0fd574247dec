"""Reading a grant round: every row or line is a profile or a named error, whatever the file.

Issue 7, items 3 (one bad item never costs the round), 4 (encodings), 5 (columns) and 12
(workbook and row sizes).  Files are real (csv, openpyxl, zipfile); the CLI is the installed one.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from scaleready.errors import InputError
from scaleready.profile import profile_from_data
from scaleready.rounds import batch, spreadsheets
from scaleready.rounds.batch import _parse_json_line, read_items
from tests.conftest import run_scaleready, write

HEADER = ["name", "organisation.yearly_income", "reach.sites", "summary"]


def csv_bytes(rows, encoding="utf-8", delimiter=",", newline="\r\n") -> bytes:
    text = io.StringIO()
    csv.writer(text, delimiter=delimiter, lineterminator=newline).writerows(rows)
    return text.getvalue().encode(encoding)


def write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def write_xlsx(path: Path, rows) -> Path:
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    workbook.save(path)
    return path


def patch_sheet(path: Path, *replacements: tuple[bytes, bytes]) -> Path:
    """Rewrite the first sheet's XML of a real workbook, as a damaged or crafted file would be."""
    parts = {}
    with zipfile.ZipFile(path) as source:
        for info in source.infolist():
            parts[info.filename] = source.read(info.filename)
    for old, new in replacements:
        assert old in parts["xl/worksheets/sheet1.xml"]
        parts["xl/worksheets/sheet1.xml"] = parts["xl/worksheets/sheet1.xml"].replace(old, new)
    with zipfile.ZipFile(path, "w") as target:
        for name, data in parts.items():
            target.writestr(name, data)
    return path


def read(*sources, **options) -> tuple[dict[str, batch.Item], list[str]]:
    """The items of the sources by label, and the warnings heard while reading them."""
    warnings: list[str] = []
    items = list(read_items(sources, warn=warnings.append, **options))
    by_label = {item.label: item for item in items}
    assert len(by_label) == len(items), "two items share a label"
    return by_label, warnings


def summary_rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


# --- item 3: one bad item never costs the round -----------------------------------------------


@pytest.mark.slow
def test_a_jsonl_line_nested_5000_deep_is_that_lines_error_and_the_rest_are_assessed(tmp_path):
    deep = '{"name": "deep", "reach": ' + "[" * 5000 + "]" * 5000 + "}"
    good = [json.dumps({"name": f"good {n}"}) for n in (1, 2)]
    path = write(tmp_path / "round.jsonl", "\n".join([good[0], deep, good[1]]) + "\n")
    result = run_scaleready("batch", path, "--summary", tmp_path / "s.csv")
    assert result.returncode == 3, result.stderr
    assert f"{path}:line 2: nested too deeply" in result.stderr
    assert "assessed 2 of 3 profiles" in result.stderr
    assert [row["name"] for row in summary_rows(tmp_path / "s.csv")] == ["good 1", "", "good 2"]


@pytest.mark.slow
def test_a_jsonl_number_of_5000_digits_is_that_lines_error(tmp_path):
    huge = '{"name": "huge", "reach": {"sites": ' + "9" * 5000 + "}}"
    path = write(tmp_path / "round.jsonl", huge + "\n" + json.dumps({"name": "fine"}) + "\n")
    result = run_scaleready("batch", path, "--summary", tmp_path / "s.csv")
    assert result.returncode == 3, result.stderr
    assert f"{path}:line 1: a number has more than 4,300 digits" in result.stderr
    assert "assessed 1 of 2 profiles" in result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr


@pytest.mark.parametrize(
    "line, message",
    [
        ("[" * 5000 + "]" * 5000, "nested too deeply"),
        ('{"a": ' + "1" * 5000 + "}", "a number has more than"),
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ("\ufeff{}", "not valid JSON"),
    ],
    ids=["deep", "long-number", "broken", "not-an-object", "inner-bom"],
)
def test_whatever_is_wrong_with_a_json_line_is_an_input_error_in_the_worker(line, message):
    with pytest.raises(InputError, match=message):
        _parse_json_line("round.jsonl:line 7", line)


@pytest.mark.slow
def test_bad_json_lines_among_many_are_named_when_workers_parse_them(tmp_path):
    lines = [json.dumps({"name": f"P{n}"}) for n in range(450)]  # enough for the process pool
    lines[10] = "[" * 5000 + "]" * 5000
    lines[300] = '{"name": ' + "7" * 5000 + "}"
    path = write(tmp_path / "round.jsonl", "\n".join(lines) + "\n")
    result = run_scaleready("batch", path, "--summary", tmp_path / "s.csv", "--jobs", "2")
    assert result.returncode == 3, result.stderr
    assert f"{path}:line 11: nested too deeply" in result.stderr
    assert f"{path}:line 301: a number has more than" in result.stderr
    assert "assessed 448 of 450 profiles" in result.stderr


@pytest.mark.slow
def test_a_csv_cell_over_128_kb_is_that_rows_error_and_the_next_rows_are_read(tmp_path):
    rows = [["name", "summary"], ["A", "fine"], ["B", "x" * 140_000], ["C", "fine too"]]
    path = write_bytes(tmp_path / "round.csv", csv_bytes(rows))
    result = run_scaleready("batch", path, "--summary", tmp_path / "s.csv")
    assert result.returncode == 3, result.stderr
    assert f"{path}:row 3: longer than 131,072 characters" in result.stderr
    assert [row["name"] for row in summary_rows(tmp_path / "s.csv")] == ["A", "", "C"]


def test_a_quoted_over_long_cell_spanning_lines_is_skipped_whole(tmp_path):
    long_cell = "a line\n" * 20_000  # 140,000 characters over 20,000 lines, in quotes
    rows = [["name", "summary"], ["A", long_cell], ["B", "fine"]]
    items, _ = read(write_bytes(tmp_path / "round.csv", csv_bytes(rows)))
    assert [label.rsplit(":", 1)[1] for label in items] == ["row 2", "row 3"]
    assert "longer than 131,072" in items[f"{tmp_path / 'round.csv'}:row 2"].error
    assert items[f"{tmp_path / 'round.csv'}:row 3"].data == {"name": "B", "summary": "fine"}


def test_a_quote_never_closed_names_the_rows_it_swallowed_instead_of_hiding_them(tmp_path):
    data = b'name,summary\r\nA,ok\r\nB,"never closed\r\nC,x\r\nD,y\r\n'
    items, _ = read(write_bytes(tmp_path / "round.csv", data))
    assert items[f"{tmp_path / 'round.csv'}:row 2"].data == {"name": "A", "summary": "ok"}
    assert items[f"{tmp_path / 'round.csv'}:row 3"].error.endswith(
        'a double quote (") opened in this row is never closed, so the 2 lines after it were '
        "taken into it, not read as rows; close the quote"
    )
    assert len(items) == 2


def test_a_quote_never_closed_in_an_over_long_row_says_the_rest_was_not_read(tmp_path):
    data = b'name,summary\r\nA,ok\r\nB,"' + b"x\r\n" * 70_000 + b"C,z\r\n"
    items, _ = read(write_bytes(tmp_path / "round.csv", data))
    assert items[f"{tmp_path / 'round.csv'}:row 3"].error.endswith(
        "never closed, so the rest of the file was taken into it and not read"
    )
    assert len(items) == 2


def test_a_literal_quote_in_the_last_row_is_no_unclosed_quote(tmp_path):
    items, _ = read(write_bytes(tmp_path / "round.csv", b'name,summary\nB,5" screen\n'))
    assert items[f"{tmp_path / 'round.csv'}:row 2"].data == {"name": "B", "summary": '5" screen'}


@pytest.mark.slow
def test_an_xlsx_that_is_not_a_zip_is_that_files_error_and_other_sources_are_assessed(tmp_path):
    broken = write_bytes(tmp_path / "round.xlsx", b"\x00\x01 this is no workbook")
    good = write(tmp_path / "good.jsonl", json.dumps({"name": "Good"}) + "\n")
    result = run_scaleready("batch", broken, good, "--summary", tmp_path / "s.csv")
    assert result.returncode == 3, result.stderr
    assert f"{broken}: is not an XLSX workbook (not a zip file)" in result.stderr
    assert "assessed 1 of 2 profiles" in result.stderr


@pytest.mark.parametrize(
    "head, message",
    [
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500), "old Excel workbook (.xls)"),
        (b"name,summary\nA,b\n", "is a text file, not an XLSX workbook"),
        (b"", "not a zip file"),
    ],
    ids=["xls-or-password", "csv-named-xlsx", "empty"],
)
def test_a_file_named_xlsx_that_is_no_workbook_says_what_it_looks_like(tmp_path, head, message):
    items, _ = read(write_bytes(tmp_path / "round.xlsx", head))
    assert message in items[str(tmp_path / "round.xlsx")].error


def test_a_damaged_workbook_keeps_the_rows_read_before_the_damage(tmp_path):
    rows = [HEADER] + [[f"P{n}", 1000, 2, "text"] for n in range(1, 400)]
    path = write_xlsx(tmp_path / "round.xlsx", rows)
    patch_sheet(path, (b'<row r="300"', b'<row r="300"<<'))
    items, _ = read(path)
    assert len(items) == 299  # rows 2 to 299, then the file's own error
    assert items[f"{path}:row 299"].data["name"] == "P298"
    assert "stopped after row 299: the workbook is damaged" in items[str(path)].error


@pytest.mark.parametrize(
    "header, row",
    [
        (["name", "partnerships", "partnerships.1.role"], ["A", "none", "buyer"]),
        (["name", "partnerships.1.role", "partnerships"], ["A", "buyer", "none"]),
    ],
    ids=["none-first", "items-first"],
)
def test_a_list_answered_none_and_given_items_in_one_row_is_that_rows_error(tmp_path, header, row):
    rows = [header, row, ["B", "", ""]]
    items, _ = read(write_bytes(tmp_path / "round.csv", csv_bytes(rows)))
    error = items[f"{tmp_path / 'round.csv'}:row 2"].error
    assert "column 'partnerships' says none, yet its numbered columns" in error
    assert items[f"{tmp_path / 'round.csv'}:row 3"].data == {"name": "B"}


def test_a_device_or_pipe_named_csv_is_refused_not_read_forever(tmp_path):
    fifo = tmp_path / "round.csv"
    os.mkfifo(fifo)
    items, _ = read(fifo)
    assert items[str(fifo)].error == f"{fifo}: not a regular file; a round must be a file"


# --- item 4: encodings ------------------------------------------------------------------------


def latin1_round(rows: int, bad_row: int) -> bytes:
    """A UTF-8 round with accented names, and one row written in Latin-1 (as Excel might)."""
    lines = [csv_bytes([["name", "reach.sites"]])]
    for number in range(2, rows + 1):
        name = f"Café {number}"
        lines.append(csv_bytes([[name, number]], "latin-1" if number == bad_row else "utf-8"))
    return b"".join(lines)


@pytest.mark.slow
def test_a_latin1_byte_in_one_row_costs_nothing_and_the_row_is_named(tmp_path):
    path = write_bytes(tmp_path / "round.csv", latin1_round(600, bad_row=248))
    result = run_scaleready("batch", path, "--summary", tmp_path / "s.csv")
    assert result.returncode == 0, result.stderr
    assert f"warning: {path}: row 248 is not UTF-8: read as Windows-1252" in result.stderr
    assert "assessed 599 of 599 profiles" in result.stderr
    names = [row["name"] for row in summary_rows(tmp_path / "s.csv")]
    assert names == [f"Café {n}" for n in range(2, 601)]


EXPORTS = {
    "utf-8": ("utf-8", ","),
    "utf-8-bom (Excel 'CSV UTF-8')": ("utf-8-sig", ","),
    "windows-1252 (Excel 'CSV' on Windows)": ("cp1252", ","),
    "utf-16 with BOM, tabs (Excel 'Unicode Text')": ("utf-16", "\t"),
    "utf-16-le without BOM": ("utf-16-le", ","),
    "utf-16-be without BOM": ("utf-16-be", ","),
    "semicolons (Excel in much of Europe)": ("utf-8", ";"),
}


@pytest.mark.parametrize("encoding, delimiter", EXPORTS.values(), ids=EXPORTS.keys())
def test_what_funders_tools_export_is_read_in_full(tmp_path, encoding, delimiter):
    rows = [
        ["name", "summary", "organisation.yearly_income"],
        ["Café Ñandú – “quoted”", "£5 a head; 50% fewer", "1,234,567.5"],
        ["Plain", "two\nlines", "12"],
    ]
    suffix = ".txt" if delimiter == "\t" else ".csv"
    path = write_bytes(tmp_path / f"round{suffix}", csv_bytes(rows, encoding, delimiter))
    items, warnings = read(path)
    assert [item.data for item in items.values()] == [
        {
            "name": "Café Ñandú – “quoted”",
            "summary": "£5 a head; 50% fewer",
            "organisation": {"yearly_income": 1234567.5},
        },
        {"name": "Plain", "summary": "two\nlines", "organisation": {"yearly_income": 12}},
    ]
    if encoding == "cp1252":
        assert len(warnings) == 1
        assert warnings[0].startswith(f"{path}: row 2 is not UTF-8: read as Windows-1252 ")
    else:
        assert warnings == []


def test_old_mac_line_endings_are_rows_too(tmp_path):
    path = write_bytes(
        tmp_path / "round.csv", csv_bytes([HEADER[:2], ["A", "5"], ["B", "6"]], newline="\r")
    )
    items, _ = read(path)
    assert [item.data["name"] for item in items.values()] == ["A", "B"]


def test_a_byte_that_is_no_text_in_any_encoding_names_its_row_and_column(tmp_path):
    data = csv_bytes([["name", "summary", "notes"], ["A", "ok", "ok"]])
    data += b"B,caf\x81,ok\r\nC,fine,caf\x81\r\nD,fine,ok\r\n"  # 0x81: not UTF-8, nor Windows-1252
    path = write_bytes(tmp_path / "round.csv", data)
    items, warnings = read(path)
    error = items[f"{path}:row 3"].error
    assert error.startswith(
        f"{path}:row 3: column 'summary': byte 0x81 is not text in UTF-8 or Windows-1252"
    )
    assert items[f"{path}:row 4"].data == {"name": "C", "summary": "fine"}  # only in 'notes'
    assert items[f"{path}:row 5"].data == {"name": "D", "summary": "fine"}
    assert len(items) == 4


def test_a_utf16_file_with_a_broken_character_names_that_row(tmp_path):
    data = codecs.BOM_UTF16_LE + "name\r\nA\r\n".encode("utf-16-le")
    data += b"\x00\xd8" + "B\r\nC\r\n".encode("utf-16-le")  # a lone surrogate before B
    path = write_bytes(tmp_path / "round.csv", data)
    items, _ = read(path)
    assert "byte 0x00 is not text in UTF-16" in items[f"{path}:row 3"].error
    assert items[f"{path}:row 4"].data == {"name": "C"}


def test_a_jsonl_line_that_is_not_utf8_is_that_lines_error_and_the_rest_are_read(tmp_path):
    lines = [json.dumps({"name": "One"}).encode(), '{"name": "Café"}'.encode("latin-1")]
    lines.append(json.dumps({"name": "Three"}).encode())
    path = write_bytes(tmp_path / "round.jsonl", b"\n".join(lines) + b"\n")
    items, warnings = read(path)
    assert items[f"{path}:line 2"].error == (
        f"{path}:line 2: byte 0xe9 at column 14 is not text in UTF-8, which JSON Lines must "
        "be; save the file as UTF-8"
    )
    assert [items[f"{path}:line {n}"].json_text.strip() for n in (1, 3)] == [
        '{"name": "One"}',
        '{"name": "Three"}',
    ]
    assert warnings == []


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_a_jsonl_file_with_a_byte_order_mark_is_read(tmp_path, encoding):
    text = json.dumps({"name": "Ünïcode"}, ensure_ascii=False) + "\r\n"
    path = write_bytes(tmp_path / "round.jsonl", text.encode(encoding))
    items, _ = read(path)
    assert _parse_json_line("x", items[f"{path}:line 1"].json_text) == {"name": "Ünïcode"}


def test_json_lines_end_at_line_feeds_only_so_a_carriage_return_inside_is_whitespace(tmp_path):
    path = write_bytes(tmp_path / "round.jsonl", b'{"name":\r "One"}\r\n{"name": "Two"}\n')
    items, _ = read(path)
    assert [_parse_json_line(label, item.json_text) for label, item in items.items()] == [
        {"name": "One"},
        {"name": "Two"},
    ]


def test_an_over_long_jsonl_line_is_that_lines_error_and_the_next_is_read(tmp_path):
    long = json.dumps({"name": "long", "summary": "x" * 140_000})
    path = write(tmp_path / "round.jsonl", long + "\n" + json.dumps({"name": "next"}) + "\n")
    items, _ = read(path)
    assert "longer than 131,072 characters" in items[f"{path}:line 1"].error
    assert json.loads(items[f"{path}:line 2"].json_text) == {"name": "next"}


def awkward_jsonl(path: Path) -> Path:
    """A JSONL file with all a reader can meet: a byte-order mark, blank lines, a line that is
    not UTF-8, one starting with a mark of its own, an over-long one, and no final line feed."""
    lines = [json.dumps({"name": f"P{n}"}).encode() for n in range(12)]
    lines[2] = b""
    lines[4] = '{"name": "Caf\u00e9"}'.encode("latin-1")
    lines[6] = codecs.BOM_UTF8 + lines[6]
    lines[8] = json.dumps({"name": "long", "summary": "x" * 140_000}).encode()
    lines[9] = b"   \r"
    return write_bytes(path, codecs.BOM_UTF8 + b"\n".join(lines))


@pytest.mark.parametrize("size", [1, 2, 5, 100])
def test_a_jsonl_file_cut_into_byte_ranges_gives_the_items_reading_it_whole_gives(tmp_path, size):
    path = awkward_jsonl(tmp_path / "round.jsonl")
    whole = list(batch._jsonl_items(str(path), spreadsheets.jsonl_rows(path)))
    tasks = list(batch.Round([path]).tasks(size))
    assert all(isinstance(task, batch.Lines) for task in tasks)
    assert sum(task.size for task in tasks) == 12 and (size >= 12 or len(tasks) > 1)
    assert [item for task in tasks for item in task.read()] == whole
    assert len(whole) == 10 and "not text in UTF-8" in whole[3].error
    assert "longer than 131,072" in whole[7].error and whole[-1].label == f"{path}:line 12"


def test_the_main_process_hands_out_a_jsonl_file_as_ranges_of_whole_lines(tmp_path):
    path = awkward_jsonl(tmp_path / "round.jsonl")
    tasks = list(batch.Round([path]).tasks(3))
    assert [(t.start, t.first) for t in tasks[1:]] == [
        (t.end, t.first + t.size) for t in tasks[:-1]
    ]
    assert tasks[0].start == 0 and tasks[-1].end == path.stat().st_size
    assert all(path.read_bytes()[t.end - 1 : t.end] == b"\n" for t in tasks[:-1])


def test_lines_of_a_jsonl_file_that_shrank_after_it_was_cut_up_are_named_as_not_read(tmp_path):
    path = awkward_jsonl(tmp_path / "round.jsonl")
    *_, last = batch.Round([path]).tasks(2)
    path.write_bytes(path.read_bytes()[: last.start + 3])  # into the range's first line
    items = list(last.read())
    lines = f"lines {last.first} to {last.first + last.size - 1}"
    assert [item.label for item in items] == [f"{path}:line {last.first}"]
    assert items[0].error == (
        f"{path}:line {last.first}: {lines} not read: the file is shorter than when the round "
        "was read: it changed"
    )


def test_csv_rows_go_to_the_worker_as_cells_and_become_profiles_there(tmp_path):
    rows = [HEADER, ["A", "1,000", "", "ok"], [], ["B", "lots", "", ""], ["C", "", "", ""]]
    path = write_bytes(tmp_path / "round.csv", csv_bytes(rows))
    tasks = list(batch.Round([path]).tasks(2))
    assert all(isinstance(task, batch.FlatRows) for task in tasks)
    assert [row.number for task in tasks for row in task.rows] == [2, 3, 4, 5]
    items = [item for task in tasks for item in task.read()]
    assert [item.label.rsplit(":", 1)[1] for item in items] == ["row 2", "row 4", "row 5"]
    assert items[0].data == {"name": "A", "organisation": {"yearly_income": 1000}, "summary": "ok"}
    assert "'lots' is not a number" in items[1].error


# --- item 5: columns ----------------------------------------------------------------------------


@pytest.mark.slow
def test_a_row_with_more_cells_than_the_header_is_an_error_naming_the_cells(tmp_path):
    data = b'name,summary\r\n"A, B and C",one\r\nA, B and C,one\r\nD,ok,\r\n'
    path = write_bytes(tmp_path / "round.csv", data)  # row 3: a comma not in quotes
    result = run_scaleready("batch", path, "--summary", tmp_path / "s.csv")
    assert result.returncode == 3, result.stderr
    assert (
        f"{path}:row 3: values in columns without a heading: C 'one'; a cell that holds the "
        "separator (a comma) must be in double quotes"
    ) in result.stderr
    assert [row["name"] for row in summary_rows(tmp_path / "s.csv")] == ["A, B and C", "", "D"]


def test_a_value_under_a_blank_heading_is_that_rows_error(tmp_path):
    rows = [["name", "", "summary"], ["A", "", "ok"], ["B", "stray", "ok"]]
    items, _ = read(write_bytes(tmp_path / "round.csv", csv_bytes(rows)))
    assert items[f"{tmp_path / 'round.csv'}:row 2"].data == {"name": "A", "summary": "ok"}
    assert "columns without a heading: B 'stray'" in items[f"{tmp_path / 'round.csv'}:row 3"].error


@pytest.mark.slow
def test_columns_of_a_grant_system_are_ignored_with_one_warning_per_file(tmp_path):
    rows = [["name", "notes", "charity_number", "reach.sites"], ["A", "hello", "123", "4"]]
    rows += [["B", "x", "456", "5"]]
    path = write_bytes(tmp_path / "round.csv", csv_bytes(rows))
    result = run_scaleready("batch", path, "--summary", tmp_path / "s.csv")
    assert result.returncode == 0, result.stderr
    warning = (
        f"warning: {path}: ignored columns 'notes', 'charity_number': no profile field "
        "(--strict-columns refuses such a file)"
    )
    assert result.stderr.count(warning) == 1
    assert "assessed 2 of 2 profiles" in result.stderr


@pytest.mark.slow
def test_strict_columns_refuses_a_file_with_columns_that_are_no_field(tmp_path):
    rows = [["name", "notes", "charity_number"], ["A", "hello", "123"], ["B", "x", "456"]]
    path = write_bytes(tmp_path / "round.csv", csv_bytes(rows))
    result = run_scaleready("batch", path, "--strict-columns", "--summary", tmp_path / "s.csv")
    assert result.returncode == 3, result.stderr
    for row in (2, 3):
        assert (
            f"{path}:row {row}: columns 'notes', 'charity_number' are no profile field "
            "(--strict-columns)"
        ) in result.stderr
    assert "assessed 0 of 2 profiles" in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("strict", [False, True], ids=["default", "strict"])
def test_a_misspelt_column_is_an_error_either_way_with_did_you_mean(tmp_path, strict):
    path = write(tmp_path / "round.csv", "name,organisation.yearly_incme\nA,5\n")
    options = ["--strict-columns"] if strict else []
    result = run_scaleready("batch", path, *options, "--summary", tmp_path / "s.csv")
    assert result.returncode == 3, result.stderr
    assert (
        f"{path}:row 2: column 'organisation.yearly_incme' is not a profile field; "
        "did you mean 'organisation.yearly_income'?"
    ) in result.stderr


NEAR_MISSES = {
    "organisation.yearly_incme": "organisation.yearly_income",
    "Organisation Yearly Income": "organisation.yearly_income",
    "organisation_yearly_income": "organisation.yearly_income",
    "ORGANISATION.YEARLY_INCOME": "organisation.yearly_income",
    "Name": "name",
    "names": "name",
    "summray": "summary",
    "partnership.1.role": "partnerships.role",
    "partnerships.1.rol": "partnerships.role",
    "notes": None,
    "charity_number": None,
    "age": None,
    "id": None,
    "status": None,
    "applicant email": None,
    "partnerships.1.notes": None,
}


@pytest.mark.parametrize("heading, field", NEAR_MISSES.items(), ids=NEAR_MISSES.keys())
def test_a_heading_within_a_typing_slip_of_a_field_is_a_near_miss(heading, field):
    assert spreadsheets.near_miss(heading) == field


@pytest.mark.parametrize(
    "heading, message",
    [
        ("partnerships.1.rol", "did you mean 'partnerships.1.role'?"),
        ("partnership.2.role", "did you mean 'partnerships.2.role'?"),
        ("partnerships.0.role", "items are numbered from 1 to 999,999"),
        ("partnerships." + "9" * 5000 + ".role", "items are numbered from 1 to 999,999"),
        (
            "partnerships.1",
            "names a list item, not one of its fields (e.g. 'partnerships.1.partner')",
        ),
        ("partnerships.role", "needs item numbers: 'partnerships.1.role'"),
        (
            "evidence.evaluations.2.outcomes.result",
            "needs item numbers: 'evidence.evaluations.2.outcomes.1.result'",
        ),
        ("organisation", "is a group of fields, not a field (e.g. 'organisation.legal_form')"),
    ],
)
def test_a_malformed_heading_is_named_for_every_row(tmp_path, heading, message):
    path = write_bytes(
        tmp_path / "round.csv", csv_bytes([["name", heading], ["A", "1"], ["B", ""]])
    )
    items, _ = read(path)
    for row in (2, 3):
        assert message in items[f"{path}:row {row}"].error


def test_two_columns_for_one_field_are_refused(tmp_path):
    rows = [["name", "partnerships.1.role", "partnerships.01.role"], ["A", "buyer", "host"]]
    items, _ = read(write_bytes(tmp_path / "round.csv", csv_bytes(rows)))
    assert (
        "columns B and C are the same field ('partnerships.1.role', 'partnerships.01.role'); "
        "keep one"
    ) in items[f"{tmp_path / 'round.csv'}:row 2"].error


def test_a_header_with_no_profile_field_is_not_taken_for_one(tmp_path):
    rows = [["Grant round 2024"], ["name", "summary"], ["A", "b"]]
    items, _ = read(write_bytes(tmp_path / "round.csv", csv_bytes(rows)))
    for row in (2, 3):
        assert (
            "no heading in row 1 is a profile field"
            in items[f"{tmp_path / 'round.csv'}:row {row}"].error
        )


def test_blank_rows_are_skipped_and_the_header_is_the_first_row_that_is_not(tmp_path):
    rows = [[], ["", " "], ["name"], [" "], ["A"]]
    path = write_bytes(tmp_path / "round.csv", csv_bytes(rows))
    items, warnings = read(path)
    assert {label: item.data for label, item in items.items()} == {f"{path}:row 5": {"name": "A"}}
    assert warnings == []


def test_an_empty_file_is_warned_of(tmp_path):
    items, warnings = read(write_bytes(tmp_path / "round.csv", b""))
    assert items == {}
    assert warnings == [f"{tmp_path / 'round.csv'}: the file holds no rows: nothing to assess"]


@pytest.mark.parametrize(
    "cell, message",
    [
        ("1,5", "is not a number (a comma may only separate thousands"),
        ("1e400", "is not a finite number"),
        ("nan", "is not a finite number"),
        ("9" * 400, "is not a finite number"),
        ("lots", "is not a number"),
    ],
)
def test_a_number_cell_that_would_be_misread_is_refused(tmp_path, cell, message):
    path = write_bytes(tmp_path / "round.csv", csv_bytes([["name", "reach.sites"], ["A", cell]]))
    items, _ = read(path)
    assert message in items[f"{path}:row 2"].error


def test_a_huge_integer_in_a_workbook_is_refused_not_a_crash(tmp_path):
    path = write_xlsx(tmp_path / "round.xlsx", [["name", "reach.sites"], ["A", 12345]])
    patch_sheet(path, (b"<v>12345</v>", b"<v>" + b"9" * 400 + b"</v>"))
    items, _ = read(path)
    assert "is too large a number" in items[f"{path}:row 2"].error


# --- item 12: workbook sizes --------------------------------------------------------------------


def bomb(path: Path, expanded_mib: int, **zip_options) -> Path:
    """A real workbook whose first sheet holds one cell of ``expanded_mib`` MiB of one letter."""
    base = write_xlsx(path.with_name("base.xlsx"), [["name"], ["A"]])
    with (
        zipfile.ZipFile(base) as source,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, **zip_options) as target,
    ):
        for info in source.infolist():
            if info.filename != "xl/worksheets/sheet1.xml":
                target.writestr(info, source.read(info.filename))
                continue
            with target.open(info.filename, "w") as stream:
                stream.write(b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/')
                stream.write(b'2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>')
                for _ in range(expanded_mib):
                    stream.write(b"A" * 1024 * 1024)
                stream.write(b"</t></is></c></row></sheetData></worksheet>")
    return path


@pytest.mark.slow
def test_a_workbook_that_expands_a_thousand_times_is_refused_before_it_is_opened(tmp_path):
    path = bomb(tmp_path / "round.xlsx", expanded_mib=64)
    result = run_scaleready("batch", path, "--summary", tmp_path / "s.csv")
    assert result.returncode == 3, result.stderr
    assert f"{path}: not opened: its part 'xl/worksheets/sheet1.xml' expands" in result.stderr
    assert "more than 100 (a zip bomb?)" in result.stderr


def test_a_workbook_part_larger_than_the_limit_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(spreadsheets, "MAX_XLSX_MEMBER_BYTES", 2 * 1024 * 1024)
    path = bomb(tmp_path / "round.xlsx", expanded_mib=3, compresslevel=0)  # stored-like: ratio 1
    items, _ = read(path)
    assert "expands to 3 MiB, more than 2 MiB; save the round as CSV" in items[str(path)].error


def test_a_zip_with_thousands_of_parts_is_refused_before_its_directory_is_read(tmp_path):
    path = tmp_path / "round.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        for number in range(1_500):
            archive.writestr(f"part{number}", b"")
    items, _ = read(path)
    assert "its zip lists 1,500 parts" in items[str(path)].error


def test_a_sheet_with_more_cells_than_the_limit_stops_with_its_row_named(tmp_path, monkeypatch):
    monkeypatch.setattr(spreadsheets, "MAX_XLSX_CELLS", 1_000)
    rows = [HEADER] + [[f"P{n}", 1, 2, "t"] for n in range(1, 400)]
    path = write_xlsx(tmp_path / "round.xlsx", rows)
    items, _ = read(path)
    assert len(items) == 250  # rows 2 to 250 (1,000 cells with the header), the file's error
    assert "stopped at row 251: the sheet holds more than 1,000 cells" in items[str(path)].error


def test_a_sheet_row_numbered_near_excels_last_is_read_without_a_hang(tmp_path):
    path = write_xlsx(tmp_path / "round.xlsx", [["name"], ["A"]])
    far = b'<row r="1000000"><c r="XFD1000000" t="inlineStr"><is><t>far</t></is></c></row>'
    patch_sheet(
        path,
        (b"</sheetData>", far + b"</sheetData>"),
        (b'<dimension ref="A1:A2" />', b'<dimension ref="A1:XFD1048576" />'),
    )
    items, _ = read(path)
    assert items[f"{path}:row 2"].data == {"name": "A"}
    assert "columns without a heading: XFD 'far'" in items[f"{path}:row 1000000"].error


# --- property: no row is ever lost ---------------------------------------------------------------

JUNK_HEADINGS = ["notes", "charity_number", "", "Name", "partnerships.0.role", "summery", "x.1"]
JUNK_HEADINGS += ["partnerships", "partnerships.1.role", "partnerships.role", "organisation"]
CELLS = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.sampled_from(["", " ", "none", "yes", "no", "1,234", "£5", "nan", "a;b", '"', "\r\n", ","]),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
)


@st.composite
def flat_files(draw):
    headings = draw(
        st.lists(
            st.sampled_from(spreadsheets.template_header()[:60] + JUNK_HEADINGS),
            min_size=1,
            max_size=8,
        )
    )
    rows = draw(st.lists(st.lists(CELLS, max_size=len(headings) + 2), max_size=12))
    fmt = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16", "xlsx"]))
    return headings, rows, fmt


def _cell_text(cell, encoding: str) -> str:
    """A cell as a CSV writer would hold it, in characters the encoding has."""
    text = "" if cell is None else str(cell)
    return text.encode(encoding, "replace").decode(encoding)


def _printable(cell):
    """A cell as a workbook can hold it (XLSX forbids control characters)."""
    return "".join(c for c in cell if c.isprintable()) if isinstance(cell, str) else cell


def _is_blank(cells) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


@pytest.mark.slow
@settings(
    derandomize=True,
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(flat_files())
def test_every_row_of_a_random_flat_file_is_an_item_or_a_named_error(tmp_path, flat_file):
    headings, rows, fmt = flat_file
    if fmt == "xlsx":
        written = [headings, *([_printable(c) for c in row] for row in rows)]
        path = write_xlsx(tmp_path / "round.xlsx", written)
    else:
        written = [[_cell_text(c, fmt) for c in row] for row in [headings, *rows]]
        path = write_bytes(tmp_path / "round.csv", csv_bytes(written, fmt))
    items, _ = read(path)  # never raises
    rows_in = [n for n, cells in enumerate(written, 1) if not _is_blank(cells)]
    expected = {f"{path}:row {n}" for n in rows_in[1:]}  # the first row that is not blank: header
    assert set(items) == expected
    for label, item in items.items():
        assert (item.data is None) != (item.error is None)
        assert item.error is None or item.error.startswith(f"{label}: ")


# --- the version-2 evidence model in columns -----------------------------------------------------


def test_the_template_has_a_column_for_every_version_2_study_and_outcome_field():
    header = spreadsheets.template_header()
    study = "evidence.evaluations.2."
    for field in ("method", "sample.treatment", "sample.control", "sample.clusters"):
        assert study + field in header
    assert study + "sample.at_least" in header and study + "differential_attrition" in header
    for field in ("primary", "design", "measured_by", "ci_lower", "ci_upper", "p_value"):
        assert f"{study}outcomes.2.{field}" in header
    assert "schema_version" in header


def test_a_row_with_version_2_columns_reads_into_a_version_2_profile():
    cells = ["A", "2", "rct", "120", "130", "yes", "8.5", "0.1", "0.4", "self_report"]
    header = spreadsheets.parse_header(
        [
            "name",
            "schema_version",
            "evidence.evaluations.1.design",
            "evidence.evaluations.1.sample.treatment",
            "evidence.evaluations.1.sample.control",
            "evidence.evaluations.1.sample.at_least",
            "evidence.evaluations.1.attrition",
            "evidence.evaluations.1.outcomes.1.ci_lower",
            "evidence.evaluations.1.outcomes.1.ci_upper",
            "evidence.evaluations.1.outcomes.1.measured_by",
        ]
    )
    data = spreadsheets.row_to_profile(header, spreadsheets.Row(2, cells), "round.csv:row 2")
    assert data["evidence"]["evaluations"][0] == {
        "design": "rct",
        "sample": {"treatment": 120, "control": 130, "at_least": True},
        "attrition": 8.5,
        "outcomes": [{"ci_lower": 0.1, "ci_upper": 0.4, "measured_by": "self_report"}],
    }
    assert profile_from_data(data).evidence.evaluations[0].outcomes[0].significant is True


def test_a_version_1_sample_size_column_is_read_as_the_sample_of_people():
    header = spreadsheets.parse_header(["name", "evidence.evaluations.1.sample_size"])
    assert header.ignored == () and header.problem is None
    data = spreadsheets.row_to_profile(header, spreadsheets.Row(2, ["B", "317"]), "r.csv:row 2")
    assert data["evidence"]["evaluations"] == [{"sample": {"individuals": 317}}]


def test_a_round_with_both_the_old_and_the_new_sample_column_is_refused():
    header = spreadsheets.parse_header(
        ["name", "evidence.evaluations.1.sample_size", "evidence.evaluations.1.sample.individuals"]
    )
    assert header.problem is not None and "sample" in header.problem
