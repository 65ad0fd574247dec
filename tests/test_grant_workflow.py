"""examples/grant_workflow.py, run as a grant system would run it: a real process, a real SQLite
file, the documented API alone."""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import sqlite3
import subprocess
import sys

import pytest

import scaleready
from scaleready import Policy, create_engine
from tests.conftest import REPO

SCRIPT = REPO / "examples" / "grant_workflow.py"
SHORTLISTED = re.compile(r"^\d+\. (?P<name>.+) \(application (?P<id>\d+)\): level", re.MULTILINE)


def run(database, *options: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000"}
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(database), *options],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done


def funder_policy() -> dict:
    spec = importlib.util.spec_from_file_location("grant_workflow", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.FUNDER_POLICY


def test_the_script_uses_only_the_documented_api():
    tree = ast.parse(SCRIPT.read_text())
    imported = [
        (node.module, alias.name)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("scaleready")
        for alias in node.names
    ]
    assert imported and all(module == "scaleready" for module, _ in imported)
    assert {name for _, name in imported} <= set(scaleready.__all__)


@pytest.mark.slow
def test_the_workflow_stores_scorecards_and_problems_and_ranks_a_shortlist(tmp_path, monkeypatch):
    database = tmp_path / "grants.sqlite"
    first = run(database, "--jobs", "2", "--top", "3")
    with sqlite3.connect(database) as db:
        forms = dict(db.execute("SELECT id, form FROM applications"))
        stored = {row[0]: row[1:] for row in db.execute("SELECT * FROM scorecards")}
        problems = db.execute("SELECT application_id, field FROM problems").fetchall()
    assert len(forms) == len(list((REPO / "examples").glob("*.yaml"))) + 1
    assert set(stored) | {app for app, _ in problems} == set(forms)

    # each stored scorecard is what the engine gives that application under the policy
    policy = Policy.from_dict(funder_policy())
    engine, _ = create_engine(policy=policy)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    expected = {
        app: engine.assess(json.loads(form), policy=policy, source=f"profiles[{app - 1}]")
        for app, form in forms.items()
        if app in stored
    }
    for app, (level, score, passed, digest, card) in stored.items():
        assert json.loads(card) == expected[app].model_dump(mode="json")
        overall, gate = expected[app].overall, expected[app].gate
        assert (level, score, passed, digest) == (
            overall.level,
            overall.score,
            gate.passed,
            policy.sha256,
        )

    # the shortlist: gate passed first, then the highest level, then the highest score
    ranked = sorted(
        expected,
        key=lambda app: (
            not expected[app].gate.passed,
            -expected[app].overall.level,
            -expected[app].overall.score,
            app,
        ),
    )
    shown = [int(match["id"]) for match in SHORTLISTED.finditer(first.stdout)]
    assert shown == ranked[:3]

    # the faulty application is sent back field by field
    faulty = [field for app, field in problems]
    assert faulty == ["organisation.yearly_incme", "evidence.evaluations[0].design"]
    assert "did you mean 'yearly_income'?" in first.stdout

    again = run(database, "--jobs", "1", "--top", "3")
    assert again.stdout == first.stdout
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT count(*) FROM scorecards").fetchone()[0] == len(stored)
