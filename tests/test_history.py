"""The history store (scaleready.history), on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy
import yaml

from scaleready.assessment.policy import read_policy
from scaleready.history import HistoryError, JobStatus, Store, open_store
from scaleready.profile import load_profile_with_hash
from tests.conftest import REPO

CODE_CLUB = REPO / "examples" / "code-club.yaml"
GOODSAM = REPO / "examples" / "goodsam.yaml"
SCALE_UP = REPO / "examples" / "policies" / "scale-up-fund.yaml"


@pytest.fixture
def store(history_url):
    with open_store(history_url) as opened:
        yield opened


def assessed(engine, path, policy=None):
    """A profile file's scorecard and the profile data the engine assessed."""
    profile, digest = load_profile_with_hash(path, engine.profile_model)
    card = engine.assess(profile, policy=policy, source=str(path), profile_sha256=digest)
    return card, profile.model_dump(mode="json", exclude_none=True)


def test_a_record_keeps_the_profile_scorecard_and_provenance(store, engine):
    card, profile = assessed(engine, CODE_CLUB)
    record = store.record(card, profile, caller="test-suite", funder="north")
    again = store.get(record.id)
    assert again == record
    assert again.scorecard == json.loads(card.model_dump_json())
    assert again.profile == profile and again.name == "Code Club"
    assert again.profile_sha256 == card.provenance.profile_sha256
    assert again.rulesets == [r.model_dump() for r in card.provenance.rulesets]
    assert again.backend == card.provenance.backend and again.caller == "test-suite"
    assert again.assessed_at == card.provenance.assessed_at
    assert abs(again.recorded_at - datetime.now(UTC)) < timedelta(minutes=1)


def test_a_scorecard_as_typed_data_is_recorded_as_the_model_would_be(store, engine):
    profile, digest = load_profile_with_hash(CODE_CLUB, engine.profile_model)
    at = datetime(2026, 1, 2, tzinfo=UTC)
    raw = engine.assess_raw(profile, profile_sha256=digest, assessed_at=at)
    model = engine.assess(profile, profile_sha256=digest, assessed_at=at)
    data = profile.model_dump(mode="json", exclude_none=True)
    from_raw = store.record(raw, data, caller="c")
    from_model = store.record(model, data, caller="c")
    assert from_raw.scorecard == from_model.scorecard == json.loads(model.model_dump_json())


def test_the_policy_is_kept_whole_with_the_hash_its_gate_names(store, engine):
    policy = read_policy(SCALE_UP)
    policy.check_against(engine.rulesets)
    card, profile = assessed(engine, GOODSAM, policy)
    document = yaml.safe_load(SCALE_UP.read_text())
    record = store.record(card, profile, caller="c", policy=document)
    assert record.policy == document
    assert record.policy_sha256 == card.gate.policy_sha256 == policy.sha256


def test_find_lists_newest_first_and_filters(store, engine):
    club, club_profile = assessed(engine, CODE_CLUB)
    goodsam, goodsam_profile = assessed(engine, GOODSAM)
    first = store.record(club, club_profile, caller="c", funder="north", job_id="job-1")
    second = store.record(goodsam, goodsam_profile, caller="c", funder="south")
    third = store.record(club, club_profile, caller="c", funder="north")
    assert [r.id for r in store.find()] == [third.id, second.id, first.id]
    assert [r.id for r in store.find(funder="north")] == [third.id, first.id]
    assert [r.id for r in store.find(name="code CLUB")] == [third.id, first.id]
    assert [r.id for r in store.find(job_id="job-1")] == [first.id]
    assert [r.id for r in store.find(limit=1, offset=1)] == [second.id]
    assert store.find(name="%") == []  # a wildcard is a character, not a pattern


def test_find_filters_by_ruleset_and_its_version(store, engine):
    card, profile = assessed(engine, CODE_CLUB)
    record = store.record(card, profile, caller="c")
    evidence = next(r for r in record.rulesets if r["id"] == "evidence")
    assert [r.id for r in store.find(ruleset="evidence")] == [record.id]
    assert [r.id for r in store.find(ruleset=f"evidence@{evidence['version']}")] == [record.id]
    assert store.find(ruleset="evidence@0.0.0-never") == []
    assert store.find(ruleset="no_such_ruleset") == []


