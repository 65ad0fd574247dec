"""The HTTP service (docs/service.md): serve, and the funders' tokens; needs the service extra."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from scaleready.cli.base import EXIT_CODES_HELP, EXIT_USAGE, tell
from scaleready.cli.history import open_history


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


@click.command(epilog=EXIT_CODES_HELP)
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
    open_history(store, "--url").close()  # created or migrated here, before the workers
    os.environ.update(settings.environment())  # how the worker processes get the settings
    tell(f"serving on http://{host}:{port} with {workers} worker(s); Ctrl-C stops")
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


@click.group()
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
    with open_history(store, "--url") as history:
        click.echo(history.issue_token(funder, label))
    tell("this token is shown once; the service keeps only its hash")


@token.command("list")
@click.option("--funder", help="Only this funder's tokens.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@store_option
def token_list(funder, as_json, store):
    """List the tokens issued (never the tokens themselves): id, funder, label, when."""
    import dataclasses

    with open_history(store, "--url", create=False) as history:
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
    with open_history(store, "--url", create=False) as history:
        history.revoke_token(token_id)
    tell(f"revoked token {token_id}")
