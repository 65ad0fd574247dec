"""Profiles as flat rows (CSV files, XLSX workbooks): one profile per row, one field per column.

Column headers are dotted field paths.  Lists of items number their items from 1
(``partnerships.1.partner``, ``partnerships.2.partner``,
``evidence.evaluations.1.outcomes.1.result``).  A list of texts is one cell with the texts
separated by ``;``.  An empty cell means "not answered"; a list of items answered "none" is
written in a column of its own (``contracts`` = none).  Yes/no cells take yes, no, true,
false, 1 or 0.  A comma in a number separates thousands (``1,234.5``).

Reading is forgiving where a funder's tools differ and strict where a value could be lost:

- Encoding of a text file (CSV, and JSONL in :mod:`scaleready.rounds.batch`): a byte-order mark
  decides (UTF-8, or UTF-16 as Excel's "Unicode Text" writes); a file that starts with an
  ASCII character and a zero byte is UTF-16 without one.  Otherwise each line is read as
  UTF-8, and a CSV line that is not UTF-8 as Windows-1252 (what Excel's "CSV" writes on
  Windows), with one warning per file naming those rows.  A byte that is no text even then
  makes its row an error, named with the row and column.
- Separator: whichever of comma, tab and semicolon the first line holds most (comma if none).
- The header is the first row that is not blank.  A column that is no profile field (a grant
  system's ``notes``) is ignored with one warning per file, or refused with
  ``strict_columns``; a heading within a typing slip of a field (:func:`near_miss`) is an
  error either way, with "did you mean".  A value in a column without a heading, or beyond
  the header, makes its row an error: the row's cells may have shifted.
- Every row is either a profile or an error naming its row; a row is never dropped, except
  a blank one.  The limits below make a hostile file an error, never a hang or a crash.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import functools
import io
import math
import os
import re
import struct
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, NamedTuple, TextIO
from xml.etree.ElementTree import ParseError

from scaleready.errors import ProfileError
from scaleready.problems import did_you_mean
from scaleready.profile import FieldInfo, field_catalogue, known_fields, profile_fields

if TYPE_CHECKING:  # only annotations name it
    from pydantic import BaseModel

# Limits (read when used, so a library user may change them; see docs/limits.md).
MAX_ROW_CHARS = 131_072  # a CSV/XLSX row or a JSONL line: longer is that row's error
MAX_ITEM_NUMBER = 999_999  # the largest list item number a column may carry
MAX_XLSX_MEMBERS = 1_000  # parts in a workbook's zip (a real one has a few dozen)
MAX_XLSX_MEMBER_BYTES = 256 * 1024 * 1024  # one part inflated (20,000 rows x 100 cells: 65 MiB)
MAX_XLSX_TOTAL_BYTES = 512 * 1024 * 1024  # all parts, uncompressed
MAX_XLSX_RATIO = 100  # uncompressed / compressed size of a part (real sheets: 5 to 20)
XLSX_RATIO_FROM_BYTES = 1024 * 1024  # smaller parts may compress better: no ratio check
MAX_XLSX_CELLS = 20_000_000  # rows x columns read from a sheet (a 10,000-row round: ~2 M)
EXCEL_MAX_ROWS = 1_048_576  # Excel's own limit: rows numbered beyond it are not read

LIST_SEPARATOR = ";"
TEMPLATE_ITEMS = 2  # items per list in the template's header row
FLAT_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx")
_YES = {"yes", "y", "true", "1"}
_NO = {"no", "n", "false", "0"}
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")

Warn = Callable[[str], None]


def ignore_warning(message: str) -> None:
    """The default for ``warn``: a library caller that passes none chooses not to hear."""


# --- the header row --------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A header parsed into its place in a profile: keys, with item numbers for lists."""

    header: str
    steps: tuple[str | int, ...]  # e.g. ("partnerships", 0, "partner")
    kind: str  # the field's kind: number, string, boolean, list (of texts), items


@dataclass(frozen=True)
class Header:
    """A file's header row: a column (None where ignored) per cell, and what is wrong with it."""

    columns: tuple[Column | None, ...]
    ignored: tuple[str, ...] = ()  # headings that are no profile field
    unheaded: tuple[int, ...] = ()  # indexes of columns with a blank heading
    problem: str | None = None  # why no row under this header can be assessed


class _NotAColumn(Exception):
    """A heading that names no column: a problem with it, or (``ignorable``) no field at all."""

    def __init__(self, message: str, ignorable: bool = False) -> None:
        super().__init__(message)
        self.ignorable = ignorable


