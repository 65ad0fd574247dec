"""Built-in plugin: the replicability ruleset (ISAT, Spring Impact, Nesta on codifying a model)."""

from __future__ import annotations

from collections.abc import Callable

from scaleready.hookspecs import hookimpl
from scaleready_builtins import ruleset_path


@hookimpl
def register_rulesets(register: Callable[..., None]) -> None:
    register(ruleset_path("replicability.yaml"))
