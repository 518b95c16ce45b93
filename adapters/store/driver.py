"""The statements of every turn, run on the database's driver itself: dedupe claims, and the batched writes
of events, contexts and questions.

SQLAlchemy still writes each statement, once, from the schema and in the database's dialect; only running
it skips SQLAlchemy's async layer. Through it a claim cost about 160 µs of CPU on SQLite (a thread hop for
each of cursor, execute, fetch, close and the isolation level) and 65 µs on PostgreSQL: more than all the
rest the store does for a turn. Here a batch is one hop to SQLite's own thread, or one round trip to
PostgreSQL. Everything rarer (votes, expiry, context reads, reports) stays with SQLAlchemy."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import Table, bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Dialect

from adapters.store import schema
from adapters.store.database import POSTGRES_CONNECT_ARGS, SQLITE_BUSY_S, sqlite_settings

Row = dict[str, Any]
T = TypeVar("T")

# keys claimed by one statement: a busy server's concurrent turns share it; more go in another
CLAIMS_AT_ONCE = 64


class Driver(Protocol):
    async def claim(self, keys: Sequence[tuple[str, datetime]]) -> set[str]:
        """Insert each (key, expiry) not there yet; the keys inserted, which this replica has won."""
        ...

    async def write(self, events: list[Row], questions: list[Row], contexts: list[Row]) -> None:
        """Insert the events and questions and upsert the contexts, in one transaction."""
        ...

    async def close(self) -> None: ...


def driver_for(url: URL, dialect: Dialect) -> Driver:
    if url.get_backend_name() == "postgresql":
        return PostgresDriver(url, dialect)
    return SqliteDriver(url, dialect)


class Statements:
    """The SQL of each statement for the dialect, and each row's values as the driver takes them."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self._insert = postgresql.insert if dialect.name == "postgresql" else sqlite.insert
        self.events = self._inserts(schema.events)
        self.questions = self._inserts(schema.unanswered)
        upsert = self._insert(schema.contexts)
        changed = {c: upsert.excluded[c] for c in ("topic", "question", "updated_at", "expires_at")}
        self.contexts = self._compiled(
            upsert.on_conflict_do_update(index_elements=["conversation"], set_=changed), schema.contexts
        )
        self._claims: dict[int, str] = {}
        self._processors = {
            table.name: [(c.name, c.type.bind_processor(dialect)) for c in table.c]
            for table in (schema.events, schema.unanswered, schema.contexts, schema.dedupe_keys)
        }

    def claims(self, count: int) -> str:
        """INSERT of `count` keys, returning the ones that were not there yet."""
        if count not in self._claims:
            table = schema.dedupe_keys
            rows = [{"key": bindparam(f"k{n}"), "expires_at": bindparam(f"e{n}")} for n in range(count)]
            statement = self._insert(table).values(rows).on_conflict_do_nothing(index_elements=["key"])
            self._claims[count] = str(statement.returning(table.c.key).compile(dialect=self.dialect))
        return self._claims[count]

    def claim_values(self, keys: Sequence[tuple[str, datetime]]) -> list[Any]:
        (_, key), (_, expiry) = self._processors["dedupe_keys"]
        return [v for k, e in keys for v in (key(k) if key else k, expiry(e) if expiry else e)]

    def values(self, table: Table, rows: list[Row]) -> list[tuple[Any, ...]]:
        """Rows as positional tuples in the statement's column order, converted as SQLAlchemy would (a
        column a row leaves out is NULL)."""
        columns = [(name, p) for name, p in self._processors[table.name] if name != "id"]
        return [tuple(p(row.get(name)) if p else row.get(name) for name, p in columns) for row in rows]

    def _inserts(self, table: Table) -> str:
        return self._compiled(table.insert(), table)

    def _compiled(self, statement: Any, table: Table) -> str:
        columns = [c.name for c in table.c if c.name != "id"]
        # for_executemany: no RETURNING of the new ids, which PostgreSQL's dialect adds otherwise
        return str(statement.compile(dialect=self.dialect, column_keys=columns, for_executemany=True))


