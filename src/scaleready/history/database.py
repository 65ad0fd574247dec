"""Opening a history database: its URL, the driver's settings, migrating it to the newest schema."""

from __future__ import annotations

import hashlib
import os
import sys
from importlib.resources import files
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError, DatabaseError
from sqlalchemy.pool import StaticPool

from scaleready.history.errors import HistoryError

URL_VARIABLE = "SCALEREADY_HISTORY_URL"
POSTGRES_HINT = "PostgreSQL needs an optional extra: pip install 'scaleready[postgres]'"
# Any fixed number: every process migrating the same PostgreSQL database takes this lock first.
_MIGRATION_LOCK = int.from_bytes(hashlib.sha256(b"scaleready.history").digest()[:4], "big")


def default_url() -> str:
    """$SCALEREADY_HISTORY_URL, else a SQLite file in the user's data folder."""
    return (
        os.environ.get(URL_VARIABLE, "").strip() or f"sqlite:///{data_folder() / 'history.sqlite'}"
    )


def data_folder() -> Path:
    """Where scaleready keeps its data on this platform (as platformdirs' user_data_dir)."""
    home = Path.home()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share")
    return base / "scaleready"


def parse_url(url: str) -> URL:
    """A SQLAlchemy URL for a SQLite or PostgreSQL history; a bare path means a SQLite file."""
    if "://" not in url:
        url = f"sqlite:///{Path(url).expanduser()}"
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise HistoryError(
            f"{_shown(url)!r} is not a database URL; write sqlite:///PATH or "
            "postgresql+psycopg://USER@HOST/DATABASE"
        ) from None
    if parsed.drivername in ("postgresql", "postgres"):  # psycopg 3 is the driver we install
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername not in ("sqlite", "postgresql+psycopg"):
        raise HistoryError(
            f"{parsed.render_as_string(hide_password=True)}: scaleready keeps its history in "
            "SQLite (sqlite:///PATH) or PostgreSQL (postgresql+psycopg://...), not "
            f"{parsed.drivername}"
        )
    return parsed


def _shown(url: str) -> str:
    """A URL as a message may show it: no password."""
    scheme, _, rest = url.partition("://")
    if "@" in rest:
        credentials, _, host = rest.rpartition("@")
        rest = f"{credentials.split(':', 1)[0]}:***@{host}" if ":" in credentials else rest
    return f"{scheme}://{rest}" if rest or scheme != url else url


def connect(url: URL, *, create: bool = True) -> Engine:
    """An engine for the history's database, made ready for several processes at once;
    ``create=False``: refuse a SQLite file that does not exist yet."""
    if url.drivername == "sqlite":
        return _sqlite_engine(url, create)
    try:
        return create_engine(url, pool_pre_ping=True)
    except ModuleNotFoundError as missing:
        raise HistoryError(f"{POSTGRES_HINT} ({missing.name} is not installed)") from None


def _sqlite_engine(url: URL, create: bool) -> Engine:
    memory = url.database in (None, "", ":memory:")
    if not memory:
        assert url.database is not None
        path = Path(url.database)
        if not create and not path.is_file():
            raise HistoryError(f"no history at {path}: nothing has been recorded there")
        if path.exists() and not path.is_file():  # SQLite would say only "disk I/O error"
            raise HistoryError(
                f"the history at {path} is not a regular file (a folder, a pipe or a device); "
                "give the path of a SQLite file, or of one to make"
            )
        _check_folder(path)
    options: dict = {"connect_args": {"timeout": 30}}  # wait for another process's write
    if memory:  # one connection shared, or each would see a database of its own
        options.update(poolclass=StaticPool, connect_args={"check_same_thread": False})
    engine = create_engine(url, **options)
    event.listen(engine, "connect", _sqlite_connected)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _check_folder(path: Path) -> None:
    if path.parent.is_dir():
        return
    if path == data_folder() / path.name:  # the default place: made on first use
        path.parent.mkdir(parents=True, exist_ok=True)
        return
    raise HistoryError(f"cannot make the history file {path}: folder {path.parent} does not exist")


def _sqlite_connected(dbapi_connection, connection_record) -> None:
    # SQLAlchemy's recipe: leave transactions to us (pysqlite would not open one for DDL)
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")  # readers do not wait for a writer
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    immediate = connection.get_execution_options().get("sqlite_immediate", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the database to the newest schema (or to ``revision``, as the tests of an upgrade
    do), once, whichever process comes first."""
    from alembic import command
    from alembic.config import Config
    from alembic.util import CommandError

    config = Config()
    config.set_main_option("script_location", str(files("scaleready.history") / "migrations"))
    try:
        connecting = engine.connect().execution_options(sqlite_immediate=True)
        with connecting as connection, connection.begin():
            _lock_for_migration(connection)
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    except DatabaseError as error:  # unreachable, refused, or a file that is no database
        raise unreachable(engine.url, error) from None
    except CommandError as error:  # a revision this version does not know: a newer schema
        raise HistoryError(
            f"the history at {engine.url.render_as_string(hide_password=True)} has a schema "
            f"this version of scaleready does not know ({error}); upgrade scaleready"
        ) from None


def _lock_for_migration(connection: Connection) -> None:
    """PostgreSQL: one migration at a time (SQLite's BEGIN IMMEDIATE already is one)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})


def unreachable(url: URL, error: Exception) -> HistoryError:
    """The database could not be opened: say which, and the driver's own reason, in one line."""
    reason = str(getattr(error, "orig", error)).strip().splitlines()[0]
    return HistoryError(
        f"cannot open the history at {url.render_as_string(hide_password=True)}: {reason}"
    )
