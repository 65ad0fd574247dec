"""The engine: builds rule programs from rulesets and assesses profiles into scorecards."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from scaleready import __version__
from scaleready.assessment.gaps import GapFinder, RuleNeeds
from scaleready.assessment.programs import (
    PythonProgram,
    choose_backend,
    program_for,
    rule_key,
    rule_key_prefix,
)
from scaleready.assessment.scorecard import (
    SCHEMA_VERSION,
    Backend,
    DimensionData,
    ProvenanceData,
    RulesetProvenanceData,
    Scorecard,
    ScorecardData,
    SectionProvenanceData,
    scorecard_of,
)
from scaleready.assessment.scoring import (
    DimensionPlan,
    Judgement,
    ordered_next_steps,
    overall_verdict,
)
from scaleready.errors import (
    EngineError,
    InputError,
    ScaleReadyError,
    SettingError,
    item_failure,
)
from scaleready.language.evaluate import Context, Step, truth
from scaleready.language.ruleset import Rule, Ruleset
from scaleready.outcome import Outcome
from scaleready.plugins import DerivedFact, compute_derived_facts
from scaleready.problems import did_you_mean, nearest
from scaleready.profile import (
    InnovationProfile,
    SectionSpec,
    profile_from_data,
    profile_model_with,
)

if TYPE_CHECKING:  # only annotations name it: importing policies costs every cold start
    from scaleready.assessment.policy import Policy


@dataclass
class Explanation:
    """Why a rule came out as it did: each condition tested, the values seen, the outcome."""

    ruleset: str
    rule: Rule
    outcome: Outcome
    applies_steps: list[Step]
    condition_steps: list[Step]
    missing: tuple[str, ...]
    error: str | None


class Engine:
    """Assesses profiles against a fixed set of rulesets.

    Safe to share across threads, but one engine assesses one profile at a time (the
    durable-rules core is serialised by a lock): for throughput use ``assess_many(jobs=N)``,
    which assesses on N processes, or an engine per process. An engine pickles as the parts it
    was built from, and is rebuilt from them where it is unpickled.
    """

    def __init__(
        self,
        rulesets: Sequence[Ruleset],
        derived_facts: Mapping[str, DerivedFact] | None = None,
        *,
        backend: str = "auto",
        sections: Sequence[SectionSpec] = (),
    ) -> None:
        if not rulesets:
            raise InputError(
                "no rulesets to assess against: install a ruleset plugin or pass --rules"
            )
        self.rulesets = tuple(sorted(rulesets, key=lambda r: r.id))
        self.derived_facts = dict(derived_facts or {})
        self._needed_facts = sorted(
            {name for rs in self.rulesets for rule in rs.rules for name in rule.derived}
        )
        self.backend: Backend = choose_backend(backend)
        self._program = program_for(self.backend, self.rulesets)
        self._judging = [_Judging(ruleset) for ruleset in self.rulesets]
        self._rulesets_used: list[RulesetProvenanceData] = [
            {"id": rs.id, "version": rs.version, "sha256": rs.sha256} for rs in self.rulesets
        ]
        # Profiles are read with the plugins' sections: load them with this model.
        self.profile_model = profile_model_with(sections)
        self._sections_used: list[SectionProvenanceData] = [
            {"name": s.name, "plugin": s.plugin, "version": s.version} for s in sections
        ]
        self._sections = tuple(sections)

    def __reduce__(self) -> tuple[object, ...]:
        # the compiled program lives in this process's durable-rules core: send the parts
        parts = (self.rulesets, self.derived_facts)
        return (_rebuilt_engine, (parts, self.backend, self._sections))

    def assess(
        self,
        profile: InnovationProfile | Mapping[str, Any],
        *,
        policy: Policy | Mapping[str, Any] | None = None,
        source: str | None = None,
        profile_sha256: str | None = None,
        assessed_at: datetime | None = None,
    ) -> Scorecard:
        """Assess one profile, and apply the policy; identical for identical input and clock.

        ``profile`` may be a dict, validated with ``profile_model`` (ProfileError naming each
        problem); ``policy`` a ``Policy`` or a dict (PolicyError if it names a ruleset or rule
        that this engine does not assess).
        """
        if not isinstance(profile, InnovationProfile):
            profile = self.profile_of(profile, source or "<profile>")
        checked = self.policy_of(policy) if policy is not None else None
        return scorecard_of(
            self.assess_raw(
                profile,
                policy=checked,
                source=source,
                profile_sha256=profile_sha256,
                assessed_at=assessed_at,
            )
        )

    def assess_raw(
        self,
        profile: InnovationProfile,
        *,
        policy: Policy | None = None,
        source: str | None = None,
        profile_sha256: str | None = None,
        assessed_at: datetime | None = None,
    ) -> ScorecardData:
        """``assess``, its scorecard as typed plain data, not validated: for rounds of thousands.

        The building block of ``assess`` and of ``rounds.batch``, which only summarise most
        scorecards and write the rest as JSON (``scorecard.dump_json``); embedders want
        ``assess``.
        """
        data = profile.model_dump(mode="json", exclude_none=True)
        derived, failed_facts = compute_derived_facts(
            self.derived_facts, self._needed_facts, profile
        )
        outcomes = self._program.run(data, Context(data, derived))
        found = _Found(GapFinder(data, derived, self.derived_facts), failed_facts)
        dimensions = [judging.dimension(outcomes, found) for judging in self._judging]
        overall = overall_verdict(dimensions)
        card: ScorecardData = {
            "schema_version": SCHEMA_VERSION,
            "profile": {
                "name": profile.name,
                "source": source,
                "figures_year": profile.figures_year,
                "identifiers": data.get("identifiers"),
                "metadata": data.get("metadata"),
            },
            "overall": overall,
            "dimensions": dimensions,
            "next_steps": ordered_next_steps(dimensions, overall["bottleneck"]),
            "gate": None,
            "provenance": self._provenance(data, profile_sha256, assessed_at),
        }
        if policy is not None:
            policy.apply(card)
        return card

    def profile_of(self, data: Mapping[str, Any], source: str = "<profile>") -> InnovationProfile:
        """Profile data (a dict, as a profile file holds it) validated with ``profile_model``:
        ProfileError naming each problem, with its field path in ``error.problems``."""
        if isinstance(data, Mapping):
            return profile_from_data(dict(data), source, self.profile_model)
        raise TypeError(
            f"a profile is an InnovationProfile or a dict of profile data, not "
            f"{type(data).__name__}; read a file with "
            "scaleready.load_profile(path, engine.profile_model)"
        )

    def policy_of(self, policy: Policy | Mapping[str, Any]) -> Policy:
        """A policy (or policy data, as ``Policy.from_dict`` reads it) checked against the
        rulesets this engine assesses."""
        from scaleready.assessment.policy import Policy  # here: policies cost every cold start

        if not isinstance(policy, Policy):
            if not isinstance(policy, Mapping):
                raise TypeError(
                    f"a policy is a Policy or a dict of policy data, not {type(policy).__name__};"
                    " read a file with scaleready.Policy.from_file(path)"
                )
            policy = Policy.from_dict(policy)
        policy.check_against(self.rulesets)
        return policy

    def assess_many(
        self,
        profiles: Iterable[InnovationProfile | Mapping[str, Any]],
        *,
        jobs: int = 1,
        policy: Policy | Mapping[str, Any] | None = None,
    ) -> Iterator[Assessed]:
        """Assess each profile, yielding an ``Assessed`` per profile in input order: its
        scorecard, or the error that stopped it (one bad profile never stops the others).

        With ``jobs`` above 1 the profiles are assessed on that many worker processes, each
        with its own copy of this engine (built once per worker); profiles are read from
        ``profiles`` as they are needed. A bad ``policy`` raises PolicyError at once.
        """
        from scaleready.assessment.many import in_order  # here: a pool is not every caller's

        checked = self.policy_of(policy) if policy is not None else None
        work = _AssessOne(self, checked)
        if jobs <= 1:
            done: Iterator[_Done] = map(work, enumerate(profiles))
        else:  # profiles and scorecards cross as plain data, and are validated on arrival
            done = in_order(work, enumerate(map(_as_data, profiles)), jobs, _worker_died)
        for index, card, error in done:
            yield Assessed(index, scorecard_of(card) if card is not None else None, error)

    def _provenance(
        self, data: dict, profile_sha256: str | None, assessed_at: datetime | None
    ) -> ProvenanceData:
        if profile_sha256 is None:
            profile_sha256 = data_sha256(data)
        return {
            "scaleready_version": __version__,
            "backend": self.backend,
            "assessed_at": _timestamp(assessed_at),
            "profile_sha256": profile_sha256,
            "rulesets": [used.copy() for used in self._rulesets_used],
            "sections": [used.copy() for used in self._sections_used],
        }

    def ruleset(self, ruleset_id: str) -> Ruleset:
        """One of the rulesets assessed, by id; InputError naming the nearest if none has it."""
        for ruleset in self.rulesets:
            if ruleset.id == ruleset_id:
                return ruleset
        ids = [r.id for r in self.rulesets]
        hint = did_you_mean(ruleset_id, ids, otherwise=f"assessed: {', '.join(ids)}")
        raise InputError(f"no ruleset {ruleset_id!r} is assessed; {hint}")

    def find_rule(self, rule_ref: str) -> tuple[Ruleset, Rule]:
        """A rule by ``ruleset.rule`` or by a rule id that only one ruleset has."""
        if "." in rule_ref:
            ruleset_id, rule_id = rule_ref.split(".", 1)
            candidates = [(self.ruleset(ruleset_id), rule_id)]
        else:
            candidates = [(rs, rule_ref) for rs in self.rulesets]
        found = [
            (rs, rule) for rs, rule_id in candidates for rule in rs.rules if rule.id == rule_id
        ]
        if len(found) != 1:
            raise InputError(self._no_such_rule(rule_ref, found))
        return found[0]

    def _no_such_rule(self, rule_ref: str, found: Sequence[tuple[Ruleset, Rule]]) -> str:
        if found:
            names = ", ".join(rule_key(rs, rule, ".") for rs, rule in found)
            return f"rule {rule_ref!r} is ambiguous; name it as ruleset.rule: {names}"
        keys = [rule_key(rs, rule, ".") for rs in self.rulesets for rule in rs.rules]
        ids = [rule.id for rs in self.rulesets for rule in rs.rules]
        hint = nearest(rule_ref, keys if "." in rule_ref else ids)
        if hint is not None:
            return f"rule {rule_ref!r} does not exist; did you mean {hint!r}?"
        return f"rule {rule_ref!r} does not exist; rules: {', '.join(keys)}"

    def explain(self, profile: InnovationProfile | Mapping[str, Any], rule_ref: str) -> Explanation:
        """Evaluate one rule (``ruleset.rule``, or a rule id only one ruleset has) step by step
        with the plain-Python evaluator: the values it read, and what was missing."""
        ruleset, rule = self.find_rule(rule_ref)
        if not isinstance(profile, InnovationProfile):
            profile = self.profile_of(profile)
        data = profile.model_dump(mode="json", exclude_none=True)
        derived, failed_facts = compute_derived_facts(
            self.derived_facts, self._needed_facts, profile
        )
        outcomes = PythonProgram([ruleset]).run(data, Context(data, derived))
        found = _Found(GapFinder(data, derived, self.derived_facts), failed_facts)
        judgement = _Judging(ruleset).judgements(outcomes, found)[rule.id]
        cited = {r.id: outcomes.get(rule_key(ruleset, r), Outcome.UNKNOWN) for r in ruleset.rules}
        steps = {}
        for name, condition in (("applies", rule.applies), ("condition", rule.condition)):
            trace: list[Step] = []
            if condition is not None:
                truth(condition, data, Context(data, derived, cited.__getitem__, trace))
            steps[name] = trace
        return Explanation(
            ruleset.id,
            rule,
            judgement.outcome,
            steps["applies"],
            steps["condition"],
            judgement.missing,
            judgement.error,
        )


@dataclass(frozen=True)
class Assessed:
    """One profile of ``assess_many``: its place in the input (from 0), and its scorecard or
    the error that stopped it."""

    index: int
    scorecard: Scorecard | None
    error: ScaleReadyError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class _AssessOne:
    """Assess one numbered profile into an ``Assessed``: what ``assess_many`` maps."""

    engine: Engine
    policy: Policy | None

    def __call__(self, numbered: tuple[int, InnovationProfile | Mapping[str, Any]]) -> _Done:
        index, profile = numbered
        source = f"profiles[{index}]"
        try:
            if not isinstance(profile, InnovationProfile):  # a dict, or what is not a profile
                data = dict(profile) if isinstance(profile, Mapping) else profile
                profile = profile_from_data(data, source, self.engine.profile_model)
            return index, self.engine.assess_raw(profile, policy=self.policy, source=source), None
        except Exception as error:  # whatever fails is this profile's outcome alone
            if isinstance(error, ScaleReadyError):
                return index, None, error
            reason, _ = item_failure(source, error)  # a bug: named, and its traceback if DEBUG
            return index, None, EngineError(reason)


def _as_data(profile: InnovationProfile | Mapping[str, Any]) -> Mapping[str, Any]:
    """A profile as it crosses to a worker: its data (a profile with plugins' sections is of a
    model made at run time, which pickle cannot name)."""
    if isinstance(profile, InnovationProfile):
        return profile.model_dump(mode="json", exclude_none=True)
    return profile


# A profile assessed, as a worker sends it back: its index, its scorecard data or its error.
_Done = tuple[int, ScorecardData | None, ScaleReadyError | None]


def _worker_died(index: int, how: str) -> _Done:
    reason = f"internal error: the worker process assessing it stopped ({how})"
    return index, None, EngineError(reason, source=f"profiles[{index}]")


def _rebuilt_engine(
    parts: tuple[Sequence[Ruleset], Mapping[str, DerivedFact]],
    backend: str,
    sections: Sequence[SectionSpec],
) -> Engine:
    return Engine(*parts, backend=backend, sections=sections)


@dataclass(frozen=True)
class _Found:
    """What judging one profile reads besides the outcomes: its gaps and failed derived facts."""

    gaps: GapFinder
    failed_facts: Mapping[str, str]


class _Judging:
    """One ruleset's judging, planned once: rule keys in citation order, needs, scoring."""

    def __init__(self, ruleset: Ruleset) -> None:
        self.scoring = DimensionPlan(ruleset)
        self.key_prefix = rule_key_prefix(ruleset)
        needs = RuleNeeds.of_ruleset(ruleset)
        self.order = [
            (rule.id, rule_key(ruleset, rule), needs[rule.id], rule)
            for rule in ruleset.evaluation_order
        ]
        self.plans = [  # in ruleset order, as results are listed
            (plan, rule_key(ruleset, plan.rule), needs[plan.id]) for plan in self.scoring.rules
        ]

    def dimension(self, outcomes: Mapping[str, str], found: _Found) -> DimensionData:
        if found.failed_facts:  # errors spread along citations: judged in evaluation order
            return self.scoring.score(self.judgements(outcomes, found), found.gaps)
        results = []
        for plan, key, needs in self.plans:
            result = plan.decided(outcomes.get(key, _UNKNOWN))
            if result is None:
                result = plan.unknown(needs.missing(found.gaps, self._outcome_of(outcomes)))
            results.append(result)
        return self.scoring.dimension(results, found.gaps)

    def _outcome_of(self, outcomes: Mapping[str, str]) -> Callable[[str], str]:
        """The outcome of a rule of this ruleset, by its id."""
        return lambda rule_id: outcomes.get(self.key_prefix + rule_id, _UNKNOWN)

    def judgements(self, outcomes: Mapping[str, str], found: _Found) -> dict[str, Judgement]:
        """Each rule's outcome, with what is missing where it is unknown, and errors."""
        judgements: dict[str, Judgement] = {}
        for rule_id, key, needs, rule in self.order:
            # only a derived fact that failed makes errors: a rule in error, and those citing it
            error = _error_of(rule, judgements, found.failed_facts) if found.failed_facts else None
            if error:
                judgements[rule_id] = Judgement(Outcome.ERROR, error=error)
                continue
            outcome = _OUTCOMES[outcomes.get(key, Outcome.UNKNOWN)]
            if outcome is _UNKNOWN:
                missing = needs.missing(found.gaps, self._outcome_of(outcomes))
                judgements[rule_id] = Judgement(outcome, missing)
            else:
                judgements[rule_id] = Judgement(outcome)
        return judgements