def _chunks(keys: Sequence[T]) -> list[Sequence[T]]:
    return [keys[n : n + CLAIMS_AT_ONCE] for n in range(0, len(keys), CLAIMS_AT_ONCE)]


class SqliteDriver:
    """The stdlib's sqlite3 on one thread of its own, which opens the file on first use and keeps it."""

    def __init__(self, url: URL, dialect: Dialect) -> None:
        self._path = url.database or ""
        self._sql = Statements(dialect)
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="store-sqlite")
        self._connection: sqlite3.Connection | None = None

    async def claim(self, keys: Sequence[tuple[str, datetime]]) -> set[str]:
        def run(connection: sqlite3.Connection) -> set[str]:
            taken: set[str] = set()
            for chunk in _chunks(keys):
                sql, values = self._sql.claims(len(chunk)), self._sql.claim_values(chunk)
                taken.update(key for (key,) in connection.execute(sql, values).fetchall())
            return taken

        return await self._in_thread(run)

    async def write(self, events: list[Row], questions: list[Row], contexts: list[Row]) -> None:
        sql = self._sql
        statements = [
            (sql.events, sql.values(schema.events, events)),
            (sql.questions, sql.values(schema.unanswered, questions)),
            (sql.contexts, sql.values(schema.contexts, contexts)),
        ]

        def run(connection: sqlite3.Connection) -> None:
            connection.execute("BEGIN")
            try:
                for statement, values in statements:
                    if values:
                        connection.executemany(statement, values)
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

        await self._in_thread(run)

    async def close(self) -> None:
        def run(connection: sqlite3.Connection) -> None:
            connection.close()
            self._connection = None

        if self._connection is not None:
            await self._in_thread(run)
        self._thread.shutdown(wait=False)

    async def _in_thread(self, work: Callable[[sqlite3.Connection], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, self._run, work)

    def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        if self._connection is None:
            # autocommit: a claim is one statement; a write says BEGIN and COMMIT itself
            connection = sqlite3.connect(
                self._path, timeout=SQLITE_BUSY_S, isolation_level=None, check_same_thread=False
            )
            sqlite_settings(connection)
            self._connection = connection
        return work(self._connection)


class PostgresDriver:
    """asyncpg's own pool, opened on first use with the connection settings of SQLAlchemy's engine."""

    def __init__(self, url: URL, dialect: Dialect) -> None:
        _, self._connect = dialect.create_connect_args(url)
        self._sql = Statements(dialect)
        self._pool: Any = None
        self._opening = asyncio.Lock()

    async def claim(self, keys: Sequence[tuple[str, datetime]]) -> set[str]:
        pool = await self._ready()
        taken: set[str] = set()
        async with pool.acquire() as connection:
            for chunk in _chunks(keys):
                rows = await connection.fetch(self._sql.claims(len(chunk)), *self._sql.claim_values(chunk))
                taken.update(row[0] for row in rows)
        return taken

    async def write(self, events: list[Row], questions: list[Row], contexts: list[Row]) -> None:
        sql = self._sql
        pool = await self._ready()
        async with pool.acquire() as connection, connection.transaction():
            for statement, table, rows in (
                (sql.events, schema.events, events),
                (sql.questions, schema.unanswered, questions),
                (sql.contexts, schema.contexts, contexts),
            ):
                if rows:
                    await connection.executemany(statement, sql.values(table, rows))

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()

    async def _ready(self) -> Any:
        if self._pool is not None:
            return self._pool
        async with self._opening:
            if self._pool is None:
                import asyncpg

                self._pool = await asyncpg.create_pool(
                    min_size=1, max_size=2, **self._connect, **POSTGRES_CONNECT_ARGS
                )
        return self._pool
