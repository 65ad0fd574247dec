"""The durable_rules adapter: the only module that imports durable_rules.

Each scaleready rule becomes two or three durable_rules rules: one that fires when the condition
is true (pass), one when it is false (fail) and, for a rule with ``applies_when``, one when it
does not apply.  None fires when missing data leaves the rule undecided: that is ``unknown``.
Conditions are compiled with Kleene three-valued logic, so "false" is the negation pushed down to
the leaves (``not (a and b)`` fires as ``not a or not b``), never "did not match".

Facts durable_rules cannot compute itself (calculations, counts, derived facts) are computed in
Python by the shared evaluator and asserted with the profile under ``computed``; a count that
items with unknown data leave a range (``count(list, c)``, and calculations on it) is asserted as
its lowest and highest values, ``<key>_low`` and ``<key>_high``, and compared by its ends (see
``_Compiler.compare_ranges``); the length of
every list a quantifier reads is asserted beside it as ``<list>__len``, because durable_rules
cannot tell an empty list from a missing one.

Measured facts this module respects (see docs/engine.md): the module-level API (durable.lang)
shares one global host, and its Host/Closure machinery json-decodes the whole fact on every
firing, so the program talks to the C core (``durable_rules_engine``) directly through handles
of its own, deleted when the program is; names carry a hash; sessions leak until deleted, so
each assessment deletes its own; a rule made only of ``$nex`` tests hangs the C core, so every
rule is anchored on a key every fact carries; the C core is not thread-safe, so a lock
serialises assessments; and the C core reads and compares numbers in its own way, so every number
it is given (in facts and in rule constants) is written by ``_number_json``.
"""

from __future__ import annotations

import hashlib
import importlib
import itertools
import json
import math
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import assert_never

from scaleready.errors import EngineError
from scaleready.language.evaluate import (
    MISSING,
    Context,
    Judge,
    Range,
    Reader,
    planned,
    planned_value,
)
from scaleready.language.nodes import (
    NEGATED,
    And,
    Arith,
    Compare,
    Cond,
    Const,
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
from scaleready.language.size import MAX_SPREAD, decided_per_item, spaces_between
from scaleready.language.words import unparse
from scaleready.outcome import Outcome


def _import_core() -> tuple[ModuleType, bool]:
    """The C core that durable-rules' Python API wraps (it publishes no type information)."""
    try:
        return importlib.import_module("durable_rules_engine"), True
    except ImportError:  # CPython 3.13+: durable_rules builds but cannot be imported
        return ModuleType("durable_rules_engine"), False  # never called: see AVAILABLE


core, AVAILABLE = _import_core()
ANCHOR = "scaleready"  # a key every fact carries; see the module docstring
LENGTH_SUFFIX = "__len"
LOW_SUFFIX, HIGH_SUFFIX = "_low", "_high"  # the ends of a computed term that may be a range
FLAG_PREFIX = "__flag"
# A test every list item meets: no item has this key (a pydantic field name cannot start "_").
EVERY_ITEM = {"$nex": {"$i.__never_on_an_item": 1}}
RESERVED_KEYS = ("id", "sid", ANCHOR, "computed")
MATCH_EVERY_FACT = "every fact"  # the name of a rule, not a scaleready rule key (no "|")
RULES_PER_PART = 24  # durable_rules rules per ruleset; see DurableProgram
# The C core's match stack holds 64 branches; one is the rule every fact matches (see _groups).
ALTERNATIVES_PER_PART = 63

# Numbers, as the C core (src/rules/json.c, rete.c, state.c, events.c) reads and compares them:
# it reads only -?digits[.digits[e[+-]digits]], so an exponent without a decimal point (how
# Python writes 1e-05 and 1e+16) stops the fact or ruleset with error 204; it reads integers with
# atoll (64 bits, saturating beyond) and the rest with atof (correctly rounded); it compares two
# integers as 64-bit integers and anything else as doubles, so 2**53 + 1 equals 2.0**53 there.
EXACT_LIMIT = 2**63  # the C core reads and compares numbers strictly inside +-this exactly
_INTEGRAL_FROM = 2**53  # every double this large is an integer: it is sent as one
_BEYOND_LIMIT = "1.0e+19"  # a rule constant beyond +-EXACT_LIMIT, as the C core is given it
# json.dumps writes nearly every fact as the C core reads it (and twice as fast without its
# check for circular references, which a fact freshly copied cannot have).  In its text with
# digits read as 0, these forms mark a number it may write otherwise: an exponent, a double from
# 2**53 (16 digits before the point), an integer beyond 64 bits (19 digits).
_FAST_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False, check_circular=False)
_DIGITS_AS_ZERO = str.maketrans("123456789", "000000000")
_MAY_NEED_CARE = ("0e", "0" * 16 + ".", *(before + "0" * 19 for before in ":,[-"))

