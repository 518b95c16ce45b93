"""A Teams conversation remembers its last answer for a follow-up, and one person cannot flood the bot."""

from __future__ import annotations

from teams_fakes import Teams, payload, visible_text

from adapters.server import TURNS
from bot.engine import Engine


async def test_a_follow_up_is_read_in_the_conversations_context(teams: Teams, engine: Engine) -> None:
    url = teams.connector.url
    await teams.post(payload("personal_message", url, text="I've forgotten my password"))
    await teams.post(payload("personal_message", url, text="and what if that doesn't work?"))
    elsewhere = payload("personal_message", url, text="and what if that doesn't work?")
    elsewhere["conversation"] = {"id": "a:another-conversation", "conversationType": "personal"}
    await teams.post(elsewhere)

    first, follow_up, no_context = await teams.connector.wait_for(3)

    reset = engine.answer_topic("reset-troubleshooting").title
    assert engine.answer_topic("forgotten-password").title in visible_text(first.card)
    assert reset in visible_text(follow_up.card)
    assert reset not in visible_text(no_context.card).split("\n")[0]  # no answer without context


async def test_one_person_over_the_rate_limit_is_told_once_then_not_answered(teams: Teams) -> None:
    teams.app[TURNS].limiter.limit = 3
    url = teams.connector.url
    for n in range(6):
        assert (
            await teams.post(payload("personal_message", url, text=f"forgotten password {n}"))
        ).status == 200
    someone_else = payload("personal_message", url, text="forgotten password")
    someone_else["from"] = {"id": "29:someone-else"}
    await teams.post(someone_else)

    sent = await teams.connector.wait_for(5)

    said = [visible_text(s.card) for s in sent]
    assert len(sent) == 5  # three answers, one polite refusal, then silence; the other person is answered
    assert "faster than I can answer" in said[3]
    assert all("faster" not in text for text in said[:3] + said[4:])
