"""How every report shows a level, a score and a data gap, and the order of a ranking.

The level reached is always written first and plainly; what the missing data could add is
written after it, in words, never in its place: a funder must never take a level that is only
possible for one that is reached.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scaleready.outcome import MAX_LEVEL, UNMET, Outcome

if TYPE_CHECKING:
    from collections.abc import Iterable

    from scaleready.assessment.scorecard import DataGap, Dimension, GapItem, Scorecard


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


def held_by_missing_data(level: int, rules: Iterable[tuple[int, str]]) -> bool:
    """Whether a dimension at ``level`` is held there only by missing data: every rule of the
    next level that is not met (``rules`` are (level, outcome) pairs) is unknown, none failed.

    Read from the rules, not the next steps, so that the portfolio's compact cards answer too.
    """
    blocking = [outcome for rule_level, outcome in rules if rule_level == level + 1]
    unmet = [outcome for outcome in blocking if outcome in UNMET]
    return bool(unmet) and all(outcome == Outcome.UNKNOWN for outcome in unmet)


def dimension_held_by_missing_data(d: Dimension) -> bool:
    """``held_by_missing_data`` for a scorecard's dimension."""
    return held_by_missing_data(d.level, ((r.level, r.outcome) for r in d.rules))


def data_gaps(card: Scorecard) -> list[tuple[Dimension, DataGap]]:
    """Every dimension's data gaps, the nearest level they could unlock first (gaps that unlock
    no level on their own last), dimensions in scorecard order between equals."""
    gaps = [(d, g) for d in card.dimensions for g in d.data_gaps]
    return sorted(gaps, key=lambda item: (item[1].unlocks is None, item[1].unlocks or 0))


def unlocks_text(d: Dimension, gap: DataGap) -> str:
    """What supplying a missing field could do for its dimension, in words."""
    if gap.unlocks is None:
        return (
            f"lifts no level of {d.title} yet (a rule at or below it is not met whatever the data)"
        )
    return f"could unlock {d.title} level {gap.unlocks}"


ITEMS_SHOWN = 3  # the list items a data gap names; the rest are counted ("and 4 more")
NAME_SHOWN = 40  # the characters of an item's name shown; a longer one is cut with "…"


def missing_in_text(gap: DataGap) -> str | None:
    """Which list items lack a gap's field, in words: ``missing in 2 of 5 items:
    evidence.evaluations[0] ("Humphrey 2018"), [3] ("Berry 2019")``; None outside lists.

    The first item is named by its whole path, the next by what follows the list's name, so
    that a funder finds each item and the line stays short.
    """
    missing, total = gap.missing_in, gap.list_items
    if not missing:
        return None
    if len(missing) == total > 1:  # naming every item would tell nothing
        return f"missing in all {total} items"
    named = ", ".join(
        _item_text(item, first=n == 0) for n, item in enumerate(missing[:ITEMS_SHOWN])
    )
    if len(missing) > ITEMS_SHOWN:
        named += f" and {len(missing) - ITEMS_SHOWN} more"
    return f"missing in {len(missing)} of {total} item{'s' if total > 1 else ''}: {named}"


def _item_text(item: GapItem, *, first: bool) -> str:
    """A list item as a gap names it: its path (after the first, from its first index) and name."""
    path = item.path if first else item.path[item.path.find("[") :]
    if item.name is None:
        return path
    quoted = _shortened(item.name).replace('"', "'")  # its own quotes, not nested in ours
    return f'{path} ("{quoted}")'


def _shortened(name: str) -> str:
    """A name of at most NAME_SHOWN characters: a longer one cut, and "…" saying so."""
    return name if len(name) <= NAME_SHOWN else name[: NAME_SHOWN - 1].rstrip() + "…"