_OP = {"==": "$eq", "!=": "$neq", "<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte"}
_TEST_OPERATORS = {*_OP.values(), "$ex", "$nex"}
_FLIPPED = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}

Cited = Callable[[str], tuple[Cond, Cond | None]]  # rule id -> its (condition, applies)


@dataclass(frozen=True)
class RuleToRun:
    """A rule as the adapter sees it: a key, its conditions, and how to read the rules it cites."""

    key: str
    condition: Cond
    applies: Cond | None
    cited: Cited
    alternatives: int = 2  # branches its outcomes can put on the C core's match stack at once

    @property
    def durable_rules(self) -> int:
        """durable_rules rules it compiles into: pass and fail, and not_applicable if it has one."""
        return 3 if self.applies is not None else 2


class DurableProgram:
    """An engine's rules compiled into durable_rules rulesets of its own.

    Rules are split into parts of at most RULES_PER_PART durable_rules rules: the C core walks
    its match network with a fixed stack of 64 nodes, and a wide network fails with error 303
    (ERR_MAX_STACK_SIZE) and can abort the process.  One fact, made once, is asserted in every
    part.
    """

    def __init__(
        self, rules: Iterable[RuleToRun], *, reference: Callable[[Context], dict[str, str]]
    ) -> None:
        """``reference`` gives the outcomes of the python backend, for facts beyond the C core."""
        if not AVAILABLE:
            raise EngineError("durable_rules cannot be imported here; use the python backend")
        self._reference = reference
        self._compiler = _Compiler()
        compiled = [self._compiler.compile_rule(rule) for rule in rules]
        self._parts = [self._compile_part(group) for group in _groups(compiled)]
        self._fired = {  # a fired durable_rules rule's name -> its rule key and outcome
            f"{rule.key}|{outcome}": (rule.key, outcome)
            for rule in compiled
            for outcome in rule.conditions
        }
        self._sessions = itertools.count()
        self._lock = threading.Lock()
        weakref.finalize(self, _delete_rulesets, [handle for handle, _ in self._parts])

    def _compile_part(self, rules: list[_CompiledRule]) -> tuple[int, _Shape]:
        """A ruleset handle, and the shape of the facts its rules read."""
        shape = _Shape()
        for rule in rules:
            for keys, whole in rule.reads:
                shape.add(keys, whole)
        definition: dict[str, dict] = {
            f"{rule.key}|{outcome}": {"all": [{"m": {"$and": [{ANCHOR: 1}, condition]}}]}
            for rule in rules
            for outcome, condition in rule.conditions.items()
        }
        # Every fact must match some rule: deleting the session of a fact that matched nothing
        # crashes durable_rules 2.0.28 (segmentation fault), and keeping it leaks memory.
        definition[MATCH_EVERY_FACT] = {"all": [{"m": {ANCHOR: 1}}]}
        text = _definition_json(definition)
        name = f"scaleready_{hashlib.sha256(text.encode()).hexdigest()[:16]}"
        return int(core.create_ruleset(name, text)), shape

    def run(self, profile: Mapping[str, object], context: Context) -> dict[str, str]:
        """Outcome per rule key ("pass", "fail", "not_applicable"); absent keys are unknown."""
        fact = self._compiler.fact(profile, context)
        session = str(next(self._sessions))  # itertools.count is atomic: no lock needed
        try:
            texts = self._fact_texts(fact, session)
        except _NumberBeyondCore as number:
            return self._beyond_core(number, context)
        fired: dict[str, str] = {}
        with self._lock:
            for handle, text in texts:
                for name in _fire(handle, text, session):
                    if name != MATCH_EVERY_FACT:
                        _record(fired, *self._fired[name])
        return fired

    def _fact_texts(self, fact: dict, session: str) -> list[tuple[int, str]]:
        """Each part's fact as JSON: only what its rules read (the C core copies it per firing)."""
        texts = []
        for handle, shape in self._parts:
            part_fact = shape.select(fact)
            part_fact.update({ANCHOR: 1, "sid": session})
            texts.append((handle, _fact_json(part_fact)))
        return texts

    def _beyond_core(self, number: _NumberBeyondCore, context: Context) -> dict[str, str]:
        """Outcomes of a fact holding a number the C core cannot compare exactly.

        A number at or beyond +-EXACT_LIMIT (or a calculation that overflowed) is decided by the
        reference evaluator, as the python backend would: no 64-bit integer or double stands for
        it in every comparison.  A non-finite value from anywhere else is a bug upstream (the
        schema forbids them; the plugin host refuses them), never handed to the C core.
        """
        if not math.isfinite(number.value) and not self._compiler.is_calculation(number.path):
            where = self._compiler.describe(number.path)
            raise EngineError(
                f"{where} is {number.value!r}: durable_rules can be given finite numbers only"
            ) from None
        return self._reference(context)


