"""Alembic run programmatically on the store's own engine; one replica migrates while the others wait."""

from __future__ import annotations

import logging
import zlib
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, event, text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from adapters.store.database import sqlite_settings

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# any fixed 64-bit number no other application on the database uses for pg_advisory_lock
ADVISORY_LOCK_ID = zlib.crc32(b"nhsmail-bot schema migrations")


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head() -> str:
    """The newest revision the package ships."""
    return ScriptDirectory.from_config(_config()).get_current_head() or ""


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _upgrade(connection: Connection) -> str | None:
    before = _current(connection)
    if before != head():
        command.upgrade(_config(connection), "head")
        logger.info("store: database schema upgraded from %s to %s", before or "empty", head())
    return before


async def upgrade(url: URL) -> None:
    """Bring the schema to the newest revision. PostgreSQL: under an advisory lock, so replicas starting
    together on an empty database take turns; SQLite: inside BEGIN IMMEDIATE, which does the same."""
    alembic_logger = logging.getLogger("alembic")
    if alembic_logger.level == logging.NOTSET:  # its INFO lines (plugins, context) mean nothing to operators
        alembic_logger.setLevel(logging.WARNING)
    if url.get_backend_name() == "sqlite":
        engine = _sqlite_migration_engine(url)
    else:
        engine = create_async_engine(
            url, poolclass=NullPool, hide_parameters=True, connect_args={"timeout": 10.0}
        )
    try:
        async with engine.connect() as connection:
            if url.get_backend_name() == "postgresql":
                await connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": ADVISORY_LOCK_ID})
                await connection.commit()
                try:
                    await connection.run_sync(_upgrade)
                    await connection.commit()
                finally:
                    await connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": ADVISORY_LOCK_ID})
                    await connection.commit()
            else:
                await connection.run_sync(_upgrade)
                await connection.commit()
    finally:
        await engine.dispose()


def _sqlite_migration_engine(url: URL) -> AsyncEngine:
    # pysqlite would run DDL outside any transaction; taking the write lock first makes a second process
    # wait, then find the schema already at head (the recipe in SQLAlchemy's SQLite dialect notes)
    engine = create_async_engine(
        url, poolclass=NullPool, hide_parameters=True, connect_args={"timeout": 60.0}
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _no_implicit_begin(dbapi_connection: object, _record: object) -> None:
        sqlite_settings(dbapi_connection)  # the first to open a new file makes it WAL
        dbapi_connection.isolation_level = None  # type: ignore[attr-defined]

    @event.listens_for(engine.sync_engine, "begin")
    def _begin_immediate(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


async def current(engine: AsyncEngine) -> str | None:
    """The database's revision, None when it has none yet."""
    async with engine.connect() as connection:
        return await connection.run_sync(_current)
