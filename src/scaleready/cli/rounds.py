"""batch: a grant round assessed, locally or on a Dask cluster, its outputs written as it goes."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING

import click

from scaleready.cli.base import (
    EXIT_CODES_HELP,
    EXIT_GATE_FAILED,
    EXIT_INTERNAL,
    EXIT_INVALID_INPUT,
    check_signals,
    engine_and_policy,
    engine_options,
    record_option,
    refuse_clashes,
    say,
)
from scaleready.cli.history import open_recorder

if TYPE_CHECKING:
    from scaleready.history.recording import Recorder
    from scaleready.rounds import batch, writer


def _default_jobs() -> int:
    from scaleready.rounds.batch import default_jobs

    return default_jobs()


@click.command(name="batch", epilog=EXIT_CODES_HELP)
@click.argument("sources", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True))
@click.option(
    "--summary",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the summary, one row per profile, to FILE (.csv, .xlsx or .jsonl). "
    "Without it, the summary is printed as CSV.",
)
@click.option(
    "--scorecards",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also write every full scorecard to FILE, one JSON object per line (.jsonl).",
)
@click.option(
    "--report",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also write a portfolio report of the round to FILE (.html).",
)
@click.option(
    "--title", default="Grant round", show_default=True, help="Title of the portfolio report."
)
@click.option(
    "--sort",
    type=click.Choice(["input", "ranking"]),
    default="input",
    show_default=True,
    help="Order of the summary: as the items came, or as the portfolio ranks them (level "
    "reached, then level possible with the missing data, then score), with a rank column.",
)
@click.option(
    "--jobs",
    type=click.IntRange(1),
    default=_default_jobs,
    show_default="all cores",
    help="Worker processes.",
)
@click.option(
    "--executor",
    type=click.Choice(["local", "dask"]),
    default="local",
    show_default=True,
    help="Where the round is assessed: worker processes here (--jobs), or an existing Dask "
    "cluster (--scheduler; needs scaleready[dask]; see docs/dask.md).",
)
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    help="The Dask scheduler of --executor dask, e.g. tcp://10.0.0.5:8786. Exit 2 if it "
    "cannot be reached or its workers cannot assess as this machine does.",
)
@click.option(
    "--strict-columns",
    is_flag=True,
    help="Refuse a CSV or XLSX file with a column that is no profile field "
    "(by default such columns are ignored, with a warning).",
)
@engine_options
@record_option
@click.pass_context
def batch_command(
    ctx,
    sources,
    summary,
    scorecards,
    report,
    title,
    sort,
    jobs,
    executor,
    scheduler,
    strict_columns,
    record,
    **options,
):
    """Assess a grant round: folders of YAML/JSON profiles, JSONL, CSV or XLSX files.

    CSV and XLSX: one profile per row; headers are dotted field paths, list items numbered from
    1 (partnerships.1.role); see `scaleready profile template --format csv`. A bad row or file is
    reported and the rest are assessed. Outputs are put in place together at the end, or none
    (an interrupt leaves none); an output that would overwrite an input is refused.

    \b
    Examples:
        scaleready batch applications/ --summary round.xlsx --report round.html
        scaleready batch round.csv --policy examples/policies/scale-up-fund.yaml --summary out.csv

    Exit 4 if an item met an internal error, else 3 if any item could not be assessed, else 1
    if any failed the policy's gate.
    """
    from scaleready.report import outputs
    from scaleready.rounds.writer import RoundFiles, RoundWriter

    if summary is not None:
        outputs.check_table_suffix(summary)  # before the work, not after it
    targets = {"--summary": summary, "--scorecards": scorecards, "--report": report}
    refuse_clashes(targets, [*sources, *options["rule_files"], options["policy"]])
    where = _round_executor(executor, jobs, scheduler)
    assessor = _assessor(
        ctx,
        **options,
        keep_scorecards=scorecards is not None or record is not None,
        keep_portfolio=report is not None,
        keep_profiles=record is not None,
    )
    recorder = open_recorder(ctx, record, assessor.policy)
    files = RoundFiles(summary, scorecards, report)
    with (
        outputs.OutputSet() as staged,
        RoundWriter(assessor.columns, files, staged, sort) as round_,
    ):
        _run_round(_RecordingRound(round_, recorder), assessor, sources, strict_columns, where)
        round_.finish(title)
        check_signals()
        staged.commit()
        if summary is None:  # the summary is printed as CSV
            click.echo(round_.summary_csv(), nl=False)
    _report_round(ctx, round_.tally, with_gate=assessor.policy is not None)


def _round_executor(name: str, jobs: int, scheduler: str | None) -> batch.Executor:
    """Where batch assesses the round: refused before any work if it cannot be used."""
    import logging

    from scaleready.rounds.executors import executor_for

    if name == "dask":  # Dask's own warnings (a slow event loop, a retry) are not the user's:
        logging.getLogger("distributed").setLevel(logging.ERROR)  # batch says what matters
    return executor_for(name, jobs=jobs, scheduler=scheduler)


def _assessor(
    ctx,
    rulesets,
    rule_files,
    policy,
    backend,
    strict_plugins,
    keep_scorecards=True,
    keep_portfolio=False,
    keep_profiles=False,
):
    """The batch assessor for these options, after reporting plugin problems once; workers are
    given the rulesets and policy chosen here, so every process counts the same."""
    from scaleready.rounds import batch

    engine, chosen_policy = engine_and_policy(
        ctx, rulesets, rule_files, policy, backend, strict_plugins
    )
    options = batch.BatchOptions(
        tuple(ruleset.id for ruleset in engine.rulesets),
        tuple(map(str, rule_files)),
        backend,
        chosen_policy.source if chosen_policy else None,
        keep_scorecards,
        keep_portfolio,
        keep_profiles,
    )
    return batch.Assessor.around(engine, options)


class _RecordingRound:
    """A round's writer that also records each scorecard (with --record)."""

    def __init__(self, round_: writer.RoundWriter, recorder: Recorder | None) -> None:
        self.round_ = round_
        self.recorder = recorder

    def add(self, outcome: batch.ItemResult) -> None:
        self.round_.add(outcome)
        if self.recorder is not None and outcome.scorecard_json and outcome.profile_json:
            self.recorder.add(outcome.scorecard_json, json.loads(outcome.profile_json))


