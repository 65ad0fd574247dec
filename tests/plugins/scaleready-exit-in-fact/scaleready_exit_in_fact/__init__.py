"""A plugin whose derived fact ends the process."""

import sys
from pathlib import Path

from scaleready.hookspecs import hookimpl


def exits(profile):
    sys.exit(0)


@hookimpl
def register_derived_facts(register):
    register("exits", exits, kind="number", description="Calls sys.exit(0).")


@hookimpl
def register_rulesets(register):
    register(Path(__file__).parent / "exiting.yaml")