def parse_header(cells: Sequence[object], row: int = 1, strict_columns: bool = False) -> Header:
    """Check a header row (its number for messages); blank headings are kept as None."""
    columns: list[Column | None] = []
    ignored, unheaded, problems = [], [], []
    for index, cell in enumerate(cells):
        heading = _heading(cell)
        if not heading:
            columns.append(None)
            unheaded.append(index)
            continue
        try:
            columns.append(_column(heading))
        except _NotAColumn as error:
            columns.append(None)
            if error.ignorable:
                ignored.append(heading)
            else:
                problems.append(str(error))
    problems += _duplicates(columns)
    if strict_columns and ignored:
        problems.append(
            f"{_some(ignored)} {'is' if len(ignored) == 1 else 'are'} no profile field "
            "(--strict-columns): remove them, or leave out --strict-columns to ignore them"
        )
    if not any(columns) and not problems:
        problems.append(
            f"no heading in row {row} is a profile field, so it is not a header; the first "
            "row must be one (see `scaleready profile template --format csv`)"
        )
    return Header(tuple(columns), tuple(ignored), tuple(unheaded), _joined(problems))


def _joined(problems: Sequence[str], shown: int = 5) -> str | None:
    """The header's problems as one message: the first few, and how many more."""
    more = f"; and {len(problems) - shown:,} more problems" if len(problems) > shown else ""
    return "; ".join(problems[:shown]) + more if problems else None


def _heading(cell: object) -> str:
    if cell is None:
        return ""
    return cell.strip() if isinstance(cell, str) else _text(cell)


METADATA = "metadata"  # metadata.KEY columns: any key, its cell as text

# Columns of the version-1 template, read as the version-2 field that means the same.
V1_COLUMNS = {"evidence.evaluations.sample_size": ("sample", "individuals")}


def _column(heading: str) -> Column:
    steps, path, numbered = _steps(heading)
    if path in V1_COLUMNS:
        renamed = V1_COLUMNS[path]
        steps, path = steps[:-1] + list(renamed), ".".join([path.rpartition(".")[0], *renamed])
    if len(steps) == 2 and steps[0] == METADATA and isinstance(steps[1], str):
        return Column(heading, tuple(steps), "string")  # a grant system's own key: its text
    info = known_fields().get(path)
    if info is None:
        raise _not_a_field(heading)
    if isinstance(steps[-1], int):
        raise _NotAColumn(
            f"column {heading!r} names a list item, not one of its fields "
            f"(e.g. {heading + '.' + _first_field_of(path)!r})"
        )
    if info.kind == "object":
        raise _NotAColumn(
            f"column {heading!r} is a group of fields, not a field "
            f"(e.g. {_numbered(path + '.' + _first_field_of(path), heading)!r})"
        )
    if not numbered:
        raise _NotAColumn(f"column {heading!r} needs item numbers: {_numbered(path, heading)!r}")
    return Column(heading, tuple(steps), "items" if _is_list_of_items(path) else info.kind)


def _steps(heading: str) -> tuple[list[str | int], str, bool]:
    """The heading's steps, its field path without item numbers, and whether every list it
    passes through is followed by an item number."""
    steps: list[str | int] = []
    path: list[str] = []
    numbered = True
    for part in heading.split("."):
        after_list = (
            bool(path) and not isinstance(steps[-1], int) and _is_list_of_items(".".join(path))
        )
        if after_list and _is_number(part):
            steps.append(_item_index(heading, part))
            continue
        numbered = numbered and not after_list
        steps.append(part)
        path.append(part)
    return steps, ".".join(path), numbered


def _is_number(part: str) -> bool:
    return part.isascii() and part.isdigit()


def _item_index(heading: str, part: str) -> int:
    if len(part) > len(str(MAX_ITEM_NUMBER)) or not 1 <= int(part) <= MAX_ITEM_NUMBER:
        raise _NotAColumn(f"column {heading!r}: items are numbered from 1 to {MAX_ITEM_NUMBER:,}")
    return int(part) - 1


def _is_list_of_items(path: str) -> bool:
    info = known_fields().get(path)
    return info is not None and info.kind == "list" and info.item_kind == "object"


def _first_field_of(path: str) -> str:
    """The first field inside a group or list item, for examples in messages."""
    prefix = path + "."
    return next(
        p[len(prefix) :]
        for p, info in known_fields().items()
        if p.startswith(prefix) and info.kind != "object" and not _is_list_of_items(p)
    )


def _numbered(path: str, heading: str) -> str:
    """A field path as a column heading: after each list, the heading's item number (or 1)."""
    numbers = iter([part for part in heading.split(".") if _is_number(part)])
    names = path.split(".")
    parts: list[str] = []
    for depth, name in enumerate(names, start=1):
        parts.append(name)
        if depth < len(names) and _is_list_of_items(".".join(names[:depth])):
            parts.append(next(numbers, "1"))
    return ".".join(parts)


