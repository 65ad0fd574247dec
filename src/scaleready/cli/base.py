"""What the commands share: exit codes, signals, messages, the options that choose rulesets and
plugins, and the engine and registry those options make."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from scaleready.errors import INTERNAL_ERROR, ScaleReadyError

if TYPE_CHECKING:
    from scaleready.assessment.engine import Engine
    from scaleready.assessment.policy import Policy
    from scaleready.config import ProjectConfig
    from scaleready.plugins import Registry

EXIT_GATE_FAILED = 1
EXIT_USAGE = 2
EXIT_INVALID_INPUT = 3
EXIT_INTERNAL = INTERNAL_ERROR  # a bug (see errors.item_failure)
EXIT_INTERRUPTED = 128 + signal.SIGINT  # 130, as shells report it
EXIT_TERMINATED = 128 + signal.SIGTERM  # 143
EXIT_OUTPUT_CLOSED = 128 + signal.SIGPIPE  # 141, as shells report a command ended by SIGPIPE
EXIT_CODES_HELP = (
    "\b\nExit codes: 0 done, 1 gate failed (--fail-under, --policy), 2 usage error (also a\n"
    "missing extra, a history or Dask scheduler that cannot be reached),\n"
    "3 invalid input (profile, ruleset, policy, scaleready.toml),\n"
    "4 plugin or internal error, 130 interrupted (SIGINT), 141 output closed by its reader,\n"
    "143 terminated (SIGTERM)."
)


def output_closed(ctx: click.Context) -> None:
    """End quietly when standard output's reader has gone (``scaleready ... | head``).

    Python writes what is still buffered when it exits, which would fail again: standard output
    is pointed at /dev/null first, as the Python docs advise for SIGPIPE.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    ctx.exit(EXIT_OUTPUT_CLOSED)


class Terminated(BaseException):
    """SIGTERM, raised in the main thread as SIGINT raises KeyboardInterrupt."""


_SIGNALLED: list[int] = []  # signals received by this command, even if their exception was lost


def _on_signal(signum: int, frame: object) -> None:
    _SIGNALLED.append(signum)
    _raise_for(signum)


def _raise_for(signum: int) -> None:
    raise KeyboardInterrupt if signum == signal.SIGINT else Terminated


def check_signals() -> None:
    """Raise again for a signal whose exception Python dropped: one raised while a finalizer
    (``__del__``) runs is printed and ignored. Called before outputs are put in place."""
    if _SIGNALLED:
        _raise_for(_SIGNALLED[0])


@contextmanager
def signals_as_exceptions() -> Iterator[None]:
    """SIGINT raises KeyboardInterrupt and SIGTERM Terminated, in the main thread, unless the
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
    if not isinstance(unraisable.exc_value, KeyboardInterrupt | Terminated):
        sys.__unraisablehook__(unraisable)


def stop(ctx: click.Context, why: str, exit_code: int) -> None:
    """End after an interrupt; a second Ctrl-C now would only cut this message short."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    click.echo(f"{why}: stopped; no output was left half-written", err=True)
    ctx.exit(exit_code)


def check_settings() -> None:
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


def show_warnings_as_messages() -> None:
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


def tell(message: str) -> None:
    """A line of progress on stderr (what was written)."""
    click.echo(message, err=True)


def strict_plugins_option(command):
    return click.option(
        "--strict-plugins", is_flag=True, help="Fail (exit 4) if any plugin fails to load."
    )(command)


def engine_for(ctx: click.Context, strict: bool, **options: Any) -> Engine:
    """The engine for these options, after reporting plugin problems."""
    from scaleready.assessment.build import create_engine

    engine, registry = create_engine(**options)
    _report_plugin_problems(ctx, strict, registry)
    return engine


def registry_for(ctx: click.Context, strict: bool) -> Registry:
    """The installed plugins' registry, after reporting plugin problems."""
    from scaleready.plugins import load_registry

    registry = load_registry()
    _report_plugin_problems(ctx, strict, registry)
    return registry


def is_strict(ctx: click.Context, strict: bool) -> bool:
    """--strict-plugins given to this command or to `scaleready` itself."""
    return strict or ctx.find_root().obj["strict_plugins"]


def _report_plugin_problems(ctx: click.Context, strict: bool, registry: Registry) -> None:
    """Warn about each plugin problem; with --strict-plugins, each is an error (exit 4)."""
    if is_strict(ctx, strict) and registry.problems:
        refuse_plugin_problems(ctx, registry)
    for problem in distinct(registry.problems):
        say(f"warning: {problem} (--strict-plugins makes this an error)")


def refuse_plugin_problems(ctx: click.Context, registry: Registry) -> None:
    """--strict-plugins: every plugin problem is an error, and the exit code is 4."""
    for problem in distinct(registry.problems):
        say(f"error: {problem}")
    ctx.exit(EXIT_INTERNAL)


def distinct(problems: Iterable[object]) -> list[str]:
    """Each message once, in order."""
    return list(dict.fromkeys(map(str, problems)))


def refuse_clashes(targets: dict[str, Path | None], inputs: Iterable[Path | str | None]) -> None:
    """Refuse, before any work, an output that would overwrite an input or another output."""
    from scaleready.report import outputs

    problem = outputs.clash(targets, inputs)
    if problem is not None:
        raise click.UsageError(problem)


class LazyChoice(click.Choice):
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


def _backends() -> Sequence[str]:
    from scaleready.assessment.programs import BACKENDS

    return BACKENDS


rules_option = click.option(
    "--rules",
    "rule_files",
    multiple=True,
    type=click.Path(path_type=Path),
    metavar="FILE",
    help="Also use this ruleset file (repeatable); replaces an installed one, same id.",
)

backend_option = click.option(
    "--backend",
    type=LazyChoice(_backends),
    default="auto",
    show_default=True,
    help="durable_rules, or the plain-Python evaluator.",
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
        backend_option,
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


def engine_and_policy(
    ctx: click.Context, rulesets, rule_files, policy, backend, strict_plugins
) -> tuple[Engine, Policy | None]:
    """The engine over the rulesets that count (after reporting plugin problems), and the
    policy: --policy, else scaleready.toml's. Which count: docs/choosing-rulesets.md."""
    from scaleready.assessment.build import create_engine
    from scaleready.assessment.policy import read_policy

    config = nearest_config(ctx)
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


def nearest_config(ctx: click.Context) -> ProjectConfig | None:
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


def check_each(files, check) -> None:
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
