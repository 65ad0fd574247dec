"""The audit history (docs/history.md): --record, history and reassess."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from scaleready.cli.base import (
    EXIT_CODES_HELP,
    EXIT_INVALID_INPUT,
    backend_option,
    registry_for,
    rules_option,
    say,
    strict_plugins_option,
    tell,
)

if TYPE_CHECKING:
    from scaleready.assessment.policy import Policy
    from scaleready.history.recording import Recorder


def open_history(url: str | None, option: str, create: bool = True):
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


def open_recorder(ctx: click.Context, record: str | None, policy: Policy | None) -> Recorder | None:
    """With --record, a recorder into the history (opened before any work is done)."""
    if record is None:
        return None
    store = open_history(record or None, "--record")
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
    tell(f"recorded {count} assessment{'' if count == 1 else 's'} in {recorder.store.url}")


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


@click.command(epilog=EXIT_CODES_HELP)
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

    with open_history(url, "--url", create=False) as store:
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
        tell("no recorded assessments match")


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


@click.command(epilog=EXIT_CODES_HELP)
@history_filters(limit=None)
@rules_option
@backend_option
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

    registry = registry_for(ctx, strict_plugins)
    add_ruleset_files(registry, rule_files)
    with open_history(url, "--url", create=False) as store:
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
    tell(f"reassessed {len(done) - failed} of {len(done)}; {changed} changed")
    if failed:
        ctx.exit(EXIT_INVALID_INPUT)
