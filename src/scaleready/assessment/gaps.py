"""Data gaps: which profile fields a rule left unknown needs and the profile lacks."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

from scaleready.language.evaluate import MISSING, lookup
from scaleready.language.ruleset import Rule, Ruleset
from scaleready.plugins import DerivedFact
from scaleready.profile import profile_fields


class GapFinder:
    """The missing-data labels of field paths in one profile, each worked out once."""

    def __init__(self, data: Mapping) -> None:
        self.data = data
        self.found: dict[str, list[str]] = {}
        self.items: dict[str | None, list[Mapping]] = {None: [data]}

    def of(self, path: str) -> list[str]:
        """The ways ``path`` is missing, e.g. ``["evidence.evaluations[].design"]``, or none."""
        if path in self.found:
            return self.found[path]
        found = self.found[path] = self._missing(path)
        return found

    def _missing(self, path: str) -> list[str]:
        in_list, keys, label = _plan(path)
        if in_list is None:
            return [label] if lookup(self.data, keys) is MISSING else []
        outer = self.of(in_list)  # a missing list is the gap, not each field of its items
        if outer:
            return outer
        items = self._items_of(in_list)
        return [label] if any(lookup(item, keys) is MISSING for item in items) else []

    def _items_of(self, list_path: str | None) -> list[Mapping]:
        """The items of a (nested) list field, across the items of the lists around it."""
        if list_path not in self.items:
            in_list, keys, _ = _plan(list_path)
            found: list[Mapping] = []
            for scope in self._items_of(in_list):
                value = lookup(scope, keys)
                if isinstance(value, list):  # the profile's schema makes it a list of mappings
                    found.extend(value)
            self.items[list_path] = found
        return self.items[list_path]


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

    def missing(
        self, gaps: GapFinder, derived: Mapping, derived_facts: Mapping[str, DerivedFact]
    ) -> tuple[str, ...]:
        """Profile fields the rule needs and lacks (a derived fact's inputs, or the fact)."""
        of = gaps.of
        missing = {gap for path in self.fields for gap in of(path)}
        for name in self.derived:
            if name not in derived:
                inputs = {gap for path in derived_facts[name].inputs for gap in gaps.of(path)}
                missing |= inputs or {f"derived.{name}"}
        return tuple(sorted(missing))


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
    info = profile_fields()[path]
    if info.in_list is None:
        return None, tuple(path.split(".")), path
    relative = path[len(info.in_list) + 1 :]
    return info.in_list, tuple(relative.split(".")), f"{_plan(info.in_list)[2]}[].{relative}"
