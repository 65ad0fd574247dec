"""Generators of the corpus's large or binary inputs, so the repository holds recipes, not files.

Each takes the case's parameters and returns the file's bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import yaml


def deep_json_lines(depth: int, good_lines: int = 2) -> bytes:
    """A JSONL file: one line nested ``depth`` deep, then ``good_lines`` valid profiles."""
    deep = '{"name": "deep", "metadata": ' + "[" * depth + "]" * depth + "}"
    good = [json.dumps({"name": f"good {n}"}) for n in range(1, good_lines + 1)]
    return ("\n".join([deep, *good]) + "\n").encode()


def repeat(text: str, times: int, before: str = "", after: str = "") -> bytes:
    """``before``, then ``text`` repeated ``times`` times, then ``after`` (UTF-8)."""
    return (before + text * times + after).encode()


GENERATORS: dict[str, Callable[..., bytes]] = {"deep_json_lines": deep_json_lines, "repeat": repeat}


def nested(depth: int, before: str = "", after: str = "", pair: str = "[]") -> bytes:
    """``before``, then ``depth`` opening brackets and as many closing ones, then ``after``."""
    return (before + pair[0] * depth + pair[1] * depth + after).encode()


def numbered(line: str, count: int, before: str = "", after: str = "") -> bytes:
    """``before``, then ``line`` once for each n from 0 to ``count`` - 1 (``{n}`` is n)."""
    return (before + "".join(line.format(n=n) for n in range(count)) + after).encode()


def repeated(unit: str, times: int, before: str = "", after: str = "") -> bytes:
    """``repeat`` for cases: its ``text`` parameter would be read as a ``text:`` recipe."""
    return repeat(unit, times, before, after)


GENERATORS.update({"nested": nested, "numbered": numbered, "repeated": repeated})


# --- batch input: rounds as CSV, JSONL and XLSX (issue 7, items 3, 4, 5 and 12) --------------

ROUND_HEADER = ["name", "organisation.yearly_income", "reach.sites", "model.delivery_model"]


def _round_rows(rows: int) -> list[list[object]]:
    """The header and ``rows`` simple valid applications with accented names (from row 2)."""
    models = ["volunteer_led", "staff_led", "digital", "blended"]
    return [
        [*ROUND_HEADER],
        *(
            [f"Café Ñandú {number}", 10_000 * number, number % 7 + 1, models[number % 4]]
            for number in range(2, rows + 2)
        ),
    ]


def round_csv(
    rows: int,
    encoding: str = "utf-8",
    delimiter: str = ",",
    latin1_row: int | None = None,
    long_cell_row: int | None = None,
    extra_cells_row: int | None = None,
    undecodable_row: int | None = None,
) -> bytes:
    """A round of ``rows`` applications as CSV in ``encoding``; each ``*_row`` (a spreadsheet
    row number, the header is row 1) spoils that row: one Latin-1 name in a UTF-8 file, a cell
    of 140,000 characters, two cells more than the header, or a byte (0x81) that no encoding
    here reads."""
    import csv
    import io

    lines = []
    for number, row in enumerate(_round_rows(rows), start=1):
        if number == long_cell_row:
            row = [f"{row[0]} {'x' * 140_000}", *row[1:]]
        if number == extra_cells_row:
            row = [*row, "stray", "cells"]
        text = io.StringIO()
        csv.writer(text, delimiter=delimiter, lineterminator="\r\n").writerow(row)
        line = text.getvalue().encode("latin-1" if number == latin1_row else encoding)
        if number == undecodable_row:
            line = line.replace(b"Caf", b"Caf\x81", 1)
        lines.append(line)
    if encoding == "utf-16":  # one byte-order mark, at the start of the file
        return lines[0] + b"".join(line.removeprefix(b"\xff\xfe") for line in lines[1:])
    return b"".join(lines)


def round_xlsx(rows: int) -> bytes:
    """A round of ``rows`` applications as an XLSX workbook."""
    import io

    from openpyxl import Workbook

    workbook = Workbook()  # not write_only: that leaves out the sheet's size, as Excel does not
    for row in _round_rows(rows):
        workbook.active.append(row)
    data = io.BytesIO()
    workbook.save(data)
    return data.getvalue()


def _rewritten_sheet(workbook: bytes, rewrite) -> bytes:
    """A workbook whose first sheet's XML is passed through ``rewrite`` (bytes to bytes)."""
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(workbook)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = rewrite(data)
            target.writestr(info.filename, data)
    return out.getvalue()


def damaged_xlsx(rows: int, damaged_row: int) -> bytes:
    """A workbook of ``rows`` applications whose sheet XML breaks at ``damaged_row``."""
    row = f'<row r="{damaged_row}"'.encode()
    return _rewritten_sheet(round_xlsx(rows), lambda xml: xml.replace(row, row + b"<<", 1))


