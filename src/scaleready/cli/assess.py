"""assess and explain: profiles in, scorecards out, and why a rule decided as it did."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import click

from scaleready.cli.base import (
    EXIT_CODES_HELP,
    EXIT_GATE_FAILED,
    LazyChoice,
    check_signals,
    engine_and_policy,
    engine_for,
    engine_options,
    record_option,
    refuse_clashes,
    rules_option,
    say,
    strict_plugins_option,
    tell,
)
from scaleready.cli.history import open_recorder
from scaleready.errors import item_failure

if TYPE_CHECKING:
    from scaleready.assessment.engine import Engine
    from scaleready.assessment.policy import Policy
    from scaleready.assessment.scorecard import Scorecard
    from scaleready.history.recording import Recorder
    from scaleready.profile import InnovationProfile
    from scaleready.report import cards, outputs


def _formats() -> Sequence[str]:
    from scaleready.report.render import FORMATS

    return FORMATS


def _echo(text: str) -> None:
    """Text on stdout as it is (a rendered scorecard)."""
    click.echo(text, nl=False)


@click.command(epilog=EXIT_CODES_HELP)
@click.argument("profiles", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "output_format",
    type=LazyChoice(_formats),
    default="table",
    show_default=True,
)
@click.option(
    "--output",
    type=click.Path(path_type=Path),
    help="Write to FILE instead of the terminal (a folder for several HTML reports).",
)
@click.option(
    "--fail-under",
    type=click.FloatRange(0, 100),
    metavar="SCORE",
    help="Exit 1 if any profile's overall score is below SCORE.",
)
@engine_options
@record_option
@click.pass_context
def assess(ctx, profiles, output_format, output, fail_under, record, **options):
    """Assess innovation profiles and print their scale-readiness scorecards.

    \b
    Examples:
        scaleready assess examples/code-club.yaml
        scaleready assess a.yaml b.json --format json --output cards.json
        scaleready assess a.yaml --policy examples/policies/scale-up-fund.yaml

    A bad profile is reported and the others are still assessed (exit 3, or 4 for an internal
    error). With --policy or --fail-under, a profile that does not meet it makes the exit code 1.

    The built-in rulesets count unless --ruleset, the policy's rulesets or a scaleready.toml
    (in this folder or one above) choose others: see docs/choosing-rulesets.md.
    """
    from scaleready.report import outputs

    several_html = output_format == "html" and len(profiles) > 1
    if several_html and (output is None or output.suffix):
        raise click.UsageError("with several profiles, --format html needs --output FOLDER")
    inputs = [*profiles, *options["rule_files"], options["policy"]]
    refuse_clashes({"--output": None if several_html else output}, inputs)
    engine, policy = engine_and_policy(ctx, **options)
    recorder = open_recorder(ctx, record, policy)
    with outputs.OutputSet() as staged:
        sink = _card_sink(output_format, output, profiles, several_html, inputs, staged)
        with closing(sink):
            exit_codes, gate_reasons = _assess_each(
                engine, policy, profiles, sink, fail_under, recorder
            )
        if sink.count:
            check_signals()
            staged.commit()
    for reason in gate_reasons:
        say(f"gate failed: {reason}")
    if exit_codes or gate_reasons:
        ctx.exit(max(exit_codes) if exit_codes else EXIT_GATE_FAILED)


def _card_sink(
    output_format: str,
    output: Path | None,
    profiles: Sequence[Path],
    several_html: bool,
    inputs: list[Path | None],
    staged: outputs.OutputSet,
) -> cards.CardSink:
    """Where assess writes each scorecard: one output, or an HTML report each in a folder."""
    from scaleready.report import cards

    if not several_html:
        return cards.RenderedCards(output_format, output, staged, _echo)
    assert output is not None  # assess refused several HTML reports without a folder
    reports = cards.HtmlReports(output, profiles, tell)
    for target in reports.targets:
        refuse_clashes({"--output": target}, inputs)
    return reports


def _assess_each(
    engine: Engine,
    policy: Policy | None,
    profiles: Sequence[Path],
    sink: cards.CardSink,
    fail_under: float | None,
    recorder: Recorder | None = None,
) -> tuple[set[int], list[str]]:
    """Assess and write each profile as it comes (memory stays flat); the exit codes of those
    that could not be assessed, and the gate's reasons for those that failed it."""
    exit_codes: set[int] = set()
    gate_reasons: list[str] = []
    for number, path in enumerate(profiles):
        check_signals()
        assessed = _assess_file(engine, policy, path)
        if isinstance(assessed, _Failed):
            say(f"error: {assessed.reason}")
            exit_codes.add(assessed.exit_code)
            continue
        card, profile = assessed
        sink.add(number, card)
        if recorder is not None:
            recorder.add(card, profile.model_dump(mode="json", exclude_none=True))
        reasons = _gate_failures(card, fail_under)
        if reasons:
            gate_reasons.append(f"{card.profile.name}: {'; '.join(reasons)}")
    return exit_codes, gate_reasons


class _Failed(NamedTuple):
    """Why a profile could not be assessed, and the exit code that it calls for."""

    reason: str
    exit_code: int


def _assess_file(
    engine: Engine, policy: Policy | None, path: Path
) -> tuple[Scorecard, InnovationProfile] | _Failed:
    """A profile file's scorecard and profile, or why it could not be assessed; the others go
    on either way (as in a round: rounds.batch.Assessor.assess judges failures the same way)."""
    from scaleready.profile import load_profile_with_hash

    label = str(path)
    try:
        profile, digest = load_profile_with_hash(path, engine.profile_model)
        card = engine.assess(profile, policy=policy, source=label, profile_sha256=digest)
        return card, profile
    except Exception as error:
        return _Failed(*item_failure(label, error))


def _gate_failures(card: Scorecard, fail_under: float | None) -> list[str]:
    """Why a profile fails --fail-under or its policy's gate; empty if it does not."""
    reasons = list(card.gate.reasons) if card.gate else []
    if fail_under is not None and card.overall.score < fail_under:
        reasons.append(f"overall score {card.overall.score:g} is below {fail_under:g}")
    return reasons


@click.command(epilog=EXIT_CODES_HELP)
@click.argument("profile", type=click.Path(path_type=Path))
@click.argument("rule")
@rules_option
@strict_plugins_option
@click.pass_context
def explain(ctx, profile, rule, rule_files, strict_plugins):
    """Show why a rule passed, failed or is unknown for a profile.

    RULE is a rule id, or ruleset.rule where two rulesets share an id.

    \b
    Example:
        scaleready explain examples/code-club.yaml evidence.causal_design
    """
    from scaleready.profile import load_profile_with_hash
    from scaleready.report import render

    engine = engine_for(
        ctx, strict_plugins, rulesets=_explained(rule), rule_files=rule_files, backend="python"
    )
    loaded, _ = load_profile_with_hash(profile, engine.profile_model)
    click.echo(render.explanation(engine.explain(loaded, rule)), nl=False)


def _explained(rule: str) -> list[str]:
    """The ruleset explain needs: the one ruleset.rule names, counted or not; else the default."""
    return [rule.split(".", 1)[0]] if "." in rule else []