def test_find_filters_by_the_time_recorded(store, engine):
    card, profile = assessed(engine, CODE_CLUB)
    before = datetime.now(UTC) - timedelta(seconds=1)
    record = store.record(card, profile, caller="c")
    after = datetime.now(UTC) + timedelta(seconds=1)
    assert [r.id for r in store.find(since=before)] == [record.id]
    assert store.find(since=after) == []
    assert store.find(since=after.replace(tzinfo=None)) == []  # naive: UTC
    assert [r.id for r in store.find(until=after)] == [record.id]
    assert store.find(until=before) == []


def test_a_funder_sees_only_its_own_records(store, engine):
    card, profile = assessed(engine, CODE_CLUB)
    record = store.record(card, profile, caller="c", funder="north")
    assert store.get(record.id, funder="north") == record
    assert store.get(record.id, funder="south") is None
    assert store.get("no-such-id") is None


def test_an_idempotency_key_records_once_per_funder(store, engine):
    card, profile = assessed(engine, CODE_CLUB)
    first = store.record(card, profile, caller="c", funder="north", idempotency_key="k1")
    retried = store.record(card, profile, caller="c", funder="north", idempotency_key="k1")
    other_funder = store.record(card, profile, caller="c", funder="south", idempotency_key="k1")
    assert retried == first and other_funder.id != first.id
    assert store.find_by_idempotency_key("north", "k1") == first
    assert store.find_by_idempotency_key("north", "k2") is None
    assert len(store.find()) == 2


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE assessments SET caller = 'someone else'",
        "DELETE FROM assessments",
        "UPDATE assessment_rulesets SET version = '9.9.9'",
        "DELETE FROM assessment_rulesets",
    ],
    ids=["update", "delete", "update-rulesets", "delete-rulesets"],
)
def test_the_database_refuses_to_change_or_delete_a_record(store, engine, statement):
    card, profile = assessed(engine, CODE_CLUB)
    record = store.record(card, profile, caller="c")
    refused = pytest.raises(sqlalchemy.exc.DBAPIError, match="append-only")
    with refused, store.engine.begin() as connection:
        connection.execute(sqlalchemy.text(statement))
    assert store.get(record.id) == record


def test_postgresql_refuses_truncate_too(postgres_server, engine):
    from tests import postgres

    with open_store(postgres.new_database(postgres_server)) as store:
        card, profile = assessed(engine, CODE_CLUB)
        store.record(card, profile, caller="c")
        refused = pytest.raises(sqlalchemy.exc.DBAPIError, match="append-only")
        with refused, store.engine.begin() as connection:
            connection.execute(sqlalchemy.text("TRUNCATE assessments CASCADE"))
        assert len(store.find()) == 1


def test_the_store_offers_no_way_to_change_or_delete_a_record():
    public = {name for name in dir(Store) if not name.startswith("_")}
    assert {n for n in public if n.startswith(("update", "delete", "remove", "edit"))} == {
        "update_job"
    }


def test_a_token_is_stored_hashed_and_names_its_funder_until_revoked(store):
    token = store.issue_token("north", label="grants system")
    assert store.funder_for_token(token) == "north"
    assert store.funder_for_token(token + "x") is None
    with store.engine.connect() as connection:
        stored = connection.execute(sqlalchemy.text("SELECT * FROM tokens")).all()
    assert token not in repr(stored)
    (info,) = store.tokens("north")
    assert (info.funder, info.label, info.revoked_at) == ("north", "grants system", None)
    store.revoke_token(info.id)
    assert store.funder_for_token(token) is None
    assert store.tokens("north")[0].revoked_at is not None
    assert store.tokens("south") == []


def test_revoking_an_unknown_token_says_so(store):
    with pytest.raises(HistoryError, match="no token has the id 'nope'"):
        store.revoke_token("nope")


def test_a_job_goes_from_queued_to_done(store):
    job = store.create_job("north", filename="round.csv", fmt="csv", policy={"name": "P"})
    assert (job.status, job.done, job.total, job.policy) == (
        JobStatus.QUEUED,
        0,
        None,
        {"name": "P"},
    )
    store.update_job(job.id, status="running", total=3, worker="w1")
    store.update_job(job.id, status=JobStatus.DONE, done=3, summary={"rows": 3})
    done = store.get_job(job.id, funder="north")
    assert (done.status, done.done, done.total, done.worker) == ("done", 3, 3, "w1")
    assert done.summary == {"rows": 3} and done.updated_at >= job.updated_at
    assert store.get_job(job.id, funder="south") is None


