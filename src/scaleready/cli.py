"""The scaleready command line: thin commands over the library.

Exit codes (a contract): 0 done, 1 gate failed (--fail-under, --policy), 2 usage error
(including an output that cannot be written, or that would overwrite an input), 3 invalid input
(profile, ruleset, policy), 4 plugin or internal error, 130 interrupted (SIGINT), 143 terminated
(SIGTERM).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import click

from scaleready import __version__
from scaleready.errors import INTERNAL_ERROR, RulesetError, ScaleReadyError, item_failure

if TYPE_CHECKING:
    from scaleready.assessment.engine import Engine
    from scaleready.assessment.policy import Policy
    from scaleready.assessment.scorecard import Scorecard
    from scaleready.config import ProjectConfig
    from scaleready.history.recording import Recorder
    from scaleready.language.ruleset import Ruleset
    from scaleready.plugins import Registry
    from scaleready.profile import InnovationProfile
    from scaleready.report import cards, outputs
    from scaleready.rounds import batch, writer

# The library is imported by the commands that use it, when they run, and only the parts they
# use: `scaleready --help` imports none of it, and `scaleready assess` neither the round
# machinery (multiprocessing, spreadsheets) nor the HTML report unless it writes one.
# tests/test_cold_start.py keeps it so.

EXIT_GATE_FAILED = 1
EXIT_INVALID_INPUT = 3
EXIT_INTERNAL = INTERNAL_ERROR  # a bug (see errors.item_failure)
EXIT_INTERRUPTED = 128 + signal.SIGINT  # 130, as shells report it
EXIT_TERMINATED = 128 + signal.SIGTERM  # 143
EXIT_CODES_HELP = (
    "\b\nExit codes: 0 done, 1 gate failed (--fail-under, --policy), 2 usage error (also a\n"
    "missing extra, a history or Dask scheduler that cannot be reached),\n"
    "3 invalid input (profile, ruleset, policy, scaleready.toml),\n"
    "4 plugin or internal error, 130 interrupted (SIGINT), 143 terminated (SIGTERM)."
)


class _Terminated(BaseException):
    """SIGTERM, raised in the main thread as SIGINT raises KeyboardInterrupt."""


_SIGNALLED: list[int] = []  # signals received by this command, even if their exception was lost


def _on_signal(signum: int, frame: object) -> None:
    _SIGNALLED.append(signum)
    _raise_for(signum)


def _raise_for(signum: int) -> None:
    raise KeyboardInterrupt if signum == signal.SIGINT else _Terminated


def _check_signals() -> None:
    """Raise again for a signal whose exception Python dropped: one raised while a finalizer
    (``__del__``) runs is printed and ignored. Called before outputs are put in place."""
    if _SIGNALLED:
        _raise_for(_SIGNALLED[0])


@contextmanager
def _signals_as_exceptions() -> Iterator[None]:
    """SIGINT raises KeyboardInterrupt and SIGTERM _Terminated, in the main thread, unless the
    caller ignored them; an exception of theirs lost in a finalizer is not printed."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _SIGNALLED.clear()
    previous = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    for number, handler in previous.items():
        if handler in (signal.default_int_handler, signal.SIG_DFL):
            signal.signal(number, _on_signal)
    hook, sys.unraisablehook = sys.unraisablehook, _quiet_about_lost_signals
    try:
        yield
    finally:
        sys.unraisablehook = hook
        for number, handler in previous.items():
            signal.signal(number, handler)


def _quiet_about_lost_signals(unraisable) -> None:
    if not isinstance(unraisable.exc_value, KeyboardInterrupt | _Terminated):
        sys.__unraisablehook__(unraisable)


class _Commands(click.Group):
    """Turns scaleready's errors into a message and the documented exit code, never a traceback."""

    def invoke(self, ctx: click.Context):
        with _signals_as_exceptions():
            return self._invoke(ctx)

    def _invoke(self, ctx: click.Context):
        try:
            result = super().invoke(ctx)
            _check_signals()
            return result
        except ScaleReadyError as error:
            say(f"error: {error}")
            ctx.exit(error.exit_code)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except KeyboardInterrupt:  # Ctrl-C, or raised by a plugin: the same to the caller
            _stop(ctx, "interrupted (SIGINT)", EXIT_INTERRUPTED)
        except _Terminated:
            _stop(ctx, "terminated (SIGTERM)", EXIT_TERMINATED)
        except Exception as error:  # a bug: say so plainly, keep the exit code contract
            if os.environ.get("SCALEREADY_DEBUG"):
                raise
            click.echo(
                f"internal error: {type(error).__name__}: {error} "
                "(set SCALEREADY_DEBUG=1 for details)",
                err=True,
            )
            ctx.exit(EXIT_INTERNAL)


