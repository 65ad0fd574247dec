"""Output files written whole or not at all: to a temporary file, renamed into place at the end."""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from scaleready.errors import InputError
from scaleready.safe_text import SPREADSHEET_CELL_CHARS, spreadsheet_text, utf8_text

TABLE_SUFFIXES = (".csv", ".xlsx", ".jsonl")


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """A temporary path beside ``target``; renamed to it only if the block completes."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        os.chmod(
            temporary, 0o666 & ~_umask()
        )  # mkstemp makes it private; outputs are ordinary files
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def write_text(target: Path, text: str) -> None:
    with atomic_path(target) as temporary:
        temporary.write_text(text, encoding="utf-8")


def check_table_suffix(path: Path) -> None:
    if path.suffix.lower() not in TABLE_SUFFIXES:
        choices = ", ".join(TABLE_SUFFIXES)
        raise InputError(f"{path}: a summary is written as {choices}; choose one of those")


def write_table(target: Path, columns: Sequence[str], rows: Sequence[dict]) -> None:
    """Rows as CSV, XLSX or JSON lines, chosen by the file's suffix."""
    check_table_suffix(target)
    writer = {".csv": _csv, ".xlsx": _xlsx, ".jsonl": _jsonl}[target.suffix.lower()]
    with atomic_path(target) as temporary:
        writer(temporary, columns, rows)


def _csv(path: Path, columns: Sequence[str], rows: Sequence[dict]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        _write_csv(handle, columns, rows)


def _jsonl(path: Path, columns: Sequence[str], rows: Sequence[dict]) -> None:
    """Data for programs, so texts are kept as they are (only made writable as UTF-8)."""
    with open(path, "w", encoding="utf-8") as handle:
        for row in rows:
            record = dict(zip(columns, map(_json_value, _values(row, columns)), strict=True))
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def _json_value(value: object) -> object:
    return utf8_text(value) if isinstance(value, str) else value


def _xlsx(path: Path, columns: Sequence[str], rows: Sequence[dict]) -> None:
    from openpyxl import Workbook  # imported here: only XLSX output needs it

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("summary")
    sheet.append(_xlsx_cells(sheet, columns))
    for row in rows:
        sheet.append(_xlsx_cells(sheet, _values(row, columns)))
    workbook.save(path)


def _xlsx_cells(sheet, values: Iterable[object]) -> list:
    """Numbers as numbers; every text as a string cell, never a formula or an error code."""
    from openpyxl.cell import WriteOnlyCell

    cells = []
    for value in (spreadsheet_cell(v, SPREADSHEET_CELL_CHARS) for v in values):
        if value == "":
            value = None  # an empty cell, not an empty text
        elif isinstance(value, str):
            cell = WriteOnlyCell(sheet, value)
            cell.data_type = "s"  # openpyxl would make "=..." a formula and "#N/A" an error
            value = cell
        cells.append(value)
    return cells


def csv_text(columns: Sequence[str], rows: Sequence[dict]) -> str:
    """Rows as CSV text, for printing."""
    buffer = io.StringIO(newline="")
    _write_csv(buffer, columns, rows)
    return buffer.getvalue()


def _write_csv(handle: TextIO, columns: Sequence[str], rows: Sequence[dict]) -> None:
    """The header and rows, every cell made safe to open in a spreadsheet."""
    writer = csv.writer(handle)
    writer.writerow(map(spreadsheet_cell, columns))
    for row in rows:
        writer.writerow(map(spreadsheet_cell, _values(row, columns)))


def spreadsheet_cell(value: object, max_chars: int | None = None) -> object:
    """A number stays a number (a negative score too); anything else is text that a spreadsheet
    shows and never runs: the one guard every CSV and XLSX output goes through."""
    if value is None:
        return ""
    if isinstance(value, int | float):  # bool is an int
        return value
    return spreadsheet_text(str(value), max_chars)


def _values(row: dict, columns: Sequence[str]) -> list[object]:
    """The row's value of each column, in column order; a missing one is empty."""
    return [row.get(column, "") for column in columns]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