def _fire(handle: int, fact_json: str, session: str) -> list[str]:
    """Assert a fact in its own session; the names of the rules it fired; delete the session."""
    try:
        code, state = core.assert_fact(handle, fact_json)
        if code != 0:
            raise EngineError(f"durable_rules could not match the fact (code {code})")
        started = core.start_action_for_state(handle, state)
        message = started[1] if started else None
        names = []
        while message:
            names.append(_rule_name(message))
            message = core.complete_and_start_action(handle, state)
    except core.error as error:  # the session may be broken: deleting it could crash the process
        raise EngineError(f"durable_rules failed: {error}") from error
    core.delete_state(handle, session)
    return names


def _rule_name(message: str) -> str:
    """The fired rule's name: an action message is ``{"<name>":{"m":<the fact>}}``."""
    if not message.startswith('{"'):
        return next(iter(json.loads(message)))
    return message[2 : message.index('"', 2)]


def _record(fired: dict[str, str], key: str, outcome: Outcome) -> None:
    # an "or" may fire once per branch that matches: only a contradiction is a bug
    if fired.get(key, outcome) != outcome:
        raise EngineError(f"rule {key}: both {fired[key]} and {outcome} fired")
    fired[key] = outcome


def _delete_rulesets(handles: list[int]) -> None:
    for handle in handles:
        core.delete_ruleset(handle)


def _groups(rules: list[_CompiledRule]) -> Iterator[list[_CompiledRule]]:
    """Consecutive runs of rules small enough for one durable_rules ruleset.

    A part holds at most RULES_PER_PART durable_rules rules, and rules whose alternatives fit
    the C core's match stack together (ALTERNATIVES_PER_PART): three rules of 22 alternatives
    that all match overflow it (error 303) though each rule alone is within the load-time bounds.
    """
    group: list[_CompiledRule] = []
    for rule in rules:
        rules_after = sum(r.durable_rules for r in group) + rule.durable_rules
        alternatives_after = sum(r.alternatives for r in group) + rule.alternatives
        if group and (rules_after > RULES_PER_PART or alternatives_after > ALTERNATIVES_PER_PART):
            yield group
            group = []
        group.append(rule)
    if group:
        yield group


class _NumberBeyondCore(Exception):
    """A number the C core cannot be given exactly, and its path in the fact."""

    def __init__(self, path: tuple[str | int, ...], value: float) -> None:
        super().__init__(path, value)
        self.path = path
        self.value = value


def _fact_json(fact: dict) -> str:
    """A fact as JSON text the C core reads exactly, or _NumberBeyondCore.

    Text that may hold a number json.dumps writes otherwise (or a non-finite number, to be
    named) is written again, number by number; about 1 fact in 170 of the synthetic profiles.
    """
    return _exact_json(fact, constants=False)


def _definition_json(definition: dict) -> str:
    """A ruleset definition as JSON text the C core reads exactly, naming a non-finite constant."""
    try:
        return _exact_json(definition, constants=True)
    except _NumberBeyondCore as number:
        key = str(number.path[0]).rsplit("|", 1)[0]
        raise EngineError(f"rule {key}: the constant {number.value!r} is not finite") from None


def _exact_json(value: dict, constants: bool) -> str:
    """json.dumps's text where it writes every number as the C core reads it, else ``_json``'s."""
    try:
        text = _FAST_ENCODER.encode(value)
    except ValueError:  # a non-finite number: the careful encoder finds where
        return _json(value, (), constants)
    digits = text.translate(_DIGITS_AS_ZERO)
    if any(form in digits for form in _MAY_NEED_CARE):
        return _json(value, (), constants)
    return text


