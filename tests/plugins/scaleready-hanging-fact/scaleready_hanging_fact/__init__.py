"""A plugin whose derived fact never returns: a Python loop that never lets go of the processor."""

from pathlib import Path

from scaleready.hookspecs import hookimpl


def never_returns(profile):
    while True:
        pass


@hookimpl
def register_derived_facts(register):
    register("never_returns", never_returns, kind="number", description="Never returns.")


@hookimpl
def register_rulesets(register):
    register(Path(__file__).parent / "hanging.yaml")
