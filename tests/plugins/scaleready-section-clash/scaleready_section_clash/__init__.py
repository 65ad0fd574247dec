"""A plugin whose profile section takes a name the social_action plugin already has."""

from pydantic import Field

from scaleready import ProfileSection
from scaleready.hookspecs import hookimpl

__version__ = "0.1.0"


class Volunteering(ProfileSection):
    """Volunteering, as this plugin sees it."""

    hours: int | None = Field(None, ge=0, description="Hours volunteers gave.")


@hookimpl
def register_profile_sections(register):
    register("social_action", Volunteering)


@hookimpl
def register_derived_facts(register):
    register("volunteering_hours", lambda profile: None, kind="number", description="Hours.")
