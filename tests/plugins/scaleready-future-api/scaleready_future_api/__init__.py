"""A plugin built for plugin API 99: scaleready must skip it, saying so, and call none of it."""

from scaleready.hookspecs import hookimpl

__version__ = "3.0.0"
SCALEREADY_PLUGIN_API = 99


@hookimpl
def register_derived_facts(register):
    register("from_the_future", lambda profile: 1, kind="number", description="Never registered")
