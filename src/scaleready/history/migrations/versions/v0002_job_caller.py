"""Rounds name their caller: the token a grant system posted the round with.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # nullable: rounds submitted before this revision have no caller on record
    op.add_column("jobs", sa.Column("caller", sa.String(200), nullable=True))


def downgrade() -> None:
    raise NotImplementedError("the history is append-only: its schema is not taken down")
