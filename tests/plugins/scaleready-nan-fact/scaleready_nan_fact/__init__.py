"""A plugin whose derived facts return numbers the rules engine cannot read: NaN and infinity."""

from pathlib import Path

from scaleready.hookspecs import hookimpl


@hookimpl
def register_derived_facts(register):
    register("not_a_number", lambda profile: float("nan"), kind="number", description="NaN.")
    register("infinite", lambda profile: float("inf"), kind="number", description="Infinity.")


@hookimpl
def register_rulesets(register):
    register(Path(__file__).parent / "non_finite.yaml")
