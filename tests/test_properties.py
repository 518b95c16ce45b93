"""Properties over any input (Hypothesis): the engine never fails, and every card and Block Kit message
it leads to is valid, within Slack's limits, and carries nothing the user typed unescaped."""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path
from typing import Any

import jsonschema
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from adapters.console import to_json, to_text
from adapters.slack import to_blocks
from adapters.slack import to_text as to_slack_text
from adapters.teams import to_card
from bot.engine import Engine
from bot.models import Contact, Link, Reply, ReplyKind, Suggestion
from bot.privacy import KINDS
from bot.redact import MAX_REDACTED_CHARS, redact

SCHEMA = json.loads(
    (Path(__file__).resolve().parent / "schemas" / "adaptive-card-1.5.json").read_text(encoding="utf-8")
)
CARD_VALIDATOR = jsonschema.Draft6Validator(SCHEMA)
PROPERTIES = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
# checking a card against the Adaptive Card schema takes tens of milliseconds: fewer examples there
CARD_PROPERTIES = settings(PROPERTIES, max_examples=80)

# what a hostile or careless message carries; none of it may come back out as typed
PLANTED = (
    "<at>Everyone</at>",
    "<!here>",
    "<!channel>",
    "<@U0EVIL1234>",
    "<#C0EVIL1234|general>",
    "<http://evil.example|click here>",
    "[click](https://evil.example/x)",
    "![x](http://evil.example/x.png)",
    "javascript:alert(1)",
    "${$root.text}",
    "my password is Xk9#mQ2p",
    "DOB 12/03/1945",
)
# fragments of it that must never appear in what the bot sends
NEVER_SENT = (
    "<at>",
    "<!here>",
    "<!channel>",
    "<@U0EVIL",
    "<#C0EVIL",
    "evil.example",
    "javascript:",
    "Xk9#mQ2p",
)
ODD = (
    "\x00",
    "\x1b[31m",
    "\r\n",
    "\u202e",
    "\u200b",
    "\ufeff",
    "\ud800",
    "\udfff",
    "😀",
    "👩🏽‍⚕️",
    "&lt;",
    "&amp;",
    "**",
    "_",
    "~",
    "`",
    "\t",
)
EVERYDAY = (
    "password",
    "locked out",
    "nhsmail",
    "shared mailbox",
    "help",
    "thanks",
    " ",
    "hi",
    "text never came",
)

fragments = st.one_of(
    st.text(max_size=40),
    st.sampled_from(PLANTED),
    st.sampled_from(ODD),
    st.sampled_from(EVERYDAY),
)
ordinary_messages = st.lists(fragments, max_size=25).map("".join)
huge_messages = st.builds(
    lambda unit, times: unit * times,
    st.sampled_from(["a", "1 ", "<at", "password is ", "\x00", "😀", "Mrs Adeyemi ", "<!here> ", "\ud800"]),
    st.integers(min_value=1_000, max_value=50_000),
)
messages = st.one_of(ordinary_messages, ordinary_messages, ordinary_messages, huge_messages)


EVERYTHING_PLANTED = " ".join(PLANTED)


@PROPERTIES
@given(message=messages)
@example(message=EVERYTHING_PLANTED)
def test_the_engine_always_replies(engine: Engine, message: str) -> None:
    reply = engine.reply(message)
    assert isinstance(reply, Reply) and reply.kind in ReplyKind
    assert reply.text.strip()
    assert set(reply.warnings) <= set(KINDS)
    json.dumps(to_json(reply), ensure_ascii=False).encode("utf-8")
    assert to_text(reply).strip()
    sent = reply.text + json.dumps(to_json(reply))
    assert not [fragment for fragment in NEVER_SENT if fragment in sent]


@PROPERTIES
@given(message=messages)
def test_redacted_text_is_one_bounded_line(message: str) -> None:
    kept = redact(message)
    assert len(kept) <= MAX_REDACTED_CHARS + 1
    assert not any(unicodedata.category(c)[0] == "C" for c in kept)
    kept.encode("utf-8")
    assert "Xk9#mQ2p" not in kept


@CARD_PROPERTIES
@given(message=messages, feedback_given=st.booleans())
@example(message=EVERYTHING_PLANTED, feedback_given=False)
def test_every_card_the_engine_leads_to_is_valid_and_carries_no_user_text(
    engine: Engine, message: str, feedback_given: bool
) -> None:
    card = to_card(engine.reply(message), feedback_given=feedback_given)
    assert _card_errors(card) == []
    sent = json.dumps(card, ensure_ascii=False)
    assert not [fragment for fragment in NEVER_SENT if fragment in sent]