def _json(value: object, path: tuple[str | int, ...], constants: bool) -> str:
    """JSON text of plain data (dicts, lists, scalars), every number by _number_json."""
    if type(value) is dict:
        members = (
            f"{json.dumps(key)}:{_json(item, (*path, key), constants)}"
            for key, item in value.items()
        )
        return "{" + ",".join(members) + "}"
    if type(value) is list:
        items = (_json(item, (*path, index), constants) for index, item in enumerate(value))
        return "[" + ",".join(items) + "]"
    if type(value) is int or type(value) is float:
        return _number_json(value, path, constants)
    return json.dumps(value)  # a string, true, false or null


def _number_json(value: float, path: tuple[str | int, ...], constant: bool) -> str:
    """A number as the C core reads it exactly (see EXACT_LIMIT), or _NumberBeyondCore.

    Inside +-EXACT_LIMIT every comparison is exact: an integral double from 2**53 is sent as the
    integer it is, so the C core compares it with an integer as integers; the doubles left are
    below 2**53, where converting an integer to a double (as the C core does to compare them)
    changes no comparison with them.  A rule constant beyond the limit is sent as 1e19, which
    compares with every number inside the limit as the constant does (an integer below 2**63
    becomes at most 2.0**63 when the C core compares it with a double); facts holding a number
    beyond the limit never reach the C core (see DurableProgram._beyond_core).
    """
    if not -EXACT_LIMIT < value < EXACT_LIMIT:  # also true of NaN
        if not (constant and math.isfinite(value)):
            raise _NumberBeyondCore(path, value)
        return _BEYOND_LIMIT if value > 0 else "-" + _BEYOND_LIMIT
    if type(value) is float and not -_INTEGRAL_FROM < value < _INTEGRAL_FROM:
        return str(int(value))
    text = repr(value)
    return text.replace("e", ".0e") if "e" in text and "." not in text else text


