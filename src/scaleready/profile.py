"""The innovation profile: what a funder knows about a social innovation, and its loader.

Every field is optional except `name`: a missing field means "not answered", which the rules
treat as unknown, never as zero. An empty list means "answered: none".
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
import textwrap
import warnings
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeGuard, get_args, get_origin

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo as PydanticField

from scaleready.documents import MAX_LIST_ITEMS, MAX_NESTED_LIST_ITEMS, Document, load_document
from scaleready.errors import (
    Problem,
    ProfileError,
    ProfileVersionWarning,
    ScaleReadyWarning,
    SettingError,
)
from scaleready.problems import brief, did_you_mean, field_path, unwrap, validated

__all__ = [
    "EVALUATION_DESIGNS",
    "SCHEMA_VERSION",
    "FieldInfo",
    "InnovationProfile",
    "ProfileSection",
    "ProfileVersionWarning",
    "SectionSpec",
    "UnknownSectionWarning",
    "field_catalogue",
    "known_fields",
    "Identifiers",
    "load_profile",
    "load_profile_with_hash",
    "profile_fields",
    "profile_from_data",
    "profile_json_schema",
    "profile_model_with",
    "profile_template",
    "read_version_1",
    "version_of",
]

LegalForm = Literal[
    "charity",
    "cio",
    "cic",
    "company_limited_by_guarantee",
    "community_benefit_society",
    "cooperative",
    "public_body",
    "unincorporated",
    "other",
]
DeliveryModel = Literal["volunteer_led", "peer_support", "staff_led", "digital", "blended", "other"]
# Weakest to strongest, after the Maryland Scientific Methods Scale and Nesta's Standards of
# Evidence (docs/evidence-model.md gives each value's meaning and source).
EvaluationDesign = Literal[
    "case_study",
    "one_off_survey",
    "repeated_surveys",
    "pre_post",
    "cohort_or_panel",
    "unmatched_comparison",
    "quasi_experimental",
    "rct",
]
EVALUATION_DESIGNS: tuple[str, ...] = get_args(EvaluationDesign)
QuasiExperimentalMethod = Literal[
    "matching",
    "difference_in_differences",
    "regression_discontinuity",
    "instrumental_variable",
    "other",
]
OutcomeDirection = Literal["positive", "no_effect", "negative", "mixed"]
MeasuredBy = Literal[
    "self_report",
    "parent_report",
    "practitioner_report",
    "independent_observation",
    "standardised_test",
    "administrative_data",
    "other",
]
SCHEMA_VERSION = "2"
# A p-value below this is statistically significant: the conventional two-sided 5% level, the
# level of the 95% confidence intervals studies report (docs/evidence-model.md).
SIGNIFICANCE_LEVEL = 0.05
Sector = Literal["public", "private", "voluntary", "community", "academic", "philanthropic"]
PartnerRole = Literal[
    "buyer",
    "commissioner",
    "referrer",
    "co_funder",
    "delivery_partner",
    "host",
    "advisor",
    "data_partner",
]
FundingKind = Literal["grant", "contract", "earned", "donations", "investment", "in_kind"]
ContractStatus = Literal["offered", "bidding", "held", "completed"]
PaymentModel = Literal[
    "block",
    "fee_for_service",
    "cost_and_volume",
    "payment_by_results",
    "grant_agreement",
    "spot_purchase",
    "mixed",
]
ProcurementRoute = Literal[
    "open",
    "restricted",
    "competitive_flexible",
    "direct_award",
    "framework",
    "dynamic_market",
    "light_touch",
    "below_threshold",
    "grant",
]
ScalingRoute = Literal[
    "organisational_growth",
    "licensing",
    "social_franchise",
    "partnership",
    "network",
    "open_dissemination",
    "policy_adoption",
]


def _text(description: str, **kw: Any) -> Any:
    return Field(None, description=description, **kw)


def _list(description: str) -> Any:
    return Field(None, description=description, max_length=MAX_LIST_ITEMS)


def _nested_list(description: str) -> Any:
    """A list inside a list item: its items multiply, so it holds fewer."""
    return Field(None, description=description, max_length=MAX_NESTED_LIST_ITEMS)


def _url(description: str) -> Any:
    return Field(
        None,
        description=description,
        pattern=r"^https?://\S+$",
        examples=["https://example.org/report.pdf"],
    )


def _money(description: str, example: float = 250000) -> Any:
    return Field(None, ge=0, description=description + " In GBP.", examples=[example])


def _share(description: str) -> Any:
    return Field(
        None,
        ge=0,
        le=1,
        description=description + " A fraction from 0 to 1 (0.3 = 30%).",
        examples=[0.3],
    )


def _count(description: str, example: int = 12) -> Any:
    return Field(None, ge=0, description=description, examples=[example])


def _year(description: str, example: int = 2019) -> Any:
    return Field(
        None, ge=1900, le=2100, description=description + " A 4-digit year.", examples=[example]
    )


def _months(description: str, example: int = 12) -> Any:
    return Field(None, ge=0, description=description + " In months.", examples=[example])


def _flag(description: str) -> Any:
    return Field(None, description=description)


def _percent(description: str, example: float = 15) -> Any:
    return Field(
        None, ge=0, le=100, description=description + " In percent (15 = 15%).", examples=[example]
    )


class ProfileSection(BaseModel):
    """The base of every part of a profile, the core's and plugins' sections alike: unknown
    keys are refused, values are not coerced (no "12" for 12), NaN and infinity are refused."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


_Section = ProfileSection


class Source(_Section):
    """A public source that the profile's figures come from."""

    title: str | None = _text("Title of the source: a report, web page or annual accounts.")
    url: str | None = _url("Web address where the source can be read.")
    year: int | None = _year("Year the source was published.")
    note: str | None = _text("What the source supports, e.g. 'clubs and children, end of 2015'.")


