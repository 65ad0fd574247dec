"""The history's tables, as SQLAlchemy 2 models: assessments (append-only), tokens and jobs.

The schema itself is made by the Alembic migrations beside this module (``migrations/``);
``tests/test_history.py`` checks that a migrated database and these models agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SHA256 = 64


class UTCDateTime(TypeDecorator[datetime]):
    """A time stored as naive UTC and read back aware: SQLite keeps no time zone."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:  # a naive time is taken as UTC, as it is stored
            return value
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class JSONText(str):
    """A document already written as JSON (a round's scorecards come so): stored as it is."""


class Document(TypeDecorator[Any]):
    """JSON, not PostgreSQL's JSONB: JSONB reorders keys, and a scorecard's key order is its
    shape. ``JSONText`` goes in unserialised again, which halves what recording a round costs."""

    impl = JSON
    cache_ok = True

    def bind_processor(self, dialect: Dialect):
        serialise = self.impl_instance.dialect_impl(dialect).bind_processor(dialect)

        def process(value: Any) -> Any:
            if isinstance(value, JSONText):
                return str(value)
            return serialise(value) if serialise is not None else value

        return process


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: Document}


class AssessmentRow(Base):
    """One recorded assessment. Triggers refuse UPDATE and DELETE (see the first migration)."""

    __tablename__ = "assessments"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    recorded_at: Mapped[datetime] = mapped_column(index=True)
    assessed_at: Mapped[str] = mapped_column(String(40))  # the scorecard's own time, as written
    caller: Mapped[str] = mapped_column(String(200))
    funder: Mapped[str | None] = mapped_column(String(200), index=True)
    name: Mapped[str] = mapped_column(Text, index=True)
    profile: Mapped[dict[str, Any]] = mapped_column(Document)
    profile_sha256: Mapped[str] = mapped_column(String(SHA256), index=True)
    scorecard: Mapped[dict[str, Any]] = mapped_column(Document)
    rulesets: Mapped[list[dict[str, Any]]] = mapped_column(Document)
    policy: Mapped[dict[str, Any] | None] = mapped_column(Document)
    policy_sha256: Mapped[str | None] = mapped_column(String(SHA256))
    backend: Mapped[str] = mapped_column(String(40))
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    # funder and key in one column, unique: NULLs are distinct in SQL, so a pair would not do
    idempotency_scope: Mapped[str | None] = mapped_column(Text, unique=True)
    job_id: Mapped[str | None] = mapped_column(String(36), index=True)


class AssessmentRulesetRow(Base):
    """A ruleset an assessment used, one row each, so that history can filter by it."""

    __tablename__ = "assessment_rulesets"

    assessment_seq: Mapped[int] = mapped_column(ForeignKey("assessments.seq"), primary_key=True)
    ruleset_id: Mapped[str] = mapped_column(String(200), primary_key=True, index=True)
    version: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str] = mapped_column(String(SHA256))


class TokenRow(Base):
    """A funder's bearer token, stored as its SHA-256 only."""

    __tablename__ = "tokens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    funder: Mapped[str] = mapped_column(String(200), index=True)
    label: Mapped[str | None] = mapped_column(Text)
    token_sha256: Mapped[str] = mapped_column(String(SHA256), unique=True)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class JobRow(Base):
    """A round submitted to the service, and how far it has got."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    funder: Mapped[str | None] = mapped_column(String(200), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    filename: Mapped[str] = mapped_column(Text)
    fmt: Mapped[str] = mapped_column(String(20))
    policy: Mapped[dict[str, Any] | None] = mapped_column(Document)
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int | None] = mapped_column(Integer)
    summary: Mapped[dict[str, Any] | None] = mapped_column(Document)
    error: Mapped[str | None] = mapped_column(Text)
    worker: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime] = mapped_column(index=True)
    caller: Mapped[str | None] = mapped_column(String(200))  # since revision 0002