def test_a_job_is_claimed_by_one_worker_and_again_only_once_stale(store):
    job = store.create_job(None, filename="round.jsonl", fmt="jsonl", policy=None)
    assert store.claim_job(job.id, "w1") is True
    assert store.claim_job(job.id, "w2") is False
    time.sleep(0.05)
    assert [j.id for j in store.stale_jobs(0.01)] == [job.id]
    assert store.claim_job(job.id, "w2", stale_after_s=0.01) is True
    assert store.get_job(job.id).worker == "w2"
    assert store.stale_jobs(60) == []


def test_updating_an_unknown_job_says_so(store):
    with pytest.raises(HistoryError, match="no job has the id"):
        store.update_job("nope", status="failed", error="lost")
    with pytest.raises(ValueError):
        store.update_job("nope", status="finished")


def test_a_migrated_database_matches_the_models(store):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from scaleready.history.models import Base

    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection)
        assert context.get_current_revision() == "0002"
        assert compare_metadata(context, Base.metadata) == []


def test_a_history_of_the_first_schema_is_upgraded_keeping_its_rounds(tmp_path):
    """Revision 0002 adds the caller of a round: a round of an 0001 history reads as None."""
    from sqlalchemy import create_engine, text

    from scaleready.history.database import migrate

    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    old = create_engine(url)
    migrate(old, "0001")
    with old.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO jobs (id, funder, status, filename, fmt, done, created_at, "
                "updated_at) VALUES ('j1', 'f', 'done', 'r.csv', 'csv', 3, :now, :now)"
            ),
            {"now": "2026-11-01 10:00:00"},
        )
    old.dispose()
    with open_store(url) as store:
        job = store.get_job("j1")
        assert (job.funder, job.done, job.caller) == ("f", 3, None)
        posted = store.create_job("f", filename="s.csv", fmt="csv", policy=None, caller="token t")
        assert store.get_job(posted.id).caller == "token t"


def test_opening_again_keeps_what_was_recorded(history_url, engine):
    card, profile = assessed(engine, CODE_CLUB)
    with open_store(history_url) as store:
        record = store.record(card, profile, caller="c")
    with open_store(history_url) as store:
        assert store.find() == [record]


def test_the_url_comes_from_the_environment_by_default(tmp_path, monkeypatch):
    path = tmp_path / "from-env.sqlite"
    monkeypatch.setenv("SCALEREADY_HISTORY_URL", f"sqlite:///{path}")
    with open_store() as store:
        assert store.find() == []
    assert path.is_file()


def test_a_plain_path_is_a_sqlite_file(tmp_path):
    with open_store(str(tmp_path / "plain.sqlite")) as store:
        assert store.engine.dialect.name == "sqlite"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://user@host/db", "SQLite .* or PostgreSQL"),
        ("sqlite:////no/such/folder/h.sqlite", "folder /no/such/folder does not exist"),
        ("postgresql://user:secret@127.0.0.1:1/db", r"cannot open the history at .*\*\*\*"),
    ],
    ids=["other-database", "missing-folder", "no-server"],
)
def test_a_history_that_cannot_be_opened_is_named(url, message):
    """No traceback, no password: what is wrong with which history."""
    with pytest.raises(HistoryError, match=message) as raised:
        open_store(url)
    assert "secret" not in str(raised.value)


@pytest.mark.parametrize("kind", ["fifo", "folder", "device"])
def test_a_history_that_is_no_regular_file_is_named_as_such(tmp_path, kind):
    """A pipe, a folder or a device given as the SQLite file: said so, not "disk I/O error"."""
    path = {"folder": tmp_path, "device": Path("/dev/null")}.get(kind, tmp_path / "pipe")
    if kind == "fifo":
        os.mkfifo(path)
    for create in (True, False):
        with pytest.raises(HistoryError) as raised:
            open_store(f"sqlite:///{path}", create=create)
        reason = "is not a regular file" if create else "no history at"
        assert reason in str(raised.value) and str(path) in str(raised.value)


