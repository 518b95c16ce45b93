"""DATABASE_URL to an async SQLAlchemy engine: PostgreSQL through asyncpg, else SQLite through aiosqlite."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

APP_NAME = "nhsmail-bot"
CONNECT_TIMEOUT_S = 5.0
SQLITE_BUSY_S = 15.0  # how long a write waits for another process's (a report's, a purge's) to finish
POSTGRES_CONNECT_ARGS: dict[str, Any] = {
    "timeout": CONNECT_TIMEOUT_S,
    "command_timeout": 10.0,
    # a commit need not wait for the disk: a crash may lose the last moments' keys and events
    # (a retry answered twice at worst), never consistency; a commit drops from ~10 ms to <1 ms
    "server_settings": {"synchronous_commit": "off", "application_name": APP_NAME},
}


class DatabaseUrlError(ValueError):
    """DATABASE_URL names no database this bot can use."""


def data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The user's data directory for the bot: $XDG_DATA_HOME/nhsmail-bot, else the platform's own."""
    environ = os.environ if environ is None else environ
    if environ.get("XDG_DATA_HOME"):
        return Path(environ["XDG_DATA_HOME"]) / APP_NAME
    from platformdirs import user_data_path

    return user_data_path(APP_NAME, appauthor=False)


def to_async_url(database_url: str, environ: Mapping[str, str] | None = None) -> URL:
    """The async driver's URL: postgresql:// -> postgresql+asyncpg://, sqlite:/// (or nothing) ->
    sqlite+aiosqlite:/// in a file (the default one under the user's data directory)."""
    if not database_url.strip():
        return make_url(f"sqlite+aiosqlite:///{data_dir(environ) / 'nhsmail-bot.db'}")
    try:
        url = make_url(database_url.strip())
    except Exception as error:  # sqlalchemy.exc.ArgumentError; the message may hold the password
        message = "DATABASE_URL is not a database URL (postgresql://... or sqlite:///path)"
        raise DatabaseUrlError(message) from error
    backend = url.get_backend_name()
    if backend in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+asyncpg")
        if "sslmode" in url.query:  # managed databases' URLs say sslmode=require; asyncpg calls it ssl
            mode = url.query["sslmode"]
            url = url.difference_update_query(["sslmode"]).update_query_dict({"ssl": str(mode)})
        return url
    if backend == "sqlite":
        if not url.database or url.database == ":memory:":
            raise DatabaseUrlError("DATABASE_URL: SQLite needs a file (sqlite:///path/to/file.db)")
        return url.set(drivername="sqlite+aiosqlite")
    raise DatabaseUrlError(f"DATABASE_URL: {backend!r} is not supported (postgresql:// or sqlite:///path)")


def create_engine(url: URL) -> AsyncEngine:
    """An engine that gives up quickly on a database that does not answer, so answers never wait long."""
    if url.get_backend_name() == "sqlite":
        # a folder that cannot be made shows as the first connection's error: the store starts degraded
        with contextlib.suppress(OSError):
            Path(url.database or "").expanduser().parent.mkdir(parents=True, exist_ok=True)
        # few connections: each is a thread of its own in aiosqlite, and SQLite writes one at a time anyway
        engine = create_async_engine(
            url, pool_size=2, max_overflow=0, hide_parameters=True, connect_args={"timeout": SQLITE_BUSY_S}
        )

        @event.listens_for(engine.sync_engine, "connect")
        def _wal(dbapi_connection: object, _record: object) -> None:
            sqlite_settings(dbapi_connection)

        return engine
    return create_async_engine(
        url,
        # an error's message must not carry a row's values: they include redacted questions
        hide_parameters=True,
        pool_size=10,
        max_overflow=10,
        pool_timeout=CONNECT_TIMEOUT_S,
        connect_args=POSTGRES_CONNECT_ARGS,
    )


def sqlite_settings(connection: Any) -> None:
    """What every connection to the SQLite file sets first (a DB-API connection)."""
    cursor = connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_S * 1000)}")
    # WAL lets the report read while the server writes; other processes wait for the lock. It stays set in
    # the file, and setting it fails at once (it does not wait) while another connection holds the file:
    # then that connection, one of this bot's, has set it
    cursor.execute("PRAGMA journal_mode")
    if cursor.fetchone()[0] != "wal":
        with contextlib.suppress(sqlite3.OperationalError):
            cursor.execute("PRAGMA journal_mode=WAL")
    # NORMAL in WAL mode: no fsync per commit; a power cut may lose the last moments, never corrupts
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
