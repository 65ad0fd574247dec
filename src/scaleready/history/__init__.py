"""The audit history: every assessment recorded, append-only, in SQLite or PostgreSQL.

Needs the ``history`` extra (SQLAlchemy and Alembic; ``postgres`` adds psycopg). The names below
are imported on first use, so a missing extra is a clear ``HistoryError``, not an ImportError::

    from scaleready.history import open_store
    store = open_store()  # $SCALEREADY_HISTORY_URL, else a SQLite file in the user's data folder
    record = store.record(card, profile_data, caller="grants-system")
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from scaleready.history.errors import EXTRA_HINT, HistoryError

if TYPE_CHECKING:  # the same names as _EXPORTS, for type checkers
    from scaleready.history.store import Job as Job
    from scaleready.history.store import JobStatus as JobStatus
    from scaleready.history.store import Record as Record
    from scaleready.history.store import Store as Store
    from scaleready.history.store import TokenInfo as TokenInfo
    from scaleready.history.store import default_url as default_url
    from scaleready.history.store import open_store as open_store

_EXPORTS = ("open_store", "default_url", "Store", "Record", "Job", "JobStatus", "TokenInfo")
__all__ = ["HistoryError", "require_extra", *_EXPORTS]


def __getattr__(name: str) -> object:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'scaleready.history' has no attribute {name!r}")
    return getattr(_store_module(), name)


def require_extra() -> None:
    """HistoryError, saying what to install, unless the history's extra is installed."""
    _store_module()


def _store_module():
    try:
        return importlib.import_module("scaleready.history.store")
    except ModuleNotFoundError as missing:
        if missing.name not in ("sqlalchemy", "alembic"):
            raise
        raise HistoryError(f"{EXTRA_HINT} ({missing.name} is not installed)") from None
