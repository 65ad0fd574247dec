"""Built-in plugin: the evidence-of-impact ruleset (Nesta Standards of Evidence as the ladder)."""

from __future__ import annotations

from collections.abc import Callable

from scaleready.hookspecs import hookimpl
from scaleready.profile import InnovationProfile
from scaleready_builtins import ruleset_path

# Upper bounds (GBP per person) of the Early Intervention Foundation's cost ratings 1-4; a unit
# cost above the last bound is rated 5.  EIF: 1 < £100, 2 £100-499, 3 £500-999, 4 £1,000-2,000,
# 5 > £2,000 (http://guidebook.eif.org.uk/eif-evidence-standards).
EIF_COST_BANDS = ((100, 1), (500, 2), (1000, 3), (2000.000001, 4))


def eif_cost_rating(profile: InnovationProfile) -> float | None:
    """The EIF cost rating (1 low to 5 high) of the unit cost; None when the cost is not given."""
    unit_cost = profile.model.unit_cost if profile.model else None
    if unit_cost is None:
        return None
    for bound, rating in EIF_COST_BANDS:
        if unit_cost < bound:
            return rating
    return 5


@hookimpl
def register_derived_facts(register: Callable[..., None]) -> None:
    register(
        "eif_cost_rating",
        eif_cost_rating,
        kind="number",
        description="EIF cost rating of the unit cost per person: 1 under £100, 2 £100-499, "
        "3 £500-999, 4 £1,000-2,000, 5 over £2,000.",
        inputs=("model.unit_cost",),
    )


@hookimpl
def register_rulesets(register: Callable[..., None]) -> None:
    register(ruleset_path("evidence.yaml"))
