"""Keys seen lately, bounded in number and age: Teams and Slack both re-send what they think failed."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable


class RecentKeys:
    """Answers "first time?" for activity and event ids. Per process: each replica remembers its own."""

    def __init__(
        self, ttl: float = 15 * 60, max_size: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl, self.max_size, self.clock = ttl, max_size, clock
        self._seen: OrderedDict[str, float] = OrderedDict()

    def first_time(self, key: str) -> bool:
        """Remember `key`; False if it was already remembered."""
        now = self.clock()
        while self._seen and (
            len(self._seen) >= self.max_size or next(iter(self._seen.values())) < now - self.ttl
        ):
            self._seen.popitem(last=False)
        if key in self._seen:
            return False
        self._seen[key] = now
        return True

    def forget(self, key: str) -> None:
        """Let `key` be taken again: what it stood for was not done after all."""
        self._seen.pop(key, None)
