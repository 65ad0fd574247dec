"""Generators of the corpus's large or binary inputs, so the repository holds recipes, not files.

Each takes the case's parameters and returns the file's bytes.
"""

from __future__ import annotations

import json

import yaml


def deep_json_lines(depth: int, good_lines: int = 2) -> bytes:
    """A JSONL file: one line nested ``depth`` deep, then ``good_lines`` valid profiles."""
    deep = '{"name": "deep", "metadata": ' + "[" * depth + "]" * depth + "}"
    good = [json.dumps({"name": f"good {n}"}) for n in range(1, good_lines + 1)]
    return ("\n".join([deep, *good]) + "\n").encode()


def repeat(text: str, times: int, before: str = "", after: str = "") -> bytes:
    """``before``, then ``text`` repeated ``times`` times, then ``after`` (UTF-8)."""
    return (before + text * times + after).encode()


GENERATORS = {"deep_json_lines": deep_json_lines, "repeat": repeat}


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
    document = {"id": "hostile", "title": "t", "version": "1.0.0", "summary": "s"}
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
    document = {"id": "hostile", "title": "t", "version": "1.0.0", "summary": "s"}
    document["rules"] = [rule | texts for rule in rules]
    return yaml.safe_dump(document, width=1_000_000, sort_keys=False).encode()


GENERATORS["ruleset_with_rule"] = ruleset_with_rule
GENERATORS["ruleset_of_citing_rules"] = ruleset_of_citing_rules
