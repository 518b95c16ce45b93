"""Real server processes on one database: two replicas answer each delivery once; votes outlive a restart."""

from __future__ import annotations

import asyncio
import copy
import hashlib
import hmac
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

import aiohttp
import asyncpg
import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[1]
BOT = Path(sys.executable).parent / "nhsmail-bot"
TEAMS_PAYLOADS = ROOT / "tests" / "teams" / "payloads"
SLACK_PAYLOADS = ROOT / "tests" / "slack" / "payloads"
PG_ADMIN = os.environ.get("TEST_POSTGRES_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
SIGNING_SECRET = secrets.token_hex(16)
QUESTION = "I've forgotten my password"
# what a server process is given of the test's own environment: nothing the bot reads
PASSED_ON = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "XDG_CACHE_HOME")
# a loser's request returns only once it has declined; this covers the winner's reply still on its way
SETTLE_S = 1.0
_A = TypeVar("_A")


@dataclass
class Call:
    """One request a server made to the fake platforms."""

    method: str
    path: str
    body: Any


@dataclass
class Platforms:
    """Slack's Web API and response_urls, and Teams' Bot Connector, on one loopback port, recording calls."""

    calls: list[Call] = field(default_factory=list)
    url: str = ""
    _runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/slack/api/{method}", self._slack_api)
        app.router.add_post("/slack/response/{name}", self._record_ok)
        app.router.add_post("/teams/v3/conversations/{conversation}/activities", self._connector)
        app.router.add_route(
            "*", "/teams/v3/conversations/{conversation}/activities/{activity}", self._connector
        )
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def to(self, path: str, method: str = "POST") -> list[Call]:
        return [call for call in self.calls if call.path == path and call.method == method]

    async def wait_for(self, path: str, method: str = "POST", timeout: float = 15.0) -> list[Call]:
        """The calls to `path` once there is at least one, then after SETTLE_S more (a second would show)."""
        deadline = time.monotonic() + timeout
        while not self.to(path, method) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(SETTLE_S)
        return self.to(path, method)

    async def _record(self, request: web.Request) -> Call:
        raw = await request.read()
        body: Any = raw.decode()
        if request.content_type == "application/json" and raw:
            body = json.loads(raw)
        call = Call(request.method, request.path, body)
        self.calls.append(call)
        return call

    async def _record_ok(self, request: web.Request) -> web.Response:
        await self._record(request)
        return web.Response(text="ok")

    async def _slack_api(self, request: web.Request) -> web.Response:
        await self._record(request)
        method = request.match_info["method"]
        if method == "auth.test":
            identity = {"team_id": "T0CAREHOME", "user_id": "UBOT", "bot_id": "BBOT"}
            return web.json_response({"ok": True, "user": "nhsmail", **identity})
        if method.startswith("chat."):
            return web.json_response({"ok": True, "channel": "C0STAFFROOM", "ts": "1700000999.000900"})
        return web.json_response({"ok": False, "error": "unknown_method"}, status=404)

    async def _connector(self, request: web.Request) -> web.Response:
        await self._record(request)
        return web.json_response({"id": f"1:{uuid.uuid4().hex}"})


@dataclass
class Server:
    """`nhsmail-bot serve` as a process of its own, on a free loopback port, logging to a file."""

    env: dict[str, str]
    log: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.port = free_port()
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [str(BOT), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    async def ready(self, session: aiohttp.ClientSession, timeout: float = 90.0) -> dict[str, Any]:
        """Wait for /readyz to answer 200; its body (which names a degraded store)."""
        deadline = time.monotonic() + timeout
        assert self.process is not None
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"the server exited: {self.logged()}"
            try:
                async with session.get(f"{self.url}/readyz") as response:
                    if response.status == 200:
                        ready: dict[str, Any] = await response.json()
                        return ready
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
        raise AssertionError(f"not ready in {timeout:.0f} s: {self.logged()}")

    def stop(self) -> int:
        """SIGTERM, as Kubernetes stops a pod, and wait for the process to end; its exit status."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
                raise AssertionError(f"the server ignored SIGTERM: {self.logged()}") from None
        return self.process.returncode

    async def resends(self, session: aiohttp.ClientSession) -> dict[str, float]:
        """The deliveries this server declined as already taken, by platform (from /metrics)."""
        async with session.get(f"{self.url}/metrics") as response:
            text = await response.text()
        return {
            sample.labels["platform"]: sample.value
            for family in text_string_to_metric_families(text)
            if family.name == "nhsmail_bot_resends"
            for sample in family.samples
            if sample.name == "nhsmail_bot_resends_total"
        }

    def logged(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-4000:]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def slack_signed(body: bytes, content_type: str) -> dict[str, str]:
    """Slack's v0 signature headers: HMAC-SHA256 of "v0:timestamp:body" with the signing secret."""
    timestamp = str(int(time.time()))
    digest = hmac.new(SIGNING_SECRET.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256)
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": f"v0={digest.hexdigest()}",
    }


