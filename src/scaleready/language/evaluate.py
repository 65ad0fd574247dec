"""The plain-Python evaluator of compiled conditions: three-valued, and able to say why.

It serves explanations (durable_rules can say that a rule fired, never why one did not) and is
the backend wherever durable_rules cannot be imported.  Its semantics are the reference the
durable_rules adapter is tested against.
"""

from __future__ import annotations

import math
import operator
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, assert_never, cast

from scaleready.language.nodes import (
    DERIVED_PREFIX,
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
    ranged,
    walk,
)
from scaleready.language.words import unparse
from scaleready.outcome import Outcome


class _MissingValue:
    """The value of a field the profile does not give (or a calculation that cannot be made)."""

    def __repr__(self) -> str:
        return "missing"


MISSING = _MissingValue()


@dataclass(frozen=True, slots=True)
class Range:
    """A number known only to lie from ``low`` to ``high`` (both included, ``low < high``): a
    count of the items that meet a condition some items leave unknown, or a calculation on one.

    Counted so, ``count(list, c) >= 2`` is true once two items are known to meet ``c``, whatever
    the others turn out to be: a comparison is decided when every number in the range decides
    it the same way (docs/conditions.md, "Missing data").
    """

    low: float
    high: float

    def text(self) -> str:
        """As an explanation shows it: ``2 to 3``."""
        return f"{_plain(self.low)} to {_plain(self.high)}"


def _plain(number: float) -> str:
    return f"{number:,}" if isinstance(number, int) else f"{number:,.6g}"


def _range(low: float, high: float) -> float | Range:
    """The range from ``low`` to ``high``, or the number itself where they are one."""
    return low if low == high else Range(low, high)


Truth = bool | None  # None: unknown, because data is missing
Items = list[Mapping[str, object]]  # a list field's items, as the schema shapes them
_UNDECIDED = (Outcome.UNKNOWN, Outcome.ERROR)
LARGEST_FLOAT = sys.float_info.max  # about 1.8e308: a calculation beyond it is +-infinity

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_ARITHMETIC: dict[str, Callable[[float, float], float]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
}


@dataclass
class Step:
    """One test an explanation shows: the text, what it came to, and the values it saw."""

    text: str
    result: Truth
    values: dict[str, object] = field(default_factory=dict)


@dataclass
class Context:
    """What a condition is evaluated against."""

    profile: Mapping[str, object]
    derived: Mapping[str, object] = field(default_factory=dict)
    outcome_of: Callable[[str], str] = lambda rule: Outcome.UNKNOWN
    trace: list[Step] | None = None


def lookup(scope: Mapping[str, object], keys: tuple[str, ...]) -> object:
    """The value at ``keys`` below ``scope``, or MISSING."""
    value: object = scope
    for key in keys:
        if type(value) is not dict and not isinstance(value, Mapping):
            return MISSING
        value = value.get(key)
        if value is None:
            return MISSING
    return value


def value_of(term: Term, scope: Mapping[str, object], context: Context) -> object:
    """The value of a term, or MISSING."""
    # isinstance, not match: as exhaustive to mypy (assert_never) and twice as fast on 3.11
    if isinstance(term, Field):
        return lookup(scope, term.keys)
    if isinstance(term, Const):
        return term.value
    if isinstance(term, Derived):
        return context.derived.get(term.name, MISSING)
    if isinstance(term, Arith):
        return _calculate(term, scope, context)
    if isinstance(term, Count):
        return _count(term, scope, context)
    assert_never(term)


def _calculate(term: Arith, scope: Mapping[str, object], context: Context) -> object:
    """The result as floating-point arithmetic gives it (docs/conditions.md, "Calculations").

    Beyond about 1.8e308 a result is +-infinity, which compares beyond every number as the
    exact result would; an input that is missing, a divisor of 0, or a result that is not a
    number (infinity - infinity, 0 * infinity) is MISSING: unknown.  Integers stay exact.
    """
    left, right = value_of(term.left, scope, context), value_of(term.right, scope, context)
    return _arithmetic(term.op, left, right)