def _stop(ctx: click.Context, why: str, exit_code: int) -> None:
    """End after an interrupt; a second Ctrl-C now would only cut this message short."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    click.echo(f"{why}: stopped; no output was left half-written", err=True)
    ctx.exit(exit_code)


@click.group(cls=_Commands, epilog=EXIT_CODES_HELP)
@click.version_option(__version__, prog_name="scaleready")
@click.option("--strict-plugins", is_flag=True, help="Fail (exit 4) if any plugin fails to load.")
@click.option(
    "--no-config",
    is_flag=True,
    help="Ignore scaleready.toml: count the rulesets --ruleset or --policy choose, else the "
    "built-in ones.",
)
@click.pass_context
def cli(ctx: click.Context, strict_plugins: bool, no_config: bool) -> None:
    """Is this social innovation ready to scale? Explained scorecards for funders.

    \b
    Example:
        scaleready assess examples/code-club.yaml
    """
    ctx.obj = {"strict_plugins": strict_plugins, "no_config": no_config}
    _check_settings()
    _show_warnings_as_messages()


def _check_settings() -> None:
    """Refuse a bad SCALEREADY_* or SOURCE_DATE_EPOCH value (exit 2) before any work is done."""
    from scaleready import plugins
    from scaleready.assessment.engine import fixed_clock
    from scaleready.documents import max_document_bytes

    fixed_clock()
    max_document_bytes()
    plugins.time_limit(plugins.PLUGIN_TIMEOUT_VARIABLE, plugins.DEFAULT_PLUGIN_TIMEOUT)
    plugins.time_limit(plugins.FACT_TIMEOUT_VARIABLE, plugins.DEFAULT_FACT_TIMEOUT)
    _check_section_setting()


def _check_section_setting() -> None:
    """SCALEREADY_IGNORE_UNKNOWN_SECTIONS is yes or no (exit 2 otherwise)."""
    from scaleready.profile import ignore_unknown_sections

    ignore_unknown_sections()


def _show_warnings_as_messages() -> None:
    """Show scaleready's warnings (a version-1 profile read) as 'warning: ...' on stderr."""
    import warnings

    from scaleready.errors import ScaleReadyWarning

    python_way = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        if issubclass(category, ScaleReadyWarning):
            say(f"warning: {message}")
        else:
            python_way(message, category, filename, lineno, file, line)

    warnings.showwarning = show


def say(message: str) -> None:
    """A message on stderr; text from profiles and plugins in it cannot control the terminal."""
    from scaleready.report.safe_text import plain_text

    click.echo(plain_text(message, keep_line_breaks=True), err=True)


def _echo(text: str) -> None:
    """Text on stdout as it is (a rendered scorecard)."""
    click.echo(text, nl=False)


def _tell(message: str) -> None:
    """A line of progress on stderr (what was written)."""
    click.echo(message, err=True)


def strict_plugins_option(command):
    return click.option(
        "--strict-plugins", is_flag=True, help="Fail (exit 4) if any plugin fails to load."
    )(command)


def _engine(ctx: click.Context, strict: bool, **options: Any) -> Engine:
    """The engine for these options, after reporting plugin problems."""
    from scaleready.assessment.build import create_engine

    engine, registry = create_engine(**options)
    _report_plugin_problems(ctx, strict, registry)
    return engine


def _registry(ctx: click.Context, strict: bool) -> Registry:
    """The installed plugins' registry, after reporting plugin problems."""
    from scaleready.plugins import load_registry

    registry = load_registry()
    _report_plugin_problems(ctx, strict, registry)
    return registry


