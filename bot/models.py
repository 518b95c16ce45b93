"""The core's own types: knowledge entries and the platform-neutral Reply every adapter renders."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class Link:
    url: str
    label: str


@dataclass(frozen=True, slots=True)
class Contact:
    kind: str  # "phone" or "email"
    value: str
    label: str

    @property
    def uri(self) -> str:
        """A clickable form: tel: for phones (spaces removed), mailto: for email."""
        if self.kind == "phone":
            return "tel:+44" + self.value.replace(" ", "").removeprefix("0")
        return "mailto:" + self.value


@dataclass(frozen=True, slots=True)
class PhoneSteps:
    """The helpdesk's phone menu (IVR) as steps a card can number, in the document's own words."""

    number: str
    intro: str
    steps: tuple[str, ...]
    have_ready_intro: str
    have_ready: tuple[str, ...]
    have_ready_note: str
    after_intro: str
    after_steps: tuple[str, ...]
    after_notes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Entry:
    id: str
    title: str  # the document's question
    short_title: str  # for buttons and lists (Slack cuts button text at 75 characters)
    answer: str  # paragraphs separated by blank lines; "- " starts a bullet line
    section: str
    last_reviewed: str
    alternates: tuple[str, ...]
    links: tuple[Link, ...] = ()
    contacts: tuple[Contact, ...] = ()
    related: tuple[str, ...] = ()
    phone_steps: PhoneSteps | None = None
    # the entry's own words that are easy to miss in its phrasings (e.g. "AUP"), for the matcher
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class OutOfScope:
    """A subject staff ask about that this FAQ does not answer: recognising it beats a wrong answer."""

    id: str
    title: str
    phrasings: tuple[str, ...]


class ReplyKind(StrEnum):
    ANSWER = "answer"
    CLARIFY = "clarify"
    FALLBACK = "fallback"
    SMALLTALK = "smalltalk"


@dataclass(frozen=True, slots=True)
class Suggestion:
    topic: str
    title: str
    confidence: float = 0.0


@dataclass(frozen=True, slots=True)
class Reply:
    """What the bot says, whatever the platform. `text` is a complete plain-text rendering, always set."""

    kind: ReplyKind
    text: str
    confidence: float = 0.0
    topic: str | None = None
    title: str | None = None
    # kind ANSWER: the answer's paragraphs; other kinds: the lines to say (fallback, small talk, question)
    paragraphs: tuple[str, ...] = ()
    phone_steps: PhoneSteps | None = None
    links: tuple[Link, ...] = ()
    contacts: tuple[Contact, ...] = ()
    # kind CLARIFY: the did-you-mean choices (up to 3); ANSWER: other close topics
    suggestions: tuple[Suggestion, ...] = ()
    # kind ANSWER: related topics for follow-up buttons; FALLBACK/SMALLTALK: example questions
    follow_ups: tuple[Suggestion, ...] = ()
    # FALLBACK/SMALLTALK: every topic, so the user can pick one
    menu: tuple[Suggestion, ...] = ()
    # what the message carried that a chat should not (bot/privacy.py KINDS): the sender is warned
    warnings: tuple[str, ...] = ()
    # the sentences that say what to do about them (messages.yaml's), to show before the answer
    notices: tuple[str, ...] = ()
    # kind ANSWER: where the answer comes from and when it was last checked, said at its end
    source: str = ""

    @property
    def matched(self) -> bool:
        return self.kind is ReplyKind.ANSWER
