"""Output files written whole or not at all: to a temporary file, renamed into place at the end."""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from scaleready.errors import InputError

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
        writer = csv.DictWriter(handle, fieldnames=list(columns))
        writer.writeheader()
        writer.writerows(rows)


def _jsonl(path: Path, columns: Sequence[str], rows: Sequence[dict]) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps({c: row[c] for c in columns}, ensure_ascii=False) + "\n")


def _xlsx(path: Path, columns: Sequence[str], rows: Sequence[dict]) -> None:
    from openpyxl import Workbook  # imported here: only XLSX output needs it

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("summary")
    sheet.append(list(columns))
    for row in rows:
        sheet.append([row[c] for c in columns])
    workbook.save(path)


def csv_text(columns: Sequence[str], rows: Sequence[dict]) -> str:
    """Rows as CSV text, for printing."""
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=list(columns))
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
