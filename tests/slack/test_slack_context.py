"""A Slack conversation remembers its last answer for a follow-up, warns a sender privately in a channel,
and holds one person to the rate limit."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import aiohttp
from slack_fakes import FakeSlack, SlackClient, serve, texts

from adapters.server import create_app
from adapters.settings import Settings
from bot.engine import Engine
from bot.store import MemoryStore


async def test_a_follow_up_in_a_dm_is_read_in_its_context(
    slack: SlackClient, fake_slack: FakeSlack, slack_engine: Engine
) -> None:
    await slack.event("message_im", "I've forgotten my password")
    await fake_slack.wait_for("chat.postMessage", 1)
    await slack.event("message_im", "and what if that doesn't work?")
    _, follow_up = await fake_slack.wait_for("chat.postMessage", 2)

    header = follow_up.body["blocks"][0]["text"]["text"]
    assert header == slack_engine.answer_topic("reset-troubleshooting").title


async def test_in_a_channel_the_sender_alone_is_warned_about_their_phone_number(
    slack: SlackClient, fake_slack: FakeSlack, slack_engine: Engine
) -> None:
    mention = "<@U0NHSMAIL> my mobile 07911 123456 never got the activation text"
    await slack.event("app_mention", mention, user="U0ASKER")

    [warning] = await fake_slack.wait_for("chat.postEphemeral")
    [answer] = await fake_slack.wait_for("chat.postMessage")

    contact = slack_engine.kb.messages.warnings["contact"]
    assert warning.body["user"] == "U0ASKER"
    assert " ".join(contact.split()) in " ".join(texts(warning.body["blocks"]).split())
    assert contact.split(",")[0] not in texts(answer.body["blocks"])  # the thread sees the answer only
    assert (
        answer.body["blocks"][0]["text"]["text"] == slack_engine.answer_topic("password-not-received").title
    )


async def test_in_a_dm_the_same_message_gets_no_contact_warning(
    slack: SlackClient, fake_slack: FakeSlack
) -> None:
    await slack.event("message_im", "my mobile 07911 123456 never got the activation text")
    await fake_slack.wait_for("chat.postMessage")
    await asyncio.sleep(0.1)

    assert fake_slack.sent("chat.postEphemeral") == []


async def test_one_person_over_the_rate_limit_is_told_once_then_not_answered(
    fake_slack: FakeSlack, slack_engine: Engine, slack_settings: Settings
) -> None:
    settings = replace(slack_settings, rate_limit_per_minute=2)
    runner, url = await serve(create_app(settings, slack_engine, MemoryStore()))
    try:
        async with aiohttp.ClientSession() as session:
            slack = SlackClient(session, f"{url}/slack/events", settings.slack_signing_secret, fake_slack)
            for n in range(5):
                assert (await slack.event("message_im", f"forgotten password {n}")).status == 200
            await fake_slack.wait_for("chat.postMessage", 3)
            await asyncio.sleep(0.2)
    finally:
        await runner.cleanup()

    said = [c.body["text"] for c in fake_slack.sent("chat.postMessage")]
    assert len(said) == 3  # two answers, one polite refusal, then silence
    assert "faster than I can answer" in said[2]
