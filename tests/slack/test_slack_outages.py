"""Slack under routine faults: 5xx and refused connections from the Web API, a failing response_url, and
one session for all of it. The real server on loopback, a fake Slack that fails on cue."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from slack_fakes import Answer, FakeSlack, SlackClient, action, buttons, serve

from adapters.server import create_app
from adapters.settings import Settings
from adapters.slack import WEB
from adapters.slack.listeners import create_bolt_app
from bot.engine import Engine

ACK_SECONDS = 3  # Slack shows the user an error, and re-sends events, after this
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # made up, as in Slack's documentation


async def answered(fake: FakeSlack, where: str, channel: str) -> list[str]:
    """The channels of every message Slack took (status 200), once everything in flight has arrived."""
    await asyncio.sleep(0.3)
    return [c.body.get("channel", "") for c in fake.delivered if c.path.endswith(where) and c.body]


async def test_a_web_api_500_is_retried_and_the_answer_delivered_once(
    slack: SlackClient, fake_slack: FakeSlack
) -> None:
    fake_slack.failures["chat.postMessage"] = [500]
    assert (await slack.event("message_im", "I've forgotten my password")).status == 200
    failed, delivered = await fake_slack.wait_for("chat.postMessage", 2)
    assert (failed.status, delivered.status) == (500, 200)
    assert delivered.body == failed.body
    assert await answered(fake_slack, "chat.postMessage", "D0DIRECT") == ["D0DIRECT"]
    assert len(fake_slack.sent("chat.postMessage")) == 2


async def test_two_503s_then_ok_is_still_delivered_once(slack: SlackClient, fake_slack: FakeSlack) -> None:
    fake_slack.failures["chat.postMessage"] = [503, 503]
    await slack.event("app_mention", "<@UBOT> locked out")
    *_, last = await fake_slack.wait_for("chat.postMessage", 3, timeout=10)
    assert last.status == 200
    assert await answered(fake_slack, "chat.postMessage", "C0STAFFROOM") == ["C0STAFFROOM"]


async def test_a_web_api_that_keeps_failing_is_given_up_on_with_one_warning(
    slack: SlackClient, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    fake_slack.failures["chat.postMessage"] = [500] * 10
    started = time.monotonic()
    assert (await slack.event("message_im", "locked out")).status == 200
    await fake_slack.wait_for("chat.postMessage", 3, timeout=10)
    await asyncio.sleep(0.3)
    assert len(fake_slack.sent("chat.postMessage")) == 3  # bounded: the first try and two retries
    assert time.monotonic() - started < 10
    warnings = [r for r in caplog.records if "chat.postMessage failed" in r.getMessage()]
    assert len(warnings) == 1 and not any(r.exc_info for r in caplog.records)


async def test_a_response_url_503_is_retried_and_the_answer_delivered(
    slack: SlackClient, fake_slack: FakeSlack
) -> None:
    # a click's answer goes through response_url (a slash command's comes back in its acknowledgement)
    answer = await slack.command("I've forgotten my password")
    helpful = next(e for e in buttons(answer.body["blocks"]) if e["action_id"] == "helpful")
    fake_slack.failures["/response/click"] = [503]
    assert (await slack.click(action(helpful))).status == 200
    failed, delivered = await fake_slack.wait_for("/response/click", 2)
    assert (failed.status, delivered.status) == (503, 200)
    assert delivered.body["replace_original"] is True
    assert len(fake_slack.delivered) == 1


def closed_port() -> int:
    """A loopback port nothing listens on: connections to it are refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_a_web_api_refusing_connections_never_delays_or_fails_an_acknowledgement(
    fake_slack: FakeSlack, slack_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(
        slack_bot_token="xoxb-test",
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=f"http://127.0.0.1:{closed_port()}/api",
    )
    runner, url = await serve(create_app(settings, slack_engine))
    try:
        async with aiohttp.ClientSession() as session:
            slack = SlackClient(session, f"{url}/slack/events", SIGNING_SECRET, fake_slack)
            answers: list[Answer] = [
                await slack.event("app_mention", "<@UBOT> locked out"),
                await slack.event("message_im", "I've forgotten my password"),
                await slack.command("locked out"),
                await slack.command("help"),
            ]
            assert [a.status for a in answers] == [200] * 4
            assert max(a.seconds for a in answers) < ACK_SECONDS
            # the slash commands are answered in their acknowledgements, whatever the Web API does
            assert answers[2].body["response_type"] == answers[3].body["response_type"] == "ephemeral"
            # the posts through the Web API give up after their retries, with a warning each, no traceback
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                failures = [r for r in caplog.records if "chat.postMessage failed" in r.getMessage()]
                if len(failures) == 2:
                    break
                await asyncio.sleep(0.1)
            assert len(failures) == 2
            assert not any(r.exc_info for r in caplog.records)
            async with session.get(f"{url}/healthz") as health:
                assert health.status == 200
    finally:
        await runner.cleanup()


@pytest.fixture
async def slack_app(
    fake_slack: FakeSlack, slack_engine: Engine, slack_settings: Settings
) -> AsyncIterator[tuple[SlackClient, web.Application]]:
    app = create_app(slack_settings, slack_engine)
    runner, url = await serve(app)
    secret = slack_settings.slack_signing_secret
    async with aiohttp.ClientSession() as session:
        yield SlackClient(session, f"{url}/slack/events", secret, fake_slack), app
    await runner.cleanup()


async def test_every_call_to_slack_goes_over_one_session(
    slack_app: tuple[SlackClient, web.Application], fake_slack: FakeSlack
) -> None:
    slack, app = slack_app
    slack_web = app[WEB]
    session = slack_web.session
    assert session is not None and slack_web.client.session is session
    for n in range(3):
        await slack.event("message_im", "I've forgotten my password", channel=f"D0{n}")
        await fake_slack.wait_for("chat.postMessage", n + 1)
        answer = await slack.command("locked out")
        helpful = next(e for e in buttons(answer.body["blocks"]) if e["action_id"] == "helpful")
        await slack.click(action(helpful), response_url=fake_slack.response_url(str(n)))
        await fake_slack.wait_for(f"/response/{n}")
    assert slack_web.session is session and not session.closed
    assert len(fake_slack.delivered) == 6
    # keep-alive on one session: the start-up auth.test, three posts and three response_urls on one connection
    assert len(fake_slack.calls) == 7 and len(fake_slack.connections) == 1
    assert len(fake_slack.sent("auth.test")) == 1  # once at start, never per request


async def test_the_session_is_closed_when_the_server_stops(
    fake_slack: FakeSlack, slack_engine: Engine, slack_settings: Settings
) -> None:
    app = create_app(slack_settings, slack_engine)
    runner, _ = await serve(app)
    session = app[WEB].session
    assert session is not None and not session.closed
    await runner.cleanup()
    assert session.closed and app[WEB].session is None


async def test_the_identity_from_auth_test_reaches_bolt(
    slack_app: tuple[SlackClient, web.Application], fake_slack: FakeSlack
) -> None:
    _, app = slack_app
    await fake_slack.wait_for("auth.test")
    for _ in range(50):
        if app[WEB].identity is not None:
            break
        await asyncio.sleep(0.02)
    identity = app[WEB].identity
    assert identity is not None and (identity.user_id, identity.bot_id) == ("UBOT", "BBOT")
    assert app[WEB].problem is None


def test_bolt_says_nothing_about_an_unused_token(
    slack_engine: Engine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # as in production: Bolt reads SLACK_BOT_TOKEN from the environment whatever it is given
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-from-the-environment")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    caplog.set_level(logging.DEBUG)
    settings = Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SIGNING_SECRET})
    create_bolt_app(slack_engine, settings)
    create_app(settings, slack_engine)
    said = [r.getMessage() for r in caplog.records if r.name.startswith(("slack", "adapters.slack"))]
    assert not [m for m in said if "token" in m.lower()], said
