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


def synthetic_round(count: int, seed: int = 0) -> bytes:
    """A JSONL round of ``count`` seeded synthetic profiles (valid, with gaps)."""
    from scaleready.synthetic import synthetic_profiles  # the package under test, imported late

    return "".join(json.dumps(p) + "\n" for p in synthetic_profiles(count, seed=seed)).encode()


GENERATORS["synthetic_round"] = synthetic_round
