"""A grant-management workflow on scaleready's documented Python API (docs/api.md) alone.

A grant system keeps applications as records in its database; here that is an SQLite file
(stdlib sqlite3), seeded with the example profiles and one application whose form has
mistakes. The script reads the applications as dicts, assesses them all under a funder's
policy given as data (on worker processes), stores each scorecard (or each problem of an
application that cannot be assessed, by form field) back in the database, and prints a ranked
shortlist.

    python examples/grant_workflow.py grants.sqlite --jobs 2

Run it again and the scorecards are replaced: the same applications, policy and rulesets give
the same scorecards (set SOURCE_DATE_EPOCH to fix their time too).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from scaleready import InputError, Policy, ScaleReadyError, Scorecard, create_engine, load_profile

EXAMPLES = Path(__file__).parent

# The funder's criteria, as the grant system holds them (the keys of a policy file).
FUNDER_POLICY = {
    "name": "Early-stage social action fund",
    "weights": {"evidence": 1, "partnership": 2, "contract_fit": 0.5, "replicability": 1},
    "required_rulesets": ["evidence", "partnership"],
    "minimum_levels": {"partnership": 1},
    "gate_on": "potential",  # a first sift: applications still gathering their data may pass
}

# An application whose form has two mistakes: a misspelt key, and a design not on the list.
FAULTY_APPLICATION = {
    "name": "Street Kitchen",
    "summary": "Cooking clubs for young people leaving care.",
    "organisation": {"yearly_incme": 80000},
    "evidence": {"evaluations": [{"title": "Pilot", "design": "before_and_after"}]},
}

SCHEMA = """
CREATE TABLE IF NOT EXISTS applications (id INTEGER PRIMARY KEY, form TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS scorecards (
    application_id INTEGER PRIMARY KEY REFERENCES applications (id),
    level INTEGER, score REAL, passed INTEGER, policy_sha256 TEXT, scorecard TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS problems (
    application_id INTEGER REFERENCES applications (id),
    field TEXT, message TEXT NOT NULL, line INTEGER);
"""


def main() -> None:
    arguments = parse_arguments()
    with sqlite3.connect(arguments.database) as database:
        database.executescript(SCHEMA)
        seed(database)
        assess_all(database, arguments.jobs)
        print_shortlist(database, arguments.top)


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database", help="the SQLite file (created if need be)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--top", type=int, default=5, help="applications to shortlist")
    return parser.parse_args()


def seed(database: sqlite3.Connection) -> None:
    """Fill an empty applications table: the example profiles, and the faulty application."""
    if database.execute("SELECT count(*) FROM applications").fetchone()[0]:
        return
    forms = [
        load_profile(path).model_dump(mode="json", exclude_none=True)
        for path in sorted(EXAMPLES.glob("*.yaml"))
    ]
    forms.append(FAULTY_APPLICATION)
    database.executemany(
        "INSERT INTO applications (form) VALUES (?)", [(json.dumps(form),) for form in forms]
    )


def applications(database: sqlite3.Connection) -> Iterator[tuple[int, dict]]:
    for application_id, form in database.execute("SELECT id, form FROM applications ORDER BY id"):
        yield application_id, json.loads(form)


def assess_all(database: sqlite3.Connection, jobs: int) -> None:
    """Assess every application under the funder's policy; store scorecards and problems."""
    policy = Policy.from_dict(FUNDER_POLICY, source="funder policy")
    engine, _ = create_engine(policy=policy)
    ids, forms = zip(*applications(database), strict=True)
    database.execute("DELETE FROM scorecards")
    database.execute("DELETE FROM problems")
    for result in engine.assess_many(forms, jobs=jobs, policy=policy):
        application_id = ids[result.index]
        if result.scorecard is not None:
            store_scorecard(database, application_id, result.scorecard)
        elif result.error is not None:
            store_problems(database, application_id, result.error)


def store_scorecard(database: sqlite3.Connection, application_id: int, card: Scorecard) -> None:
    assert card.gate is not None  # a policy was applied
    database.execute(
        "INSERT INTO scorecards VALUES (?, ?, ?, ?, ?, ?)",
        (
            application_id,
            card.overall.level,
            card.overall.score,
            card.gate.passed,
            card.gate.policy_sha256,
            card.model_dump_json(),
        ),
    )


def store_problems(
    database: sqlite3.Connection, application_id: int, error: ScaleReadyError
) -> None:
    """Each problem by form field, to show the applicant; an engine failure as one problem."""
    problems = error.problems if isinstance(error, InputError) else [("", str(error), None)]
    database.executemany(
        "INSERT INTO problems VALUES (?, ?, ?, ?)",
        [(application_id, path, message, line) for path, message, line in problems],
    )


def print_shortlist(database: sqlite3.Connection, top: int) -> None:
    rows = database.execute(
        """SELECT a.id, json_extract(a.form, '$.name'), s.level, s.score, s.passed
           FROM scorecards s JOIN applications a ON a.id = s.application_id
           ORDER BY s.passed DESC, s.level DESC, s.score DESC, a.id LIMIT ?""",
        (top,),
    ).fetchall()
    print(f"Shortlist under {FUNDER_POLICY['name']!r}:")
    for rank, (application_id, name, level, score, passed) in enumerate(rows, 1):
        verdict = "passes the gate" if passed else "does not pass the gate"
        print(
            f"{rank}. {name} (application {application_id}): level {level}, "
            f"score {score:g}, {verdict}"
        )
    print("Applications to send back:")
    returned = database.execute(
        """SELECT a.id, json_extract(a.form, '$.name'), p.field, p.message
           FROM problems p JOIN applications a ON a.id = p.application_id ORDER BY a.id, p.rowid"""
    )
    for application_id, name, field, message in returned:
        print(f"- {name} (application {application_id}): {field or 'the form'}: {message}")


if __name__ == "__main__":
    main()
