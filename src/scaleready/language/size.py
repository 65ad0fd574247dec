"""A rule's size once compiled for durable_rules, and the bounds it must stay within."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import assert_never

from scaleready.language.nodes import (
    NEGATED,
    And,
    Arith,
    Compare,
    Cond,
    Const,
    Field,
    Missing,
    Node,
    Not,
    OneOf,
    Or,
    Quantified,
    RuleRef,
    children,
    ranged,
)
from scaleready.outcome import Outcome

# A rule's outcomes once compiled for durable_rules (see CompiledSize); measured walls in docs
# (docs/conditions.md, "Limits"):
MAX_ALTERNATIVES = 32  # ways through one outcome's network; its C core walks 64 at most at once
MAX_GROUPS = 12  # and/or groups in one outcome; the C core fails (error 113) past 15
MAX_TESTS = 256  # tests in one outcome, counting the rules it cites
MAX_DEPTH = 64  # levels of the condition tree, counting the rules it cites
# An "or" inside any() is spread into this many any() tests at most, else decided per item in
# Python (see language.durable's _Compiler.item_tests): more would crowd the match stack.
MAX_SPREAD = 4


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


def decided_per_item(where: Cond) -> bool:
    """Whether an item condition compares two fields of the item or calculates, outside the
    quantifiers within it: language.durable decides such a condition per item in Python (an
    item flag), since durable_rules can test neither inside ``$iany``/``$iall``."""
    match where:
        case Compare():
            sides = (where.left, where.right)
            constant = any(isinstance(side, Const) for side in sides)
            return not constant or any(isinstance(side, Arith) for side in sides)
        case OneOf():
            return isinstance(where.value, Arith)
        case And() | Or():
            return any(decided_per_item(part) for part in where.parts)
        case Not():
            return decided_per_item(where.part)
        case Missing() | Quantified() | RuleRef():
            return False
        case _:
            assert_never(where)


def spaces_between(options: Sequence[float | int | str | bool]) -> list[tuple[object, object]]:
    """The spaces a range can fall in without holding an option: below the lowest, between
    each two, above the highest (None: no bound), as ``count(...) not in [...]`` is compiled."""
    ordered = sorted(set(options), key=float)  # numbers: the parser checked the kinds
    return list(zip([None, *ordered], [*ordered, None], strict=True))


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
        key = (id(node), wanted, scope)
        if key not in self.shapes:
            self.shapes[key] = self.translate(node, wanted, scope)
        return self.shapes[key]

    def translate(self, node: Cond, wanted: bool, scope: str | None) -> Shape:
        match node:
            case And() | Or():
                parts = [self.shape(part, wanted, scope) for part in node.parts]
                return _group("and" if isinstance(node, And) == wanted else "or", parts)
            case Not():
                return self.shape(node.part, not wanted, scope)
            case Compare() if ranged(node.left) or ranged(node.right):
                return _range_comparison(node, wanted)
            case Compare():
                constant = isinstance(node.left, Const) or isinstance(node.right, Const)
                return TEST if constant else _group("and", [TEST, TEST, TEST])  # both present
            case OneOf() if ranged(node.value):
                return _range_one_of(node, wanted)
            case OneOf():
                return _group("or" if wanted else "and", [TEST] * len(node.options))
            case Missing():
                return TEST
            case Quantified():
                return _group("or", self.quantifier_tests(node, wanted))
            case RuleRef():
                return self.cited(node.rule).cited(node.wanted, wanted)
            case _:
                assert_never(node)

    def quantifier_tests(self, node: Quantified, wanted: bool) -> list[Shape]:
        """As language.durable's ``quantified``: the tests any one of which decides it."""
        scope = node.items.path
        inner = self.shape(node.where, wanted, scope)
        some = (node.quantifier == "any") == wanted  # some item must meet inner, or all must
        if decided_per_item(node.where):
            tests = [TEST]  # a flag on each item, computed in Python
        elif self.one_property_per_or(node.where, wanted):
            tests = [inner]
        elif some and inner.paths <= MAX_SPREAD:
            tests = [_group("and", each) for each in self.alternatives(node.where, wanted, scope)]
        else:
            tests = [TEST]  # a flag on each item, computed in Python
        # a group ends in a test every item meets, as language.durable's _ending_in_a_test does
        tests = [test if test.kind == "test" else _group("and", [test, TEST]) for test in tests]
        found = [Shape("test", 1, 1 + test.tests, 1, test.groups) for test in tests]
        return found if wanted else [TEST, *found]  # or the list is empty

    def one_property_per_or(self, node: Cond, wanted: bool) -> bool:
        """Whether every "or" of the item condition tests one property of the item, as
        language.durable's ``_one_property_per_or`` finds in what it compiles."""
        match node:
            case And() | Or() if isinstance(node, And) != wanted:  # an "or" once compiled
                properties = _properties(node)
                return len(properties) == 1 and None not in properties
            case And() | Or():
                return all(self.one_property_per_or(part, wanted) for part in node.parts)
            case Not():
                return self.one_property_per_or(node.part, not wanted)
            case OneOf() if wanted and len(node.options) > 1:
                return None not in _properties(node)
            case OneOf() | Compare() | Missing() | RuleRef():
                return True
            case Quantified():
                return len(self.quantifier_tests(node, wanted)) == 1  # else an "or" of tests
            case _:
                assert_never(node)

    def alternatives(self, node: Cond, wanted: bool, scope: str) -> list[list[Shape]]:
        """The tests of each way ``node`` can be ``wanted`` in an item scope, as
        language.durable's ``_alternatives`` spreads them (few: see MAX_SPREAD)."""
        match node:
            case And() | Or():
                each = [self.alternatives(part, wanted, scope) for part in node.parts]
                if isinstance(node, And) != wanted:
                    return [way for part in each for way in part]
                found: list[list[Shape]] = [[]]
                for part in each:
                    found = [before + way for before in found for way in part]
                return found
            case Not():
                return self.alternatives(node.part, not wanted, scope)
            case Compare():
                constant = isinstance(node.left, Const) or isinstance(node.right, Const)
                return [[TEST]] if constant else [[TEST, TEST, TEST]]
            case OneOf():
                return [[TEST] for _ in node.options] if wanted else [[TEST] * len(node.options)]
            case Missing():
                return [[TEST]]
            case Quantified():
                return [[test] for test in self.quantifier_tests(node, wanted)]
            case RuleRef():
                raise AssertionError("the parser refuses passed()/failed() in an item scope")
            case _:
                assert_never(node)

    def depth(self, node: Node) -> int:
        if isinstance(node, RuleRef):
            return 1 + self.cited(node.rule).depth
        return 1 + max((self.depth(child) for child in children(node)), default=0)


