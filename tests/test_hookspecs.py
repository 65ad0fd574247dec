"""The hooks page stays in step with the hookspecs."""

from __future__ import annotations

import inspect

from scaleready import hookspecs
from tests.conftest import REPO

HOOKS = [
    name
    for name, f in inspect.getmembers(hookspecs, inspect.isfunction)
    if hasattr(f, "scaleready_spec")
]


def test_there_are_hooks_to_document():
    assert HOOKS == ["register_derived_facts", "register_profile_sections", "register_rulesets"]


def test_every_hook_is_documented_with_its_signature_and_docstring():
    page = (REPO / "docs" / "plugins.md").read_text(encoding="utf-8")
    for name in HOOKS:
        spec = getattr(hookspecs, name)
        parameters = ", ".join(inspect.signature(spec).parameters)
        assert f"### `{name}({parameters})`" in page, name
        assert inspect.getdoc(spec).replace("``", "`") in page, name