class Organisation(_Section):
    """The organisation that runs the innovation."""

    legal_form: LegalForm | None = _text("Legal form of the organisation.")
    yearly_income: float | None = _money("Total income in the figures year.")
    free_reserves: float | None = _money(
        "Unrestricted reserves not tied up in fixed assets, at the end of the figures year."
    )
    staff: float | None = _count("Paid staff, as full-time equivalents (FTE).", 8)
    volunteers: int | None = _count("Number of active volunteers.", 120)
    founded: int | None = _year("Year the organisation (or the innovation) started.", 2012)
    country: str | None = _text("Country where it is based, e.g. 'England' or 'UK'.")


class TheoryOfChange(_Section):
    """How the innovation's activities lead to the outcomes it seeks."""

    problem: str | None = _text("The problem the innovation addresses, in a sentence or two.")
    activities: list[str] | None = _list("What is done, one activity per item.")
    outcomes: list[str] | None = _list("The changes sought for the people reached, one per item.")
    assumptions: list[str] | None = _list(
        "What must hold for the activities to lead to the outcomes, one per item."
    )
    document_url: str | None = _url("Web address of the written theory of change, if published.")


class InnovationModel(_Section):
    """What the innovation is and how it is delivered."""

    theory_of_change: TheoryOfChange | None = _text(
        "The theory of change: problem, activities, outcomes and assumptions."
    )
    core_components: list[str] | None = _list(
        "Parts that must stay the same wherever it runs (the fixed core), one per item."
    )
    adaptable_components: list[str] | None = _list(
        "Parts that each place may adapt to local needs, one per item."
    )
    delivery_model: DeliveryModel | None = _text("Who mainly delivers it.")
    social_action: bool | None = _flag(
        "True if it is social action: people giving time to help others (volunteers, peers)."
    )
    unit_cost: float | None = _money("Cost per person reached per year.", 150)
    unit_cost_basis: str | None = _text(
        "How the unit cost was worked out, e.g. 'total costs 2017 / children reached'."
    )


class OutcomeResult(_Section):
    """What one study found for one outcome measure."""

    measure: str | None = _text("The outcome measured, e.g. 'coding skills'.")
    primary: bool | None = _flag(
        "True if the study named this a primary outcome (set in advance, the one it is powered "
        "for); false if a secondary one."
    )
    design: EvaluationDesign | None = _text(
        "Design used for this outcome, only where it differs from the study's (e.g. a matched "
        "comparison for exam results, before/after for destinations). Empty means the study's "
        "design, which is then filled in here."
    )
    measured_by: MeasuredBy | None = _text(
        "How the outcome was measured: by the participants themselves (self_report), a parent, "
        "a teacher or other practitioner, an independent observer, a standardised test, or "
        "administrative data (records such as exam results or reoffending)."
    )
    result: OutcomeDirection | None = _text("Direction of the finding for this measure.")
    effect_size: float | None = _text(
        "Standardised effect size (e.g. Cohen's d or Hedges' g); positive means better for the "
        "people served, negative means harm.",
        examples=[0.2],
    )
    ci_lower: float | None = _text(
        "Lower end of the 95% confidence interval of the effect size, on the same scale and "
        "sign (not an odds ratio: give significance for those).",
        examples=[0.05],
    )
    ci_upper: float | None = _text(
        "Upper end of the 95% confidence interval of the effect size.", examples=[0.35]
    )
    p_value: float | None = Field(
        None,
        ge=0,
        le=1,
        description="p-value of the effect, from 0 to 1 (0.03, not 3%).",
        examples=[0.03],
    )
    significant: bool | None = _flag(
        "True if the result is statistically significant. Empty: read from the p-value (below "
        "0.05) or else the confidence interval (significant when it excludes zero)."
    )
    follow_up_months: int | None = _months(
        "Time from the start of support to this measure. Empty means the study's follow-up."
    )

    @model_validator(mode="after")
    def _significance_from_the_numbers(self) -> OutcomeResult:
        lower, upper = self.ci_lower, self.ci_upper
        if lower is not None and upper is not None and lower > upper:
            raise ValueError(f"ci_lower ({lower}) is above ci_upper ({upper})")
        if self.significant is None:
            self.significant = _significance(self.p_value, lower, upper)
        return self


def _significance(p_value: float | None, lower: float | None, upper: float | None) -> bool | None:
    """Significance as the p-value says, else as the confidence interval does, else unknown."""
    if p_value is not None:
        return p_value < SIGNIFICANCE_LEVEL
    if (lower is not None and lower > 0) or (upper is not None and upper < 0):
        return True  # one end alone shows the interval excludes zero
    if lower is not None and upper is not None:
        return False
    return None


class Sample(_Section):
    """How many took part in a study; counts of those analysed, where a report gives both."""

    individuals: int | None = _count("People in the study, both groups together.", 300)
    treatment: int | None = _count("People in the group that received the innovation.", 150)
    control: int | None = _count("People in the control or comparison group.", 150)
    clusters: int | None = _count(
        "Groups allocated as a whole, e.g. schools or sites in a cluster trial, both groups.", 20
    )
    at_least: bool | None = _flag(
        "True if the counts are lower bounds, as when a report says 'more than 1,000'."
    )