def _not_a_field(heading: str) -> _NotAColumn:
    field = near_miss(heading)
    if field is None:
        return _NotAColumn(heading, ignorable=True)
    column = _numbered(field, heading)  # near_miss chose it; did_you_mean words it
    return _NotAColumn(
        f"column {heading!r} is not a profile field; {did_you_mean(column, [column])}"
    )


def near_miss(heading: str) -> str | None:
    """The field a heading is a typing slip of, or None.

    The rule: ignoring case and item numbers, the heading is within one edit (a character
    added, dropped, changed, or two swapped) of a field path shorter than 10 characters, or
    two edits of a longer one.  Such a heading is taken as a misspelling, never ignored.
    """
    bare = ".".join(p for p in heading.split(".") if not _is_number(p)).casefold()
    letters = set(bare)
    best: tuple[int, str] | None = None
    candidates = _near_miss_candidates(len(known_fields()))
    for size in range(len(bare) - 2, len(bare) + 3):
        for path, path_letters, limit in candidates.get(size, ()):
            if len(letters - path_letters) > limit:  # each letter it lacks costs an edit
                continue
            distance = _edits(bare, path, limit)
            if distance <= limit and (best is None or distance < best[0]):
                best = (distance, path)
    return best[1] if best else None


@functools.lru_cache(maxsize=2)
def _near_miss_candidates(fields: int) -> dict[int, list[tuple[str, frozenset[str], int]]]:
    """By length: every column's field path, its letters, and the edits a slip of it may take.

    Keyed by the number of known fields: they only grow (as plugin sections join them), so a
    new number is a new catalogue.
    """
    candidates: dict[int, list[tuple[str, frozenset[str], int]]] = {}
    for path, info in known_fields().items():
        if info.kind != "object":
            limit = 1 if len(path) < 10 else 2
            candidates.setdefault(len(path), []).append((path, frozenset(path), limit))
    return candidates


def _edits(a: str, b: str, limit: int) -> int:
    """Edits between a and b (optimal string alignment), or limit + 1 once more than limit.

    Only the band of cells within ``limit`` of the diagonal can stay within it: the rest are
    left at limit + 1.
    """
    beyond = limit + 1
    if abs(len(a) - len(b)) > limit:
        return beyond
    before: list[int] = []
    previous = [j if j <= limit else beyond for j in range(len(b) + 1)]
    for i in range(1, len(a) + 1):
        low, high = max(1, i - limit), min(len(b), i + limit)
        current = [beyond] * (len(b) + 1)
        current[0] = i if i <= limit else beyond
        for j in range(low, high + 1):
            value = min(
                previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] != b[j - 1])
            )
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                value = min(value, before[j - 2] + 1)
            current[j] = value
        if min(current[low - 1 : high + 1]) > limit:
            return beyond
        before, previous = previous, current
    return min(previous[-1], beyond)


def _duplicates(columns: Sequence[Column | None]) -> list[str]:
    first: dict[tuple, tuple[int, Column]] = {}
    problems = []
    for index, column in enumerate(columns):
        if column is None:
            continue
        if column.steps in first:
            other, earlier = first[column.steps]
            problems.append(
                f"columns {column_letter(other)} and {column_letter(index)} are the same field "
                f"({earlier.header!r}, {column.header!r}); keep one"
            )
        first.setdefault(column.steps, (index, column))
    return problems


def column_letter(index: int) -> str:
    """The spreadsheet name of a column from its 0-based index: A, B, ..., Z, AA, ..."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def _some(names: Sequence[str], shown: int = 10) -> str:
    """Names for a message: the first few, and how many more."""
    listed = ", ".join(repr(name) for name in names[:shown])
    more = f" and {len(names) - shown:,} more" if len(names) > shown else ""
    return f"column{'s' if len(names) > 1 else ''} {listed}{more}"


def ignored_columns_warning(source: str, header: Header) -> str:
    """The one warning for a file's ignored columns."""
    return (
        f"{source}: ignored {_some(header.ignored)}: no profile field "
        "(--strict-columns refuses such a file)"
    )


# --- cells: one row into one profile ---------------------------------------------------------


def row_to_profile(header: Header, row: Row, source: str) -> dict:
    """The nested profile data of one row; cell problems name the row and column."""
    _check_unheaded(header, row.cells, source)
    data: dict = {}
    for column, cell in zip(header.columns, row.cells, strict=False):
        if column is None or cell is None or (isinstance(cell, str) and not cell.strip()):
            continue  # (is_empty, written out: this loop runs for every cell of a round)
        if row.undecodable and isinstance(cell, str) and _ESCAPED.search(cell):
            raise ProfileError(_undecodable(column.header, cell, row.undecodable), source=source)
        _place(data, column, _convert(cell, column, source), source)
    return {key: _lists_from_numbered_items(value) for key, value in data.items()}


