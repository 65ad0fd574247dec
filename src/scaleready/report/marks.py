"""How every report shows an outcome (a symbol and a word, so it reads without colour), a level
and a score, and the order of a ranking."""

from __future__ import annotations

from typing import NamedTuple

from scaleready.outcome import MAX_LEVEL, Outcome


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


# How every report shows a level and a score: the level reached is always written first and
# plainly; what the missing data could add is written after it, in words, never in its place.


def level_text(level: int, potential: int) -> str:
    """``2/5``, or ``2/5 (3 possible)`` when supplying the missing data could lift it."""
    possible = f" ({potential} possible)" if potential > level else ""
    return f"{level}/{MAX_LEVEL}{possible}"


def score_text(score: float, potential: float, places: int = 1) -> str:
    """``40.0``, or the range ``40.0–55.0`` up to the score were the missing data to pass."""
    confirmed = f"{score:.{places}f}"
    return f"{confirmed}–{potential:.{places}f}" if potential > score else confirmed


def ranking_key(level: int, potential: int, score: float) -> tuple[int, int, float]:
    """The order of a ranking, best first: confirmed level, then potential level, then score."""
    return (-level, -potential, -score)
