"""The scaleready command line: thin commands over the library.

Exit codes (a contract): 0 done, 1 gate failed (--fail-under), 2 usage error, 3 invalid input
(profile, ruleset), 4 plugin or internal error.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from scaleready import __version__, outputs, render, ruleset_tests
from scaleready.engine import BACKENDS, create_engine
from scaleready.errors import RulesetError, ScaleReadyError
from scaleready.plugins import load_registry
from scaleready.profile import load_profile_with_hash, profile_json_schema, profile_template
from scaleready.rules import condition_text, load_ruleset
from scaleready.ruleset_docs import ruleset_markdown
from scaleready.scorecard import scorecard_json_schema

EXIT_GATE_FAILED = 1
EXIT_INVALID_INPUT = 3
EXIT_INTERNAL = 4
EXIT_CODES_HELP = (
    "\b\nExit codes: 0 done, 1 gate failed (--fail-under), 2 usage error,\n"
    "3 invalid input (profile, ruleset), 4 plugin or internal error."
)


class _Commands(click.Group):
    """Turns scaleready's errors into a message and the documented exit code, never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except ScaleReadyError as error:
            click.echo(f"error: {error}", err=True)
            ctx.exit(error.exit_code)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as error:  # a bug: say so plainly, keep the exit code contract
            if os.environ.get("SCALEREADY_DEBUG"):
                raise
            click.echo(
                f"internal error: {type(error).__name__}: {error} "
                "(set SCALEREADY_DEBUG=1 for details)",
                err=True,
            )
            ctx.exit(EXIT_INTERNAL)


@click.group(cls=_Commands, epilog=EXIT_CODES_HELP)
@click.version_option(__version__, prog_name="scaleready")
@click.option("--strict-plugins", is_flag=True, help="Fail (exit 4) if any plugin fails to load.")
@click.pass_context
def cli(ctx: click.Context, strict_plugins: bool) -> None:
    """Is this social innovation ready to scale? Explained scorecards for funders.

    \b
    Example:
        scaleready assess examples/code-club.yaml
    """
    ctx.obj = {"strict_plugins": strict_plugins}


def strict_plugins_option(command):
    return click.option(
        "--strict-plugins", is_flag=True, help="Fail (exit 4) if any plugin fails to load."
    )(command)


def _engine(ctx: click.Context, strict: bool, **options):
    engine, registry = create_engine(strict_plugins=strict or ctx.obj["strict_plugins"], **options)
    _warn_about(registry)
    return engine


def _warn_about(registry) -> None:
    for problem in registry.problems:
        click.echo(f"warning: {problem} (skipped; --strict-plugins makes this an error)", err=True)


def _write(text: str, output: Path | None) -> None:
    """Print, or write the file whole (never half-written)."""
    if output is None:
        click.echo(text, nl=False)
    else:
        outputs.write_text(output, text)


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("profiles", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--ruleset",
    "rulesets",
    multiple=True,
    metavar="ID",
    help="Assess only these dimensions (repeatable).",
)
@click.option(
    "--rules",
    "rule_files",
    multiple=True,
    type=click.Path(path_type=Path),
    metavar="FILE",
    help="Also use this ruleset file (repeatable); it replaces an installed one of the same id.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(render.FORMATS),
    default="table",
    show_default=True,
)
@click.option(
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write to FILE instead of the terminal.",
)
@click.option(
    "--fail-under",
    type=click.FloatRange(0, 100),
    metavar="SCORE",
    help="Exit 1 if any profile's overall score is below SCORE.",
)
@click.option(
    "--backend",
    type=click.Choice(BACKENDS),
    default="auto",
    show_default=True,
    help="durable_rules, or the plain-Python evaluator.",
)
@strict_plugins_option
@click.pass_context
def assess(
    ctx, profiles, rulesets, rule_files, output_format, output, fail_under, backend, strict_plugins
):
    """Assess innovation profiles and print their scale-readiness scorecards.

    \b
    Examples:
        scaleready assess examples/code-club.yaml
        scaleready assess a.yaml b.json --format json --output cards.json
        scaleready assess a.yaml --ruleset evidence --fail-under 60

    A bad profile is reported and the others are still assessed (exit 3).
    """
    engine = _engine(ctx, strict_plugins, rulesets=rulesets, rule_files=rule_files, backend=backend)
    cards, failed = [], 0
    for path in profiles:
        try:
            profile, digest = load_profile_with_hash(path)
        except ScaleReadyError as error:
            click.echo(f"error: {error}", err=True)
            failed += 1
            continue
        cards.append(engine.assess(profile, source=str(path), profile_sha256=digest))
    if cards:
        _write(render.render(cards, output_format), output)
    if failed:
        ctx.exit(EXIT_INVALID_INPUT)
    if fail_under is not None and any(card.overall.score < fail_under for card in cards):
        below = [card.profile.name for card in cards if card.overall.score < fail_under]
        click.echo(
            f"gate failed: overall score below {fail_under:g} for {', '.join(below)}", err=True
        )
        ctx.exit(EXIT_GATE_FAILED)


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("profile", type=click.Path(path_type=Path))
@click.argument("rule")
@click.option(
    "--rules",
    "rule_files",
    multiple=True,
    type=click.Path(path_type=Path),
    metavar="FILE",
    help="Also use this ruleset file.",
)
@strict_plugins_option
@click.pass_context
def explain(ctx, profile, rule, rule_files, strict_plugins):
    """Show why a rule passed, failed or is unknown for a profile.

    RULE is a rule id, or ruleset.rule where two rulesets share an id.

    \b
    Example:
        scaleready explain examples/code-club.yaml evidence.causal_design
    """
    engine = _engine(ctx, strict_plugins, rule_files=rule_files, backend="python")
    loaded, _ = load_profile_with_hash(profile)
    click.echo(render.explanation(engine.explain(loaded, rule)), nl=False)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@strict_plugins_option