def is_empty(cell: object) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def is_blank(cells: Sequence[object]) -> bool:
    return all(map(is_empty, cells))


def _check_unheaded(header: Header, cells: Sequence[object], source: str) -> None:
    """A value with no heading above it means the row's cells may have shifted: refuse it."""
    width = len(header.columns)
    stray = [i for i in header.unheaded if i < len(cells) and not is_empty(cells[i])]
    stray += [i for i in range(width, len(cells)) if not is_empty(cells[i])]
    if stray:
        values = ", ".join(f"{column_letter(i)} {_short(cells[i])}" for i in stray[:3])
        more = f" and {len(stray) - 3:,} more" if len(stray) > 3 else ""
        raise ProfileError(
            f"values in columns without a heading: {values}{more}; a cell that holds the "
            "separator (a comma) must be in double quotes, or the header needs those columns",
            source=source,
        )


def _short(cell: object, length: int = 40) -> str:
    text = repr(cell)
    return text if len(text) <= length else text[: length - 4] + "...'"


def _convert(cell: object, column: Column, source: str) -> object:
    try:
        return _CONVERTERS[column.kind](cell)
    except ValueError as error:
        raise ProfileError(
            f"column {column.header!r}: {_short(cell)} {error}", source=source
        ) from None


def _number(cell: object) -> int | float:
    if isinstance(cell, str):
        cell = _number_in(cell)
    elif isinstance(cell, bool) or not isinstance(cell, (int, float)):
        raise ValueError("is not a number")
    try:
        as_float = float(cell)
    except OverflowError:  # an integer beyond any float
        raise ValueError("is too large a number") from None
    if not math.isfinite(as_float):
        raise ValueError("is not a finite number")
    return int(cell) if as_float.is_integer() else cell


def _number_in(text: str) -> float:
    text = text.strip()
    if text.startswith("£"):
        text = text[1:].strip()
    if "," in text:
        if not _THOUSANDS.fullmatch(text):
            raise ValueError("is not a number (a comma may only separate thousands: 1,234.5)")
        text = text.replace(",", "")
    try:
        return float(text)
    except ValueError:
        raise ValueError("is not a number") from None


def _boolean(cell: object) -> bool:
    if isinstance(cell, bool):
        return cell
    text = str(cell).strip().lower()
    if text in _YES or text in _NO:
        return text in _YES
    raise ValueError("is not yes or no")


def _text(cell: object) -> str:
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell).strip()


def _texts(cell: object) -> list[str]:
    return [item.strip() for item in _text(cell).split(LIST_SEPARATOR) if item.strip()]


def _no_items(cell: object) -> list:
    """A list of items answered "none" (its items, if any, have columns of their own)."""
    if _text(cell).lower() in ("none", "0"):
        return []
    raise ValueError('can only be "none" (its items have numbered columns of their own)')


_CONVERTERS = {
    "number": _number,
    "boolean": _boolean,
    "string": _text,
    "list": _texts,
    "items": _no_items,
}


def _place(data: dict, column: Column, value: object, source: str) -> None:
    """Set a value at its steps; list items are collected as {number: item} until the row ends."""
    node = data
    for step in column.steps[:-1]:
        node = node.setdefault(step, {})
        if type(node) is list:  # the list was answered "none" in its own column
            raise _none_and_items(_list_answered_none(data, column.steps), source)
    if column.kind == "items" and column.steps[-1] in node:  # its items came first
        raise _none_and_items(column.header, source)
    node[column.steps[-1]] = value


def _list_answered_none(data: dict, steps: Sequence[str | int]) -> str:
    node: object = data
    for depth, step in enumerate(steps):
        node = node[step]  # type: ignore[index]
        if type(node) is list:
            return _heading_of(steps[: depth + 1])
    raise AssertionError("no list on the way")  # only called when there is one


def _heading_of(steps: Sequence[str | int]) -> str:
    return ".".join(str(s + 1) if isinstance(s, int) else s for s in steps)


def _none_and_items(heading: str, source: str) -> ProfileError:
    return ProfileError(
        f"column {heading!r} says none, yet its numbered columns ({heading}.1...) hold items; "
        "empty one or the other",
        source=source,
    )


