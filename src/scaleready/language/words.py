"""Conditions written out: as condition text (``unparse``) and in plain words (``in_words``)."""

from __future__ import annotations

from typing import assert_never

from scaleready.language.nodes import (
    DERIVED_PREFIX,
    NEGATED,
    And,
    Arith,
    Compare,
    Cond,
    Const,
    Count,
    Derived,
    Field,
    Missing,
    Node,
    Not,
    OneOf,
    Or,
    Quantified,
    RuleRef,
)
from scaleready.outcome import Outcome


def unparse(node: Node) -> str:
    """Canonical text of a node, for explanations and generated docs."""
    match node:
        case Const():
            return _literal_text(node.value)
        case Field():
            return ".".join(node.keys)
        case Derived():
            return DERIVED_PREFIX + node.name
        case Arith():
            return f"({unparse(node.left)} {node.op} {unparse(node.right)})"
        case Count():
            where = f", {unparse(node.where)}" if node.where is not None else ""
            return f"count({'.'.join(node.items.keys)}{where})"
        case Compare():
            if node.op == "==" and node.right == Const(True) and not isinstance(node.left, Const):
                return unparse(node.left)  # a yes/no field standing alone
            return f"{unparse(node.left)} {node.op} {unparse(node.right)}"
        case OneOf():
            return f"{unparse(node.value)} in [{', '.join(unparse(o) for o in node.options)}]"
        case Missing():
            return f"missing({unparse(node.field)})"
        case And() | Or():
            joiner = " and " if isinstance(node, And) else " or "
            return joiner.join(_grouped(part, node) for part in node.parts)
        case Not():
            return _unparse_negated(node)
        case Quantified():
            return f"{node.quantifier}({'.'.join(node.items.keys)}, {unparse(node.where)})"
        case RuleRef():
            return f"{_cited_word(node)}({node.rule})"
        case _:
            assert_never(node)


def _unparse_negated(node: Not) -> str:
    match node.part:
        case Missing():
            return f"present({unparse(node.part.field)})"
        case OneOf():
            return unparse(node.part).replace(" in [", " not in [", 1)
        case Compare() | And() | Or() | Not() | Quantified() | RuleRef():
            return f"not {_grouped(node.part, node)}"
        case _:
            assert_never(node.part)


def _grouped(part: Cond, parent: Cond) -> str:
    text = unparse(part)
    needs_brackets = isinstance(part, And | Or) and type(part) is not type(parent)
    return (
        f"({text})"
        if needs_brackets or (isinstance(parent, Not) and isinstance(part, And | Or))
        else text
    )


def _literal_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return repr(value)


def _cited_word(node: RuleRef) -> str:
    return "passed" if node.wanted == Outcome.PASS else "failed"


_SAYS = {
    "==": "is",
    "!=": "is not",
    "<": "is less than",
    "<=": "is at most",
    ">": "is more than",
    ">=": "is at least",
}
_ARITHMETIC = {"+": "+", "-": "−", "*": "×", "/": "÷"}


def in_words(node: Node) -> str:
    """A condition or value as a funder would read it aloud."""
    match node:
        case Const():
            return _constant(node.value)
        case Field():
            return f"`{'.'.join(node.keys)}`"
        case Derived():
            return f"`{node.name}` (computed)"
        case Arith():
            return f"{in_words(node.left)} {_ARITHMETIC[node.op]} {in_words(node.right)}"
        case Count():
            where = f" where {in_words(node.where)}" if node.where is not None else ""
            return f"the number of {in_words(node.items)}{where}"
        case Compare():
            return _comparison(node)
        case OneOf():
            return f"{in_words(node.value)} is one of {_options(node)}"
        case Missing():
            return f"{in_words(node.field)} is not given"
        case And() | Or():
            return _joined(node)
        case Not():
            return _negated(node.part)
        case Quantified() if node.quantifier == "any":
            return f"at least one item in {in_words(node.items)} where {in_words(node.where)}"
        case Quantified():
            return f"{in_words(node.items)} has items and in every one {in_words(node.where)}"
        case RuleRef():
            return f"rule `{node.rule}` {_cited_word(node)}"
        case _:
            assert_never(node)


def _constant(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return f"{value:,}"
    return f'"{value}"'


def _options(node: OneOf) -> str:
    return ", ".join(in_words(option) for option in node.options)


def _comparison(node: Compare) -> str:
    if (
        isinstance(node.right, Const)
        and isinstance(node.right.value, bool)
        and node.op in ("==", "!=")
    ):
        wanted = node.right.value == (node.op == "==")
        return f"{in_words(node.left)} is {'yes' if wanted else 'no'}"
    return f"{in_words(node.left)} {_SAYS[node.op]} {in_words(node.right)}"


def _joined(node: And | Or) -> str:
    parts = [f"({in_words(p)})" if isinstance(p, And | Or) else in_words(p) for p in node.parts]
    if isinstance(node, And):
        return ", and ".join(parts)
    return "either " + ", or ".join(parts)


def _negated(part: Cond) -> str:
    """``not part`` in words: the negation said directly where English has a way to say it."""
    match part:
        case Missing():
            return f"{in_words(part.field)} is given"
        case OneOf():
            return f"{in_words(part.value)} is none of {_options(part)}"
        case Compare():
            return _comparison(Compare(NEGATED[part.op], part.left, part.right))
        case Quantified() if part.quantifier == "any":
            return f"no item in {in_words(part.items)} where {in_words(part.where)}"
        case Quantified() | And() | Or() | Not() | RuleRef():
            return f"it is not so that {in_words(part)}"
        case _:
            assert_never(part)
