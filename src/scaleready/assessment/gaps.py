"""Data gaps: which profile fields a rule left unknown needs and the profile lacks."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import cache
from typing import NamedTuple

from scaleready.assessment.scorecard import GapItemData
from scaleready.language.evaluate import (
    MISSING,
    Cited,
    Context,
    Truth,
    lookup,
    planned_decision,
)
from scaleready.language.nodes import DERIVED_PREFIX
from scaleready.language.ruleset import Rule, Ruleset
from scaleready.plugins import DerivedFact
from scaleready.profile import known_fields


class GapPlaces(NamedTuple):
    """Where a gap's field is missing: each list item that lacks it, and how many there are."""

    missing_in: list[GapItemData]
    list_items: int


# The places of a field outside lists, a derived fact or a list missing whole (or of gaps
# scored without their profile): nothing names list items.
NOT_IN_A_LIST = GapPlaces([], 0)
_ITEM_NAMES = ("title", "name", "measure")  # what a list item is called by, first found first


class GapFinder:
    """The missing-data labels of field paths in one profile, and the list items that lack
    each, each worked out once."""

    def __init__(
        self,
        data: Mapping,
        derived: Mapping[str, object],
        derived_facts: Mapping[str, DerivedFact],
    ) -> None:
        self.data, self.derived, self.derived_facts = data, derived, derived_facts
        self.found: dict[str, list[str]] = {}
        # each list's items with their paths: a gap names the items that lack its field
        self.items: dict[str | None, list[tuple[str, Mapping]]] = {None: [("", data)]}
        self.places: dict[str, GapPlaces] = {}

    def of(self, path: str) -> list[str]:
        """The ways ``path`` is missing, e.g. ``["evidence.evaluations[].design"]``, or none."""
        if path in self.found:
            return self.found[path]
        found = self.found[path] = self._missing(path)
        return found

    def of_each(self, paths: Iterable[str]) -> set[str]:
        """The ways any of ``paths`` is missing."""
        found, lacking = self.found, set[str]()
        for path in paths:
            lacking.update(found[path] if path in found else self.of(path))
        return lacking

    def _missing(self, path: str) -> list[str]:
        missing = self._missing_here(path)
        filled_from = known_fields()[path].filled_from
        if missing and filled_from is not None:  # where it is missing, so is its source
            return self.of(filled_from) or missing
        return missing

    def _missing_here(self, path: str) -> list[str]:
        in_list, keys, label = _plan(path)
        if in_list is None:
            return [label] if lookup(self.data, keys) is MISSING else []
        outer = self.of(in_list)  # a missing list is the gap, not each field of its items
        if outer:
            return outer
        items = self._items_of(in_list)
        return [label] if any(lookup(item, keys) is MISSING for _, item in items) else []

    def _items_of(self, list_path: str | None) -> list[tuple[str, Mapping]]:
        """The items of a (nested) list field, across the items of the lists around it, each
        with its path as profile errors write it (``evidence.evaluations[1].outcomes[0]``)."""
        if list_path not in self.items:
            in_list, keys, _ = _plan(list_path)
            found: list[tuple[str, Mapping]] = []
            for where, scope in self._items_of(in_list):
                value = lookup(scope, keys)
                if isinstance(value, list):  # the profile's schema makes it a list of mappings
                    path = _below(where, keys)
                    for n, item in enumerate(value):  # a loop, not a generator: runs per profile
                        found.append((f"{path}[{n}]", item))
            self.items[list_path] = found
        return self.items[list_path]

    def places_of(self, label: str) -> GapPlaces:
        """The list items that lack a gap's field (``label``, as ``of`` gives it), and how many
        items could hold it; worked out once a label, and only for the gaps a scorecard lists."""
        plan = _list_plan(label)
        if plan is None:
            return NOT_IN_A_LIST
        if label not in self.places:
            self.places[label] = self._places(*plan)
        return self.places[label]

    def _places(self, in_list: str, keys: tuple[str, ...]) -> GapPlaces:
        """The items of ``in_list`` that lack the field at ``keys`` below them, of how many."""
        items = self._items_of(in_list)
        missing_in: list[GapItemData] = [
            {"path": path, "name": _item_name(item)}
            for path, item in items
            if lookup(item, keys) is MISSING
        ]
        return GapPlaces(missing_in, len(items))