class Evaluation(_Section):
    """One study of the innovation's results."""

    title: str | None = _text("Title of the evaluation report.")
    year: int | None = _year("Year the evaluation was completed or published.")
    design: EvaluationDesign | None = _text(
        "Study design, weakest to strongest after the Maryland Scientific Methods Scale and "
        "Nesta's Standards of Evidence: case study; one-off survey after the activity; repeated "
        "surveys at intervals; before/after (pre_post); cohort or panel; comparison with an "
        "unmatched group; quasi-experimental (a matched or otherwise justified comparison); "
        "randomised controlled trial (rct)."
    )
    method: QuasiExperimentalMethod | None = _text(
        "For a quasi-experimental study: how the comparison was made fair."
    )
    independent: bool | None = _flag("True if carried out by an evaluator independent of the team.")
    evaluator: str | None = _text("Who carried out the evaluation.")
    sample: Sample | None = _text("How many took part: people, groups and clusters.")
    sites: int | None = _count("Number of sites or places the study covered.", 20)
    attrition: float | None = _percent(
        "Share of the people allocated or recruited who are missing from the analysis."
    )
    differential_attrition: float | None = Field(
        None,
        ge=0,
        le=100,
        description="Difference between the two groups' attrition, in percentage points "
        "(3 = 3 points, as 12% against 9%).",
        examples=[3],
    )
    follow_up_months: int | None = _months("Time from the start of support to the last measure.")
    published: bool | None = _flag("True if the report is publicly available.")
    url: str | None = _url("Web address of the report.")
    outcomes: list[OutcomeResult] | None = _nested_list("Findings, one item per outcome measured.")

    @model_validator(mode="after")
    def _outcomes_inherit_the_study(self) -> Evaluation:
        """An outcome without its own design or follow-up has the study's: rules read outcomes."""
        for outcome in self.outcomes or ():
            for name in INHERITED_FROM_THE_STUDY:
                if getattr(outcome, name) is None:
                    setattr(outcome, name, getattr(self, name))
        return self


INHERITED_FROM_THE_STUDY = ("design", "follow_up_months")  # an outcome's, unless it has its own


class Evidence(_Section):
    """The evidence that the innovation works."""

    evaluations: list[Evaluation] | None = _list("Evaluations of the innovation, one per study.")
    cost_evaluated: bool | None = _flag(
        "True if an evaluation has costed the outcomes (cost per outcome or cost-benefit)."
    )


class GrowthPoint(_Section):
    """Reach in one past year."""

    year: int | None = _year("Year these figures describe.")
    sites: int | None = _count("Sites running it in that year.")
    people: int | None = _count("People reached in that year.", 5000)


class Reach(_Section):
    """How many people and places the innovation reaches now."""

    sites: int | None = _count("Sites, groups or services running it now.", 40)
    areas: int | None = _count("Number of local authority areas it runs in.", 5)
    people_per_year: int | None = _count("People reached per year.", 5000)
    level_of_need: int | None = _count(
        "People who could benefit in the areas it aims to serve (the level of need).", 100000
    )
    growth: list[GrowthPoint] | None = _list("Reach in past years, one item per year.")


class Partnership(_Section):
    """A partner organisation and what it does for the innovation."""

    partner: str | None = _text("Name of the partner organisation.")
    sector: Sector | None = _text("Sector the partner belongs to.")
    role: PartnerRole | None = _text("Main role the partner plays.")
    area: str | None = _text("Area the partnership covers, e.g. a local authority.")
    since: int | None = _year("Year the partnership began.")
    formal_agreement: bool | None = _flag("True if there is a signed agreement or contract.")
    renewed: bool | None = _flag("True if the partner has renewed or extended its support.")
    early_adopter: bool | None = _flag(
        "True if the partner backed or bought the innovation before it was proven elsewhere."
    )
    annual_value: float | None = _money("Money the partner puts in per year.", 20000)


class FundingSource(_Section):
    """One stream of income for the innovation."""

    funder: str | None = _text("Who provides the money.")
    kind: FundingKind | None = _text("Kind of income.")
    amount: float | None = _money("Amount per year.", 50000)
    year: int | None = _year("Year the amount refers to.")
    restricted: bool | None = _flag("True if it may only be spent on a set purpose.")


class Funding(_Section):
    """Where the innovation's money comes from."""

    sources: list[FundingSource] | None = _list("Income streams, one item per funder and kind.")
    co_investment: float | None = _money(
        "Money others commit alongside the funder for the scaling plan.", 100000
    )


class Contract(_Section):
    """A public contract the organisation holds, bids for or has been offered."""

    buyer: str | None = _text("The public body buying the service.")
    status: ContractStatus | None = _text("Where the contract stands.")
    value: float | None = _money("Total value over the whole contract.", 600000)
    annual_value: float | None = _money("Value per year.", 200000)
    length_months: int | None = _months("Length of the contract.", 36)
    mobilisation_months: int | None = _months("Time between contract award and service start.", 3)
    payment_model: PaymentModel | None = _text("How the buyer pays.")
    pbr_share: float | None = _share("Share of the value paid only when results are achieved.")
    upfront_share: float | None = _share("Share of the value paid before delivery starts.")
    intermediate_outcome_payments: bool | None = _flag(
        "True if some payments are made for interim outcomes, before the final result."
    )
    lots: int | None = _count("Number of lots the contract is divided into (1 = not divided).", 1)
    route: ProcurementRoute | None = _text("Procurement route the buyer uses.")
    social_value_weight: float | None = _share("Weight given to social value when bids are scored.")
    minimum_turnover: float | None = _money(
        "Yearly turnover the buyer requires of bidders.", 400000
    )

    @model_validator(mode="after")
    def _shares_fit(self) -> Contract:
        if (self.pbr_share or 0) + (self.upfront_share or 0) > 1:
            raise ValueError("pbr_share and upfront_share add up to more than 1 (100%)")
        return self


class ReplicationSite(_Section):
    """A place where someone else runs the innovation."""

    name: str | None = _text("Name of the replication, e.g. the local scheme.")
    operator: str | None = _text("Organisation that runs it there.")
    area: str | None = _text("Area it runs in.")
    started: int | None = _year("Year it started there.")
    outcomes_retained: bool | None = _flag(
        "True if evidence shows it achieves the original outcomes there."
    )


