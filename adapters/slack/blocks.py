"""Reply -> Slack: Block Kit blocks and the fallback text, escaped so nothing typed becomes markup."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from bot.models import Reply, ReplyKind, Suggestion

LABELS_FILE = Path(__file__).parents[1] / "cards" / "slack_blocks.json"

# Block Kit's limits (https://docs.slack.dev/reference/block-kit/blocks)
MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_BUTTON_TEXT = 75
MAX_OPTION_TEXT = 75
MAX_OPTIONS = 100
MAX_ACTIONS = 25
# chat.postMessage truncates longer `text`; it is the notification and screen-reader fallback, not the answer
MAX_FALLBACK_TEXT = 3000

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
# in escaped text: "&amp;" may be part of a URL, "&lt;" and "&gt;" end one
_URL = re.compile(r"https://(?:[^\s<>|&]|&amp;)+")
_URL_TRAILING = ".,;:!?)'\""


def escape(text: str) -> str:
    """Escape text for Slack mrkdwn, so it can never become a mention, a broadcast or a disguised link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_mrkdwn(paragraph: str) -> str:
    """One answer paragraph as mrkdwn: escaped, "- " lines as bullets, bare https:// URLs as links."""
    lines = []
    for line in escape(paragraph).splitlines():
        lines.append("• " + line[2:] if line.startswith("- ") else line)
    return _URL.sub(_link, "\n".join(lines))


def _link(match: re.Match[str]) -> str:
    url = match.group(0)
    stripped = url.rstrip(_URL_TRAILING)
    return f"<{stripped}>{url[len(stripped) :]}"


def to_text(reply: Reply) -> str:
    """The message's top-level `text`: Slack shows it in notifications and where blocks cannot be shown."""
    return _cut(escape("\n\n".join([*reply.notices, reply.text])), MAX_FALLBACK_TEXT)


def to_blocks(
    reply: Reply, *, share: bool = False, feedback_given: bool = False, list_topics: bool = False
) -> list[dict[str, Any]]:
    """A Reply as Block Kit blocks for an interactive message (an ephemeral one when `share` is set)."""
    said = labels()
    blocks = _notices(reply) + _content_blocks(reply)
    # CLARIFY: the choices; ANSWER: other close topics, in case this answer is not the one meant
    related = {s.topic for s in reply.follow_ups}
    choices = tuple(s for s in reply.suggestions if reply.kind is ReplyKind.CLARIFY or s.topic not in related)
    if choices:
        label = said["did_you_mean"] if reply.kind is ReplyKind.CLARIFY else said["not_quite"]
        blocks.append(_section("did_you_mean", escape(label)))
        blocks.append(_buttons("choices", "choose", choices))
    if reply.follow_ups:
        label = said["related"] if reply.kind is ReplyKind.ANSWER else said["examples"]
        blocks.append(_section("follow_ups_label", escape(label)))
        blocks.append(_buttons("follow_ups", "follow_up", reply.follow_ups))
    if reply.menu:
        if list_topics:
            topics = "\n".join(f"• {escape(s.title)}" for s in reply.menu)
            blocks.append(_section("topics", f"{escape(said['topics'])}\n{topics}"))
        blocks.append(_menu(reply.menu))
    if reply.kind is ReplyKind.ANSWER and reply.topic:
        if share:
            blocks.append(_actions("share", [_button("share", said["share"], reply.topic, style="primary")]))
        blocks.append(_feedback(reply.topic, given=feedback_given))
    return _fit(blocks)


def to_shared_blocks(reply: Reply, user_id: str) -> list[dict[str, Any]]:
    """An answer shared in a channel: the content and who shared it, no buttons (the bot may not be in it)."""
    blocks = _content_blocks(reply)
    if _USER_ID.match(user_id):
        text = labels()["shared_by"].format(user=user_id)
        blocks.append({"type": "context", "block_id": "shared_by", "elements": [_mrkdwn(text)]})
    return _fit(blocks)


def _notices(reply: Reply) -> list[dict[str, Any]]:
    """What the message should not have carried, before anything else (it came from the sender's message,
    so a shared copy of the answer leaves it out)."""
    if not reply.notices:
        return []
    notice = labels()["notice"]
    return [_section("notices", "\n\n".join(notice.format(notice=escape(n)) for n in reply.notices))]