@click.pass_context
def plugins(ctx, as_json, strict_plugins):
    """List installed plugins, what each provides, and any that failed to load."""
    registry = load_registry()
    if strict_plugins or ctx.obj["strict_plugins"]:
        for problem in registry.problems:
            raise problem
    listing = [vars(info) for info in sorted(registry.plugins.values(), key=lambda i: i.name)]
    if as_json:
        click.echo(json.dumps(listing, indent=2))
        return
    for info in listing:
        status = f"  FAILED: {info['error']}" if info["error"] else ""
        provides = ", ".join(
            info["rulesets"] + [f"derived.{name}" for name in info["derived_facts"]]
        )
        click.echo(f"{info['name']} {info['version'] or ''}: {provides or 'nothing'}{status}")


@cli.group()
def rulesets():
    """List, show and validate rulesets."""


@rulesets.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def rulesets_list(as_json):
    """List the installed rulesets."""
    registry = load_registry()
    _warn_about(registry)
    rows = [
        {
            "id": rs.id,
            "version": rs.version,
            "title": rs.spec.title,
            "rules": len(rs.rules),
            "source": rs.source,
        }
        for rs in sorted(registry.rulesets.values(), key=lambda r: r.id)
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        click.echo(f"{row['id']:<16} {row['version']:<8} {row['rules']:>3} rules  {row['title']}")


@rulesets.command("show")
@click.argument("ruleset_id")
def rulesets_show(ruleset_id):
    """Show a ruleset's levels and rules, with each condition."""
    registry = load_registry()
    if ruleset_id not in registry.rulesets:
        known = ", ".join(sorted(registry.rulesets))
        raise click.BadParameter(
            f"no ruleset {ruleset_id!r}; installed: {known}", param_hint="RULESET_ID"
        )
    ruleset = registry.rulesets[ruleset_id]
    spec = ruleset.spec
    lines = [f"{spec.title} ({spec.id} {spec.version})", spec.summary, ""]
    lines += [f"  Level {level}: {meaning}" for level, meaning in sorted(spec.levels.items())]
    for rule in ruleset.rules:
        lines += ["", f"[L{rule.level}] {rule.id}: {rule.spec.title} (weight {rule.spec.weight:g})"]
        if rule.spec.applies_when:
            lines.append(f"    applies when: {rule.spec.applies_when}")
        lines.append(f"    condition:    {condition_text(rule)}")
    click.echo("\n".join(lines))


@rulesets.command("validate", epilog=EXIT_CODES_HELP)
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def rulesets_validate(files):
    """Check ruleset files: format, field paths, rule references and condition types."""
    kinds = load_registry().fact_kinds()

    def check(path: Path) -> str:
        ruleset = load_ruleset(path, kinds)
        return f"{ruleset.id} {ruleset.version}, {len(ruleset.rules)} rules"

    _check_each(files, check)


def _check_each(files, check) -> None:
    """Report each file as ok or with its error; exit 3 at the end if any was invalid."""
    failed = 0
    for path in files:
        try:
            click.echo(f"ok: {path} ({check(path)})")
        except ScaleReadyError as error:
            click.echo(f"error: {error}", err=True)
            failed += 1
    if failed:
        click.get_current_context().exit(EXIT_INVALID_INPUT)


@rulesets.command("test", epilog=EXIT_CODES_HELP)
@click.argument("targets", nargs=-1, metavar="[ID|FILE]...")
@click.option(
    "--require-coverage",
    is_flag=True,
    help="Also fail unless every rule passes and fails in a case and levels 0-5 are all expected.",
)
def rulesets_test(targets, require_coverage):
    """Run rulesets' test cases (x.tests.yaml beside x.yaml) through every backend.

    With no arguments, tests every installed ruleset that ships cases. A target is an installed
    ruleset id, a ruleset file, or a tests file. Exit 1 if a case fails.

    \b
    Examples:
        scaleready rulesets test
        scaleready rulesets test evidence
        scaleready rulesets test my-ruleset.yaml --require-coverage
    """
    registry = load_registry()
    _warn_about(registry)
    failed = 0
    for ruleset, cases_file in _test_targets(registry, targets):
        cases = ruleset_tests.load_cases(cases_file, ruleset)
        results = ruleset_tests.run_cases(ruleset, cases, registry.derived_facts)
        failed += _report_cases(ruleset, cases_file, results)
        gaps = _report_coverage(ruleset_tests.coverage(ruleset, cases))
        failed += int(require_coverage and gaps)
    if failed:
        click.get_current_context().exit(EXIT_GATE_FAILED)


def _test_targets(registry, targets):
    """(ruleset, tests file) for each target; a target without cases is an input error."""
    if not targets:
        chosen = [
            rs
            for rs in sorted(registry.rulesets.values(), key=lambda r: r.id)
            if ruleset_tests.tests_file_for(rs.source).is_file()
        ]
        return [(rs, ruleset_tests.tests_file_for(rs.source)) for rs in chosen]
    pairs = []
    for target in targets:
        if target in registry.rulesets:
            ruleset = registry.rulesets[target]
        elif not Path(target).is_file():
            installed = ", ".join(sorted(registry.rulesets))
            message = f"{target!r} is neither an installed ruleset ({installed}) nor a file"
            raise RulesetError(message)
        elif target.endswith(ruleset_tests.TESTS_SUFFIX):
            ruleset = load_ruleset(ruleset_tests.ruleset_file_for(target), registry.fact_kinds())
        else:
            ruleset = load_ruleset(Path(target), registry.fact_kinds())
        cases_file = ruleset_tests.tests_file_for(ruleset.source)
        if not cases_file.is_file():
            raise RulesetError(
                f"ruleset {ruleset.id!r} has no test cases; write them in {cases_file}"
            )
        pairs.append((ruleset, cases_file))
    return pairs


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


@rulesets.command("docs")
@click.argument("ruleset_ids", nargs=-1, metavar="[ID]...")
@click.option(
    "--output",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("docs/rulesets"),
    show_default=True,
    help="Folder to write one Markdown page per ruleset into.",
)
def rulesets_docs(ruleset_ids, output):
    """Write Markdown documentation of rulesets: levels, every rule in plain words, references."""
    registry = load_registry()
    _warn_about(registry)
    for ruleset_id in ruleset_ids or sorted(registry.rulesets):
        if ruleset_id not in registry.rulesets:
            installed = ", ".join(sorted(registry.rulesets))
            raise RulesetError(f"no installed ruleset {ruleset_id!r}; installed: {installed}")
        target = output / f"{ruleset_id}.md"
        _write(ruleset_markdown(registry.rulesets[ruleset_id]), target)
        click.echo(f"wrote {target}")


@cli.group()
def profile():
    """Describe, template and validate innovation profiles."""


@profile.command("schema")
def profile_schema():
    """Print the JSON Schema of an innovation profile."""
    click.echo(json.dumps(profile_json_schema(), indent=2))


@profile.command("template")
def profile_template_command():
    """Print a commented YAML template a funder or applicant can fill in."""
    click.echo(profile_template(), nl=False)


@profile.command("validate", epilog=EXIT_CODES_HELP)
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def profile_validate(files):
    """Check profiles against the schema; every problem names the file, line and field."""
    _check_each(files, lambda path: load_profile_with_hash(path)[0].name)


@cli.group()
def scorecard():
    """Describe the scorecard format."""


@scorecard.command("schema")
def scorecard_schema():
    """Print the JSON Schema of a scorecard (the JSON output of assess)."""
    click.echo(json.dumps(scorecard_json_schema(), indent=2))


def main() -> None:
    cli(prog_name="scaleready")
