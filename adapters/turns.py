"""What each turn reads and leaves behind, the same for every platform: dedupe, the conversation's context,
one log line, the metrics and the store's records. Never the text, except redacted by the store."""

from __future__ import annotations

import logging
import time

from adapters.metrics import Metrics
from adapters.ratelimit import RateLimiter, Verdict
from bot.engine import Engine
from bot.models import Reply
from bot.store import MemoryStore, Store, Via, note_turn

logger = logging.getLogger(__name__)


class Turns:
    """Handed to each platform's adapter by the server. `store` is a MemoryStore until the server's own
    store is open (tests give one of their own)."""

    def __init__(
        self, metrics: Metrics, store: Store | None = None, limiter: RateLimiter | None = None
    ) -> None:
        self.metrics = metrics
        self.store: Store = store if store is not None else MemoryStore()
        self.limiter = limiter if limiter is not None else RateLimiter()

    def admit(self, platform: str, user: str) -> Verdict:
        """May this user's message be answered now? Per replica: a flood meets each replica's limit."""
        verdict = self.limiter.check(f"{platform}:{user}")
        if verdict is not Verdict.ALLOW:
            self.metrics.turn(platform, "rate_limited", 0.0)
            if verdict is Verdict.REFUSE:
                logger.warning("%s: a user is over the rate limit", platform, extra={"platform": platform})
        return verdict

    async def first_time(self, key: str) -> bool:
        """True for exactly one delivery of a message or click, across replicas."""
        return await self.store.first_time(key)

    async def forget(self, key: str) -> None:
        await self.store.forget(key)

    async def reply(self, engine: Engine, question: str, conversation: str, *, shared: bool = False) -> Reply:
        """The engine's reply, read after the topic last answered in this conversation when that can change
        it (a follow-up): only then is the store asked for it. The store never raises; it falls back to
        memory."""
        reply = engine.reply(question, shared=shared)
        if engine.follows_on(question, reply):
            reply = engine.reply(question, await self.store.context(conversation), shared=shared)
        return reply

    async def answered(
        self,
        platform: str,
        where: str,
        reply: Reply,
        started: float,
        *,
        question: str,
        user: str,
        conversation: str,
        via: Via = Via.MESSAGE,
    ) -> None:
        """A message (or a topic button's click, `via`) was answered and the answer delivered. `where` is
        the conversation's kind (personal, channel, slash command...); of the question only its length is
        logged, and the store keeps it only redacted, and only when it was not answered."""
        seconds = time.monotonic() - started
        self.metrics.turn(platform, reply.kind.value, seconds)
        logger.info(
            "%s %s: %s %s",
            platform,
            where,
            reply.kind.value,
            reply.topic or "-",
            extra={
                "platform": platform,
                "conversation": where,
                "outcome": reply.kind.value,
                "via": via.value,
                "topic": reply.topic,
                "confidence": reply.confidence,
                "length": len(question),
                "latency_ms": round(seconds * 1000, 2),
            },
        )
        await note_turn(
            self.store,
            reply,
            question=question,
            platform=platform,
            conversation_kind=where,
            user=user,
            conversation=conversation,
            latency_ms=seconds * 1000,
            via=via,
        )

    async def voted(
        self, platform: str, topic: str, helpful: bool, *, user: str, conversation: str, answer: str = ""
    ) -> None:
        """A Helpful / Not helpful click on a topic's answer: one vote per user per answer."""
        self.metrics.feedback(platform, topic, helpful)
        logger.info(
            "%s feedback: %s helpful=%s",
            platform,
            topic,
            helpful,
            extra={"platform": platform, "outcome": "feedback", "topic": topic, "helpful": helpful},
        )
        await self.store.feedback(user, topic, helpful, platform, conversation, answer)

    def undelivered(self, platform: str, reason: str) -> None:
        self.metrics.outbound_failure(platform)
        logger.error("%s: a reply was not delivered: %s", platform, reason, extra={"platform": platform})

    def resent(self, platform: str) -> None:
        self.metrics.resend(platform)
        logger.info("%s: a re-sent message, already answered", platform, extra={"platform": platform})