def _range_comparison(node: Compare, wanted: bool) -> Shape:
    """As language.durable's ``compare_ranges``: a test of one end, both ends for ``==``, and
    for ``!=`` either end; between two terms, each present as well."""
    op = node.op if wanted else NEGATED[node.op]
    tests = {"==": _group("and", [TEST, TEST]), "!=": _group("or", [TEST, TEST])}.get(op, TEST)
    if isinstance(node.left, Const) or isinstance(node.right, Const):
        return tests
    return _group("and", [TEST, TEST, tests])


def _range_one_of(node: OneOf, wanted: bool) -> Shape:
    """As language.durable's ``one_of_range``: an ``==`` per option, or a way per space."""
    if wanted:
        return _group("or", [_group("and", [TEST, TEST])] * len(node.options))
    spaces = spaces_between([option.value for option in node.options])
    return _group(
        "or", [TEST if None in space else _group("and", [TEST, TEST]) for space in spaces]
    )


def _properties(node: Cond) -> set[str | None]:
    """The item properties a condition's tests read; None for a quantifier or two fields."""
    match node:
        case And() | Or():
            return {name for part in node.parts for name in _properties(part)}
        case Not():
            return _properties(node.part)
        case Compare():
            fields = [side for side in (node.left, node.right) if not isinstance(side, Const)]
            return {fields[0].path} if isinstance(fields[0], Field) and len(fields) == 1 else {None}
        case OneOf():
            return {node.value.path} if isinstance(node.value, Field) else {None}
        case Missing():
            return {node.field.path}
        case Quantified() | RuleRef():
            return {None}
        case _:
            assert_never(node)
