"""A third-party plugin that brings its own profile section (social action), a derived fact
that reads it, and a ruleset whose conditions read it."""

from pathlib import Path
from typing import Literal

from pydantic import Field

from scaleready import ProfileSection
from scaleready.hookspecs import hookimpl

__version__ = "0.3.0"


class Safeguarding(ProfileSection):
    """How volunteers and the people they help are kept safe."""

    policy: bool | None = Field(
        None, description="True if there is a written safeguarding policy, reviewed yearly."
    )
    checks: Literal["none", "some", "all"] | None = Field(
        None, description="Volunteers in regulated roles with a criminal record (DBS) check."
    )
    lead_trained: bool | None = Field(
        None, description="True if a named safeguarding lead has had training."
    )


class VolunteerRole(ProfileSection):
    """One kind of role volunteers take."""

    role: str | None = Field(None, description="The role, e.g. 'peer mentor'.")
    hours_per_month: float | None = Field(
        None, ge=0, description="Hours a volunteer gives in a month.", examples=[6]
    )
    supervised: bool | None = Field(None, description="True if the role has regular supervision.")


class SocialAction(ProfileSection):
    """People giving time to help others: how much, for how long, and how safely."""

    volunteer_hours: int | None = Field(
        None, ge=0, description="Hours volunteers gave in the figures year.", examples=[5200]
    )
    retention: float | None = Field(
        None,
        ge=0,
        le=1,
        description="Share of volunteers still active 12 months after starting (0.6 = 60%).",
        examples=[0.6],
    )
    beneficiaries_become_volunteers: bool | None = Field(
        None, description="True if people who were helped go on to help others."
    )
    co_production: Literal["none", "consulted", "involved", "co_designed", "co_led"] | None = Field(
        None, description="How far the people served shape the service."
    )
    safeguarding: Safeguarding | None = Field(None, description="Safeguarding arrangements.")
    roles: list[VolunteerRole] | None = Field(
        None, max_length=50, description="Volunteer roles, one item per kind of role."
    )


def hours_per_volunteer(profile):
    """Volunteer hours for each active volunteer; None when either figure is missing."""
    section, organisation = profile.social_action, profile.organisation
    if section is None or section.volunteer_hours is None:
        return None
    if organisation is None or not organisation.volunteers:
        return None
    return section.volunteer_hours / organisation.volunteers


@hookimpl
def register_profile_sections(register):
    register("social_action", SocialAction)


@hookimpl
def register_derived_facts(register):
    register(
        "hours_per_volunteer",
        hours_per_volunteer,
        kind="number",
        description="Volunteer hours a year for each active volunteer.",
        inputs=("social_action.volunteer_hours", "organisation.volunteers"),
    )


@hookimpl
def register_rulesets(register):
    register(Path(__file__).parent / "social_action.yaml")
