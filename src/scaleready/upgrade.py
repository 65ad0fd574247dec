"""Rewrite a version-1 profile as version 2, keeping its comments, order and layout.

PyYAML cannot write comments back, so a YAML profile is not re-dumped: the values that change
are edited in its text, where the parser says each one is.  A JSON profile has no comments and
is written again whole.  What version 1 leaves open (which kind of survey ``user_feedback``
was, whether a ``comparison_group`` was matched) is asked for, never guessed.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from scaleready.documents import load_document
from scaleready.errors import ProfileError
from scaleready.profile import (
    SCHEMA_VERSION,
    V1_DESIGNS,
    V1_SAMPLE_SIZE,
    V2_SAMPLE_SIZE,
    profile_from_data,
    read_version_1,
    version_of,
)

__all__ = ["QUESTIONS", "Question", "Upgraded", "upgrade_file", "upgrade_text"]


@dataclass(frozen=True)
class Question:
    """A version-1 design with two version-2 meanings, and the answers that settle it."""

    design: str  # the version-1 value, e.g. 'user_feedback'
    option: str  # the command-line option that answers it for every study
    text: str
    choices: dict[str, str]  # answer -> version-2 design


QUESTIONS = {
    "user_feedback": Question(
        "user_feedback",
        "--user-feedback",
        "was it a one-off survey after the activity, or repeated surveys at intervals?",
        {"one-off": "one_off_survey", "repeated": "repeated_surveys"},
    ),
    "comparison_group": Question(
        "comparison_group",
        "--comparison-group",
        "was the comparison group matched (or otherwise justified, e.g. by "
        "difference-in-differences), or unmatched?",
        {"matched": "quasi_experimental", "unmatched": "unmatched_comparison"},
    ),
}

# Answers a question about one study: (question, where, e.g. "evidence.evaluations.2") -> answer.
Ask = Callable[[Question, str], str]


@dataclass
class Upgraded:
    """A profile's version-2 text and what changed, one line per change."""

    text: str
    changes: list[str] = field(default_factory=list)


def upgrade_file(path: Path, ask: Ask) -> Upgraded:
    """Rewrite the profile at ``path`` as version 2 (in place); ProfileError if it cannot be."""
    document = load_document(path, ProfileError)  # the limits and checks of every profile read
    text = document.raw.decode("utf-8-sig")
    if version_of(document.data) == SCHEMA_VERSION:
        return Upgraded(text, [])
    try:
        upgraded = upgrade_text(text, ask, is_json=path.suffix.lower() == ".json")
    except ProfileError as error:
        raise ProfileError(error.message, source=str(path), problems=error.problems) from None
    profile_from_data(_parsed(upgraded.text, path), str(path))  # never write a profile that fails
    _write(path, upgraded.text)
    return upgraded


def upgrade_text(text: str, ask: Ask, is_json: bool = False) -> Upgraded:
    """A version-1 profile's text as version 2; ``is_json`` for a JSON profile."""
    return _upgrade_json(text, ask) if is_json else _upgrade_yaml(text, ask)


# --- YAML: edits in the text --------------------------------------------------------------------


@dataclass(frozen=True)
class _Edit:
    start: int
    end: int
    text: str


def _upgrade_yaml(text: str, ask: Ask) -> Upgraded:
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if not isinstance(root, yaml.MappingNode) or not root.value:
        raise ProfileError("top level: expected a mapping of fields")
    changes: list[str] = []
    edits = [_version_edit(root), *_estimate_edits(root, changes)]
    for number, study in _studies(root):
        edits += _study_edits(text, study, f"evidence.evaluations.{number}", ask, changes)
    for edit in sorted(edits, key=lambda e: e.start, reverse=True):
        text = text[: edit.start] + edit.text + text[edit.end :]
    return Upgraded(text, [f'schema_version: "{SCHEMA_VERSION}"', *changes])


def _version_edit(root: yaml.MappingNode) -> _Edit:
    existing = _value(root, "schema_version")
    if existing is not None:
        return _Edit(existing.start_mark.index, existing.end_mark.index, f'"{SCHEMA_VERSION}"')
    first = root.value[0][0].start_mark
    after = ", " if root.flow_style else "\n" + " " * first.column
    return _Edit(first.index, first.index, f'schema_version: "{SCHEMA_VERSION}"{after}')


def _estimate_edits(root: yaml.MappingNode, changes: list[str]) -> list[_Edit]:
    estimates = _value(root, "estimates")
    if not isinstance(estimates, yaml.SequenceNode):
        return []
    old = [n for n in estimates.value if getattr(n, "value", None) == V1_SAMPLE_SIZE]
    changes += [f"estimates: {V1_SAMPLE_SIZE} -> {V2_SAMPLE_SIZE}"] if old else []
    return [_Edit(n.start_mark.index, n.end_mark.index, V2_SAMPLE_SIZE) for n in old]


