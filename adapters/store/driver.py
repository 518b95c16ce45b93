"""The statements of every turn, run on the database's driver itself: dedupe claims, context reads, and the
batched writes of events, contexts and questions.

SQLAlchemy still writes each statement, once, from the schema and in the database's dialect; only running
it skips SQLAlchemy's async layer. Through it a claim cost about 160 µs of CPU on SQLite (a thread hop for
each of cursor, execute, fetch, close and the isolation level) and 65 µs on PostgreSQL: more than all the
rest the store does for a turn. Here a claim or a read is one statement on SQLite (on the event loop when
the file is free) or one round trip to PostgreSQL, and a batch of writes one transaction on a connection of
its own. Everything rarer (votes, expiry, forgetting a key, reports) stays with SQLAlchemy."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import Table, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Dialect

from adapters.store import schema
from adapters.store.database import POSTGRES_CONNECT_ARGS, SQLITE_BUSY_S, sqlite_settings

Row = dict[str, Any]
T = TypeVar("T")

CLOSE_TIMEOUT_S = 2.0
# keys claimed by one statement: a busy server's concurrent turns share it; more go in another
CLAIMS_AT_ONCE = 64
# the rows of one INSERT: a batch is written in statements of these sizes, largest first, so that each
# table has four statements to prepare and keep, and a batch of a hundred rows takes four
ROWS_AT_ONCE = (64, 16, 4, 1)


class Driver(Protocol):
    async def claim(self, keys: Sequence[tuple[str, datetime]]) -> set[str]:
        """Insert each (key, expiry) not there yet; the keys inserted, which this replica has won."""
        ...

    async def recall(self, conversations: Sequence[str], now: datetime) -> dict[str, tuple[str, datetime]]:
        """Each conversation's topic and when it was answered, for those with a context not yet expired."""
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
        self._claims: dict[int, str] = {}
        self._writes: dict[tuple[str, int], str] = {}
        self._recalls: dict[int, str] = {}
        self._when = schema.contexts.c.updated_at.type.dialect_impl(dialect).result_processor(dialect, None)
        # each table's written columns, in the statements' order, and how SQLAlchemy converts their values
        self._columns = {
            table.name: [
                (name, table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
                for name in _written(table)
            ]
            for table in (schema.events, schema.unanswered, schema.contexts, schema.dedupe_keys)
        }

    def claiming(self, keys: Sequence[tuple[str, datetime]]) -> list[tuple[str, list[Any]]]:
        """The statements that claim `keys`, with their values: one a CLAIMS_AT_ONCE keys."""
        return [(self._claims_of(len(chunk)), self._claim_values(chunk)) for chunk in _chunks(keys)]

    def recalling(self, conversations: Sequence[str], now: datetime) -> list[tuple[str, list[Any]]]:
        """The statements that read the conversations' contexts, with their values (see `recalled`)."""
        return [(self._recalls_of(len(c)), self._recall_values(c, now)) for c in _chunks(conversations)]

    def writing(
        self, events: list[Row], questions: list[Row], contexts: list[Row]
    ) -> list[tuple[str, list[Any]]]:
        """The statements of a batch of writes, with their values: each table's rows in a few INSERTs of
        many rows, never one a row. SQLite lets go of Python's lock for each statement it runs, so a
        statement a row made the writes' thread wait on the event loop once a row, holding the file's lock
        all the while (a batch of a hundred rows held it for ~15 ms, and claims queued behind it)."""
        written = [(schema.events, events), (schema.unanswered, questions), (schema.contexts, contexts)]
        statements = []
        for table, rows in written:
            values = self._values(table, rows)
            while values:
                size = next(size for size in ROWS_AT_ONCE if size <= len(values))
                chunk, values = values[:size], values[size:]
                statements.append((self._writes_of(table, size), [v for row in chunk for v in row]))
        return statements

    def _claims_of(self, count: int) -> str:
        """INSERT of `count` keys, returning the ones that were not there yet."""
        if count not in self._claims:
            table = schema.dedupe_keys
            rows = [{"key": bindparam(f"k{n}"), "expires_at": bindparam(f"e{n}")} for n in range(count)]
            statement = self._insert(table).values(rows).on_conflict_do_nothing(index_elements=["key"])
            self._claims[count] = str(statement.returning(table.c.key).compile(dialect=self.dialect))
        return self._claims[count]

    def _recalls_of(self, count: int) -> str:
        """SELECT of `count` conversations' contexts that expire after the last parameter."""
        if count not in self._recalls:
            c = schema.contexts.c
            wanted = [bindparam(f"c{n}") for n in range(count)]
            statement = select(c.conversation, c.topic, c.updated_at).where(
                c.conversation.in_(wanted) & (c.expires_at > bindparam("now", type_=c.expires_at.type))
            )
            self._recalls[count] = str(statement.compile(dialect=self.dialect))
        return self._recalls[count]

    def _recall_values(self, conversations: Sequence[str], now: datetime) -> list[Any]:
        expiry = self._bind("contexts", "expires_at")
        return [*conversations, expiry(now) if expiry else now]

    def recalled(self, rows: Sequence[Sequence[Any]]) -> dict[str, tuple[str, datetime]]:
        when = self._when
        return {row[0]: (row[1], when(row[2]) if when else row[2]) for row in rows}

    def _claim_values(self, keys: Sequence[tuple[str, datetime]]) -> list[Any]:
        key, expiry = self._bind("dedupe_keys", "key"), self._bind("dedupe_keys", "expires_at")
        return [v for k, e in keys for v in (key(k) if key else k, expiry(e) if expiry else e)]

    def _bind(self, table: str, column: str) -> Callable[[Any], Any] | None:
        """How SQLAlchemy converts a value for that column before the driver takes it (None: as it is)."""
        return next(p for name, p in self._columns[table] if name == column)

    def _values(self, table: Table, rows: list[Row]) -> list[tuple[Any, ...]]:
        """Rows as positional tuples in the statement's column order, converted as SQLAlchemy would (a
        column a row leaves out is NULL)."""
        columns = self._columns[table.name]
        return [tuple([p(row.get(name)) if p else row.get(name) for name, p in columns]) for row in rows]

    def _writes_of(self, table: Table, count: int) -> str:
        """INSERT of `count` rows of `table` (contexts: an upsert on the conversation)."""
        if (table.name, count) not in self._writes:
            columns = _written(table)
            rows = [{name: bindparam(f"{name}_{n}") for name in columns} for n in range(count)]
            statement = self._insert(table).values(rows)
            if table is schema.contexts:
                kept = ("topic", "question", "updated_at", "expires_at")
                changed = {c: statement.excluded[c] for c in kept}
                statement = statement.on_conflict_do_update(index_elements=["conversation"], set_=changed)
            compiled = statement.compile(dialect=self.dialect)
            # the values go in row by row, each row's in the table's order: so must the parameters
            assert compiled.positiontup == [f"{name}_{n}" for n in range(count) for name in columns]
            self._writes[(table.name, count)] = str(compiled)
        return self._writes[(table.name, count)]


def _written(table: Table) -> list[str]:
    """The columns a row of `table` gives: all but the id the database numbers."""
    return [c.name for c in table.c if c.name != "id"]


def _chunks(keys: Sequence[T]) -> list[Sequence[T]]:
    return [keys[n : n + CLAIMS_AT_ONCE] for n in range(0, len(keys), CLAIMS_AT_ONCE)]


class SqliteDriver:
    """The stdlib's sqlite3. A claim is tried first on the event loop itself, where it takes ~25 µs (a hop
    to a thread and back costs three times that), but only if the file is free at once: if another writer
    holds it, the claim waits for it on a thread of its own. Writes have their own thread, so the event loop
    never waits for a batch or the checkpoint after it."""

    def __init__(self, url: URL, dialect: Dialect) -> None:
        self._path = url.database or ""
        self._sql = Statements(dialect)
        self._here: sqlite3.Connection | None = None
        self._claims = _Connection(self._path, "store-claims")
        self._writes = _Connection(self._path, "store-writes")

    async def claim(self, keys: Sequence[tuple[str, datetime]]) -> set[str]:
        taken: set[str] = set()
        statements = self._sql.claiming(keys)
        try:
            while statements:
                taken |= _claimed(self._on_loop(), *statements[0])
                statements = statements[1:]
        except sqlite3.OperationalError as error:
            if not _busy(error):
                raise
        if statements:  # what the loop could not claim at once
            taken |= await self._claims.run(lambda c: set().union(*(_claimed(c, *s) for s in statements)))
        return taken

    async def recall(self, conversations: Sequence[str], now: datetime) -> dict[str, tuple[str, datetime]]:
        statements = self._sql.recalling(conversations, now)

        def run(connection: sqlite3.Connection) -> dict[str, tuple[str, datetime]]:
            rows = [row for sql, values in statements for row in connection.execute(sql, values).fetchall()]
            return self._sql.recalled(rows)

        try:  # a read in WAL mode waits for no writer; only a file being recovered can be busy
            return run(self._on_loop())
        except sqlite3.OperationalError as error:
            if not _busy(error):
                raise
        return await self._claims.run(run)

    def _on_loop(self) -> sqlite3.Connection:
        if self._here is None:
            connection = _connect(self._path)
            # never wait for the lock here, and never checkpoint (an fsync): the writes' thread does that
            connection.execute("PRAGMA busy_timeout=0")
            connection.execute("PRAGMA wal_autocheckpoint=0")
            self._here = connection
        return self._here

    async def write(self, events: list[Row], questions: list[Row], contexts: list[Row]) -> None:
        statements = self._sql.writing(events, questions, contexts)

        def run(connection: sqlite3.Connection) -> None:
            connection.execute("BEGIN")
            try:
                for sql, values in statements:
                    connection.execute(sql, values)
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

        await self._writes.run(run)

    async def close(self) -> None:
        if self._here is not None:
            self._here.close()
        await self._claims.close()
        await self._writes.close()


class _Connection:
    """One connection to the SQLite file, opened on first use, on a thread that is its alone."""

    def __init__(self, path: str, name: str) -> None:
        self._path = path
        self._thread = ThreadPoolExecutor(1, thread_name_prefix=name)
        self._connection: sqlite3.Connection | None = None

    async def run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, self._work, work)

    async def close(self) -> None:
        if self._connection is not None:
            await self.run(lambda connection: connection.close())
        self._thread.shutdown(wait=False)

    def _work(self, work: Callable[[sqlite3.Connection], T]) -> T:
        if self._connection is None:
            self._connection = _connect(self._path, check_same_thread=False)
        return work(self._connection)