def _lists_from_numbered_items(node: object) -> object:
    if not isinstance(node, dict):
        return node  # a value, or [] for a list answered "none"
    if node and all(isinstance(key, int) for key in node):
        return [_lists_from_numbered_items(node[key]) for key in sorted(node)]
    return {key: _lists_from_numbered_items(value) for key, value in node.items()}


# --- rows of a file --------------------------------------------------------------------------


class Row(NamedTuple):
    """One row of a file, numbered from 1, and its cells, or why it could not be read.

    A JSONL line is a row of one cell.  (A tuple: rows cross to worker processes by the
    thousand.)
    """

    number: int
    cells: Sequence[object]
    error: str | None = None
    undecodable: str | None = None  # the encoding a cell's byte is no text in, if one is not


class RowTooLong(Exception):
    """A row longer than MAX_ROW_CHARS: it was skipped, and reading goes on after it."""


# Bytes that are no text in the file's encoding are kept as lone surrogates (U+DC00 + byte),
# which no decoded text contains: a row that holds one is named, and the rest of the file read.
_ESCAPE = "scaleready.escape"
_ESCAPED = re.compile("[\ud800-\udfff]")


def _escape_undecodable(error: UnicodeError) -> tuple[str | bytes, int]:
    if not isinstance(error, UnicodeDecodeError):  # only decoding names this handler
        raise error
    bad = error.object[error.start : error.end]
    return "".join(chr(0xDC00 + byte) for byte in bad), error.end


codecs.register_error(_ESCAPE, _escape_undecodable)


@dataclass(frozen=True)
class Encoding:
    """How a text file is decoded: its codec, its name in messages, and the CSV fallback."""

    codec: str
    name: str  # for messages: "UTF-16", "UTF-8 or Windows-1252"
    windows_1252: bool = False  # lines that are not UTF-8 are read as Windows-1252


def encoding_of(head: bytes, windows_1252: bool) -> Encoding:
    """The encoding rule of the module docstring, from the file's first bytes."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return Encoding("utf-16", "UTF-16")
    if len(head) >= 2 and head[0] < 0x80 and head[0] and not head[1]:
        return Encoding("utf-16-le", "UTF-16")
    if len(head) >= 2 and not head[0] and head[1] and head[1] < 0x80:
        return Encoding("utf-16-be", "UTF-16")
    name = "UTF-8 or Windows-1252" if windows_1252 else "UTF-8"
    return Encoding("utf-8-sig", name, windows_1252)


class TextLines:
    """The lines of a text file, decoded by its encoding, for csv.reader or JSONL.

    A record (a CSV row may span lines inside quotes) longer than MAX_ROW_CHARS raises
    RowTooLong once, after skipping the rest of it, so reading goes on with the next record.
    The caller calls ``next_record`` after each record.
    """

    def __init__(self, stream: TextIO, encoding: Encoding, quote: str | None) -> None:
        self.encoding = encoding
        self._stream = stream
        self._quote = quote  # to find where a CSV record ends when skipping it
        self.next_record()

    def next_record(self) -> None:
        self._chars = self._quotes = self._lines = 0
        self.read_as_windows_1252 = False
        self.undecodable: str | None = None
        self.unclosed_quote = 0  # lines the record took in after a quote never closed

    def __iter__(self) -> TextLines:
        return self

    def __next__(self) -> str:
        line = self._stream.readline(MAX_ROW_CHARS + 1)
        if not line:
            if self._quotes % 2 and self._lines > 1:  # the file ended inside quotes
                self.unclosed_quote = self._lines - 1
            raise StopIteration
        self._chars += len(line)
        self._lines += 1
        self._quotes += line.count(self._quote) if self._quote else 0
        if self._chars > MAX_ROW_CHARS:
            ended = self._skip_rest(line)
            raise RowTooLong(
                f"longer than {MAX_ROW_CHARS:,} characters, the most a row may hold: not read"
                + ("" if ended else _UNCLOSED_TO_THE_END)
            )
        return line if line.isascii() else self._decoded(line)

    def _decoded(self, line: str) -> str:
        if not _ESCAPED.search(line):
            return line
        if self.encoding.windows_1252:
            self.read_as_windows_1252 = True
            line = line.encode("utf-8", "surrogateescape").decode("cp1252", _ESCAPE)
            if not _ESCAPED.search(line):
                return line
        self.undecodable = self.encoding.name
        return line

    def _skip_rest(self, line: str) -> bool:
        """Read to the record's end: a line's end outside quotes; False if the file ends first."""
        ends = ("\n", "\r") if self._quote else ("\n",)
        while not (line.endswith(ends) and self._quotes % 2 == 0):
            line = self._stream.readline(MAX_ROW_CHARS)
            if not line:
                return self._quotes % 2 == 0
            self._quotes += line.count(self._quote) if self._quote else 0
        return True


_UNCLOSED_TO_THE_END = (
    '; a double quote (") opened in it is never closed, so the rest of the file was taken '
    "into it and not read"
)


def _unclosed_quote(lines: int) -> str:
    return (
        f'a double quote (") opened in this row is never closed, so the {lines:,} lines after '
        "it were taken into it, not read as rows; close the quote"
    )


@contextlib.contextmanager
def text_lines(
    path: Path, *, quote: str | None, windows_1252: bool, start: int = 0, end: int | None = None
) -> Iterator[TextLines]:
    """The file's lines; ``quote`` for CSV, ``windows_1252`` to allow the CSV fallback.

    CSV lines end at a line feed, a carriage return or both (old Macs wrote CR alone); JSON
    Lines end at a line feed only, as the JSON Lines format says (CR is whitespace in JSON).
    ``start`` and ``end`` read only those bytes of a UTF-8 file, from a line's start to a line's
    end.
    """
    with open(path, "rb") as raw:
        encoding = encoding_of(raw.read(4), windows_1252)
        if start:  # a byte-order mark only starts a file: one after a line feed is text
            encoding = replace(encoding, codec="utf-8")
        raw.seek(start)
        source = raw if end is None else io.BufferedReader(_ByteRange(raw, end))
        newline = "" if quote else "\n"
        with io.TextIOWrapper(source, encoding.codec, errors=_ESCAPE, newline=newline) as stream:
            yield TextLines(stream, encoding, quote)


class _ByteRange(io.RawIOBase):
    """A file's bytes from where it stands up to ``end``, read as a file of their own."""

    def __init__(self, raw: BinaryIO, end: int) -> None:
        self._raw, self._left = raw, end - raw.tell()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._left <= 0:
            return 0
        data = self._raw.read(min(len(buffer), self._left))
        if not data:
            raise OSError(0, "the file is shorter than when the round was read: it changed")
        buffer[: len(data)] = data
        self._left -= len(data)
        return len(data)


