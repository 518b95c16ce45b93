"""Planted secrets sent through Teams at LOG_LEVEL=DEBUG: none in the logs, none in the store; and the
sender is warned in the reply."""

from __future__ import annotations

import logging

import pytest
from teams_fakes import Teams, payload, visible_text

from adapters import logs
from bot.engine import Engine

SECRETS = ("Mary Jones", "12/03/1945", "422 395 6647", "LS6 2QB", "Sunflower-Otter-93", "purple monkey")
MESSAGES = (
    "resident Mary Jones, DOB 12/03/1945, NHS 422 395 6647, lives at LS6 2QB; my password is "
    "Sunflower-Otter-93, can you move her room",
    "resident Mary Jones cannot open the discharge letter attachment, the password for the shared mailbox "
    "is purple monkey dishwasher",
)


def _everything_logged(records: list[logging.LogRecord]) -> str:
    """Each record as both formats write it (message, fields, traceback), and its raw parts too."""
    formatter = logs.JsonFormatter()
    return "\n".join(
        f"{record.getMessage()}\n{record.__dict__!r}\n{formatter.format(record)}" for record in records
    )


@pytest.mark.parametrize("kind", ["personal_message", "channel_mention"])
async def test_planted_secrets_reach_neither_the_logs_nor_the_store(
    teams: Teams, engine: Engine, caplog: pytest.LogCaptureFixture, kind: str
) -> None:
    caplog.set_level(logging.DEBUG)
    for message in MESSAGES:
        text = f"<at>NHSmail Bot</at> {message}" if kind == "channel_mention" else message
        assert (await teams.post(payload(kind, teams.connector.url, text=text))).status == 200
    sent = await teams.connector.wait_for(2)

    logged = _everything_logged(caplog.records)
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
