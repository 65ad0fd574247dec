"""The engine: builds rule programs from rulesets and assesses profiles into scorecards."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache, partial

from scaleready import __version__
from scaleready.assessment.scorecard import Scorecard
from scaleready.assessment.scoring import (
    Judgement,
    ordered_next_steps,
    overall_verdict,
    score_dimension,
)
from scaleready.errors import EngineError, InputError, SettingError
from scaleready.language import durable
from scaleready.language.evaluate import MISSING, Context, Step, lookup, truth
from scaleready.language.ruleset import Rule, Ruleset
from scaleready.plugins import (
    DerivedFact,
    Registry,
    add_ruleset_files,
    compute_derived_facts,
    load_registry,
)
from scaleready.profile import InnovationProfile, profile_fields

BACKENDS = ("auto", "durable_rules", "python")


@dataclass
class Explanation:
    """Why a rule came out as it did: each condition tested, the values seen, the outcome."""

    ruleset: str
    rule: Rule
    outcome: str
    applies_steps: list[Step]
    condition_steps: list[Step]
    missing: tuple[str, ...]
    error: str | None


class Engine:
    """Assesses profiles against a fixed set of rulesets; safe to share across threads."""

    def __init__(
        self,
        rulesets: Sequence[Ruleset],
        derived_facts: Mapping[str, DerivedFact] | None = None,
        *,
        backend: str = "auto",
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
        self.backend = _choose_backend(backend)
        self._program = None
        if self.backend == "durable_rules":
            self._program = durable.DurableProgram(
                self._rules_to_run(), reference=partial(evaluate_outcomes, self.rulesets)
            )

    def _rules_to_run(self) -> list[durable.RuleToRun]:
        def citer(ruleset: Ruleset):
            return lambda rule_id: (ruleset.rule(rule_id).condition, ruleset.rule(rule_id).applies)

        return [
            durable.RuleToRun(
                _key(rs, rule), rule.condition, rule.applies, citer(rs), _alternatives(rule)
            )
            for rs in self.rulesets
            for rule in rs.rules
        ]

    def assess(
        self,
        profile: InnovationProfile,
        *,
        source: str | None = None,
        profile_sha256: str | None = None,
        assessed_at: datetime | None = None,
    ) -> Scorecard:
        """Assess one profile; the scorecard is identical for identical input and clock."""
        return Scorecard.model_validate(
            self.assess_data(
                profile, source=source, profile_sha256=profile_sha256, assessed_at=assessed_at
            )
        )

    def assess_data(
        self,
        profile: InnovationProfile,
        *,
        source: str | None = None,
        profile_sha256: str | None = None,
        assessed_at: datetime | None = None,
    ) -> dict:
        """The scorecard as plain data, not yet validated: for batches that only need a summary."""
        data = profile.model_dump(mode="json", exclude_none=True)
        derived, failed_facts = compute_derived_facts(
            self.derived_facts, self._needed_facts, profile
        )
        outcomes = self._outcomes(data, Context(data, derived))
        gaps = _GapFinder(data)
        dimensions = [
            score_dimension(rs, self._judgements(rs, outcomes, gaps, derived, failed_facts))
            for rs in self.rulesets
        ]
        overall = overall_verdict(dimensions)
        return {
            "profile": {
                "name": profile.name,
                "source": source,
                "figures_year": profile.figures_year,
            },
            "overall": overall,
            "dimensions": dimensions,
            "next_steps": ordered_next_steps(dimensions, overall["bottleneck"]),
            "provenance": self._provenance(data, profile_sha256, assessed_at),
        }

    def _outcomes(self, data: dict, context: Context) -> dict[str, str]:
        """Outcome per rule key from the chosen backend; keys it leaves out are unknown."""
        if self._program is not None:
            return self._program.run(data, context)
        return evaluate_outcomes(self.rulesets, context)

    def _judgements(self, ruleset, outcomes, gaps, derived, failed_facts) -> dict[str, Judgement]:
        judgements: dict[str, Judgement] = {}
        for rule in ruleset.evaluation_order:
            error = _error_of(rule, judgements, failed_facts)
            if error:
                judgements[rule.id] = Judgement("error", error=error)
                continue
            outcome = outcomes.get(_key(ruleset, rule), "unknown")
            missing = (
                self._missing_data(ruleset, rule, gaps, derived) if outcome == "unknown" else ()
            )
            judgements[rule.id] = Judgement(outcome, missing)
        return judgements

    def _missing_data(
        self, ruleset: Ruleset, rule: Rule, gaps: _GapFinder, derived: Mapping
    ) -> tuple[str, ...]:
        """Profile fields a rule (or a derived fact or rule it reads) needs and lacks."""
        missing = {gap for path in rule.fields for gap in gaps.of(path)}
        for name in rule.derived:
            if name not in derived:
                inputs = {gap for path in self.derived_facts[name].inputs for gap in gaps.of(path)}
                missing |= inputs or {f"derived.{name}"}
        for cited in rule.depends_on:
            missing |= set(self._missing_data(ruleset, ruleset.rule(cited), gaps, derived))
        return tuple(sorted(missing))

    def _provenance(
        self, data: dict, profile_sha256: str | None, assessed_at: datetime | None
    ) -> dict:
        if profile_sha256 is None:
            profile_sha256 = data_sha256(data)
        return {
            "scaleready_version": __version__,
            "backend": self.backend,
            "assessed_at": _timestamp(assessed_at),
            "profile_sha256": profile_sha256,
            "rulesets": [
                {"id": rs.id, "version": rs.version, "sha256": rs.sha256} for rs in self.rulesets
            ],
        }

    def ruleset(self, ruleset_id: str) -> Ruleset:
        for ruleset in self.rulesets:
            if ruleset.id == ruleset_id:
                return ruleset
        raise InputError(
            f"no ruleset {ruleset_id!r}; installed: {', '.join(r.id for r in self.rulesets)}"
        )

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
            known = ", ".join(_key(rs, rule, ".") for rs in self.rulesets for rule in rs.rules)
            reason = "is ambiguous; name it as ruleset.rule" if found else "does not exist"
            raise InputError(f"rule {rule_ref!r} {reason}; rules: {known}")
        return found[0]

    def explain(self, profile: InnovationProfile, rule_ref: str) -> Explanation:
        """Evaluate one rule step by step with the plain-Python evaluator."""
        ruleset, rule = self.find_rule(rule_ref)
        data = profile.model_dump(mode="json", exclude_none=True)
        derived, failed_facts = compute_derived_facts(
            self.derived_facts, self._needed_facts, profile
        )
        outcomes = evaluate_outcomes([ruleset], Context(data, derived))
        judgement = self._judgements(ruleset, outcomes, _GapFinder(data), derived, failed_facts)[
            rule.id
        ]
        cited = {r.id: outcomes.get(_key(ruleset, r), "unknown") for r in ruleset.rules}
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


def data_sha256(data: Mapping) -> str:
    """SHA-256 of profile data as canonical JSON: the hash of a profile that has no file."""
    return hashlib.sha256(
        json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()


def evaluate_outcomes(rulesets: Iterable[Ruleset], context: Context) -> dict[str, str]:
    """Outcome per rule key, by the plain-Python evaluator (the reference semantics)."""
    outcomes: dict[str, str] = {}
    for ruleset in rulesets:
        local: dict[str, str] = {}
        scoped = Context(context.profile, context.derived, local.__getitem__)
        for rule in ruleset.evaluation_order:
            applies = True if rule.applies is None else truth(rule.applies, context.profile, scoped)
            holds = truth(rule.condition, context.profile, scoped) if applies else None
            local[rule.id] = decide(applies, holds)
        outcomes.update({f"{ruleset.id}/{rule_id}": outcome for rule_id, outcome in local.items()})
    return {key: outcome for key, outcome in outcomes.items() if outcome != "unknown"}


def decide(applies: bool | None, holds: bool | None) -> str:
    """A rule's outcome from whether it applies and whether its condition holds."""
    if applies is False:
        return "not_applicable"
    if applies is None or holds is None:
        return "unknown"
    return "pass" if holds else "fail"


