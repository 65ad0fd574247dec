"""Messages about bad input: the nearest name, a value quoted briefly, a field path, many problems.

Every message that names a problem goes through these, so they read the same everywhere.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Sequence
from typing import Any

# The most problems one message lists; the rest are counted ("... and 999,990 more").
MAX_PROBLEMS_SHOWN = 20

Location = tuple[str | int, ...]  # a field's path as pydantic gives it

_BRIEF_BITS = 128  # whole numbers longer than this are described by their size


def brief(value: Any) -> str:
    """A value as a message quotes it: short, and never the whole of a long one."""
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a section of keys"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int) and value.bit_length() > _BRIEF_BITS:  # str() of it may fail
        return f"a whole number of about {int(value.bit_length() * math.log10(2)):,} digits"
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def item_path(location: Location) -> str:
    """A field path as messages and CSV columns write it: `contracts.1.pbr_share`.

    List items are numbered from 1, as the columns of a grant round number them.
    """
    return ".".join(_step(step) for step in location)


def _step(step: str | int) -> str:
    if isinstance(step, int):
        return str(step + 1)
    return step if step.isprintable() else repr(step)  # a key may hold a newline or an escape


def join_problems(problems: Sequence[str], total: int | None = None) -> str:
    """One message for a document's problems: the first MAX_PROBLEMS_SHOWN, the rest counted.

    `total` is how many there are, when only the first few were made into `problems`.
    """
    total = len(problems) if total is None else total
    if total == 1:
        return problems[0]
    shown = [f"  {problem}" for problem in problems[:MAX_PROBLEMS_SHOWN]]
    if total > len(shown):
        shown.append(f"  ... and {total - len(shown):,} more")
    return f"{total:,} problems:\n" + "\n".join(shown)


def nearest(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate closest to a misspelt name, for 'did you mean ...?', or None."""
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def did_you_mean(name: str, candidates: Iterable[str], otherwise: str = "") -> str:
    """ "did you mean 'x'?" for the nearest candidate, else ``otherwise`` (say, what is allowed)."""
    hint = nearest(name, candidates)
    return f"did you mean {hint!r}?" if hint else otherwise