class Replication(_Section):
    """What lets others deliver the innovation faithfully elsewhere."""

    manual: bool | None = _flag("True if there is a written manual or delivery guide.")
    training: bool | None = _flag("True if there is a training programme for new deliverers.")
    fidelity_monitoring: bool | None = _flag(
        "True if delivery is checked against the core components."
    )
    quality_framework: bool | None = _flag("True if there is a quality framework or standards.")
    data_system: bool | None = _flag("True if all sites record results in a shared data system.")
    learning_system: bool | None = _flag(
        "True if lessons from sites feed back into improving the model."
    )
    licensing_model: bool | None = _flag(
        "True if there is a licence, franchise or network agreement for others to use."
    )
    sites_run_by_others: int | None = _count("Sites run by other organisations.", 10)
    replications: list[ReplicationSite] | None = _list("Replications by others, one per place.")


class ScalingPlan(_Section):
    """How the innovation intends to grow."""

    route: ScalingRoute | None = _text("Main route to scale.")
    target_sites: int | None = _count("Sites it aims to reach.", 100)
    target_people_per_year: int | None = _count("People per year it aims to reach.", 20000)
    target_year: int | None = _year("Year by which it aims to reach the targets.", 2028)
    investment_needed: float | None = _money("Money needed to carry out the plan.", 500000)
    buyer_can_commission: bool | None = _flag(
        "True if a buyer can ask for or commission it off the shelf, as any school can a Code Club."
    )


# The org-id.guide form: a list code (country or XI/XM, then the register) and the id on that
# list, e.g. GB-CHC-1234567 (charity in England and Wales) or GB-COH-09028397 (a company).
ORG_ID_PATTERN = r"^(?:[A-Z]{2})-[A-Z0-9]{2,}-[A-Za-z0-9][A-Za-z0-9./_-]*$"
CHARITY_NUMBER_PATTERN = r"^(?:[A-Z]{1,3})?[0-9]{4,8}(?:-[0-9]{1,3})?$"  # 1129409, SC012345
COMPANY_NUMBER_PATTERN = r"^(?:[0-9]{1,8}|[A-Z]{2}[0-9]{6})$"  # 09028397, SC123456
FUNDER_ID_LENGTH = 100
_IDENTIFIER_FORMS = {  # a field's pattern, and its form in words for the message
    "org_id": (
        ORG_ID_PATTERN,
        "an org-id: a list code and the id on that list, e.g. GB-CHC-1234567 (org-id.guide)",
    ),
    "charity_number": (CHARITY_NUMBER_PATTERN, "a charity number, e.g. 1129409 or SC012345"),
    "company_number": (
        COMPANY_NUMBER_PATTERN,
        "a company number: 8 digits (09028397) or 2 letters and 6 digits (SC123456)",
    ),
}


class Identifiers(_Section):
    """Registered numbers and ids that name the organisation and its application."""

    org_id: str | None = Field(
        None,
        max_length=FUNDER_ID_LENGTH,
        json_schema_extra={"pattern": ORG_ID_PATTERN},
        description="Organisation identifier in the org-id.guide form LIST-ID: GB-CHC-1234567 "
        "(a charity in England and Wales), GB-SC-SC012345 (a Scottish charity), "
        "GB-COH-09028397 (a company).",
        examples=["GB-CHC-1234567"],
    )
    charity_number: str | None = Field(
        None,
        json_schema_extra={"pattern": CHARITY_NUMBER_PATTERN},
        description="Registered charity number, as the regulator writes it (1129409, SC012345).",
        examples=["1129409"],
    )
    company_number: str | None = Field(
        None,
        json_schema_extra={"pattern": COMPANY_NUMBER_PATTERN},
        description="Companies House number: 8 digits, or 2 letters and 6 digits (SC123456).",
        examples=["09028397"],
    )
    grant_id: str | None = _text(
        "The funder's own id of the grant, as its grant system writes it.",
        max_length=FUNDER_ID_LENGTH,
        examples=["GR-2026-0042"],
    )
    application_id: str | None = _text(
        "The funder's own id of the application.",
        max_length=FUNDER_ID_LENGTH,
        examples=["APP-31337"],
    )

    @field_validator("org_id", "charity_number", "company_number")
    @classmethod
    def _in_its_form(cls, value: str | None, info: ValidationInfo) -> str | None:
        pattern, form = _IDENTIFIER_FORMS[info.field_name or ""]
        if value is not None and not re.fullmatch(pattern, value):
            raise ValueError(f"{value!r} is not {form}")
        return value

    @field_validator("charity_number", "company_number", mode="before")
    @classmethod
    def _number_as_written(cls, value: object) -> object:
        """A registered number written without quotes (YAML reads 1129409 as a number)."""
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


# Metadata is carried, never judged: bounded so that it cannot swell every output it is in.
MAX_METADATA_BYTES = 16_384  # as compact JSON
MAX_METADATA_DEPTH = 4  # maps and lists inside one another
MAX_METADATA_KEY_LENGTH = 100
METADATA_WHY = (
    "metadata is a grant system's own keys, carried into every output but never judged: "
    "rules read only documented profile fields, so that a verdict means the same to everyone"
)
RULES_CANNOT_READ = {"metadata": METADATA_WHY}  # top-level fields outside the field catalogue


