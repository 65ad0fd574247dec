"""rulesets: list, show, validate, test and document the rulesets."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from scaleready.cli.base import (
    EXIT_CODES_HELP,
    EXIT_GATE_FAILED,
    check_each,
    distinct,
    nearest_config,
    registry_for,
    say,
    strict_plugins_option,
    tell,
)
from scaleready.errors import RulesetError

if TYPE_CHECKING:
    from scaleready.language.ruleset import Ruleset
    from scaleready.plugins import Registry


@click.group()
def rulesets():
    """List, show, validate, test and document rulesets."""


@rulesets.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@strict_plugins_option
@click.pass_context
def rulesets_list(ctx, as_json, strict_plugins):
    """List the installed rulesets, and whether each counts here (see --ruleset in assess)."""
    registry = registry_for(ctx, strict_plugins)
    counted = _counted_here(ctx, registry)
    rows = [
        {
            "id": rs.id,
            "version": rs.version,
            "title": rs.spec.title,
            "rules": len(rs.rules),
            "source": rs.source,
            "counts": rs.id in counted,
        }
        for rs in sorted(registry.rulesets.values(), key=lambda r: r.id)
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        counts = "" if row["counts"] else "  (not counted)"
        click.echo(
            f"{row['id']:<16} {row['version']:<8} {row['rules']:>3} rules  {row['title']}{counts}"
        )


def _counted_here(ctx: click.Context, registry: Registry) -> set[str]:
    """The rulesets that count in this folder without options: scaleready.toml's, else the
    default (its policy's choice too, if it names one)."""
    from scaleready.assessment.build import choose_rulesets
    from scaleready.assessment.policy import read_policy

    config = nearest_config(ctx)
    policy = read_policy(config.policy) if config and config.policy else None
    return set(choose_rulesets(registry, policy=policy, config=config).ids)


@rulesets.command("show")
@click.argument("ruleset_id")
@strict_plugins_option
@click.pass_context
def rulesets_show(ctx, ruleset_id, strict_plugins):
    """Show a ruleset's levels and rules, with each condition."""
    from scaleready.report import render

    registry = registry_for(ctx, strict_plugins)
    if ruleset_id not in registry.rulesets:
        message = _no_ruleset(ruleset_id, registry.rulesets, "no ruleset")
        raise click.BadParameter(message, param_hint="RULESET_ID")
    click.echo(render.ruleset_outline(registry.rulesets[ruleset_id]))
    for line in _facts_used_outline(registry.rulesets[ruleset_id], registry):
        click.echo(line)


def _facts_used_outline(ruleset: Ruleset, registry: Registry) -> list[str]:
    """The derived facts a ruleset's rules use, each with its description (and units)."""
    used = sorted({name for rule in ruleset.rules for name in rule.derived})
    if not used:
        return []
    lines = ["", "Computed facts the rules use:"]
    for name in used:
        fact = registry.derived_facts.get(name)
        about = f"({fact.kind}): {fact.description}" if fact else ": not registered"
        lines.append(f"  derived.{name} {about}")
    return lines


def _no_ruleset(ruleset_id: str, installed: Iterable[str], no: str = "no installed ruleset") -> str:
    """Why an id names no installed ruleset: the nearest id, else every installed one."""
    from scaleready.problems import did_you_mean

    known = sorted(installed)
    hint = did_you_mean(ruleset_id, known, otherwise=f"installed: {', '.join(known)}")
    return f"{no} {ruleset_id!r}; {hint}"


@rulesets.command("validate", epilog=EXIT_CODES_HELP)
@click.argument("targets", nargs=-1, required=True, metavar="ID|FILE...")
@click.option(
    "--plugin",
    "plugin_folders",
    multiple=True,
    type=click.Path(path_type=Path, exists=True, file_okay=False),
    help="A plugin's source folder (its pyproject.toml's), read instead of installed, so a "
    "ruleset can use its derived facts before it is installed. Repeatable.",
)
def rulesets_validate(targets, plugin_folders):
    """Check rulesets: format, field paths, references, rule references and condition types.

    A target is an installed ruleset id or a ruleset file; every problem of a file is listed
    at once, each with its line.

    \b
    Examples:
        scaleready rulesets validate evidence
        scaleready rulesets validate src/my_plugin/my_ruleset.yaml --plugin .
    """
    from scaleready.language.ruleset import load_ruleset
    from scaleready.plugins import load_registry, load_registry_with_sources

    registry = load_registry_with_sources(plugin_folders) if plugin_folders else load_registry()
    _warn_about_source_plugins(registry, plugin_folders)
    kinds, fields = registry.fact_kinds(), registry.fields()

    def check(target: str) -> str:
        path = _validate_target(registry, target)
        try:
            ruleset = load_ruleset(path, kinds, fields)
        except RulesetError as error:
            if "unknown derived fact" in error.message and not plugin_folders:
                error.message += (
                    "\n(a fact your own plugin registers is known before the plugin is "
                    "installed if you give its folder: --plugin PATH)"
                )
            raise
        return f"{ruleset.id} {ruleset.version}, {len(ruleset.rules)} rules"

    check_each(targets, check)


def _validate_target(registry: Registry, target: str) -> Path:
    """The file of an installed ruleset id, or the file given; RulesetError if neither."""
    if target in registry.rulesets:
        return Path(registry.rulesets[target].source)
    if Path(target).exists() or any(sep in target for sep in ("/", "\\", ".yaml", ".yml")):
        return Path(target)  # a file, read (and any problem reading it named) by the loader
    raise RulesetError(_no_ruleset(target, registry.rulesets) + "; or give a ruleset file")


def _warn_about_source_plugins(registry: Registry, folders: Sequence[Path]) -> None:
    """Why a plugin was skipped, when plugins are read from source folders: that is what is
    being worked on. (An invalid ruleset's problems are the ones validating it reports.)"""
    if not folders:
        return
    from scaleready.scaffold import packaging_problems

    for problem in distinct(p for p in registry.problems if p.plugin in registry.skipped):
        say(f"warning: {problem}")
    for folder in folders:
        for problem in packaging_problems(folder):
            say(f"warning: {problem}")


@rulesets.command("test", epilog=EXIT_CODES_HELP)
@click.argument("targets", nargs=-1, metavar="[ID|FILE]...")
@click.option(
    "--require-coverage",
    is_flag=True,
    help="Also fail unless every rule passes and fails in a case and levels 0-5 are all expected.",
)
@strict_plugins_option
@click.pass_context
def rulesets_test(ctx, targets, require_coverage, strict_plugins):
    """Run rulesets' test cases (x.tests.yaml beside x.yaml) through every backend.

    With no arguments, tests every installed ruleset that ships cases. A target is an installed
    ruleset id, a ruleset file, or a tests file. Exit 1 if a case fails.

    \b
    Examples:
        scaleready rulesets test
        scaleready rulesets test evidence
        scaleready rulesets test my-ruleset.yaml --require-coverage
    """
    from scaleready.assessment import ruleset_cases

    registry = registry_for(ctx, strict_plugins)
    failed = 0
    for ruleset, cases_file in _test_targets(registry, targets):
        cases = ruleset_cases.load_cases(cases_file, ruleset)
        sections = list(registry.sections.values())
        results = ruleset_cases.run_cases(ruleset, cases, registry.derived_facts, sections)
        failed += _report_cases(ruleset, cases_file, results)
        gaps = _report_coverage(ruleset_cases.coverage(ruleset, cases))
        failed += int(require_coverage and gaps)
    if failed:
        click.get_current_context().exit(EXIT_GATE_FAILED)


def _test_targets(registry: Registry, targets: Sequence[str]) -> list[tuple[Ruleset, Path]]:
    """(ruleset, tests file) for each target, or for every installed ruleset with cases."""
    from scaleready.assessment.ruleset_cases import tests_file_for

    if targets:
        return [_test_target(registry, target) for target in targets]
    installed = sorted(registry.rulesets.values(), key=lambda r: r.id)
    pairs = [(ruleset, tests_file_for(ruleset.source)) for ruleset in installed]
    return [(ruleset, cases) for ruleset, cases in pairs if cases.is_file()]


def _test_target(registry: Registry, target: str) -> tuple[Ruleset, Path]:
    """The ruleset a target names and its tests file; a target without cases is an input error."""
    from scaleready.assessment.ruleset_cases import tests_file_for

    ruleset = _target_ruleset(registry, target)
    cases_file = tests_file_for(ruleset.source)
    if not cases_file.is_file():
        raise RulesetError(f"ruleset {ruleset.id!r} has no test cases; write them in {cases_file}")
    return ruleset, cases_file


def _target_ruleset(registry: Registry, target: str) -> Ruleset:
    """An installed ruleset by id, or the ruleset in a file (or beside its tests file)."""
    from scaleready.assessment.ruleset_cases import TESTS_SUFFIX, ruleset_file_for
    from scaleready.language.ruleset import load_ruleset
    from scaleready.problems import did_you_mean

    if target in registry.rulesets:
        return registry.rulesets[target]
    if not Path(target).is_file():
        installed = ", ".join(sorted(registry.rulesets))
        message = f"{target!r} is neither an installed ruleset ({installed}) nor a file"
        hint = did_you_mean(target, registry.rulesets)
        raise RulesetError(f"{message}; {hint}" if hint else message)
    path = ruleset_file_for(target) if target.endswith(TESTS_SUFFIX) else Path(target)
    return load_ruleset(path, registry.fact_kinds(), registry.fields())


def _report_cases(ruleset, cases_file, results) -> int:
    failed = [result for result in results if not result.passed]
    click.echo(f"{ruleset.id} {ruleset.version} ({cases_file}): {len(results)} cases")
    for result in results:
        click.echo(f"  {'✓' if result.passed else '✗'} {result.case.name}")
        for problem in result.problems:
            click.echo(f"      {problem}")
    click.echo(f"  {len(results) - len(failed)} passed, {len(failed)} failed")
    return len(failed)


def _report_coverage(found) -> bool:
    """Print what the cases leave untested; True if anything is."""
    if found.complete:
        click.echo(
            "  coverage: every rule passes and fails in some case; levels 0-5 are all expected"
        )
        return False
    for label, items in (
        ("never expected to pass", found.never_pass),
        ("never expected to fail", found.never_fail),
        ("levels no case expects", found.levels_untested),
    ):
        if items:
            click.echo(f"  coverage gap: {label}: {', '.join(map(str, items))}")
    return True


@rulesets.command("docs", epilog=EXIT_CODES_HELP)
@click.argument("ruleset_ids", nargs=-1, metavar="[ID]...")
@click.option(
    "--output",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder to write one Markdown page per ruleset into (ID.md), made if need be. "
    "Without it, the page of the one ruleset named is printed.",
)
@strict_plugins_option
@click.pass_context
def rulesets_docs(ctx, ruleset_ids, output, strict_plugins):
    """Write Markdown documentation of rulesets: levels, every rule in plain words, the
    computed facts the rules use (with their units), and references.

    \b
    Examples:
        scaleready rulesets docs evidence > evidence.md
        scaleready rulesets docs --output site/rulesets
    """
    from scaleready.report.ruleset_docs import ruleset_markdown

    registry = registry_for(ctx, strict_plugins)
    chosen = list(ruleset_ids) or sorted(registry.rulesets)
    for ruleset_id in chosen:
        if ruleset_id not in registry.rulesets:
            raise RulesetError(_no_ruleset(ruleset_id, registry.rulesets))
    if output is None and len(chosen) != 1:
        raise click.UsageError(
            f"{len(chosen)} rulesets make {len(chosen)} pages: give --output DIR to write them "
            "into a folder, or name one ruleset to print its page"
        )
    for ruleset_id in chosen:
        page = ruleset_markdown(registry.rulesets[ruleset_id], registry.derived_facts)
        target = None if output is None else output / f"{ruleset_id}.md"
        _write(page, target)
        if target is not None:
            tell(f"wrote {target}")


def _write(text: str, output: Path | None) -> None:
    """Print, or write the file whole (never half-written)."""
    from scaleready.report import outputs

    if output is None:
        click.echo(text, nl=False)
    else:
        outputs.write_text(output, text)
