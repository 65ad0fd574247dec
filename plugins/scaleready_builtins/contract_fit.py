"""Built-in plugin: the contract-fit ruleset (UK procurement: size, risk, lots, social value)."""

from __future__ import annotations

from scaleready.hookspecs import hookimpl
from scaleready.profile import Contract, InnovationProfile
from scaleready_builtins import ruleset_path


def largest_contract_annual_value(profile: InnovationProfile) -> float | None:
    """Yearly value of the largest contract held, bid for or offered (completed ones left out).

    A contract without ``annual_value`` counts as its ``value`` spread over its length in years
    (a contract shorter than a year counts as its whole value).  None when there is no current
    contract or one of them lacks the figures.
    """
    return _largest([_annual_value(c) for c in _current(profile)])


def largest_pbr_money_at_risk(profile: InnovationProfile) -> float | None:
    """Most money one current contract pays only on results (value x pbr_share), in GBP.

    A contract with no ``pbr_share`` and a payment model other than payment by results (or
    mixed) has nothing at risk; one whose share at risk cannot be told leaves the answer None,
    as does having no current contract.
    """
    return _largest([_money_at_risk(c) for c in _current(profile)])


def _current(profile: InnovationProfile) -> list[Contract]:
    return [c for c in profile.contracts or () if c.status != "completed"]


def _largest(values: list[float | None]) -> float | None:
    """The largest value; None when there is none or any is unknown."""
    if not values or any(value is None for value in values):
        return None
    return max(values)


def _annual_value(contract: Contract) -> float | None:
    if contract.annual_value is not None:
        return contract.annual_value
    if contract.value is None or not contract.length_months:
        return None
    return contract.value / max(contract.length_months / 12, 1)


def _money_at_risk(contract: Contract) -> float | None:
    if contract.pbr_share is None:
        unpaid_by_results = contract.payment_model not in (None, "payment_by_results", "mixed")
        return 0.0 if unpaid_by_results else None
    if contract.pbr_share == 0:
        return 0.0
    return None if (value := _whole_value(contract)) is None else value * contract.pbr_share


def _whole_value(contract: Contract) -> float | None:
    if contract.value is not None:
        return contract.value
    if contract.annual_value is None or contract.length_months is None:
        return None
    return contract.annual_value * max(contract.length_months / 12, 1)


@hookimpl
def register_derived_facts(register):
    register(
        "largest_contract_annual_value",
        largest_contract_annual_value,
        kind="number",
        description="Yearly value in GBP of the largest contract held, bid for or offered "
        "(annual_value, or value over the length in years).",
        inputs=(
            "contracts.status",
            "contracts.annual_value",
            "contracts.value",
            "contracts.length_months",
        ),
    )
    register(
        "largest_pbr_money_at_risk",
        largest_pbr_money_at_risk,
        kind="number",
        description="Most money in GBP that one current contract pays only when results are "
        "achieved (value x pbr_share); 0 when none is paid by results.",
        inputs=(
            "contracts.status",
            "contracts.payment_model",
            "contracts.value",
            "contracts.pbr_share",
        ),
    )


@hookimpl
def register_rulesets(register):
    register(ruleset_path("contract_fit.yaml"))
