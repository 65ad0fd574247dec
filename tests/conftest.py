"""Shared fixtures: the repository's files, a CLI runner, the installed console script."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from scaleready.assessment.engine import Engine
from scaleready.cli import cli
from scaleready.language.ruleset import load_ruleset
from scaleready.plugins import load_registry

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((REPO / "examples").glob("*.yaml"))
TEST_PROFILES = sorted((REPO / "tests" / "profiles").glob("*.yaml"))
BUILTIN_RULESETS = sorted(
    p for p in (REPO / "rulesets").glob("*.yaml") if not p.name.endswith(".tests.yaml")
)
LANGUAGE_RULESET = REPO / "tests" / "rulesets" / "language.yaml"
PLUGINS = REPO / "tests" / "plugins"
SCALEREADY = Path(sys.executable).with_name("scaleready")

# The test plugin packages' own case files (*.tests.yaml) are theirs to run once installed, by
# scaleready.testing in their own test runs; this suite installs them where a test needs one.
collect_ignore_glob = ["plugins/*"]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def invoke(runner: CliRunner, *args: object, env: Mapping[str, str] | None = None) -> Result:
    """Run a command in this process, as `scaleready` runs it for a user (the same group
    callback, error mapping and exit codes); an exception the CLI lets escape fails the test."""
    return runner.invoke(
        cli, [str(a) for a in args], env=env, prog_name="scaleready", catch_exceptions=False
    )


@pytest.fixture(scope="session")
def registry():
    """What the installed plugins (the built-ins at least) provide."""
    return load_registry()


@pytest.fixture(scope="session")
def language_ruleset(registry):
    return load_ruleset(LANGUAGE_RULESET, registry.fact_kinds())


@pytest.fixture(scope="session")
def engine(registry) -> Engine:
    return Engine(list(registry.rulesets.values()), registry.derived_facts, backend="durable_rules")


@pytest.fixture(scope="session")
def plugin_sites(tmp_path_factory) -> Iterator[Callable[..., dict[str, str]]]:
    """PYTHONPATH that shows a subprocess the named packages of tests/plugins, each installed
    for real once per session into a folder of its own (the test venv stays clean); removed
    when the session ends."""
    sites: dict[str, Path] = {}

    def pythonpath(*packages: str) -> dict[str, str]:
        for package in packages:
            if package not in sites:
                site = tmp_path_factory.mktemp(package)
                pip("install", "--target", str(site), str(PLUGINS / package))
                sites[package] = site
        paths = [*(str(sites[p]) for p in packages), os.environ.get("PYTHONPATH")]
        return {"PYTHONPATH": os.pathsep.join(filter(None, paths))}

    yield pythonpath
    for site in sites.values():
        shutil.rmtree(site, ignore_errors=True)


def run_scaleready(
    *args: object, env: dict | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    """Run the installed console script as a user would, in a real subprocess."""
    return subprocess.run(
        [str(SCALEREADY), *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
    )


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def pip(*args: str) -> None:
    """Run this environment's pip offline-friendly: no dependencies, no isolated build."""
    command = [
        sys.executable,
        "-m",
        "pip",
        *args[:1],
        "--quiet",
        "--no-deps",
        "--no-build-isolation",
        *args[1:],
    ]
    subprocess.run(command, check=True, capture_output=True, timeout=300)


def assert_cases_cover_and_pass(registry, ruleset, cases_file: Path) -> None:
    """A plugin's test cases expect every rule to pass and fail and every level, and all pass."""
    from scaleready.assessment import ruleset_cases

    cases = ruleset_cases.load_cases(cases_file, ruleset)
    assert ruleset_cases.coverage(ruleset, cases).complete
    sections = list(registry.sections.values())
    results = ruleset_cases.run_cases(ruleset, cases, registry.derived_facts, sections)
    assert [result.problems for result in results if not result.passed] == []


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A real PostgreSQL server for the session (tests/postgres.py), or a skip saying why not."""
    from tests import postgres

    try:
        with postgres.server() as url:
            yield url
    except postgres.NoServer as why:
        pytest.skip(f"PostgreSQL: {why}")


@pytest.fixture(params=["sqlite", "postgresql"])
def history_url(request, tmp_path) -> str:
    """An empty history database: a SQLite file, and a database on a real PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'history.sqlite'}"
    from tests import postgres

    return postgres.new_database(request.getfixturevalue("postgres_server"))


def write_table(path: Path, header: Sequence[str], rows: Sequence[Mapping[str, object]]) -> Path:
    """A round as a grant system exports it, by the suffix: CSV text, or an XLSX sheet with
    typed cells (numbers, booleans); a row's missing keys are empty cells."""
    cells = [[row.get(column) for column in header] for row in rows]
    if path.suffix == ".xlsx":
        from openpyxl import Workbook

        workbook = Workbook()
        for line in [list(header), *cells]:
            workbook.active.append(line)
        workbook.save(path)
        return path
    import csv

    def text(cell: object) -> object:
        return str(cell).lower() if isinstance(cell, bool) else cell  # as spreadsheets write it

    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([list(header), *([text(c) for c in line] for line in cells)])
    return path


def synthetic_round(path: Path, count: int, seed: int, bad_row: int) -> Path:
    """A CSV or XLSX round (by the suffix) of synthetic profiles, every field a column, with a
    word where the number of data row ``bad_row`` (from 0) should be."""
    from scaleready.rounds.spreadsheets import flatten, template_header
    from scaleready.synthetic import synthetic_profiles

    rows = [flatten(profile) for profile in synthetic_profiles(count, seed=seed)]
    header = template_header()
    header += sorted({key for row in rows for key in row} - set(header))
    rows[bad_row]["organisation.yearly_income"] = "lots"
    return write_table(path, header, rows)
