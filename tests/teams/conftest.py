"""The real server on loopback with Teams talking to a fake Bot Connector, in local mode and with auth on."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator

import aiohttp
import pytest
from teams_fakes import FakeConnector, FakeLogin, FakeOpenId, Teams, serve

from adapters.server import create_app
from adapters.settings import Settings
from bot.engine import Engine
from bot.store import MemoryStore


@pytest.fixture
async def connector() -> AsyncIterator[FakeConnector]:
    fake = FakeConnector()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def openid() -> AsyncIterator[FakeOpenId]:
    fake = FakeOpenId()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def login() -> AsyncIterator[FakeLogin]:
    fake = FakeLogin()
    await fake.start()
    yield fake
    await fake.stop()


async def _teams(
    engine: Engine,
    settings: Settings,
    connector: FakeConnector,
    openid: FakeOpenId | None = None,
    login: FakeLogin | None = None,
) -> AsyncIterator[Teams]:
    # a store of its own, in memory, so a test sees only its own clicks
    store = MemoryStore()
    app = create_app(settings, engine, store)
    runner, url = await serve(app)
    async with aiohttp.ClientSession() as session:
        yield Teams(session, url, connector, store, app, settings.app_id, openid, login)
    await runner.cleanup()


@pytest.fixture
async def teams(engine: Engine, connector: FakeConnector) -> AsyncIterator[Teams]:
    """Local mode: no MicrosoftAppId, as when developing with the Bot Framework Emulator."""
    async for client in _teams(engine, Settings(), connector):
        yield client


def production_settings(openid: FakeOpenId, login: FakeLogin, **changes: str) -> Settings:
    """An app id and a password made up for this run; the Bot Framework's login, OpenID metadata and
    channel host are this test's local fakes, through the settings an operator would use."""
    fields = {
        "app_id": str(uuid.uuid4()),
        "app_password": secrets.token_urlsafe(24),
        "app_type": "MultiTenant",
        "login_url": login.login_url,
        "openid_metadata_url": openid.metadata_url,
        "service_hosts": ("127.0.0.1",),
        **changes,
    }
    return Settings(**fields)  # type: ignore[arg-type]


@pytest.fixture
async def secured_teams(
    engine: Engine, connector: FakeConnector, openid: FakeOpenId, login: FakeLogin
) -> AsyncIterator[Teams]:
    """Authentication on, as in production."""
    async for client in _teams(engine, production_settings(openid, login), connector, openid, login):
        yield client
