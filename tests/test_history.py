"""The history store (scaleready.history), on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

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


def test_postgresql_refuses_truncate_too(history_url, engine):
    if not history_url.startswith("postgresql"):
        pytest.skip("TRUNCATE is PostgreSQL's (SQLite has none)")
    with open_store(history_url) as store:
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
        assert context.get_current_revision() == "0001"
        assert compare_metadata(context, Base.metadata) == []


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
    with pytest.raises(HistoryError, match=message) as raised:
        open_store(url)
    assert "secret" not in str(raised.value)
