"""A command imports what it uses, when it runs: the structure that keeps a cold start quick.

Each test runs a command in a fresh interpreter and reads the modules it imported, so a later
change that imports the round machinery, the HTML report or the whole library on the way to a
plain `scaleready assess` fails here by name, not in a timing that wanders with the machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

CODE_CLUB = REPO / "examples" / "code-club.yaml"

# Runs `scaleready ARGS...` as the console script does, then writes the imported modules' names.
_RUN_AND_LIST_MODULES = """
import json, sys
from scaleready.cli import main
listing, sys.argv = sys.argv[1], ["scaleready", *sys.argv[2:]]
try:
    main()
except SystemExit as end:
    code = end.code
with open(listing, "w", encoding="utf-8") as file:
    json.dump({"exit_code": code, "modules": sorted(sys.modules)}, file)
"""

# What a terminal-table or JSON assess of a YAML profile has no use for.
NOT_FOR_ASSESS = (
    "scaleready.rounds",  # grant rounds: batch, spreadsheets, the round writer
    "multiprocessing",
    "openpyxl",
    "scaleready.report.html",
    "scaleready.assessment.ruleset_cases",
    "scaleready.report.ruleset_docs",
    "scaleready.history",  # the audit history, and its database layer: only with --record
    "sqlalchemy",
    "alembic",
)


def imported_by(tmp_path: Path, *args: object) -> tuple[int, set[str], str]:
    """The exit code, the modules imported and the output of `scaleready ARGS...`."""
    listing = tmp_path / "modules.json"
    command = [sys.executable, "-c", _RUN_AND_LIST_MODULES, str(listing), *map(str, args)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=REPO)
    assert listing.is_file(), result.stderr
    found = json.loads(listing.read_text(encoding="utf-8"))
    return found["exit_code"], set(found["modules"]), result.stdout


def within(modules: set[str], packages: tuple[str, ...]) -> list[str]:
    """The modules that are one of the packages or inside one."""
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in packages))


@pytest.mark.slow
@pytest.mark.parametrize("output_format", ["table", "json"], ids=["table", "json"])
def test_assess_imports_neither_the_round_machinery_nor_the_html_report(tmp_path, output_format):
    exit_code, modules, output = imported_by(
        tmp_path, "assess", CODE_CLUB, "--format", output_format
    )
    assert exit_code in (0, None) and "Code Club" in output
    assert "scaleready.assessment.engine" in modules  # it did assess
    assert within(modules, NOT_FOR_ASSESS) == []


@pytest.mark.slow
def test_an_html_assess_imports_the_html_report_but_not_the_round_machinery(tmp_path):
    exit_code, modules, output = imported_by(tmp_path, "assess", CODE_CLUB, "--format", "html")
    assert exit_code in (0, None) and output.startswith("<!DOCTYPE html>")
    assert "scaleready.report.html" in modules
    assert within(modules, ("scaleready.rounds", "multiprocessing", "openpyxl")) == []


@pytest.mark.slow
def test_help_imports_none_of_the_library(tmp_path):
    exit_code, modules, output = imported_by(tmp_path, "--help")
    assert exit_code == 0 and "Usage: scaleready" in output
    commands = within(modules, ("scaleready.cli",))  # the cli package's own modules
    library = [name for name in within(modules, ("scaleready",)) if name not in commands]
    assert library == ["scaleready", "scaleready.errors"]
    assert within(modules, ("pydantic", "yaml", "pluggy", "durable_rules_engine")) == []
