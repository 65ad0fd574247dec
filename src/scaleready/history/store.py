"""The history store: assessments appended and read back, funders' tokens, and rounds' jobs.

Nothing here changes or deletes a recorded assessment, and the database refuses to (triggers
made by the first migration): an audit trail that scaleready cannot rewrite.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from scaleready.assessment.engine import data_sha256
from scaleready.assessment.scorecard import Scorecard, ScorecardData
from scaleready.history.database import connect, default_url, migrate, parse_url
from scaleready.history.errors import HistoryError
from scaleready.history.models import (
    AssessmentRow,
    AssessmentRulesetRow,
    JobRow,
    JSONText,
    TokenRow,
)

__all__ = ["Job", "JobStatus", "Record", "Store", "TokenInfo", "default_url", "open_store"]


@dataclass(frozen=True)
class Record:
    """One recorded assessment, as it was recorded."""

    id: str
    recorded_at: datetime
    caller: str
    funder: str | None
    profile: dict[str, Any]
    profile_sha256: str
    scorecard: dict[str, Any]
    rulesets: list[dict[str, Any]]  # each {"id", "version", "sha256"}
    policy: dict[str, Any] | None
    policy_sha256: str | None
    backend: str
    idempotency_key: str | None
    job_id: str | None

    @property
    def name(self) -> str:
        """The profile's name."""
        return str(self.scorecard["profile"]["name"])

    @property
    def assessed_at(self) -> str:
        """When it was assessed, as the scorecard's provenance says (UTC, ISO 8601)."""
        return str(self.scorecard["provenance"]["assessed_at"])


@dataclass(frozen=True)
class TokenInfo:
    """A bearer token as it may be shown: never the token itself, which is not stored."""

    id: str
    funder: str
    label: str | None
    created_at: datetime
    revoked_at: datetime | None


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class Job:
    """A round submitted to the service."""

    id: str
    funder: str | None
    status: JobStatus
    filename: str
    fmt: str
    policy: dict[str, Any] | None
    done: int
    total: int | None
    summary: dict[str, Any] | None
    error: str | None
    worker: str | None
    created_at: datetime
    updated_at: datetime
    caller: str | None = None  # who posted it, as its assessments are recorded


def open_store(url: str | None = None, *, create: bool = True) -> Store:
    """The history at ``url``, migrated to the newest schema.

    ``url``: ``sqlite:///PATH``, ``postgresql+psycopg://USER:PASSWORD@HOST/DATABASE`` or a file
    path; by default $SCALEREADY_HISTORY_URL, else ``history.sqlite`` in the user's data folder.
    ``create=False``: a SQLite file that does not exist is a HistoryError, not a new history
    (for readers: a mistyped path should not look like an empty history).
    """
    engine = connect(parse_url(url or default_url()), create=create)
    try:
        migrate(engine)
    except BaseException:
        engine.dispose()
        raise
    return Store(engine)


def _reason(error: Exception) -> str:
    """The driver's own reason, in one line."""
    lines = str(getattr(error, "orig", error)).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def _now() -> datetime:
    return datetime.now(UTC)


def _plain(data: Mapping[str, Any], what: str) -> dict[str, Any]:
    """JSON data as the database keeps it, or a TypeError naming what is not JSON."""
    try:
        return json.loads(json.dumps(data, allow_nan=False))
    except (TypeError, ValueError) as error:
        raise TypeError(f"the {what} to record is not JSON data: {error}") from None


def _card_data(card: Scorecard | ScorecardData | str) -> tuple[dict[str, Any], JSONText]:
    """A scorecard as data and as the JSON text to store."""
    if isinstance(card, str):  # JSON text, as a round's workers send it
        return _card_head(card), JSONText(card)
    if isinstance(card, Scorecard):
        text = card.model_dump_json()
    elif isinstance(card, Mapping):  # typed data, or JSON read back: its outcomes are strings
        text = _json_text(card, "scorecard")
    else:
        raise TypeError(f"record() needs a Scorecard or its data, not {type(card).__name__}")
    return json.loads(text), JSONText(text)


