"""Hostile input at Slack's door: odd timestamps, payloads of the wrong shape, huge ids and text, and every
regex that reads what people type timed on its worst input."""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from slack_fakes import FakeSlack, SlackClient, payload

from adapters.slack.blocks import _URL, _USER_ID
from adapters.slack.payloads import MAX_ID, MAX_TEXT, PATTERNS, to_question


@pytest.mark.parametrize(
    "timestamp",
    ["²", "1" * 5000, "9" * 13, "١٧٠٠٠٠٠٠٠٠", "-1", " 1700000000", "1e9", "0x10", "1_700_000_000"],
)
async def test_a_malformed_timestamp_is_refused_with_401(
    slack: SlackClient, fake_slack: FakeSlack, timestamp: str
) -> None:
    form = urlencode(payload("slash_command") | {"text": "locked out"}).encode()
    # signed over the same odd timestamp, so only the timestamp can be what is refused
    answer = await slack.post(form, "application/x-www-form-urlencoded", timestamp=timestamp)
    assert answer.status == 401
    assert fake_slack.requests == []


def click(**fields: Any) -> dict[str, Any]:
    body = payload("block_actions")
    body["response_url"] = "http://127.0.0.1:9/response"
    return body | fields


BUTTON = {"type": "button", "action_id": "choose_0", "value": "forgotten-password"}
ODD_CLICKS = {
    "user is a string": click(user="U0ASKER"),
    "channel is a number": click(channel=5),
    "container is a list": click(container=[]),
    "message is a string": click(message="hello"),
    "team is a number": click(team=1),
    "actions is empty": click(actions=[]),
    "actions is an object": click(actions={"action_id": "choose_0"}),
    "action id is a number": click(actions=[{"action_id": 5, "value": "x"}]),
    "action value is an object": click(actions=[{"action_id": "choose_0", "value": {"a": 1}}]),
    "selected option is a string": click(actions=[{"action_id": "menu", "selected_option": "x"}]),
    "selected option value is a list": click(
        actions=[{"action_id": "menu", "selected_option": {"value": []}}]
    ),
    "response_url is a number": click(actions=[BUTTON], response_url=7),
    "state is a string": click(actions=[BUTTON], state="x"),
    "type is a list": click(actions=[BUTTON], type=["block_actions"]),
}


@pytest.mark.parametrize("body", ODD_CLICKS.values(), ids=ODD_CLICKS.keys())
async def test_a_click_payload_of_the_wrong_shape_is_answered_at_once_without_a_traceback(
    slack: SlackClient, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture, body: dict[str, Any]
) -> None:
    form = urlencode({"payload": json.dumps(body)}).encode()
    answer = await slack.post(form, "application/x-www-form-urlencoded")
    assert answer.status in (200, 400) and answer.seconds < 1
    await asyncio.sleep(0.2)
    assert not [r for r in caplog.records if r.exc_info or r.levelname == "ERROR"]
    assert fake_slack.messages == []


LONG_ID = "U" + "0" * MAX_ID


@pytest.mark.parametrize(
    "body",
    [
        payload("message_im") | {"event_id": "Ev" + "0" * MAX_ID},
        payload("message_im") | {"team_id": LONG_ID},
        payload("message_im") | {"event": payload("message_im")["event"] | {"channel": "D" + "0" * 200_000}},
        payload("message_im") | {"event": payload("message_im")["event"] | {"user": LONG_ID}},
        payload("message_im") | {"event": payload("message_im")["event"] | {"ts": "1" * 1000}},
        payload("message_im") | {"event": payload("message_im")["event"] | {"text": {"a": 1}}},
        payload("message_im") | {"event": payload("message_im")["event"] | {"channel": ["D1"]}},
    ],
    ids=["event_id", "team_id", "channel 200 kB", "user", "ts", "text object", "channel list"],
)
async def test_events_with_oversized_or_odd_ids_are_refused(
    slack: SlackClient, fake_slack: FakeSlack, body: dict[str, Any]
) -> None:
    answer = await slack.raw_event(body)
    assert answer.status == 400
    await asyncio.sleep(0.1)
    assert fake_slack.messages == []


async def test_oversized_click_ids_and_commands_are_refused(
    slack: SlackClient, fake_slack: FakeSlack
) -> None:
    long_value = click(actions=[BUTTON | {"value": "x" * (MAX_ID + 1)}])
    form = urlencode({"payload": json.dumps(long_value)}).encode()
    assert (await slack.post(form, "application/x-www-form-urlencoded")).status == 400
    command = payload("slash_command") | {"user_id": LONG_ID, "response_url": fake_slack.response_url()}
    assert (await slack.post(urlencode(command).encode(), "application/x-www-form-urlencoded")).status == 400
    await asyncio.sleep(0.1)
    assert fake_slack.messages == []


async def test_a_40000_character_dm_is_answered_while_the_server_stays_responsive(
    slack: SlackClient, fake_slack: FakeSlack
) -> None:
    health = slack.url.replace("/slack/events", "/healthz")
    slowest = 0.0
    stop = asyncio.Event()

    async def probe() -> None:
        nonlocal slowest
        async with aiohttp.ClientSession() as session:
            while not stop.is_set():
                started = time.monotonic()
                async with session.get(health) as response:
                    assert response.status == 200
                slowest = max(slowest, time.monotonic() - started)
                await asyncio.sleep(0.005)

    probing = asyncio.create_task(probe())
    await asyncio.sleep(0.05)
    for shape in ("a", "<@", "<a|", "https://"):
        text = (shape * MAX_TEXT)[:MAX_TEXT]
        assert (await slack.event("message_im", text, channel=f"D0{len(shape)}")).status == 200
        # longer than Slack allows (the body limit is 256 kB): cut to Slack's limit before anything reads it
        longer = (shape * 100_000)[:100_000]
        assert (await slack.event("message_im", longer, channel=f"D1{len(shape)}")).status == 200
    await fake_slack.wait_for("chat.postMessage", 8, timeout=10)
    stop.set()
    await probing
    assert slowest < 0.1
    assert all(c.status == 200 for c in fake_slack.sent("chat.postMessage"))


# what a hostile user can paste: unclosed markup, separators, entities, URLs, one letter
SHAPES = [
    "<@",
    "<!",
    "<#C|",
    "<",
    ">",
    "|",
    "<a|",
    "<a|b",
    "<<>",
    "<@U|",
    "&amp;",
    "&",
    "https://",
    "<https://",
]
SHAPES += ["a", " ", "a ", "U", "\n"]
SIZE = 200_000


@pytest.mark.parametrize(
    "pattern", [*PATTERNS, _URL, _USER_ID], ids=["mention", "labelled link", "link", "url", "user id"]
)
def test_every_regex_is_linear_on_200_kb_of_its_worst_input(pattern: re.Pattern[str]) -> None:
    for shape in SHAPES:
        text = (shape * (SIZE // len(shape) + 1))[:SIZE]
        started = time.perf_counter()
        pattern.sub(" ", text)
        assert time.perf_counter() - started < 0.1, (pattern.pattern, shape)


def test_text_is_cut_to_slacks_limit_before_any_regex() -> None:
    started = time.perf_counter()
    question = to_question("<@" * 1_000_000 + " I forgot my password")
    assert time.perf_counter() - started < 0.1
    assert "password" not in question  # beyond 40,000 characters: never read
    assert to_question("locked out " + "x" * (MAX_TEXT - 11)).startswith("locked out")
