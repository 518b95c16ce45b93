"""Socket Mode: with an app token and no public endpoint, the server takes Slack's events over a websocket."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from slack_fakes import FakeSlack, payload, serve

from adapters.server import create_app
from adapters.settings import Settings
from bot.engine import Engine


@pytest.fixture
async def socket_server(fake_slack: FakeSlack, slack_engine: Engine) -> AsyncIterator[str]:
    settings = Settings(
        slack_bot_token="xoxb-test", slack_app_token="xapp-test", slack_api_url=f"{fake_slack.url}/api/"
    )
    runner, url = await serve(create_app(settings, slack_engine))
    yield url
    await runner.cleanup()


async def envelope(
    fake: FakeSlack, kind: str, body: dict[str, object], envelope_id: str
) -> dict[str, object]:
    """Send one Socket Mode envelope and return the client's acknowledgement of it."""
    socket = await fake.wait_for_socket()
    await socket.send_str(
        json.dumps(
            {"envelope_id": envelope_id, "type": kind, "payload": body, "accepts_response_payload": True}
        )
    )
    return await asyncio.wait_for(fake.socket_replies.get(), 5)


async def test_a_dm_over_socket_mode_is_acknowledged_and_answered(
    socket_server: str, fake_slack: FakeSlack
) -> None:
    await fake_slack.wait_for("apps.connections.open")
    event = payload("message_im")
    event["event"]["text"] = "I've forgotten my password"
    ack = await envelope(fake_slack, "events_api", event, "env-1")
    assert ack["envelope_id"] == "env-1"
    [posted] = await fake_slack.wait_for("chat.postMessage")
    assert posted.body["channel"] == "D0DIRECT"
    assert "forgotten-password" in posted.raw
    # the app token opened the connection; the bot token posts
    [opened] = fake_slack.sent("apps.connections.open")
    assert opened.headers["Authorization"] == "Bearer xapp-test"
    assert posted.headers["Authorization"] == "Bearer xoxb-test"


async def test_a_slash_command_over_socket_mode_is_answered_ephemerally(
    socket_server: str, fake_slack: FakeSlack
) -> None:
    command = payload("slash_command") | {"text": "locked out", "response_url": fake_slack.response_url()}
    ack = await envelope(fake_slack, "slash_commands", command, "env-2")
    assert ack["envelope_id"] == "env-2"
    # the answer rides on the acknowledgement, as over HTTP
    answer = ack["payload"]
    assert isinstance(answer, dict) and answer["response_type"] == "ephemeral" and answer["blocks"]
    assert fake_slack.sent("/response/1") == []


async def test_without_a_signing_secret_there_is_no_http_endpoint(
    socket_server: str, fake_slack: FakeSlack
) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{socket_server}/slack/events", data=b"{}") as response:
            assert response.status in (404, 405)
        async with session.get(f"{socket_server}/healthz") as response:
            assert response.status == 200


async def test_the_server_serves_while_slack_is_unreachable(slack_engine: Engine) -> None:
    # nothing listens on port 9 (discard): Socket Mode keeps retrying in the background
    settings = Settings(
        slack_bot_token="xoxb-test", slack_app_token="xapp-test", slack_api_url="http://127.0.0.1:9"
    )
    runner, url = await serve(create_app(settings, slack_engine))
    try:
        async with aiohttp.ClientSession() as session, session.get(f"{url}/healthz") as response:
            assert response.status == 200
    finally:
        await asyncio.wait_for(runner.cleanup(), 5)


def test_a_server_without_slack_settings_has_no_slack_route(slack_engine: Engine) -> None:
    app = create_app(Settings(), slack_engine)
    assert all(r.resource is None or r.resource.canonical != "/slack/events" for r in app.router.routes())
    assert isinstance(app, web.Application)