def _undecodable(heading: str, cell: str, encoding: str) -> str:
    byte = ord(next(c for c in cell if 0xD800 <= ord(c) <= 0xDFFF)) - 0xDC00
    return (
        f"column {heading!r}: byte 0x{byte:02x} is not text in {encoding}; check the cell, "
        "and save the file as 'CSV UTF-8'"
    )


def csv_rows(path: Path, warn: Warn = ignore_warning) -> Iterator[Row]:
    """Every row of a CSV (or tab-separated) file, numbered from 1; none is ever dropped."""
    with text_lines(path, quote='"', windows_1252=True) as lines:
        reader = csv.reader(lines, delimiter=_delimiter(path, lines.encoding))
        windows_1252: list[int] = []
        try:
            yield from _records(reader, lines, windows_1252)
        finally:
            if windows_1252:
                warn(_windows_1252_warning(path, windows_1252))


def _records(
    reader: Iterator[list[str]], lines: TextLines, windows_1252: list[int], first: int = 1
) -> Iterator[Row]:
    """Rows from the reader, numbered from ``first``; a row it cannot give is a row with its
    error."""
    number = first - 1
    while True:
        try:
            cells, error = next(reader), None
        except StopIteration:
            return
        except (RowTooLong, csv.Error) as problem:
            cells, error = [], str(problem)
        if lines.unclosed_quote:
            cells, error = [], _unclosed_quote(lines.unclosed_quote)
        number += 1
        if lines.read_as_windows_1252:
            windows_1252.append(number)
        undecodable = lines.undecodable
        lines.next_record()
        yield Row(number, cells, error, undecodable)


def jsonl_rows(path: Path, start: int = 0, end: int | None = None, first: int = 1) -> Iterator[Row]:
    """Every line of a JSON Lines file as a row of one cell, numbered from 1; or the lines in
    bytes ``start`` to ``end`` (of a UTF-8 file), the first of them numbered ``first``."""
    with text_lines(path, quote=None, windows_1252=False, start=start, end=end) as lines:
        # map, not a generator expression: it goes on after RowTooLong, a generator would end
        yield from _records(map(_one_cell, lines), lines, [], first)


def _one_cell(line: str) -> list[str]:
    return [line]


def _delimiter(path: Path, encoding: Encoding) -> str:
    """The separator the first line holds most of: comma, tab or semicolon (comma if none)."""
    with open(path, "rb") as raw:
        head = raw.read(65_536).decode(encoding.codec, _ESCAPE)
    first = head.splitlines()[0] if head else ""
    counts = {separator: first.count(separator) for separator in ",\t;"}
    best = max(counts, key=counts.__getitem__)
    return best if counts[best] else ","