class _Compiler:
    """Turns condition trees into durable_rules JSON, and profiles into the facts they match."""

    def __init__(self) -> None:
        self.computed: dict[str, tuple[str, Term]] = {}  # canonical text -> (key, term)
        self.lists: dict[str, Field] = {}  # path -> list field a quantifier reads
        self.flags: dict[tuple[str, str, bool], tuple[str, Cond]] = {}  # see item_flag
        self.planned_flags: list[tuple[str, str, Judge, bool]] | None = None  # see flag_plan
        self.planned_computed: list[tuple[str, Reader, bool]] | None = None  # computed_plan
        self.union = _Shape()  # what any rule reads: the fact is computed from this once
        self.reads: list[tuple[list[str], bool]] = []  # what the rule being compiled reads

    def compile_rule(self, rule: RuleToRun) -> _CompiledRule:
        """The rule's condition per outcome, and what they read of a profile."""
        self.reads = []
        conditions = self.outcome_conditions(rule)
        for keys, whole in self.reads:
            self.union.add(keys, whole)
        alternatives = sum(_size(condition)[1] for condition in conditions.values())
        return _CompiledRule(rule.key, conditions, self.reads, max(alternatives, rule.alternatives))

    def note(self, keys: list[str], whole: bool = True) -> None:
        """Facts must carry this path (for the rule being compiled, and so the whole fact)."""
        self.reads.append((keys, whole))

    def outcome_conditions(self, rule: RuleToRun) -> dict[Outcome, dict]:
        def true_when(node: Cond) -> dict:
            return self.when(node, True, rule.cited)

        def false_when(node: Cond) -> dict:
            return self.when(node, False, rule.cited)

        if rule.applies is None:
            return {
                Outcome.PASS: true_when(rule.condition),
                Outcome.FAIL: false_when(rule.condition),
            }
        applies = true_when(rule.applies)
        return {
            Outcome.PASS: _all([applies, true_when(rule.condition)]),
            Outcome.FAIL: _all([applies, false_when(rule.condition)]),
            Outcome.NOT_APPLICABLE: false_when(rule.applies),
        }

    def when(self, node: Cond, wanted: bool, cited: Cited, scope: str | None = None) -> dict:
        """The durable_rules condition under which ``node`` is ``wanted`` (true or false).

        Inside an item scope it may hold an "or", which the enclosing quantifier resolves.
        """
        return self.translate(node, wanted, cited, scope)

    def item_tests(self, node: Quantified, wanted: bool, inner: dict, some: bool) -> list[dict]:
        """What an item must meet for the quantifier: one test per alternative, none an "or".

        durable_rules 2.0.28 evaluates an ``$or`` inside ``$iany``/``$iall`` wrongly when its
        tests read different properties of the item (only one of them counts); an ``$or`` whose
        tests all read one property (``role in [...]``, ``missing(x) or x``) it evaluates right.
        "Some item meets a or b" is "some item meets a, or some item meets b", so for ``$iany``
        the alternatives are spread over ``$iany`` tests of their own (up to MAX_SPREAD of
        them); otherwise the condition is decided per item by the shared evaluator and asserted
        on each item as a flag (see item_flag).
        """
        if _one_property_per_or(inner):
            return [inner]
        if some and _size(inner)[1] <= MAX_SPREAD:
            return [_all(alternative) for alternative in _alternatives(inner)]
        return [self.item_flag(node.where, wanted, node.items.path)]

    def per_item(self, node: Quantified, wanted: bool) -> dict:
        """The flag of an item condition durable_rules cannot test: one comparing two fields of
        the item (it never matches ``{"$m": "$i.x"}`` inside ``$iany``) or calculating (its
        tests take no calculations).  Facts carry the fields it reads, for the flag's judge."""
        for found in walk(node.where):
            if isinstance(found, Field):
                self.note(found.path.split("."), whole=found.kind != "list")
        return self.item_flag(node.where, wanted, node.items.path)

    def item_flag(self, node: Cond, wanted: bool, scope: str) -> dict:
        """Test a per-item flag computed in Python: whether ``node`` is ``wanted`` for the item;
        durable_rules still does the quantifying."""
        signature = (scope, unparse(node), wanted)
        if signature not in self.flags:
            self.flags[signature] = (f"{FLAG_PREFIX}{len(self.flags)}", node)
        key = self.flags[signature][0]
        self.note([*scope.split("."), key])
        return {f"$i.{key}": True}

    def translate(self, node: Cond, wanted: bool, cited: Cited, scope: str | None) -> dict:
        match node:
            case And() | Or():
                parts = [self.when(part, wanted, cited, scope) for part in node.parts]
                return _all(parts) if isinstance(node, And) == wanted else _any(parts)
            case Not():
                return self.when(node.part, not wanted, cited, scope)
            case Compare():
                op = node.op if wanted else NEGATED[node.op]
                return self.compare(op, node.left, node.right, scope)
            case OneOf() if ranged(node.value):
                return self.one_of_range(node, wanted)
            case OneOf():
                op = "==" if wanted else "!="
                parts = [self.compare(op, node.value, option, scope) for option in node.options]
                return _any(parts) if wanted else _all(parts)
            case Missing():
                return {"$nex" if wanted else "$ex": {self.path(node.field, scope): 1}}
            case Quantified():
                return self.quantified(node, wanted, cited, scope)
            case RuleRef():
                return self.cited_outcome(node, wanted, cited, scope)
            case _:
                assert_never(node)

    def quantified(self, node: Quantified, wanted: bool, cited: Cited, scope: str | None) -> dict:
        self.lists[node.items.path] = node.items
        items = self.path(node.items, scope, whole=False)
        self.note([*node.items.path.split(".")[:-1], node.items.keys[-1] + LENGTH_SUFFIX])
        some = (node.quantifier == "any") == wanted  # some item must meet inner, or all must
        if decided_per_item(node.where):
            tests = [self.per_item(node, wanted)]
        else:
            inner = self.when(node.where, wanted, cited, node.items.path)
            tests = self.item_tests(node, wanted, inner, some)
        quantifier = "$iany" if some else "$iall"
        found = _any([{quantifier: {items: _ending_in_a_test(test)}} for test in tests])
        return found if wanted else _any([{items + LENGTH_SUFFIX: 0}, found])  # or empty

    def cited_outcome(self, node: RuleRef, wanted: bool, cited: Cited, scope: str | None) -> dict:
        condition, applies = cited(node.rule)
        holds = condition if node.wanted == Outcome.PASS else Not(condition)
        if applies is None:
            return self.when(holds, wanted, cited, scope)
        if wanted:
            return _all(
                [self.when(applies, True, cited, scope), self.when(holds, True, cited, scope)]
            )
        does_not_hold = _all(
            [self.when(applies, True, cited, scope), self.when(holds, False, cited, scope)]
        )
        return _any([self.when(applies, False, cited, scope), does_not_hold])

    def compare(self, op: str, left: Term, right: Term, scope: str | None) -> dict:
        if isinstance(left, Const):
            left, right, op = right, left, _FLIPPED[op]
        if ranged(left) or ranged(right):  # a count: never in an item scope (the parser's rule)
            return self.compare_ranges(op, left, right)
        path = self.term_path(left, scope)
        if isinstance(right, Const):
            return {path: right.value} if op == "==" else {_OP[op]: {path: right.value}}
        # between two fields durable_rules compares a missing one as null: require both present
        other = self.term_path(right, scope)
        present = [{"$ex": {path: 1}}, {"$ex": {other: 1}}]
        return _all([*present, {_OP[op]: {path: {"$m": other}}}])

    def compare_ranges(self, op: str, left: Term, right: Term) -> dict:
        """``left op right`` tested on the ends of the ranges, as evaluate.compare_ranges
        decides it: ``<`` holds when the left's highest is below the right's lowest, ``==`` when
        both are one number, ``!=`` when the ranges do not meet (two tests, either)."""
        low, high = self.ends(left)
        if isinstance(right, Const):
            return _range_tests(op, low, high, right.value)
        other_low, other_high = self.ends(right)
        present = [{"$ex": {low: 1}}, {"$ex": {other_low: 1}}]  # the high ends come with them
        return _all([*present, _range_tests(op, low, high, {"$m": other_low}, {"$m": other_high})])

    def one_of_range(self, node: OneOf, wanted: bool) -> dict:
        """``count(...) in [...]`` as an ``or`` of ``==``; false where the range falls between
        two options (or beyond them all): one alternative per space, not 2**n."""
        low, high = self.ends(node.value)
        options = [option.value for option in node.options]
        if wanted:
            return _any([_range_tests("==", low, high, option) for option in options])
        ways = []
        for below, above in spaces_between(options):
            beyond = [] if below is None else [{"$gt": {low: below}}]
            ways.append(_all(beyond + ([] if above is None else [{"$lt": {high: above}}])))
        return _any(ways)

    def ends(self, term: Term) -> tuple[str, str]:
        """The paths of a term's lowest and highest values: one path unless it is ranged."""
        if not ranged(term):
            path = self.term_path(term, None)
            return path, path
        key = self.computed_key(term)
        self.note(["computed", key + LOW_SUFFIX])
        self.note(["computed", key + HIGH_SUFFIX])
        return f"computed.{key}{LOW_SUFFIX}", f"computed.{key}{HIGH_SUFFIX}"

    def computed_key(self, term: Term) -> str:
        text = unparse(term)
        if text not in self.computed:
            self.computed[text] = (f"t{len(self.computed)}", term)
        return self.computed[text][0]

    def term_path(self, term: Term, scope: str | None) -> str:
        if isinstance(term, Field):
            return self.path(term, scope)
        key = self.computed_key(term)
        self.note(["computed", key])
        return f"computed.{key}"

    def path(self, field: Field, scope: str | None, whole: bool = True) -> str:
        """The field's name in durable_rules, noting that facts must carry it."""
        self.note(field.path.split("."), whole)
        dotted = ".".join(field.keys)
        return f"$i.{dotted}" if scope else dotted

    def describe(self, path: tuple[str | int, ...]) -> str:
        """A value's path in the fact as a rule author reads it (list items counted from 1)."""
        if path[:1] == ("computed",):
            return unparse(self._computed_term(path[1]))
        return ".".join(str(key + 1) if isinstance(key, int) else key for key in path)

    def is_calculation(self, path: tuple[str | int, ...]) -> bool:
        return path[:1] == ("computed",) and isinstance(self._computed_term(path[1]), Arith)

    def _computed_term(self, key: object) -> Term:
        name = str(key).removesuffix(LOW_SUFFIX).removesuffix(HIGH_SUFFIX)  # "t3_low": t3's end
        return next(term for found, term in self.computed.values() if found == name)

    def flag_plan(self) -> list[tuple[str, str, Judge, bool]]:
        """Each item flag's list, key, judgement (planned once) and wanted value."""
        if self.planned_flags is None:
            self.planned_flags = [
                (scope_path, key, planned(node), wanted)
                for (scope_path, _, wanted), (key, node) in self.flags.items()
            ]
        return self.planned_flags

    def fact(self, profile: Mapping[str, object], context: Context) -> dict:
        """What the rules read of a profile, with list lengths, item flags and computed terms."""
        for key in RESERVED_KEYS:
            if key in profile:
                raise EngineError(f"the profile uses the reserved key {key!r}")
        fact = self.union.project(profile)  # a private copy of what the rules read
        scopes = _Scopes(fact, self.lists)
        for items in self.lists.values():
            for scope in scopes.of(items.in_list):
                _note_length(scope, items.keys)
        for scope_path, key, judge, wanted in self.flag_plan():
            for item in scopes.of(scope_path):
                item[key] = judge(item, context) is wanted
        computed: dict[str, object] = {}
        for key, read, has_ends in self.computed_plan():
            value = read(profile, context)
            if value is MISSING:
                continue
            if not has_ends:
                computed[key] = value
            elif type(value) is Range:
                computed[key + LOW_SUFFIX], computed[key + HIGH_SUFFIX] = value.low, value.high
            else:  # every item known: one number, both ends
                computed[key + LOW_SUFFIX] = computed[key + HIGH_SUFFIX] = value
        fact["computed"] = computed
        return fact

    def computed_plan(self) -> list[tuple[str, Reader, bool]]:
        """Each computed term's key, reader (planned once, at the first profile) and whether it
        is asserted as its two ends (a range)."""
        if self.planned_computed is None:
            self.planned_computed = [
                (key, planned_value(term), ranged(term)) for key, term in self.computed.values()
            ]
        return self.planned_computed