def _check_metadata(value: object, where: str, depth: int) -> None:
    """JSON values only (text, numbers, true/false, null, lists and maps with text keys)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or not 0 < len(key) <= MAX_METADATA_KEY_LENGTH:
                raise ValueError(
                    f"{where + ': ' if where else ''}keys must be text of 1 to "
                    f"{MAX_METADATA_KEY_LENGTH} characters, not {brief(key)}"
                )
            _check_metadata_item(item, f"{where}.{key}" if where else key, depth)
    elif isinstance(value, list):
        for number, item in enumerate(value, 1):
            _check_metadata_item(item, f"{where}.{number}" if where else str(number), depth)
    elif isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{where}: {value} is not a number JSON can hold")
    elif value is not None and not isinstance(value, str | int | float | bool):
        raise ValueError(
            f"{where}: {brief(value)} is not a JSON value; write dates and other values as "
            "quoted text"
        )


def _check_metadata_item(item: object, where: str, depth: int) -> None:
    if isinstance(item, dict | list) and depth >= MAX_METADATA_DEPTH:
        raise ValueError(f"{where}: nested more than {MAX_METADATA_DEPTH} deep")
    _check_metadata(item, where, depth + 1)


class InnovationProfile(_Section):
    """A social innovation as a funder sees it: the input to an assessment."""

    name: str = Field(
        min_length=1,
        description="Name of the innovation, as funders know it.",
        examples=["Code Club"],
    )
    schema_version: Literal["2"] | None = Field(
        None,
        description="Version of the profile format: 2. A profile without it is read as version "
        "1, and `scaleready profile upgrade FILE` rewrites it as version 2.",
        examples=[SCHEMA_VERSION],
    )
    summary: str | None = _text("What it does and for whom, in a few sentences.")
    website: str | None = _url("The innovation's website.")
    figures_year: int | None = _year("Year that the figures in this profile describe.", 2017)
    sources: list[Source] | None = _list("Sources of the figures, one per item.")
    estimates: list[str] | None = _list(
        "Field paths whose values are estimates, not reported figures, "
        "e.g. 'reach.people_per_year' or 'evidence.evaluations.sample.individuals'."
    )
    organisation: Organisation | None = _text("The organisation that runs it.")
    model: InnovationModel | None = _text("What it is and how it is delivered.")
    evidence: Evidence | None = _text("Evidence that it works.")
    reach: Reach | None = _text("People and places reached.")
    partnerships: list[Partnership] | None = _list("Partners, one item per partner and role.")
    funding: Funding | None = _text("Where the money comes from.")
    contracts: list[Contract] | None = _list("Public contracts held, bid for or offered.")
    replication: Replication | None = _text("What lets others deliver it elsewhere.")
    scaling_plan: ScalingPlan | None = _text("How it intends to grow.")
    identifiers: Identifiers | None = _text(
        "Registered numbers and the funder's ids, to match the profile with other records."
    )
    metadata: dict[str, Any] | None = _text(
        "A grant system's own keys and values (text, numbers, true/false, lists, maps), carried "
        "into every scorecard and summary as given. Rules cannot read it.",
        examples=[{"crm_id": "A-1043", "round": "2026 spring"}],
    )

    @field_validator("metadata")
    @classmethod
    def _json_metadata(cls, metadata: dict[str, Any] | None) -> dict[str, Any] | None:
        if metadata is None:
            return None
        _check_metadata(metadata, "", 1)
        size = len(json.dumps(metadata, separators=(",", ":"), ensure_ascii=False).encode())
        if size > MAX_METADATA_BYTES:
            raise ValueError(
                f"{size:,} bytes as JSON; metadata holds at most {MAX_METADATA_BYTES:,}: keep "
                "ids and short values here, and the documents themselves in the grant system"
            )
        return metadata

    @field_validator("estimates")
    @classmethod
    def _known_paths(cls, paths: list[str] | None) -> list[str] | None:
        known = field_catalogue(cls)
        for path in paths or ():
            if path not in known:
                advice = did_you_mean(path, known)
                raise ValueError(f"unknown field path '{path}'" + (f"; {advice}" if advice else ""))
        return paths


# ---------------------------------------------------------------- loading and error messages


def load_profile(
    path: Path | str, model: type[InnovationProfile] | None = None
) -> InnovationProfile:
    """Load and validate a profile file (.yaml, .yml or .json), or raise ProfileError.

    ``model`` is the profile model with the installed plugins' sections (``profile_model_with``,
    as an engine's ``profile_model``); the core profile when None.
    """
    return load_profile_with_hash(path, model)[0]


def load_profile_with_hash(
    path: Path | str, model: type[InnovationProfile] | None = None, *, raw: bytes | None = None
) -> tuple[InnovationProfile, str]:
    """Load a profile and return it with the SHA-256 hex digest of the file's bytes (``raw``:
    those bytes, read already, on another machine)."""
    document = load_document(Path(path), ProfileError, raw=raw)
    profile = _validate(document.data, str(document.path), document, model or InnovationProfile)
    return profile, document.sha256


def profile_from_data(
    data: Any, source: str = "<data>", model: type[InnovationProfile] | None = None
) -> InnovationProfile:
    """Validate already-parsed data (a dict) as a profile, or raise ProfileError."""
    if not isinstance(data, dict):
        raise ProfileError(
            f"top level: expected a mapping of fields, got {brief(data)}", source=source
        )
    return _validate(data, source, None, model or InnovationProfile)


def _validate(
    data: dict[str, Any],
    source: str,
    document: Document | None,
    model: type[InnovationProfile],
) -> InnovationProfile:
    if version_of(data) == "1":
        data, unsettled = read_version_1(data)
        # A file can be upgraded, so it is told whenever it could be; a row of a round only
        # when the row has lost something, so that a round of thousands is not one note a row.
        if unsettled or (unsettled is not None and document is not None):
            note = _version_1_note(source, unsettled, upgradable=document is not None)
            warnings.warn(ProfileVersionWarning(note), stacklevel=4)
    try:
        return validated(model, data, ProfileError, source, document)
    except ProfileError:  # looked into only now: a valid profile pays nothing for it
        if not _unknown_sections(data, model):
            raise
    data = _without_unknown_sections(data, source, document, model)
    return validated(model, data, ProfileError, source, document)


# ---------------------------------------------------------------- sections no plugin provides


IGNORE_UNKNOWN_SECTIONS_VARIABLE = "SCALEREADY_IGNORE_UNKNOWN_SECTIONS"
_YES, _NO = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")


class UnknownSectionWarning(ScaleReadyWarning):
    """A profile section that no installed plugin provides was left out, as the setting asks."""


def ignore_unknown_sections() -> bool:
    """SCALEREADY_IGNORE_UNKNOWN_SECTIONS: 1/true/yes to leave out unknown sections, else not."""
    text = os.environ.get(IGNORE_UNKNOWN_SECTIONS_VARIABLE, "").strip().lower()
    if text not in _YES + _NO:
        raise SettingError(
            f"{text!r} is neither yes nor no; e.g. {IGNORE_UNKNOWN_SECTIONS_VARIABLE}=1",
            source=IGNORE_UNKNOWN_SECTIONS_VARIABLE,
        )
    return text in _YES


def _without_unknown_sections(
    data: dict[str, Any],
    source: str,
    document: Document | None,
    model: type[InnovationProfile],
) -> dict[str, Any]:
    """The data less its unknown sections, if the setting says so; else ProfileError naming them."""
    unknown = _unknown_sections(data, model)
    if not ignore_unknown_sections():
        problems = [_unknown_section(key, document, model) for key in unknown]
        advice = (
            "If it is a plugin's section, install that plugin (`scaleready plugins` lists those "
            f"installed), or set {IGNORE_UNKNOWN_SECTIONS_VARIABLE}=1 to assess the profile "
            "without it (its data is then left out)"
        )
        problems_text = "; ".join(problems)
        stop = "" if problems_text.endswith("?") else "."
        raise ProfileError(
            f"{problems_text}{stop} {advice}",
            source=source,
            problems=[_unknown_section_problem(key, document, model) for key in unknown],
        )
    names = ", ".join(repr(key) for key in unknown)
    warnings.warn(
        UnknownSectionWarning(
            f"{source}: left out section {names}: no installed plugin provides it "
            f"({IGNORE_UNKNOWN_SECTIONS_VARIABLE} is set)"
        ),
        stacklevel=5,
    )
    return {key: value for key, value in data.items() if key not in unknown}


def _unknown_sections(data: dict[str, Any], model: type[InnovationProfile]) -> list[str]:
    """Top-level keys holding a mapping that are neither core nor plugin sections; any other
    unknown key is left for validation to name (as a misspelt field)."""
    fields = model.model_fields
    return [key for key, value in data.items() if key not in fields and isinstance(value, dict)]


def _unknown_section(key: str, document: Document | None, model: type[InnovationProfile]) -> str:
    _, message, line = _unknown_section_problem(key, document, model)
    where = f"line {line}: " if line else ""
    return f"{where}top level: {message}"


def _unknown_section_problem(
    key: str, document: Document | None, model: type[InnovationProfile]
) -> Problem:
    line = document.line_of((key,)) if document is not None else None
    fields = model.model_fields
    known = [name for name, spec in fields.items() if _is_model(unwrap(spec.annotation))]
    hint = did_you_mean(key, known)
    message = (
        f"section {key!r} is not part of the profile: it is not a core "
        "section and no installed plugin provides it" + (f"; {hint}" if hint else "")
    )
    return Problem(field_path((key,)), message, line)


# ---------------------------------------------------------------- version 1


# The one version-1 field with a new path, as `estimates` names it.
V1_SAMPLE_SIZE = "evidence.evaluations.sample_size"
V2_SAMPLE_SIZE = "evidence.evaluations.sample.individuals"
# Version-1 designs whose version-2 meaning is certain: (design, method).
V1_DESIGNS: dict[str, tuple[str, str | None]] = {
    "difference_in_differences": ("quasi_experimental", "difference_in_differences"),
    "quasi_random": ("quasi_experimental", None),  # regression discontinuity or an instrument
}
# Version-1 designs that cover two version-2 ones: read as unknown until someone says which.
V1_AMBIGUOUS_DESIGNS = {
    "user_feedback": "a one-off survey after the activity, or repeated surveys at intervals",
    "comparison_group": "a matched (or otherwise justified) comparison, or an unmatched one",
}


def version_of(data: dict[str, Any]) -> str:
    """'1' or '2'; version 1 when absent; any other value is left for validation to refuse."""
    version = data.get("schema_version", "1")
    return str(version) if version in (1, 2, "1", "2") else "invalid"


def read_version_1(data: dict[str, Any]) -> tuple[dict[str, Any], list[str] | None]:
    """A version-1 profile as version 2, and the paths of designs left unknown.

    The second value is None when version 1 and version 2 read the profile alike (nothing
    needed changing), so that no note is due.  The input is never changed.
    """
    data = {**data, "schema_version": SCHEMA_VERSION}
    estimates = data.get("estimates")
    renamed = False
    if isinstance(estimates, list) and V1_SAMPLE_SIZE in estimates:
        data["estimates"] = [V2_SAMPLE_SIZE if e == V1_SAMPLE_SIZE else e for e in estimates]
        renamed = True
    evidence = data.get("evidence")
    items = evidence.get("evaluations") if isinstance(evidence, dict) else None
    if not isinstance(evidence, dict) or not isinstance(items, list):
        return data, [] if renamed else None
    if not any(_is_version_1(item) for item in items):
        return data, [] if renamed else None
    unsettled: list[str] = []
    studies = [_study_as_version_2(item, n, unsettled) for n, item in enumerate(items, 1)]
    data["evidence"] = {**evidence, "evaluations": studies}
    return data, unsettled


def _is_version_1(item: object) -> bool:
    if not isinstance(item, dict):
        return False
    design = item.get("design")
    return "sample_size" in item or (isinstance(design, str) and design in _V1_ONLY)


_V1_ONLY = {*V1_DESIGNS, *V1_AMBIGUOUS_DESIGNS}


def _study_as_version_2(item: object, number: int, unsettled: list[str]) -> object:
    if not isinstance(item, dict):
        return item
    study = dict(item)
    if "sample_size" in study and "sample" not in study:
        study["sample"] = {"individuals": study.pop("sample_size")}
    design = study.get("design")
    if isinstance(design, str) and design in V1_DESIGNS:
        study["design"], method = V1_DESIGNS[design]
        if method and "method" not in study:
            study["method"] = method
    elif isinstance(design, str) and design in V1_AMBIGUOUS_DESIGNS:
        del study["design"]
        unsettled.append(f"evidence.evaluations.{number}.design ({design!r})")
    return study


def _version_1_note(source: str, unsettled: list[str], upgradable: bool) -> str:
    unknown = (
        f"; left unknown, as version 2 splits each in two: {', '.join(unsettled)}"
        if unsettled
        else ""
    )
    advice = (
        f"Run `scaleready profile upgrade {source}` to rewrite it as version 2."
        if upgradable
        else "Give schema_version 2 and a version-2 design (see `scaleready profile schema`)."
    )
    return (
        f'{source}: a version-1 profile (no schema_version: "2"), read as version 2 where the '
        f"meaning is certain{unknown}. {advice}"
    )


# ---------------------------------------------------------------- schema, template, catalogue


def profile_json_schema(model: type[InnovationProfile] | None = None) -> dict[str, Any]:
    """The JSON Schema of a profile (with ``model``'s plugin sections), for form builders."""
    schema = (model or InnovationProfile).model_json_schema()
    schema["$defs"] = dict(sorted(schema.get("$defs", {}).items()))
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def profile_template(model: type[InnovationProfile] | None = None) -> str:
    """A commented YAML template with every field (and every section of ``model``); it loads
    back as a valid profile."""
    header = (
        "# scaleready innovation profile. Leave a field empty if you do not know it:\n"
        "# empty means 'not answered', never zero. Write [] for a list whose answer is none.\n"
    )
    return header + "\n".join(_template_lines(model or InnovationProfile, "")) + "\n"


def _template_lines(model: type[BaseModel], indent: str) -> Iterator[str]:
    for name, spec in model.model_fields.items():
        yield from _comment(spec.description or "", indent)
        kind = unwrap(spec.annotation)
        item = _item_type(kind) if get_origin(kind) is list else None
        if _is_model(kind):
            yield f"{indent}{name}:"
            yield from _template_lines(kind, indent + "  ")
        elif get_origin(kind) is dict:  # metadata: the grant system's own keys
            yield f"{indent}{name}:  # your own keys, one 'key: value' per line below, indented"
        elif _is_model(item):
            yield f"{indent}{name}:  # a list: for each item, copy the lines below without '#'"
            yield from (f"{indent}#{line}" for line in _item_block(item, indent))
        else:
            value = _template_value(name, spec)
            yield f"{indent}{name}:{value}  # {_hint(kind, spec.examples)}"


def _template_value(name: str, spec: PydanticField) -> str:
    if spec.is_required():  # only the profile's name: a section's fields are all optional
        return ' "Name of the innovation"'
    return f' "{SCHEMA_VERSION}"' if name == "schema_version" else ""


def _item_block(model: type[BaseModel], indent: str) -> Iterator[str]:
    lines = list(_template_lines(model, indent + "    "))
    first = next(i for i, line in enumerate(lines) if not line.lstrip().startswith("#"))
    lines[first] = indent + "  - " + lines[first].lstrip()
    return (line[len(indent) :] for line in lines)


def _comment(text: str, indent: str) -> Iterator[str]:
    for line in textwrap.wrap(
        text, 96 - len(indent), break_on_hyphens=False, break_long_words=False
    ):
        yield f"{indent}# {line}"


def _hint(kind: Any, examples: list[Any] | None) -> str:
    if get_origin(kind) is list:
        inner = _item_type(kind)
        if get_origin(inner) is Literal:
            return "a list, each item one of: " + ", ".join(get_args(inner))
        return "a list of text, one '- ' item per line"
    if get_origin(kind) is Literal:
        return "one of: " + ", ".join(get_args(kind))
    names = {bool: "true or false", int: "a whole number", float: "a number", str: "text"}
    if examples and str(examples[0]).startswith("http"):
        names[str] = "a web address"
    example = f", e.g. {examples[0]}" if examples else ""
    return names[kind] + example


@dataclass(frozen=True)
class FieldInfo:
    """One field of a model as the rule compiler sees it (path without list indexes)."""

    path: str
    kind: str  # "number" | "string" | "boolean" | "list" | "object"
    description: str
    choices: tuple[str, ...] | None = None  # for enums, in declared order
    item_kind: str | None = None  # for lists: the kind of each item
    item: type[BaseModel] | None = None  # for lists of objects: the item model
    in_list: str | None = None  # for fields of list items: the path of the innermost list
    required: bool = False  # only a profile's name is
    whole: bool = False  # for numbers: True if only whole numbers are allowed
    minimum: float | None = None  # for numbers: the least allowed, if any
    maximum: float | None = None  # for numbers: the most allowed, if any
    filled_from: str | None = None  # the field whose value it takes when it has none of its own


def field_catalogue(model: type[BaseModel] = InnovationProfile) -> dict[str, FieldInfo]:
    """Every dotted field path of `model` (nested sections and list items too) -> FieldInfo."""
    return dict(_catalogue(model))


@functools.cache
def profile_fields() -> dict[str, FieldInfo]:
    """The profile's field catalogue, computed once and shared: read it, never change it."""
    return field_catalogue(InnovationProfile)


@functools.cache
def _catalogue(model: type[BaseModel]) -> tuple[tuple[str, FieldInfo], ...]:
    return tuple((info.path, info) for info in _walk(model, "", None))


def _walk(model: type[BaseModel], prefix: str, in_list: str | None) -> Iterator[FieldInfo]:
    for name, spec in model.model_fields.items():
        if not prefix and name in RULES_CANNOT_READ:
            continue  # outside the catalogue: no condition, column or gap can name it
        info = _field_info(prefix + name, spec, in_list)
        yield info
        annotation = unwrap(spec.annotation)
        if _is_model(annotation):
            yield from _walk(annotation, info.path + ".", in_list)
        elif info.item is not None:
            yield from _walk(info.item, info.path + ".", info.path)


def _field_info(path: str, spec: PydanticField, in_list: str | None) -> FieldInfo:
    annotation = unwrap(spec.annotation)
    kind, choices = _kind(annotation)
    item = _item_type(annotation) if kind == "list" else None
    item_kind, item_choices = _kind(item) if item is not None else (None, None)
    return FieldInfo(
        path,
        kind,
        spec.description or "",
        choices or item_choices,
        item_kind,
        item if _is_model(item) else None,
        in_list,
        required=spec.is_required(),
        whole=annotation is int,
        minimum=_bound(spec, "ge"),
        maximum=_bound(spec, "le"),
        filled_from=_FILLED_FROM.get(path),
    )


_OUTCOMES = "evidence.evaluations.outcomes."
_FILLED_FROM = {
    _OUTCOMES + name: "evidence.evaluations." + name for name in INHERITED_FROM_THE_STUDY
}


def _bound(spec: PydanticField, name: str) -> float | None:
    """A bound as pydantic keeps it in a field's metadata (an object with `ge` or `le`)."""
    return next((getattr(m, name) for m in spec.metadata if hasattr(m, name)), None)


def _kind(annotation: Any) -> tuple[str, tuple[str, ...] | None]:
    if get_origin(annotation) is Literal:
        return "string", get_args(annotation)
    if get_origin(annotation) is list:
        return "list", None
    if _is_model(annotation):
        return "object", None
    kinds = {bool: "boolean", int: "number", float: "number", str: "string"}
    if annotation not in kinds:
        raise TypeError(f"unsupported field type in a profile model: {annotation!r}")
    return kinds[annotation], None


def _item_type(annotation: Any) -> Any:
    return get_args(annotation)[0] if get_origin(annotation) is list else annotation


def _is_model(annotation: Any) -> TypeGuard[type[BaseModel]]:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


# ---------------------------------------------------------------- sections from plugins


@dataclass(frozen=True)
class SectionSpec:
    """A top-level section of the profile that a plugin provides, and whose it is."""

    name: str
    model: type[BaseModel]
    description: str
    plugin: str
    version: str | None = None


CORE_SECTIONS = frozenset(InnovationProfile.model_fields)  # names no plugin section may take


def section_problem(name: str, model: object) -> str | None:
    """What makes ``model`` unfit to be profile section ``name``, or None if it is fit.

    Its fields must be what conditions and columns can read (text, numbers, true/false, choices,
    lists, nested models), each optional (missing means not answered), and every model in it
    must refuse unknown keys, as the core profile's do.
    """
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return f"a section's model must be a pydantic model class, not {brief(model)}"
    try:
        fields = field_catalogue(model)
    except TypeError as error:
        return f"model {model.__name__}: {error}"
    loose = [m.__name__ for m in _models_in(model) if m.model_config.get("extra") != "forbid"]
    if loose:
        return (
            f"model {loose[0]} must refuse unknown keys: derive it from "
            "scaleready.ProfileSection (or set model_config = ConfigDict(extra='forbid'))"
        )
    required = [path for path, info in fields.items() if info.required]
    if required:
        return f"field {name}.{required[0]} must be optional (default None): empty means unknown"
    return None


def _models_in(model: type[BaseModel]) -> Iterator[type[BaseModel]]:
    yield model
    for spec in model.model_fields.values():
        inner = _item_type(unwrap(spec.annotation))
        if _is_model(inner):
            yield from _models_in(inner)


def profile_model_with(sections: Iterable[SectionSpec] = ()) -> type[InnovationProfile]:
    """The profile model with these plugin sections (InnovationProfile itself for none), built
    once for each set of sections; its fields join ``known_fields``."""
    model = _combined(tuple(sections))
    if model not in _joined:
        _joined.add(model)
        _known.update(field_catalogue(model))
    return model


@functools.cache
def _combined(sections: tuple[SectionSpec, ...]) -> type[InnovationProfile]:
    if not sections:
        return InnovationProfile  # the hot path of an engine without plugin sections is the core's
    fields: dict[str, Any] = {
        spec.name: (spec.model | None, Field(None, description=_section_description(spec)))
        for spec in sections
    }
    return create_model(  # a subclass: every function typed for InnovationProfile takes it
        "InnovationProfile", __base__=InnovationProfile, __module__=__name__, **fields
    )


def _section_description(spec: SectionSpec) -> str:
    version = f" {spec.version}" if spec.version else ""
    return f"{spec.description} (A section from plugin {spec.plugin!r}{version}.)"


# Every field of every profile model built in this process: the core's, then the sections'.
# It only grows, so that an engine's data gaps always find their fields, whatever other
# registries were loaded since.
_known: dict[str, FieldInfo] = field_catalogue(InnovationProfile)
_joined: set[type[BaseModel]] = {InnovationProfile}


def known_fields() -> Mapping[str, FieldInfo]:
    """The fields of the core profile and of the plugin sections of every profile model built
    in this process (``profile_model_with``): the columns a round may have, and the fields a
    scorecard's data gaps may name. A process normally loads one set of plugins; if it loads
    two whose sections share a field path, the one built last describes it. Read it, never
    change it (it is shared, and read on every data gap)."""
    return _known