def _windows_1252_warning(path: Path, rows: Sequence[int]) -> str:
    listed = ", ".join(str(n) for n in rows[:10])
    more = f" and {len(rows) - 10:,} more" if len(rows) > 10 else ""
    return (
        f"{path}: row{'s' if len(rows) > 1 else ''} {listed}{more} "
        f"{'are' if len(rows) > 1 else 'is'} not UTF-8: read as Windows-1252 (what Excel's "
        "'CSV' writes on Windows); save the file as 'CSV UTF-8' to be sure of accented letters"
    )


# --- XLSX workbooks --------------------------------------------------------------------------

# What openpyxl and zipfile raise on a damaged workbook (found by fuzzing real workbooks):
# translated here into an error for the file.  Only calls into openpyxl are guarded.
_DAMAGED = (
    zipfile.BadZipFile,
    zlib.error,
    ParseError,
    EOFError,
    OSError,
    KeyError,
    TypeError,
    ValueError,
    IndexError,
    AttributeError,
    OverflowError,
    NotImplementedError,
)
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, and password-protected .xlsx
_XLSX_ROWS_PER_READ = 1024


def xlsx_rows(path: Path) -> Iterator[Row]:
    """Every row of the workbook's first worksheet, numbered as in Excel."""
    check_workbook(path)
    from openpyxl import load_workbook  # imported here: only XLSX input needs it

    with _openpyxl_quiet():
        try:
            workbook = load_workbook(path, read_only=True, data_only=True)
        except _DAMAGED as error:
            raise ProfileError(
                f"cannot be read as a workbook: {_reason(error)}", source=str(path)
            ) from None
    try:
        if not workbook.worksheets:
            raise ProfileError("the workbook has no worksheet", source=str(path))
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # a sheet's stated size may be false: read what it holds
        yield from _sheet_rows(path, sheet.iter_rows(values_only=True, max_row=EXCEL_MAX_ROWS))
    finally:
        workbook.close()


def _sheet_rows(path: Path, rows: Iterator[tuple]) -> Iterator[Row]:
    number = cells = 0
    while True:
        chunk, failure = _read_some(rows)
        for values in chunk:
            number += 1
            if not values:  # a row the sheet skips: blank (a hostile sheet may skip a million)
                continue
            cells += len(values)
            if cells > MAX_XLSX_CELLS:
                raise ProfileError(
                    f"stopped at row {number}: the sheet holds more than {MAX_XLSX_CELLS:,} "
                    "cells (rows x columns, up to the last column used); delete its unused "
                    "columns and rows",
                    source=str(path),
                )
            yield Row(number, values, _too_long(values))
        if failure is not None:
            raise ProfileError(
                f"stopped after row {number}: the workbook is damaged ({_reason(failure)})",
                source=str(path),
            )
        if not chunk:
            return


def _read_some(rows: Iterator[tuple]) -> tuple[list[tuple], BaseException | None]:
    """The next rows, and the error that stopped openpyxl, if one did."""
    chunk: list[tuple] = []
    with _openpyxl_quiet():
        try:
            for _ in range(_XLSX_ROWS_PER_READ):
                chunk.append(next(rows))
        except StopIteration:
            pass
        except _DAMAGED as error:
            return chunk, error
    return chunk, None


def _too_long(values: Sequence[object]) -> str | None:
    chars = sum(len(value) for value in values if isinstance(value, str))
    if chars <= MAX_ROW_CHARS:
        return None
    return f"longer than {MAX_ROW_CHARS:,} characters, the most a row may hold: not read"


@contextlib.contextmanager
def _openpyxl_quiet() -> Iterator[None]:
    """openpyxl warns of features it skips and prints to stdout on some damaged files; stdout
    may carry the summary, so both are kept quiet (an error is raised for real damage)."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


def _reason(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:200]


def check_workbook(path: Path) -> None:
    """Refuse a file that is no workbook, or whose zip would expand past the limits, before
    openpyxl reads it (its parts' sizes bound what zipfile will inflate)."""
    with open(path, "rb") as handle:
        directory = _zip_directory(handle)
        if directory is None:
            handle.seek(0)
            raise ProfileError(_not_a_workbook(handle.read(512)), source=str(path))
        members, size = directory
        if members > MAX_XLSX_MEMBERS or size > MAX_XLSX_MEMBERS * 1024:  # names are short
            raise ProfileError(
                f"not opened: its zip lists {members:,} parts in {size:,} bytes; a workbook may "
                f"have at most {MAX_XLSX_MEMBERS:,} parts",
                source=str(path),
            )
        handle.seek(0)
        try:
            with zipfile.ZipFile(handle) as archive:
                infos = archive.infolist()
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, OverflowError) as error:
            raise ProfileError(
                f"cannot be read as a workbook: {_reason(error)}", source=str(path)
            ) from None
    _check_parts(infos, path)


