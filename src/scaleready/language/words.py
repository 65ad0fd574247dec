"""Conditions written out: as condition text (``unparse``) and in plain words (``in_words``)."""

from __future__ import annotations

from collections.abc import Mapping
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


_NO_FACTS: Mapping[str, str] = {}


def _as_phrase(description: str) -> str:
    """A fact's one-line description as a phrase inside a sentence: "Volunteers per staff (FTE)."
    reads "volunteers per staff (FTE)"; an acronym keeps its capitals."""
    text = description.strip().rstrip(".")
    first = text.split(" ", 1)[0]
    return text if first.isupper() and len(first) > 1 else text[:1].lower() + text[1:]


_SAYS = {
    "==": "is",
    "!=": "is not",
    "<": "is less than",
    "<=": "is at most",
    ">": "is more than",
    ">=": "is at least",
}
_ARITHMETIC = {"+": "+", "-": "−", "*": "×", "/": "÷"}


def in_words(node: Node, facts: Mapping[str, str] = _NO_FACTS) -> str:
    """A condition or value as a funder would read it aloud.

    ``facts`` describes derived facts in words (with units), by name; a fact it does not
    describe is named as computed.
    """
    match node:
        case Const():
            return _constant(node.value)
        case Field():
            return f"`{'.'.join(node.keys)}`"
        case Derived() if node.name in facts:
            return f"the {_as_phrase(facts[node.name])} (computed: `{node.name}`)"
        case Derived():
            return f"`{node.name}` (computed)"
        case Arith():
            return (
                f"{in_words(node.left, facts)} {_ARITHMETIC[node.op]} {in_words(node.right, facts)}"
            )
        case Count():
            where = f" where {in_words(node.where, facts)}" if node.where is not None else ""
            return f"the number of {in_words(node.items, facts)}{where}"
        case Compare():
            return _comparison(node, facts)
        case OneOf():
            return f"{in_words(node.value, facts)} is one of {_options(node, facts)}"
        case Missing():
            return f"{in_words(node.field, facts)} is not given"
        case And() | Or():
            return _joined(node, facts)
        case Not():
            return _negated(node.part, facts)
        case Quantified() if node.quantifier == "any":
            items, where = in_words(node.items, facts), in_words(node.where, facts)
            return f"at least one item in {items} where {where}"
        case Quantified():
            items, where = in_words(node.items, facts), in_words(node.where, facts)
            return f"{items} has items and in every one {where}"
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


def _options(node: OneOf, facts: Mapping[str, str]) -> str:
    return ", ".join(in_words(option, facts) for option in node.options)


def _comparison(node: Compare, facts: Mapping[str, str]) -> str:
    if (
        isinstance(node.right, Const)
        and isinstance(node.right.value, bool)
        and node.op in ("==", "!=")
    ):
        wanted = node.right.value == (node.op == "==")
        return f"{in_words(node.left, facts)} is {'yes' if wanted else 'no'}"
    return f"{in_words(node.left, facts)} {_SAYS[node.op]} {in_words(node.right, facts)}"


def _joined(node: And | Or, facts: Mapping[str, str]) -> str:
    parts = [
        f"({in_words(p, facts)})" if isinstance(p, And | Or) else in_words(p, facts)
        for p in node.parts
    ]
    if isinstance(node, And):
        return ", and ".join(parts)
    return "either " + ", or ".join(parts)


def _negated(part: Cond, facts: Mapping[str, str]) -> str:
    """``not part`` in words: the negation said directly where English has a way to say it."""
    match part:
        case Missing():
            return f"{in_words(part.field, facts)} is given"
        case OneOf():
            return f"{in_words(part.value, facts)} is none of {_options(part, facts)}"
        case Compare():
            return _comparison(Compare(NEGATED[part.op], part.left, part.right), facts)
        case Quantified() if part.quantifier == "any":
            return f"no item in {in_words(part.items, facts)} where {in_words(part.where, facts)}"
        case Quantified() | And() | Or() | Not() | RuleRef():
            return f"it is not so that {in_words(part, facts)}"
        case _:
            assert_never(part)
