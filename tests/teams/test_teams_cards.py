"""Every card the bot can send is valid Adaptive Card 1.5; the converters at the edge do what they say."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from botbuilder.schema import Activity
from teams_fakes import PAYLOADS, card_errors, submits, visible_text

from adapters.teams import to_activity, to_card, to_click, to_question
from adapters.teams.activities import MAX_QUESTION_CHARS, Click
from adapters.teams.connector import DEFAULT_SERVICE_HOSTS, service_url_problem
from bot.engine import Engine
from bot.models import Reply, ReplyKind, Suggestion

CARDS = Path(__file__).resolve().parents[2] / "adapters" / "cards"


def _replies(engine: Engine) -> dict[str, Reply]:
    replies = {f"answer:{t.topic}": engine.answer_topic(t.topic) for t in engine.topics()}
    for message in ("ods code", "email", "account", "flibbertigibbet wobble", "help", "hello", "thanks", ""):
        replies[f"reply:{message}"] = engine.reply(message)
    replies["welcome"] = engine.welcome()
    return replies


def test_every_card_the_engine_can_lead_to_is_valid_adaptive_card_1_5(engine: Engine) -> None:
    replies = _replies(engine)
    kinds = {reply.kind for reply in replies.values()}
    assert kinds == set(ReplyKind)  # answer, clarify, fallback and small talk all covered
    assert any(reply.phone_steps for reply in replies.values())  # and the IVR card

    for name, reply in replies.items():
        for feedback_given in (False, True):
            card = to_card(reply, feedback_given=feedback_given)
            assert card_errors(card) == [], name
            assert card["version"] == "1.5"
            assert "${" not in json.dumps(card), name
            assert card["fallbackText"] == reply.text


@pytest.mark.parametrize("name", ["feedback", "error"])
def test_notices_are_valid_adaptive_cards(name: str) -> None:
    card = json.loads((CARDS / f"{name}.json").read_text(encoding="utf-8"))

    assert card_errors(card) == []
    assert card["fallbackText"] == visible_text(card)


def test_answer_cards_offer_feedback_until_it_is_given(engine: Engine) -> None:
    reply = engine.answer_topic("cannot-send")

    open_card = to_card(reply)
    done_card = to_card(reply, feedback_given=True)

    assert [s["helpful"] for s in submits(open_card) if s["action"] == "feedback"] == [True, False]
    assert [s for s in submits(done_card) if s["action"] == "feedback"] == []
    assert "Thanks for your feedback." in visible_text(done_card)


WITH_PASSWORD = {
    "answer": "locked out, my password is Sunshine123!",
    "ivr": "what are the steps when I phone the helpdesk? my password is Sunshine123!",
    "clarify": "email. my password is Sunshine123!",
    "menu": "resident John Smith, DOB 03/04/1941, the rota app pw is Sunshine123!",
}


def _layout(card: dict[str, Any]) -> str:
    text = json.dumps(card)
    if "Call the helpdesk on" in text:
        return "ivr"
    if "Did this answer your question?" in text:
        return "answer"
    return "menu" if card["body"][-1]["type"] == "ActionSet" else "clarify"


@pytest.mark.parametrize("layout", WITH_PASSWORD)
def test_every_layout_shows_the_warnings_first_one_block_each(engine: Engine, layout: str) -> None:
    reply = engine.reply(WITH_PASSWORD[layout])
    assert reply.notices and "password" in reply.warnings

    card = to_card(reply)

    assert _layout(card) == layout
    assert card_errors(card) == []
    first = card["body"][0]
    assert (first["type"], first["style"]) == ("Container", "attention")
    assert [block["text"] for block in first["items"]] == list(reply.notices)
    assert all(block["type"] == "TextBlock" and block["wrap"] for block in first["items"])
    assert card["fallbackText"] == "\n\n".join([*reply.notices, reply.text])
    unwarned = to_card(replace(reply, warnings=(), notices=()))
    assert unwarned["body"] == card["body"][1:]
    assert '"attention"' not in json.dumps(unwarned)


def test_a_password_and_a_residents_details_are_two_warnings(engine: Engine) -> None:
    reply = engine.reply(WITH_PASSWORD["menu"])

    items = to_card(reply)["body"][0]["items"]

    assert len(reply.notices) == 2 and [i["text"] for i in items] == list(reply.notices)
    assert "change that password" in items[0]["text"] and "resident" in items[1]["text"]


def test_the_same_answer_with_and_without_a_warning_is_two_cards(engine: Engine) -> None:
    warned = engine.reply(WITH_PASSWORD["answer"])
    plain = engine.reply("locked out")
    assert (warned.topic, plain.topic) == ("forgotten-password", "forgotten-password")

    warned_card = to_activity(warned).attachments[0].content
    plain_card = to_activity(plain).attachments[0].content

    assert warned_card["body"][0]["type"] == "Container"
    assert plain_card["body"][0]["type"] == "TextBlock"
    assert to_activity(plain).attachments[0].content is plain_card  # still one card per Reply


@pytest.mark.parametrize("topic", ["cannot-send", "password-recovery-call"])
def test_answers_end_with_their_source_before_the_feedback_buttons(engine: Engine, topic: str) -> None:
    reply = engine.answer_topic(topic)
    assert reply.source == "From the NHSmail FAQ for care providers · checked 23 Nov 2026"

    body = to_card(reply)["body"]

    texts = [block.get("text") for block in body]
    at = texts.index(reply.source)
    assert body[at]["isSubtle"] and body[at]["size"] == "Small"
    assert at < texts.index("Did this answer your question?")
    assert at < texts.index("Related questions")
    # the whole answer comes before it: after it, only the buttons and their labels
    after = [block.get("text") for block in body[at + 1 :] if block["type"] != "ActionSet"]
    assert after == ["Related questions", "Did this answer your question?"]
    assert reply.text.endswith(reply.source)


def test_no_other_reply_names_a_source(engine: Engine) -> None:
    for message in ("email", "flibbertigibbet wobble", "hello"):
        reply = engine.reply(message)
        assert reply.source == "" and "checked" not in visible_text(to_card(reply))


def test_clarify_offers_at_most_three_choices() -> None:
    reply = Reply(
        ReplyKind.CLARIFY,
        "Did you mean one of these?",
        paragraphs=("Did you mean:",),
        suggestions=tuple(Suggestion(f"topic-{n}", f"Topic {n}") for n in range(5)),
    )

    card = to_card(reply)

    assert submits(card) == [{"action": "topic", "topic": f"topic-{n}"} for n in range(3)]


def test_links_in_answers_become_markdown_with_their_labels_and_keep_the_full_stop(engine: Engine) -> None:
    card = to_card(engine.answer_topic("forgotten-password"))

    text = visible_text(card)

    assert (
        "[Unlocking your account (NHSmail support)](https://support.nhs.net/knowledge-base/unlocking-your-account/)"
        in text
    )
    assert "https://support.nhs.net/knowledge-base/unlocking-your-account/)." not in text


def test_the_activity_has_a_plain_text_summary_and_the_card_attached(engine: Engine) -> None:
    activity = to_activity(engine.reply("flibbertigibbet wobble"))

    assert activity.type == "message"
    assert activity.summary.startswith("Sorry, I'm not sure")
    (attachment,) = activity.attachments
    assert attachment.content_type == "application/vnd.microsoft.card.adaptive"
    assert attachment.content["type"] == "AdaptiveCard"


def _activity(name: str, **changes: object) -> Activity:
    data = json.loads((PAYLOADS / f"{name}.json").read_text(encoding="utf-8"))
    data.update(changes)
    return Activity().deserialize(data)


def test_to_question_removes_only_the_bots_own_mention() -> None:
    bot = {
        "type": "mention",
        "text": "<at>NHSmail Bot</at>",
        "mentioned": {"id": "28:0b5d7f9e-1c3a-4e5f-9a7b-2c4d6e8f0a1b"},
    }
    jo = {"type": "mention", "text": "<at>Jo Smith</at>", "mentioned": {"id": "29:jo", "name": "Jo Smith"}}
    activity = _activity(
        "channel_mention",
        text="<at>NHSmail Bot</at> can <at>Jo Smith</at> open the shared mailbox?&nbsp;Tom &amp; I can&#39;t",
        entities=[bot, jo],
    )

    assert to_question(activity) == "can Jo Smith open the shared mailbox? Tom & I can't"


def test_to_question_ignores_a_mention_of_the_bots_name_by_someone_else() -> None:
    # a mention entity for another id with the bot's display name must not be stripped as the bot's
    impostor = {"type": "mention", "text": "<at>Jo</at>", "mentioned": {"id": "29:jo", "name": "Jo"}}
    activity = _activity("channel_mention", text="<at>Jo</at> forgotten password", entities=[impostor])

    assert to_question(activity) == "Jo forgotten password"


def test_to_question_is_capped_and_on_one_line() -> None:
    activity = _activity("personal_message", text="locked\n\nout " * 5000)

    question = to_question(activity)

    assert len(question) == MAX_QUESTION_CHARS
    assert "\n" not in question


@pytest.mark.parametrize(
    ("value", "click"),
    [
        ({"action": "topic", "topic": "apply"}, Click("topic", "apply")),
        ({"action": "topic"}, Click("topic", "")),  # the menu's Submit with nothing chosen
        ({"action": "feedback", "topic": "apply", "helpful": False}, Click("feedback", "apply", False)),
        ({"action": "feedback", "topic": "apply", "helpful": "yes"}, None),
        ({"action": "feedback", "helpful": True}, None),
        ({"action": "topic", "topic": ["apply"]}, None),
        ({"verb": "approve"}, None),
        ([1, 2], None),
        ("topic", None),
        (None, None),
    ],
)
def test_to_click(value: object, click: Click | None) -> None:
    assert to_click(value) == click


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:9000/", True),
        ("http://localhost:3979", True),
        ("http://[::1]:9000/", True),
        ("https://127.8.9.10/", True),
        ("https://smba.trafficmanager.net/uk/", False),
        ("http://localhost.attacker.example/", False),
        ("http://127.0.0.1@attacker.example/", False),
        ("http://evil.example\\@127.0.0.1:9/", False),  # urlsplit sees 127.0.0.1, the client evil.example
        ("http://user:pw@127.0.0.1:9/", False),
        ("http://127.0.0.1:9/ x", False),
        ("ftp://127.0.0.1/", False),
        ("http://[::1/", False),
        ("", False),
    ],
)
def test_local_mode_calls_only_loopback_service_urls(url: str, loopback: bool) -> None:
    assert (service_url_problem(url, None) is None) is loopback


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://smba.trafficmanager.net/emea/", True),
        ("https://SMBA.trafficmanager.net/amer/", True),
        ("https://webchat.botframework.com/", True),
        ("http://smba.trafficmanager.net/emea/", False),  # not https
        ("https://smba.trafficmanager.net.attacker.example/", False),
        ("https://evilbotframework.com/", False),
        ("https://attacker.example/", False),
        ("https://smba.trafficmanager.net\\@attacker.example/", False),
        ("https://x@smba.trafficmanager.net/emea/", False),
        ("https://smba.trafficmanager.net/emea/?next=https://attacker.example", False),
    ],
)
def test_with_an_app_id_only_bot_framework_hosts_are_called(url: str, allowed: bool) -> None:
    assert (service_url_problem(url, DEFAULT_SERVICE_HOSTS) is None) is allowed
