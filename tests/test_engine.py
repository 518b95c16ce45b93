"""Conversations with the engine: what a person says, and what kind of reply comes back."""

from __future__ import annotations

import pytest

from bot.engine import MAX_MESSAGE_CHARS, Engine
from bot.models import Reply, ReplyKind


def converse(engine: Engine, message: str) -> Reply:
    reply = engine.reply(message)
    assert reply.text.strip(), "every reply has a plain-text rendering"
    assert 0.0 <= reply.confidence <= 1.0
    return reply


def test_a_question_gets_the_official_answer(engine: Engine) -> None:
    reply = converse(engine, "I've forgotten my password")
    assert reply.kind is ReplyKind.ANSWER and reply.matched
    assert "Unlock Account or Forgotten Password" in reply.text
    assert reply.links[0].url == "https://support.nhs.net/knowledge-base/unlocking-your-account/"
    assert reply.follow_ups, "related topics are offered"


def test_the_phone_menu_comes_as_steps(engine: Engine) -> None:
    reply = converse(engine, "what do I press when I ring the helpdesk to get my password")
    assert reply.topic == "password-recovery-call"
    assert reply.phone_steps is not None
    assert "0333 200 1133" in reply.phone_steps.steps[0]
    assert "1. Call Helpdesk 0333 200 1133" in reply.text


def test_a_mention_and_emoji_do_not_get_in_the_way(engine: Engine) -> None:
    plain = converse(engine, "locked out of my account")
    noisy = converse(engine, "<at>NHSmail Bot</at> 😩😩 locked out of my account\n\n thanks!!")
    assert noisy.topic == plain.topic == "forgotten-password"


def test_a_rambling_message_still_finds_its_answer(engine: Engine) -> None:
    reply = converse(
        engine,
        "Morning all, hope everyone had a good weekend. I'm the deputy at a nursing home near Bristol and we "
        "registered for NHSmail last week. Everyone else got their text but I still haven't received my "
        "password on my phone. What should I do?",
    )
    assert (reply.kind, reply.topic) == (ReplyKind.ANSWER, "password-not-received")


@pytest.mark.parametrize(
    ("message", "said"), [("hi", "greeting"), ("thanks so much!", "thanks"), ("bye", "goodbye")]
)
def test_small_talk(engine: Engine, message: str, said: str) -> None:
    reply = converse(engine, message)
    assert reply.kind is ReplyKind.SMALLTALK
    assert reply.paragraphs[0] == getattr(engine.kb.messages, said)


def test_help_lists_every_topic(engine: Engine) -> None:
    reply = converse(engine, "help")
    assert reply.kind is ReplyKind.SMALLTALK
    assert [s.topic for s in reply.menu] == [e.id for e in engine.kb.entries]


@pytest.mark.parametrize("message", ["", "   ", "\n\n", "🙂🙂", "?!"])
def test_empty_messages_get_a_prompt(engine: Engine, message: str) -> None:
    assert converse(engine, message).kind is ReplyKind.SMALLTALK


def test_a_huge_message_is_answered(engine: Engine) -> None:
    reply = converse(engine, "my password text never arrived " + "blah " * 20_000)
    assert (reply.kind, reply.topic) == (ReplyKind.ANSWER, "password-not-received")


@pytest.mark.parametrize("message", ["x" * 100_000, "pasword" * 5_000, "🙂" * 50_000, "<at>" * 25_000])
def test_one_endless_word_is_no_question(engine: Engine, message: str) -> None:
    assert converse(engine, message).kind in (ReplyKind.FALLBACK, ReplyKind.SMALLTALK)


def test_only_the_start_of_a_huge_message_is_read(engine: Engine) -> None:
    padding = "blah " * (MAX_MESSAGE_CHARS // 5)
    assert engine.reply(padding + "my password text never arrived").kind is not ReplyKind.ANSWER


def test_fallback_is_honest_and_gives_the_helpdesk(engine: Engine) -> None:
    reply = converse(engine, "can you recommend a good recipe for lasagne")
    assert reply.kind is ReplyKind.FALLBACK and not reply.matched
    assert {c.value for c in reply.contacts} == {"0333 200 1133", "careadmin@nhs.net"}
    assert "0333 200 1133" in reply.text and "careadmin@nhs.net" in reply.text
    assert len(reply.menu) == len(engine.kb.entries)


def test_did_you_mean_then_a_choice_answers(engine: Engine) -> None:
    reply = converse(engine, "password")
    assert reply.kind is ReplyKind.CLARIFY
    assert 2 <= len(reply.suggestions) <= 3
    for n, choice in enumerate(reply.suggestions, 1):
        assert f"{n}. {choice.title}" in reply.text
    chosen = engine.answer_topic(reply.suggestions[0].topic)
    assert (chosen.kind, chosen.topic) == (ReplyKind.ANSWER, reply.suggestions[0].topic)


def test_asking_a_title_answers_that_topic(engine: Engine) -> None:
    for entry in engine.kb.entries:
        for title in (entry.title, entry.short_title):
            reply = engine.reply(title)
            assert (reply.topic, reply.confidence) == (entry.id, 1.0)


def test_an_unknown_topic_id_falls_back(engine: Engine) -> None:
    assert engine.answer_topic("no-such-topic").kind is ReplyKind.FALLBACK


def test_welcome_offers_examples(engine: Engine) -> None:
    reply = engine.welcome()
    assert reply.kind is ReplyKind.SMALLTALK
    assert 3 <= len(reply.follow_ups) <= 5
