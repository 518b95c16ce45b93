"""Block Kit rendering: every reply fits Slack's limits, and nothing shown is left unescaped."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pytest
from slack_fakes import buttons, said_for, texts

from adapters.settings import Settings
from adapters.slack import to_blocks, to_question, to_shared_blocks, to_text
from adapters.slack.blocks import escape
from adapters.slack.web_api import api_url
from bot.engine import Engine
from bot.models import Reply, ReplyKind, Suggestion

# https://docs.slack.dev/reference/block-kit/blocks
MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_ACTIONS_ELEMENTS = 25
MAX_OPTIONS = 100
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150
MAX_CONTEXT_ELEMENTS = 10


def _plain(text: str | None) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def check_limits(blocks: list[dict[str, Any]]) -> None:
    assert 0 < len(blocks) <= MAX_BLOCKS
    block_ids = [b["block_id"] for b in blocks if "block_id" in b]
    assert len(block_ids) == len(set(block_ids)), "block ids must be unique within a message"
    action_ids = [e["action_id"] for e in buttons(blocks)]
    assert len(action_ids) == len(set(action_ids)), "action ids must be unique within a message"
    for block in blocks:
        kind = block["type"]
        assert kind in ("header", "section", "actions", "context", "divider")
        if kind == "header":
            assert block["text"]["type"] == "plain_text"
            assert 0 < len(block["text"]["text"]) <= MAX_HEADER_TEXT
        if kind == "section":
            assert block["text"]["type"] == "mrkdwn"
            assert 0 < len(block["text"]["text"]) <= MAX_SECTION_TEXT
        if kind == "actions":
            assert 0 < len(block["elements"]) <= MAX_ACTIONS_ELEMENTS
        if kind == "context":
            assert 0 < len(block["elements"]) <= MAX_CONTEXT_ELEMENTS
    for element in buttons(blocks):
        if element["type"] == "button":
            assert element["text"]["type"] == "plain_text"
            assert 0 < len(element["text"]["text"]) <= MAX_BUTTON_TEXT
            assert 0 < len(element["value"]) <= MAX_BUTTON_VALUE
        else:
            assert element["type"] == "static_select"
            assert 0 < len(element["options"]) <= MAX_OPTIONS
            for option in element["options"]:
                assert 0 < len(option["text"]["text"]) <= MAX_OPTION_TEXT
                assert 0 < len(option["value"]) <= MAX_OPTION_VALUE


def every_reply(engine: Engine) -> list[tuple[str, Reply]]:
    replies = [(f"answer {t.topic}", engine.answer_topic(t.topic)) for t in engine.topics()]
    said = (said_for(engine, ReplyKind.CLARIFY), said_for(engine, ReplyKind.FALLBACK), "help", "hi", "")
    return replies + [(f"said {q!r}", engine.reply(q)) for q in said]


def test_every_reply_fits_block_kit(engine: Engine) -> None:
    replies = every_reply(engine)
    kinds = {reply.kind for _, reply in replies}
    assert kinds == {ReplyKind.ANSWER, ReplyKind.CLARIFY, ReplyKind.FALLBACK, ReplyKind.SMALLTALK}
    for name, reply in replies:
        for blocks in (
            to_blocks(reply),
            to_blocks(reply, share=True),
            to_blocks(reply, share=True, feedback_given=True),
            to_blocks(reply, list_topics=True),
            to_shared_blocks(reply, "U0ASKER"),
        ):
            try:
                check_limits(blocks)
            except AssertionError as error:
                raise AssertionError(f"{name}: {error}") from error
        assert 0 < len(to_text(reply)) <= 3000


def test_button_values_are_topic_ids(engine: Engine) -> None:
    topics = {t.topic for t in engine.topics()}
    for name, reply in every_reply(engine):
        for element in buttons(to_blocks(reply, share=True)):
            values = [element["value"]] if "value" in element else [o["value"] for o in element["options"]]
            assert set(values) <= topics, name


def test_an_answer_has_a_header_links_feedback_and_share(engine: Engine) -> None:
    reply = engine.answer_topic("apply")
    blocks = to_blocks(reply, share=True)
    assert blocks[0] == {
        "type": "header",
        "block_id": "header",
        "text": {"type": "plain_text", "text": reply.title, "emoji": True},
    }
    shown = texts(blocks)
    # the bare URL in the paragraph is a link, and the listed link carries its label
    assert "<https://portal.nhs.net/Registration#/careprovider>" in shown
    assert (
        "<https://portal.nhs.net/Registration#/careprovider|NHSmail portal registration for care providers>"
        in shown
    )
    by_action = {e["action_id"]: e for e in buttons(blocks)}
    assert by_action["share"]["value"] == "apply"
    assert (by_action["helpful"]["value"], by_action["not_helpful"]["value"]) == ("apply", "apply")
    follow_ups = [by_action[f"follow_up_{i}"]["value"] for i in range(len(reply.follow_ups))]
    assert follow_ups == [s.topic for s in reply.follow_ups] != []


def test_share_button_only_on_ephemeral_answers(engine: Engine) -> None:
    reply = engine.answer_topic("apply")
    assert "share" not in {e["action_id"] for e in buttons(to_blocks(reply))}
    assert buttons(to_shared_blocks(reply, "U0ASKER")) == []
    assert "Shared by <@U0ASKER>" in texts(to_shared_blocks(reply, "U0ASKER"))
    # an id that is not a Slack user id is not turned into a mention
    assert "<@" not in texts(to_shared_blocks(reply, "<!channel>"))


def test_feedback_given_replaces_the_buttons_with_thanks(engine: Engine) -> None:
    blocks = to_blocks(engine.answer_topic("apply"), feedback_given=True)
    assert {"helpful", "not_helpful"}.isdisjoint(e["action_id"] for e in buttons(blocks))
    assert blocks[-1]["type"] == "context"
    assert "Thanks for the feedback" in texts(blocks)


def test_phone_steps_are_numbered_with_the_number_in_plain_sight(engine: Engine) -> None:
    topic = next(t.topic for t in engine.topics() if engine.answer_topic(t.topic).phone_steps)
    reply = engine.answer_topic(topic)
    steps = reply.phone_steps
    assert steps is not None
    shown = texts(to_blocks(reply))
    assert f"*Call {steps.number}*" in shown
    for n, step in enumerate(steps.steps, start=1):
        assert f"{n}. {escape(step)[:40]}" in shown
    for item in steps.have_ready:
        assert f"• {escape(item)}" in shown
    # the phone menu is said once, not again as the paragraphs that repeat it
    assert shown.count(escape(steps.steps[0])) == 1


def test_clarify_offers_did_you_mean_buttons(engine: Engine) -> None:
    reply = engine.reply(said_for(engine, ReplyKind.CLARIFY))
    blocks = to_blocks(reply)
    assert "Did you mean" in texts(blocks)
    choices = [e for e in buttons(blocks) if e["action_id"].startswith("choose_")]
    assert [(c["text"]["text"], c["value"]) for c in choices] == [
        (s.title, s.topic) for s in reply.suggestions
    ]


def test_help_lists_every_topic(engine: Engine) -> None:
    reply = engine.reply("help")
    blocks = to_blocks(reply, list_topics=True)
    shown = texts(blocks)
    select = next(e for e in buttons(blocks) if e["type"] == "static_select")
    assert [o["value"] for o in select["options"]] == [t.topic for t in engine.topics()]
    for topic in engine.topics():
        assert f"• {escape(topic.title)}" in shown


def test_everything_shown_as_mrkdwn_is_escaped() -> None:
    hostile = "<!channel> & <@U0BOSS> <https://evil.example|nhs.net> https://x.example/?a=1&b=2>"
    reply = Reply(ReplyKind.FALLBACK, text=hostile, paragraphs=(hostile, "- " + hostile))
    blocks = to_blocks(reply)
    for text in (texts(blocks), to_text(reply)):
        assert "<!channel>" not in text and "<@U0BOSS>" not in text
        # a URL may become a link, but only ever to itself: never one disguised behind other words
        assert "<https://evil.example|" not in text
    assert "&lt;!channel&gt; &amp; &lt;@U0BOSS&gt;" in to_text(reply)
    assert "<https://x.example/?a=1&amp;b=2>&gt;" in texts(blocks)


@pytest.mark.parametrize(
    ("typed", "question"),
    [
        ("<@UBOT> I've forgotten my password", "I've forgotten my password"),
        ("<@UBOT>   locked out\n\nhelp", "locked out help"),
        ("<!channel> <!here|here> hi <#C0STAFFROOM|staff-room>", "hi"),
        (
            "see <https://evil.example|nhs.net> and <https://portal.nhs.net/>",
            "see nhs.net and https://portal.nhs.net/",
        ),
        ("password &lt;3 &amp; &gt;", "password <3 & >"),
        ("<mailto:a@nhs.net|a@nhs.net> cannot send", "a@nhs.net cannot send"),
    ],
)
def test_to_question_reads_slack_markup(typed: str, question: str) -> None:
    assert to_question(typed) == question


def test_bare_urls_keep_trailing_punctuation_outside_the_link(engine: Engine) -> None:
    reply = Reply(
        ReplyKind.ANSWER, "x", topic="apply", title="t", paragraphs=("Go to https://portal.nhs.net/.",)
    )
    assert "Go to <https://portal.nhs.net/>." in texts(to_blocks(reply))


def test_long_answers_are_split_into_sections_within_limits() -> None:
    paragraphs = (*(f"Paragraph {n}. " + "word " * 300 for n in range(40)), "x" * 7000)
    reply = Reply(ReplyKind.ANSWER, "x", topic="apply", title="T" * 400, paragraphs=paragraphs)
    blocks = to_blocks(reply, share=True)
    check_limits(blocks)
    # the buttons survive when the answer has to be cut short
    assert {"share", "helpful", "not_helpful"} <= {e["action_id"] for e in buttons(blocks)}
    assert re.fullmatch(r"T+…", blocks[0]["text"]["text"])


@pytest.mark.parametrize(
    ("configured", "base_url"),
    [
        ("", "https://slack.com/api/"),
        ("http://127.0.0.1:9/api", "http://127.0.0.1:9/api/"),
        ("http://127.0.0.1:9/api/", "http://127.0.0.1:9/api/"),
    ],
)
def test_api_url_has_one_trailing_slash(configured: str, base_url: str) -> None:
    assert api_url(Settings(slack_api_url=configured)) == base_url


def test_an_answer_offers_other_close_topics_not_already_related() -> None:
    reply = Reply(
        ReplyKind.ANSWER,
        "x",
        topic="forgotten-password",
        title="t",
        paragraphs=("p",),
        suggestions=(Suggestion("reset-troubleshooting", "Reset problems"), Suggestion("contact", "Contact")),
        follow_ups=(Suggestion("contact", "Contact"),),
    )
    blocks = to_blocks(reply)
    assert "Not what you were asking?" in texts(blocks)
    choices = [e["value"] for e in buttons(blocks) if e["action_id"].startswith("choose_")]
    related = [e["value"] for e in buttons(blocks) if e["action_id"].startswith("follow_up_")]
    assert (choices, related) == (["reset-troubleshooting"], ["contact"])


@pytest.mark.parametrize(
    "message",
    [
        "locked out, my password is Sunshine123!",
        "email. my password is Sunshine123!",
        "resident John Smith, DOB 03/04/1941, the rota app pw is Sunshine123!",
    ],
)
def test_warnings_come_first_whatever_the_reply(engine: Engine, message: str) -> None:
    reply = engine.reply(message)
    assert reply.notices and "password" in reply.warnings

    blocks = to_blocks(reply, share=True)

    check_limits(blocks)
    assert blocks[0]["type"] == "section" and blocks[0]["block_id"] == "notices"
    shown = blocks[0]["text"]["text"]
    assert shown == "\n\n".join(f":warning: {notice}" for notice in reply.notices)
    assert to_text(reply).startswith(escape(reply.notices[0]))
    unwarned = to_blocks(replace(reply, warnings=(), notices=()), share=True)
    assert blocks[1:] == unwarned


def test_warnings_are_escaped_and_left_out_of_a_shared_answer(engine: Engine) -> None:
    reply = replace(engine.answer_topic("apply"), notices=("Delete <!channel> & <@U0BOSS>'s message.",))

    blocks = to_blocks(reply)

    assert blocks[0]["text"]["text"] == ":warning: Delete &lt;!channel&gt; &amp; &lt;@U0BOSS&gt;'s message."
    assert "<!channel>" not in to_text(reply)
    assert "notices" not in {b.get("block_id") for b in to_shared_blocks(reply, "U0ASKER")}


def test_an_answer_ends_with_its_source_shared_or_not(engine: Engine) -> None:
    reply = engine.answer_topic("apply")
    assert reply.source == "From the NHSmail FAQ for care providers · checked 23 Nov 2026"
    source = {"type": "context", "block_id": "source", "elements": [{"type": "mrkdwn", "text": reply.source}]}

    blocks = to_blocks(reply)
    shared = to_shared_blocks(reply, "U0ASKER")

    ids = [b.get("block_id") for b in blocks]
    assert blocks[ids.index("source")] == source
    # after the answer's sections, contacts and links; before related questions and feedback
    assert ids.index("source") == ids.index("follow_ups_label") - 1
    assert max(i for i, b in enumerate(ids) if b.startswith(("answer_", "links", "contacts"))) < ids.index(
        "source"
    )
    assert shared[-2] == source and shared[-1]["block_id"] == "shared_by"
    assert "checked" not in texts(to_blocks(engine.reply("hi")))