@PROPERTIES
@given(message=messages, share=st.booleans(), list_topics=st.booleans())
@example(message=EVERYTHING_PLANTED, share=True, list_topics=True)
def test_every_slack_message_the_engine_leads_to_fits_and_carries_no_user_text(
    engine: Engine, message: str, share: bool, list_topics: bool
) -> None:
    reply = engine.reply(message)
    blocks = to_blocks(reply, share=share, list_topics=list_topics)
    _check_slack(blocks, to_slack_text(reply))
    sent = json.dumps(blocks, ensure_ascii=False) + to_slack_text(reply)
    assert not [fragment for fragment in NEVER_SENT if fragment in sent]


# ---- any Reply at all, as a knowledge base edited carelessly could produce

texts = st.one_of(
    st.text(min_size=1, max_size=300), st.lists(fragments, min_size=1, max_size=12).map("".join)
)
texts = texts.filter(lambda t: t.strip() != "")
long_texts = st.one_of(texts, st.builds(lambda t, n: t * n, texts, st.integers(1, 25)))
topics = st.from_regex(r"[a-z0-9]{1,12}(?:-[a-z0-9]{1,12}){0,3}", fullmatch=True)
suggestions = st.builds(Suggestion, topic=topics, title=texts, confidence=st.floats(0, 1))
links = st.builds(
    Link, url=st.sampled_from(["https://portal.nhs.net/", "https://support.nhs.net/x/"]), label=texts
)
contacts = st.one_of(
    st.builds(Contact, kind=st.just("phone"), value=st.just("0333 200 1133"), label=texts),
    st.builds(Contact, kind=st.just("email"), value=st.just("careadmin@nhs.net"), label=texts),
)


@st.composite
def replies(draw: st.DrawFn) -> Reply:
    kind = draw(st.sampled_from(list(ReplyKind)))
    paragraphs = tuple(draw(st.lists(long_texts, min_size=1, max_size=6)))
    answer = kind is ReplyKind.ANSWER
    return Reply(
        kind=kind,
        text="\n\n".join(paragraphs),
        confidence=draw(st.floats(0, 1)),
        topic=draw(topics) if answer else None,
        title=draw(texts) if answer else None,
        paragraphs=paragraphs,
        links=tuple(draw(st.lists(links, max_size=4))) if answer else (),
        contacts=tuple(draw(st.lists(contacts, max_size=3))) if answer else (),
        suggestions=tuple(draw(st.lists(suggestions, min_size=kind is ReplyKind.CLARIFY, max_size=3))),
        follow_ups=tuple(draw(st.lists(suggestions, max_size=6))),
        menu=tuple(draw(st.lists(suggestions, max_size=14))) if kind is not ReplyKind.ANSWER else (),
        warnings=tuple(draw(st.lists(st.sampled_from(KINDS), unique=True))),
    )


@CARD_PROPERTIES
@given(reply=replies(), feedback_given=st.booleans())
def test_any_reply_renders_as_a_valid_adaptive_card(reply: Reply, feedback_given: bool) -> None:
    assert _card_errors(to_card(reply, feedback_given=feedback_given)) == []


@settings(PROPERTIES, max_examples=120)
@given(reply=replies(), share=st.booleans(), list_topics=st.booleans())
def test_any_reply_renders_within_slacks_limits_and_escaped(
    reply: Reply, share: bool, list_topics: bool
) -> None:
    _check_slack(to_blocks(reply, share=share, list_topics=list_topics), to_slack_text(reply))


def _card_errors(card: dict[str, Any]) -> list[str]:
    """Schema errors, Teams' own "msteams" key set aside (the schema does not know it)."""
    plain = {key: value for key, value in card.items() if key != "msteams"}
    return [f"{list(e.absolute_path)}: {e.message}" for e in CARD_VALIDATOR.iter_errors(plain)]


# https://docs.slack.dev/reference/block-kit/blocks
MAX_BLOCKS, MAX_SECTION_TEXT, MAX_HEADER_TEXT, MAX_BUTTON_TEXT, MAX_OPTION_TEXT = 50, 3000, 150, 75, 75
# the renderer's own links are <https://...>, <mailto:...> or <tel:...>; any other "<" is a mention, a
# broadcast or a disguised link
_RAW_CONTROL = re.compile(r"<(?!https://|mailto:|tel:)")


def _check_slack(blocks: list[dict[str, Any]], text: str) -> None:
    assert 0 < len(blocks) <= MAX_BLOCKS
    assert 0 < len(text) <= MAX_SECTION_TEXT and not _RAW_CONTROL.search(text)
    for block in blocks:
        if block["type"] == "header":
            assert 0 < len(block["text"]["text"]) <= MAX_HEADER_TEXT
        if block["type"] == "section":
            assert 0 < len(block["text"]["text"]) <= MAX_SECTION_TEXT
            assert not _RAW_CONTROL.search(block["text"]["text"]), block["text"]["text"]
    elements = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    elements += [b["accessory"] for b in blocks if "accessory" in b]
    for element in elements:
        if element["type"] == "button":
            assert 0 < len(element["text"]["text"]) <= MAX_BUTTON_TEXT
        else:
            assert all(0 < len(o["text"]["text"]) <= MAX_OPTION_TEXT for o in element["options"])