def _arithmetic(op: str, left: object, right: object) -> object:
    """``left op right`` as ``_calculate`` documents it, or MISSING."""
    if type(left) is Range or type(right) is Range:
        return _range_arithmetic(op, left, right)
    if left is MISSING or right is MISSING or (op == "/" and right == 0):
        return MISSING
    calculate = _ARITHMETIC[op]
    numbers = cast(tuple[float, float], (left, right))  # the parser let only numbers in
    try:
        result = calculate(*numbers)
    except OverflowError:  # an integer too large for a float met a float (or was divided)
        result = _past_floats(calculate, *numbers)
    return MISSING if result != result else result  # only NaN differs from itself


def _range_arithmetic(op: str, left: object, right: object) -> object:
    """``left op right`` where either is a Range: the range of every result it could have.

    Floating-point arithmetic rounds monotonically, so the results at the ends of the ranges
    bound the results inside; a result that could be unknown (a divisor that could be 0, or not
    a number at an end) leaves the whole calculation unknown, as one possible count would.
    """
    if left is MISSING or right is MISSING:
        return MISSING
    (a, b), (c, d) = _bounds(left), _bounds(right)
    if op == "/" and c <= 0 <= d:
        return MISSING
    results = [_arithmetic(op, x, y) for x in (a, b) for y in (c, d)]
    if MISSING in results:
        return MISSING
    numbers = cast(list[float], results)
    return _range(min(numbers), max(numbers))


def _bounds(value: object) -> tuple[float, float]:
    """The lowest and highest a number (or a Range) can be."""
    if type(value) is Range:
        return value.low, value.high
    number = cast(float, value)
    return number, number


def _past_floats(calculate: Callable[..., float], left: float, right: float) -> float:
    """What floating-point arithmetic would give had the integer been a float of any size."""
    if _infinite(left) or _infinite(right):
        return calculate(_as_float(left), _as_float(right))
    return _as_float(calculate(Fraction(left), Fraction(right)))


def _infinite(value: float) -> bool:
    return isinstance(value, float) and math.isinf(value)


def _as_float(value: float | Fraction) -> float:
    """The value as a float; an exact number beyond the largest float is +-infinity."""
    if -LARGEST_FLOAT <= value <= LARGEST_FLOAT:  # compared exactly, whatever the value's type
        return float(value)
    return math.inf if value > 0 else -math.inf


def _count(term: Count, scope: Mapping[str, object], context: Context) -> object:
    items = _items(scope, term.items)
    if items is None:
        return MISSING
    if term.where is None:
        return len(items)
    results = [truth(term.where, item, _quiet(context)) for item in items]
    met = results.count(True)
    return _range(met, met + results.count(None))


def _items(scope: Mapping[str, object], items: Field) -> Items | None:
    """The items of a list field, or None if it is missing."""
    value = lookup(scope, items.keys)
    return None if value is MISSING else cast(Items, value)  # the schema makes lists lists


def truth(condition: Cond, scope: Mapping[str, object], context: Context) -> Truth:
    """True, False, or None when missing data leaves the condition undecided (Kleene logic)."""
    # The commonest nodes first; isinstance, not match: as exhaustive to mypy (assert_never)
    # and twice as fast on 3.11, and this runs for every node of every profile.
    result: Truth
    if isinstance(condition, Compare):
        result = _comparison(condition, scope, context)
    elif isinstance(condition, And):
        return _all_of(condition, scope, context)
    elif isinstance(condition, Or):
        return _any_of(condition, scope, context)
    elif isinstance(condition, Not):
        return _negation(condition, scope, context)
    elif isinstance(condition, OneOf):
        result = _one_of(condition, scope, context)
    elif isinstance(condition, Missing):
        result = lookup(scope, condition.field.keys) is MISSING
    elif isinstance(condition, Quantified):
        result = _quantified(condition, scope, context)
    elif isinstance(condition, RuleRef):
        result = _cited(condition, context)
    else:
        assert_never(condition)
    if context.trace is not None:  # an explanation shows the leaves, each with its values
        context.trace.append(
            Step(unparse(condition), result, _values_seen(condition, scope, context))
        )
    return result


def _all_of(condition: And, scope: Mapping[str, object], context: Context) -> Truth:
    results = [truth(part, scope, context) for part in condition.parts]
    return False if False in results else (None if None in results else True)


