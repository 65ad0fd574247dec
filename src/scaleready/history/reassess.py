"""Reassessing recorded profiles under the rulesets installed now: what a new version changes.

Each record is assessed again with the rulesets it was assessed with (by id, as installed now or
given as files) and its recorded policy re-applied, and the verdicts compared: the level, the
bottleneck and the gate, with the ruleset versions that moved.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scaleready.assessment.engine import Engine
from scaleready.assessment.policy import Policy, PolicySpec
from scaleready.assessment.scorecard import ScorecardData
from scaleready.errors import InputError, PolicyError, ScaleReadyError
from scaleready.history.store import Record
from scaleready.plugins import Registry
from scaleready.problems import did_you_mean, validated
from scaleready.profile import profile_from_data


@dataclass(frozen=True)
class Verdict:
    """What a funder reads of a scorecard: level, score, bottleneck and the gate."""

    level: int
    potential_level: int
    score: float
    bottleneck: tuple[str, ...]
    gate: bool | None  # None: no policy applied
    gate_reasons: tuple[str, ...]

    @classmethod
    def of(cls, card: Mapping[str, Any]) -> Verdict:
        overall, gate = card["overall"], card["gate"]
        return cls(
            overall["level"],
            overall["potential_level"],
            overall["score"],
            tuple(overall["bottleneck"]),
            None if gate is None else bool(gate["passed"]),
            () if gate is None else tuple(gate["reasons"]),
        )


@dataclass(frozen=True)
class VersionChange:
    """A ruleset as recorded and as used now (``now`` None: the same)."""

    id: str
    recorded: str
    now: str
    same_file: bool


@dataclass(frozen=True)
class Reassessment:
    """One record reassessed: its verdict then and now, or why it could not be reassessed."""

    record: Record
    before: Verdict
    after: Verdict | None
    rulesets: tuple[VersionChange, ...]
    error: str | None = None

    @property
    def changes(self) -> list[str]:
        """What changed in the verdict: "level", "bottleneck", "gate" (and "score")."""
        if self.after is None:
            return []
        before, after = self.before, self.after
        compared = {
            "level": (before.level, before.potential_level) != (after.level, after.potential_level),
            "bottleneck": before.bottleneck != after.bottleneck,
            "gate": (before.gate, before.gate_reasons) != (after.gate, after.gate_reasons),
            "score": before.score != after.score,
        }
        return [name for name, changed in compared.items() if changed]

    @property
    def rulesets_changed(self) -> list[VersionChange]:
        return [change for change in self.rulesets if not change.same_file]


class Reassessor:
    """Engines over the rulesets of the registry (installed now, and files given), one for
    each set of ruleset ids the records were assessed with."""

    def __init__(self, registry: Registry, *, backend: str = "auto") -> None:
        self.registry = registry
        self.backend = backend
        self._engines: dict[tuple[str, ...], Engine] = {}

    def reassess_all(self, records: Iterable[Record]) -> Iterator[Reassessment]:
        for record in records:
            yield self.reassess(record)

    def reassess(self, record: Record) -> Reassessment:
        """The record assessed again now; an error (bad profile, ruleset gone) is its outcome."""
        before = Verdict.of(record.scorecard)
        try:
            engine = self.engine_for([used["id"] for used in record.rulesets])
            card = _assess_again(engine, record)
        except ScaleReadyError as error:
            return Reassessment(record, before, None, (), str(error))
        return Reassessment(record, before, Verdict.of(card), _versions(record, engine))

    def engine_for(self, ids: Sequence[str]) -> Engine:
        key = tuple(sorted(ids))
        if key not in self._engines:
            rulesets = [self._ruleset(ruleset_id) for ruleset_id in key]
            sections = list(self.registry.sections.values())
            self._engines[key] = Engine(
                rulesets, self.registry.derived_facts, backend=self.backend, sections=sections
            )
        return self._engines[key]

    def _ruleset(self, ruleset_id: str):
        try:
            return self.registry.rulesets[ruleset_id]
        except KeyError:
            hint = did_you_mean(ruleset_id, self.registry.rulesets)
            raise InputError(
                f"ruleset {ruleset_id!r} is not installed now; install it, or give its file "
                f"with --rules{'; ' + hint if hint else ''}"
            ) from None


def _assess_again(engine: Engine, record: Record) -> ScorecardData:
    source = record.scorecard["profile"]["source"] or f"record {record.id}"
    profile = profile_from_data(record.profile, source=source, model=engine.profile_model)
    policy = recorded_policy(record)
    if policy is not None:
        policy.check_against(engine.rulesets)
    return engine.assess_raw(
        profile, policy=policy, source=source, profile_sha256=record.profile_sha256
    )


def recorded_policy(record: Record) -> Policy | None:
    """The policy a record was gated by, from the document recorded with it."""
    if record.policy is None:
        return None
    source = f"the policy recorded with {record.id}"
    spec = validated(PolicySpec, record.policy, PolicyError, source)
    return Policy(spec, source, record.policy_sha256 or "")


def _versions(record: Record, engine: Engine) -> tuple[VersionChange, ...]:
    now = {ruleset.id: ruleset for ruleset in engine.rulesets}
    return tuple(
        VersionChange(
            used["id"],
            used["version"],
            now[used["id"]].version,
            now[used["id"]].sha256 == used["sha256"],
        )
        for used in record.rulesets
    )