_DECODER = json.JSONDecoder()
_NAME, _GATE = '"profile":{"name":', '"gate":'


def _card_head(text: str) -> dict[str, Any]:
    """What a row needs of a scorecard's JSON (name, gate, provenance), without reading all
    of it: most of a round's recording time went on reading 50 KB scorecards whole.

    A scorecard's keys come in the model's order, ending with gate and provenance, and no
    value can hold ``"gate":`` unescaped, so the last one is the scorecard's own.
    """
    name_at, gate_at = text.find(_NAME), text.rfind(_GATE)
    if name_at < 0 or gate_at < 0:
        data = json.loads(text)  # not as dump_json writes it: read it all
        return {"profile": data["profile"], "gate": data["gate"], "provenance": data["provenance"]}
    name, _ = _DECODER.raw_decode(text, name_at + len(_NAME))
    tail = json.loads("{" + text[gate_at:])
    return {"profile": {"name": name}, "gate": tail["gate"], "provenance": tail["provenance"]}


def _json_text(data: Mapping[str, Any], what: str) -> str:
    try:
        return json.dumps(data, allow_nan=False, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError) as error:
        raise TypeError(f"the {what} to record is not JSON data: {error}") from None


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class Store:
    """A history database: ``open_store`` makes one; ``close`` (or ``with``) ends it."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.url = engine.url.render_as_string(hide_password=True)
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self.engine.dispose()

    def _session(self) -> Session:
        return self._sessions()

    # --- assessments: appended, never changed ---------------------------------------------------

    def record(
        self,
        card: Scorecard | ScorecardData,
        profile: Mapping[str, Any],
        *,
        caller: str,
        funder: str | None = None,
        policy: Mapping[str, Any] | None = None,
        policy_sha256: str | None = None,
        idempotency_key: str | None = None,
        job_id: str | None = None,
    ) -> Record:
        """Append an assessment: its profile, scorecard and provenance, with who asked.

        The profile's hash, the rulesets (id, version, SHA-256), the backend and the assessment
        time come from the scorecard's provenance; the policy's hash from its gate unless given.
        With an ``idempotency_key`` already recorded for this funder, nothing is added and the
        first record is returned.
        """
        row, data = _row(card, profile, caller, funder, policy, policy_sha256, idempotency_key)
        row["job_id"] = job_id
        try:
            self._insert([row])
        except IntegrityError:
            if idempotency_key is None:
                raise
            first = self.find_by_idempotency_key(funder, idempotency_key)
            if first is None:
                raise
            return first
        return _record_of(row, data)

    def record_all(
        self,
        assessed: Iterable[tuple[Scorecard | ScorecardData | str, Mapping[str, Any]]],
        *,
        caller: str,
        funder: str | None = None,
        policy: Mapping[str, Any] | None = None,
        policy_sha256: str | None = None,
        job_id: str | None = None,
    ) -> list[str]:
        """Append several assessments in one transaction, a round; their ids. Each is a
        scorecard (or its JSON text, as a round's workers send it) and the profile assessed."""
        rows = []
        for card, profile in assessed:
            row, _ = _row(card, profile, caller, funder, policy, policy_sha256, None)
            row["job_id"] = job_id
            rows.append(row)
        self._insert(rows)
        return [row["id"] for row in rows]

    def _insert(self, rows: list[dict[str, Any]]) -> None:
        """Insert assessments and the rulesets each used, in one transaction (Core, not ORM
        objects: a round's thousands go in a few statements)."""
        if not rows:
            return
        returning = insert(AssessmentRow).returning(AssessmentRow.seq, sort_by_parameter_order=True)
        try:
            with self.engine.begin() as connection:
                sequence = connection.execute(returning, rows).scalars().all()
                used = [
                    {"assessment_seq": seq, **_ruleset_values(ruleset)}
                    for seq, row in zip(sequence, rows, strict=True)
                    for ruleset in row["rulesets"]
                ]
                if used:
                    connection.execute(insert(AssessmentRulesetRow), used)
        except (OperationalError, InterfaceError) as error:  # the database went away, or is full
            raise HistoryError(
                f"cannot write to the history at {self.url}: {_reason(error)}"
            ) from None

    def get(self, record_id: str, *, funder: str | None = None) -> Record | None:
        """A record by id; with ``funder``, only if it is that funder's."""
        query = select(AssessmentRow).where(AssessmentRow.id == record_id)
        if funder is not None:
            query = query.where(AssessmentRow.funder == funder)
        return self._one_record(query)

    def find(
        self,
        *,
        funder: str | None = None,
        name: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        ruleset: str | None = None,
        job_id: str | None = None,
        limit: int | None = 100,
        offset: int = 0,
    ) -> list[Record]:
        """Records, newest first, that match every filter given.

        ``name``: part of the profile's name, any case. ``since``/``until``: recorded at or
        after / before. ``ruleset``: assessed with ruleset ``ID``, or ``ID@VERSION``.
        ``limit=None``: all of them.
        """
        query = select(AssessmentRow).order_by(AssessmentRow.seq.desc()).offset(offset)
        query = _filtered(query, funder, name, since, until, ruleset, job_id)
        if limit is not None:
            query = query.limit(limit)
        with self._session() as session:
            return [_record(row) for row in session.scalars(query)]

    def ruleset_ids(self) -> list[str]:
        """Every ruleset id a recorded assessment used, sorted."""
        query = select(AssessmentRulesetRow.ruleset_id).distinct()
        with self._session() as session:
            return sorted(session.scalars(query))

    def find_by_idempotency_key(self, funder: str | None, key: str) -> Record | None:
        """The record made with this funder's idempotency key, if any."""
        scope = _scope(funder, key)
        return self._one_record(
            select(AssessmentRow).where(AssessmentRow.idempotency_scope == scope)
        )

    def _one_record(self, query: Select[Any]) -> Record | None:
        with self._session() as session:
            row = session.scalars(query).first()
            return None if row is None else _record(row)

    # --- tokens: stored as their hash ------------------------------------------------------------

    def issue_token(self, funder: str, label: str | None = None) -> str:
        """A new bearer token for the funder: returned once, stored only as its SHA-256."""
        if not funder:
            raise ValueError("a token needs a funder")
        token = "sr_" + secrets.token_urlsafe(32)
        row = TokenRow(
            id=secrets.token_hex(6),
            funder=funder,
            label=label,
            token_sha256=_sha256(token),
            created_at=_now(),
            revoked_at=None,
        )
        with self._session() as session, session.begin():
            session.add(row)
        return token

    def funder_for_token(self, token: str) -> str | None:
        """The funder a live (not revoked) token belongs to, or None."""
        info = self.token_info(token)
        return None if info is None else info.funder

    def token_info(self, token: str) -> TokenInfo | None:
        """A live (not revoked) token as ``tokens`` lists it, or None."""
        digest = _sha256(token)
        query = select(TokenRow).where(
            TokenRow.token_sha256 == digest, TokenRow.revoked_at.is_(None)
        )
        with self._session() as session:
            row = session.scalars(query).first()
        if row is None or not hmac.compare_digest(row.token_sha256, digest):
            return None
        return _token_info(row)

    def tokens(self, funder: str | None = None) -> list[TokenInfo]:
        """Tokens issued (revoked ones too), oldest first."""
        query = select(TokenRow).order_by(TokenRow.created_at, TokenRow.id)
        if funder is not None:
            query = query.where(TokenRow.funder == funder)
        with self._session() as session:
            return [_token_info(row) for row in session.scalars(query)]

    def revoke_token(self, token_id: str) -> None:
        """Revoke a token by its id (as ``tokens`` lists it); revoking twice changes nothing."""
        with self._session() as session, session.begin():
            row = session.get(TokenRow, token_id)
            if row is None:
                raise HistoryError(f"no token has the id {token_id!r}")
            if row.revoked_at is None:
                row.revoked_at = _now()

    # --- jobs: rounds submitted to the service ---------------------------------------------------

    def create_job(
        self,
        funder: str | None,
        *,
        filename: str,
        fmt: str,
        policy: Mapping[str, Any] | None,
        caller: str | None = None,
    ) -> Job:
        """A new job, queued; ``caller`` is who posted it (its assessments are recorded so)."""
        now = _now()
        row = JobRow(
            id=str(uuid.uuid4()),
            funder=funder,
            status=JobStatus.QUEUED.value,
            filename=filename,
            fmt=fmt,
            policy=None if policy is None else _plain(policy, "policy"),
            done=0,
            total=None,
            created_at=now,
            updated_at=now,
            caller=caller,
        )
        with self._session() as session, session.begin():
            session.add(row)
        return _job(row)

    def update_job(
        self,
        job_id: str,
        *,
        status: JobStatus | str,
        done: int | None = None,
        total: int | None = None,
        summary: Mapping[str, Any] | None = None,
        error: str | None = None,
        worker: str | None = None,
        heartbeat: bool = True,
    ) -> None:
        """Set a job's status and whatever else is given; ``heartbeat``: mark it alive now."""
        values: dict[str, Any] = {"status": JobStatus(status).value}
        given = {"done": done, "total": total, "error": error, "worker": worker}
        values.update({key: value for key, value in given.items() if value is not None})
        if summary is not None:
            values["summary"] = _plain(summary, "summary")
        if heartbeat:
            values["updated_at"] = _now()
        with self._session() as session, session.begin():
            changed = session.execute(update(JobRow).where(JobRow.id == job_id).values(values))
            if changed.rowcount != 1:  # type: ignore[attr-defined]
                raise HistoryError(f"no job has the id {job_id!r}")

    def touch_job(self, job_id: str, worker: str) -> None:
        """Mark a job alive now if ``worker`` still holds it unfinished; nothing else changes
        (a job another worker has claimed, or one that has ended, is left as it is)."""
        unfinished = JobRow.status.in_([JobStatus.QUEUED.value, JobStatus.RUNNING.value])
        held = and_(JobRow.id == job_id, JobRow.worker == worker, unfinished)
        with self._session() as session, session.begin():
            session.execute(update(JobRow).where(held).values(updated_at=_now()))

    def claim_job(self, job_id: str, worker: str, *, stale_after_s: float | None = None) -> bool:
        """Mark a job running by ``worker`` if it is queued (or, with ``stale_after_s``, running
        without a heartbeat for that long); True if this caller got it, False if another did."""
        claimable = JobRow.status == JobStatus.QUEUED.value
        if stale_after_s is not None:
            cutoff = _now() - timedelta(seconds=stale_after_s)
            stale = and_(JobRow.status == JobStatus.RUNNING.value, JobRow.updated_at < cutoff)
            claimable = or_(claimable, stale)
        values = {"status": JobStatus.RUNNING.value, "worker": worker, "updated_at": _now()}
        with self._session() as session, session.begin():
            query = update(JobRow).where(JobRow.id == job_id, claimable).values(values)
            return session.execute(query).rowcount == 1  # type: ignore[attr-defined]

    def get_job(self, job_id: str, *, funder: str | None = None) -> Job | None:
        """A job by id; with ``funder``, only if it is that funder's."""
        query = select(JobRow).where(JobRow.id == job_id)
        if funder is not None:
            query = query.where(JobRow.funder == funder)
        with self._session() as session:
            row = session.scalars(query).first()
        return None if row is None else _job(row)

    def stale_jobs(self, older_than_s: float) -> list[Job]:
        """Jobs queued or running with no update for ``older_than_s`` seconds, oldest first."""
        cutoff = _now() - timedelta(seconds=older_than_s)
        unfinished = JobRow.status.in_([JobStatus.QUEUED.value, JobStatus.RUNNING.value])
        query = (
            select(JobRow)
            .where(unfinished, JobRow.updated_at < cutoff)
            .order_by(JobRow.updated_at, JobRow.id)
        )
        with self._session() as session:
            return [_job(row) for row in session.scalars(query)]


def _scope(funder: str | None, key: str | None) -> str | None:
    """Funder and idempotency key as one unique value (a key is unique per funder)."""
    return None if key is None else json.dumps([funder, key])


def _row(
    card: Scorecard | ScorecardData | str,
    profile: Mapping[str, Any],
    caller: str,
    funder: str | None,
    policy: Mapping[str, Any] | None,
    policy_sha256: str | None,
    idempotency_key: str | None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """An assessment's row (the scorecard as JSON text) and the scorecard as data."""
    if not caller:
        raise ValueError("record() needs a caller: who or what asked for the assessment")
    data, text = _card_data(card)
    profile_data = _plain(profile, "profile")
    provenance, gate = data["provenance"], data["gate"]
    policy_data = None if policy is None else _plain(policy, "policy")
    if policy_sha256 is None and policy_data is not None:
        policy_sha256 = gate["policy_sha256"] if gate else data_sha256(policy_data)
    row = {
        "id": str(uuid.uuid4()),
        "recorded_at": _now(),
        "assessed_at": provenance["assessed_at"],
        "caller": caller,
        "funder": funder,
        "name": data["profile"]["name"],
        "profile": profile_data,
        "profile_sha256": provenance["profile_sha256"] or data_sha256(profile_data),
        "scorecard": text,
        "rulesets": provenance["rulesets"],
        "policy": policy_data,
        "policy_sha256": policy_sha256,
        "backend": provenance["backend"],
        "idempotency_key": idempotency_key,
        "idempotency_scope": _scope(funder, idempotency_key),
    }
    return row, data


def _ruleset_values(used: Mapping[str, str]) -> dict[str, str]:
    return {"ruleset_id": used["id"], "version": used["version"], "sha256": used["sha256"]}


def _record_of(row: Mapping[str, Any], scorecard: dict[str, Any]) -> Record:
    """The record of a row just inserted."""
    values = {name: row[name] for name in _RECORD_FIELDS if name != "scorecard"}
    return Record(**values, scorecard=scorecard)


def _filtered(
    query: Select[Any],
    funder: str | None,
    name: str | None,
    since: datetime | None,
    until: datetime | None,
    ruleset: str | None,
    job_id: str | None,
) -> Select[Any]:
    if funder is not None:
        query = query.where(AssessmentRow.funder == funder)
    if name:
        query = query.where(func.lower(AssessmentRow.name).contains(name.lower(), autoescape=True))
    if since is not None:
        query = query.where(AssessmentRow.recorded_at >= since)
    if until is not None:
        query = query.where(AssessmentRow.recorded_at < until)
    if job_id is not None:
        query = query.where(AssessmentRow.job_id == job_id)
    if ruleset:
        query = query.where(AssessmentRow.seq.in_(_with_ruleset(ruleset)))
    return query


def _with_ruleset(ruleset: str) -> Select[Any]:
    """The assessments that used ruleset ``ID``, or ``ID@VERSION``."""
    ruleset_id, _, version = ruleset.partition("@")
    query = select(AssessmentRulesetRow.assessment_seq).where(
        AssessmentRulesetRow.ruleset_id == ruleset_id
    )
    if version:
        query = query.where(AssessmentRulesetRow.version == version)
    return query


def _record(row: AssessmentRow) -> Record:
    return Record(
        id=row.id,
        recorded_at=row.recorded_at,
        caller=row.caller,
        funder=row.funder,
        profile=row.profile,
        profile_sha256=row.profile_sha256,
        scorecard=row.scorecard,
        rulesets=row.rulesets,
        policy=row.policy,
        policy_sha256=row.policy_sha256,
        backend=row.backend,
        idempotency_key=row.idempotency_key,
        job_id=row.job_id,
    )


_RECORD_FIELDS = tuple(field.name for field in fields(Record))


def _token_info(row: TokenRow) -> TokenInfo:
    return TokenInfo(row.id, row.funder, row.label, row.created_at, row.revoked_at)


def _job(row: JobRow) -> Job:
    return Job(
        id=row.id,
        funder=row.funder,
        status=JobStatus(row.status),
        filename=row.filename,
        fmt=row.fmt,
        policy=row.policy,
        done=row.done,
        total=row.total,
        summary=row.summary,
        error=row.error,
        worker=row.worker,
        created_at=row.created_at,
        updated_at=row.updated_at,
        caller=row.caller,
    )