def _any_of(condition: Or, scope: Mapping[str, object], context: Context) -> Truth:
    results = [truth(part, scope, context) for part in condition.parts]
    return True if True in results else (None if None in results else False)


def _negation(condition: Not, scope: Mapping[str, object], context: Context) -> Truth:
    result = truth(condition.part, scope, context)
    return None if result is None else not result


def _comparison(condition: Compare, scope: Mapping[str, object], context: Context) -> Truth:
    left = value_of(condition.left, scope, context)
    right = value_of(condition.right, scope, context)
    if left is MISSING or right is MISSING:
        return None
    if type(left) is Range or type(right) is Range:
        return compare_ranges(condition.op, left, right)
    return _COMPARE[condition.op](left, right)


def compare_ranges(op: str, left: object, right: object) -> Truth:
    """``left op right`` where either may be a Range: decided where every pair of values in
    them decides it the same way, else unknown (what language.durable compiles, test by test).

    ``<`` is true when the left's highest is below the right's lowest and false when the left's
    lowest is not below the right's highest; ``==`` is true only of two equal numbers, false
    when the ranges do not meet; ``!=`` is the negation of ``==``.
    """
    (low, high), (other_low, other_high) = _bounds(left), _bounds(right)
    if op == "!=":
        equal = compare_ranges("==", left, right)
        return None if equal is None else not equal
    if op == "==":
        return _either(
            low == other_high and high == other_low, high < other_low or low > other_high
        )
    compare = _COMPARE[op]
    if op in ("<", "<="):  # the left's highest is below the right's lowest, or its lowest is not
        return _either(compare(high, other_low), not compare(low, other_high))
    return _either(compare(low, other_high), not compare(high, other_low))


def _either(true: bool, false: bool) -> Truth:
    """True where ``true`` holds, False where ``false`` does, else unknown."""
    return True if true else (False if false else None)


def _one_of(condition: OneOf, scope: Mapping[str, object], context: Context) -> Truth:
    value = value_of(condition.value, scope, context)
    if value is MISSING:
        return None
    if type(value) is Range:
        return _range_one_of(value, [option.value for option in condition.options])
    return value in [option.value for option in condition.options]


def _range_one_of(value: Range, options: list[Any]) -> Truth:
    """``x in [...]`` is an ``or`` of ``x == option``: false where no option is in the range,
    otherwise unknown (no ``==`` is true of a range)."""
    return None if any(value.low <= option <= value.high for option in options) else False


def _cited(condition: RuleRef, context: Context) -> Truth:
    outcome = context.outcome_of(condition.rule)
    return None if outcome in _UNDECIDED else outcome == condition.wanted


def _quantified(condition: Quantified, scope: Mapping[str, object], context: Context) -> Truth:
    items = _items(scope, condition.items)
    if items is None:
        return None
    results = [truth(condition.where, item, _quiet(context)) for item in items]
    if condition.quantifier == "any":
        return True if True in results else (None if None in results else False)
    if not items or False in results:
        return False
    return None if None in results else True


def _values_seen(
    condition: Cond, scope: Mapping[str, object], context: Context
) -> dict[str, object]:
    """The values a leaf condition looked at, for explanations."""
    match condition:
        case Compare():
            return _seen(condition.left, condition.right, scope=scope, context=context)
        case OneOf():
            return _seen(condition.value, scope=scope, context=context)
        case Missing():
            return _seen(condition.field, scope=scope, context=context)
        case RuleRef():
            return {f"outcome of {condition.rule}": context.outcome_of(condition.rule)}
        case Quantified():
            return _quantifier_seen(condition, scope, context)
        case And() | Or() | Not():
            return {}  # not a leaf: its parts show their own values
        case _:
            assert_never(condition)


def _quantifier_seen(
    condition: Quantified, scope: Mapping[str, object], context: Context
) -> dict[str, object]:
    items = _items(scope, condition.items)
    if items is None:
        return {unparse(condition.items): MISSING}
    met = sum(truth(condition.where, item, _quiet(context)) is True for item in items)
    seen: dict[str, object] = {unparse(condition.items): f"{met} of {len(items)} items meet it"}
    return seen | _item_values(condition, items)


