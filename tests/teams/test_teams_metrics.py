"""/metrics counts what Teams was sent and answered: turns by outcome, votes, failures and re-sends."""

from __future__ import annotations

from scraped import platform_metrics
from teams_fakes import Teams, payload


async def test_metrics_count_what_teams_sent(teams: Teams) -> None:
    url = teams.connector.url
    answered = payload("personal_message", url, text="I've forgotten my password")
    await teams.post(answered)
    await teams.post(answered)  # the channel's re-send: not answered twice
    await teams.post(payload("personal_message", url, text="what's the weather like in Leeds"))
    await teams.post(
        payload("card_submit", url, value={"action": "feedback", "topic": "apply", "helpful": False})
    )
    teams.connector.status = 500
    await teams.post(payload("personal_message", url, text="forgotten password"))

    counts = await platform_metrics(teams.session, teams.url, "teams")

    assert counts['nhsmail_bot_messages_total{outcome="answer",platform="teams"}'] == 1
    assert counts['nhsmail_bot_messages_total{outcome="fallback",platform="teams"}'] == 1
    assert counts['nhsmail_bot_feedback_total{helpful="no",platform="teams",topic="apply"}'] == 1
    assert counts['nhsmail_bot_resends_total{platform="teams"}'] == 1
    assert counts['nhsmail_bot_outbound_failures_total{platform="teams"}'] == 1
    assert counts['nhsmail_bot_reply_seconds_count{platform="teams"}'] == 2
