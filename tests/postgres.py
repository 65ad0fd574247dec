"""A real PostgreSQL server for the tests: the one $SCALEREADY_TEST_POSTGRES_URL names, else one
started in a temporary folder with Debian's initdb and pg_ctl, else a skip that says why.

The server started here listens only on a Unix socket in its own folder (no port to clash
with), trusts local connections, and is stopped and removed when the tests end. PostgreSQL
refuses to run as root, so under root it runs as the ``postgres`` user (via runuser).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

URL_VARIABLE = "SCALEREADY_TEST_POSTGRES_URL"
SERVER_USER = "postgres"


class NoServer(Exception):
    """No PostgreSQL server can be had here; the message says why."""


@contextmanager
def server() -> Iterator[str]:
    """The URL of a PostgreSQL server's maintenance database, for the tests' lifetime."""
    given = os.environ.get(URL_VARIABLE, "").strip()
    if given:
        yield given
        return
    with _temporary_server() as url:
        yield url


def new_database(server_url: str) -> str:
    """A new, empty database on the server; its URL."""
    import psycopg

    name = f"scaleready_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_libpq(server_url), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return _with_database(server_url, name)


def _libpq(url: str) -> str:
    """A SQLAlchemy URL as psycopg takes it."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


def _with_database(url: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    parsed = make_url(url).set(drivername="postgresql+psycopg", database=name)
    return parsed.render_as_string(hide_password=False)


def _binaries() -> Path:
    """The folder holding initdb and pg_ctl: on the PATH, else Debian's versioned folder."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(folder, "pg_ctl").is_file():
            return Path(folder)
    raise NoServer(
        f"no PostgreSQL server: set {URL_VARIABLE}, or install PostgreSQL's server "
        "(Debian: apt-get install postgresql)"
    )


def _as_server_user() -> list[str]:
    """The command prefix that runs PostgreSQL's programs as a user it accepts."""
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser")
    if runuser is None:
        raise NoServer("running as root, and no runuser to start PostgreSQL as another user")
    try:
        import pwd

        pwd.getpwnam(SERVER_USER)
    except KeyError:
        raise NoServer(f"running as root, and no {SERVER_USER!r} user to run PostgreSQL") from None
    return [runuser, "-u", SERVER_USER, "--"]


@contextmanager
def _temporary_server() -> Iterator[str]:
    binaries, prefix = _binaries(), _as_server_user()
    folder = Path(tempfile.mkdtemp(prefix="scaleready-pg-"))
    try:
        if prefix:
            shutil.chown(folder, SERVER_USER)
        data = folder / "data"
        _run(prefix, binaries / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "--no-sync")
        # -F: no fsync (a throwaway server); -h '': no TCP; -k: the socket in our folder
        options = f"-F -h '' -k {folder}"
        _run(
            prefix,
            binaries / "pg_ctl",
            "-D",
            data,
            "-o",
            options,
            "-l",
            folder / "log",
            "-w",
            "start",
        )
        try:
            yield f"postgresql+psycopg://postgres@/postgres?host={folder}"
        finally:
            _run(prefix, binaries / "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _run(prefix: list[str], *command: object) -> None:
    result = subprocess.run(
        [*prefix, *map(str, command)], capture_output=True, text=True, timeout=120
    )
    if result.returncode != 0:
        raise NoServer(f"{Path(str(command[0])).name} failed: {result.stderr.strip()[-500:]}")
