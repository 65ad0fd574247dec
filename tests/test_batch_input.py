"""Reading a grant round: every row or line is a profile or a named error, whatever the file.

Issue 7, item 3 (one bad item never costs the round).  Files are real; the CLI is the installed one.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from scaleready.batch import _parse_json_line
from scaleready.errors import InputError
from tests.conftest import run_scaleready, write


def summary_rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


# --- item 3: one bad item never costs the round -----------------------------------------------


def test_a_jsonl_line_nested_5000_deep_is_that_lines_error_and_the_rest_are_assessed(tmp_path):
    deep = '{"name": "deep", "reach": ' + "[" * 5000 + "]" * 5000 + "}"
    good = [json.dumps({"name": f"good {n}"}) for n in (1, 2)]
    path = write(tmp_path / "round.jsonl", "\n".join([good[0], deep, good[1]]) + "\n")
    result = run_scaleready("batch", path, "--summary", tmp_path / "s.csv")
    assert result.returncode == 3, result.stderr
    assert f"{path}:line 2: nested too deeply" in result.stderr
    assert "assessed 2 of 3 profiles" in result.stderr
    assert [row["name"] for row in summary_rows(tmp_path / "s.csv")] == ["good 1", "", "good 2"]


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
