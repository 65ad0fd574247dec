"""The condition tree: the nodes a parsed condition is made of, and generic walks over it.

Values are three-valued: a comparison that touches missing data is *unknown*, never false, so a
data gap is never mistaken for a failure (see docs/conditions.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import assert_never

from scaleready.outcome import Outcome

NEGATED = {"==": "!=", "!=": "==", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}  # not (a op b)
DERIVED_PREFIX = "derived."


class ConditionError(ValueError):
    """A condition cannot be parsed or does not fit the schema; the message says why and where."""


# --- the tree -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Const:
    value: float | int | str | bool

    @property
    def kind(self) -> str:
        return kind_of_value(self.value)


@dataclass(frozen=True)
class Field:
    """A profile field; ``keys`` are relative to the innermost any/all/count item (or the root)."""

    path: str
    keys: tuple[str, ...]
    kind: str
    choices: tuple[str, ...] | None = None
    in_list: str | None = None


@dataclass(frozen=True)
class Derived:
    """A fact a plugin computes from the profile in Python."""

    name: str
    kind: str


@dataclass(frozen=True)
class Arith:
    op: str
    left: Term
    right: Term
    kind: str = "number"


@dataclass(frozen=True)
class Count:
    """Number of items of a list (meeting ``where``, if given)."""

    items: Field
    where: Cond | None
    kind: str = "number"


@dataclass(frozen=True)
class Compare:
    op: str
    left: Term
    right: Term


@dataclass(frozen=True)
class OneOf:
    """``value in [a, b]``; ``not in`` is written as Not(OneOf)."""

    value: Term
    options: tuple[Const, ...]


@dataclass(frozen=True)
class Missing:
    field: Field


@dataclass(frozen=True)
class And:
    parts: tuple[Cond, ...]


@dataclass(frozen=True)
class Or:
    parts: tuple[Cond, ...]


@dataclass(frozen=True)
class Not:
    part: Cond


@dataclass(frozen=True)
class Quantified:
    """``any(items, where)`` or ``all(items, where)``; ``all`` of an empty list is false."""

    quantifier: str
    items: Field
    where: Cond


@dataclass(frozen=True)
class RuleRef:
    """``passed(rule)`` or ``failed(rule)``: the outcome of another rule of the same ruleset."""

    rule: str
    wanted: Outcome  # PASS or FAIL


Term = Const | Field | Derived | Arith | Count
Cond = Compare | OneOf | Missing | And | Or | Not | Quantified | RuleRef
Node = Term | Cond


def kind_of_value(value: object) -> str:
    """The condition-language kind of a Python value."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    return "object"


# --- walking the tree ----------------------------------------------------------------------------


def children(node: Node) -> tuple[Node, ...]:
    """The direct sub-nodes of a node, for generic walks."""
    match node:
        case Const() | Field() | Derived() | RuleRef():
            return ()
        case And() | Or():
            return node.parts
        case Not():
            return (node.part,)
        case Compare() | Arith():
            return (node.left, node.right)
        case OneOf():
            return (node.value, *node.options)
        case Missing():
            return (node.field,)
        case Quantified():
            return (node.items, node.where)
        case Count():
            return (node.items,) if node.where is None else (node.items, node.where)
        case _:
            assert_never(node)


def ranged(term: Term) -> bool:
    """Whether a term's value may be known only as a range: it counts the items that meet a
    condition, which missing data can leave unknown for some of them (docs/conditions.md)."""
    if isinstance(term, Count):
        return term.where is not None
    if isinstance(term, Arith):
        return ranged(term.left) or ranged(term.right)
    return False


def walk(node: Node) -> Iterator[Node]:
    """Every node of the tree, the node itself first."""
    yield node
    for child in children(node):
        yield from walk(child)
