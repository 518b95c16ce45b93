"""Prometheus metrics at GET /metrics: counts and latencies by platform, outcome and topic; no user text."""

from __future__ import annotations

from collections.abc import Iterable

from aiohttp import web
from prometheus_client import GC_COLLECTOR, PROCESS_COLLECTOR, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import choose_encoder

from bot.models import ReplyKind

__all__ = ["METRICS", "OUTCOMES", "PLATFORMS", "Metrics", "register"]

PLATFORMS = ("teams", "slack")
# what a turn can come to: the engine's reply kinds, and the two ways a turn ends without one
OUTCOMES = (*(kind.value for kind in ReplyKind), "error", "rate_limited")
# any label value not known in advance is counted here, so a label never carries what someone sent
OTHER = "other"
NONE = "none"

# a reply is the engine's fraction of a millisecond plus the platform's round trip: 1 ms to 10 s
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _known(value: object, allowed: Iterable[str]) -> str:
    return value if isinstance(value, str) and value in allowed else OTHER


class Metrics:
    """The app's own registry (not the process-wide one, so a process can build several apps).

    The adapters call one method per event, after the turn; every label is checked against a closed set.
    """

    def __init__(self, topics: Iterable[str] = ()) -> None:
        self.topics = frozenset(topics)
        self.registry = CollectorRegistry(auto_describe=True)
        # the process's memory, CPU and open files, and the garbage collector's work, as Prometheus expects
        self.registry.register(PROCESS_COLLECTOR)
        self.registry.register(GC_COLLECTOR)
        self._messages = Counter(
            "nhsmail_bot_messages",
            "Messages answered, by platform and outcome.",
            ("platform", "outcome"),
            registry=self.registry,
        )
        self._latency = Histogram(
            "nhsmail_bot_reply_seconds",
            "Time from a message's arrival to the reply being sent, by platform.",
            ("platform",),
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._feedback = Counter(
            "nhsmail_bot_feedback",
            "Helpful / not helpful votes, by platform, topic and vote.",
            ("platform", "topic", "helpful"),
            registry=self.registry,
        )
        self._failures = Counter(
            "nhsmail_bot_outbound_failures",
            "Replies that could not be sent to the platform, by platform.",
            ("platform",),
            registry=self.registry,
        )
        self._resends = Counter(
            "nhsmail_bot_resends",
            "Deliveries the platform sent again and the bot did not answer twice, by platform.",
            ("platform",),
            registry=self.registry,
        )
        # every series exists from the start at 0, so rate() and alerts see a first increase
        for platform in (*PLATFORMS, OTHER):
            self._latency.labels(platform)
            self._failures.labels(platform)
            self._resends.labels(platform)
            for outcome in (*OUTCOMES, OTHER):
                self._messages.labels(platform, outcome)

    def turn(self, platform: str, outcome: str, seconds: float) -> None:
        """One message handled: its outcome (a ReplyKind value, "error" or "rate_limited") and latency."""
        platform = _known(platform, PLATFORMS)
        self._messages.labels(platform, _known(outcome, OUTCOMES)).inc()
        if seconds >= 0:
            self._latency.labels(platform).observe(seconds)

    def feedback(self, platform: str, topic: str | None, helpful: bool) -> None:
        """One helpful / not-helpful click on a topic's answer."""
        self._feedback.labels(
            _known(platform, PLATFORMS), self.topic(topic), "yes" if helpful is True else "no"
        ).inc()

    def outbound_failure(self, platform: str) -> None:
        """A reply the platform's API refused or that could not reach it."""
        self._failures.labels(_known(platform, PLATFORMS)).inc()

    def resend(self, platform: str) -> None:
        """A delivery seen before (Slack's retry, the same Teams activity again), not answered twice."""
        self._resends.labels(_known(platform, PLATFORMS)).inc()

    def topic(self, topic: str | None) -> str:
        """The label for a topic: a knowledge-base id, "none", or "other" for anything else."""
        return NONE if topic is None else _known(topic, self.topics)


METRICS = web.AppKey("metrics", Metrics)


async def _metrics(request: web.Request) -> web.Response:
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    return web.Response(body=encoder(request.app[METRICS].registry), headers={"Content-Type": content_type})


def register(app: web.Application, topics: Iterable[str] = ()) -> Metrics:
    """Give the app its own metrics (`app[METRICS]`, for the adapters) and GET /metrics."""
    metrics = Metrics(topics)
    app[METRICS] = metrics
    app.router.add_get("/metrics", _metrics)
    return metrics