def far_row_xlsx(rows: int, far_row: int = 1_048_576) -> bytes:
    """A workbook that claims every cell Excel has and holds a cell at its last row and
    column: read as it is, not as it claims (no million-row, 16,384-column walk)."""
    cell = f'<row r="{far_row}"><c r="XFD{far_row}" t="inlineStr"><is><t>far</t></is></c></row>'

    def rewrite(xml: bytes) -> bytes:
        xml = xml.replace(b"</sheetData>", cell.encode() + b"</sheetData>")
        return xml.replace(b"<sheetData>", b'<dimension ref="A1:XFD1048576"/><sheetData>', 1)

    return _rewritten_sheet(round_xlsx(rows), rewrite)


def xlsx_bomb(expanded_mib: int) -> bytes:
    """A real workbook whose sheet inflates to ``expanded_mib`` MiB of one letter in one cell
    (about 1,000 times its compressed size), as a zip bomb would."""
    import io
    import zipfile

    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(round_xlsx(1))) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            if info.filename != "xl/worksheets/sheet1.xml":
                target.writestr(info.filename, source.read(info.filename))
                continue
            with target.open(info.filename, "w", force_zip64=True) as stream:
                stream.write(b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/')
                stream.write(b'2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>')
                for _ in range(expanded_mib):
                    stream.write(b"A" * 1024 * 1024)
                stream.write(b"</t></is></c></row></sheetData></worksheet>")
    return out.getvalue()


def long_number_json_lines(digits: int, good_lines: int = 1) -> bytes:
    """A JSONL file: one profile with a number of ``digits`` digits, then ``good_lines`` valid
    ones.  (``repeat`` cannot make it: its parameter ``text`` is taken for a text file.)"""
    long = '{"name": "long number", "reach": {"sites": ' + "9" * digits + "}}"
    good = [json.dumps({"name": f"good {n}"}) for n in range(1, good_lines + 1)]
    return ("\n".join([long, *good]) + "\n").encode()


def zip_parts(count: int) -> bytes:
    """A zip of ``count`` empty parts: a directory to exhaust memory before any check."""
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for number in range(count):
            archive.writestr(f"p{number}", b"")
    return out.getvalue()


GENERATORS.update(
    round_csv=round_csv,
    round_xlsx=round_xlsx,
    damaged_xlsx=damaged_xlsx,
    far_row_xlsx=far_row_xlsx,
    xlsx_bomb=xlsx_bomb,
    long_number_json_lines=long_number_json_lines,
    zip_parts=zip_parts,
)


def ruleset_with_rule(
    condition: list, rule: dict | None = None, ruleset: dict | None = None
) -> bytes:
    """A ruleset of one rule ``hostile_rule`` whose condition is built from pieces.

    A piece is a text, or ``[text, times, separator]``: the text ``times`` times, joined by the
    separator, with ``{i}`` in it numbered 0, 1, ... (so the values of a long list differ).
    ``rule`` and ``ruleset`` add or replace keys of the rule and of the ruleset.
    """
    text = "".join(
        piece
        if isinstance(piece, str)
        else piece[2].join(piece[0].format(i=i) for i in range(piece[1]))
        for piece in condition
    )
    body = {"id": "hostile_rule", "title": "t", "level": 1, "condition": text}
    body |= {"pass": "p", "fail": "f", "advice": "a", **(rule or {})}
    document: dict[str, object] = {
        "id": "hostile",
        "title": "t",
        "version": "1.0.0",
        "summary": "s",
    }
    document |= {**(ruleset or {}), "rules": [body]}
    return yaml.safe_dump(document, width=1_000_000, sort_keys=False).encode()


def ruleset_of_citing_rules(count: int, condition: str) -> bytes:
    """A ruleset of ``count`` rules: ``rule_0`` reads a field, and each later rule's condition is
    ``condition`` with ``{previous}`` the rule before it and ``{i}`` its number."""
    rules = [{"id": "rule_0", "condition": "reach.sites > 1"}]
    rules += [
        {"id": f"rule_{i}", "condition": condition.format(previous=f"rule_{i - 1}", i=i)}
        for i in range(1, count)
    ]
    texts = {"title": "t", "level": 1, "pass": "p", "fail": "f", "advice": "a"}
    document: dict[str, object] = {
        "id": "hostile",
        "title": "t",
        "version": "1.0.0",
        "summary": "s",
    }
    document["rules"] = [rule | texts for rule in rules]
    return yaml.safe_dump(document, width=1_000_000, sort_keys=False).encode()


GENERATORS["ruleset_with_rule"] = ruleset_with_rule
GENERATORS["ruleset_of_citing_rules"] = ruleset_of_citing_rules


def synthetic_round(count: int, seed: int = 0) -> bytes:
    """A JSONL round of ``count`` seeded synthetic profiles (valid, with gaps)."""
    from scaleready.synthetic import synthetic_profiles  # the package under test, imported late

    return "".join(json.dumps(p) + "\n" for p in synthetic_profiles(count, seed=seed)).encode()


GENERATORS["synthetic_round"] = synthetic_round