def _item_values(condition: Quantified, items: Items) -> dict[str, object]:
    """Each item's value of every field the quantifier's condition reads directly."""
    fields = {
        node.keys: node
        for node in walk(condition.where)
        if isinstance(node, Field) and node.in_list == condition.items.path
    }
    prefix = unparse(condition.items)
    return {
        f"{prefix}[].{'.'.join(keys)}": [lookup(item, keys) for item in items]
        for keys in sorted(fields)
    }


def _seen(*terms: Term, scope: Mapping[str, object], context: Context) -> dict[str, object]:
    """Each term's value, and for a calculation the value of every field it uses."""
    seen: dict[str, object] = {}
    for term in terms:
        if isinstance(term, Arith):
            seen |= _seen(term.left, term.right, scope=scope, context=context)
        if not isinstance(term, Const):
            value = value_of(term, scope, context)
            seen[unparse(term)] = value.text() if type(value) is Range else value
    return seen


def _quiet(context: Context) -> Context:
    """The same context without a trace: item-level tests are summarised by their quantifier."""
    if context.trace is None:
        return context
    return Context(context.profile, context.derived, context.outcome_of, None)


# --- what could decide an undecided condition -------------------------------------------------

Cited = Callable[[str], set[str]]  # a cited rule's id -> what could decide it
# A condition's truth and, when that is None, the missing fields (paths) and derived facts
# (``derived.name``) whose values could decide it.
Decision = tuple[Truth, frozenset[str]]
Decide = Callable[[Mapping[str, object], Context, Cited], Decision]
_DECIDED: frozenset[str] = frozenset()


def planned_decision(condition: Cond) -> Decide:
    """The condition's truth with what could decide it where missing data leaves it undecided,
    as closures made once: the data gaps a funder is asked to fill.

    A part already decided asks for nothing: in ``a or b`` with ``a`` missing and ``b`` false only
    ``a`` could decide it, and in ``a and b`` with ``b`` false the condition is decided already.
    A rule it cites is asked about through the ``Cited`` given with the profile.
    """
    if isinstance(condition, And | Or):
        return _planned_connective([planned_decision(p) for p in condition.parts], condition)
    if isinstance(condition, Not):
        return _planned_decision_negated(planned_decision(condition.part))
    if isinstance(condition, Quantified):
        return _planned_decision_quantified(condition, planned_decision(condition.where))
    if isinstance(condition, RuleRef):
        return _planned_decision_cited(condition)
    if isinstance(condition, Compare | OneOf | Missing):
        return _planned_decision_leaf(condition)
    assert_never(condition)


def _planned_connective(parts: list[Decide], condition: And | Or) -> Decide:
    settles = isinstance(condition, Or)  # the value of a part that decides the whole

    def connective(scope: Mapping[str, object], context: Context, cited: Cited) -> Decision:
        found: set[str] = set()
        undecided = False
        for part in parts:
            result, deciding = part(scope, context, cited)
            if result is settles:
                return settles, _DECIDED
            if result is None:
                undecided = True
                found |= deciding
        return (None, frozenset(found)) if undecided else (not settles, _DECIDED)

    return connective


def _planned_decision_negated(part: Decide) -> Decide:
    def negated(scope: Mapping[str, object], context: Context, cited: Cited) -> Decision:
        result, deciding = part(scope, context, cited)
        return (None, deciding) if result is None else (not result, _DECIDED)

    return negated


def _planned_decision_quantified(condition: Quantified, where: Decide) -> Decide:
    keys, path, every = condition.items.keys, condition.items.path, condition.quantifier == "all"

    def quantified(scope: Mapping[str, object], context: Context, cited: Cited) -> Decision:
        items = lookup(scope, keys)
        if items is MISSING:
            return None, frozenset((path,))
        found: set[str] = set()
        undecided = False
        for item in cast(Items, items):
            result, deciding = where(item, context, cited)
            if result is not every and result is not None:  # some item settles it
                return not every, _DECIDED
            if result is None:
                undecided = True
                found |= deciding
        if undecided:
            return None, frozenset(found)
        return every and bool(items), _DECIDED  # all() of no items is false (docs/conditions.md)

    return quantified


