"""Per-user rate limit: a token bucket for each of a bounded number of users, so no one account floods."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from enum import StrEnum

__all__ = ["RateLimiter", "Verdict"]


class Verdict(StrEnum):
    ALLOW = "allow"  # answer the message
    REFUSE = "refuse"  # say messages.yaml's `rate_limited`, once
    DROP = "drop"  # already told: say nothing (the platform still gets its 200 / ack)


class RateLimiter:
    """Up to `limit` messages per `period` seconds per user, with bursts of up to `limit`.

    Each user has a bucket of `limit` tokens that refills steadily over `period`; a message takes a token.
    The first message refused gets the polite reply, the rest until a token comes back get nothing, so a
    flood costs one reply. At most `max_users` buckets are kept, least recently seen dropped first (a
    dropped user starts again with a full bucket), and user ids are cut to `MAX_KEY_CHARS`.
    """

    MAX_KEY_CHARS = 256

    def __init__(
        self,
        limit: int = 20,
        period: float = 60.0,
        max_users: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1 or period <= 0 or max_users < 1:
            raise ValueError("limit and max_users must be at least 1, and period positive")
        self.limit, self.period, self.max_users = limit, period, max_users
        self._rate = limit / period  # tokens per second
        self._clock = clock
        # user -> (tokens, time of the last update, told already)
        self._buckets: OrderedDict[str, tuple[float, float, bool]] = OrderedDict()

    def check(self, user: str) -> Verdict:
        """Take a token for one message from `user` (an opaque platform id) and say what to do with it."""
        key = user[: self.MAX_KEY_CHARS]
        now = self._clock()
        tokens, then, told = self._buckets.pop(key, (float(self.limit), now, False))
        tokens = min(float(self.limit), tokens + max(0.0, now - then) * self._rate)
        if tokens >= 1.0:
            verdict, tokens, told = Verdict.ALLOW, tokens - 1.0, False
        else:
            verdict, told = (Verdict.DROP if told else Verdict.REFUSE), True
        self._buckets[key] = (tokens, now, told)
        while len(self._buckets) > self.max_users:
            self._buckets.popitem(last=False)
        return verdict

    def __len__(self) -> int:
        return len(self._buckets)