@dataclass(frozen=True)
class _CompiledRule:
    """A rule's durable_rules condition per outcome, and what they read of a profile."""

    key: str
    conditions: dict[Outcome, dict]
    reads: list[tuple[list[str], bool]]
    alternatives: int  # branches its outcomes can put on the C core's match stack at once

    @property
    def durable_rules(self) -> int:
        return len(self.conditions)


def _size(condition: dict) -> tuple[int, int, int]:
    """Tests, ways through (as language.size counts paths) and and/or groups of a condition."""
    if set(condition) in ({"$and"}, {"$or"}):
        ((kind, parts),) = condition.items()
        sizes = [_size(part) for part in parts]
        ways = [paths for _, paths, _ in sizes]
        return (
            sum(tests for tests, _, _ in sizes),
            math.prod(ways) if kind == "$and" else sum(ways),
            1 + sum(groups for _, _, groups in sizes),
        )
    for quantifier in ("$iany", "$iall"):
        if quantifier in condition:
            (inner,) = condition[quantifier].values()
            tests, _, groups = _size(inner)
            return 1 + tests, 1, groups
    return 1, 1, 0


def _one_property_per_or(condition: dict) -> bool:
    """Whether every ``$or`` of an item's condition tests one property of the item."""
    if set(condition) == {"$and"}:
        return all(_one_property_per_or(part) for part in condition["$and"])
    if set(condition) == {"$or"}:
        properties = _properties(condition)
        return len(properties) == 1 and None not in properties
    return True


