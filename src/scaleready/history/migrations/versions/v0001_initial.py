"""The first schema: assessments (append-only, by trigger), their rulesets, tokens and jobs.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

APPEND_ONLY = "scaleready history is append-only: recorded assessments cannot be changed or deleted"
GUARDED = ("assessments", "assessment_rulesets")


def _time() -> sa.DateTime:
    return sa.DateTime()  # naive UTC, read back aware (models.UTCDateTime)


def upgrade() -> None:
    op.create_table(
        "assessments",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(36), nullable=False, unique=True),
        sa.Column("recorded_at", _time(), nullable=False, index=True),
        sa.Column("assessed_at", sa.String(40), nullable=False),
        sa.Column("caller", sa.String(200), nullable=False),
        sa.Column("funder", sa.String(200), nullable=True, index=True),
        sa.Column("name", sa.Text, nullable=False, index=True),
        sa.Column("profile", sa.JSON, nullable=False),
        sa.Column("profile_sha256", sa.String(64), nullable=False, index=True),
        sa.Column("scorecard", sa.JSON, nullable=False),
        sa.Column("rulesets", sa.JSON, nullable=False),
        sa.Column("policy", sa.JSON, nullable=True),
        sa.Column("policy_sha256", sa.String(64), nullable=True),
        sa.Column("backend", sa.String(40), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=True),
        sa.Column("idempotency_scope", sa.Text, nullable=True, unique=True),
        sa.Column("job_id", sa.String(36), nullable=True, index=True),
    )
    op.create_table(
        "assessment_rulesets",
        sa.Column("assessment_seq", sa.Integer, sa.ForeignKey("assessments.seq"), primary_key=True),
        sa.Column("ruleset_id", sa.String(200), primary_key=True, index=True),
        sa.Column("version", sa.String(100), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
    )
    op.create_table(
        "tokens",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("funder", sa.String(200), nullable=False, index=True),
        sa.Column("label", sa.Text, nullable=True),
        sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("revoked_at", _time(), nullable=True),
    )
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("funder", sa.String(200), nullable=True, index=True),
        sa.Column("status", sa.String(20), nullable=False, index=True),
        sa.Column("filename", sa.Text, nullable=False),
        sa.Column("fmt", sa.String(20), nullable=False),
        sa.Column("policy", sa.JSON, nullable=True),
        sa.Column("done", sa.Integer, nullable=False),
        sa.Column("total", sa.Integer, nullable=True),
        sa.Column("summary", sa.JSON, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("worker", sa.String(200), nullable=True),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("updated_at", _time(), nullable=False, index=True),
    )
    _refuse_changes()


def _refuse_changes() -> None:
    """Triggers that refuse UPDATE and DELETE (and PostgreSQL's TRUNCATE) of recorded rows."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION scaleready_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION '{APPEND_ONLY} (% on %)', TG_OP, TG_TABLE_NAME "
            "USING ERRCODE = 'integrity_constraint_violation'; END $$"
        )
        for table in GUARDED:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION scaleready_append_only()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION scaleready_append_only()"
            )
        return
    for table in GUARDED:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
            )


def downgrade() -> None:
    raise NotImplementedError("the history is append-only: its schema is not taken down")