def _claimed(connection: sqlite3.Connection, sql: str, values: list[Any]) -> set[str]:
    return {key for (key,) in connection.execute(sql, values).fetchall()}


def _busy(error: sqlite3.OperationalError) -> bool:
    """Another connection holds the file (SQLITE_BUSY and its extended codes)."""
    return error.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY


def _connect(path: str, *, check_same_thread: bool = True) -> sqlite3.Connection:
    # autocommit: a claim is one statement; a write says BEGIN and COMMIT itself
    connection = sqlite3.connect(
        path, timeout=SQLITE_BUSY_S, isolation_level=None, check_same_thread=check_same_thread
    )
    sqlite_settings(connection)
    return connection


class PostgresDriver:
    """asyncpg: claims, reads and writes each on a connection of their own, opened on first use with the
    settings of SQLAlchemy's engine, and again after an error. Each comes one batch at a time, so one
    connection each suffices (a pool would cost a round trip a claim: asyncpg resets a connection as it
    goes back)."""

    def __init__(self, url: URL, dialect: Dialect) -> None:
        _, connect = dialect.create_connect_args(url)
        connect = {**connect, **POSTGRES_CONNECT_ARGS}
        self._sql = Statements(dialect)
        self._claims, self._reads, self._writes = _Link(connect), _Link(connect), _Link(connect)

    async def claim(self, keys: Sequence[tuple[str, datetime]]) -> set[str]:
        async with self._claims as connection:
            taken: set[str] = set()
            for sql, values in self._sql.claiming(keys):
                taken.update(row[0] for row in await connection.fetch(sql, *values))
            return taken

    async def recall(self, conversations: Sequence[str], now: datetime) -> dict[str, tuple[str, datetime]]:
        async with self._reads as connection:
            rows: list[Any] = []
            for sql, values in self._sql.recalling(conversations, now):
                rows += await connection.fetch(sql, *values)
            return self._sql.recalled(rows)

    async def write(self, events: list[Row], questions: list[Row], contexts: list[Row]) -> None:
        async with self._writes as connection, connection.transaction():
            for sql, values in self._sql.writing(events, questions, contexts):
                await connection.execute(sql, *values)

    async def close(self) -> None:
        await self._claims.close()
        await self._reads.close()
        await self._writes.close()


class _Link:
    """`async with link as connection`: one asyncpg connection, dropped after any error to be made anew."""

    def __init__(self, connect: dict[str, Any]) -> None:
        self._connect = connect
        self._connection: Any = None

    async def __aenter__(self) -> Any:
        if self._connection is None or self._connection.is_closed():
            import asyncpg

            self._connection = await asyncpg.connect(**self._connect)
        return self._connection

    async def __aexit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is not None and self._connection is not None:
            self._connection.terminate()  # no goodbye: after an error the server may not answer one
            self._connection = None

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                await connection.close(timeout=CLOSE_TIMEOUT_S)
            except Exception:  # the server is gone, or slow to say goodbye: leave anyway
                connection.terminate()
