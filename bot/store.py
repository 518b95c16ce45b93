"""What the bot keeps between turns and for the content owner: the Store protocol and an in-memory store."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

from bot.models import Reply
from bot.redact import redact

__all__ = [
    "CONTEXT_TTL_S",
    "DEDUPE_TTL_S",
    "Health",
    "MemoryStore",
    "Outcome",
    "Store",
    "TurnEvent",
    "UnansweredKind",
    "Via",
    "keyed_hash",
    "note_turn",
]

CONTEXT_TTL_S = 30 * 60.0  # a follow-up comes within minutes; after half an hour it is a new question
DEDUPE_TTL_S = 60 * 60.0  # Teams and Slack retry within minutes; an hour covers a slow retry and a replay


class Outcome(StrEnum):
    ANSWER = "answer"
    CLARIFY = "clarify"
    FALLBACK = "fallback"
    SMALLTALK = "smalltalk"


class Via(StrEnum):
    """How the turn began: typed, or a click on a topic button (did-you-mean, related, menu)."""

    MESSAGE = "message"
    CLICK = "click"


class UnansweredKind(StrEnum):
    FALLBACK = "fallback"
    CLARIFY = "clarify"
    NOT_HELPFUL = "not_helpful"


@dataclass(frozen=True, slots=True)
class TurnEvent:
    """One turn, without its text. `user` and `conversation` are platform ids: the store keeps only keyed
    hashes of them (an id can name a person), so callers pass them as they come."""

    platform: str  # teams | slack | console
    conversation_kind: str  # personal | group | channel | console
    outcome: Outcome
    user: str
    conversation: str
    topic: str | None = None
    confidence: float = 0.0
    latency_ms: float = 0.0
    via: Via = Via.MESSAGE
    at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True, slots=True)
class Health:
    """The store's readiness view: `ok`, or degraded with a reason a person can act on."""

    ok: bool
    reason: str = ""

    @property
    def status(self) -> str:
        return "ok" if self.ok else "degraded"


class Store(Protocol):
    """What the bot keeps. Reads on the answer's path are quick or answer from memory; writes are queued:
    no method raises into the caller because a database is down."""

    async def first_time(self, key: str, ttl_s: float = DEDUPE_TTL_S) -> bool:
        """True for exactly one caller per key (across replicas), until `ttl_s` has passed."""
        ...

    async def forget(self, key: str) -> None:
        """Let `key` be taken again: what it stood for was not done (a reply that was not delivered)."""
        ...

    async def context(self, conversation: str) -> str | None:
        """The last topic answered in this conversation or thread, if recent."""
        ...

    async def remember(
        self, conversation: str, topic: str, ttl_s: float = CONTEXT_TTL_S, question: str | None = None
    ) -> None:
        """Keep `topic` as the conversation's context; `question` (as typed; kept only redacted) lets a
        later Not helpful vote file the question as unanswered."""
        ...

    async def record(self, event: TurnEvent) -> None:
        """Queue one turn's event; returns at once."""
        ...

    async def feedback(
        self, user: str, topic: str, helpful: bool, platform: str, conversation: str, answer: str = ""
    ) -> None:
        """One vote per user per answer (`answer`: the answered message's id, if the platform gives one):
        a second click or a replay changes the vote, never the count."""
        ...

    async def unanswered(
        self, text: str, *, kind: UnansweredKind, platform: str, conversation: str, at: datetime
    ) -> None:
        """Queue a question the bot could not answer, as typed: the store keeps it only redacted
        (bot.redact), and not at all with STORE_QUESTIONS=off."""
        ...

    async def purge(self, older_than: datetime) -> int:
        """Delete what was recorded before `older_than`, and expired keys and contexts; rows removed."""
        ...

    def health(self) -> Health: ...

    async def close(self) -> None:
        """Write what is queued, then let go of the database."""
        ...


def keyed_hash(key: bytes, value: str) -> str:
    """HMAC-SHA256 of a platform id: the same user counts once, and the id cannot be read back."""
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