def _studies(root: yaml.MappingNode) -> Iterator[tuple[int, yaml.MappingNode]]:
    evidence = _value(root, "evidence")
    studies = _value(evidence, "evaluations") if isinstance(evidence, yaml.MappingNode) else None
    if isinstance(studies, yaml.SequenceNode):
        for number, study in enumerate(studies.value, 1):
            if isinstance(study, yaml.MappingNode):
                yield number, study


def _value(mapping: yaml.MappingNode, key: str) -> yaml.Node | None:
    return next((v for k, v in mapping.value if getattr(k, "value", None) == key), None)


def _key(mapping: yaml.MappingNode, key: str) -> yaml.Node | None:
    return next((k for k, _ in mapping.value if getattr(k, "value", None) == key), None)


def _study_edits(
    text: str, study: yaml.MappingNode, where: str, ask: Ask, changes: list[str]
) -> list[_Edit]:
    edits = _sample_edits(study, where, changes)
    design = _value(study, "design")
    if not isinstance(design, yaml.ScalarNode) or design.tag != "tag:yaml.org,2002:str":
        return edits
    new, method = _new_design(design.value, where, ask)
    if new is None:
        return edits
    edits.append(_Edit(design.start_mark.index, design.end_mark.index, new))
    changes.append(f"{where}.design: {design.value} -> {new}")
    if method and _value(study, "method") is None:
        edits.append(_insert_after(text, study, design, f"method: {method}"))
        changes.append(f"{where}.method: {method}")
    return edits


def _new_design(design: str, where: str, ask: Ask) -> tuple[str | None, str | None]:
    if design in V1_DESIGNS:
        return V1_DESIGNS[design]
    question = QUESTIONS.get(design)
    if question is None:
        return None, None
    return question.choices[ask(question, where)], None


def _sample_edits(study: yaml.MappingNode, where: str, changes: list[str]) -> list[_Edit]:
    key, value = _key(study, "sample_size"), _value(study, "sample_size")
    if key is None or value is None or _key(study, "sample") is not None:
        return []
    changes.append(f"{where}.sample_size -> {where}.sample.individuals")
    return [
        _Edit(key.start_mark.index, key.end_mark.index, "sample"),
        _Edit(value.start_mark.index, value.start_mark.index, "{individuals: "),
        _Edit(value.end_mark.index, value.end_mark.index, "}"),
    ]


def _insert_after(text: str, study: yaml.MappingNode, value: yaml.Node, line: str) -> _Edit:
    """A new key after ``value``: in a flow mapping after a comma, else on the next line."""
    if study.flow_style:
        return _Edit(value.end_mark.index, value.end_mark.index, f", {line}")
    key = _key(study, "design")
    indent = " " * (key.start_mark.column if key is not None else 0)
    end = text.find("\n", value.end_mark.index)
    if end < 0:
        return _Edit(len(text), len(text), f"\n{indent}{line}\n")
    return _Edit(end + 1, end + 1, f"{indent}{line}\n")


# --- JSON: written again whole ------------------------------------------------------------------


def _upgrade_json(text: str, ask: Ask) -> Upgraded:
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ProfileError("top level: expected a mapping of fields")
    upgraded, _ = read_version_1(data)
    changes = [f'schema_version: "{SCHEMA_VERSION}"']
    for number, (old, new) in enumerate(_study_pairs(data, upgraded), 1):
        where = f"evidence.evaluations.{number}"
        question = QUESTIONS.get(str(old.get("design")))
        if question is not None:
            new["design"] = question.choices[ask(question, where)]
        if new != old:
            changes.append(f"{where}: {_describe(old)} -> {_describe(new)}")
    ordered = {"name": upgraded.pop("name", None), "schema_version": SCHEMA_VERSION, **upgraded}
    return Upgraded(json.dumps(ordered, indent=2, ensure_ascii=False) + "\n", changes)


def _study_pairs(old: dict[str, Any], new: dict[str, Any]) -> Iterator[tuple[dict, dict]]:
    before, after = _items(old), _items(new)
    if len(before) == len(after):  # read_version_1 maps the studies one to one, or not at all
        yield from ((a, b) for a, b in zip(before, after, strict=True) if isinstance(a, dict))


def _items(data: dict[str, Any]) -> list[Any]:
    evidence = data.get("evidence")
    studies = evidence.get("evaluations") if isinstance(evidence, dict) else None
    return studies if isinstance(studies, list) else []


def _describe(study: dict[str, Any]) -> str:
    keys = ("design", "method", "sample_size", "sample")
    return ", ".join(f"{key}: {study[key]}" for key in keys if key in study) or "no design"


# --- reading back and writing -------------------------------------------------------------------


def _parsed(text: str, path: Path) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:  # a bug in the edits above: never write such a file
        raise ProfileError(
            f"the upgraded text does not parse ({error}); not written", source=str(path)
        ) from None


def _write(path: Path, text: str) -> None:
    """Replace the file at once, so that an interrupted upgrade leaves the old one whole."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        os.chmod(temporary, path.stat().st_mode & 0o7777)  # mkstemp makes it private
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
