"""Slack -> question: what people typed as plain text, and the bounds and shapes a payload must keep."""

from __future__ import annotations

import re
from typing import Any

# Slack's own limit for a message's text; anything longer is cut before any regex or the engine sees it
MAX_TEXT = 40_000
# Slack's ids (team, user, channel, ts, action) are a few dozen characters; a longer one is not Slack's
MAX_ID = 256
# a Unix time in seconds: ten digits until the year 2286
MAX_TIMESTAMP_DIGITS = 12

# Slack markup in what people type: mentions (<@U1>), broadcasts (<!here>), channels (<#C1|name>).
# Each pattern stops at the next "<", so a run of unclosed markup is scanned once, not once per "<".
_MENTION = re.compile(r"<[@!#][^<>]*>")
_LABELLED_LINK = re.compile(r"<[^<>|]+\|([^<>]*)>")
_LINK = re.compile(r"<([^<>]*)>")
PATTERNS = (_MENTION, _LABELLED_LINK, _LINK)

# keys whose string values are ids wherever they appear in the parts of a payload the bot reads
_ID_KEYS = frozenset(
    {
        "action_id",
        "api_app_id",
        "block_id",
        "bot_id",
        "channel",
        "channel_id",
        "channel_type",
        "command",
        "enterprise_id",
        "event_id",
        "event_ts",
        "id",
        "message_ts",
        "subtype",
        "team",
        "team_id",
        "thread_ts",
        "trigger_id",
        "ts",
        "type",
        "user",
        "user_id",
        "value",
    }
)
# parts of an interactive payload that Bolt and the listeners read as objects
_OBJECTS = ("user", "channel", "team", "container", "message", "enterprise", "view", "state")


def to_question(text: str) -> str:
    """A Slack message's text as typed: mentions dropped, links as their labels, entities decoded."""
    text = text[:MAX_TEXT]
    text = _MENTION.sub(" ", text)
    text = _LABELLED_LINK.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return " ".join(text.split())


def valid_timestamp(timestamp: str) -> bool:
    """X-Slack-Request-Timestamp as Slack sends it: ASCII digits ("²" is a digit to str.isdigit), not many."""
    return 0 < len(timestamp) <= MAX_TIMESTAMP_DIGITS and timestamp.isascii() and timestamp.isdigit()


def well_formed(body: Any) -> bool:
    """The shapes Bolt and the listeners read without checking, and ids no longer than Slack's."""
    if not isinstance(body, dict) or not body or not _short_ids(body):
        return False
    if "event" in body:
        event = body["event"]
        if not isinstance(event, dict) or not _short_ids(event):
            return False
        if not isinstance(event.get("text", ""), str):
            return False
    if "actions" in body or body.get("type") in ("block_actions", "interactive_message"):
        actions = body.get("actions")
        if not (isinstance(actions, list) and actions and all(_action(a) for a in actions)):
            return False
        for key in _OBJECTS:
            part = body.get(key)
            if part is not None and not (isinstance(part, dict) and _short_ids(part)):
                return False
        if not isinstance(body.get("response_url", ""), str):
            return False
    return isinstance(body.get("text", ""), str)


def _action(action: Any) -> bool:
    if not (isinstance(action, dict) and isinstance(action.get("action_id"), str) and _short_ids(action)):
        return False
    option = action.get("selected_option")
    return option is None or (isinstance(option, dict) and _short_ids(option))


def _short_ids(part: dict[str, Any]) -> bool:
    """Every id directly in this part of the payload is a string of Slack's size (or absent, or null)."""
    for key in _ID_KEYS.intersection(part):
        value = part[key]
        if isinstance(value, str):
            if len(value) > MAX_ID:
                return False
        elif value is not None and not (key in _OBJECTS and isinstance(value, dict)):
            return False
    return True
