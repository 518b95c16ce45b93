"""Each store test runs twice: on a SQLite file, and on a PostgreSQL database of its own on 127.0.0.1:5432."""

from __future__ import annotations

import asyncio
import itertools
import os
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import asyncpg
import pytest

from adapters.store import SqlStore, open_store
from bot.engine import Engine

PG_ADMIN = os.environ.get("TEST_POSTGRES_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
RUN = f"nhsbot_test_{os.getpid()}_{secrets.token_hex(3)}"
_numbers = itertools.count(1)


def _admin(*statements: str) -> None:
    """Run statements on the server's admin database, from sync code or from inside an async test."""
    with ThreadPoolExecutor(1) as thread:  # asyncio.run cannot nest in a running loop
        thread.submit(asyncio.run, _admin_async(*statements)).result()


async def _admin_async(*statements: str) -> None:
    connection = await asyncpg.connect(PG_ADMIN, timeout=10)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[list[str]]:
    """Names of the databases this run made; all dropped at the end of the run."""
    made: list[str] = []
    yield made
    if made:
        _admin(*(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' for name in made))


@pytest.fixture
def new_postgres(postgres_databases: list[str]) -> Callable[[], str]:
    """Make an empty database and return its URL (as DATABASE_URL is written)."""

    def make() -> str:
        name = f"{RUN}_{next(_numbers)}"
        _admin(f'CREATE DATABASE "{name}"')
        postgres_databases.append(name)
        return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"

    return make


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """DATABASE_URL for an empty database of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return request.getfixturevalue("new_postgres")()


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[SqlStore]:
    opened = await open_store(database_url, user_hash_key="test-key")
    yield opened
    await opened.close()


@pytest.fixture(scope="session")
def engine() -> Engine:
    return Engine.load()
