"""Generators of the corpus's large or binary inputs, so the repository holds recipes, not files.

Each takes the case's parameters and returns the file's bytes.
"""

from __future__ import annotations

import json


def deep_json_lines(depth: int, good_lines: int = 2) -> bytes:
    """A JSONL file: one line nested ``depth`` deep, then ``good_lines`` valid profiles."""
    deep = '{"name": "deep", "metadata": ' + "[" * depth + "]" * depth + "}"
    good = [json.dumps({"name": f"good {n}"}) for n in range(1, good_lines + 1)]
    return ("\n".join([deep, *good]) + "\n").encode()


def repeat(text: str, times: int, before: str = "", after: str = "") -> bytes:
    """``before``, then ``text`` repeated ``times`` times, then ``after`` (UTF-8)."""
    return (before + text * times + after).encode()


GENERATORS = {"deep_json_lines": deep_json_lines, "repeat": repeat}


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
