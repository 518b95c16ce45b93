"""Slack end to end over HTTP: signed requests in, and what the bot then sent to the fake Slack."""

from __future__ import annotations

import asyncio

import pytest
from slack_fakes import BOT_USER_ID, Answer, Call, FakeSlack, SlackClient, action, buttons, said_for, texts

from bot.engine import Engine
from bot.models import Reply, ReplyKind
from bot.store import MemoryStore


def answered_topic(call: Call | Answer) -> str:
    """The topic an answer message is about, read from its feedback buttons."""
    helpful = next(e for e in buttons(call.body["blocks"]) if e["action_id"] == "helpful")
    return str(helpful["value"])


async def settle(fake: FakeSlack, slack: SlackClient) -> None:
    """Let anything still in flight reach the fake: a DM answered after it shows earlier work is done."""
    before = len(fake.sent("chat.postMessage"))
    assert (await slack.event("message_im", "hello", channel="D0SETTLE")).status == 200
    await fake.wait_for("chat.postMessage", before + 1)
    await asyncio.sleep(0.2)


# ---------------------------------------------------------------- the slash command


async def test_slash_command_is_answered_ephemerally_in_its_acknowledgement(
    slack: SlackClient, fake_slack: FakeSlack
) -> None:
    answer = await slack.command("I've forgotten my password")
    assert answer.status == 200 and answer.seconds < 3
    assert answer.body["response_type"] == "ephemeral"
    assert answered_topic(answer) == "forgotten-password"
    share = next(e for e in buttons(answer.body["blocks"]) if e["action_id"] == "share")
    assert share["value"] == "forgotten-password"
    assert answer.body["text"]  # the fallback text for notifications is always there
    await settle(fake_slack, slack)
    # nothing public, and nothing more to Slack: the settling DM's answer is all it got
    assert [c.body["channel"] for c in fake_slack.sent("chat.postMessage")] == ["D0SETTLE"]
    assert not any(c.path.startswith("/response") for c in fake_slack.calls)


async def test_slash_help_and_a_bare_slash_list_every_topic(
    slack: SlackClient, fake_slack: FakeSlack, slack_engine: Engine
) -> None:
    for said in ("help", ""):
        response = await slack.command(said)
        assert response.status == 200
        shown = texts(response.body["blocks"])
        for topic in slack_engine.topics():
            assert f"• {topic.title}" in shown
        select = next(e for e in buttons(response.body["blocks"]) if e["type"] == "static_select")
        assert [o["value"] for o in select["options"]] == [t.topic for t in slack_engine.topics()]


async def test_choosing_a_topic_from_the_help_menu_answers_it(
    slack: SlackClient, fake_slack: FakeSlack
) -> None:
    help_reply = await slack.command("help")
    menu = next(e for e in buttons(help_reply.body["blocks"]) if e["type"] == "static_select")
    first = menu["options"][0]["value"]
    assert (await slack.click(action(menu))).status == 200
    [answer] = await fake_slack.wait_for("/response/click")
    assert answer.body["replace_original"] is True
    assert answered_topic(answer) == first


async def test_did_you_mean_click_answers_the_chosen_topic(
    slack: SlackClient, fake_slack: FakeSlack, slack_engine: Engine
) -> None:
    clarify = await slack.command(said_for(slack_engine, ReplyKind.CLARIFY))
    choices = [e for e in buttons(clarify.body["blocks"]) if e["action_id"].startswith("choose_")]
    assert len(choices) >= 2
    chosen = choices[1]
    assert (await slack.click(action(chosen))).status == 200
    [answer] = await fake_slack.wait_for("/response/click")
    # the ephemeral question is replaced by the answer, still only for the asker
    assert answer.body["replace_original"] is True
    assert answered_topic(answer) == chosen["value"]
    assert answer.body["blocks"][0]["text"]["text"] == slack_engine.answer_topic(str(chosen["value"])).title


