"""The condition language: parsed into a typed tree, checked against the schema, never eval'd.

A condition reads like ``organisation.yearly_income >= 100000 and any(partnerships, role ==
"buyer")``.  The grammar, from loosest to tightest binding::

    condition  := or_expr
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

import math
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal

from scaleready.problems import nearest

FUNCTIONS = ("any", "all", "count", "missing", "present", "passed", "failed")
COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")
ORDERING = ("<", "<=", ">", ">=")
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
    wanted: str


Term = Const | Field | Derived | Arith | Count
Cond = Compare | OneOf | Missing | And | Or | Not | Quantified | RuleRef


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


# --- what a condition may name ----------------------------------------------------------------


@dataclass(frozen=True)
class Vocabulary:
    """The names a condition may use: profile fields, derived facts, and the ruleset's rule ids."""

    fields: dict  # dotted path -> FieldInfo from scaleready.profile.field_catalogue
    derived: dict[str, str] = field(default_factory=dict)  # fact name -> kind
    rules: frozenset[str] = frozenset()

    def field(self, name: str, scope: str | None) -> Field:
        path = f"{scope}.{name}" if scope else name
        info = self.fields.get(path)
        if info is None or info.in_list != scope:
            raise ConditionError(self._unknown_field_message(name, scope))
        return Field(path, tuple(name.split(".")), info.kind, info.choices, info.in_list)

    def _unknown_field_message(self, name: str, scope: str | None) -> str:
        names = [
            p[len(scope) + 1 :] if scope else p
            for p, i in self.fields.items()
            if i.in_list == scope
        ]
        where = f" in the items of {scope}" if scope else ""
        hint = nearest(name, names)
        suggestion = f"; did you mean {hint!r}?" if hint else "; see `scaleready profile schema`"
        return f"unknown field {name!r}{where}{suggestion}"

    def derived_fact(self, name: str) -> Derived:
        if name not in self.derived:
            hint = nearest(name, self.derived)
            known = f"did you mean {hint!r}?" if hint else "no plugin registers a fact of that name"
            raise ConditionError(f"unknown derived fact {name!r}; {known}")
        return Derived(name, self.derived[name])


# --- limits -----------------------------------------------------------------------------------
# Each bound keeps a condition well inside what the parser, the evaluator and the durable_rules
# C core handle; docs/conditions.md ("Limits") gives the measurements behind each figure.

