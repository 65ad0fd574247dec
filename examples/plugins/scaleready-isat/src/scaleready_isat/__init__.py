"""Isat: a scaleready plugin with one ruleset and one derived fact."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from scaleready import hookimpl

__version__ = "0.1.0"

# The plugin API this plugin is built for; scaleready skips, naming it, a plugin built for
# another (see `scaleready plugins`).
SCALEREADY_PLUGIN_API = 1

HERE = Path(__file__).parent


def isat_volunteers_per_staff(profile) -> float | None:
    """Volunteers for each member of paid staff; None when either figure is missing or there is
    no paid staff (the rules that use it are then unknown, never failed)."""
    organisation = profile.organisation
    if organisation is None or organisation.volunteers is None or not organisation.staff:
        return None
    return organisation.volunteers / organisation.staff


@hookimpl
def register_derived_facts(register: Callable[..., None]) -> None:
    register(
        "isat_volunteers_per_staff",
        isat_volunteers_per_staff,
        kind="number",
        description="Volunteers for each member of paid staff (volunteers per full-time post)",
        inputs=("organisation.volunteers", "organisation.staff"),
    )


@hookimpl
def register_rulesets(register: Callable[..., None]) -> None:
    register(HERE / "isat.yaml")


# PROFILE SECTION: a plugin can bring its own section of the profile (data the core profile
# lacks) through a hook here; see docs/plugins.md of scaleready for how.