def _planned_decision_cited(condition: RuleRef) -> Decide:
    def cited_rule(scope: Mapping[str, object], context: Context, cited: Cited) -> Decision:
        result = _cited(condition, context)
        return (None, frozenset(cited(condition.rule))) if result is None else (result, _DECIDED)

    return cited_rule


def _planned_decision_leaf(condition: Compare | OneOf | Missing) -> Decide:
    judge = planned(condition)
    terms = (
        (condition.left, condition.right)
        if isinstance(condition, Compare)
        else (condition.value,)
        if isinstance(condition, OneOf)
        else ()
    )

    def leaf(scope: Mapping[str, object], context: Context, cited: Cited) -> Decision:
        result = judge(scope, context)
        if result is not None:
            return result, _DECIDED
        found: set[str] = set()
        for term in terms:
            _missing_in(term, scope, context, cited, found)
        return None, frozenset(found)

    return leaf


def _missing_in(
    term: Term, scope: Mapping[str, object], context: Context, cited: Cited, found: set[str]
) -> None:
    """The missing values a term's own value waits for."""
    if isinstance(term, Field):
        if lookup(scope, term.keys) is MISSING:
            found.add(term.path)
    elif isinstance(term, Derived):
        if term.name not in context.derived:
            found.add(DERIVED_PREFIX + term.name)
    elif isinstance(term, Arith):
        _missing_in(term.left, scope, context, cited, found)
        _missing_in(term.right, scope, context, cited, found)
    elif isinstance(term, Count):
        items = _items(scope, term.items)
        if items is None:
            found.add(term.items.path)
        elif term.where is not None:  # rare: planned where it is met
            where = planned_decision(term.where)
            for item in items:
                found |= where(item, context, cited)[1]
    elif not isinstance(term, Const):
        assert_never(term)


# --- planned once: the same judgement as truth(), as closures made once per condition ---------

Judge = Callable[[Mapping[str, object], Context], Truth]
Reader = Callable[[Mapping[str, object], Context], object]


def planned(condition: Cond) -> Judge:
    """``truth`` of the condition as one closure, made once; it keeps no trace.

    The durable_rules program judges some conditions for every list item of every profile (see
    language.durable's item flags): planned, they skip the walk over the tree each time.
    """
    match condition:
        case Compare():
            return _planned_comparison(condition)
        case And():
            return _planned_and_or([planned(part) for part in condition.parts], False)
        case Or():
            return _planned_and_or([planned(part) for part in condition.parts], True)
        case Not():
            return _planned_negation(planned(condition.part))
        case OneOf():
            return _planned_one_of(planned_value(condition.value), condition.options)
        case Missing():
            keys = condition.field.keys
            return lambda scope, context: lookup(scope, keys) is MISSING
        case Quantified():
            return _planned_quantified(condition, planned(condition.where))
        case RuleRef():
            return lambda scope, context: _cited(condition, context)
        case _:
            assert_never(condition)


def planned_value(term: Term) -> Reader:
    """``value_of`` the term as one closure, made once."""
    match term:
        case Field():
            return _planned_field(term.keys)
        case Const():
            value = term.value
            return lambda scope, context: value
        case Derived():
            name = term.name
            return lambda scope, context: context.derived.get(name, MISSING)
        case Arith():
            return _planned_calculation(term)
        case Count():
            return _planned_count(term)
        case _:
            assert_never(term)


def _planned_field(keys: tuple[str, ...]) -> Reader:
    """``lookup`` of a field, unrolled for the paths of one or two keys nearly every field has.

    Profiles and list items reach here as plain dicts (JSON-mode dumps), so ``get`` serves.
    """
    if len(keys) == 1:
        (key,) = keys

        def top_level(scope: Mapping[str, object], context: Context) -> object:
            value = scope.get(key)
            return MISSING if value is None else value

        return top_level
    if len(keys) == 2:
        outer, inner = keys

        def nested(scope: Mapping[str, object], context: Context) -> object:
            section = scope.get(outer)
            if type(section) is not dict:  # missing (None), or not a mapping: never read into
                return lookup(scope, keys)
            value = section.get(inner)
            return MISSING if value is None else value

        return nested
    return lambda scope, context: lookup(scope, keys)


