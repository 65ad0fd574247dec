"""scaleready's built-in rulesets, shipped as plugins through the same entry points as any other.

The rule files live in the repository's top-level ``rulesets/`` folder. They are this package's
data, found one way wherever the package runs: ``rulesets`` here is a link to that folder in a
checkout (and so in an editable install), and the wheel carries the files themselves.
"""

from __future__ import annotations

from pathlib import Path

RULESETS = Path(__file__).parent / "rulesets"


def ruleset_path(filename: str) -> Path:
    """Where a built-in ruleset file is."""
    return RULESETS / filename