def _properties(condition: dict) -> set[str | None]:
    """The item properties a condition's tests read; None for a quantifier or two fields."""
    if set(condition) in ({"$and"}, {"$or"}):
        return {name for part in next(iter(condition.values())) for name in _properties(part)}
    ((key, value),) = condition.items()
    if key in ("$iany", "$iall"):
        return {None}
    if key not in _TEST_OPERATORS:
        return {key}  # {"$i.role": "buyer"}
    ((name, operand),) = value.items()
    return {None} if type(operand) is dict else {name}  # {"$m": other field}: two fields


def _alternatives(condition: dict) -> list[list[dict]]:
    """The condition as an "or" of alternatives, each a list of tests that must all hold."""
    if set(condition) == {"$or"}:
        return [each for part in condition["$or"] for each in _alternatives(part)]
    if set(condition) == {"$and"}:
        found: list[list[dict]] = [[]]
        for part in condition["$and"]:
            found = [before + each for before in found for each in _alternatives(part)]
        return found
    return [[condition]]


class _Scopes:
    """The mappings that fields of a list's items live in, found once per fact."""

    def __init__(self, fact: dict, lists: Mapping[str, Field]) -> None:
        self.lists = lists
        self.found: dict[str | None, list[dict]] = {None: [fact]}

    def of(self, list_path: str | None) -> list[dict]:
        found = self.found.get(list_path)
        if found is None:
            assert list_path is not None  # the profile itself is found from the start
            items = self.lists[list_path]
            found = self.found[list_path] = [
                item
                for scope in self.of(items.in_list)
                for item in _list_at(scope, items.keys)
                if type(item) is dict
            ]
        return found


