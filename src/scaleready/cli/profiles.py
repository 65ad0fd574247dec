"""profile and scorecard: the formats in and out, described, templated, upgraded and checked."""

from __future__ import annotations

import json
from pathlib import Path

import click

from scaleready.cli.base import (
    EXIT_CODES_HELP,
    check_each,
    registry_for,
    strict_plugins_option,
    tell,
)


@click.group()
def profile():
    """Describe, template and validate innovation profiles."""


@profile.command("schema")
@strict_plugins_option
@click.pass_context
def profile_schema(ctx, strict_plugins):
    """Print the JSON Schema of an innovation profile, with the installed plugins' sections."""
    from scaleready.profile import profile_json_schema

    model = registry_for(ctx, strict_plugins).profile_model()
    click.echo(json.dumps(profile_json_schema(model), indent=2))


@profile.command("template")
@click.option(
    "--format",
    "template_format",
    type=click.Choice(["yaml", "csv"]),
    default="yaml",
    show_default=True,
    help="yaml: a commented profile; csv: the header row of a grant round.",
)
@strict_plugins_option
@click.pass_context
def profile_template_command(ctx, template_format, strict_plugins):
    """Print a template a funder or applicant can fill in, with the installed plugins' sections.

    \b
    yaml: every field with its meaning, for one profile.
    csv:  the header row for a grant round in CSV or XLSX, one profile per row
          (list items numbered from 1; texts in a list separated by ";").
    """
    from scaleready.profile import profile_template
    from scaleready.report import outputs
    from scaleready.rounds import spreadsheets

    model = registry_for(ctx, strict_plugins).profile_model()
    if template_format == "csv":
        click.echo(outputs.csv_text(spreadsheets.template_header(model), []), nl=False)
    else:
        click.echo(profile_template(model), nl=False)


@profile.command("upgrade", epilog=EXIT_CODES_HELP)
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--user-feedback",
    type=click.Choice(["one-off", "repeated"]),
    help="What every 'user_feedback' study was: a one-off survey after the activity, or "
    "repeated surveys at intervals (asked otherwise).",
)
@click.option(
    "--comparison-group",
    type=click.Choice(["matched", "unmatched"]),
    help="What every 'comparison_group' study compared with: a matched (or otherwise "
    "justified) group, or an unmatched one (asked otherwise).",
)
def profile_upgrade(file, user_feedback, comparison_group):
    """Rewrite a version-1 profile as version 2, in place, keeping its comments.

    What version 1 cannot say is asked for, study by study, unless an option answers it.

    \b
    Example:
        scaleready profile upgrade my-profile.yaml --user-feedback repeated
    """
    from scaleready.upgrade import upgrade_file

    given = {"user_feedback": user_feedback, "comparison_group": comparison_group}

    def ask(question, where):
        if given[question.design]:
            return given[question.design]
        try:
            prompt = f"{where} has design '{question.design}': {question.text}"
            return click.prompt(prompt, type=click.Choice(list(question.choices)), err=True)
        except click.Abort:
            choices = "|".join(question.choices)
            message = f"{file}: {where}: answer with {question.option} {choices}"
            raise click.UsageError(message) from None

    upgraded = upgrade_file(file, ask)
    for change in upgraded.changes:
        tell(f"  {change}")
    done = "upgraded to version 2" if upgraded.changes else "already version 2; unchanged"
    click.echo(f"{file}: {done}")


@profile.command("validate", epilog=EXIT_CODES_HELP)
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@strict_plugins_option
@click.pass_context
def profile_validate(ctx, files, strict_plugins):
    """Check profiles against the schema and the installed plugins' sections; every problem
    names the file, line and field.

    A section that no installed plugin provides is an error; with
    SCALEREADY_IGNORE_UNKNOWN_SECTIONS=1 it is left out, with a warning.
    """
    from scaleready.profile import load_profile_with_hash

    model = registry_for(ctx, strict_plugins).profile_model()
    check_each(files, lambda path: load_profile_with_hash(path, model)[0].name)


@click.group()
def scorecard():
    """Describe the scorecard format."""


@scorecard.command("schema")
def scorecard_schema():
    """Print the JSON Schema of a scorecard (the JSON output of assess)."""
    from scaleready.assessment.scorecard import scorecard_json_schema

    click.echo(json.dumps(scorecard_json_schema(), indent=2))
