"""A database that is not there never stops answers: the store degrades, dedupes in memory, and recovers."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from adapters.store import SqlStore, open_store, schema, to_async_url
from bot.store import Outcome, TurnEvent, UnansweredKind


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(params=["postgresql-closed-port", "sqlite-under-a-file"])
def unreachable_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql-closed-port":
        return f"postgresql://postgres@127.0.0.1:{_closed_port()}/nhsbot"
    (tmp_path / "not-a-folder").write_text("x")
    return f"sqlite:///{tmp_path / 'not-a-folder' / 'store.db'}"


async def test_an_unreachable_database_degrades_and_nothing_raises(
    unreachable_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="adapters.store")
    started = time.monotonic()
    store = await open_store(unreachable_url)
    assert time.monotonic() - started < 10
    health = store.health()
    assert not health.ok and health.status == "degraded" and "unreachable" in health.reason
    # dedupe still works, from this process's memory
    assert await store.first_time("Ev1") is True
    assert await store.first_time("Ev1") is False
    assert await store.first_time("Ev2") is True
    # context follows the conversation in memory; writes queue without raising
    await store.remember("slack:D1", "forgotten-password")
    assert await store.context("slack:D1") == "forgotten-password"
    await store.record(TurnEvent("slack", "personal", Outcome.ANSWER, "U1", "slack:D1", latency_ms=1.0))
    await store.feedback("U1", "forgotten-password", True, "slack", "slack:D1")
    await store.unanswered(
        "hoist", kind=UnansweredKind.FALLBACK, platform="slack", conversation="slack:D1", at=datetime.now(UTC)
    )
    await store.close()
    # aiosqlite stops a connection that failed to open by a message to its thread, answered on this loop:
    # give it the moment it needs before pytest closes the loop
    await asyncio.sleep(0.2)
    outage_lines = [r for r in caplog.records if "database unreachable" in r.getMessage()]
    assert len(outage_lines) == 1  # logged once, not per call


async def test_the_store_recovers_when_the_database_comes_back(
    new_postgres: Callable[[], str], postgres_databases: list[str]
) -> None:
    # a database that does not exist yet refuses connections, as a server that is down does
    url = new_postgres()
    missing = url + "_later"
    postgres_databases.append(missing.rsplit("/", 1)[1])  # dropped with the run's others
    store = await SqlStore(to_async_url(missing), hash_key="k", probe_interval_s=0.2).start()
    try:
        assert not store.health().ok
        await store.record(TurnEvent("teams", "personal", Outcome.FALLBACK, "u", "c", latency_ms=2.0))
        assert await store.first_time("activity-1")
        admin = sa.ext.asyncio.create_async_engine(to_async_url(url), isolation_level="AUTOCOMMIT")
        async with admin.connect() as connection:
            await connection.execute(sa.text(f'CREATE DATABASE "{missing.rsplit("/", 1)[1]}"'))
        await admin.dispose()
        for _ in range(100):
            if store.health().ok:
                break
            await asyncio.sleep(0.1)
        assert store.health().ok
        await store.flush()
        async with store.engine.connect() as connection:
            kept = (await connection.execute(sa.select(schema.events.c.outcome))).scalars().all()
        assert kept == ["fallback"]
        assert not await store.first_time("activity-1")  # remembered in memory through the outage
        assert await store.first_time("activity-2")
    finally:
        await store.close()