async def test_share_in_channel_posts_the_answer_and_removes_the_private_copy(
    slack: SlackClient, fake_slack: FakeSlack
) -> None:
    private = await slack.command("I've forgotten my password")
    share = next(e for e in buttons(private.body["blocks"]) if e["action_id"] == "share")
    assert (await slack.click(action(share))).status == 200
    shared, deleted = await fake_slack.wait_for("/response/click", 2)
    assert shared.body["response_type"] == "in_channel"
    assert shared.body["blocks"][0]["text"]["text"] == private.body["blocks"][0]["text"]["text"]
    assert "Shared by <@U0ASKER>" in texts(shared.body["blocks"])
    assert buttons(shared.body["blocks"]) == []
    assert deleted.body == {"delete_original": True, "unfurl_links": False, "unfurl_media": False}


async def test_feedback_is_kept_and_thanked(
    slack: SlackClient, fake_slack: FakeSlack, slack_store: MemoryStore
) -> None:
    private = await slack.command("I've forgotten my password")
    not_helpful = next(e for e in buttons(private.body["blocks"]) if e["action_id"] == "not_helpful")
    assert (await slack.click(action(not_helpful))).status == 200
    [thanked] = await fake_slack.wait_for("/response/click")
    ((user, topic, _, _), helpful) = slack_store.votes.popitem()
    assert (user, topic, helpful) == (slack_store.hash("U0ASKER"), "forgotten-password", False)
    assert thanked.body["replace_original"] is True
    assert "Thanks for the feedback" in texts(thanked.body["blocks"])
    assert {"helpful", "not_helpful"}.isdisjoint(e["action_id"] for e in buttons(thanked.body["blocks"]))


# ---------------------------------------------------------------- mentions and direct messages


async def test_mention_is_answered_in_a_thread_under_it(slack: SlackClient, fake_slack: FakeSlack) -> None:
    answer = await slack.event("app_mention", f"<@{BOT_USER_ID}> I've forgotten my password")
    assert answer.status == 200
    [posted] = await fake_slack.wait_for("chat.postMessage")
    assert posted.body["channel"] == "C0STAFFROOM"
    assert posted.body["thread_ts"] == "1700000000.000100"  # the mention's own ts starts the thread
    assert answered_topic(posted) == "forgotten-password"
    assert posted.headers["Authorization"] == "Bearer xoxb-test"


async def test_mention_inside_a_thread_is_answered_in_that_thread(
    slack: SlackClient, fake_slack: FakeSlack
) -> None:
    await slack.event(
        "app_mention", f"<@{BOT_USER_ID}> locked out", ts="1700000050.000500", thread_ts="1699999999.1"
    )
    [posted] = await fake_slack.wait_for("chat.postMessage")
    assert posted.body["thread_ts"] == "1699999999.1"


async def test_direct_message_is_answered_in_the_dm(slack: SlackClient, fake_slack: FakeSlack) -> None:
    assert (await slack.event("message_im", "I've forgotten my password")).status == 200
    [posted] = await fake_slack.wait_for("chat.postMessage")
    assert posted.body["channel"] == "D0DIRECT"
    assert "thread_ts" not in posted.body
    assert answered_topic(posted) == "forgotten-password"


async def test_a_follow_up_click_in_a_thread_is_answered_in_that_thread(
    slack: SlackClient, fake_slack: FakeSlack
) -> None:
    await slack.event("app_mention", f"<@{BOT_USER_ID}> I've forgotten my password")
    [posted] = await fake_slack.wait_for("chat.postMessage")
    follow_up = next(e for e in buttons(posted.body["blocks"]) if e["action_id"].startswith("follow_up_"))
    message = {
        "type": "message",
        "ts": "1700000999.000900",
        "thread_ts": "1700000000.000100",
        "bot_id": "BBOT",
    }
    container = {"type": "message", "message_ts": "1700000999.000900", "channel_id": "C0STAFFROOM"}
    assert (await slack.click(action(follow_up), message=message, container=container)).status == 200
    _, answer = await fake_slack.wait_for("chat.postMessage", 2)
    assert (answer.body["channel"], answer.body["thread_ts"]) == ("C0STAFFROOM", "1700000000.000100")
    assert answered_topic(answer) == follow_up["value"]