async def note_turn(
    store: Store,
    reply: Reply,
    *,
    question: str,
    platform: str,
    conversation_kind: str,
    user: str,
    conversation: str,
    latency_ms: float,
    via: Via = Via.MESSAGE,
) -> None:
    """Everything a turn leaves behind, in one call the adapters make after replying: the event, the
    conversation's context after an answer, and the redacted question after a did-you-mean or fallback."""
    at = datetime.now(UTC)
    outcome = Outcome(reply.kind.value)
    await store.record(
        TurnEvent(
            platform=platform,
            conversation_kind=conversation_kind,
            outcome=outcome,
            user=user,
            conversation=conversation,
            topic=reply.topic,
            confidence=reply.confidence,
            latency_ms=latency_ms,
            via=via,
            at=at,
        )
    )
    typed = (
        via is Via.MESSAGE
    )  # a click's text is the topic's own title, not a question (STORE_QUESTIONS: the store)
    if outcome is Outcome.ANSWER and reply.topic:
        await store.remember(conversation, reply.topic, question=question if typed else None)
    elif outcome in (Outcome.CLARIFY, Outcome.FALLBACK) and typed and question.strip():
        kind = UnansweredKind(outcome.value)
        await store.unanswered(question, kind=kind, platform=platform, conversation=conversation, at=at)


class MemoryStore:
    """A Store in the process's memory: for the console, for tests, and when no database is wanted.
    Bounded, forgotten at exit, and per process (each replica has its own)."""

    def __init__(
        self,
        *,
        hash_key: bytes | None = None,
        store_questions: bool = True,
        max_items: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.hash_key = hash_key or secrets.token_bytes(32)
        self.store_questions = store_questions
        self.max_items = max_items
        self._clock = clock
        self._keys: OrderedDict[str, float] = OrderedDict()
        self._contexts: OrderedDict[str, tuple[str, str | None, float]] = OrderedDict()
        self.events: deque[TurnEvent] = deque(maxlen=max_items)
        self.votes: OrderedDict[tuple[str, str, str, str], bool] = OrderedDict()
        self.questions: deque[tuple[datetime, UnansweredKind, str, str]] = deque(maxlen=max_items)

    def hash(self, value: str) -> str:
        return keyed_hash(self.hash_key, value)

    async def first_time(self, key: str, ttl_s: float = DEDUPE_TTL_S) -> bool:
        now = self._clock()
        while self._keys and (len(self._keys) >= self.max_items or next(iter(self._keys.values())) <= now):
            self._keys.popitem(last=False)
        if self._keys.get(key, now) > now:
            return False
        self._keys.pop(key, None)
        self._keys[key] = now + ttl_s
        return True

    async def forget(self, key: str) -> None:
        self._keys.pop(key, None)

    async def context(self, conversation: str) -> str | None:
        found = self._contexts.get(self.hash(conversation))
        return found[0] if found and found[2] > self._clock() else None

    async def remember(
        self, conversation: str, topic: str, ttl_s: float = CONTEXT_TTL_S, question: str | None = None
    ) -> None:
        key = self.hash(conversation)
        self._contexts.pop(key, None)
        if len(self._contexts) >= self.max_items:
            self._contexts.popitem(last=False)
        kept = redact(question) if question and self.store_questions else None
        self._contexts[key] = (topic, kept, self._clock() + ttl_s)

    async def record(self, event: TurnEvent) -> None:
        self.events.append(event)

    async def feedback(
        self, user: str, topic: str, helpful: bool, platform: str, conversation: str, answer: str = ""
    ) -> None:
        vote = (self.hash(user), topic, self.hash(conversation), answer)
        before = self.votes.pop(vote, None)
        if len(self.votes) >= self.max_items:
            self.votes.popitem(last=False)
        self.votes[vote] = helpful
        context = self._contexts.get(self.hash(conversation))
        changed = before is None or before != helpful  # a replay files nothing twice
        if changed and not helpful and context and context[0] == topic and context[1]:
            self.questions.append((datetime.now(UTC), UnansweredKind.NOT_HELPFUL, platform, context[1]))

    async def unanswered(
        self, text: str, *, kind: UnansweredKind, platform: str, conversation: str, at: datetime
    ) -> None:
        if self.store_questions:
            self.questions.append((at, kind, platform, redact(text)))

    async def purge(self, older_than: datetime) -> int:
        before = len(self.events) + len(self.questions)
        self.events = deque((e for e in self.events if e.at >= older_than), maxlen=self.max_items)
        self.questions = deque((q for q in self.questions if q[0] >= older_than), maxlen=self.max_items)
        return before - len(self.events) - len(self.questions)

    def health(self) -> Health:
        return Health(True, "in memory: nothing is kept across restarts or shared between replicas")

    async def close(self) -> None:
        return None
