"""The condition language: parsed into a typed tree, checked against the schema, never eval'd.

A condition reads like ``organisation.yearly_income >= 100000 and any(partnerships, role ==
"buyer")``.  The grammar, from loosest to tightest binding::

    or_expr    := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | comparison
    comparison := sum [("==" | "!=" | "<" | "<=" | ">" | ">=") sum | ["not"] "in" "[" literals "]"]
    sum        := product (("+" | "-") product)*
    product    := atom (("*" | "/") atom)*
    atom       := number | string | true | false | path | call | "(" condition ")"
    call       := any(list, condition) | all(list, condition) | count(list[, condition])
                | missing(path) | present(path) | passed(rule) | failed(rule)

Values are three-valued: a comparison that touches missing data is *unknown*, never false, so a
data gap is never mistaken for a failure (see docs/conditions.md).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import assert_never

from scaleready.language.nodes import (
    DERIVED_PREFIX,
    And,
    Arith,
    Compare,
    Cond,
    ConditionError,
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
    Term,
)
from scaleready.outcome import Outcome
from scaleready.problems import did_you_mean
from scaleready.profile import RULES_CANNOT_READ, FieldInfo

FUNCTIONS = ("any", "all", "count", "missing", "present", "passed", "failed")
COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")
ORDERING = ("<", "<=", ">", ">=")


# --- what a condition may name ----------------------------------------------------------------


@dataclass(frozen=True)
class Vocabulary:
    """The names a condition may use: profile fields, derived facts, and the ruleset's rule ids."""

    fields: Mapping[str, FieldInfo]  # dotted path -> its kind, choices and list
    derived: dict[str, str] = field(default_factory=dict)  # fact name -> kind
    rules: frozenset[str] = frozenset()

    def field(self, name: str, scope: str | None) -> Field:
        path = f"{scope}.{name}" if scope else name
        info = self.fields.get(path)
        if info is None or info.in_list != scope:
            raise ConditionError(self._unreadable(path) or self._unknown_field_message(name, scope))
        return Field(path, tuple(name.split(".")), info.kind, info.choices, info.in_list)

    @staticmethod
    def _unreadable(path: str) -> str | None:
        """Why a field outside the catalogue on purpose (``metadata``) cannot be read, if it is."""
        top = path.split(".", 1)[0]
        if top not in RULES_CANNOT_READ:
            return None
        return f"field {path!r} cannot be used in a condition: {RULES_CANNOT_READ[top]}"

    def _unknown_field_message(self, name: str, scope: str | None) -> str:
        names = [
            p[len(scope) + 1 :] if scope else p
            for p, i in self.fields.items()
            if i.in_list == scope
        ]
        where = f" in the items of {scope}" if scope else ""
        hint = did_you_mean(name, names, otherwise="see `scaleready profile schema`")
        return f"unknown field {name!r}{where}; {hint}"

    def derived_fact(self, name: str) -> Derived:
        if name not in self.derived:
            hint = did_you_mean(name, self.derived, "no plugin registers a fact of that name")
            raise ConditionError(f"unknown derived fact {name!r}; {hint}")
        return Derived(name, self.derived[name])


# --- limits -----------------------------------------------------------------------------------
# Each bound keeps a condition well inside what the parser, the evaluator and the durable_rules
# C core handle; docs/conditions.md ("Limits") gives the measurements behind each figure.

MAX_CONDITION_LENGTH = 10_000  # characters in one condition
MAX_NESTING = 32  # brackets, `not`s and function calls inside one another, and calculation steps
MAX_NUMBER = sys.float_info.max  # largest magnitude of a number constant: what a float holds
MAX_TEXT_LENGTH = 200  # characters in one text constant

