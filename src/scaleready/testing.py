"""scaleready.testing: a pytest plugin for plugin authors, registered under ``pytest11``.

- Each ``*.tests.yaml`` that pytest is asked to collect becomes one test per case, named by the
  case, run on every backend against the ruleset beside it (``x.tests.yaml`` -> ``x.yaml``).
- Fixtures assess a profile fragment with the plugin under test: ``scaleready_assess(fragment)``
  gives a Scorecard, ``scaleready_outcomes(fragment)`` each rule's outcome.

The plugin under test is named by the ``scaleready_plugin`` ini option (its entry-point name);
without it, every installed plugin but the built-ins is under test.

pytest imports this module in every session of an environment that has scaleready, the
scaleready project's own included, so it imports nothing of scaleready until a case file is
collected or a fixture is used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from scaleready.assessment.engine import Engine
    from scaleready.assessment.ruleset_cases import Case
    from scaleready.assessment.scorecard import Scorecard
    from scaleready.plugins import Registry

TESTS_SUFFIX = ".tests.yaml"  # as scaleready.assessment.ruleset_cases, without importing it
PLUGIN_OPTION = "scaleready_plugin"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        PLUGIN_OPTION,
        "Entry-point name of the scaleready plugin under test (default: every installed "
        "plugin that is not a built-in)",
        default="",
    )


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.name.endswith(TESTS_SUFFIX):
        return RulesetCasesFile.from_parent(parent, path=file_path)
    return None


class CaseFailed(Exception):
    """A ruleset case whose outcomes differ from what it expects (one line per difference)."""


class RulesetCasesFile(pytest.File):
    """A ruleset's test cases file: each case is a test."""

    def collect(self) -> Iterator[pytest.Item]:
        from scaleready.assessment import ruleset_cases
        from scaleready.documents import load_document
        from scaleready.errors import RulesetError, ScaleReadyError
        from scaleready.language.ruleset import load_ruleset

        registry = _installed_registry()
        try:
            ruleset = load_ruleset(
                ruleset_cases.ruleset_file_for(self.path), registry.fact_kinds(), registry.fields()
            )
            cases = ruleset_cases.load_cases(self.path, ruleset)
            document = load_document(self.path, RulesetError)
        except ScaleReadyError as error:
            hint = ""
            if "unknown derived fact" in str(error):
                hint = "\n(is the plugin that registers it installed? pip install -e .)"
            raise self.CollectError(f"{error}{hint}") from None
        sections = list(registry.sections.values())  # a case's profile may have them
        engines = ruleset_cases.case_engines(ruleset, registry.derived_facts, sections)
        for index, case in enumerate(cases):
            line = document.line_of(("cases", index))
            yield RulesetCase.from_parent(
                self, name=case.name, case=case, engines=engines, line=line
            )


class RulesetCase(pytest.Item):
    """One case: a profile fragment and the outcomes its author expects."""

    def __init__(
        self, *, case: Case, engines: list[Engine], line: int | None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.case = case
        self.engines = engines
        self.line = line

    def runtest(self) -> None:
        from scaleready.assessment.ruleset_cases import run_case

        result = run_case(self.case, self.engines)
        if not result.passed:
            raise CaseFailed("\n".join(result.problems))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style=None) -> str:
        if isinstance(excinfo.value, CaseFailed):
            where = f"{self.path}:{self.line}" if self.line else str(self.path)
            return f"{where}: case {self.case.name!r}\n{excinfo.value}"
        return str(super().repr_failure(excinfo, style=style))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        line = self.line - 1 if self.line else None  # pytest counts lines from 0
        return self.path, line, f"case: {self.case.name}"


_registries: dict[str, Registry] = {}


def _installed_registry() -> Registry:
    """What the installed plugins provide, read once per test session."""
    from scaleready.plugins import load_registry

    if "installed" not in _registries:
        _registries["installed"] = load_registry()
    return _registries["installed"]


# --- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def scaleready_registry() -> Registry:
    """What the installed plugins provide (the plugin under test among them)."""
    return _installed_registry()


@pytest.fixture(scope="session")
def scaleready_rulesets(pytestconfig: pytest.Config, scaleready_registry: Registry) -> list[str]:
    """Ids of the rulesets under test: the ``scaleready_plugin`` plugin's, else every
    non-built-in plugin's. Override this fixture to choose others."""
    wanted = str(pytestconfig.getini(PLUGIN_OPTION)).strip()
    plugins = [
        info
        for info in scaleready_registry.plugins.values()
        if (info.name == wanted if wanted else not info.builtin)
    ]
    if wanted and not plugins:
        installed = ", ".join(sorted(scaleready_registry.plugins)) or "none"
        pytest.fail(
            f"{PLUGIN_OPTION} = {wanted!r} is not an installed plugin (installed: {installed})"
        )
    ids = sorted(ruleset for info in plugins for ruleset in info.rulesets)
    if not ids:
        pytest.fail(_no_rulesets_message(wanted, scaleready_registry))
    return ids


def _no_rulesets_message(wanted: str, registry: Registry) -> str:
    problems = "; ".join(str(problem) for problem in registry.problems)
    under_test = f"plugin {wanted!r}" if wanted else "no installed plugin but the built-ins"
    advice = "install the plugin (pip install -e .) and check `scaleready plugins`"
    return f"{under_test} provides a ruleset; {advice}" + (f" ({problems})" if problems else "")


@pytest.fixture(scope="session")
def scaleready_engine(scaleready_registry: Registry, scaleready_rulesets: list[str]) -> Engine:
    """An engine over the rulesets under test, with every installed derived fact."""
    from scaleready.assessment.engine import Engine

    chosen = [scaleready_registry.rulesets[ruleset_id] for ruleset_id in scaleready_rulesets]
    sections = list(scaleready_registry.sections.values())  # plugins' profile sections
    return Engine(chosen, scaleready_registry.derived_facts, sections=sections)


@pytest.fixture
def scaleready_assess(scaleready_engine: Engine) -> Callable[[Mapping[str, Any]], Scorecard]:
    """``scaleready_assess(fragment)``: the Scorecard of a profile (or just the part that
    matters; ``name`` is filled in) under the rulesets under test."""
    from scaleready.profile import profile_from_data

    def assess(fragment: Mapping[str, Any]) -> Scorecard:
        data = {"name": "a test profile", **fragment}
        profile = profile_from_data(data, model=scaleready_engine.profile_model)
        return scaleready_engine.assess(profile)

    return assess


@pytest.fixture
def scaleready_outcomes(
    scaleready_assess: Callable[[Mapping[str, Any]], Scorecard],
) -> Callable[[Mapping[str, Any]], dict[str, str]]:
    """``scaleready_outcomes(fragment)``: each rule's outcome (``pass``, ``fail``, ``unknown``,
    ...) by its id, and by ``ruleset.rule`` too."""

    def outcomes(fragment: Mapping[str, Any]) -> dict[str, str]:
        found: dict[str, str] = {}
        for dimension in scaleready_assess(fragment).dimensions:
            for rule in dimension.rules:
                found.setdefault(rule.id, str(rule.outcome))
                found[f"{dimension.id}.{rule.id}"] = str(rule.outcome)
        return found

    return outcomes