def _planned_count(term: Count) -> Reader:
    """``value_of`` a count, as ``_count`` gives it: its condition planned, judged per item."""
    keys = term.items.keys
    if term.where is None:
        return lambda scope, context: _length(lookup(scope, keys))
    where = planned(term.where)

    def count(scope: Mapping[str, object], context: Context) -> object:
        items = lookup(scope, keys)
        if items is MISSING:
            return MISSING
        results = [where(item, context) for item in cast(Items, items)]
        met = results.count(True)
        return _range(met, met + results.count(None))

    return count


def _length(items: object) -> object:
    return MISSING if items is MISSING else len(cast(Items, items))


def _planned_calculation(term: Arith) -> Reader:
    """``value_of`` a calculation: its operands planned, the arithmetic as ``_calculate``'s."""
    left, right = planned_value(term.left), planned_value(term.right)

    def calculation(scope: Mapping[str, object], context: Context) -> object:
        return _arithmetic(term.op, left(scope, context), right(scope, context))

    return calculation


def _planned_comparison(condition: Compare) -> Judge:
    if ranged(condition.left) or ranged(condition.right):
        return _planned_range_comparison(condition)
    compare = _COMPARE[condition.op]
    left = planned_value(condition.left)
    if isinstance(condition.right, Const):  # the commonest form, `field op constant`
        constant = condition.right.value

        def with_constant(scope: Mapping[str, object], context: Context) -> Truth:
            value = left(scope, context)
            return None if value is MISSING else compare(value, constant)

        return with_constant
    right = planned_value(condition.right)

    def comparison(scope: Mapping[str, object], context: Context) -> Truth:
        left_value, right_value = left(scope, context), right(scope, context)
        if left_value is MISSING or right_value is MISSING:
            return None
        return compare(left_value, right_value)

    return comparison


def _planned_range_comparison(condition: Compare) -> Judge:
    """A comparison with a count that may be a Range (rare: its items are walked anyway)."""
    op, left, right = condition.op, planned_value(condition.left), planned_value(condition.right)

    def comparison(scope: Mapping[str, object], context: Context) -> Truth:
        left_value, right_value = left(scope, context), right(scope, context)
        if left_value is MISSING or right_value is MISSING:
            return None
        return compare_ranges(op, left_value, right_value)

    return comparison


def _planned_and_or(parts: list[Judge], settles: bool) -> Judge:
    """``and`` (``settles`` False) or ``or`` (True) of the parts, in Kleene logic: the first part
    that is ``settles`` decides it, unjudged the parts after it (judges have no side effects:
    the truth is ``truth``'s); else unknown if any part is, else ``not settles``."""

    def connective(scope: Mapping[str, object], context: Context) -> Truth:
        undecided = False
        for part in parts:
            result = part(scope, context)
            if result is settles:
                return settles
            if result is None:
                undecided = True
        return None if undecided else not settles

    return connective


def _planned_negation(part: Judge) -> Judge:
    def negation(scope: Mapping[str, object], context: Context) -> Truth:
        result = part(scope, context)
        return None if result is None else not result

    return negation


def _planned_one_of(value: Reader, options: tuple[Const, ...]) -> Judge:
    values = [option.value for option in options]

    def one_of(scope: Mapping[str, object], context: Context) -> Truth:
        found = value(scope, context)
        if type(found) is Range:
            return _range_one_of(found, values)
        return None if found is MISSING else found in values

    return one_of


def _planned_quantified(condition: Quantified, where: Judge) -> Judge:
    """``any``/``all`` of the items as ``_planned_and_or`` judges its parts: the first item
    that settles it (true for ``any``, false for ``all``) decides it."""
    keys, settles = condition.items.keys, condition.quantifier == "any"

    def quantified(scope: Mapping[str, object], context: Context) -> Truth:
        items = lookup(scope, keys)
        if items is MISSING:
            return None
        undecided = False
        for item in cast(Items, items):
            result = where(item, context)
            if result is settles:
                return settles
            if result is None:
                undecided = True
        if undecided:
            return None
        return not settles and bool(items)  # all() of no items is false (docs/conditions.md)

    return quantified
