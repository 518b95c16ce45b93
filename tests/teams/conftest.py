"""The real server on loopback with Teams talking to a fake Bot Connector, in local mode and with auth on."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator

import aiohttp
import pytest
from teams_fakes import FakeConnector, Teams, serve

from adapters.server import create_app
from adapters.settings import Settings
from bot.engine import Engine
from bot.feedback import InMemoryFeedback


@pytest.fixture
async def connector() -> AsyncIterator[FakeConnector]:
    fake = FakeConnector()
    await fake.start()
    yield fake
    await fake.stop()


async def _teams(engine: Engine, settings: Settings, connector: FakeConnector) -> AsyncIterator[Teams]:
    feedback = InMemoryFeedback()
    # the shipped knowledge with a feedback store of its own, so a test sees only its own clicks
    app = create_app(settings, Engine(engine.kb, feedback))
    runner, url = await serve(app)
    async with aiohttp.ClientSession() as session:
        yield Teams(session, url, connector, feedback, app, settings.app_id)
    await runner.cleanup()


@pytest.fixture
async def teams(engine: Engine, connector: FakeConnector) -> AsyncIterator[Teams]:
    """Local mode: no MicrosoftAppId, as when developing with the Bot Framework Emulator."""
    async for client in _teams(engine, Settings(), connector):
        yield client


@pytest.fixture
async def secured_teams(engine: Engine, connector: FakeConnector) -> AsyncIterator[Teams]:
    """Authentication on: an app id and a password made up for this run."""
    settings = Settings(
        app_id=str(uuid.uuid4()), app_password=secrets.token_urlsafe(24), app_type="MultiTenant"
    )
    async for client in _teams(engine, settings, connector):
        yield client
