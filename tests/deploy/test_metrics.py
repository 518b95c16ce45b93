"""GET /metrics on the real server counts what the adapters report, and no label carries what a user sent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from adapters.metrics import METRICS, OUTCOMES, PLATFORMS, Metrics
from adapters.server import create_app
from adapters.settings import Settings
from bot.engine import Engine

TYPED = "resident Mrs Adeyemi NHS 943 476 5919, password sunshine\n# HELP forged"


@dataclass
class Server:
    session: aiohttp.ClientSession
    url: str
    metrics: Metrics

    async def scrape(self, accept: str = "") -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        """Every sample of GET /metrics, by name and labels."""
        headers = {"Accept": accept} if accept else {}
        async with self.session.get(f"{self.url}/metrics", headers=headers) as response:
            assert response.status == 200
            self.content_type = response.headers["Content-Type"]
            text = await response.text()
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }


async def start(engine: Engine) -> AsyncIterator[Server]:
    app = create_app(Settings(), engine)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    async with aiohttp.ClientSession() as session:
        yield Server(session, f"http://{host}:{port}", app[METRICS])
    await runner.cleanup()


@pytest.fixture
async def server(engine: Engine) -> AsyncIterator[Server]:
    async for running in start(engine):
        yield running


def labels(**pairs: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(pairs.items()))


async def test_metrics_count_what_the_adapters_report(server: Server) -> None:
    metrics = server.metrics
    # what a Teams turn and a Slack turn report once the reply is sent
    metrics.turn("teams", "answer", 0.004)
    metrics.turn("teams", "answer", 0.3)
    metrics.turn("teams", "fallback", 0.002)
    metrics.turn("slack", "clarify", 1.7)
    metrics.feedback("teams", "forgotten-password", helpful=True)
    metrics.feedback("slack", "forgotten-password", helpful=False)
    metrics.feedback("slack", "forgotten-password", helpful=False)
    metrics.outbound_failure("slack")
    metrics.resend("slack")
    metrics.resend("slack")
    metrics.resend("teams")

    samples = await server.scrape()
    assert samples["nhsmail_bot_messages_total", labels(platform="teams", outcome="answer")] == 2
    assert samples["nhsmail_bot_messages_total", labels(platform="teams", outcome="fallback")] == 1
    assert samples["nhsmail_bot_messages_total", labels(platform="slack", outcome="clarify")] == 1
    assert samples["nhsmail_bot_messages_total", labels(platform="slack", outcome="answer")] == 0
    assert samples["nhsmail_bot_reply_seconds_count", labels(platform="teams")] == 3
    assert samples["nhsmail_bot_reply_seconds_sum", labels(platform="teams")] == pytest.approx(0.306)
    assert samples["nhsmail_bot_reply_seconds_bucket", labels(platform="teams", le="0.005")] == 2
    assert samples["nhsmail_bot_reply_seconds_bucket", labels(platform="slack", le="1.0")] == 0
    assert samples["nhsmail_bot_reply_seconds_bucket", labels(platform="slack", le="2.5")] == 1
    topic = "forgotten-password"
    assert samples["nhsmail_bot_feedback_total", labels(platform="teams", topic=topic, helpful="yes")] == 1
    assert samples["nhsmail_bot_feedback_total", labels(platform="slack", topic=topic, helpful="no")] == 2
    assert samples["nhsmail_bot_outbound_failures_total", labels(platform="slack")] == 1
    assert samples["nhsmail_bot_outbound_failures_total", labels(platform="teams")] == 0
    assert samples["nhsmail_bot_resends_total", labels(platform="slack")] == 2
    assert samples["nhsmail_bot_resends_total", labels(platform="teams")] == 1
    assert server.content_type.startswith("text/plain; version=0.0.4")


async def test_no_label_value_comes_from_user_input(server: Server, engine: Engine) -> None:
    metrics = server.metrics
    for value in (TYPED, "Teams", "answer ", "", "other"):
        metrics.turn(value, value, 0.01)
        metrics.feedback(value, value, helpful=True)
        metrics.outbound_failure(value)
        metrics.resend(value)
    metrics.feedback("slack", None, helpful=False)
    samples = await server.scrape()

    topics = {topic.topic for topic in engine.topics()}
    allowed = {
        "platform": {*PLATFORMS, "other"},
        "outcome": {*OUTCOMES, "other"},
        "topic": topics | {"other", "none"},
        "helpful": {"yes", "no"},
    }
    ours = {key: value for key, value in samples.items() if key[0].startswith("nhsmail_bot_")}
    for (name, pairs), _value in ours.items():
        for label, value in pairs:
            if label != "le":
                assert value in allowed[label], (name, label, value)
    assert samples["nhsmail_bot_messages_total", labels(platform="other", outcome="other")] == 5
    assert samples["nhsmail_bot_feedback_total", labels(platform="other", topic="other", helpful="yes")] == 5
    assert samples["nhsmail_bot_feedback_total", labels(platform="slack", topic="none", helpful="no")] == 1
    async with server.session.get(f"{server.url}/metrics") as response:
        text = await response.text()
    for fragment in ("Adeyemi", "sunshine", "943 476", "forged", "Teams"):
        assert fragment not in text


async def test_every_app_has_its_own_registry(engine: Engine) -> None:
    """Two servers in one process (as the tests build them) count apart."""
    async for first in start(engine):
        async for second in start(engine):
            first.metrics.turn("teams", "answer", 0.01)
            one, other = await first.scrape(), await second.scrape()
            key = ("nhsmail_bot_messages_total", labels(platform="teams", outcome="answer"))
            assert (one[key], other[key]) == (1, 0)


async def test_openmetrics_when_prometheus_asks_for_it(server: Server) -> None:
    server.metrics.turn("slack", "smalltalk", 0.02)
    samples = await server.scrape("application/openmetrics-text; version=1.0.0,text/plain;q=0.5")
    assert server.content_type.startswith("application/openmetrics-text")
    assert samples["nhsmail_bot_messages_total", labels(platform="slack", outcome="smalltalk")] == 1


async def test_the_process_is_measured_too(server: Server) -> None:
    """Memory, CPU and open files, the way Prometheus' own dashboards expect them."""
    samples = await server.scrape()
    names = {name for name, _ in samples}
    assert {"process_resident_memory_bytes", "process_open_fds", "python_gc_collections_total"} <= names
    assert samples["process_resident_memory_bytes", ()] > 10_000_000


async def test_metrics_answers_get_only(server: Server) -> None:
    async with server.session.post(f"{server.url}/metrics", data=b"x") as response:
        assert response.status == 405
