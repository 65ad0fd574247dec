"""scaleready's built-in rulesets, shipped as plugins through the same entry points as any other.

The rule files live in the repository's top-level ``rulesets/`` folder; the wheel carries them
inside this package (see ``force-include`` in pyproject.toml).
"""

from __future__ import annotations

from pathlib import Path

_PACKAGED = Path(__file__).parent / "rulesets"  # in an installed wheel
_CHECKOUT = Path(__file__).parents[2] / "rulesets"  # in a source checkout or editable install


def ruleset_path(filename: str) -> Path:
    """Where a built-in ruleset file is, installed or in a checkout."""
    folder = _PACKAGED if _PACKAGED.is_dir() else _CHECKOUT
    return folder / filename
