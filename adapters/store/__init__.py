"""The store's implementation: DATABASE_URL -> a started SqlStore, and the daily retention task."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

from adapters.settings import Settings
from adapters.store.database import DatabaseUrlError, data_dir, to_async_url
from adapters.store.sql import SqlStore, StoreError
from bot.store import MemoryStore, Store

__all__ = [
    "DatabaseUrlError",
    "MemoryStore",
    "SqlStore",
    "StoreError",
    "data_dir",
    "in_memory",
    "open_store",
    "run_retention",
    "running_store",
    "to_async_url",
]

logger = logging.getLogger(__name__)
DAY_S = 24 * 60 * 60.0


async def open_store(database_url: str, *, user_hash_key: str = "", store_questions: bool = True) -> SqlStore:
    """The store for DATABASE_URL (unset: SQLite under the user's data directory), migrated and started.
    A database that does not answer does not stop the bot: the store starts degraded and keeps trying.
    Raises DatabaseUrlError for a URL naming no usable database."""
    store = SqlStore(to_async_url(database_url), hash_key=user_hash_key, store_questions=store_questions)
    return await store.start()


async def run_retention(store: Store, days: int, every_s: float = DAY_S) -> None:
    """Purge what is older than `days`, now and then every `every_s`; run it as a task, cancel it to stop."""
    while True:
        try:
            removed = await store.purge(datetime.now(UTC) - timedelta(days=days))
            logger.info("store: retention removed %d rows older than %d days", removed, days)
        except StoreError as error:
            logger.warning("store: retention skipped: %s", error)
        await asyncio.sleep(every_s)


def in_memory(database_url: str) -> bool:
    """DATABASE_URL=memory: the store in the process's memory: nothing kept across restarts, each replica
    its own (a trial, a bench; never several replicas)."""
    return database_url.strip().lower().startswith("memory:")


@contextlib.asynccontextmanager
async def running_store(settings: Settings) -> AsyncIterator[Store]:
    """The server's store for its lifetime: opened and migrated, purged daily, written out and closed.
    In aiohttp: `async with running_store(settings) as store: app[STORE] = store; yield` in a cleanup_ctx."""
    store: Store
    if in_memory(settings.database_url):
        store = MemoryStore(store_questions=settings.store_questions)
        logger.warning("store: in memory (DATABASE_URL=memory:): nothing is kept across restarts")
    else:
        store = await open_store(
            settings.database_url,
            user_hash_key=settings.user_hash_key,
            store_questions=settings.store_questions,
        )
    retention = asyncio.create_task(run_retention(store, settings.retention_days), name="store-retention")
    try:
        yield store
    finally:
        retention.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await retention
        await store.close()
