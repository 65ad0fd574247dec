"""How every report shows an outcome: a symbol and a word, so it reads without colour."""

from __future__ import annotations

from typing import NamedTuple

from scaleready.outcome import Outcome


class Mark(NamedTuple):
    """An outcome as reports show it: the symbol in tables, the word where there is room."""

    symbol: str
    word: str


# In the order reports list outcomes. Keyed by str: a scorecard's outcome may be a plain string.
MARKS: dict[str, Mark] = {
    Outcome.PASS: Mark("✓", "Pass"),
    Outcome.FAIL: Mark("✗", "Fail"),
    Outcome.UNKNOWN: Mark("?", "Data missing"),
    Outcome.NOT_APPLICABLE: Mark("–", "Not applicable"),
    Outcome.ERROR: Mark("!", "Error"),
}
