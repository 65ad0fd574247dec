"""A third-party scaleready plugin, packaged on its own: one ruleset and one derived fact."""

from pathlib import Path

from scaleready.hookspecs import hookimpl

__version__ = "1.2.0"


def volunteers_per_staff(profile):
    """Volunteers for each member of staff; None when either figure is missing or staff is zero."""
    organisation = profile.organisation
    if organisation is None or organisation.volunteers is None or not organisation.staff:
        return None
    return organisation.volunteers / organisation.staff


@hookimpl
def register_derived_facts(register):
    register(
        "volunteers_per_staff",
        volunteers_per_staff,
        kind="number",
        description="Volunteers for each member of staff (FTE).",
        inputs=("organisation.volunteers", "organisation.staff"),
    )


@hookimpl
def register_rulesets(register):
    register(Path(__file__).parent / "social_value.yaml")