MAX_CONDITION_LENGTH = 10_000  # characters in one condition
MAX_NESTING = 32  # brackets, `not`s and function calls inside one another, and calculation steps
MAX_NUMBER = sys.float_info.max  # largest magnitude of a number constant: what a float holds
MAX_TEXT_LENGTH = 200  # characters in one text constant
# A rule's outcomes once compiled for durable_rules (see CompiledSize); measured walls in docs:
MAX_ALTERNATIVES = 32  # ways through one outcome's network; its C core walks 64 at most at once
MAX_GROUPS = 12  # and/or groups in one outcome; the C core fails (error 113) past 15
MAX_TESTS = 256  # tests in one outcome, counting the rules it cites
MAX_DEPTH = 64  # levels of the condition tree, counting the rules it cites


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
    position = _SPACE.match(text).end()
    while position < len(text):
        match = _TOKEN.match(text, position)
        assert match is not None  # the pattern ends with a catch-all
        column = match.start(match.lastgroup) + 1
        kind, word = match.lastgroup, match.group(match.lastgroup)
        if kind == "bad":
            raise ConditionError(f"unexpected {word!r} at column {column}{_hint_for(word)}")
        if kind == "name" and word in _KEYWORDS:
            kind = "keyword"
        yield Token(kind, word, column)
        position = _SPACE.match(text, match.end()).end()
    yield Token("end", "", len(text) + 1)


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

    def expression(self) -> Term | Cond:
        """``a or b``; a lone operand is returned as it is, a calculation or a condition."""
        return self.joined("or", self.conjunction, Or)

    def conjunction(self) -> Term | Cond:
        return self.joined("and", self.negation, And)

    def joined(self, word: str, operand: Callable[[], Term | Cond], node: type) -> Term | Cond:
        start = self.token
        first = operand()
        if not (self.token.type == "keyword" and self.token.text == word):
            return first
        parts = [as_condition(first, start)]
        while self.accept(word):
            start = self.token
            parts.append(as_condition(operand(), start))
        return node(tuple(parts))

    def negation(self) -> Term | Cond:
        start = self.token
        if not self.accept("not"):
            return self.comparison()
        with self.nested(start):
            operand = self.token
            return Not(as_condition(self.negation(), operand))

    def comparison(self) -> Term | Cond:
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

    def membership(self, value: Term) -> Cond:
        self.expect("[")
        options = [self.literal()]
        while self.accept(","):
            options.append(self.literal())
        self.expect("]")
        for option in options:
            check_comparison("==", value, option)
        return OneOf(value, tuple(options))

    def literal(self) -> Const:
        term = self.atom()
        if not isinstance(term, Const):
            raise ConditionError(
                "the list after 'in' may hold only numbers, strings, true or false"
            )
        return term

    def sum(self) -> Term:
        term = self.product()
        while op := self.accept("+", "-"):
            term = self.arithmetic(op, term, self.product())
        return term

    def product(self) -> Term:
        term = self.atom()
        while op := self.accept("*", "/"):
            term = self.arithmetic(op, term, self.atom())
        return term

    def arithmetic(self, op: Token, left: Term, right: Term) -> Arith:
        if self.scopes:
            raise ConditionError(
                "calculations cannot be used inside any/all/count; a plugin can provide the "
                "result as a derived fact"
            )
        calculation = arithmetic(op.text, left, right)
        height = 1 + max(self.height(left), self.height(right))
        if height > MAX_NESTING:
            raise ConditionError(
                f"a calculation of more than {MAX_NESTING} steps at column {op.column}; "
                "a plugin can provide the result as a derived fact"
            )
        self.heights[id(calculation)] = (calculation, height)
        return calculation

    def height(self, term: Term) -> int:
        return self.heights[id(term)][1] if isinstance(term, Arith) else 0

    def atom(self) -> Term | Cond:
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
        scope = self.scopes[-1] if self.scopes else None
        return self.vocabulary.field(token.text, scope)

    def call(self, token: Token) -> Term | Cond:
        handlers: dict[str, Callable[[], Term | Cond]] = {
            "any": lambda: self.quantified("any"),
            "all": lambda: self.quantified("all"),
            "count": self.count,
            "missing": lambda: self.missing(),
            "present": lambda: Not(self.missing()),
            "passed": lambda: self.rule_ref("pass"),
            "failed": lambda: self.rule_ref("fail"),
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
        return Missing(self.name(token))

    def rule_ref(self, wanted: str) -> RuleRef:
        if self.scopes:
            raise ConditionError("passed()/failed() cannot be used inside any/all/count")
        token = self.advance()
        if token.type != "name":
            self.index -= 1
            raise self.error("passed()/failed() need a rule id")
        if token.text not in self.vocabulary.rules:
            hint = nearest(token.text, self.vocabulary.rules)
            suggestion = f"; did you mean {hint!r}?" if hint else ""
            raise ConditionError(f"unknown rule {token.text!r} in this ruleset{suggestion}")
        return RuleRef(token.text, wanted)


_CONDITION_TYPES = (Compare, OneOf, Missing, And, Or, Not, Quantified, RuleRef)


def as_condition(node: Term | Cond, start: Token) -> Cond:
    """A bare term is a condition only if it is a yes/no field (``replication.manual``)."""
    if isinstance(node, _CONDITION_TYPES):
        return node
    if getattr(node, "kind", None) == "boolean" and not isinstance(node, Const):
        return Compare("==", node, Const(True))
    raise ConditionError(
        f"{describe(node)} at column {start.column} is not a yes/no condition; "
        "compare it with ==, <, >, ... or use a yes/no field"
    )


def describe(node: Term | Cond) -> str:
    if isinstance(node, Field):
        return f"field {node.path!r} ({node.kind})"
    if isinstance(node, Derived):
        return f"derived fact {node.name!r} ({node.kind})"
    if isinstance(node, Const):
        return f"the {node.kind} {node.value!r}"
    if isinstance(node, Count):
        return f"count({node.items.path})"
    if isinstance(node, Arith):
        return "a calculation"
    return "a condition"


def arithmetic(op: str, left: Term, right: Term) -> Arith:
    for side in (left, right):
        if getattr(side, "kind", None) != "number":
            raise ConditionError(f"{op!r} needs numbers, but {describe(side)} is not a number")
    if isinstance(left, Const) and isinstance(right, Const):
        raise ConditionError("a calculation between two constants: write the result instead")
    return Arith(op, left, right)


def check_comparison(op: str, left: Term, right: Term) -> Compare:
    """Reject comparisons whose kinds cannot match, orderings on non-numbers, unknown choices."""
    for side in (left, right):
        if isinstance(side, _CONDITION_TYPES) or getattr(side, "kind", None) in ("list", "object"):
            raise ConditionError(f"cannot compare {describe(side)} with {op}")
    if isinstance(left, Const) and isinstance(right, Const):
        raise ConditionError(f"{op} compares two constants ({left.value!r}, {right.value!r})")
    if left.kind != right.kind:
        raise ConditionError(
            f"cannot compare {describe(left)} with {describe(right)}: their types cannot match"
        )
    if op in ORDERING and left.kind != "number":
        raise ConditionError(f"{op} needs numbers, but {describe(left)} is a {left.kind}")
    _check_choice(left, right)
    _check_choice(right, left)
    return Compare(op, left, right)


def _check_choice(field_side: Term, const_side: Term) -> None:
    choices = getattr(field_side, "choices", None)
    if choices and isinstance(const_side, Const) and const_side.value not in choices:
        hint = nearest(str(const_side.value), choices)
        suggestion = f"did you mean {hint!r}? " if hint else ""
        raise ConditionError(
            f"{const_side.value!r} is not a value {field_side.path!r} can take; "
            f"{suggestion}(choices: {', '.join(choices)})"
        )


# --- walking the tree ----------------------------------------------------------------------------


def children(node: Term | Cond) -> tuple:
    """The direct sub-nodes of a node, for generic walks."""
    if isinstance(node, And | Or):
        return node.parts
    if isinstance(node, Not):
        return (node.part,)
    if isinstance(node, Compare | Arith):
        return (node.left, node.right)
    if isinstance(node, OneOf):
        return (node.value, *node.options)
    if isinstance(node, Missing):
        return (node.field,)
    if isinstance(node, Quantified):
        return (node.items, node.where)
    if isinstance(node, Count):
        return (node.items,) if node.where is None else (node.items, node.where)
    return ()


def walk(node: Term | Cond) -> Iterator[Term | Cond]:
    """Every node of the tree, the node itself first."""
    yield node
    for child in children(node):
        yield from walk(child)


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


# --- size once compiled for durable_rules ------------------------------------------------------


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

    def outcomes(self) -> dict[str, Shape]:
        """The durable_rules condition of each outcome, as language.durable composes them."""
        if self.applies is None:
            return {"pass": self.condition[True], "fail": self.condition[False]}
        return {
            "pass": _group("and", [self.applies[True], self.condition[True]]),
            "fail": _group("and", [self.applies[True], self.condition[False]]),
            "not_applicable": self.applies[False],
        }

    def alternatives(self) -> int:
        """The most branches the rule can put on durable_rules' match stack at once (at most
        64 in one ruleset part): the sum of its outcomes' alternatives."""
        return sum(shape.paths for shape in self.outcomes().values())

    def cited(self, wanted_outcome: str, wanted: bool) -> Shape:
        """The shape of ``passed(rule)`` (or ``failed``) in a condition that wants ``wanted``."""
        holds = self.condition[wanted if wanted_outcome == "pass" else not wanted]
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
        pieces.append(("condition", "'pass' with applies_when", outcomes["pass"]))
        pieces.append(("condition", "'fail' with applies_when", outcomes["fail"]))
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
        raise TypeError(node)

    def depth(self, node: Term | Cond) -> int:
        if isinstance(node, RuleRef):
            return 1 + self.cited(node.rule).depth
        return 1 + max((self.depth(child) for child in children(node)), default=0)
