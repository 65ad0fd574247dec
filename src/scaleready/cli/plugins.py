"""plugins and plugin new: what is installed, and a plugin of your own started."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from scaleready.cli.base import (
    EXIT_CODES_HELP,
    is_strict,
    refuse_plugin_problems,
    strict_plugins_option,
    tell,
)

if TYPE_CHECKING:
    from scaleready.plugins import Registry


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@strict_plugins_option
@click.pass_context
def plugins(ctx, as_json, strict_plugins):
    """List installed plugins, what each provides, and any that failed to load."""
    from scaleready.plugins import load_registry
    from scaleready.report import render

    registry = load_registry()
    if is_strict(ctx, strict_plugins) and registry.problems:
        refuse_plugin_problems(ctx, registry)
    infos = sorted(registry.plugins.values(), key=lambda i: (not i.builtin, i.name))
    if as_json:
        click.echo(json.dumps([_plugin_json(info, registry) for info in infos], indent=2))
        return
    for info in infos:
        click.echo(render.plugin_line(info))
        for line in _fact_descriptions(info, registry):
            click.echo(line)


def _fact_descriptions(info: Any, registry: Registry) -> list[str]:
    """A plugin's derived facts, one a line, each with its kind and description (and units)."""
    facts = [registry.derived_facts[name] for name in info.derived_facts]
    return [f"    derived.{fact.name} ({fact.kind}): {fact.description}" for fact in facts]


def _plugin_json(info: Any, registry: Registry) -> dict[str, Any]:
    """A plugin as `plugins --json` shows it: its fields, and what each derived fact is."""
    facts = [registry.derived_facts[name] for name in info.derived_facts]
    described = [
        {"name": f.name, "kind": f.kind, "description": f.description, "inputs": list(f.inputs)}
        for f in facts
    ]
    return {**vars(info), "derived_fact_descriptions": described}


@click.group()
def plugin():
    """Start a plugin of your own: a ruleset, its test cases and a derived fact, packaged."""


@plugin.command("new", epilog=EXIT_CODES_HELP)
@click.argument("name")
@click.option(
    "--directory",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder to write the plugin into (new or empty) [default: ./scaleready-NAME].",
)
def plugin_new(name, directory):
    """Write a plugin package that installs and passes its own tests as written.

    NAME is lower-case words joined by - or _ (e.g. social-action): the package is
    scaleready-NAME, its ruleset id and entry point NAME with _ for -.

    \b
    Example:
        scaleready plugin new social-action
        cd scaleready-social-action && pip install -e ".[test]" && pytest
    """
    from scaleready import scaffold

    names = scaffold.plugin_names(name)
    target = directory or scaffold.default_directory(names)
    for path in scaffold.write_plugin(names, target):
        tell(f"wrote {path}")
    tell(f'next: cd {target} && pip install -e ".[test]" && pytest')
