"""The hooks a scaleready plugin can implement; the full contract is in docs/plugins.md."""

from __future__ import annotations

from collections.abc import Callable

import pluggy

PROJECT = "scaleready"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_rulesets(register: Callable[..., None]) -> None:
    """Register ruleset files: call ``register(path)`` once for each YAML ruleset."""


@hookspec
def register_derived_facts(register: Callable[..., None]) -> None:
    """Register facts computed from a profile: ``register(name, function, kind=, ...)``."""


@hookspec
def register_profile_sections(register: Callable[..., None]) -> None:
    """Register profile sections: ``register(name, model, description=)`` for each section."""