def recorded(folder: Path, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
    return copy.deepcopy(data)


def teams_message(service_url: str, text: str) -> dict[str, Any]:
    """A personal message from Teams, with an activity id and a conversation of its own."""
    activity = recorded(TEAMS_PAYLOADS, "personal_message") | {"text": text, "serviceUrl": service_url}
    activity["id"] = f"{int(time.time() * 1000)}{secrets.randbelow(1000):03d}"
    activity["conversation"]["id"] = f"a:{uuid.uuid4().hex}"
    return activity


def feedback_submit(message: dict[str, Any], card_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """The Action.Submit Teams sends when the user clicks a button on the card `card_id`."""
    click = recorded(TEAMS_PAYLOADS, "card_submit") | {"serviceUrl": message["serviceUrl"], "value": data}
    click["id"] = f"f:{uuid.uuid4()}"
    click["conversation"] = message["conversation"]
    click["from"] = message["from"]
    click["replyToId"] = card_id
    return click


def submits(node: Any) -> list[dict[str, Any]]:
    """The data of every Action.Submit on a card, wherever it is."""
    if isinstance(node, list):
        return [data for item in node for data in submits(item)]
    if not isinstance(node, dict):
        return []
    own = [node.get("data", {})] if node.get("type") == "Action.Submit" else []
    return own + [data for value in node.values() for data in submits(value)]


def server_env(database_url: str, platforms: Platforms, data_home: Path) -> dict[str, str]:
    return {
        **{name: os.environ[name] for name in PASSED_ON if name in os.environ},
        "DATABASE_URL": database_url,
        "SLACK_BOT_TOKEN": f"xoxb-1-2-{secrets.token_hex(8)}",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": f"{platforms.url}/slack/api/",
        "XDG_DATA_HOME": str(data_home),
        "LOG_FORMAT": "text",
    }


async def on_both(servers: list[Server], send: Callable[[Server], Awaitable[_A]]) -> list[_A]:
    """Send the same request to every server at once; what each answered."""
    return list(await asyncio.gather(*(send(server) for server in servers)))


@pytest.fixture
async def platforms() -> AsyncIterator[Platforms]:
    fake = Platforms()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """An empty PostgreSQL database of this test's own, dropped afterwards."""
    name = f"nhsbot_replicas_{os.getpid()}_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(PG_ADMIN, timeout=10)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    admin = await asyncpg.connect(PG_ADMIN, timeout=10)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'bot.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    """The servers a test starts; any still running at the end are stopped."""
    started: list[Server] = []
    yield started
    for server in started:
        server.stop()


async def test_two_replicas_answer_each_delivery_once(
    postgres_url: str, platforms: Platforms, servers: list[Server], tmp_path: Path
) -> None:
    env = server_env(postgres_url, platforms, tmp_path / "data")
    servers += [Server(env, tmp_path / "a.log"), Server(env, tmp_path / "b.log")]
    for server in servers:  # together, on an empty database: both migrate at start
        server.start()
    async with aiohttp.ClientSession() as session:
        for server in servers:
            ready = await server.ready(session)
            assert ready == {"status": "ready"}, server.logged()  # the shared store, not memory

        # a Slack event, delivered to both replicas (as Slack's retry can land on the other one)
        event = recorded(SLACK_PAYLOADS, "app_mention")
        event["event"]["text"] = f"<@UBOT> {QUESTION}"
        event["event_id"] = f"Ev{uuid.uuid4().hex[:16].upper()}"
        event_body = json.dumps(event).encode()

        async def send_event(server: Server) -> int:
            headers = slack_signed(event_body, "application/json")
            async with session.post(f"{server.url}/slack/events", data=event_body, headers=headers) as r:
                return r.status

        assert await on_both(servers, send_event) == [200, 200]
        posted = await platforms.wait_for("/slack/api/chat.postMessage")
        assert len(posted) == 1, [call.body for call in posted]

        # a slash command: one trigger_id, its answer in the acknowledgement
        command = recorded(SLACK_PAYLOADS, "slash_command") | {
            "text": QUESTION,
            "trigger_id": f"{int(time.time())}.1000000000.{uuid.uuid4().hex}",
            "response_url": f"{platforms.url}/slack/response/command",
        }
        command_body = urlencode(command).encode()

        async def send_command(server: Server) -> tuple[int, str]:
            headers = slack_signed(command_body, "application/x-www-form-urlencoded")
            async with session.post(f"{server.url}/slack/events", data=command_body, headers=headers) as r:
                return r.status, await r.text()

        acknowledged = await on_both(servers, send_command)
        assert [status for status, _ in acknowledged] == [200, 200]
        # one replica answered; the other acknowledged the repeat with nothing
        assert sorted(bool(body) for _, body in acknowledged) == [False, True], acknowledged
        assert platforms.to("/slack/response/command") == []

        # a Teams activity: one conversation id and activity id
        activity = teams_message(f"{platforms.url}/teams", QUESTION)

        async def send_activity(server: Server) -> int:
            async with session.post(f"{server.url}/api/messages", json=activity) as r:
                return r.status

        assert await on_both(servers, send_activity) == [200, 200]
        conversation = activity["conversation"]["id"]
        sent = await platforms.wait_for(f"/teams/v3/conversations/{conversation}/activities/{activity['id']}")
        assert len(sent) == 1, [call.body for call in sent]
        assert sent[0].body["attachments"], "the answer is a card"

        # each delivery reached both replicas: the one that did not answer it declined it as taken
        declined = [await server.resends(session) for server in servers]
        assert sum(counts.get("slack", 0) for counts in declined) == 2, declined
        assert sum(counts.get("teams", 0) for counts in declined) == 1, declined
    assert [server.stop() for server in servers] == [0, 0], [server.logged() for server in servers]


async def test_a_feedback_click_survives_a_restart_and_shows_in_the_report(
    database_url: str, platforms: Platforms, servers: list[Server], tmp_path: Path
) -> None:
    env = server_env(database_url, platforms, tmp_path / "data")
    server = Server(env, tmp_path / "server.log")
    servers.append(server)
    server.start()
    service_url = f"{platforms.url}/teams"
    message = teams_message(service_url, QUESTION)
    conversation = message["conversation"]["id"]
    async with aiohttp.ClientSession() as session:
        await server.ready(session)
        async with session.post(f"{server.url}/api/messages", json=message) as response:
            assert response.status == 200, server.logged()
        [answer] = platforms.to(f"/teams/v3/conversations/{conversation}/activities/{message['id']}")
        [helpful] = [d for d in submits(answer.body["attachments"]) if d.get("helpful") is True]
        topic = helpful["topic"]
        click = feedback_submit(message, "1:the-answer-card", helpful)
        async with session.post(f"{server.url}/api/messages", json=click) as response:
            assert response.status == 200, server.logged()
        # the card's buttons became a thank-you: the click was taken
        assert platforms.to(f"/teams/v3/conversations/{conversation}/activities/1:the-answer-card", "PUT")

    assert server.stop() == 0, server.logged()
    server.start()
    async with aiohttp.ClientSession() as session:
        assert (await server.ready(session)) == {"status": "ready"}, server.logged()
        # Teams sends the click again after the restart: already counted, so not counted again
        async with session.post(f"{server.url}/api/messages", json=click) as response:
            assert response.status == 200, server.logged()
        assert (await server.resends(session)).get("teams") == 1
    assert server.stop() == 0, server.logged()

    report = subprocess.run(
        [str(BOT), "report", "--since", "1d", "--format", "json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert report.returncode == 0, report.stderr
    shown = json.loads(report.stdout)  # stdout holds the report alone
    [row] = [row for row in shown["topics"] if row["topic"] == topic]
    assert (row["answers"], row["helpful"], row["not_helpful"]) == (1, 1, 0), row
    assert shown["by_platform"]["teams"]["messages"] == 1, shown["by_platform"]
