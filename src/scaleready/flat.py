"""Profiles as flat rows (CSV files, XLSX workbooks): one profile per row, one field per column.

Column headers are dotted field paths.  Lists of items number their items from 1
(``partnerships.1.partner``, ``partnerships.2.partner``,
``evidence.evaluations.1.outcomes.1.result``).  A list of texts is one cell with the texts
separated by ``;``.  An empty cell means "not answered"; a list of items answered "none" is
written in a column of its own (``contracts`` = none).  Yes/no cells take yes, no, true,
false, 1 or 0.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from scaleready.documents import nearest
from scaleready.errors import ProfileError
from scaleready.rules import profile_fields

LIST_SEPARATOR = ";"
TEMPLATE_ITEMS = 2  # items per list in the template's header row
_YES = {"yes", "y", "true", "1"}
_NO = {"no", "n", "false", "0"}


@dataclass(frozen=True)
class Column:
    """A header parsed into its place in a profile: keys, with item numbers for lists."""

    header: str
    steps: tuple[str | int, ...]  # e.g. ("partnerships", 0, "partner")
    kind: str  # the field's kind: number, string, boolean, list (of texts)


def parse_header(headers: list[str], source: str) -> list[Column | None]:
    """Check a header row; None marks blank columns, which are ignored."""
    return [_column(h.strip(), source) if h and h.strip() else None for h in headers]


def _column(header: str, source: str) -> Column:
    steps: list[str | int] = []
    path: list[str] = []
    for part in header.split("."):
        if part.isdigit() and path and _is_list_of_items(".".join(path)):
            if int(part) < 1:
                raise ProfileError(f"column {header!r}: items are numbered from 1", source=source)
            steps.append(int(part) - 1)
        else:
            steps.append(part)
            path.append(part)
    info = profile_fields().get(".".join(path))
    if info is None or info.kind == "object":
        raise ProfileError(_unknown_column(header, ".".join(path)), source=source)
    kind = "items" if _is_list_of_items(info.path) else info.kind
    return Column(header, tuple(steps), kind)


def _is_list_of_items(path: str) -> bool:
    info = profile_fields().get(path)
    return info is not None and info.kind == "list" and info.item_kind == "object"


def _unknown_column(header: str, path: str) -> str:
    fields = profile_fields().items()
    scalar_paths = [p for p, i in fields if i.kind != "object" and not _is_list_of_items(p)]
    hint = nearest(path, scalar_paths)
    template = "; see `scaleready profile template --format csv`"
    suggestion = f"; did you mean {hint!r}?" if hint else template
    return f"column {header!r} is not a profile field{suggestion}"


def row_to_profile(columns: list[Column | None], cells: list[object], source: str) -> dict:
    """The nested profile data of one row; cell problems name the row and column."""
    data: dict = {}
    for column, cell in zip(columns, cells, strict=False):
        if column is None or cell is None or (isinstance(cell, str) and not cell.strip()):
            continue
        _place(data, column.steps, _convert(cell, column, source))
    return _lists_from_numbered_items(data)


def _convert(cell: object, column: Column, source: str) -> object:
    try:
        return _CONVERTERS[column.kind](cell)
    except ValueError as error:
        raise ProfileError(f"column {column.header!r}: {cell!r} {error}", source=source) from None


def _number(cell: object) -> int | float:
    if isinstance(cell, bool):
        raise ValueError("is not a number")
    if isinstance(cell, str):
        try:
            cell = float(cell.strip().replace(",", "").lstrip("£"))
        except ValueError:
            raise ValueError("is not a number") from None
    if not isinstance(cell, int | float):
        raise ValueError("is not a number")
    return int(cell) if float(cell).is_integer() else cell


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


def _place(data: dict, steps: tuple[str | int, ...], value: object) -> None:
    """Set a value at its steps; list items are collected as {number: item} until the row ends."""
    node = data
    for step in steps[:-1]:
        node = node.setdefault(step, {})
    node[steps[-1]] = value


def _lists_from_numbered_items(node: object) -> object:
    if not isinstance(node, dict):
        return node  # a value, or [] for a list answered "none"
    if node and all(isinstance(key, int) for key in node):
        return [_lists_from_numbered_items(node[key]) for key in sorted(node)]
    return {key: _lists_from_numbered_items(value) for key, value in node.items()}


def csv_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells) of each data row; the header is row 1."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        yield from enumerate(csv.reader(handle), start=1)


def xlsx_rows(path: Path) -> Iterator[tuple[int, list[object]]]:
    """(row number, cells) of each row of the workbook's first sheet."""
    from openpyxl import load_workbook  # imported here: only XLSX input needs it

    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = workbook.worksheets[0]
        for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, list(cells)
    finally:
        workbook.close()


def template_header() -> list[str]:
    """Every column a flat profile can have, with two items for each list of items."""
    return list(_headers(None, ""))


def _headers(in_list: str | None, prefix: str) -> Iterator[str]:
    for path, info in profile_fields().items():
        if info.in_list != in_list:
            continue
        relative = path[len(in_list) + 1 :] if in_list else path
        if _is_list_of_items(path):
            for number in range(1, TEMPLATE_ITEMS + 1):
                yield from _headers(path, f"{prefix}{relative}.{number}.")
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
