"""What a rule can come to, and the readiness levels: the closed sets every layer shares."""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    """A rule's outcome. Unknown means data is missing: never shown as a pass, never a fail."""

    PASS = "pass"
    FAIL = "fail"
    UNKNOWN = "unknown"
    NOT_APPLICABLE = "not_applicable"
    ERROR = "error"


MET = frozenset({Outcome.PASS, Outcome.NOT_APPLICABLE})  # do not stand in the way of a level
UNMET = (Outcome.FAIL, Outcome.UNKNOWN, Outcome.ERROR)  # in the order reports list them

MIN_RULE_LEVEL = 1  # the Nesta Standards of Evidence ladder runs from level 1 ...
MAX_LEVEL = 5  # ... to level 5; a dimension that meets no level is at level 0
