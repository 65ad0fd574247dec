"""Conditions written out: as condition text (``unparse``) and in plain words (``in_words``)."""

from __future__ import annotations

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
    Not,
    OneOf,
    Or,
    Quantified,
    RuleRef,
    Term,
)


def unparse(node: Term | Cond) -> str:
    """Canonical text of a node, for explanations and generated docs."""
    if isinstance(node, Const):
        return _literal_text(node.value)
    if isinstance(node, Field):
        return ".".join(node.keys)
    if isinstance(node, Derived):
        return DERIVED_PREFIX + node.name
    if isinstance(node, Arith):
        return f"({unparse(node.left)} {node.op} {unparse(node.right)})"
    if isinstance(node, Count):
        where = f", {unparse(node.where)}" if node.where is not None else ""
        return f"count({'.'.join(node.items.keys)}{where})"
    if isinstance(node, Compare):
        if node.op == "==" and node.right == Const(True) and not isinstance(node.left, Const):
            return unparse(node.left)  # a yes/no field standing alone
        return f"{unparse(node.left)} {node.op} {unparse(node.right)}"
    if isinstance(node, OneOf):
        return f"{unparse(node.value)} in [{', '.join(unparse(o) for o in node.options)}]"
    if isinstance(node, Missing):
        return f"missing({unparse(node.field)})"
    if isinstance(node, And | Or):
        joiner = " and " if isinstance(node, And) else " or "
        return joiner.join(_grouped(part, node) for part in node.parts)
    if isinstance(node, Not):
        if isinstance(node.part, Missing):
            return f"present({unparse(node.part.field)})"
        if isinstance(node.part, OneOf):
            return unparse(node.part).replace(" in [", " not in [", 1)
        return f"not {_grouped(node.part, node)}"
    if isinstance(node, Quantified):
        return f"{node.quantifier}({'.'.join(node.items.keys)}, {unparse(node.where)})"
    if isinstance(node, RuleRef):
        return f"{'passed' if node.wanted == 'pass' else 'failed'}({node.rule})"
    raise TypeError(node)


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


_SAYS = {
    "==": "is",
    "!=": "is not",
    "<": "is less than",
    "<=": "is at most",
    ">": "is more than",
    ">=": "is at least",
}
_ARITHMETIC = {"+": "+", "-": "−", "*": "×", "/": "÷"}


def in_words(node: Term | Cond) -> str:
    """A condition or value as a funder would read it aloud."""
    if isinstance(node, Const):
        return _constant(node.value)
    if isinstance(node, Field):
        return f"`{'.'.join(node.keys)}`"
    if isinstance(node, Derived):
        return f"`{node.name}` (computed)"
    if isinstance(node, Arith):
        return f"{in_words(node.left)} {_ARITHMETIC[node.op]} {in_words(node.right)}"
    if isinstance(node, Count):
        where = f" where {in_words(node.where)}" if node.where is not None else ""
        return f"the number of {in_words(node.items)}{where}"
    if isinstance(node, Compare):
        return _comparison(node)
    if isinstance(node, OneOf):
        return f"{in_words(node.value)} is one of {', '.join(in_words(o) for o in node.options)}"
    if isinstance(node, Missing):
        return f"{in_words(node.field)} is not given"
    if isinstance(node, And | Or):
        return _joined(node)
    if isinstance(node, Not):
        return _negated(node.part)
    if isinstance(node, Quantified):
        if node.quantifier == "any":
            return f"at least one item in {in_words(node.items)} where {in_words(node.where)}"
        return f"{in_words(node.items)} has items and in every one {in_words(node.where)}"
    if isinstance(node, RuleRef):
        return f"rule `{node.rule}` {'passed' if node.wanted == 'pass' else 'failed'}"
    raise TypeError(node)


def _constant(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return f"{value:,}"
    return f'"{value}"'


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
    if isinstance(part, Missing):
        return f"{in_words(part.field)} is given"
    if isinstance(part, OneOf):
        return f"{in_words(part.value)} is none of {', '.join(in_words(o) for o in part.options)}"
    if isinstance(part, Compare):
        return _comparison(Compare(NEGATED[part.op], part.left, part.right))
    if isinstance(part, Quantified) and part.quantifier == "any":
        return f"no item in {in_words(part.items)} where {in_words(part.where)}"
    return f"it is not so that {in_words(part)}"