def test_a_round_records_scorecards_sent_as_json_text(store, engine):
    """As batch --record does: the workers' JSON text, stored as it is, read back as data."""
    from scaleready.assessment.scorecard import dump_json

    profile, digest = load_profile_with_hash(CODE_CLUB, engine.profile_model)
    data = profile.model_dump(mode="json", exclude_none=True)
    # a grant system's own "gate" key in the metadata must not be taken for the scorecard's
    data["metadata"] = {"gate": {"passed": True}, "stage": "gate: 2"}
    profile = engine.profile_model.model_validate(data)
    policy = read_policy(SCALE_UP)
    card = engine.assess_raw(profile, policy=policy, profile_sha256=digest)
    text = dump_json(card)
    document = yaml.safe_load(SCALE_UP.read_text())
    ids = store.record_all([(text, data)] * 2, caller="round", policy=document, job_id="j")
    first, second = (store.get(record_id) for record_id in ids)
    assert first.scorecard == second.scorecard == json.loads(text)
    assert first.policy_sha256 == policy.sha256 and first.job_id == "j"
    assert first.rulesets == card["provenance"]["rulesets"] and first.name == "Code Club"
    assert [r.id for r in store.find(ruleset="evidence")] == ids[::-1]


def test_the_python_example_in_the_docs_runs(tmp_path, monkeypatch):
    text = (REPO / "docs" / "history.md").read_text(encoding="utf-8")
    example = text.split("```python\n", 1)[1].split("```", 1)[0]
    (tmp_path / "application.yaml").write_bytes(CODE_CLUB.read_bytes())
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SCALEREADY_HISTORY_URL", f"sqlite:///{tmp_path / 'docs.sqlite'}")
    namespace: dict = {}
    exec(compile(example, "docs/history.md", "exec"), namespace)
    assert [r.name for r in namespace["latest"]] == ["Code Club"]
    assert namespace["record"].funder == "north-fund"


def test_a_file_that_is_no_database_is_named(tmp_path):
    path = tmp_path / "notes.sqlite"
    path.write_text("these are notes, not a database\n" * 100)
    with pytest.raises(
        HistoryError, match="cannot open the history at .*notes.sqlite: file is not"
    ):
        open_store(str(path))


def test_a_schema_newer_than_this_version_is_named(history_url):
    with open_store(history_url) as store, store.engine.begin() as connection:
        connection.execute(sqlalchemy.text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(HistoryError, match="a schema this version of scaleready does not know"):
        open_store(history_url)


@pytest.mark.slow
def test_several_processes_opening_a_new_history_at_once_migrate_it_once(history_url, tmp_path):
    """As the service's workers do when they start: each opens the history and records, all
    at the same moment (each waits until every one is ready)."""
    script = (
        "import sys, time, pathlib\n"
        "from scaleready import create_engine\n"
        "from scaleready.history import open_store\n"
        "engine, _ = create_engine()\n"
        "profile = engine.profile_model.model_validate({'name': sys.argv[2]})\n"
        "ready = pathlib.Path(sys.argv[3])\n"
        "(ready / sys.argv[2]).touch()\n"
        "while len(list(ready.iterdir())) < 4:\n"
        "    time.sleep(0.01)\n"
        "with open_store(sys.argv[1]) as store:\n"
        "    store.record(engine.assess(profile), {'name': sys.argv[2]}, caller='worker')\n"
    )
    ready = tmp_path / "ready"
    ready.mkdir()
    command = [sys.executable, "-c", script, history_url]
    workers = [
        subprocess.Popen([*command, f"Worker {n}", str(ready)], stderr=subprocess.PIPE, text=True)
        for n in range(4)
    ]
    errors = [worker.communicate(timeout=120)[1] for worker in workers]
    assert [worker.returncode for worker in workers] == [0] * 4, errors
    with open_store(history_url) as store:
        assert sorted(r.name for r in store.find()) == [f"Worker {n}" for n in range(4)]


def test_one_store_records_from_several_threads_at_once(store, engine):
    """As a service's request threads share one store."""
    from concurrent.futures import ThreadPoolExecutor

    card, profile = assessed(engine, CODE_CLUB)

    def record(n: int) -> str:
        return store.record(card, profile, caller=f"thread {n}").id

    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(record, range(40)))
    assert sorted(r.id for r in store.find(limit=None)) == sorted(ids)
    assert len(set(ids)) == 40
