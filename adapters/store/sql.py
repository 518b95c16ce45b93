"""The Store on a SQL database: quick reads on the answer's path, batched writes behind it, memory if down."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import secrets
import sqlite3
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from typing import Any

from asyncpg import InterfaceError, PostgresError
from sqlalchemy import Table, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.recent import RecentKeys
from adapters.store import migrate, schema
from adapters.store.batch import Batcher
from adapters.store.database import create_engine
from adapters.store.driver import driver_for
from bot.redact import redact
from bot.store import CONTEXT_TTL_S, DEDUPE_TTL_S, Health, TurnEvent, UnansweredKind, keyed_hash

logger = logging.getLogger(__name__)

# what a database outage looks like from here: the driver's errors, the network's, or our own time limit
OUTAGE = (
    SQLAlchemyError,
    sqlite3.Error,
    PostgresError,
    InterfaceError,
    OSError,
    TimeoutError,
    ConnectionError,
)
HASH_KEY_NAME = "user_hash_key"
HASHES_KEPT = 10_000
Item = tuple[str, dict[str, Any]]  # a record's kind ("event", "question", "context", "vote", "stop") and row


class StoreError(RuntimeError):
    """An administrative operation (purge, report) could not reach the database."""


class SqlStore:
    """PostgreSQL or SQLite behind the Store protocol. Call `start()` once, `close()` at the end."""

    def __init__(
        self,
        url: URL,
        *,
        hash_key: str = "",
        store_questions: bool = True,
        queue_size: int = 10_000,
        batch_size: int = 500,
        gather_s: float = 0.05,
        op_timeout_s: float = 5.0,
        probe_interval_s: float = 5.0,
    ) -> None:
        self.url = url
        self.engine: AsyncEngine = create_engine(url)
        # forgetting a key is one statement: it needs no BEGIN and ROLLBACK around it
        self._single: AsyncEngine = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        # each turn's own statements, on the driver itself; concurrent turns share round trips
        self._driver = driver_for(url, self.engine.dialect)
        self._claims: Batcher[tuple[str, float], bool] = Batcher(self._claim_many, False)
        self._recalls: Batcher[str, tuple[str, datetime] | None] = Batcher(self._recall_many, None)
        self.store_questions = store_questions
        self.batch_size = batch_size
        self.gather_s = gather_s
        self.op_timeout_s = op_timeout_s
        self.probe_interval_s = probe_interval_s
        self._hash_key = hash_key.encode("utf-8") if hash_key else b""
        self._hashes: dict[str, str] = {}
        self._queue: asyncio.Queue[Item] = asyncio.Queue(queue_size)
        self._retry: list[Item] = []
        self._memory = RecentKeys(ttl=DEDUPE_TTL_S, max_size=50_000)
        self._contexts: OrderedDict[str, tuple[str, datetime, datetime]] = OrderedDict()
        self._health = Health(False, "starting")
        self._ready = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._probe: asyncio.Task[None] | None = None
        self._closing = False
        self._dropped = 0
        self._last_expiry = datetime.now(UTC)

    # ---- life cycle

    async def start(self) -> SqlStore:
        """Migrate and load the hash key; if the database is not there, start degraded and keep trying."""
        try:
            await self._prepare()
        except OUTAGE as error:
            self._fail(error)
        self._writer = asyncio.create_task(self._write_loop(), name="store-writer")
        return self

    async def _prepare(self) -> None:
        await migrate.upgrade(self.url)
        if not self._hash_key:
            self._hash_key = await self._load_hash_key()
            self._hashes.clear()
        self._health = Health(True)
        self._ready.set()

    async def _load_hash_key(self) -> bytes:
        """USER_HASH_KEY unset: one random key kept in the database, the same for every replica."""
        async with self.engine.begin() as connection:
            await connection.execute(
                self._insert(schema.meta)
                .values(name=HASH_KEY_NAME, value=secrets.token_hex(32))
                .on_conflict_do_nothing(index_elements=["name"])
            )
            value = await connection.scalar(
                select(schema.meta.c.value).where(schema.meta.c.name == HASH_KEY_NAME)
            )
        return str(value).encode("utf-8")

    async def close(self) -> None:
        self._closing = True
        if self._probe:
            self._probe.cancel()
        if self._writer:
            if self._health.ok:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._queue.put(("stop", {})), 10.0)
                    await asyncio.wait_for(asyncio.shield(self._writer), 10.0)
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
        left = self._queue.qsize() + len(self._retry)
        if left:
            logger.warning("store: closed with %d records not written (the database was unreachable)", left)
        await self._driver.close()
        await self.engine.dispose()

    async def flush(self, timeout_s: float = 10.0) -> None:
        """Wait until everything queued so far is written (tests, and `close`)."""
        await asyncio.wait_for(self._queue.join(), timeout_s)

    def health(self) -> Health:
        return self._health

    def hash(self, value: str) -> str:
        """The keyed hash of a platform id; the ids of the last few thousand users and conversations are kept
        hashed, as a turn hashes three (the user's and the conversation's, twice) and they recur."""
        hashed = self._hashes.get(value)
        if hashed is None:
            if len(self._hashes) >= HASHES_KEPT:
                self._hashes.clear()
            hashed = self._hashes[value] = keyed_hash(self._hash_key, value)
        return hashed

    # ---- the answer's path

    async def first_time(self, key: str, ttl_s: float = DEDUPE_TTL_S) -> bool:
        if not self._memory.first_time(key):
            return False  # this process has seen it: no need to ask the database
        if not self._health.ok:
            return True
        try:
            async with asyncio.timeout(self.op_timeout_s):
                return await self._claims.get((hashlib.sha256(key.encode("utf-8")).hexdigest(), ttl_s))
        except Exception as error:  # an outage, or a bug: either way the turn goes on, from memory
            self._fail(error)
            return True

    async def forget(self, key: str) -> None:
        self._memory.forget(key)
        if not self._health.ok:
            return
        hashed = hashlib.sha256(key.encode("utf-8")).hexdigest()
        try:
            async with asyncio.timeout(self.op_timeout_s), self._single.connect() as connection:
                await connection.execute(delete(schema.dedupe_keys).where(schema.dedupe_keys.c.key == hashed))
        except Exception as error:  # an outage: the key expires with its TTL instead
            self._fail(error)

    async def _claim_many(self, keys: list[tuple[str, float]]) -> dict[tuple[str, float], bool]:
        """Insert every key not there yet; the ones the database returns were this replica's to take."""
        now = datetime.now(UTC)
        taken = await self._driver.claim([(key, now + timedelta(seconds=ttl)) for key, ttl in keys])
        return {(key, ttl): key in taken for key, ttl in keys}

    async def context(self, conversation: str) -> str | None:
        now = datetime.now(UTC)
        local = self._contexts.get(conversation)
        best = (local[0], local[1]) if local and local[2] > now else None
        if self._health.ok:
            try:
                async with asyncio.timeout(self.op_timeout_s):
                    row = await self._recalls.get(self.hash(conversation))
            except Exception as error:  # an outage, or a bug: either way the turn goes on, from memory
                self._fail(error)
                row = None
            # another replica may have answered later in the same conversation; this one's write may be queued
            if row is not None and (best is None or row[1] > best[1]):
                best = row
        return best[0] if best else None

    async def _recall_many(self, conversations: list[str]) -> dict[str, tuple[str, datetime] | None]:
        return dict(await self._driver.recall(conversations, datetime.now(UTC)))

    async def remember(
        self, conversation: str, topic: str, ttl_s: float = CONTEXT_TTL_S, question: str | None = None
    ) -> None:
        now = datetime.now(UTC)
        expires = now + timedelta(seconds=ttl_s)
        self._contexts.pop(conversation, None)
        while len(self._contexts) >= 10_000:
            self._contexts.popitem(last=False)
        self._contexts[conversation] = (topic, now, expires)
        kept = question if question and self.store_questions else None  # redacted by the writer
        self._put(
            "context",
            {
                "conversation": conversation,
                "topic": topic[:100],
                "question": kept,
                "updated_at": now,
                "expires_at": expires,
            },
        )

    async def record(self, event: TurnEvent) -> None:
        self._put(
            "event",
            {
                "at": event.at,
                "platform": event.platform[:16],
                "conversation_kind": event.conversation_kind[:16],
                "outcome": str(event.outcome),
                "via": str(event.via),
                "topic": event.topic[:100] if event.topic else None,
                "confidence": float(event.confidence),
                "latency_ms": float(event.latency_ms),
                "user": event.user,
                "conversation": event.conversation,
            },
        )

    async def feedback(
        self, user: str, topic: str, helpful: bool, platform: str, conversation: str, answer: str = ""
    ) -> None:
        self._put(
            "vote",
            {
                "at": datetime.now(UTC),
                "user": user,
                "topic": topic[:100],
                "conversation": conversation,
                "answer": answer,
                "platform": platform[:16],
                "helpful": bool(helpful),
            },
        )

    async def unanswered(
        self, text: str, *, kind: UnansweredKind, platform: str, conversation: str, at: datetime
    ) -> None:
        if not self.store_questions:
            return
        self._put(
            "question",
            {
                "at": at,
                "kind": str(kind),
                "platform": platform[:16],
                "conversation": conversation,
                "text": text,
            },
        )

    def _put(self, kind: str, row: dict[str, Any]) -> None:
        try:
            self._queue.put_nowait((kind, row))
        except asyncio.QueueFull:
            self._dropped += 1
            if self._dropped == 1:
                logger.warning("store: the write queue is full; records are dropped until it drains")

    # ---- administration

    async def purge(self, older_than: datetime) -> int:
        """Delete rows recorded before `older_than`, and expired keys and contexts. Raises StoreError."""
        try:
            async with self.engine.begin() as connection:
                return await self._purge(connection, older_than)
        except OUTAGE as error:
            raise StoreError(f"could not purge: {_describe(error)}") from error

    async def _purge(self, connection: AsyncConnection, older_than: datetime) -> int:
        now = datetime.now(UTC)
        removed = 0
        for table in (schema.events, schema.feedback, schema.unanswered):
            removed += (await connection.execute(delete(table).where(table.c.at < older_than))).rowcount
        return removed + await self._expire(connection, now)

    @staticmethod
    async def _expire(connection: AsyncConnection, now: datetime) -> int:
        removed = 0
        for table in (schema.dedupe_keys, schema.contexts):
            removed += (await connection.execute(delete(table).where(table.c.expires_at <= now))).rowcount
        return removed

    # ---- behind the answer's path

    async def _write_loop(self) -> None:
        while True:
            await self._ready.wait()
            batch = self._retry or [await self._queue.get()]
            self._retry = []
            if self._queue.qsize() < self.batch_size and batch[0][0] != "stop":
                # let the records of the turns under way join this one: a transaction costs more than its
                # rows (on SQLite, about 100 µs of CPU for one row alone, a few µs a row for fifty)
                await asyncio.sleep(self.gather_s)
            while len(batch) < self.batch_size and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            stop = any(kind == "stop" for kind, _ in batch)
            records_written = False  # then a retry writes the votes alone, never an event twice
            try:
                await self._write_records(batch)
                records_written = True
                await self._write_votes(batch)
            except OUTAGE as error:
                votes = [item for item in batch if item[0] == "vote"]
                self._retry = votes if records_written else [item for item in batch if item[0] != "stop"]
                self._fail(error)
                for _ in range(len(batch) - len(votes) if records_written else 0):
                    self._queue.task_done()
                if stop:
                    return
                continue
            except Exception:
                # a bug or a row the database refuses: lose this batch, not the writer
                logger.exception("store: could not write %d records; they are dropped", len(batch))
            for _ in batch:
                self._queue.task_done()
            if stop and self._queue.empty():
                return

    async def _write_records(self, batch: list[Item]) -> None:
        """Events, questions and contexts: many a turn, in one statement each, on the driver."""
        events, questions = [], []
        contexts: dict[str, dict[str, Any]] = {}
        for kind, row in batch:
            if kind == "event":
                events.append(self._hashed(row))
            elif kind == "question":
                # redacted here, off the answer's path; nothing unredacted reaches the database
                questions.append({**self._hashed(row), "text": _kept(row["text"])})
            elif kind == "context":
                question = row["question"]
                contexts[row["conversation"]] = {**row, "question": _kept(question) if question else None}
        rows = [{**row, "conversation": self.hash(row["conversation"])} for row in contexts.values()]
        if events or questions or rows:
            await self._driver.write(events, questions, rows)

    async def _write_votes(self, batch: list[Item]) -> None:
        """Votes, after the contexts they may read, and now and then the expired keys and contexts."""
        votes: dict[tuple[str, str, str, str], dict[str, Any]] = {}
        for kind, row in batch:
            if kind == "vote":
                vote = self._hashed(row)
                votes[(vote["user_hash"], vote["topic"], vote["conversation_hash"], vote["answer"])] = vote
        now = datetime.now(UTC)
        expire = now - self._last_expiry > timedelta(minutes=10)
        if votes or expire:
            async with self.engine.begin() as connection:
                for vote in votes.values():
                    await self._vote(connection, vote)
                if expire:
                    self._last_expiry = now
                    await self._expire(connection, now)

    async def _vote(self, connection: AsyncConnection, vote: dict[str, Any]) -> None:
        """Upsert a vote; a change to Not helpful files the question answered, a change back withdraws it."""
        table = schema.feedback
        key = (
            (table.c.user_hash == vote["user_hash"])
            & (table.c.topic == vote["topic"])
            & (table.c.conversation_hash == vote["conversation_hash"])
            & (table.c.answer == vote["answer"])
        )
        before = await connection.scalar(select(table.c.helpful).where(key))
        upsert = self._insert(table).values(vote)
        await connection.execute(
            upsert.on_conflict_do_update(
                index_elements=["user_hash", "topic", "conversation_hash", "answer"],
                set_={"helpful": upsert.excluded.helpful, "at": upsert.excluded.at},
            )
        )
        if before is not None and bool(before) == vote["helpful"]:
            return
        questions = schema.unanswered
        if vote["helpful"]:
            await connection.execute(
                delete(questions).where(
                    (questions.c.kind == UnansweredKind.NOT_HELPFUL.value)
                    & (questions.c.conversation_hash == vote["conversation_hash"])
                    & (questions.c.topic == vote["topic"])
                )
            )
            return
        context = (
            await connection.execute(
                select(schema.contexts.c.topic, schema.contexts.c.question).where(
                    schema.contexts.c.conversation == vote["conversation_hash"]
                )
            )
        ).first()
        if context is not None and context.topic == vote["topic"] and context.question:
            await connection.execute(
                questions.insert().values(
                    at=vote["at"],
                    kind=UnansweredKind.NOT_HELPFUL.value,
                    platform=vote["platform"],
                    conversation_hash=vote["conversation_hash"],
                    topic=vote["topic"],
                    text=context.question,
                )
            )

    def _hashed(self, row: dict[str, Any]) -> dict[str, Any]:
        """The row as kept: platform ids replaced by their keyed hashes."""
        out = {k: v for k, v in row.items() if k not in ("user", "conversation")}
        if "user" in row:
            out["user_hash"] = self.hash(row["user"])
        if "conversation" in row:
            out["conversation_hash"] = self.hash(row["conversation"])
        return out

    def _insert(self, table: Table) -> Any:
        """INSERT with ON CONFLICT, in the dialect's own construct (both speak it; Core's insert does not)."""
        dialect = postgresql if self.url.get_backend_name() == "postgresql" else sqlite
        return dialect.insert(table)

    # ---- outages

    def _fail(self, error: BaseException) -> None:
        """Log once per outage, answer from memory, and probe until the database is back."""
        if self._closing:
            return
        if self._health.ok or self._health.reason == "starting":
            reason = f"database unreachable: {_describe(error)}"
            logger.warning(
                "store: %s; still answering, deduplicating in memory, queueing writes until it is back",
                reason,
            )
            self._health = Health(False, reason)
            self._ready.clear()
        if self._probe is None or self._probe.done():
            self._probe = asyncio.create_task(self._recover(), name="store-probe")

    async def _recover(self) -> None:
        while not self._closing:
            await asyncio.sleep(self.probe_interval_s)
            try:
                async with asyncio.timeout(self.probe_interval_s + 10):
                    await self._prepare()
            except OUTAGE:
                continue
            logger.info("store: the database is back; %d queued records to write", self._queue.qsize())
            self._dropped = 0
            return


def _kept(text: str) -> str:
    """Typed text as the database keeps it: redacted, and without NUL (PostgreSQL refuses it in text, and
    one refused row would lose its whole batch)."""
    return redact(text.replace("\x00", ""))


def _describe(error: BaseException) -> str:
    """A short account of a database error: the driver's own exception and its first line."""
    if isinstance(error, TimeoutError):
        return "no answer in time"
    cause = getattr(error, "orig", None) or error.__cause__ or error
    first = (str(cause).strip().splitlines() or [""])[0]
    name = type(cause).__name__
    return f"{name}: {first}"[:200] if first else name
