"""Ruleset test cases: profile fragments with the outcomes a ruleset's author expects.

A ruleset ``evidence.yaml`` keeps its cases beside it in ``evidence.tests.yaml``.  Each case is
run through every available backend; a case fails when a named rule or the level differs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from scaleready.assessment.engine import Engine
from scaleready.assessment.scorecard import Dimension
from scaleready.documents import load_document
from scaleready.errors import ProfileError, RulesetError
from scaleready.language import durable
from scaleready.language.ruleset import Ruleset
from scaleready.outcome import MAX_LEVEL, Outcome
from scaleready.plugins import DerivedFact
from scaleready.problems import validated
from scaleready.profile import SectionSpec, profile_from_data

TESTS_SUFFIX = ".tests.yaml"
LEVELS = range(MAX_LEVEL + 1)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Expectation(_Strict):
    level: Annotated[int, Field(ge=0, le=MAX_LEVEL)] | None = Field(
        None, description="Expected dimension level."
    )
    rules: dict[str, Outcome] = Field(
        default_factory=dict, description="Expected outcome per rule id."
    )


class Case(_Strict):
    name: str = Field(min_length=1, description="What the case shows, as a sentence.")
    profile: dict = Field(default_factory=dict, description="A profile or a fragment of one.")
    expect: Expectation


class CaseFile(_Strict):
    ruleset: str = Field(description="Id of the ruleset the cases test.")
    cases: list[Case] = Field(min_length=1)


@dataclass(frozen=True)
class CaseResult:
    case: Case
    problems: tuple[str, ...]  # empty when the case passed on every backend

    @property
    def passed(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class Coverage:
    never_pass: tuple[str, ...]
    never_fail: tuple[str, ...]
    levels_untested: tuple[int, ...]

    @property
    def complete(self) -> bool:
        return not (self.never_pass or self.never_fail or self.levels_untested)


def tests_file_for(ruleset_file: str | Path) -> Path:
    """Where a ruleset's test cases live: ``x.yaml`` -> ``x.tests.yaml``."""
    path = Path(ruleset_file)
    return path.with_name(path.name.removesuffix(path.suffix) + TESTS_SUFFIX)


def ruleset_file_for(tests_file: str | Path) -> Path:
    """The ruleset file a tests file sits beside: ``x.tests.yaml`` -> ``x.yaml``."""
    path = Path(tests_file)
    return path.with_name(path.name.removesuffix(TESTS_SUFFIX) + ".yaml")


def load_cases(path: Path, ruleset: Ruleset) -> list[Case]:
    """Read and check a tests file against the ruleset it tests."""
    document = load_document(Path(path), RulesetError)
    spec = validated(CaseFile, document.data, RulesetError, str(path), document)
    if spec.ruleset != ruleset.id:
        raise RulesetError(
            f"the cases are for ruleset {spec.ruleset!r}, not {ruleset.id!r}", source=str(path)
        )
    known = {rule.id for rule in ruleset.rules}
    for index, case in enumerate(spec.cases):
        unknown = sorted(set(case.expect.rules) - known)
        if unknown:
            line = document.line_of(("cases", index, "expect", "rules"))
            where = f"{path}:{line}" if line else str(path)
            raise RulesetError(
                f"case {case.name!r} names unknown rule {unknown[0]!r}", source=where
            )
    return spec.cases


def available_backends() -> tuple[str, ...]:
    return ("durable_rules", "python") if durable.AVAILABLE else ("python",)


def run_cases(
    ruleset: Ruleset,
    cases: Iterable[Case],
    derived_facts: Mapping[str, DerivedFact],
    sections: Sequence[SectionSpec] = (),
) -> list[CaseResult]:
    """Run each case through every available backend and compare with what it expects;
    ``sections`` are the plugins' profile sections a case's profile may have."""
    engines = case_engines(ruleset, derived_facts, sections)
    return [run_case(case, engines) for case in cases]


def case_engines(
    ruleset: Ruleset,
    derived_facts: Mapping[str, DerivedFact],
    sections: Sequence[SectionSpec] = (),
) -> list[Engine]:
    """An engine over the ruleset for each available backend, to run its cases on."""
    return [
        Engine([ruleset], derived_facts, backend=b, sections=sections) for b in available_backends()
    ]


def run_case(case: Case, engines: list[Engine]) -> CaseResult:
    """Run one case on each engine and compare with what it expects."""
    try:
        profile = profile_from_data(
            {"name": case.name, **case.profile},
            source=f"case {case.name!r}",
            model=engines[0].profile_model,
        )
    except ProfileError as error:
        return CaseResult(case, (f"the profile is invalid: {error}",))
    problems = []
    for engine in engines:
        dimension = engine.assess(profile).dimensions[0]
        problems += [f"[{engine.backend}] {p}" for p in _compare(case.expect, dimension)]
    return CaseResult(case, tuple(problems))


def _compare(expect: Expectation, dimension: Dimension) -> list[str]:
    results = {rule.id: rule for rule in dimension.rules}
    problems = []
    for rule_id, wanted in expect.rules.items():
        got = results[rule_id]
        if got.outcome != wanted:
            missing = f" (missing: {', '.join(got.missing)})" if got.missing else ""
            problems.append(f"rule {rule_id}: expected {wanted}, got {got.outcome}{missing}")
    if expect.level is not None and dimension.level != expect.level:
        problems.append(f"level: expected {expect.level}, got {dimension.level}")
    return problems


def coverage(ruleset: Ruleset, cases: Iterable[Case]) -> Coverage:
    """Which rules no case expects to pass or to fail, and which levels no case expects."""
    cases = list(cases)
    expected = [(rule, outcome) for case in cases for rule, outcome in case.expect.rules.items()]
    ids = [rule.id for rule in ruleset.rules]
    return Coverage(
        never_pass=tuple(i for i in ids if (i, Outcome.PASS) not in expected),
        never_fail=tuple(i for i in ids if (i, Outcome.FAIL) not in expected),
        levels_untested=tuple(n for n in LEVELS if n not in {c.expect.level for c in cases}),
    )
