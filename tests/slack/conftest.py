"""The real server on loopback with Slack on, talking to a fake Slack; and a client that signs like Slack."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from slack_fakes import FakeSlack, SlackClient, serve

from adapters.server import create_app
from adapters.settings import Settings
from bot.engine import Engine
from bot.store import MemoryStore

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # a made-up secret, as in Slack's documentation


@pytest.fixture
def slack_engine(engine: Engine) -> Engine:
    """The shipped knowledge, as the server loads it."""
    return engine


@pytest.fixture
def slack_store() -> MemoryStore:
    """A store of its own, in memory, so a test sees only its own clicks."""
    return MemoryStore()


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
def slack_settings(fake_slack: FakeSlack) -> Settings:
    # no trailing slash on purpose: slack_sdk needs one, the adapter adds it
    return Settings(
        slack_bot_token="xoxb-test",
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=f"{fake_slack.url}/api",
    )


@pytest.fixture
async def slack(
    fake_slack: FakeSlack, slack_engine: Engine, slack_settings: Settings, slack_store: MemoryStore
) -> AsyncIterator[SlackClient]:
    runner, url = await serve(create_app(slack_settings, slack_engine, slack_store))
    async with aiohttp.ClientSession() as session:
        yield SlackClient(session, f"{url}/slack/events", SIGNING_SECRET, fake_slack)
    await runner.cleanup()
