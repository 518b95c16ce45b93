"""/metrics counts what Slack sent and what was answered, and /readyz says when Slack can be reached."""

from __future__ import annotations

import asyncio

import aiohttp
from scraped import platform_metrics
from slack_fakes import SlackClient, serve

from adapters.server import create_app
from adapters.settings import Settings
from bot.engine import Engine


async def test_metrics_count_what_slack_sent(slack: SlackClient) -> None:
    await slack.event("message_im", "I've forgotten my password", event_id="Ev1")
    await slack.event("message_im", "I've forgotten my password", event_id="Ev1")  # Slack's retry
    await slack.command("what's the weather in Leeds")
    await slack.click({"action_id": "helpful", "value": "apply", "type": "button"})
    await slack.fake.wait_for("chat.postMessage", 1)
    await asyncio.sleep(0.2)

    counts = await platform_metrics(slack.session, slack.url.removesuffix("/slack/events"), "slack")

    assert counts['nhsmail_bot_messages_total{outcome="answer",platform="slack"}'] == 1
    assert counts['nhsmail_bot_messages_total{outcome="fallback",platform="slack"}'] == 1
    assert counts['nhsmail_bot_resends_total{platform="slack"}'] == 1
    assert counts['nhsmail_bot_feedback_total{helpful="yes",platform="slack",topic="apply"}'] == 1


async def test_ready_once_auth_test_has_answered(slack: SlackClient) -> None:
    base = slack.url.removesuffix("/slack/events")
    for _ in range(100):
        async with slack.session.get(f"{base}/readyz") as response:
            if response.status == 200:
                break
        await asyncio.sleep(0.05)

    assert response.status == 200


async def test_not_ready_while_the_web_api_cannot_be_reached(slack_engine: Engine) -> None:
    settings = Settings(
        slack_bot_token="xoxb-test", slack_signing_secret="secret", slack_api_url="http://127.0.0.1:9/api"
    )
    runner, url = await serve(create_app(settings, slack_engine))
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(100):
                async with session.get(f"{url}/readyz") as response:
                    status, reasons = response.status, await response.json()
                if "not verified yet" not in reasons.get("slack", ""):
                    break
                await asyncio.sleep(0.1)
    finally:
        await runner.cleanup()

    assert status == 503
    assert "cannot reach the Slack Web API" in reasons["slack"]