class _Shape:
    """The part of a profile the compiled rules read: a tree of keys (lists are looked through)."""

    def __init__(self) -> None:
        self.tree: dict = {}  # key -> subtree, or None where the whole value is needed

    def add(self, keys: list[str], whole: bool) -> None:
        node = self.tree
        for key in keys[:-1]:
            if node.get(key, {}) is None:
                return  # an enclosing value is copied whole already
            node = node.setdefault(key, {})
        if whole:
            node[keys[-1]] = None
        elif node.get(keys[-1], {}) is not None:
            node.setdefault(keys[-1], {})

    def project(self, fact: Mapping[str, object]) -> dict:
        """A fresh copy of ``fact`` holding only the keys in the tree."""
        return _project_mapping(fact, self.tree)

    def select(self, fact: Mapping[str, object]) -> dict:
        """``fact`` holding only the keys in the tree, sharing the values kept whole: for a fact
        that is only written as JSON, new mappings where keys are left out suffice."""
        return _select_mapping(fact, self.tree)


# Profiles reach the walkers below as ``model_dump(mode="json")`` output: plain dicts, lists and
# scalars, so exact type checks serve (and cost far less than ABC checks). Projecting copies
# the values kept whole; selecting shares them (two walkers: no call per value kept whole).


def _project(value: object, tree: dict) -> object:
    if type(value) is list:
        return [_project(item, tree) for item in value]
    if type(value) is not dict:
        return value
    return _project_mapping(value, tree)


def _project_mapping(value: Mapping[str, object], tree: dict) -> dict:
    return {
        key: _copy(value[key]) if subtree is None else _project(value[key], subtree)
        for key, subtree in tree.items()
        if key in value
    }


def _select(value: object, tree: dict) -> object:
    if type(value) is list:
        return [_select(item, tree) for item in value]
    if type(value) is not dict:
        return value
    return _select_mapping(value, tree)


def _select_mapping(value: Mapping[str, object], tree: dict) -> dict:
    return {
        key: value[key] if subtree is None else _select(value[key], subtree)
        for key, subtree in tree.items()
        if key in value
    }


def _copy(value: object) -> object:
    if type(value) is dict:
        return {key: _copy(item) for key, item in value.items()}
    if type(value) is list:
        return [_copy(item) for item in value]
    return value


def _note_length(scope: dict, keys: tuple[str, ...]) -> None:
    parent = _lookup_raw(scope, keys[:-1]) if len(keys) > 1 else scope
    if type(parent) is dict and type(parent.get(keys[-1])) is list:
        parent[keys[-1] + LENGTH_SUFFIX] = len(parent[keys[-1]])


def _list_at(scope: dict, keys: tuple[str, ...]) -> list:
    value = _lookup_raw(scope, keys)
    return value if type(value) is list else []


def _lookup_raw(scope: dict, keys: tuple[str, ...]) -> object:
    value: object = scope
    for key in keys:
        if type(value) is not dict:
            return None
        value = value.get(key)
    return value


def _range_tests(op: str, low: str, high: str, other: object, other_high: object = None) -> dict:
    """The tests of ``x op y`` on the ends of x's range (``low``, ``high``) and y, a constant or
    ``{"$m": path}`` (with ``other_high`` the high end of y's range where it has one)."""
    other_low, other_high = other, other if other_high is None else other_high
    match op:
        case "<" | "<=":
            return {_OP[op]: {high: other_low}}
        case ">" | ">=":
            return {_OP[op]: {low: other_high}}
        case "==":
            return _all([_equal(low, other_high), _equal(high, other_low)])
        case "!=":
            return _any([{"$lt": {high: other_low}}, {"$gt": {low: other_high}}])
    raise AssertionError(f"no comparison {op!r}")


def _equal(path: str, other: object) -> dict:
    return {"$eq": {path: other}} if type(other) is dict else {path: other}


def _ending_in_a_test(item_condition: dict) -> dict:
    """An item condition whose last node in the C core is a test, not an and/or group.

    durable_rules 2.0.28 checks the type of the right-hand side of the last node it creates for
    an item condition; when the condition is an and/or group that node can be a forward node
    whose type it never set, so it reads whatever byte the heap held there and refuses the
    ruleset (error 102, "unexpected type") if that byte happens to be JSON_IDENTIFIER or
    JSON_EXPRESSION: now and then, depending on what the process freed before.  A test every
    item meets, put last, makes that node one it did set.  language.size counts it.
    """
    if set(item_condition) in ({"$and"}, {"$or"}):
        return _all([item_condition, EVERY_ITEM])
    return item_condition


def _all(parts: list[dict]) -> dict:
    flat = [p for part in parts for p in (part["$and"] if set(part) == {"$and"} else [part])]
    return flat[0] if len(flat) == 1 else {"$and": flat}


def _any(parts: list[dict]) -> dict:
    flat = [p for part in parts for p in (part["$or"] if set(part) == {"$or"} else [part])]
    return flat[0] if len(flat) == 1 else {"$or": flat}
