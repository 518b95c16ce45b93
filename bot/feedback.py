"""Where Helpful / Not helpful clicks go: an interface, and a default that keeps them in memory."""

from __future__ import annotations

from typing import Protocol

from bot.models import Feedback


class FeedbackSink(Protocol):
    def record(self, feedback: Feedback) -> None: ...


class InMemoryFeedback:
    """Keeps feedback for the life of the process; a persistent store can take its place."""

    def __init__(self) -> None:
        self.events: list[Feedback] = []

    def record(self, feedback: Feedback) -> None:
        self.events.append(feedback)
