"""What Slack's endpoint refuses, what it never echoes, and what never reaches a log."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from urllib.parse import urlencode

import pytest
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_fakes import FakeSlack, SlackClient, payload, signature

from adapters.settings import Settings
from adapters.slack import create_bolt_app
from bot.engine import Engine

HOSTILE = "<!channel> <@U0BOSS> <https://evil.example|nhs.net> password reset"
PRIVATE = ("07700 900123", "jane.doe@carehome.example", "Abc12345!")
PRIVATE_MESSAGE = (
    "my mobile is 07700 900123 and email jane.doe@carehome.example, password is Abc12345! locked out"
)


async def test_a_bad_signature_is_refused_and_nothing_is_sent(
    slack: SlackClient, fake_slack: FakeSlack
) -> None:
    body = json.dumps(payload("message_im") | {"event": {"type": "message", "text": "locked out"}}).encode()
    answer = await slack.post(body, "application/json", secret="not-the-signing-secret")
    assert answer.status == 401
    form = urlencode(payload("slash_command") | {"text": "locked out"}).encode()
    assert (await slack.post(form, "application/x-www-form-urlencoded", secret="wrong")).status == 401
    await asyncio.sleep(0.2)
    assert fake_slack.requests == []


async def test_a_request_older_than_five_minutes_is_refused(
    slack: SlackClient, fake_slack: FakeSlack
) -> None:
    form = urlencode(payload("slash_command") | {"text": "locked out"}).encode()
    # correctly signed, but with a timestamp 5 minutes and 1 second old: a replay
    answer = await slack.post(
        form, "application/x-www-form-urlencoded", timestamp=str(int(time.time()) - 301)
    )
    assert answer.status == 401
    await asyncio.sleep(0.2)
    assert fake_slack.requests == []


async def test_missing_signature_headers_are_refused(slack: SlackClient, fake_slack: FakeSlack) -> None:
    async with slack.session.post(
        slack.url, data=b'{"type": "url_verification", "challenge": "x"}'
    ) as response:
        assert response.status == 401
    assert fake_slack.requests == []


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"{not json", "application/json"),
        (b"[1, 2, 3]", "application/json"),
        (b'"a string"', "application/json"),
        (b"", "application/json"),
        (b"payload=%7Bnot+json", "application/x-www-form-urlencoded"),
        (b"payload=%5B%5D", "application/x-www-form-urlencoded"),
        (b"\xff\xfe\xfd", "application/json"),
        (b'{"type": "event_callback", "event_id": "Ev1", "event": "not an object"}', "application/json"),
        (b'{"type": "block_actions", "actions": "not a list"}', "application/json"),
        (b'{"type": "block_actions", "actions": [1, 2]}', "application/json"),
        (b"team_id=T1&text=hello", "application/x-www-form-urlencoded"),
    ],
)
async def test_malformed_bodies_get_a_4xx_not_a_5xx(
    slack: SlackClient, fake_slack: FakeSlack, body: bytes, content_type: str
) -> None:
    # signed, so the refusal is about the body and not the signature
    answer = await slack.post(body, content_type)
    assert 400 <= answer.status < 500
    assert fake_slack.messages == []


async def test_nothing_the_user_typed_is_echoed_unescaped(
    slack: SlackClient, fake_slack: FakeSlack, slack_engine: Engine
) -> None:
    acknowledged = [await slack.command(HOSTILE), await slack.command(f"help {HOSTILE}")]
    await slack.event("app_mention", HOSTILE)
    await slack.event("message_im", HOSTILE)
    await slack.event("message_im", "<!here> <!everyone> <@U0BOSS> hello <https://evil.example>")
    await fake_slack.wait_for("chat.postMessage", 3)
    await asyncio.sleep(0.2)
    assert len(fake_slack.messages) == 3
    said = [(call.path, call.raw) for call in fake_slack.messages]
    said += [("acknowledgement", answer.text) for answer in acknowledged]  # the slash commands' answers
    assert all(text for _, text in said)
    for where, text in said:
        for leak in ("<!channel>", "<!here>", "<!everyone>", "<@U0BOSS>", "evil.example"):
            assert leak not in text, (where, leak)


async def test_message_text_never_reaches_the_logs_raw(
    slack: SlackClient, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await slack.command(PRIVATE_MESSAGE)
    await slack.event("app_mention", f"<@UBOT> {PRIVATE_MESSAGE}")
    await slack.event("message_im", PRIVATE_MESSAGE)
    # refused requests too: Bolt would log a bad request's whole body
    await slack.post(
        json.dumps({"event": {"text": PRIVATE_MESSAGE}}).encode(), "application/json", secret="bad"
    )
    await slack.post(f'{{"text": "{PRIVATE_MESSAGE}"'.encode(), "application/json")
    await fake_slack.wait_for("chat.postMessage", 2)
    await asyncio.sleep(0.2)
    assert any("slack" in r.name for r in caplog.records)  # the adapter did log, just not the private parts
    for record in caplog.records:
        logged = record.getMessage() + (record.exc_text or "")
        for private in PRIVATE:
            assert private not in logged, (record.name, logged)


async def test_bolt_itself_logs_no_body_when_a_signature_fails(caplog: pytest.LogCaptureFixture) -> None:
    """Bolt logs a rejected request's whole body at INFO: the logger the adapter gives it must not."""
    caplog.set_level(logging.DEBUG)
    settings = Settings(
        slack_bot_token="xoxb-test", slack_signing_secret="secret", slack_api_url="http://127.0.0.1:9"
    )
    bolt = create_bolt_app(Engine.load(), settings)
    body = json.dumps({"type": "event_callback", "event": {"type": "message", "text": PRIVATE_MESSAGE}})
    timestamp = str(int(time.time()))
    headers = {
        "x-slack-request-timestamp": timestamp,
        "x-slack-signature": signature("wrong", timestamp, body.encode()),
    }
    response = await bolt.async_dispatch(AsyncBoltRequest(body=body, headers=headers))
    assert response.status == 401
    for record in caplog.records:
        for private in PRIVATE:
            assert private not in record.getMessage(), (record.name, record.getMessage())