async def test_a_retried_event_is_answered_once(slack: SlackClient, fake_slack: FakeSlack) -> None:
    first = await slack.event("app_mention", "<@UBOT> locked out", event_id="Ev0ONCE")
    retry = await slack.event(
        "app_mention",
        "<@UBOT> locked out",
        event_id="Ev0ONCE",
        headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"},
    )
    assert (first.status, retry.status) == (200, 200)
    await settle(fake_slack, slack)
    assert [c.body["channel"] for c in fake_slack.sent("chat.postMessage")] == ["C0STAFFROOM", "D0SETTLE"]


async def test_bot_messages_edits_and_other_subtypes_are_ignored(
    slack: SlackClient, fake_slack: FakeSlack
) -> None:
    ignored: list[Answer] = [
        await slack.event("message_im", "I've forgotten my password", bot_id="B0OTHER"),
        await slack.event(
            "message_im", "I've forgotten my password", subtype="bot_message", bot_id="B0OTHER"
        ),
        await slack.event("message_im", "locked out", user=BOT_USER_ID, bot_id="BBOT"),  # our own answer
        await slack.event("message_im", "", subtype="message_changed", message={"text": "locked out"}),
        await slack.event("message_im", "", subtype="message_deleted"),
        await slack.event("message_im", "locked out", subtype="channel_join"),
        await slack.event(
            "app_mention", "<@UBOT> locked out", edited={"user": "U0ASKER", "ts": "1700000001.0"}
        ),
        # a message in a channel (not a DM) is not for the bot unless it mentions it
        await slack.event("message_im", "locked out", channel="C0STAFFROOM", channel_type="channel"),
    ]
    # acknowledged, so Slack does not retry them
    assert [a.status for a in ignored] == [200] * len(ignored)
    await settle(fake_slack, slack)
    assert [c.body["channel"] for c in fake_slack.messages] == ["D0SETTLE"]


async def test_url_verification_returns_the_challenge(slack: SlackClient, fake_slack: FakeSlack) -> None:
    from slack_fakes import payload

    body = payload("url_verification")
    answer = await slack.raw_event(body)
    assert answer.status == 200
    assert body["challenge"] in answer.text
    assert fake_slack.messages == []


async def test_a_rate_limited_post_is_retried_after_retry_after(
    slack: SlackClient, fake_slack: FakeSlack
) -> None:
    fake_slack.rate_limited["chat.postMessage"] = 1
    await slack.event("message_im", "I've forgotten my password")
    limited, delivered = await fake_slack.wait_for("chat.postMessage", 2, timeout=10)
    assert delivered.at - limited.at >= 0.95
    assert delivered.body == limited.body
    await asyncio.sleep(0.2)
    assert len(fake_slack.sent("chat.postMessage")) == 2


async def test_an_engine_failure_gets_a_polite_reply_and_is_logged(
    slack: SlackClient,
    fake_slack: FakeSlack,
    slack_engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(message: str, *args: object, **kwargs: object) -> Reply:
        raise RuntimeError("index corrupted")

    monkeypatch.setattr(slack_engine, "reply", broken)
    assert (await slack.event("message_im", "locked out")).status == 200
    [posted] = await fake_slack.wait_for("chat.postMessage")
    assert posted.body["channel"] == "D0DIRECT"
    assert posted.body["text"].startswith("Sorry, something went wrong")
    [failure] = [r for r in caplog.records if r.exc_info]
    assert failure.name == "adapters.slack" and "index corrupted" in (
        failure.exc_text or str(failure.exc_info)
    )
