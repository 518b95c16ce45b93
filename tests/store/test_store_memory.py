"""The in-memory store keeps the same promises within one process, and the server's store runs and stops."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from adapters.settings import Settings
from adapters.store import running_store, schema
from bot.engine import Engine
from bot.store import MemoryStore, Outcome, TurnEvent, note_turn


async def test_memory_store_dedupes_remembers_and_counts_one_vote(engine: Engine) -> None:
    store = MemoryStore()
    assert await store.first_time("Ev1") and not await store.first_time("Ev1")
    assert await store.first_time("short", ttl_s=0.0) and await store.first_time("short", ttl_s=0.0)
    reply = engine.reply("I forgot my password")
    await note_turn(
        store,
        reply,
        question="forgot my password, email me at a.b@c.org",
        platform="console",
        conversation_kind="console",
        user="me",
        conversation="console",
        latency_ms=1.0,
    )
    assert await store.context("console") == reply.topic
    for helpful in (False, False, True, False):
        await store.feedback("me", reply.topic, helpful, "console", "console")
    assert list(store.votes.values()) == [False]
    # filed on each change to Not helpful (twice here), never on a replay; redacted
    kept = [q[3] for q in store.questions]
    assert len(kept) == 2 and all("a.b@c.org" not in text and "[email]" in text for text in kept)
    assert store.health().ok
    await store.record(
        TurnEvent("console", "console", Outcome.ANSWER, "u", "c", at=datetime.now(UTC) - timedelta(days=99))
    )
    assert await store.purge(datetime.now(UTC) - timedelta(days=90)) == 1  # the old event only
    assert len(store.events) == 1 and len(store.questions) == 2


async def test_the_servers_store_opens_purges_and_closes(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'bot.db'}", retention_days=30)
    async with running_store(settings) as store:
        assert store.health().ok
        await store.record(TurnEvent("teams", "personal", Outcome.ANSWER, "u", "c", latency_ms=1.0))
    reader = sa.ext.asyncio.create_async_engine(store.url)
    async with reader.connect() as connection:
        assert (await connection.execute(sa.select(sa.func.count()).select_from(schema.events))).scalar() == 1
    await reader.dispose()
