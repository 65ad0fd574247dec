"""Built-in plugin: the evidence-of-impact ruleset (Nesta Standards of Evidence as the ladder)."""

from __future__ import annotations

from scaleready.hookspecs import hookimpl
from scaleready_builtins import ruleset_path


@hookimpl
def register_rulesets(register):
    register(ruleset_path("evidence.yaml"))
