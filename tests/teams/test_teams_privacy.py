"""Planted secrets sent through Teams at LOG_LEVEL=DEBUG: none in the logs, none in the store; and the
sender is warned in the reply."""

from __future__ import annotations

import logging

import pytest
from planted import MESSAGES, SECRETS, everything_logged
from teams_fakes import Teams, payload, visible_text

from bot.engine import Engine


@pytest.mark.parametrize("kind", ["personal_message", "channel_mention"])
async def test_planted_secrets_reach_neither_the_logs_nor_the_store(
    teams: Teams, engine: Engine, caplog: pytest.LogCaptureFixture, kind: str
) -> None:
    caplog.set_level(logging.DEBUG)
    for message in MESSAGES:
        text = f"<at>NHSmail Bot</at> {message}" if kind == "channel_mention" else message
        assert (await teams.post(payload(kind, teams.connector.url, text=text))).status == 200
    sent = await teams.connector.wait_for(2)

    logged = everything_logged(caplog.records)
    kept = repr(teams.store.questions) + repr(teams.store.events) + repr(teams.store._contexts)
    for secret in SECRETS:
        assert secret not in logged, secret
        assert secret not in kept, secret
    assert teams.store.questions  # the fallback was kept, redacted
    warnings = engine.kb.messages.warnings
    for reply in sent:
        shown = " ".join(visible_text(reply.card).split())
        assert " ".join(warnings["password"].split()) in shown
        assert " ".join(warnings["resident"].split()) in shown