def _alternatives(rule: Rule) -> int:
    """Branches a rule's outcomes can put on durable_rules' match stack (measured at load)."""
    return rule.size.alternatives() if rule.size is not None else 2


def _key(ruleset: Ruleset, rule: Rule, separator: str = "/") -> str:
    return f"{ruleset.id}{separator}{rule.id}"


def _error_of(
    rule: Rule, judgements: Mapping[str, Judgement], failed_facts: Mapping[str, str]
) -> str | None:
    """Why a rule cannot be assessed: a derived fact it reads failed, or a rule it cites errored."""
    for name in rule.derived:
        if name in failed_facts:
            return failed_facts[name]
    for cited in rule.depends_on:
        if judgements[cited].outcome == "error":
            return f"it depends on rule {cited!r}, which could not be assessed"
    return None


class _GapFinder:
    """The missing-data labels of field paths in one profile, each worked out once."""

    def __init__(self, data: Mapping) -> None:
        self.data = data
        self.found: dict[str, list[str]] = {}

    def of(self, path: str) -> list[str]:
        if path not in self.found:
            self.found[path] = missing_paths(self.data, path)
        return self.found[path]


def missing_paths(data: Mapping, path: str) -> list[str]:
    """The ways ``path`` is missing from the profile, e.g. ``evidence.evaluations[].design``."""
    in_list, keys, label = _plan(path)
    if in_list is None:
        return [label] if lookup(data, keys) is MISSING else []
    outer = missing_paths(data, in_list)
    if outer:
        return outer
    return (
        [label] if any(lookup(item, keys) is MISSING for item in _items_of(data, in_list)) else []
    )


