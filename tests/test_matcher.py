"""The matcher, as a table: messages as staff type them, and the topic each must bring back."""

from __future__ import annotations

import pytest

from bot.engine import Engine
from bot.matcher import damerau
from bot.models import ReplyKind

ANSWERS = [
    ("I've forgotten my password", "forgotten-password"),
    ("locked out again!!", "forgotten-password"),
    ("cant remember my pasword for nhsmial", "forgotten-password"),
    ("the text with my password never came", "password-not-received"),
    ("never recieved the activation text", "password-not-received"),
    ("nhsmial wont let me send emails", "cannot-send"),
    ("can I read it on the ipad", "mobile-device"),
    ("nhs mail on my android phone?", "mobile-device"),
    ("what are the steps when I phone the helpdesk", "password-recovery-call"),
    ("which option do i press when i ring up about my password", "password-recovery-call"),
    ("how do we sign up for nhsmail", "apply"),
    ("whats the password for the shared inbox", "shared-mailbox-password"),
    ("how do i open the generic mailbox", "shared-mailbox-access"),
    ("what's an ODS code", "ods-code-what"),
    ("where do I find our ODS code", "ods-code-find"),
    ("attachments wont open", "attachments"),
    ("how do I send an encrypted email to the council", "encryption"),
    ("I'm moving to a new job at another care home, can I keep my nhsmail", "moving-organisation"),
    ("how many accounts can our home have", "account-limit"),
    ("I typed the wrong mobile number when registering", "wrong-registration-details"),
    ("can I use nhsmail in outlook on my pc", "outlook-desktop"),
    ("why do you need my mobile number", "mobile-number"),
]

DECLINED = [
    "how do I set an out of office",
    "my smartcard has stopped working",
    "what's the weather like tomorrow",
    "can you book me annual leave",
    "asdfgh qwerty zxcvb",
    "how do I add an email signature",
    # close in wording to "who do I call about NHSmail", but not about NHSmail at all
    "the hoist needs servicing, who do i call",
    "where do i order more incontinence pads",
    # another provider's account, another app's login, another identifier: in NHSmail's words
    "I cant get into my hotmail",
    "my gmail password needs resetting",
    "locked out of the rostering app again",
    "forgot my windows login",
    "what is our residents nhs number",
    "where is our c q c location id",
    "how do I register mrs smith with the gp",
    "visa sponsorship for a new nurse",
]

# dictation spells letters out and splits words; a product name may come back as a homophone
DICTATED = [
    ("can I get n h s male on my phone", "mobile-device"),
    ("where do I find the o d s code", "ods-code-find"),
    ("can I have it in the out look app on my p c", "outlook-desktop"),
    ("my e male wont send", "cannot-send"),
    ("um where do I find our oh dee ess code", "ods-code-find"),
]


@pytest.mark.parametrize(("message", "topic"), ANSWERS)
def test_answers(engine: Engine, message: str, topic: str) -> None:
    reply = engine.reply(message)
    assert (reply.kind, reply.topic) == (ReplyKind.ANSWER, topic)


@pytest.mark.parametrize(("message", "topic"), DICTATED)
def test_dictation_is_understood(engine: Engine, message: str, topic: str) -> None:
    """The topic is found: answered, or offered first when the bot is not sure enough to answer."""
    reply = engine.reply(message)
    found = reply.topic if reply.kind is ReplyKind.ANSWER else reply.suggestions[0].topic
    assert reply.kind in (ReplyKind.ANSWER, ReplyKind.CLARIFY) and found == topic


@pytest.mark.parametrize("message", DECLINED)
def test_declines_what_the_faq_does_not_cover(engine: Engine, message: str) -> None:
    assert engine.reply(message).kind is ReplyKind.FALLBACK


@pytest.mark.parametrize(
    "introduction",
    [
        "Hi, dom care coordinator here.",
        "Morning all, night senior at a residential home 🙂",
        "Hello, supported living team leader. Quick one from the office:",
    ],
)
def test_who_is_asking_does_not_change_the_answer(engine: Engine, introduction: str) -> None:
    for message, topic in ANSWERS[::4]:
        reply = engine.reply(f"{introduction} {message}")
        assert reply.topic == topic or topic in {s.topic for s in reply.suggestions}, message


def test_word_forms_and_british_spelling_fold_together(engine: Engine) -> None:
    terms = engine.matcher.normaliser.terms
    assert terms("unlocking my account") == terms("unlock my account")
    assert terms("organisation") == terms("organization")


def test_letters_names_join_only_into_a_word_the_knowledge_base_knows(engine: Engine) -> None:
    terms = engine.matcher.normaliser.terms
    assert terms("oh dee ess code", spell=True) == terms("ODS code", spell=True)
    assert terms("see queue see", spell=True) == terms("CQC", spell=True)
    assert terms("are you sure why", spell=True) == terms("are you sure why")  # no "ruy"


def test_text_speak_reads_as_the_words_it_stands_for(engine: Engine) -> None:
    terms = engine.matcher.normaliser.terms
    assert terms("y do u need my mob num", spell=True) == terms(
        "why do you need my mobile number", spell=True
    )
    assert terms("need 4 more accounts", spell=True) == terms("need more accounts", spell=True)


def test_another_provider_is_no_nhsmail_idea(engine: Engine) -> None:
    terms = engine.matcher.normaliser.terms
    assert set(terms("my gmail password")).isdisjoint(terms("a non-secure address"))


def test_typos_are_corrected_towards_kb_words_only(engine: Engine) -> None:
    normaliser = engine.matcher.normaliser
    assert normaliser.correct("attachmnets") == "attachments"
    assert normaliser.correct("looking") is None  # a real English word is not a typo
    assert normaliser.correct("xqzvbn") is None


def test_the_document_typo_does_not_pull_towards_one_entry(engine: Engine) -> None:
    assert engine.reply("nhsmial").kind is not ReplyKind.ANSWER
    assert (
        engine.reply("nhsmial wont let me send emails").topic
        == engine.reply("nhsmail wont let me send emails").topic
    )


def test_damerau_counts_a_swap_as_one_edit() -> None:
    assert damerau("recieve", "receive", 2) == 1
    assert damerau("pasword", "password", 2) == 1
    assert damerau("cat", "elephant", 2) == 3
