"""Planted secrets sent through Slack at LOG_LEVEL=DEBUG: none in the logs, none in the store; and the
sender is warned (privately, in a channel)."""

from __future__ import annotations

import logging

import pytest
from planted import MESSAGES, SECRETS, everything_logged
from slack_fakes import Answer, Call, FakeSlack, SlackClient, texts

from bot.engine import Engine
from bot.store import MemoryStore


@pytest.mark.parametrize("kind", ["message_im", "app_mention", "slash"])
async def test_planted_secrets_reach_neither_the_logs_nor_the_store_and_the_sender_is_warned(
    slack: SlackClient,
    fake_slack: FakeSlack,
    slack_store: MemoryStore,
    engine: Engine,
    caplog: pytest.LogCaptureFixture,
    kind: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    acknowledged = []
    for message in MESSAGES:
        if kind == "slash":
            acknowledged.append(await slack.command(message))
        else:
            await slack.event(kind, f"<@U0NHSMAIL> {message}" if kind == "app_mention" else message)
    warned: list[Call | Answer]
    if kind == "slash":  # answered in the acknowledgement
        warned = list(acknowledged)
    elif kind == "app_mention":  # in a channel: a message the sender alone sees
        warned = await fake_slack.wait_for("chat.postEphemeral", 2)
    else:
        warned = await fake_slack.wait_for("chat.postMessage", 2)

    logged = everything_logged(caplog.records)
    kept = repr(slack_store.questions) + repr(slack_store.events) + repr(slack_store._contexts)
    for secret in SECRETS:
        assert secret not in logged, secret
        assert secret not in kept, secret
    said = engine.kb.messages.warnings
    for call in warned:
        shown = " ".join(texts(call.body["blocks"]).split())
        assert " ".join(said["password"].split()) in shown
        assert " ".join(said["resident"].split()) in shown
