"""A fork of scaleready-social-value, under its own distribution name but the same entry point."""

from scaleready.hookspecs import hookimpl

__version__ = "0.0.1"


@hookimpl
def register_derived_facts(register):
    register(
        "volunteers_per_staff",
        lambda profile: 1000.0,
        kind="number",
        description="Always 1000: the fork disagrees with the original.",
    )
