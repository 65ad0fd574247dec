"""A plugin whose register_rulesets hook never returns."""

import threading

from scaleready.hookspecs import hookimpl


@hookimpl
def register_rulesets(register):
    threading.Event().wait()  # nothing ever sets it
