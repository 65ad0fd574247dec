"""Built-in plugin: the replicability ruleset (ISAT, Spring Impact, Nesta on codifying a model)."""

from __future__ import annotations

from scaleready.hookspecs import hookimpl
from scaleready_builtins import ruleset_path


@hookimpl
def register_rulesets(register):
    register(ruleset_path("replicability.yaml"))
