"""Built-in plugin: the partnership ruleset (early adopters, referrals, buyers, funding mix)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from scaleready.hookspecs import hookimpl
from scaleready.profile import InnovationProfile
from scaleready_builtins import ruleset_path

PAYING_ROLES = ("buyer", "commissioner")


def largest_funder_share(profile: InnovationProfile) -> float | None:
    """Share of the listed funding from the largest funder; None unless every amount is given.

    Streams with the same funder name (whatever its case or spacing) add up; a stream without a
    funder name counts as a funder of its own.
    """
    sources = profile.funding.sources if profile.funding else None
    if not sources or any(source.amount is None for source in sources):
        return None
    by_funder: dict[str, float] = defaultdict(float)
    for index, source in enumerate(sources):
        by_funder[_name_key(source.funder) or f"#unnamed-{index}"] += source.amount or 0.0
    total = sum(by_funder.values())
    return max(by_funder.values()) / total if total > 0 else None


def buyer_areas(profile: InnovationProfile) -> int | None:
    """How many different areas partners buy or commission it in; None when a partner whose
    role or area is not given could change that number (missing data is not a failure)."""
    if profile.partnerships is None:
        return None
    paying = [p for p in profile.partnerships if p.role in PAYING_ROLES]
    areas = {_name_key(p.area) for p in paying} - {None}
    # a buyer with no area, or a partner of unknown role in an area not yet counted, may add one
    undecided = [p for p in profile.partnerships if p.role is None or p.role in PAYING_ROLES]
    if any(_name_key(p.area) not in areas for p in undecided):
        return None
    return len(areas)


def _name_key(name: str | None) -> str | None:
    """The same name however it is spaced or capitalised; None when blank."""
    if name is None:
        return None
    return " ".join(name.casefold().split()) or None


@hookimpl
def register_derived_facts(register: Callable[..., None]) -> None:
    register(
        "largest_funder_share",
        largest_funder_share,
        kind="number",
        description="Share (0-1) of the yearly funding in funding.sources that comes from the "
        "largest single funder.",
        inputs=("funding.sources.funder", "funding.sources.amount"),
    )
    register(
        "buyer_areas",
        buyer_areas,
        kind="number",
        description="Number of different areas in which a partner buys or commissions the "
        "innovation (partnerships with role buyer or commissioner, by area).",
        inputs=("partnerships.role", "partnerships.area"),
    )


@hookimpl
def register_rulesets(register: Callable[..., None]) -> None:
    register(ruleset_path("partnership.yaml"))