class RuleNeeds:
    """The profile fields and derived facts a rule reads, itself or through the rules it cites."""

    def __init__(self, ruleset: Ruleset, rule: Rule) -> None:
        fields: set[str] = set()
        derived: set[str] = set()
        for needed in _cited_closure(ruleset, rule):
            fields.update(needed.fields)
            derived.update(needed.derived)
        self.fields = tuple(sorted(fields))
        self.derived = tuple(sorted(derived))
        self.applies = None if rule.applies is None else planned_decision(rule.applies)
        self.condition = planned_decision(rule.condition)
        self.needs_of: Mapping[str, RuleNeeds] = {}  # the needs of the rules of its ruleset

    @classmethod
    def of_ruleset(cls, ruleset: Ruleset) -> dict[str, RuleNeeds]:
        """Every rule's needs, by rule id, each able to ask the rules it cites."""
        needs = {rule.id: cls(ruleset, rule) for rule in ruleset.rules}
        for rule_needs in needs.values():
            rule_needs.needs_of = needs
        return needs

    def missing(self, gaps: GapFinder, outcome_of: Callable[[str], str]) -> tuple[str, ...]:
        """The missing fields whose values could decide the rule, which missing data left
        unknown (a derived fact's missing inputs, or the fact); ``outcome_of`` gives the
        outcomes of the rules of its ruleset."""
        lacking = gaps.of_each(self.fields)
        for name in self.derived:
            lacking.update(_fact_gaps(name, gaps))
        if len(lacking) <= 1:  # unknown for want of data: what is missing is what decides it
            return tuple(lacking)
        context = Context(gaps.data, gaps.derived, outcome_of)
        deciding = self.deciding(context)
        return tuple(sorted({gap for name in deciding for gap in _gaps(name, gaps)}))

    def deciding(self, context: Context) -> set[str]:
        """What could decide the rule, left unknown: whether it applies, then its condition."""
        profile, found = context.profile, set[str]()
        applies: Truth = True
        if self.applies is not None:
            applies, deciding = self.applies(profile, context, self.cited(context))
            found |= deciding
        if applies is not False:
            found |= self.condition(profile, context, self.cited(context))[1]
        return found

    def cited(self, context: Context) -> Cited:
        """What could decide each rule this one cites (as this rule's needs do it)."""
        return lambda rule_id: self.needs_of[rule_id].deciding(context)


def _gaps(name: str, gaps: GapFinder) -> list[str]:
    """The gap labels of a field path, or of a derived fact named ``derived.<name>``."""
    if name.startswith(DERIVED_PREFIX):
        return _fact_gaps(name.removeprefix(DERIVED_PREFIX), gaps)
    return gaps.of(name)


def _fact_gaps(name: str, gaps: GapFinder) -> list[str]:
    """A derived fact the profile lacks: its missing inputs, else the fact itself."""
    if name in gaps.derived:
        return []
    fact = gaps.derived_facts[name]
    return [gap for path in fact.inputs for gap in gaps.of(path)] or [DERIVED_PREFIX + name]


def _below(path: str, keys: tuple[str, ...]) -> str:
    """The path of the field at ``keys`` below ``path`` ("" for the profile): profile fields
    are plain names, so this is the path ``problems.field_path`` would write."""
    return ".".join((path, *keys)) if path else ".".join(keys)


def _item_name(item: Mapping) -> str | None:
    """What a list item is called by, if it has a name of its own."""
    for key in _ITEM_NAMES:
        name = item.get(key)
        if isinstance(name, str):
            return name
    return None


def _cited_closure(ruleset: Ruleset, rule: Rule) -> list[Rule]:
    """The rule and every rule it cites, directly or not (citations have no cycles)."""
    found = {rule.id: rule}
    waiting = [rule]
    while waiting:
        for cited in waiting.pop().depends_on:
            if cited not in found:
                found[cited] = ruleset.rule(cited)
                waiting.append(found[cited])
    return list(found.values())


@cache
def _plan(path: str) -> tuple[str | None, tuple[str, ...], str]:
    """A field's enclosing list, its keys below that list's items (or the root), its gap label."""
    info = known_fields()[path]
    if info.in_list is None:
        return None, tuple(path.split(".")), path
    relative = path[len(info.in_list) + 1 :]
    return info.in_list, tuple(relative.split(".")), f"{_plan(info.in_list)[2]}[].{relative}"


@cache
def _list_plan(label: str) -> tuple[str, tuple[str, ...]] | None:
    """A gap label's enclosing list and its keys below that list's items; None for a field
    outside lists or a derived fact."""
    path = label.replace("[]", "")
    if path not in known_fields():  # a derived fact
        return None
    in_list, keys, _ = _plan(path)
    return None if in_list is None else (in_list, keys)


def gap_meaning(label: str) -> str | None:
    """What a missing field means, from the profile schema (``a[].b`` is field ``b`` of the
    items of list ``a``); None for a derived fact or a field the schema does not describe.

    A yes/no field's description ("True if the report is public.") is said as the question it
    asks ("whether the report is public."), which reads right after "Supply X".
    """
    info = known_fields().get(label.replace("[]", ""))
    if info is None or not info.description:
        return None
    if info.description.startswith(_YES_NO):
        return "whether " + info.description.removeprefix(_YES_NO)
    return info.description


_YES_NO = "True if "  # how a yes/no field's description begins
