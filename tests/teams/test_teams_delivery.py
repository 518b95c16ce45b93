"""No answer lost: replies retried through throttling and outages, a 5xx when one is not delivered, a
re-send answered once, and one hanging dependency never holding up anyone else."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from teams_fakes import Teams, payload, visible_text

from adapters.teams import TEAMS


async def test_a_429_is_retried_after_retry_after_and_the_answer_delivered_once(teams: Teams) -> None:
    teams.connector.script = [429]
    started = time.monotonic()

    response = await teams.post(payload("personal_message", teams.connector.url))

    assert response.status == 200
    assert time.monotonic() - started >= 1.0  # Retry-After: 1 was honoured
    assert teams.connector.answers == [429, 200]
    assert len(teams.connector.delivered) == 1


async def test_503_twice_then_ok_delivers_once(teams: Teams) -> None:
    teams.connector.script = [503, 503]

    response = await teams.post(payload("personal_message", teams.connector.url))

    assert response.status == 200
    assert teams.connector.answers == [503, 503, 200]
    assert len(teams.connector.delivered) == 1


async def test_a_persistent_500_gets_a_5xx_and_the_channels_resend_is_answered_once(
    teams: Teams, caplog: pytest.LogCaptureFixture
) -> None:
    teams.connector.status = 500
    activity = payload("personal_message", teams.connector.url, text="I've forgotten my password")

    with caplog.at_level(logging.ERROR, logger="adapters.teams"):
        failed = await teams.post(activity)

    assert failed.status >= 500  # the channel re-sends what the bot did not answer
    assert teams.connector.delivered == []
    assert [r.levelname for r in caplog.records if "not delivered" in r.getMessage()] == ["ERROR"]
    assert (await teams.get("/healthz")).status == 200

    teams.connector.status = 200
    resent = await teams.post(activity)
    again = await teams.post(activity)  # and a third copy, now answered, is dropped

    assert (resent.status, again.status) == (200, 200)
    (reply,) = teams.connector.delivered
    assert "forgotten" in visible_text(reply.card).lower()


async def test_a_resend_while_the_first_is_still_being_delivered_is_not_answered_twice(teams: Teams) -> None:
    teams.connector.script = [503]  # the first delivery takes a retry, long enough for the re-send
    activity = payload("personal_message", teams.connector.url)

    first = asyncio.ensure_future(teams.post(activity))
    await asyncio.sleep(0.1)
    second = await teams.post(activity)

    assert ((await first).status, second.status) == (200, 200)
    assert len(teams.connector.delivered) == 1


async def test_a_connector_hanging_for_one_conversation_does_not_delay_another(teams: Teams) -> None:
    stuck = payload("personal_message", teams.connector.url)
    teams.connector.hang.add(stuck["conversation"]["id"])
    others = [
        payload("personal_message", teams.connector.url, conversation={"id": f"a:other-{n}"})
        for n in range(5)
    ]

    hanging = asyncio.ensure_future(teams.post(stuck))
    await asyncio.sleep(0.1)
    started = time.monotonic()
    responses = await asyncio.gather(*(teams.post(activity) for activity in others))

    assert [r.status for r in responses] == [200] * 5
    assert time.monotonic() - started < 1.0
    teams.connector.release.set()
    assert (await hanging).status == 200


async def test_with_a_hanging_login_service_health_stays_quick_ready_says_why_and_the_turn_gives_up(
    secured_teams: Teams,
) -> None:
    teams = secured_teams
    assert teams.login is not None
    teams.login.hang = True
    teams.app[TEAMS].token.invalidate()  # type: ignore[union-attr]

    started = time.monotonic()
    turn = asyncio.ensure_future(
        teams.post(payload("personal_message", teams.connector.url), token=teams.genuine_token())
    )
    health = []
    while not turn.done():
        asked = time.monotonic()
        assert (await teams.get("/healthz")).status == 200
        health.append(time.monotonic() - asked)
        await asyncio.sleep(0.2)
    ready = await teams.get("/readyz")

    assert max(health) < 0.1
    assert (await turn).status >= 500
    assert time.monotonic() - started < 12  # within the delivery budget, before the channel re-sends
    assert ready.status == 503
    async with teams.session.get(f"{teams.url}/readyz") as response:
        assert "cannot get a token" in (await response.json())["teams"]
    assert teams.connector.sent == []


async def test_ready_once_the_keys_and_the_token_are_fetched(secured_teams: Teams) -> None:
    teams = secured_teams
    deadline = time.monotonic() + 5
    while (await teams.get("/readyz")).status != 200 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)

    assert (await teams.get("/readyz")).status == 200


async def test_a_token_that_expired_while_idle_leaves_the_bot_ready_and_is_renewed(
    secured_teams: Teams,
) -> None:
    teams = secured_teams
    await test_ready_once_the_keys_and_the_token_are_fetched(teams)
    token = teams.app[TEAMS].token
    assert token is not None and teams.login is not None
    token.invalidate()  # as an hour without a message leaves it

    assert (await teams.get("/readyz")).status == 200
    response = await teams.post(payload("personal_message", teams.connector.url), token=teams.genuine_token())

    assert response.status == 200
    assert len(teams.login.tokens) == 2  # fetched again for the reply