def _content_blocks(reply: Reply) -> list[dict[str, Any]]:
    said = labels()
    blocks: list[dict[str, Any]] = []
    if reply.title:
        blocks.append({"type": "header", "block_id": "header", "text": _plain(reply.title, MAX_HEADER_TEXT)})
    # the phone menu is the whole answer where it exists (the paragraphs repeat it as plain text)
    paragraphs = [to_mrkdwn(p) for p in reply.paragraphs] if reply.phone_steps is None else []
    if reply.phone_steps is not None:
        s = reply.phone_steps
        paragraphs = [
            said["call"].format(number=escape(s.number)) + "\n" + escape(s.intro),
            _numbered(s.steps),
            said["have_ready"] + "\n" + escape(s.have_ready_intro),
            "\n".join(f"• {escape(item)}" for item in s.have_ready),
            escape(s.have_ready_note),
            said["after_call"] + "\n" + escape(s.after_intro),
            _numbered(s.after_steps),
            *(to_mrkdwn(note) for note in s.after_notes),
        ]
    for i, chunk in enumerate(_chunks([p for p in paragraphs if p.strip()])):
        blocks.append(_section(f"answer_{i}", chunk))
    if reply.contacts:
        lines = [
            f"• {escape(c.label)}: <{c.uri}|{escape(c.value)}>"
            if c.kind == "email"
            else f"• {escape(c.label)}: *{escape(c.value)}*"
            for c in reply.contacts
        ]
        blocks.append(
            _section("contacts", _cut(said["contacts"] + "\n" + "\n".join(lines), MAX_SECTION_TEXT))
        )
    if reply.links:
        lines = [f"• <{escape(link.url)}|{escape(link.label)}>" for link in reply.links]
        blocks.append(_section("links", _cut(said["links"] + "\n" + "\n".join(lines), MAX_SECTION_TEXT)))
    if reply.source:
        blocks.append({"type": "context", "block_id": "source", "elements": [_mrkdwn(escape(reply.source))]})
    return blocks


def _numbered(steps: tuple[str, ...]) -> str:
    return "\n".join(f"{n}. {escape(step)}" for n, step in enumerate(steps, start=1))


def _chunks(paragraphs: list[str], limit: int = MAX_SECTION_TEXT) -> list[str]:
    """Paragraphs packed into as few section texts as fit Slack's limit, split at line breaks if need be."""
    pieces: list[str] = []
    for paragraph in paragraphs:
        while len(paragraph) > limit:
            cut = paragraph.rfind("\n", 0, limit)
            cut = cut if cut > 0 else paragraph.rfind(" ", 0, limit)
            cut = cut if cut > 0 else limit
            pieces.append(paragraph[:cut])
            paragraph = paragraph[cut:].lstrip()
        pieces.append(paragraph)
    chunks: list[str] = []
    for piece in pieces:
        if chunks and len(chunks[-1]) + 2 + len(piece) <= limit:
            chunks[-1] += "\n\n" + piece
        else:
            chunks.append(piece)
    return chunks


def _fit(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Keep within 50 blocks: drop answer sections from the end, never the buttons that follow them."""
    while len(blocks) > MAX_BLOCKS:
        answers = [i for i, b in enumerate(blocks) if b.get("block_id", "").startswith("answer_")]
        del blocks[answers[-1] if answers else -1]
    return blocks


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": _cut(text, limit), "emoji": True}


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def _section(block_id: str, text: str) -> dict[str, Any]:
    return {"type": "section", "block_id": block_id, "text": _mrkdwn(_cut(text, MAX_SECTION_TEXT))}


def _button(action_id: str, text: str, value: str, style: str | None = None) -> dict[str, Any]:
    button = {"type": "button", "action_id": action_id, "text": _plain(text, MAX_BUTTON_TEXT), "value": value}
    if style:
        button["style"] = style
    return button


def _actions(block_id: str, elements: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "actions", "block_id": block_id, "elements": elements[:MAX_ACTIONS]}


def _buttons(block_id: str, prefix: str, choices: tuple[Suggestion, ...]) -> dict[str, Any]:
    # action ids must be unique within a message; the topic travels in the value, so no server state
    return _actions(block_id, [_button(f"{prefix}_{i}", s.title, s.topic) for i, s in enumerate(choices)])


def _menu(menu: tuple[Suggestion, ...]) -> dict[str, Any]:
    said = labels()
    options = [{"text": _plain(s.title, MAX_OPTION_TEXT), "value": s.topic} for s in menu[:MAX_OPTIONS]]
    select = {
        "type": "static_select",
        "action_id": "menu",
        "placeholder": _plain(said["menu_placeholder"], MAX_OPTION_TEXT),
        "options": options,
    }
    return {
        "type": "section",
        "block_id": "menu",
        "text": _mrkdwn(escape(said["menu_prompt"])),
        "accessory": select,
    }


def _feedback(topic: str, *, given: bool) -> dict[str, Any]:
    said = labels()
    if given:
        return {
            "type": "context",
            "block_id": "feedback",
            "elements": [_mrkdwn(escape(said["feedback_thanks"]))],
        }
    return _actions(
        "feedback",
        [_button("helpful", said["helpful"], topic), _button("not_helpful", said["not_helpful"], topic)],
    )


@cache
def labels() -> dict[str, str]:
    """The bot's Slack wording (button labels, headings), from the data file."""
    loaded: dict[str, str] = json.loads(LABELS_FILE.read_text(encoding="utf-8"))
    return loaded
