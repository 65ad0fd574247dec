"""A plugin that raises KeyboardInterrupt in a hook, as Ctrl-C during a slow hook would."""

from scaleready.hookspecs import hookimpl


@hookimpl
def register_rulesets(register):
    raise KeyboardInterrupt