def _run_round(
    round_: writer.RoundWriter | _RecordingRound,
    assessor: batch.Assessor,
    sources: Sequence[Path],
    strict_columns: bool,
    executor: batch.Executor,
) -> None:
    """Assess every item of the round's sources, each outcome written as it arrives."""
    from scaleready.rounds import batch

    warn = lambda message: say(f"warning: {message}")  # noqa: E731
    items = batch.Round(sources, strict_columns=strict_columns, warn=warn)
    with closing(batch.assess_all(items, assessor, executor=executor)) as outcomes:
        for outcome in _run_with_progress(outcomes, items):
            check_signals()
            if outcome.error:
                say(f"error: {outcome.error}")
            round_.add(outcome)


def _run_with_progress(outcomes: Iterator, items: batch.Round) -> Iterator:
    """The outcomes; a progress bar on a terminal (its total known once every item is read)."""
    if not sys.stderr.isatty():
        yield from outcomes
        return
    with click.progressbar(outcomes, label="assessing", file=sys.stderr) as bar:
        for outcome in bar:
            if items.done and bar.length is None:
                bar.length = items.count
            yield outcome


def _report_round(ctx: click.Context, tally: writer.Tally, with_gate: bool) -> None:
    """The round in one line, and its exit code: 4 internal error, 3 bad input, 1 gate failed."""
    internal = f" ({tally.internal} by an internal error)" if tally.internal else ""
    click.echo(
        f"assessed {tally.items - tally.errors} of {tally.items} profiles; "
        f"{tally.errors} could not be assessed{internal}"
        + (f"; {tally.gate_failed} failed the gate" if with_gate else ""),
        err=True,
    )
    if tally.internal:
        ctx.exit(EXIT_INTERNAL)
    if tally.errors:
        ctx.exit(EXIT_INVALID_INPUT)
    if tally.gate_failed:
        ctx.exit(EXIT_GATE_FAILED)
