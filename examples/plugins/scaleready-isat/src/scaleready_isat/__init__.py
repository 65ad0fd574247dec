"""ISAT: a scaleready plugin for the Intervention Scalability Assessment Tool (Milat et al. 2020).

It brings its own profile section, `isat`, for the five ISAT domains the core profile lacks
(strategic and political context, reach and acceptability, delivery setting and workforce,
implementation infrastructure, sustainability), and a ruleset, `isat`, that reads it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal

from pydantic import Field

from scaleready import ProfileSection, hookimpl

__version__ = "0.1.0"

# The plugin API this plugin is built for; scaleready skips, naming it, a plugin built for
# another (see `scaleready plugins`).
SCALEREADY_PLUGIN_API = 1

HERE = Path(__file__).parent


class StrategicContext(ProfileSection):
    """ISAT domain A3: the strategic and political context of the scale-up."""

    policy_alignment: Literal["none", "partial", "explicit"] | None = Field(
        None,
        description=(
            "How far scaling it up serves a stated priority of government or of the body that "
            "would pay for it: none; partial (a related priority); explicit (named in, or "
            "directly serving, a published strategy or plan)."
        ),
    )
    political_support: Literal["opposed", "neutral", "supportive", "championed"] | None = Field(
        None,
        description=(
            "Stance of the decision makers whose support scale-up needs: opposed, neutral, "
            "supportive, or championed (a named senior person is pressing for it)."
        ),
    )


class ReachAcceptability(ProfileSection):
    """ISAT domain B2: the likely reach and acceptability of it for the target population."""

    reaches_target_group: bool | None = Field(
        None,
        description=(
            "True if the people it reaches now are mainly the target population it is meant "
            "for, including those hardest to reach."
        ),
    )
    acceptability_share: float | None = Field(
        None,
        ge=0,
        le=1,
        description=(
            "Share of participants who rated it acceptable (satisfied, would recommend it) in "
            "a survey or evaluation. A fraction from 0 to 1 (0.8 = 80%)."
        ),
        examples=[0.8],
    )


class DeliveryWorkforce(ProfileSection):
    """ISAT domain B3: the setting it is delivered in and the workforce that delivers it."""

    existing_settings: bool | None = Field(
        None,
        description=(
            "True if it can be delivered at scale in settings that already exist (schools, "
            "clinics, community venues, online), without building new ones."
        ),
    )
    workforce: Literal["existing", "existing_with_training", "new_roles"] | None = Field(
        None,
        description=(
            "Who would deliver it at scale: an existing workforce as it is, an existing "
            "workforce after training, or new roles that must be recruited."
        ),
    )
    workforce_capacity: bool | None = Field(
        None,
        description=(
            "True if that workforce has the time to deliver it at the scale intended, on "
            "top of its current work."
        ),
    )


class ImplementationInfrastructure(ProfileSection):
    """ISAT domain B4: the infrastructure that scale-up needs."""

    governance: bool | None = Field(
        None,
        description="True if a named body (a steering group or board) governs the scale-up.",
    )
    implementation_plan: bool | None = Field(
        None,
        description="True if there is a written scale-up plan with timelines and who does what.",
    )
    implementation_support: bool | None = Field(
        None,
        description=(
            "True if a central team gives new sites technical support (coaching, help desk, "
            "materials) while they start."
        ),
    )
    scale_up_evaluation: bool | None = Field(
        None,
        description="True if the scale-up itself is to be monitored and evaluated, with a budget.",
    )


class Sustainability(ProfileSection):
    """ISAT domain B5: how it could be sustained over the medium to longer term."""

    funding: Literal["none", "time_limited", "recurrent"] | None = Field(
        None,
        description=(
            "Funding for delivery after the scale-up: none yet; time-limited (a grant or "
            "contract with an end date); recurrent (in a budget renewed each year)."
        ),
    )
    funded_years: int | None = Field(
        None,
        ge=0,
        le=50,
        description="Years of delivery funding secured from now. In years.",
        examples=[3],
    )
    embedded: bool | None = Field(
        None,
        description=(
            "True if it is written into a policy, a service specification or routine practice, "
            "so that it would continue without its founders."
        ),
    )


class Isat(ProfileSection):
    """The Intervention Scalability Assessment Tool's domains that the core profile lacks."""

    context: StrategicContext | None = Field(
        None, description="ISAT A3: strategic and political context."
    )
    reach: ReachAcceptability | None = Field(None, description="ISAT B2: reach and acceptability.")
    delivery: DeliveryWorkforce | None = Field(
        None, description="ISAT B3: delivery setting and workforce."
    )
    infrastructure: ImplementationInfrastructure | None = Field(
        None, description="ISAT B4: implementation infrastructure."
    )
    sustainability: Sustainability | None = Field(None, description="ISAT B5: sustainability.")


@hookimpl
def register_profile_sections(register: Callable[..., None]) -> None:
    register("isat", Isat)


@hookimpl
def register_rulesets(register: Callable[..., None]) -> None:
    register(HERE / "isat.yaml")
