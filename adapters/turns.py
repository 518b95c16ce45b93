"""What each turn leaves behind, the same for every platform: one log line and the metrics; never text."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from adapters.metrics import Metrics
from bot.models import Reply

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Turns:
    """Handed to each platform's adapter by the server, so every platform records a turn alike."""

    metrics: Metrics

    def answered(self, platform: str, where: str, reply: Reply, started: float, *, length: int) -> None:
        """A message was answered. `where` is the conversation's kind (personal, channel, slash...);
        `length` the message's length, the only thing about its text that is kept."""
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
                "topic": reply.topic,
                "confidence": reply.confidence,
                "length": length,
                "latency_ms": round(seconds * 1000, 2),
            },
        )

    def clicked(self, platform: str, topic: str | None, started: float) -> None:
        """A card or block button named a topic (None when it named none the bot knows)."""
        seconds = time.monotonic() - started
        self.metrics.turn(platform, "answer" if topic else "fallback", seconds)
        logger.info(
            "%s click: %s",
            platform,
            topic or "(unknown topic)",
            extra={"platform": platform, "outcome": "click", "topic": topic},
        )

    def voted(self, platform: str, topic: str, helpful: bool) -> None:
        self.metrics.feedback(platform, topic, helpful)
        logger.info(
            "%s feedback: %s helpful=%s",
            platform,
            topic,
            helpful,
            extra={"platform": platform, "outcome": "feedback", "topic": topic, "helpful": helpful},
        )

    def undelivered(self, platform: str, reason: str) -> None:
        self.metrics.outbound_failure(platform)
        logger.error("%s: a reply was not delivered: %s", platform, reason, extra={"platform": platform})

    def resent(self, platform: str) -> None:
        self.metrics.resend(platform)
        logger.info("%s: a re-sent message, already answered", platform, extra={"platform": platform})
