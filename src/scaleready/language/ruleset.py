"""Rulesets: the YAML format, its loader, and the checks that run when a ruleset loads."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from scaleready.documents import Document, load_document
from scaleready.errors import RulesetError
from scaleready.language.nodes import Cond, ConditionError, Derived, RuleRef, walk
from scaleready.language.nodes import Field as FieldNode
from scaleready.language.parser import Vocabulary, parse_condition
from scaleready.language.size import CompiledSize, compiled_size, oversize
from scaleready.language.words import unparse
from scaleready.outcome import MAX_LEVEL, MIN_RULE_LEVEL
from scaleready.problems import did_you_mean, validated
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
    version: SemanticVersion = Field(description="Semantic version; change it when rules change.")
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
    """Check a parsed ruleset document and compile its conditions."""
    spec = _validate_spec(document)
    _check_unique_ids(spec, document)
    _check_reference_ids(spec, document)
    rule_ids = frozenset(r.id for r in spec.rules)
    vocabulary = Vocabulary(profile_fields() if fields is None else fields, dict(derived), rule_ids)
    by_id = {reference.id: reference for reference in spec.references}
    rules = [
        _compile_rule(index, rule, vocabulary, document, [by_id[ref] for ref in rule.references])
        for index, rule in enumerate(spec.rules)
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


def _validate_spec(document: Document) -> RulesetSpec:
    owner = lambda location: _rule_id_at(location, document)  # noqa: E731
    return validated(RulesetSpec, document.data, RulesetError, str(document.path), document, owner)


def _rule_id_at(location: tuple, document: Document) -> str:
    if len(location) >= 2 and location[0] == "rules" and isinstance(location[1], int):
        rules = document.data.get("rules") or []
        if location[1] < len(rules) and isinstance(rules[location[1]], Mapping):
            return f"rule {rules[location[1]].get('id', location[1])!r}: "
    return ""


def _fail(document: Document, location: tuple, message: str) -> RulesetError:
    line = document.line_of(location)
    source = f"{document.path}:{line}" if line else str(document.path)
    return RulesetError(message, source=source)


def _check_unique_ids(spec: RulesetSpec, document: Document) -> None:
    seen: set[str] = set()
    for index, rule in enumerate(spec.rules):
        if rule.id in seen:
            raise _fail(document, ("rules", index, "id"), f"rule {rule.id!r}: the id is used twice")
        seen.add(rule.id)


def _check_reference_ids(spec: RulesetSpec, document: Document) -> None:
    known = {reference.id for reference in spec.references}
    for index, rule in enumerate(spec.rules):
        for cited in rule.references:
            if cited not in known:
                hint = did_you_mean(cited, known, otherwise="add it under references")
                message = f"rule {rule.id!r}: cites unknown reference {cited!r}; {hint}"
                raise _fail(document, ("rules", index, "references"), message)


def _citation(reference: Reference) -> str:
    return f"{reference.title} {reference.url}" if reference.url else reference.title


def _compile_rule(
    index: int, spec: RuleSpec, vocabulary: Vocabulary, document: Document, references: list
) -> Rule:
    condition = _parse(spec, "condition", spec.condition, vocabulary, document, index)
    applies = None
    if spec.applies_when is not None:
        applies = _parse(spec, "applies_when", spec.applies_when, vocabulary, document, index)
    nodes = [node for tree in (condition, applies) if tree is not None for node in walk(tree)]
    depends_on = sorted({node.rule for node in nodes if isinstance(node, RuleRef)})
    if spec.id in depends_on:
        raise _fail(document, ("rules", index, "condition"), f"rule {spec.id!r}: refers to itself")
    return Rule(
        spec=spec,
        condition=condition,
        applies=applies,
        fields=tuple(sorted({node.path for node in nodes if isinstance(node, FieldNode)})),
        derived=tuple(sorted({node.name for node in nodes if isinstance(node, Derived)})),
        depends_on=tuple(depends_on),
        citations=tuple(_citation(reference) for reference in references),
    )


def _parse(
    spec: RuleSpec, key: str, text: str, vocabulary: Vocabulary, document: Document, index: int
) -> Cond:
    try:
        return parse_condition(text, vocabulary)
    except ConditionError as error:
        message = f"rule {spec.id!r}: {key} {_excerpt(text)}: {error}"
        raise _fail(document, ("rules", index, key), message) from None


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