@cache
def _plan(path: str) -> tuple[str | None, tuple[str, ...], str]:
    """A field's enclosing list, its keys below that list's items (or the root), its gap label."""
    info = profile_fields()[path]
    if info.in_list is None:
        return None, tuple(path.split(".")), path
    relative = path[len(info.in_list) + 1 :]
    return info.in_list, tuple(relative.split(".")), f"{_plan(info.in_list)[2]}[].{relative}"


def _items_of(data: Mapping, list_path: str) -> list[Mapping]:
    in_list, keys, _ = _plan(list_path)
    scopes = [data] if in_list is None else _items_of(data, in_list)
    found: list[Mapping] = []
    for scope in scopes:
        value = lookup(scope, keys)
        found.extend(value if value is not MISSING else ())
    return found


def _choose_backend(requested: str) -> str:
    if requested not in BACKENDS:
        raise InputError(f"unknown backend {requested!r}; choose one of {', '.join(BACKENDS)}")
    if requested == "auto":
        return "durable_rules" if durable.AVAILABLE else "python"
    if requested == "durable_rules" and not durable.AVAILABLE:
        raise EngineError("durable_rules cannot be imported on this Python; use --backend python")
    return requested


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


def create_engine(
    rulesets: Sequence[str] = (),
    *,
    rule_files: Sequence[str] = (),
    plugins: Iterable[object] = (),
    load_entry_points: bool | None = None,
    backend: str = "auto",
    strict_plugins: bool = False,
) -> tuple[Engine, Registry]:
    """An engine over the installed (and given) plugins' rulesets, or just ``rulesets``."""
    registry = load_registry(plugins, load_entry_points=load_entry_points)
    if strict_plugins and registry.problems:
        raise registry.problems[0]
    add_ruleset_files(registry, rule_files)
    chosen = list(rulesets) or sorted(registry.rulesets)
    unknown = [name for name in chosen if name not in registry.rulesets]
    if unknown:
        known = ", ".join(sorted(registry.rulesets)) or "none installed"
        raise InputError(f"unknown ruleset {unknown[0]!r}; available: {known}")
    engine = Engine(
        [registry.rulesets[name] for name in chosen], registry.derived_facts, backend=backend
    )
    return engine, registry
