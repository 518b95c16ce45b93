"""Reply -> Adaptive Card (1.5): JSON layouts in adapters/cards, filled by a tiny subset of Adaptive Card
Templating ("${path}", "$data" to repeat an element, "$when" to keep it only if truthy)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from botbuilder.core import CardFactory, MessageFactory
from botbuilder.schema import Activity

from bot.models import Contact, Reply, ReplyKind, Suggestion

CARDS = Path(__file__).resolve().parents[1] / "cards"
CONTACT_KINDS = {"phone": ("Phone", "Call {value}"), "email": ("Email", "Email {value}")}

_BARE_URL = re.compile(r"https?://[^\s<>()\[\]]+")


@cache
def _template(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((CARDS / f"{name}.json").read_text(encoding="utf-8"))
    return data


_EXPRESSION = re.compile(r"\$\{([\w.$]+)\}")


def _lookup(path: str, scopes: tuple[Mapping[str, Any], ...]) -> Any:
    for scope in scopes:
        value: Any = scope
        for part in path.split("."):
            if not isinstance(value, Mapping) or part not in value:
                break
            value = value[part]
        else:
            return value
    raise KeyError(f"card template refers to unknown data ${{{path}}}")


def _expand(node: Any, scopes: tuple[Mapping[str, Any], ...]) -> Any:
    """Fill one template node. Values are inserted, never re-expanded: no text can inject template syntax."""
    if isinstance(node, str):
        whole = _EXPRESSION.fullmatch(node)
        if whole:
            return _lookup(whole.group(1), scopes)
        return _EXPRESSION.sub(lambda m: str(_lookup(m.group(1), scopes)), node)
    if isinstance(node, list):
        out: list[Any] = []
        for item in node:
            out.extend(_expand_item(item, scopes))
        return out
    if isinstance(node, dict):
        return {key: _expand(value, scopes) for key, value in node.items()}
    return node


def _expand_item(item: Any, scopes: tuple[Mapping[str, Any], ...]) -> list[Any]:
    if not isinstance(item, dict) or not ({"$data", "$when"} & item.keys()):
        return [_expand(item, scopes)]
    body = {key: value for key, value in item.items() if key not in ("$data", "$when")}
    if "$when" in item and not _expand(item["$when"], scopes):
        return []
    if "$data" not in item:
        return [_expand(body, scopes)]
    return [_expand(body, (element, *scopes)) for element in _expand(item["$data"], scopes)]


def _render(name: str, data: Mapping[str, Any]) -> dict[str, Any]:
    # _expand builds new containers and never changes the template's: no copy needed
    card: dict[str, Any] = _expand(_template(name), (data,))
    if not card.get("actions"):
        card.pop("actions", None)
    return card


def _link_markdown(text: str, labels: Mapping[str, str]) -> str:
    """Bare URLs in the knowledge base become markdown links; a URL ending a sentence keeps its full stop."""

    def link(match: re.Match[str]) -> str:
        url = match.group(0)
        trailing = ""
        while url and url[-1] in ".,;:!?'\"":
            url, trailing = url[:-1], url[-1] + trailing
        label = labels.get(url) or labels.get(url.rstrip("/")) or url
        return f"[{label}]({url}){trailing}"

    return _BARE_URL.sub(link, text)


def _markdown_lines(lines: Iterable[str], *, numbered: bool = False) -> str:
    # Adaptive Cards' markdown takes "1. " and "- " list items separated by \r
    return "\r".join(f"{n}. {line}" if numbered else f"- {line}" for n, line in enumerate(lines, 1))


def _paragraph(text: str, labels: Mapping[str, str]) -> dict[str, str]:
    return {"markdown": _link_markdown("\r".join(text.splitlines()), labels)}


def _suggestions(items: Iterable[Suggestion]) -> list[dict[str, str]]:
    return [{"topic": item.topic, "title": item.title} for item in items]


def _contact(contact: Contact) -> dict[str, str]:
    kind, button = CONTACT_KINDS.get(contact.kind, (contact.label, "{value}"))
    return {
        "kind": kind,
        "value": contact.value,
        "button": button.format(value=contact.value),
        "uri": contact.uri,
    }


def _card_data(reply: Reply, feedback_given: bool) -> dict[str, Any]:
    labels = {link.url: link.label for link in reply.links} | {
        link.url.rstrip("/"): link.label for link in reply.links
    }
    contacts = [_contact(c) for c in reply.contacts]
    data: dict[str, Any] = {
        # clients without cards show this: the warnings first there too
        "text": "\n\n".join([*reply.notices, reply.text]),
        "notices": [{"sentence": notice} for notice in reply.notices],
        "source": reply.source,
        "title": reply.title or "",
        "topic": reply.topic or "",
        "paragraphs": [_paragraph(p, labels) for p in reply.paragraphs],
        "links": [{"label": link.label, "url": link.url} for link in reply.links],
        "contacts": contacts,
        # the answer's links, then its contacts, as buttons under the answer
        "buttons": [{"title": link.label, "url": link.url} for link in reply.links]
        + [{"title": c["button"], "url": c["uri"]} for c in contacts],
        "suggestions": _suggestions(reply.suggestions[:3]),
        "follow_ups": _suggestions(reply.follow_ups),
        "menu": _suggestions(reply.menu),
        "feedback_open": reply.kind is ReplyKind.ANSWER and bool(reply.topic) and not feedback_given,
        "feedback_given": feedback_given,
    }
    steps = reply.phone_steps
    if steps:
        phone = Contact("phone", steps.number, "")
        data["phone"] = {
            "number": steps.number,
            "uri": phone.uri,
            "intro": steps.intro,
            "steps": _markdown_lines(steps.steps, numbered=True),
            "have_ready_intro": steps.have_ready_intro,
            "have_ready": _markdown_lines(steps.have_ready),
            "have_ready_note": steps.have_ready_note,
            "after_intro": steps.after_intro,
            "after_steps": _link_markdown(_markdown_lines(steps.after_steps, numbered=True), labels),
            "after_notes": [_paragraph(note, labels) for note in steps.after_notes],
        }
    return data


def to_card(reply: Reply, *, feedback_given: bool = False) -> dict[str, Any]:
    """The Adaptive Card (1.5) for a Reply; `feedback_given` swaps the Helpful buttons for a thank-you."""
    if reply.kind is ReplyKind.ANSWER:
        layout = "ivr" if reply.phone_steps else "answer"
    elif reply.kind is ReplyKind.CLARIFY:
        layout = "clarify"
    else:
        layout = "menu"
    return _render(layout, _card_data(reply, feedback_given))


class SentCard(dict[str, Any]):
    """A rendered card, never changed once made: botbuilder deep-copies every activity it sends, and a
    card is most of an activity's size, so it is shared rather than copied."""

    def __deepcopy__(self, memo: dict[int, Any]) -> SentCard:
        return self


def _card_activity(card: SentCard, summary: str) -> Activity:
    activity = MessageFactory.attachment(CardFactory.adaptive_card(card))
    # notifications and the chat list show the summary; the card's fallbackText serves clients without cards
    activity.summary = summary
    return activity


def to_activity(reply: Reply, *, feedback_given: bool = False) -> Activity:
    """The message activity that carries a Reply as an Adaptive Card, with a plain-text summary."""
    summary = reply.title or (reply.paragraphs[0] if reply.paragraphs else reply.text)
    # a card shows no confidence: the same answer to another question is the same card
    shown = replace(
        reply, confidence=0.0, suggestions=tuple(Suggestion(s.topic, s.title) for s in reply.suggestions)
    )
    return _card_activity(_shared_card(shown, feedback_given), summary.splitlines()[0][:200])


@lru_cache(maxsize=1024)
def _shared_card(reply: Reply, feedback_given: bool) -> SentCard:
    return SentCard(to_card(reply, feedback_given=feedback_given))


def notice(name: str) -> Activity:
    """A fixed card (thanks for feedback, something went wrong) from its layout as it is."""
    card = SentCard(_template(name))
    return _card_activity(card, card["fallbackText"])
