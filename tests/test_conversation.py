"""Conversations over several turns: follow-ups in context, two questions at once, small talk as typed."""

from __future__ import annotations

import io

import pytest

from adapters.console import chat, choices_of
from bot.engine import Engine
from bot.models import Reply, ReplyKind


def transcript(engine: Engine, *messages: str) -> list[Reply]:
    """Each message in turn, with the topic of the last answer as its context, as an adapter keeps it."""
    replies, topic = [], None
    for message in messages:
        reply = engine.reply(message, topic)
        assert reply.text.strip()
        topic = reply.topic or topic
        replies.append(reply)
    return replies


def test_what_if_that_does_not_work_after_a_forgotten_password(engine: Engine) -> None:
    first, then = transcript(engine, "I've forgotten my password", "and what if that doesn't work?")
    assert first.topic == "forgotten-password"
    assert (then.kind, then.topic) == (ReplyKind.ANSWER, "reset-troubleshooting")


def test_the_same_fragment_alone_is_no_guess(engine: Engine) -> None:
    assert engine.reply("and what if that doesn't work?").kind is not ReplyKind.ANSWER


@pytest.mark.parametrize("first", ["I've forgotten my password", "my password text never came"])
def test_what_about_the_shared_one_after_a_password_answer(engine: Engine, first: str) -> None:
    replies = transcript(engine, first, "what about the shared one?")
    assert (replies[-1].kind, replies[-1].topic) == (ReplyKind.ANSWER, "shared-mailbox-password")


@pytest.mark.parametrize(
    ("first", "then", "topic"),
    [
        ("how do I open the shared mailbox", "and the password?", "shared-mailbox-password"),
        ("can I get nhsmail on my iphone", "what about on the laptop", "outlook-desktop"),
        ("can I use nhsmail in outlook on my pc", "and on my phone?", "mobile-device"),
    ],
)
def test_a_follow_up_reads_the_previous_answer(engine: Engine, first: str, then: str, topic: str) -> None:
    replies = transcript(engine, first, then)
    assert (replies[-1].kind, replies[-1].topic) == (ReplyKind.ANSWER, topic)


def test_a_fragment_that_still_makes_no_sense_gets_choices(engine: Engine) -> None:
    first, then = transcript(engine, "I've forgotten my password", "and the other thing?")
    assert then.kind is ReplyKind.CLARIFY
    assert len(then.suggestions) >= 2
    assert {s.topic for s in then.suggestions} <= set(engine.kb.entry(first.topic or "").related)


@pytest.mark.parametrize(
    "message",
    ["who do I call about the hoist", "what's the weather tomorrow", "how do I set an out of office"],
)
def test_another_subject_after_an_answer_is_still_declined(engine: Engine, message: str) -> None:
    _, then = transcript(engine, "I've forgotten my password", message)
    assert then.kind is ReplyKind.FALLBACK


def test_a_new_question_after_an_answer_is_answered_on_its_own(engine: Engine) -> None:
    _, then = transcript(engine, "I've forgotten my password", "where do I find our ODS code")
    assert then.topic == "ods-code-find"


@pytest.mark.parametrize(
    "message",
    [
        "I've forgotten my NHSmail password",  # answered on its own
        "Good morning, I am the deputy manager and I need to know how the new carers get into the shared "
        "mailbox, and who sets them up",  # too long to be a follow-up
    ],
)
def test_the_last_topic_is_not_needed_when_it_cannot_change_the_reply(engine: Engine, message: str) -> None:
    reply = engine.reply(message)
    assert not engine.follows_on(message, reply)
    for previous in engine.kb.entries:
        assert engine.reply(message, previous.id) == reply


@pytest.mark.parametrize("message", ["and what if that doesn't work?", "what do I do?", "and the password?"])
def test_a_short_unclear_message_asks_for_the_last_topic(engine: Engine, message: str) -> None:
    assert engine.follows_on(message, engine.reply(message))


def test_an_unknown_previous_topic_is_ignored(engine: Engine) -> None:
    assert engine.reply("locked out", "no-such-topic").topic == engine.reply("locked out").topic


def test_two_questions_in_one_message_are_both_offered(engine: Engine) -> None:
    reply = engine.reply("I forgot my password and also how do I add a new carer to the shared mailbox")
    offered = {reply.topic, *(s.topic for s in reply.suggestions)}
    assert reply.kind is ReplyKind.ANSWER
    assert {"forgotten-password", "shared-mailbox-users"} <= offered


def test_two_questions_in_two_sentences(engine: Engine) -> None:
    reply = engine.reply("What is an ODS code? Also my attachments won't open.")
    offered = {reply.topic, *(s.topic for s in reply.suggestions)}
    assert {"ods-code-what", "attachments"} <= offered


@pytest.mark.parametrize(
    ("message", "said"),
    [
        ("thanks x", "thanks"),
        ("ta", "thanks"),
        ("Cheers xx", "thanks"),
        ("brill thanks", "thanks"),
        ("lovely ta 😊", "thanks"),
        ("THANK YOU SO MUCH!!", "thanks"),
        ("nice one", "thanks"),
        ("ok", "ack"),
        ("okay", "ack"),
        ("yes", "ack"),
        ("No", "ack"),
        ("xx", "ack"),
        ("bye x", "goodbye"),
        ("ok bye", "goodbye"),
        ("Hello NHSmail Help", "greeting"),
        ("hiya nhsmail bot 👋", "greeting"),
        ("morning!", "greeting"),
    ],
)
def test_small_talk_as_people_in_england_write_it(engine: Engine, message: str, said: str) -> None:
    reply = engine.reply(message)
    assert reply.kind is ReplyKind.SMALLTALK
    assert reply.paragraphs[0] == getattr(engine.kb.messages, said)


def test_small_talk_after_an_answer_is_still_small_talk(engine: Engine) -> None:
    _, then = transcript(engine, "I've forgotten my password", "brill thanks x")
    assert then.paragraphs[0] == engine.kb.messages.thanks


def test_a_did_you_mean_always_offers_two_choices(engine: Engine) -> None:
    messages = ["password", "shared", "text", "nhsmail", "code", "phone", "account", "no joy"]
    for message in messages:
        reply = engine.reply(message)
        if reply.kind is ReplyKind.CLARIFY:
            assert len(reply.suggestions) >= 2, message


def test_the_console_keeps_the_previous_topic() -> None:
    engine = Engine.load()
    out = io.StringIO()
    chat(engine, io.StringIO("I've forgotten my password\nand what if that doesn't work?\n"), out)
    assert "== I am having issues re-setting my password" in out.getvalue()


def test_a_number_after_small_talk_picks_from_the_list_still_on_screen() -> None:
    engine = Engine.load()
    out = io.StringIO()
    chat(engine, io.StringIO("hello NHSmail Help\n1\n"), out)
    first_example = choices_of(engine.welcome())[0]
    assert f"== {engine.answer_topic(first_example.topic).title} ==" in out.getvalue()
