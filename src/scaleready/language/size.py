"""A rule's size once compiled for durable_rules, and the bounds it must stay within."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import assert_never

from scaleready.language.nodes import (
    And,
    Compare,
    Cond,
    Const,
    Missing,
    Node,
    Not,
    OneOf,
    Or,
    Quantified,
    RuleRef,
    children,
)
from scaleready.outcome import Outcome

# A rule's outcomes once compiled for durable_rules (see CompiledSize); measured walls in docs
# (docs/conditions.md, "Limits"):
MAX_ALTERNATIVES = 32  # ways through one outcome's network; its C core walks 64 at most at once
MAX_GROUPS = 12  # and/or groups in one outcome; the C core fails (error 113) past 15
MAX_TESTS = 256  # tests in one outcome, counting the rules it cites
MAX_DEPTH = 64  # levels of the condition tree, counting the rules it cites


@dataclass(frozen=True)
class Shape:
    """The size of a condition compiled as durable_rules JSON (mirrors language.durable).

    The compiler pushes negation down to the tests (Kleene logic), flattens nested groups of the
    same kind, and inlines the conditions of the rules a condition cites, so a short text can
    compile into a large network.  ``paths`` counts the ways through it: durable_rules fires a
    rule once per way that matches, and keeps every matching branch on a stack of 64.
    """

    kind: str  # "test", "and" or "or"
    elements: int  # parts of the group after flattening; 1 for a test
    tests: int
    paths: int
    groups: int


TEST = Shape("test", 1, 1, 1, 0)


def _group(kind: str, parts: list[Shape]) -> Shape:
    """Parts joined into one and/or group, flattened as language.durable's _all/_any do."""
    elements = sum(part.elements if part.kind == kind else 1 for part in parts)
    if elements == 1:
        return parts[0]
    paths = [part.paths for part in parts]
    return Shape(
        kind,
        elements,
        sum(part.tests for part in parts),
        math.prod(paths) if kind == "and" else sum(paths),
        1 + sum(part.groups - (part.kind == kind) for part in parts),
    )


@dataclass(frozen=True)
class CompiledSize:
    """A rule's size once compiled: each way its condition (and applies_when) can come out."""

    condition: dict[bool, Shape]  # true, false
    applies: dict[bool, Shape] | None
    depth: int  # levels of the condition tree, cited rules included

    def outcomes(self) -> dict[Outcome, Shape]:
        """The durable_rules condition of each outcome, as language.durable composes them."""
        if self.applies is None:
            return {Outcome.PASS: self.condition[True], Outcome.FAIL: self.condition[False]}
        return {
            Outcome.PASS: _group("and", [self.applies[True], self.condition[True]]),
            Outcome.FAIL: _group("and", [self.applies[True], self.condition[False]]),
            Outcome.NOT_APPLICABLE: self.applies[False],
        }

    def alternatives(self) -> int:
        """The most branches the rule can put on durable_rules' match stack at once (at most
        64 in one ruleset part): the sum of its outcomes' alternatives."""
        return sum(shape.paths for shape in self.outcomes().values())

    def cited(self, wanted_outcome: Outcome, wanted: bool) -> Shape:
        """The shape of ``passed(rule)`` (or ``failed``) in a condition that wants ``wanted``."""
        holds = self.condition[wanted if wanted_outcome == Outcome.PASS else not wanted]
        if self.applies is None:
            return holds
        if wanted:
            return _group("and", [self.applies[True], holds])
        return _group("or", [self.applies[False], _group("and", [self.applies[True], holds])])


def compiled_size(
    condition: Cond, applies: Cond | None, cited: Callable[[str], CompiledSize]
) -> CompiledSize:
    """Measure a rule; ``cited`` gives the size of a rule it cites (measured before it)."""
    measure = _Measure(cited)
    return CompiledSize(
        {wanted: measure.shape(condition, wanted, None) for wanted in (True, False)},
        None
        if applies is None
        else {wanted: measure.shape(applies, wanted, None) for wanted in (True, False)},
        max(measure.depth(tree) for tree in (condition, applies) if tree is not None),
    )


def oversize(size: CompiledSize) -> tuple[str, str] | None:
    """Which text of a rule makes it compile past a documented bound, and why; None if none."""
    if size.depth > MAX_DEPTH:
        return "condition", (
            f"nested {size.depth} levels deep, counting the rules it cites; at most {MAX_DEPTH}"
        )
    pieces = [("condition", "'pass'", size.condition[True])]
    pieces.append(("condition", "'fail'", size.condition[False]))
    if size.applies is not None:
        pieces.append(("applies_when", "that it applies", size.applies[True]))
        pieces.append(("applies_when", "'not_applicable'", size.applies[False]))
        outcomes = size.outcomes()
        pieces.append(("condition", "'pass' with applies_when", outcomes[Outcome.PASS]))
        pieces.append(("condition", "'fail' with applies_when", outcomes[Outcome.FAIL]))
    for key, deciding, shape in pieces:
        problem = _past_bound(shape)
        if problem:
            return key, (
                f"too large for the rules engine: deciding {deciding} takes {problem}, counting "
                "`in` lists, negations and the rules it cites; split the rule, or a plugin can "
                "provide a derived fact"
            )
    return None


def _past_bound(shape: Shape) -> str | None:
    for found, bound, what in (
        (shape.paths, MAX_ALTERNATIVES, "alternatives"),
        (shape.groups, MAX_GROUPS, "and/or groups"),
        (shape.tests, MAX_TESTS, "tests"),
    ):
        if found > bound:
            return f"{found:,} {what} (at most {bound})"
    return None


class _Measure:
    """Shapes of a condition tree, each node measured once (cited rules are measured already)."""

    def __init__(self, cited: Callable[[str], CompiledSize]) -> None:
        self.cited = cited
        self.shapes: dict[tuple[int, bool, str | None], Shape] = {}

    def shape(self, node: Cond, wanted: bool, scope: str | None) -> Shape:
        """As language.durable's ``when``: inside an item scope an "or" becomes one flag test."""
        key = (id(node), wanted, scope)
        if key not in self.shapes:
            shape = self.translate(node, wanted, scope)
            self.shapes[key] = TEST if scope is not None and shape.kind == "or" else shape
        return self.shapes[key]

    def translate(self, node: Cond, wanted: bool, scope: str | None) -> Shape:
        match node:
            case And() | Or():
                parts = [self.shape(part, wanted, scope) for part in node.parts]
                return _group("and" if isinstance(node, And) == wanted else "or", parts)
            case Not():
                return self.shape(node.part, not wanted, scope)
            case Compare():
                constant = isinstance(node.left, Const) or isinstance(node.right, Const)
                return TEST if constant else _group("and", [TEST, TEST, TEST])  # both present
            case OneOf():
                return _group("or" if wanted else "and", [TEST] * len(node.options))
            case Missing():
                return TEST
            case Quantified():
                inner = self.shape(node.where, wanted, node.items.path)
                quantifier = Shape("test", 1, 1 + inner.tests, 1, inner.groups)
                return quantifier if wanted else _group("or", [TEST, quantifier])  # or empty
            case RuleRef():
                return self.cited(node.rule).cited(node.wanted, wanted)
            case _:
                assert_never(node)

    def depth(self, node: Node) -> int:
        if isinstance(node, RuleRef):
            return 1 + self.cited(node.rule).depth
        return 1 + max((self.depth(child) for child in children(node)), default=0)
