"""Built-in plugin: the contract-fit ruleset (UK procurement: size, risk, lots, social value)."""

from __future__ import annotations

from collections.abc import Callable

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


def largest_pbr_net_exposure(profile: InnovationProfile) -> float | None:
    """Most money one current contract pays only on results beyond what it pays up front, in GBP.

    value x (pbr_share - upfront_share), at least 0: money paid before delivery starts carries
    part of the wait for results payments.  A contract with nothing paid on results has no
    exposure; one that pays on results but does not say its up-front share (or its share or
    value) leaves the answer None, as does having no current contract.
    """
    return _largest([_net_exposure(c) for c in _current(profile)])


def highest_minimum_turnover(profile: InnovationProfile) -> float | None:
    """Highest yearly turnover a current contract's buyer requires of bidders, in GBP.

    Only contracts that state ``minimum_turnover`` count; None when none of them does.
    """
    required = [c.minimum_turnover for c in _current(profile) if c.minimum_turnover is not None]
    return max(required) if required else None


def largest_mobilisation_share(profile: InnovationProfile) -> float | None:
    """Largest time to mobilise as a share of the contract's length, over contracts to come.

    Contracts bid for or offered that state ``mobilisation_months`` count; None when none does or
    one of them lacks a length above zero.
    """
    shares = []
    for contract in profile.contracts or ():
        if contract.status not in ("bidding", "offered") or contract.mobilisation_months is None:
            continue
        if not contract.length_months:
            return None
        shares.append(contract.mobilisation_months / contract.length_months)
    return max(shares) if shares else None


def block_contract_income_share(profile: InnovationProfile) -> float | None:
    """Yearly value of current block contracts (held, bid for, offered) over yearly income.

    0 when no current contract is a block contract; None when the income is not given (or is
    zero), when contracts are not answered, or when a current contract's payment model, or a
    block contract's yearly value, is not known.
    """
    income = profile.organisation.yearly_income if profile.organisation else None
    if profile.contracts is None or not income:
        return None
    current = _current(profile)
    if any(contract.payment_model is None for contract in current):
        return None
    values = [_annual_value(c) for c in current if c.payment_model == "block"]
    known = [value for value in values if value is not None]
    if len(known) < len(values):
        return None
    return sum(known) / income


def _current(profile: InnovationProfile) -> list[Contract]:
    return [c for c in profile.contracts or () if c.status != "completed"]


def _largest(values: list[float | None]) -> float | None:
    """The largest value; None when there is none or any is unknown."""
    known = [value for value in values if value is not None]
    if not values or len(known) < len(values):
        return None
    return max(known)


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


def _net_exposure(contract: Contract) -> float | None:
    at_risk, share, value = _money_at_risk(contract), contract.pbr_share, _whole_value(contract)
    # Money at risk means the share paid on results and the whole value are known.
    if at_risk is None or at_risk == 0 or share is None or value is None:
        return at_risk
    if contract.upfront_share is None:
        return None
    return max(share - contract.upfront_share, 0) * value


def _whole_value(contract: Contract) -> float | None:
    if contract.value is not None:
        return contract.value
    if contract.annual_value is None or contract.length_months is None:
        return None
    return contract.annual_value * max(contract.length_months / 12, 1)


@hookimpl
def register_derived_facts(register: Callable[..., None]) -> None:
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

    register(
        "largest_pbr_net_exposure",
        largest_pbr_net_exposure,
        kind="number",
        description="Most money in GBP that one current contract pays only on results, less what "
        "it pays up front (value x (pbr_share - upfront_share), at least 0).",
        inputs=(
            "contracts.status",
            "contracts.payment_model",
            "contracts.value",
            "contracts.pbr_share",
            "contracts.upfront_share",
        ),
    )
    register(
        "highest_minimum_turnover",
        highest_minimum_turnover,
        kind="number",
        description="Highest yearly turnover in GBP that a buyer of a current contract requires "
        "of bidders.",
        inputs=("contracts.status", "contracts.minimum_turnover"),
    )
    register(
        "largest_mobilisation_share",
        largest_mobilisation_share,
        kind="number",
        description="Largest time to mobilise as a share (0-1+) of the contract's length, over "
        "contracts bid for or offered.",
        inputs=("contracts.status", "contracts.mobilisation_months", "contracts.length_months"),
    )
    register(
        "block_contract_income_share",
        block_contract_income_share,
        kind="number",
        description="Yearly value of current block contracts as a share of yearly income "
        "(1 = as much as the whole income).",
        inputs=(
            "organisation.yearly_income",
            "contracts.status",
            "contracts.payment_model",
            "contracts.annual_value",
            "contracts.value",
            "contracts.length_months",
        ),
    )


@hookimpl
def register_rulesets(register: Callable[..., None]) -> None:
    register(ruleset_path("contract_fit.yaml"))
