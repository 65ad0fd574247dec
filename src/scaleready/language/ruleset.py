"""Rulesets: the YAML format, its loader, and the checks that run when a ruleset loads."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from scaleready.documents import Document, load_document
from scaleready.errors import Problem, RulesetError
from scaleready.language.nodes import Cond, ConditionError, Derived, RuleRef, walk
from scaleready.language.nodes import Field as FieldNode
from scaleready.language.parser import Vocabulary, parse_condition
from scaleready.language.size import CompiledSize, compiled_size, oversize
from scaleready.language.words import unparse
from scaleready.outcome import MAX_LEVEL, MIN_RULE_LEVEL
from scaleready.problems import (
    did_you_mean,
    field_path,
    join_problems,
    structured_problems,
    validation_problem_list,
)
from scaleready.profile import FieldInfo, profile_fields

Identifier = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
SemanticVersion = Annotated[str, StringConstraints(pattern=r"^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$")]
Level = Annotated[int, Field(ge=MIN_RULE_LEVEL, le=MAX_LEVEL)]
# Weights are relative: this range covers any useful ratio and keeps sums of weights finite.
MIN_WEIGHT = 0.001
MAX_WEIGHT = 1000
EXCERPT_LENGTH = 120  # characters of a long condition quoted in an error message


def _weight(default: float, description: str):
    return Field(
        default, ge=MIN_WEIGHT, le=MAX_WEIGHT, allow_inf_nan=False, description=description
    )


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Reference(_Strict):
    """A source a ruleset stands on."""

    id: Identifier = Field(description="Short name rules use to cite this source.")
    title: str = Field(description="Author, year and title, as a funder would cite it.")
    url: str | None = Field(None, description="Where to read it.")
    note: str | None = Field(None, description="What the ruleset takes from it.")


class RuleSpec(_Strict):
    """One rule as written in a ruleset file."""

    id: Identifier = Field(description="Unique within the ruleset; lower_snake_case.")
    title: str = Field(description="What the rule checks, in a few words.")
    level: Level = Field(description="The readiness level (1-5) this rule belongs to.")
    weight: float = _weight(1.0, "Weight of the rule in the dimension's score.")
    applies_when: str | None = Field(
        None, description="Condition; when false the rule is not applicable (not counted)."
    )
    condition: str = Field(description="Condition that passes the rule.")
    pass_text: str = Field(
        alias="pass", description="What passing means, for funder and innovator."
    )
    fail_text: str = Field(alias="fail", description="What failing means.")
    advice: str = Field(description="What the innovator can do to pass it.")
    references: tuple[Identifier, ...] = Field((), description="Ids of the ruleset's references.")


class RulesetSpec(_Strict):
    """A ruleset file: one dimension of scale readiness."""

    id: Identifier = Field(description="Unique id of the ruleset (the dimension).")
    title: str = Field(description="Name of the dimension, e.g. 'Evidence of impact'.")
    version: SemanticVersion = Field(
        description="Semantic version; change it when rules change.", examples=["0.1.0"]
    )
    summary: str = Field(description="What the dimension judges, in a sentence or two.")
    weight: float = _weight(1.0, "Weight of this dimension in the overall score.")
    levels: dict[Level, str] = Field(
        default_factory=dict, description="What reaching each level 1-5 means, in one sentence."
    )
    references: tuple[Reference, ...] = Field((), description="Sources the rules cite.")
    rules: tuple[RuleSpec, ...] = Field(min_length=1, description="The rules.")


@dataclass(frozen=True)
class Rule:
    """A checked rule with its parsed condition and what it depends on."""

    spec: RuleSpec
    condition: Cond
    applies: Cond | None
    fields: tuple[str, ...]  # profile field paths the rule reads, for data gaps
    derived: tuple[str, ...]  # derived facts it reads
    depends_on: tuple[str, ...]  # rules whose outcome it reads
    citations: tuple[str, ...] = ()  # its references as a scorecard shows them: title and address
    size: CompiledSize | None = None  # its size once compiled for durable_rules, cited rules in

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def level(self) -> int:
        return self.spec.level


@dataclass(frozen=True)
class Ruleset:
    """A checked ruleset: rules in file order, and in an order where each follows those it cites."""

    spec: RulesetSpec
    rules: tuple[Rule, ...]
    evaluation_order: tuple[Rule, ...]
    source: str
    sha256: str

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def version(self) -> str:
        return self.spec.version

    def rule(self, rule_id: str) -> Rule:
        return next(rule for rule in self.rules if rule.id == rule_id)


def load_ruleset(
    path: Path,
    derived: Mapping[str, str] | None = None,
    fields: Mapping[str, FieldInfo] | None = None,
) -> Ruleset:
    """Load and check a ruleset file; ``derived`` maps registered derived-fact names to kinds,
    ``fields`` is the profile's field catalogue with the plugins' sections (the core's if None)."""
    document = load_document(Path(path), RulesetError)
    return build_ruleset(document, derived or {}, fields)


def build_ruleset(
    document: Document,
    derived: Mapping[str, str],
    fields: Mapping[str, FieldInfo] | None = None,
) -> Ruleset:
    """Check a parsed ruleset document and compile its conditions; ``fields`` are the profile's
    (with installed plugins' sections), the core profile's if not given.

    Every problem of the file is reported at once, each with its line: the format, and the
    references and conditions of every rule that is well formed, even when others are not.
    """
    problems = _Problems(document)
    spec = _validate_spec(document, problems)
    rule_specs = list(enumerate(spec.rules)) if spec else _well_formed_rules(document)
    reference_ids = {r.id for r in spec.references} if spec else _raw_ids(document, "references")
    rule_ids = {rule.id for _, rule in rule_specs} | _raw_ids(document, "rules")
    _check_unique_ids(rule_specs, problems)
    _check_reference_ids(rule_specs, reference_ids, problems)
    known = profile_fields() if fields is None else fields
    vocabulary = Vocabulary(known, dict(derived), frozenset(rule_ids))
    compiled = [_compile_rule(i, rule, vocabulary, problems) for i, rule in rule_specs]
    if spec is None:
        checked = {index for index, _ in rule_specs}
        _check_malformed_conditions(document, checked, vocabulary, problems)
    problems.raise_any()
    assert spec is not None  # a spec that did not validate left problems, raised above
    by_id = {reference.id: reference for reference in spec.references}
    rules = [
        replace(rule, citations=tuple(_citation(by_id[ref]) for ref in rule.spec.references))
        for rule in compiled
        if rule is not None
    ]
    ordered = _order_by_dependencies(rules, document)
    sizes = _measure(ordered, spec, document)
    measured = {rule.id: replace(rule, size=sizes[rule.id]) for rule in rules}
    digest = hashlib.sha256(document.raw).hexdigest()
    return Ruleset(
        spec,
        tuple(measured[rule.id] for rule in rules),
        tuple(measured[rule.id] for rule in ordered),
        str(document.path),
        digest,
    )


class _Problems:
    """The problems found in one ruleset file, each with its line, raised together."""

    def __init__(self, document: Document) -> None:
        self.document = document
        self.found: list[tuple[int | None, str]] = []
        self.structured: list[Problem] = []  # the same, with their field paths: error.problems
        self.format_problems = False  # reported as "line N: ..." like every document's

    def add(self, location: tuple, message: str) -> None:
        line = self.document.line_of(location)
        self.found.append((line, message))
        self.structured.append(Problem(field_path(location), message, line))

    def raise_any(self) -> None:
        """A RulesetError naming every problem in line order, if there are any."""
        if not self.found:
            return
        path = str(self.document.path)
        problems = sorted(self.structured, key=lambda p: (p.line is None, p.line or 0))
        if len(self.found) == 1 and not self.format_problems:  # as a condition's error reads
            line, message = self.found[0]
            source = f"{path}:{line}" if line else path
            raise RulesetError(message, source=source, problems=problems)
        ordered = sorted(self.found, key=lambda pair: (pair[0] is None, pair[0] or 0))
        lines = [(f"line {line}: " if line else "") + message for line, message in ordered]
        raise RulesetError(join_problems(lines), source=path, problems=problems)


def _validate_spec(document: Document, problems: _Problems) -> RulesetSpec | None:
    """The file as a RulesetSpec, or None with each of its format problems recorded."""
    from pydantic import ValidationError

    owner = lambda location: _rule_id_at(location, document)  # noqa: E731
    try:
        return RulesetSpec.model_validate(document.data)
    except ValidationError as error:
        for line, message in validation_problem_list(error, RulesetSpec, document, owner):
            problems.found.append((line, message))
        problems.structured += structured_problems(error, RulesetSpec, document)
        problems.format_problems = True
        return None


def _well_formed_rules(document: Document) -> list[tuple[int, RuleSpec]]:
    """The rules of a file that did not validate as a whole that are well formed themselves,
    with their places, so their references and conditions can be checked too."""
    from pydantic import ValidationError

    raw = document.data.get("rules") if isinstance(document.data, Mapping) else None
    found = []
    for index, item in enumerate(raw if isinstance(raw, list) else []):
        try:
            found.append((index, RuleSpec.model_validate(item)))
        except ValidationError:
            continue  # its problems are recorded already
    return found


def _check_malformed_conditions(
    document: Document, checked: set[int], vocabulary: Vocabulary, problems: _Problems
) -> None:
    """The conditions of rules that are not well formed, checked all the same."""
    raw = document.data.get("rules") if isinstance(document.data, Mapping) else None
    for index, item in enumerate(raw if isinstance(raw, list) else []):
        if index in checked or not isinstance(item, Mapping):
            continue
        for key in ("condition", "applies_when"):
            text = item.get(key)
            if not isinstance(text, str):
                continue
            try:
                parse_condition(text, vocabulary)
            except ConditionError as error:
                message = f"rule {item.get('id', index)!r}: {key} {_excerpt(text)}: {error}"
                problems.add(("rules", index, key), message)


def _raw_ids(document: Document, key: str) -> set[str]:
    """The ids written under a list key of a file, however malformed the rest."""
    raw = document.data.get(key) if isinstance(document.data, Mapping) else None
    items = raw if isinstance(raw, list) else []
    return {
        item["id"]
        for item in items
        if isinstance(item, Mapping) and isinstance(item.get("id"), str)
    }


def _rule_id_at(location: tuple, document: Document) -> str:
    if len(location) >= 2 and location[0] == "rules" and isinstance(location[1], int):
        rules = document.data.get("rules") or []
        if location[1] < len(rules) and isinstance(rules[location[1]], Mapping):
            return f"rule {rules[location[1]].get('id', location[1])!r}: "
    return ""


def _fail(document: Document, location: tuple, message: str) -> RulesetError:
    line = document.line_of(location)
    source = f"{document.path}:{line}" if line else str(document.path)
    return RulesetError(
        message, source=source, problems=[Problem(field_path(location), message, line)]
    )


def _check_unique_ids(rules: list[tuple[int, RuleSpec]], problems: _Problems) -> None:
    seen: set[str] = set()
    for index, rule in rules:
        if rule.id in seen:
            problems.add(("rules", index, "id"), f"rule {rule.id!r}: the id is used twice")
        seen.add(rule.id)


def _check_reference_ids(
    rules: list[tuple[int, RuleSpec]], known: set[str], problems: _Problems
) -> None:
    for index, rule in rules:
        for cited in rule.references:
            if cited not in known:
                hint = did_you_mean(cited, known, otherwise="add it under references")
                message = f"rule {rule.id!r}: cites unknown reference {cited!r}; {hint}"
                problems.add(("rules", index, "references"), message)


def _citation(reference: Reference) -> str:
    return f"{reference.title} {reference.url}" if reference.url else reference.title


def _compile_rule(
    index: int, spec: RuleSpec, vocabulary: Vocabulary, problems: _Problems
) -> Rule | None:
    """The rule with its conditions parsed, or None with their problems recorded."""
    condition = _parse(spec, "condition", spec.condition, vocabulary, problems, index)
    applies = None
    if spec.applies_when is not None:
        applies = _parse(spec, "applies_when", spec.applies_when, vocabulary, problems, index)
        if applies is None:
            return None
    if condition is None:
        return None
    nodes = [node for tree in (condition, applies) if tree is not None for node in walk(tree)]
    depends_on = sorted({node.rule for node in nodes if isinstance(node, RuleRef)})
    if spec.id in depends_on:
        problems.add(("rules", index, "condition"), f"rule {spec.id!r}: refers to itself")
        return None
    return Rule(
        spec=spec,
        condition=condition,
        applies=applies,
        fields=tuple(sorted({node.path for node in nodes if isinstance(node, FieldNode)})),
        derived=tuple(sorted({node.name for node in nodes if isinstance(node, Derived)})),
        depends_on=tuple(depends_on),
    )


def _parse(
    spec: RuleSpec, key: str, text: str, vocabulary: Vocabulary, problems: _Problems, index: int
) -> Cond | None:
    try:
        return parse_condition(text, vocabulary)
    except ConditionError as error:
        problems.add(("rules", index, key), f"rule {spec.id!r}: {key} {_excerpt(text)}: {error}")
        return None


def _excerpt(text: str) -> str:
    """The text quoted for a message; a long one is cut, saying how long it is."""
    if len(text) <= EXCERPT_LENGTH:
        return repr(text)
    return f"{text[:EXCERPT_LENGTH]!r}... ({len(text):,} characters)"


def _measure(ordered: list[Rule], spec: RulesetSpec, document: Document) -> dict[str, CompiledSize]:
    """Each rule's compiled size, cited rules first; a rule past a bound is an error."""
    sizes: dict[str, CompiledSize] = {}
    index_of = {rule.id: index for index, rule in enumerate(spec.rules)}
    for rule in ordered:
        size = compiled_size(rule.condition, rule.applies, sizes.__getitem__)
        problem = oversize(size)
        if problem is not None:
            key, reason = problem
            text = rule.spec.condition if key == "condition" else rule.spec.applies_when
            assert text is not None  # oversize blames applies_when only in a rule that has one
            message = f"rule {rule.id!r}: {key} {_excerpt(text)}: {reason}"
            raise _fail(document, ("rules", index_of[rule.id], key), message)
        sizes[rule.id] = size
    return sizes


def _order_by_dependencies(rules: list[Rule], document: Document) -> list[Rule]:
    """Order rules so each follows the rules it reads; a cycle is an error naming its rules."""
    by_id = {rule.id: rule for rule in rules}
    ordered: list[Rule] = []
    state: dict[str, str] = {}

    def visit(rule: Rule, path: list[str]) -> None:
        if state.get(rule.id) == "done":
            return
        if state.get(rule.id) == "visiting":
            cycle = " -> ".join([*path[path.index(rule.id) :], rule.id])
            index = rules.index(rule)
            raise _fail(
                document,
                ("rules", index, "condition"),
                f"rules refer to each other in a cycle: {cycle}",
            )
        state[rule.id] = "visiting"
        for dependency in rule.depends_on:
            visit(by_id[dependency], [*path, rule.id])
        state[rule.id] = "done"
        ordered.append(rule)

    for rule in rules:
        visit(rule, [])
    return ordered


def condition_text(rule: Rule) -> str:
    """The rule's condition in canonical form."""
    return unparse(rule.condition)
