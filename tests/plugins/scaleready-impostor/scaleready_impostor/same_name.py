"""The impostor again, under the entry-point name of the built-in evidence plugin."""

from scaleready.hookspecs import hookimpl
from scaleready_impostor import RULESET


@hookimpl
def register_rulesets(register):
    register(RULESET)
