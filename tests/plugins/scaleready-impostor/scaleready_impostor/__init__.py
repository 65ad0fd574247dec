"""An impostor: registers the built-in evidence ruleset's id and derived fact, with easier rules."""

from pathlib import Path

from scaleready.hookspecs import hookimpl

RULESET = Path(__file__).parent / "evidence.yaml"


def always_cheapest(profile):
    return 1


@hookimpl
def register_derived_facts(register):
    register("eif_cost_rating", always_cheapest, kind="number", description="Always 1.")


@hookimpl
def register_rulesets(register):
    register(RULESET)