# --- tokens -----------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<number>\d[\d_]*(?:\.\d+)?)
    | (?P<string>"[^"\\]*"|'[^'\\]*')
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    | (?P<op>==|!=|<=|>=|[<>+\-*/(),\[\]])
    | (?P<bad>\S)
    )""",
    re.VERBOSE,
)
_SPACE = re.compile(r"\s*")
_KEYWORDS = {"and", "or", "not", "in", "true", "false"}


@dataclass(frozen=True)
class Token:
    type: str  # number, string, name, keyword, op, end
    text: str
    column: int


def tokenize(text: str) -> Iterator[Token]:
    """Split a condition into tokens; reject anything that is not part of the language."""
    position = _after_space(text, 0)
    while position < len(text):
        match = _TOKEN.match(text, position)
        assert match is not None and match.lastgroup is not None  # a catch-all ends the pattern
        kind = match.lastgroup
        column, word = match.start(kind) + 1, match.group(kind)
        if kind == "bad":
            raise ConditionError(f"unexpected {word!r} at column {column}{_hint_for(word)}")
        if kind == "name" and word in _KEYWORDS:
            kind = "keyword"
        yield Token(kind, word, column)
        position = _after_space(text, match.end())
    yield Token("end", "", len(text) + 1)


def _after_space(text: str, position: int) -> int:
    space = _SPACE.match(text, position)
    assert space is not None  # \s* matches anywhere, if only the empty string
    return space.end()


def _hint_for(character: str) -> str:
    hints = {"=": "; compare with ==", "&": "; write and", "|": "; write or", "!": "; write not"}
    return hints.get(character, "")


def number_constant(written: str, column: int) -> int | float:
    """The value of a number as written (a sign, digits, ``_``, a point), if within range."""
    digits = written.replace("_", "")
    exact = Decimal(digits)  # exact and cheap for any length, unlike int() past 4,300 digits
    if len(written) > 24:
        written = f"{written[:16]}... ({len(written):,} characters)"
    if abs(exact) > Decimal(MAX_NUMBER):
        raise ConditionError(
            f"the number {written} at column {column} is too large: a number in a condition "
            f"is at most {MAX_NUMBER:.3g} in size, as a floating-point number holds"
        )
    if exact and not float(exact):
        raise ConditionError(
            f"the number {written} at column {column} is too small: a floating-point number "
            "would hold it as 0"
        )
    return float(exact) if "." in digits else int(exact)


def text_constant(token: Token) -> str:
    """The value of a text token, if it is within the documented length."""
    value = token.text[1:-1]
    if len(value) > MAX_TEXT_LENGTH:
        raise ConditionError(
            f"the text at column {token.column} is {len(value):,} characters long; "
            f"texts in conditions are at most {MAX_TEXT_LENGTH}"
        )
    return value


# --- parsing and checking -----------------------------------------------------------------------


def parse_condition(text: str, vocabulary: Vocabulary) -> Cond:
    """Parse and type-check a condition; raise ConditionError naming the offending text.

    The parser reads each token once (no backtracking), so its time grows with the length of
    the condition, and MAX_NESTING bounds its recursion.
    """
    if not isinstance(text, str) or not text.strip():
        raise ConditionError("a condition must be a non-empty string")
    if len(text) > MAX_CONDITION_LENGTH:
        raise ConditionError(
            f"the condition is {len(text):,} characters long; at most {MAX_CONDITION_LENGTH:,}"
        )
    return _Parser(text, vocabulary).parse()


class _Parser:
    """Recursive descent over one expression grammar; kinds are checked as nodes are built.

    A bracket may hold a calculation (``(a + b) * 2``) or a condition (``(a or b) and c``): both
    are parsed by the same rules, and whether a condition is needed is checked afterwards
    (``as_condition``), so no part of the text is read twice.
    """

    def __init__(self, text: str, vocabulary: Vocabulary) -> None:
        self._stream = tokenize(text)  # lazily, so an unknown function is named before a later typo
        self.tokens: list[Token] = []
        self.index = 0
        self.vocabulary = vocabulary
        self.scopes: list[str] = []  # list paths of the enclosing any/all/count
        self.nesting = 0
        self.heights: dict[int, tuple[Arith, int]] = {}  # id -> (calculation, its depth)

    @property
    def token(self) -> Token:
        while len(self.tokens) <= self.index and (not self.tokens or self.tokens[-1].type != "end"):
            self.tokens.append(next(self._stream))
        return self.tokens[min(self.index, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.token
        self.index += 1
        return token

    def accept(self, *texts: str) -> Token | None:
        if self.token.type in ("op", "keyword") and self.token.text in texts:
            return self.advance()
        return None

    def expect(self, text: str) -> None:
        if not self.accept(text):
            raise self.error(f"expected {text!r}")

    def error(self, message: str) -> ConditionError:
        found = repr(self.token.text) if self.token.type != "end" else "the end"
        return ConditionError(f"{message} but found {found} at column {self.token.column}")

    @contextmanager
    def nested(self, start: Token) -> Iterator[None]:
        """One level deeper: a bracket, a ``not`` or a function call."""
        if self.nesting >= MAX_NESTING:
            raise ConditionError(
                f"nested more than {MAX_NESTING} deep at column {start.column} (brackets, not "
                "and functions count); split the rule or use a derived fact"
            )
        self.nesting += 1
        try:
            yield
        finally:
            self.nesting -= 1

    def parse(self) -> Cond:
        start = self.token
        node = self.expression()
        if self.token.type != "end":
            raise self.error("expected and, or, or the end of the condition")
        return as_condition(node, start)

    def expression(self) -> Node:
        """``a or b``; a lone operand is returned as it is, a calculation or a condition."""
        return self.joined("or", self.conjunction, Or)

    def conjunction(self) -> Node:
        return self.joined("and", self.negation, And)

    def joined(self, word: str, operand: Callable[[], Node], node: type[And] | type[Or]) -> Node:
        start = self.token
        first = operand()
        if not (self.token.type == "keyword" and self.token.text == word):
            return first
        parts = [as_condition(first, start)]
        while self.accept(word):
            start = self.token
            parts.append(as_condition(operand(), start))
        return node(tuple(parts))

    def negation(self) -> Node:
        start = self.token
        if not self.accept("not"):
            return self.comparison()
        with self.nested(start):
            operand = self.token
            return Not(as_condition(self.negation(), operand))

    def comparison(self) -> Node:
        left = self.sum()
        if self.accept("in"):
            return self.membership(left)
        if self.accept("not"):
            if not self.accept("in"):
                raise self.error("expected 'in' after 'not'")
            return Not(self.membership(left))
        op = self.accept(*COMPARISONS)
        if op:
            return check_comparison(op.text, left, self.sum())
        return left

    def membership(self, value: Node) -> Cond:
        self.expect("[")
        options = [self.literal()]
        while self.accept(","):
            options.append(self.literal())
        self.expect("]")
        checked = [check_comparison("==", value, option) for option in options]
        return OneOf(checked[0].left, tuple(options))  # the value, known now to be a term

    def literal(self) -> Const:
        term = self.atom()
        if not isinstance(term, Const):
            raise ConditionError(
                "the list after 'in' may hold only numbers, strings, true or false"
            )
        return term

    def sum(self) -> Node:
        term = self.product()
        while op := self.accept("+", "-"):
            term = self.arithmetic(op, term, self.product())
        return term

    def product(self) -> Node:
        term = self.atom()
        while op := self.accept("*", "/"):
            term = self.arithmetic(op, term, self.atom())
        return term

    def arithmetic(self, op: Token, left: Node, right: Node) -> Arith:
        calculation = arithmetic(op.text, left, right)
        height = 1 + max(self.height(left), self.height(right))
        if height > MAX_NESTING:
            raise ConditionError(
                f"a calculation of more than {MAX_NESTING} steps at column {op.column}; "
                "a plugin can provide the result as a derived fact"
            )
        self.heights[id(calculation)] = (calculation, height)
        return calculation

    def height(self, term: Node) -> int:
        return self.heights[id(term)][1] if isinstance(term, Arith) else 0

    def atom(self) -> Node:
        token = self.advance()
        if token.type == "number":
            return Const(number_constant(token.text, token.column))
        if token.type == "string":
            return Const(text_constant(token))
        if token.type == "keyword" and token.text in ("true", "false"):
            return Const(token.text == "true")
        if token.type == "op" and token.text == "-" and self.token.type == "number":
            return Const(number_constant("-" + self.advance().text, token.column))
        if token.type == "op" and token.text == "(":
            with self.nested(token):
                inner = self.expression()
                self.expect(")")
                return inner
        if token.type == "name":
            if self.accept("("):
                with self.nested(token):
                    return self.call(token)
            return self.name(token)
        self.index -= 1
        raise self.error("expected a value, a field or a function")

    def name(self, token: Token) -> Term:
        if token.text.startswith(DERIVED_PREFIX):
            if self.scopes:
                raise ConditionError(
                    f"derived fact {token.text!r} cannot be used inside any/all/count"
                )
            return self.vocabulary.derived_fact(token.text[len(DERIVED_PREFIX) :])
        return self.field(token)

    def field(self, token: Token) -> Field:
        scope = self.scopes[-1] if self.scopes else None
        return self.vocabulary.field(token.text, scope)

    def call(self, token: Token) -> Node:
        handlers: dict[str, Callable[[], Node]] = {
            "any": lambda: self.quantified("any"),
            "all": lambda: self.quantified("all"),
            "count": self.count,
            "missing": lambda: self.missing(),
            "present": lambda: Not(self.missing()),
            "passed": lambda: self.rule_ref(Outcome.PASS),
            "failed": lambda: self.rule_ref(Outcome.FAIL),
        }
        if token.text not in handlers:
            raise ConditionError(
                f"unknown function {token.text!r} at column {token.column}; "
                f"conditions can only use {', '.join(FUNCTIONS)}"
            )
        result = handlers[token.text]()
        self.expect(")")
        return result

    def list_field(self, function: str) -> Field:
        token = self.advance()
        if token.type != "name":
            self.index -= 1
            raise self.error(f"{function}() needs a list field first")
        items = self.name(token)
        if not isinstance(items, Field) or items.kind != "list":
            raise ConditionError(
                f"{function}() needs a list field, but {token.text!r} is not a list"
            )
        return items

    def in_scope(self, items: Field, parse: Callable[[], Cond]) -> Cond:
        self.scopes.append(items.path)
        try:
            return parse()
        finally:
            self.scopes.pop()

    def quantified(self, quantifier: str) -> Cond:
        items = self.list_field(quantifier)
        self.expect(",")
        return Quantified(quantifier, items, self.in_scope(items, self.item_condition))

    def item_condition(self) -> Cond:
        start = self.token
        return as_condition(self.expression(), start)

    def count(self) -> Count:
        if self.scopes:
            raise ConditionError("count() cannot be used inside any/all/count")
        items = self.list_field("count")
        where = self.in_scope(items, self.item_condition) if self.accept(",") else None
        return Count(items, where)

    def missing(self) -> Missing:
        token = self.advance()
        if token.type != "name" or token.text.startswith(DERIVED_PREFIX):
            self.index -= 1
            raise self.error("missing()/present() need a profile field")
        return Missing(self.field(token))

    def rule_ref(self, wanted: Outcome) -> RuleRef:
        if self.scopes:
            raise ConditionError("passed()/failed() cannot be used inside any/all/count")
        token = self.advance()
        if token.type != "name":
            self.index -= 1
            raise self.error("passed()/failed() need a rule id")
        if token.text not in self.vocabulary.rules:
            hint = did_you_mean(token.text, self.vocabulary.rules)
            suggestion = f"; {hint}" if hint else ""
            raise ConditionError(f"unknown rule {token.text!r} in this ruleset{suggestion}")
        return RuleRef(token.text, wanted)


def as_term(node: Node) -> Term | None:
    """The node as a value, or None if it is a condition."""
    match node:
        case Const() | Field() | Derived() | Arith() | Count():
            return node
        case Compare() | OneOf() | Missing() | And() | Or() | Not() | Quantified() | RuleRef():
            return None
        case _:
            assert_never(node)


def as_condition(node: Node, start: Token) -> Cond:
    """A bare term is a condition only if it is a yes/no field (``replication.manual``)."""
    match node:
        case Compare() | OneOf() | Missing() | And() | Or() | Not() | Quantified() | RuleRef():
            return node
        case Field() | Derived() | Arith() | Count() if node.kind == "boolean":
            return Compare("==", node, Const(True))
        case Const() | Field() | Derived() | Arith() | Count():
            raise ConditionError(
                f"{describe(node)} at column {start.column} is not a yes/no condition; "
                "compare it with ==, <, >, ... or use a yes/no field"
            )
        case _:
            assert_never(node)


def describe(node: Node) -> str:
    """A node as an error message names it."""
    match node:
        case Field():
            return f"field {node.path!r} ({node.kind})"
        case Derived():
            return f"derived fact {node.name!r} ({node.kind})"
        case Const():
            return f"the {node.kind} {node.value!r}"
        case Count():
            return f"count({node.items.path})"
        case Arith():
            return "a calculation"
        case Compare() | OneOf() | Missing() | And() | Or() | Not() | Quantified() | RuleRef():
            return "a condition"
        case _:
            assert_never(node)


def arithmetic(op: str, left: Node, right: Node) -> Arith:
    """A calculation, if both sides are numbers and not both constants."""
    left_term, right_term = _number(op, left), _number(op, right)
    if isinstance(left_term, Const) and isinstance(right_term, Const):
        raise ConditionError("a calculation between two constants: write the result instead")
    return Arith(op, left_term, right_term)


def _number(op: str, side: Node) -> Term:
    term = as_term(side)
    if term is None or term.kind != "number":
        raise ConditionError(f"{op!r} needs numbers, but {describe(side)} is not a number")
    return term


def check_comparison(op: str, left: Node, right: Node) -> Compare:
    """Reject comparisons whose kinds cannot match, orderings on non-numbers, unknown choices."""
    left_term, right_term = _comparable(op, left), _comparable(op, right)
    if isinstance(left_term, Const) and isinstance(right_term, Const):
        raise ConditionError(
            f"{op} compares two constants ({left_term.value!r}, {right_term.value!r})"
        )
    if left_term.kind != right_term.kind:
        raise ConditionError(
            f"cannot compare {describe(left)} with {describe(right)}: their types cannot match"
        )
    if op in ORDERING and left_term.kind != "number":
        raise ConditionError(f"{op} needs numbers, but {describe(left)} is a {left_term.kind}")
    _check_choice(left_term, right_term)
    _check_choice(right_term, left_term)
    return Compare(op, left_term, right_term)


def _comparable(op: str, side: Node) -> Term:
    term = as_term(side)
    if term is None or term.kind in ("list", "object"):
        raise ConditionError(f"cannot compare {describe(side)} with {op}")
    return term


def _check_choice(field_side: Term, const_side: Term) -> None:
    if not (isinstance(field_side, Field) and isinstance(const_side, Const)):
        return
    choices = field_side.choices
    if choices and const_side.value not in choices:
        hint = did_you_mean(str(const_side.value), choices)
        suggestion = f"{hint} " if hint else ""
        raise ConditionError(
            f"{const_side.value!r} is not a value {field_side.path!r} can take; "
            f"{suggestion}(choices: {', '.join(choices)})"
        )