def _strict(ctx: click.Context, strict: bool) -> bool:
    """--strict-plugins given to this command or to `scaleready` itself."""
    return strict or ctx.find_root().obj["strict_plugins"]


def _report_plugin_problems(ctx: click.Context, strict: bool, registry: Registry) -> None:
    """Warn about each plugin problem; with --strict-plugins, each is an error (exit 4)."""
    if _strict(ctx, strict) and registry.problems:
        _refuse(ctx, registry)
    for problem in _distinct(registry.problems):
        say(f"warning: {problem} (--strict-plugins makes this an error)")


def _refuse(ctx: click.Context, registry: Registry) -> None:
    """--strict-plugins: every plugin problem is an error, and the exit code is 4."""
    for problem in _distinct(registry.problems):
        say(f"error: {problem}")
    ctx.exit(EXIT_INTERNAL)


def _distinct(problems: Iterable[object]) -> list[str]:
    """Each message once, in order."""
    return list(dict.fromkeys(map(str, problems)))


def _write(text: str, output: Path | None) -> None:
    """Print, or write the file whole (never half-written)."""
    from scaleready.report import outputs

    if output is None:
        click.echo(text, nl=False)
    else:
        outputs.write_text(output, text)


def _refuse_clashes(targets: dict[str, Path | None], inputs: Iterable[Path | str | None]) -> None:
    """Refuse, before any work, an output that would overwrite an input or another output."""
    from scaleready.report import outputs

    problem = outputs.clash(targets, inputs)
    if problem is not None:
        raise click.UsageError(problem)


class _LazyChoice(click.Choice):
    """A choice whose values are imported only when a command needs them, not for --help."""

    def __init__(self, values: Callable[[], Sequence[str]]) -> None:
        super().__init__(())
        self._values = values

    @property  # type: ignore[override]  # click sets choices in __init__; here it is computed
    def choices(self) -> Sequence[str]:
        return tuple(self._values())

    @choices.setter
    def choices(self, values: Sequence[str]) -> None:
        """click's __init__ sets the choices; they are computed instead."""


def _formats() -> Sequence[str]:
    from scaleready.report.render import FORMATS

    return FORMATS


def _backends() -> Sequence[str]:
    from scaleready.assessment.programs import BACKENDS

    return BACKENDS


def _default_jobs() -> int:
    from scaleready.rounds.batch import default_jobs

    return default_jobs()


rules_option = click.option(
    "--rules",
    "rule_files",
    multiple=True,
    type=click.Path(path_type=Path),
    metavar="FILE",
    help="Also use this ruleset file (repeatable); replaces an installed one, same id.",
)


def engine_options(command):
    """The options that choose what to assess against: rulesets, rule files, policy, backend."""
    options = [
        click.option(
            "--ruleset",
            "rulesets",
            multiple=True,
            metavar="ID",
            help="Count only these rulesets (repeatable); overrides a policy's and "
            "scaleready.toml's choice. Default: the built-in rulesets.",
        ),
        rules_option,
        click.option(
            "--policy",
            type=click.Path(path_type=Path, dir_okay=False),
            metavar="FILE",
            help="Apply a funder policy: weights, minimum levels and scores, disqualifying rules "
            "(default: the policy of scaleready.toml, if any).",
        ),
        click.option(
            "--backend",
            type=_LazyChoice(_backends),
            default="auto",
            show_default=True,
            help="durable_rules, or the plain-Python evaluator.",
        ),
        strict_plugins_option,
    ]
    for option in reversed(options):
        command = option(command)
    return command