def _check_parts(infos: Sequence[zipfile.ZipInfo], path: Path) -> None:
    mib = 1024 * 1024
    total = 0
    for info in infos:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > XLSX_RATIO_FROM_BYTES and ratio > MAX_XLSX_RATIO:
            problem = f"its part {info.filename!r} expands {ratio:,.0f} times"
            raise _too_big(path, f"{problem}, more than {MAX_XLSX_RATIO} (a zip bomb?)")
        if info.file_size > MAX_XLSX_MEMBER_BYTES:
            problem = f"its part {info.filename!r} expands to {info.file_size / mib:,.0f} MiB"
            raise _too_big(path, f"{problem}, more than {MAX_XLSX_MEMBER_BYTES // mib:,} MiB")
        total += info.file_size
    if total > MAX_XLSX_TOTAL_BYTES:
        problem = f"it expands to {total / mib:,.0f} MiB"
        raise _too_big(path, f"{problem}, more than {MAX_XLSX_TOTAL_BYTES // mib:,} MiB")


def _too_big(path: Path, problem: str) -> ProfileError:
    return ProfileError(
        f"not opened: {problem}; save the round as CSV, or split it", source=str(path)
    )


def _zip_directory(handle) -> tuple[int, int] | None:
    """(parts, directory bytes) from a zip's end record, read before zipfile reads the
    directory itself; None if the file is not a zip."""
    handle.seek(0, os.SEEK_END)
    size = handle.tell()
    handle.seek(max(0, size - 22 - 0xFFFF))  # the end record, after at most a 64 KiB comment
    tail = handle.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        return None
    members, directory = struct.unpack_from("<HI", tail, at + 10)
    if members != 0xFFFF and directory != 0xFFFFFFFF:
        return members, directory
    locator = tail[max(0, at - 20) : at]  # a zip64 archive keeps the counts in another record
    if len(locator) < 20 or not locator.startswith(b"PK\x06\x07"):
        return None
    handle.seek(struct.unpack_from("<Q", locator, 8)[0])
    record = handle.read(56)
    if len(record) < 56 or not record.startswith(b"PK\x06\x06"):
        return None
    return struct.unpack_from("<QQ", record, 32)


def _not_a_workbook(head: bytes) -> str:
    if head.startswith(_OLE2):
        return (
            "is an old Excel workbook (.xls) or a password-protected one: open it in Excel "
            "and save it as 'Excel Workbook (.xlsx)' without a password"
        )
    if head and all(32 <= b < 127 or b in b"\t\r\n" for b in head):
        return "is a text file, not an XLSX workbook: if it is a CSV file, name it .csv"
    return "is not an XLSX workbook (not a zip file): save it from Excel as .xlsx, or as CSV"


# --- writing: the template and flattening ----------------------------------------------------


def template_header(model: type[BaseModel] | None = None) -> list[str]:
    """Every column a flat profile of ``model`` (the core profile's if None; a registry's
    ``profile_model()`` for its sections too) can have, with two items for each list of items."""
    fields = field_catalogue(model) if model is not None else profile_fields()
    return list(_headers(fields, None, ""))


def _headers(fields: Mapping[str, FieldInfo], in_list: str | None, prefix: str) -> Iterator[str]:
    for path, info in fields.items():
        if info.in_list != in_list:
            continue
        relative = path[len(in_list) + 1 :] if in_list else path
        if info.kind == "list" and info.item_kind == "object":
            for number in range(1, TEMPLATE_ITEMS + 1):
                yield from _headers(fields, path, f"{prefix}{relative}.{number}.")
        elif info.kind != "object":
            yield prefix + relative


def flatten(data: dict, prefix: str = "") -> dict[str, object]:
    """A profile as one flat row (the inverse of row_to_profile), e.g. for exporting a round."""
    row: dict[str, object] = {}
    for key, value in data.items():
        header = f"{prefix}{key}"
        if isinstance(value, dict):
            row |= flatten(value, f"{header}.")
        elif isinstance(value, list) and _is_list_of_items(_catalogue_path(header)):
            for number, item in enumerate(value, start=1):
                row |= flatten(item, f"{header}.{number}.")
            if not value:
                row[header] = "none"
        elif isinstance(value, list):
            row[header] = f"{LIST_SEPARATOR} ".join(map(str, value))
        else:
            row[header] = value
    return row


def _catalogue_path(header: str) -> str:
    """A header's field path without its item numbers."""
    return ".".join(part for part in header.split(".") if not part.isdigit())