_OUTCOMES = {outcome.value: outcome for outcome in Outcome}  # programs give plain strings
_UNKNOWN = Outcome.UNKNOWN


def data_sha256(data: Mapping) -> str:
    """SHA-256 of profile data as canonical JSON: the hash of a profile that has no file."""
    return hashlib.sha256(_CANONICAL.encode(data).encode()).hexdigest()


# json.dumps(data, sort_keys=True, separators=(",", ":")), less its check for circular
# references: profile data, freshly dumped from a model, cannot have one.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), check_circular=False)


def _error_of(
    rule: Rule, judgements: Mapping[str, Judgement], failed_facts: Mapping[str, str]
) -> str | None:
    """Why a rule cannot be assessed: a derived fact it reads failed, or a rule it cites errored."""
    for name in rule.derived:
        if name in failed_facts:
            return failed_facts[name]
    for cited in rule.depends_on:
        if judgements[cited].outcome == Outcome.ERROR:
            return f"it depends on rule {cited!r}, which could not be assessed"
    return None


def _timestamp(assessed_at: datetime | None) -> str:
    """The assessment time: given, else SOURCE_DATE_EPOCH (for reproducible output), else now."""
    if assessed_at is None:
        assessed_at = fixed_clock() or datetime.now(UTC)
    return assessed_at.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def fixed_clock() -> datetime | None:
    """The time SOURCE_DATE_EPOCH fixes, if set; SettingError if it is not a time."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not epoch:
        return None
    try:  # the reproducible-builds form: whole seconds since 1970-01-01 UTC, digits only
        if not (epoch.isascii() and epoch.isdigit()):
            raise ValueError(epoch)
        return datetime.fromtimestamp(int(epoch), UTC)
    except (ValueError, OverflowError, OSError):
        raise SettingError(
            f"{epoch[:40]!r} is not a time scaleready can use; write whole seconds since "
            "1970-01-01 UTC (as `date +%s` prints them), e.g. SOURCE_DATE_EPOCH=1700000000",
            source="SOURCE_DATE_EPOCH",
        ) from None
