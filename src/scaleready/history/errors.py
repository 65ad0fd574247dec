"""The history's one error, importable without SQLAlchemy installed."""

from __future__ import annotations

from scaleready.errors import ScaleReadyError

EXTRA_HINT = "the history needs an optional extra: pip install 'scaleready[history]'"


class HistoryError(ScaleReadyError):
    """The history cannot be opened or used: a missing extra, a bad URL, a server not reached."""

    exit_code = 2  # a usage error: install the extra, or point at another store
