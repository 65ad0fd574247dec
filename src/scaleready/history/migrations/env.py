"""Alembic's environment for the history: migrations run on the connection open_store gives."""

from __future__ import annotations

from alembic import context

from scaleready.history.models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
