"""A plugin that ends the process in its register_rulesets hook."""

import sys

from scaleready.hookspecs import hookimpl


@hookimpl
def register_rulesets(register):
    sys.exit(0)