def record_option(command):
    """--record [URL]: also append each assessment to the audit history (docs/history.md)."""
    return click.option(
        "--record",
        is_flag=False,
        flag_value="",
        default=None,
        metavar="[URL]",
        help="Also append each assessment to the audit history: $SCALEREADY_HISTORY_URL, "
        "else a SQLite file in your data folder, or the one at URL (sqlite:///PATH, "
        "postgresql+psycopg://...). Needs pip install 'scaleready[history]'.",
    )(command)


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("profiles", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "output_format",
    type=_LazyChoice(_formats),
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
    _refuse_clashes({"--output": None if several_html else output}, inputs)
    engine, policy = _engine_and_policy(ctx, **options)
    recorder = _recorder(ctx, record, policy)
    with outputs.OutputSet() as staged:
        sink = _card_sink(output_format, output, profiles, several_html, inputs, staged)
        with closing(sink):
            exit_codes, gate_reasons = _assess_each(
                engine, policy, profiles, sink, fail_under, recorder
            )
        if sink.count:
            _check_signals()
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
    reports = cards.HtmlReports(output, profiles, _tell)
    for target in reports.targets:
        _refuse_clashes({"--output": target}, inputs)
    return reports


def _engine_and_policy(
    ctx: click.Context, rulesets, rule_files, policy, backend, strict_plugins
) -> tuple[Engine, Policy | None]:
    """The engine over the rulesets that count (after reporting plugin problems), and the
    policy: --policy, else scaleready.toml's. Which count: docs/choosing-rulesets.md."""
    from scaleready.assessment.build import create_engine
    from scaleready.assessment.policy import read_policy

    config = _project_config(ctx)
    if policy is None and config is not None:
        policy = config.policy
    chosen_policy = read_policy(policy) if policy is not None else None
    engine, registry = create_engine(
        rulesets,
        rule_files=rule_files,
        backend=backend,
        policy=chosen_policy,
        config=config,
        rulesets_from="--ruleset",
    )
    _report_plugin_problems(ctx, strict_plugins, registry)
    policy_pins = chosen_policy is not None and chosen_policy.spec.rulesets is not None
    if not (rulesets or policy_pins or (config is not None and config.rulesets is not None)):
        _note_uncounted(registry, engine)
    if chosen_policy is not None:
        chosen_policy.check_against(engine.rulesets)
    return engine, chosen_policy


def _project_config(ctx: click.Context) -> ProjectConfig | None:
    """The nearest scaleready.toml, unless --no-config was given."""
    from scaleready.config import project_config

    return None if ctx.find_root().obj["no_config"] else project_config()


def _note_uncounted(registry: Registry, engine: Engine) -> None:
    """Say which installed rulesets the default left out, so that leaving them out is not silent."""
    counted = {ruleset.id for ruleset in engine.rulesets}
    left_out = sorted(set(registry.rulesets) - counted)
    if left_out:
        say(
            f"note: installed ruleset{'s' if len(left_out) > 1 else ''} {', '.join(left_out)} "
            "not counted: by default only the built-in rulesets (and those a policy names) "
            "count; choose others with --ruleset, a policy's rulesets or scaleready.toml "
            "(see docs/choosing-rulesets.md)"
        )


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
        _check_signals()
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

    engine, chosen_policy = _engine_and_policy(
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


def _gate_failures(card: Scorecard, fail_under: float | None) -> list[str]:
    """Why a profile fails --fail-under or its policy's gate; empty if it does not."""
    reasons = list(card.gate.reasons) if card.gate else []
    if fail_under is not None and card.overall.score < fail_under:
        reasons.append(f"overall score {card.overall.score:g} is below {fail_under:g}")
    return reasons


@cli.command(name="batch", epilog=EXIT_CODES_HELP)
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
    _refuse_clashes(targets, [*sources, *options["rule_files"], options["policy"]])
    where = _round_executor(executor, jobs, scheduler)
    assessor = _assessor(
        ctx,
        **options,
        keep_scorecards=scorecards is not None or record is not None,
        keep_portfolio=report is not None,
        keep_profiles=record is not None,
    )
    recorder = _recorder(ctx, record, assessor.policy)
    files = RoundFiles(summary, scorecards, report)
    with (
        outputs.OutputSet() as staged,
        RoundWriter(assessor.columns, files, staged, sort) as round_,
    ):
        _run_round(_RecordingRound(round_, recorder), assessor, sources, strict_columns, where)
        round_.finish(title)
        _check_signals()
        staged.commit()
        if summary is None:  # the summary is printed as CSV
            click.echo(round_.summary_csv(), nl=False)
    _report_round(ctx, round_.tally, with_gate=assessor.policy is not None)


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
            _check_signals()
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


@cli.command(epilog=EXIT_CODES_HELP)
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

    engine = _engine(
        ctx, strict_plugins, rulesets=_explained(rule), rule_files=rule_files, backend="python"
    )
    loaded, _ = load_profile_with_hash(profile, engine.profile_model)
    click.echo(render.explanation(engine.explain(loaded, rule)), nl=False)


def _explained(rule: str) -> list[str]:
    """The ruleset explain needs: the one ruleset.rule names, counted or not; else the default."""
    return [rule.split(".", 1)[0]] if "." in rule else []


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@strict_plugins_option
@click.pass_context
def plugins(ctx, as_json, strict_plugins):
    """List installed plugins, what each provides, and any that failed to load."""
    from scaleready.plugins import load_registry
    from scaleready.report import render

    registry = load_registry()
    if _strict(ctx, strict_plugins) and registry.problems:
        _refuse(ctx, registry)
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


@cli.group()
def rulesets():
    """List, show, validate, test and document rulesets."""


@rulesets.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@strict_plugins_option
@click.pass_context
def rulesets_list(ctx, as_json, strict_plugins):
    """List the installed rulesets, and whether each counts here (see --ruleset in assess)."""
    registry = _registry(ctx, strict_plugins)
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

    config = _project_config(ctx)
    policy = read_policy(config.policy) if config and config.policy else None
    return set(choose_rulesets(registry, policy=policy, config=config).ids)


@rulesets.command("show")
@click.argument("ruleset_id")
@strict_plugins_option
@click.pass_context
def rulesets_show(ctx, ruleset_id, strict_plugins):
    """Show a ruleset's levels and rules, with each condition."""
    from scaleready.report import render

    registry = _registry(ctx, strict_plugins)
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

    _check_each(targets, check)


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

    for problem in _distinct(p for p in registry.problems if p.plugin in registry.skipped):
        say(f"warning: {problem}")
    for folder in folders:
        for problem in packaging_problems(folder):
            say(f"warning: {problem}")


def _check_each(files, check) -> None:
    """Report each file as ok or with its error; exit 3 at the end if any was invalid."""
    failed = 0
    for path in files:
        try:
            click.echo(f"ok: {path} ({check(path)})")
        except ScaleReadyError as error:
            say(f"error: {error}")
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

    registry = _registry(ctx, strict_plugins)
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

    registry = _registry(ctx, strict_plugins)
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
            _tell(f"wrote {target}")


@cli.group()
def profile():
    """Describe, template and validate innovation profiles."""


@profile.command("schema")
@strict_plugins_option
@click.pass_context
def profile_schema(ctx, strict_plugins):
    """Print the JSON Schema of an innovation profile, with the installed plugins' sections."""
    from scaleready.profile import profile_json_schema

    model = _registry(ctx, strict_plugins).profile_model()
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

    model = _registry(ctx, strict_plugins).profile_model()
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
        _tell(f"  {change}")
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

    model = _registry(ctx, strict_plugins).profile_model()
    _check_each(files, lambda path: load_profile_with_hash(path, model)[0].name)


@cli.group()
def scorecard():
    """Describe the scorecard format."""


@scorecard.command("schema")
def scorecard_schema():
    """Print the JSON Schema of a scorecard (the JSON output of assess)."""
    from scaleready.assessment.scorecard import scorecard_json_schema

    click.echo(json.dumps(scorecard_json_schema(), indent=2))


@cli.group()
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
        _tell(f"wrote {path}")
    _tell(f'next: cd {target} && pip install -e ".[test]" && pytest')


# --- the audit history: --record, history and reassess (docs/history.md) ------------------------


def _open_history(url: str | None, option: str, create: bool = True):
    """The history store at ``url`` (None: the default), or exit 2 saying what is wrong;
    ``create=False`` for commands that only read it."""
    from scaleready import history

    history.require_extra()  # HistoryError (exit 2) naming the extra to install
    if url is not None and "://" not in url and url.endswith((".yaml", ".yml", ".json")):
        raise click.UsageError(  # `--record a.yaml b.yaml` would take a profile for the history
            f"{option} {url!r}: a profile, not a database URL; write {option} after the "
            f"profiles, or {option}=URL (sqlite:///PATH, postgresql+psycopg://...)"
        )
    return history.open_store(url, create=create)


def _recorder(ctx: click.Context, record: str | None, policy: Policy | None) -> Recorder | None:
    """With --record, a recorder into the history (opened before any work is done)."""
    if record is None:
        return None
    store = _open_history(record or None, "--record")
    from scaleready.history.recording import Recorder, cli_caller

    try:
        recorder = Recorder(store, caller=cli_caller(), policy=policy)
    except BaseException:
        store.close()
        raise
    ctx.call_on_close(lambda: _close_recorder(recorder))
    return recorder


def _close_recorder(recorder: Recorder) -> None:
    """Append what is left, and say where the assessments went."""
    recorder.close()
    count = recorder.count
    _tell(f"recorded {count} assessment{'' if count == 1 else 's'} in {recorder.store.url}")


class _RecordingRound:
    """A round's writer that also records each scorecard (with --record)."""

    def __init__(self, round_: writer.RoundWriter, recorder: Recorder | None) -> None:
        self.round_ = round_
        self.recorder = recorder

    def add(self, outcome: batch.ItemResult) -> None:
        self.round_.add(outcome)
        if self.recorder is not None and outcome.scorecard_json and outcome.profile_json:
            self.recorder.add(outcome.scorecard_json, json.loads(outcome.profile_json))


class _Moment(click.ParamType):
    """A UTC date (2026-11-01) or time (2026-11-01T14:30, with or without Z); --until DAY
    includes that day."""

    name = "DATE"

    def __init__(self, end_of_day: bool = False) -> None:
        self.end_of_day = end_of_day

    def convert(self, value, param, ctx):
        from datetime import UTC, datetime, timedelta

        if isinstance(value, datetime):
            return value
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            self.fail(f"{value!r} is not a date or time; write 2026-11-01 or 2026-11-01T14:30Z")
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        if self.end_of_day and len(value.strip()) == 10:  # a day: up to its end
            moment += timedelta(days=1)
        return moment


def history_filters(limit: int | None):
    """The options that choose recorded assessments (history and reassess share them); at most
    ``limit`` by default (None: all)."""
    limit_help = "At most this many, newest first" + ("." if limit else " (default: all).")
    options = [
        click.option("--name", help="Only profiles whose name contains this (any case)."),
        click.option("--since", type=_Moment(), help="Only those recorded on or after DATE."),
        click.option(
            "--until",
            type=_Moment(end_of_day=True),
            help="Only those recorded before DATE (a day: to its end).",
        ),
        click.option(
            "--ruleset",
            "ruleset",
            metavar="ID[@VERSION]",
            help="Only those assessed with this ruleset (at this version).",
        ),
        click.option("--funder", help="Only those recorded for this funder."),
        click.option(
            "--limit", type=click.IntRange(1), default=limit, show_default=True, help=limit_help
        ),
        click.option(
            "--url",
            metavar="URL",
            help="The history to read (default: $SCALEREADY_HISTORY_URL, else the SQLite file "
            "in your data folder).",
        ),
    ]

    def decorate(command):
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("record_id", required=False, metavar="[ID]")
@history_filters(limit=50)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def history(record_id, url, as_json, **filters):
    """List recorded assessments, newest first; with an ID, show that one in full (JSON).

    Assessments are recorded by `assess --record`, `batch --record` and the service. Nothing
    in the history can be changed or deleted through scaleready.

    \b
    Examples:
        scaleready history --since 2026-11-01 --ruleset evidence
        scaleready history --name "code club" --json
        scaleready history 5f0c2a8e-...

    Exit 2 if the history cannot be opened (or its extra is not installed:
    pip install 'scaleready[history]'), 3 if no record has the ID.
    """
    from scaleready import history
    from scaleready.errors import InputError

    history.require_extra()  # before the views, which need it: exit 2 naming the extra
    from scaleready.history import views

    with _open_history(url, "--url", create=False) as store:
        if record_id is not None:
            record = store.get(record_id)
            if record is None:
                raise InputError(f"no recorded assessment has the id {record_id!r}")
            click.echo(_terminal_json(views.record_json(record)))
            return
        records = store.find(**filters)
        if not records and filters["ruleset"]:
            _note_unrecorded_ruleset(filters["ruleset"], store.ruleset_ids())
    if as_json:
        click.echo(_terminal_json([views.record_summary(r) for r in records]))
    elif records:
        click.echo(views.records_table(records))
    else:
        _tell("no recorded assessments match")


def _note_unrecorded_ruleset(ruleset: str, recorded: list[str]) -> None:
    """--ruleset naming an id that no record used: most likely a typing slip."""
    from scaleready.problems import did_you_mean

    ruleset_id = ruleset.partition("@")[0]
    if ruleset_id not in recorded:
        known = f"recorded: {', '.join(recorded) or 'none'}"
        say(
            f"note: no recorded assessment used ruleset {ruleset_id!r}; "
            f"{did_you_mean(ruleset_id, recorded, otherwise=known)}"
        )


def _terminal_json(document: object) -> str:
    from scaleready.report.safe_text import terminal_json

    return terminal_json(document)


@cli.command(epilog=EXIT_CODES_HELP)
@history_filters(limit=None)
@rules_option
@click.option(
    "--backend",
    type=_LazyChoice(_backends),
    default="auto",
    show_default=True,
    help="durable_rules, or the plain-Python evaluator.",
)
@click.option("--changed", "only_changed", is_flag=True, help="Show only what changed.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@strict_plugins_option
@click.pass_context
def reassess(ctx, url, rule_files, backend, only_changed, as_json, strict_plugins, **filters):
    """Assess recorded profiles again under the rulesets installed now, and show what changed.

    Each recorded assessment is re-run with the same rulesets (by id: the versions installed
    now, or files given with --rules) and its recorded policy re-applied; for each, the level,
    bottleneck and gate before and after, and the ruleset versions that moved. Nothing is
    recorded: read it before adopting a new ruleset version.

    \b
    Examples:
        scaleready reassess --since 2026-01-01
        scaleready reassess --ruleset evidence@0.3.0 --rules evidence-0.4.yaml --changed

    Exit 2 if the history cannot be opened, 3 if a record could not be reassessed (its
    ruleset is no longer installed, or its profile no longer reads).
    """
    from scaleready import history

    history.require_extra()  # before the reassessor, which needs it: exit 2 naming the extra
    from scaleready.history.reassess import Reassessor
    from scaleready.history.views import reassessment_json, reassessment_lines
    from scaleready.plugins import add_ruleset_files

    registry = _registry(ctx, strict_plugins)
    add_ruleset_files(registry, rule_files)
    with _open_history(url, "--url", create=False) as store:
        records = store.find(**filters)
    done = list(Reassessor(registry, backend=backend).reassess_all(records))
    shown = [d for d in done if d.changes or d.error or not only_changed]
    if as_json:
        click.echo(_terminal_json([reassessment_json(d) for d in shown]))
    else:
        for reassessment in shown:
            click.echo("\n".join(reassessment_lines(reassessment)))
    changed = sum(1 for d in done if d.changes)
    failed = sum(1 for d in done if d.error)
    _tell(f"reassessed {len(done) - failed} of {len(done)}; {changed} changed")
    if failed:
        ctx.exit(EXIT_INVALID_INPUT)


# --- batch's executors ---------------------------------------------------------------------------


def _round_executor(name: str, jobs: int, scheduler: str | None) -> batch.Executor:
    """Where batch assesses the round: refused before any work if it cannot be used."""
    import logging

    from scaleready.rounds.executors import executor_for

    if name == "dask":  # Dask's own warnings (a slow event loop, a retry) are not the user's:
        logging.getLogger("distributed").setLevel(logging.ERROR)  # batch says what matters
    return executor_for(name, jobs=jobs, scheduler=scheduler)


# --- the HTTP service: serve, token (needs the service extra) ------------------------------------

EXIT_USAGE = 2


class _MissingExtra(click.ClickException):
    """A command whose optional dependencies are not installed: a usage problem (exit 2)."""

    exit_code = EXIT_USAGE


def _need_extra(extra: str, *modules: str) -> None:
    """Refuse, naming what to install, a command whose extra is missing."""
    import importlib.util

    missing = [name for name in modules if importlib.util.find_spec(name) is None]
    if missing:
        raise _MissingExtra(
            f"this command needs {', '.join(missing)}: pip install 'scaleready[{extra}]'"
        )


store_option = click.option(  # --url, as history and reassess name the same database
    "--url",
    "store",
    metavar="URL",
    help="The history database: sqlite:///PATH or postgresql+psycopg://... "
    "[default: $SCALEREADY_HISTORY_URL, else a SQLite file in the user's data folder]",
)


@cli.command(epilog=EXIT_CODES_HELP)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option(
    "--workers", type=click.IntRange(1), default=2, show_default=True, help="Worker processes."
)
@store_option
@click.option(
    "--policies",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    metavar="DIR",
    help="A folder of policy files, which requests name by file name (scale-up-fund.yaml: "
    "?policy=scale-up-fund).",
)
@click.option(
    "--max-request-bytes",
    type=click.IntRange(1),
    default=lambda: _service_default("DEFAULT_MAX_REQUEST_BYTES"),
    show_default="10 MiB",
    help="Refuse larger requests (413).",
)
@click.option(
    "--rounds-dir",
    type=click.Path(path_type=Path, file_okay=False),
    metavar="DIR",
    help="Where rounds' files and results are kept; every worker (on every machine) must "
    "reach it [default: the user's data folder, scaleready/rounds].",
)
@click.option(
    "--stale-after",
    type=click.FloatRange(min=1),
    default=lambda: _service_default("DEFAULT_STALE_SECONDS"),
    show_default="30",
    metavar="SECONDS",
    help="A round silent this long lost its worker, and is taken up again by another.",
)
def serve(host, port, workers, store, policies, max_request_bytes, rounds_dir, stale_after):
    """Serve assessments and grant rounds over HTTP, for grant systems (docs/service.md).

    Each request carries a funder's token (`scaleready token issue FUNDER`) and sees only
    that funder's assessments and rounds; every assessment is recorded in the history.

    \b
    Example:
        scaleready serve --port 8000 --workers 4 --policies policies/
    """
    _need_extra("service", "fastapi", "uvicorn", "multipart", "sqlalchemy")
    import uvicorn

    from scaleready.service.settings import Settings

    chosen = {"rounds_dir": rounds_dir} if rounds_dir is not None else {}
    settings = Settings(store, policies, max_request_bytes, stale_after_s=stale_after, **chosen)
    _open_history(store, "--url").close()  # created or migrated here, before the workers
    os.environ.update(settings.environment())  # how the worker processes get the settings
    _tell(f"serving on http://{host}:{port} with {workers} worker(s); Ctrl-C stops")
    uvicorn.run(
        "scaleready.service.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
    )


def _service_default(name: str) -> float:
    from scaleready.service import settings

    return getattr(settings, name)


@cli.group()
def token():
    """Issue, list and revoke the funders' tokens of the HTTP service."""


@token.command("issue")
@click.argument("funder")
@click.option("--label", help="What the token is for, to tell tokens apart in `token list`.")
@store_option
def token_issue(funder, label, store):
    """Issue a token for FUNDER, printed once (only its hash is kept): give it to the grant
    system that calls the service for that funder.

    \b
    Example:
        scaleready token issue acme-foundation --label "grants portal"
    """
    with _open_history(store, "--url") as history:
        click.echo(history.issue_token(funder, label))
    _tell("this token is shown once; the service keeps only its hash")


@token.command("list")
@click.option("--funder", help="Only this funder's tokens.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@store_option
def token_list(funder, as_json, store):
    """List the tokens issued (never the tokens themselves): id, funder, label, when."""
    import dataclasses

    with _open_history(store, "--url", create=False) as history:
        tokens = history.tokens(funder)
    if as_json:
        rows = [dataclasses.asdict(info) for info in tokens]
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    for info in tokens:
        revoked = f"  revoked {info.revoked_at:%Y-%m-%d %H:%M}" if info.revoked_at else ""
        issued = f"issued {info.created_at:%Y-%m-%d %H:%M}"
        click.echo(f"{info.id}  {info.funder:<24} {info.label or '-':<24} {issued}{revoked}")


@token.command("revoke")
@click.argument("token_id")
@store_option
def token_revoke(token_id, store):
    """Revoke a token by its id (from `token list`): the service refuses it from now on."""
    with _open_history(store, "--url", create=False) as history:
        history.revoke_token(token_id)
    _tell(f"revoked token {token_id}")


def main() -> None:
    cli(prog_name="scaleready")
