"""Teams activity -> what the core needs: the question asked, or the card button clicked."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from botbuilder.schema import Activity

# Teams caps a message at about 28 KB: nothing longer comes from Teams, and nothing longer is read.
MAX_TEXT_CHARS = 28 * 1024
# what the engine reads of a question; the matcher's work grows with the length of a single word
MAX_QUESTION_CHARS = 2000
# a message mentions a handful of people at most; more entities are not read
MAX_ENTITIES = 32
CONVERSATION_TYPES = frozenset({"personal", "groupChat", "channel"})
# an unclosed "<at" stops at the next "<", so a message of nothing but "<at" is still read in one pass
_AT_TAG = re.compile(r"</?at\b[^<>]*>", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Click:
    """An Action.Submit from one of our cards: its data carries everything, so any replica can answer it."""

    action: str  # "topic" or "feedback"
    topic: str
    helpful: bool | None = None


def to_click(value: object) -> Click | None:
    """A card submit's `value` as a Click; anything else (a typed message, foreign data) is None."""
    if not isinstance(value, Mapping):
        return None
    action, topic = value.get("action"), value.get("topic", "")
    if not isinstance(topic, str):
        return None
    if action == "topic":
        return Click("topic", topic)
    if action == "feedback" and topic and isinstance(value.get("helpful"), bool):
        return Click("feedback", topic, value["helpful"])
    return None


def _properties(entity: Any) -> Mapping[str, Any]:
    props = getattr(entity, "additional_properties", None)
    return props if isinstance(props, Mapping) else {}


def bot_mentions(activity: Activity) -> list[Mapping[str, Any]]:
    bot_id = activity.recipient.id if activity.recipient else None
    mentions = []
    for entity in (activity.entities or ())[:MAX_ENTITIES]:
        props = _properties(entity)
        mentioned = props.get("mentioned")
        if (
            (getattr(entity, "type", "") or "").lower() == "mention"
            and isinstance(mentioned, Mapping)
            and bot_id
            and mentioned.get("id") == bot_id
        ):
            mentions.append(props)
    return mentions


def to_question(activity: Activity) -> str:
    """What the user asked: the text without the bot's own @mention, on one line, at most 2000 characters."""
    text = activity.text[:MAX_TEXT_CHARS] if isinstance(activity.text, str) else ""
    for mention in bot_mentions(activity):
        mention_text = mention.get("text")
        if not isinstance(mention_text, str) or not mention_text:
            name = (mention.get("mentioned") or {}).get("name")
            mention_text = f"<at>{name}</at>" if isinstance(name, str) and name else ""
        if mention_text:
            text = text.replace(mention_text, " ")
    # other people's mentions keep their names; Teams sends the text HTML-escaped around mentions
    text = html.unescape(_AT_TAG.sub("", text))
    return " ".join(text.split())[:MAX_QUESTION_CHARS]


def conversation_type(activity: Activity) -> str:
    """personal, groupChat or channel; "other" for anything else, which is treated as shared (and logged
    as one of these four words, never as sent)."""
    conversation = activity.conversation
    kind = (getattr(conversation, "conversation_type", None) or "personal") if conversation else "personal"
    return kind if kind in CONVERSATION_TYPES else "other"


def is_shared(activity: Activity) -> bool:
    """Group chats and channels: the bot speaks only when @mentioned, and warns in the open."""
    return conversation_type(activity) != "personal"
