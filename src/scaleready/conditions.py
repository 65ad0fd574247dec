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

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from scaleready.documents import nearest

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
_KEYWORDS = {"and", "or", "not", "in", "true", "false"}


@dataclass(frozen=True)
class Token:
    type: str  # number, string, name, keyword, op, end
    text: str
    column: int


def tokenize(text: str) -> Iterator[Token]:
    """Split a condition into tokens; reject anything that is not part of the language."""
    position = 0
    while position < len(text) and text[position:].strip():
        match = _TOKEN.match(text, position)
        assert match is not None  # the pattern ends with a catch-all
        column = match.start(match.lastgroup) + 1
        kind, word = match.lastgroup, match.group(match.lastgroup)
        if kind == "bad":
            raise ConditionError(f"unexpected {word!r} at column {column}{_hint_for(word)}")
        if kind == "name" and word in _KEYWORDS:
            kind = "keyword"
        yield Token(kind, word, column)
        position = match.end()
    yield Token("end", "", len(text) + 1)


def _hint_for(character: str) -> str:
    hints = {"=": "; compare with ==", "&": "; write and", "|": "; write or", "!": "; write not"}
    return hints.get(character, "")


# --- parsing and checking -----------------------------------------------------------------------


def parse_condition(text: str, vocabulary: Vocabulary) -> Cond:
    """Parse and type-check a condition; raise ConditionError naming the offending text."""
    if not isinstance(text, str) or not text.strip():
        raise ConditionError("a condition must be a non-empty string")
    return _Parser(text, vocabulary).parse()


class _Parser:
    def __init__(self, text: str, vocabulary: Vocabulary) -> None:
        self._stream = tokenize(text)  # lazily, so an unknown function is named before a later typo
        self.tokens: list[Token] = []
        self.index = 0
        self.vocabulary = vocabulary
        self.scopes: list[str] = []  # list paths of the enclosing any/all/count

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

    def parse(self) -> Cond:
        condition = self.condition()
        if self.token.type != "end":
            raise self.error("expected and, or, or the end of the condition")
        return condition

    def condition(self) -> Cond:
        parts = [self.conjunction()]
        while self.accept("or"):
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def conjunction(self) -> Cond:
        parts = [self.negation()]
        while self.accept("and"):
            parts.append(self.negation())
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def negation(self) -> Cond:
        if self.accept("not"):
            return Not(self.negation())
        return self.comparison()

    def comparison(self) -> Cond:
        start = self.token
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
        return as_condition(left, start)

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
            term = self.arithmetic(op.text, term, self.product())
        return term

    def product(self) -> Term:
        term = self.atom()
        while op := self.accept("*", "/"):
            term = self.arithmetic(op.text, term, self.atom())
        return term

    def arithmetic(self, op: str, left: Term, right: Term) -> Arith:
        if self.scopes:
            raise ConditionError(
                "calculations cannot be used inside any/all/count; a plugin can provide the "
                "result as a derived fact"
            )
        return arithmetic(op, left, right)

    def atom(self) -> Term | Cond:
        token = self.advance()
        if token.type == "number":
            text = token.text.replace("_", "")
            return Const(float(text) if "." in text else int(text))
        if token.type == "string":
            return Const(token.text[1:-1])
        if token.type == "keyword" and token.text in ("true", "false"):
            return Const(token.text == "true")
        if token.type == "op" and token.text == "-" and self.token.type == "number":
            number = self.atom()
            return Const(-number.value)
        if token.type == "op" and token.text == "(":
            return self.bracketed()
        if token.type == "name":
            if self.accept("("):
                return self.call(token)
            return self.name(token)
        self.index -= 1
        raise self.error("expected a value, a field or a function")

    def bracketed(self) -> Term | Cond:
        """``( ... )`` around a calculation or around a condition."""
        start = self.index
        try:
            term = self.sum()
            if self.accept(")"):
                return term
        except ConditionError:
            pass
        self.index = start
        inner = self.condition()
        self.expect(")")
        return inner

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
        condition = self.condition()
        return as_condition(condition, start)

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
