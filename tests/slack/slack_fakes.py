"""A fake Slack on loopback (Web API, response_url, Socket Mode) and a client that signs as Slack does."""

from __future__ import annotations

import asyncio
import copy
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import aiohttp
import yaml
from aiohttp import web

from bot.engine import Engine
from bot.models import ReplyKind

PAYLOADS = Path(__file__).parent / "payloads"
QUESTIONS = Path(__file__).parents[1] / "data" / "questions.yaml"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"


def payload(name: str) -> dict[str, Any]:
    """A recorded Slack payload from payloads/, to fill in."""
    data: dict[str, Any] = json.loads((PAYLOADS / f"{name}.json").read_text(encoding="utf-8"))
    return copy.deepcopy(data)


@dataclass
class Call:
    """One request the bot made to the fake Slack."""

    path: str
    raw: str
    body: dict[str, Any]
    at: float
    headers: dict[str, str] = field(default_factory=dict)
    # the client's address and port: one per TCP connection, so calls on a reused connection share it
    peer: str = ""
    # the HTTP status the fake answered
    status: int = 200

    @property
    def method(self) -> str:
        return self.path.removeprefix("/api/")


class FakeSlack:
    """Slack's side of the conversation: /api/<method> for the Web API, /response/<id> for response_urls,
    /socket for Socket Mode. Every request is recorded with the time it arrived."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.url = ""
        # Web API method -> how many of its next calls answer 429 with Retry-After: 1
        self.rate_limited: dict[str, int] = {}
        # Web API method or response_url path -> the statuses its next calls answer (e.g. [500]), in turn
        self.failures: dict[str, list[int]] = {}
        # cleared, response_url posts wait until it is set: shows the slash command does not wait for them
        self.responses_released = asyncio.Event()
        self.responses_released.set()
        self.socket: web.WebSocketResponse | None = None
        self.socket_replies: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._arrived = asyncio.Condition()
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/api/{method}", self._web_api)
        app.router.add_post("/response/{id}", self._response_url)
        app.router.add_get("/socket", self._socket_mode)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"

    async def stop(self) -> None:
        if self.socket is not None:
            await self.socket.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def response_url(self, name: str = "1") -> str:
        return f"{self.url}/response/{name}"

    def sent(self, method_or_path: str) -> list[Call]:
        return [c for c in self.calls if method_or_path in (c.method, c.path)]

    @property
    def delivered(self) -> list[Call]:
        """The messages Slack took: answered 200, so a user saw them."""
        return [c for c in self.messages if c.status == 200]

    @property
    def connections(self) -> set[str]:
        """The distinct TCP connections the bot's calls came in on."""
        return {c.peer for c in self.calls}

    @property
    def requests(self) -> list[Call]:
        """Every call but the one auth.test at start (the bot learns its identity once, not per request)."""
        return [c for c in self.calls if c.method != "auth.test"]

    @property
    def messages(self) -> list[Call]:
        """What the bot said: chat.* posts and response_url posts (not auth.test and the like)."""
        return [c for c in self.calls if c.method.startswith("chat.") or c.path.startswith("/response/")]

    async def wait_for(self, method_or_path: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        async def enough() -> list[Call]:
            async with self._arrived:
                await self._arrived.wait_for(lambda: len(self.sent(method_or_path)) >= count)
            return self.sent(method_or_path)

        return await asyncio.wait_for(enough(), timeout)

    async def _record(self, request: web.Request) -> Call:
        raw = await request.text()
        if request.content_type == "application/json":
            body = json.loads(raw) if raw else {}
        else:
            body = dict(parse_qsl(raw))
        peer = request.transport.get_extra_info("peername") if request.transport else None
        call = Call(request.path, raw, body, time.monotonic(), dict(request.headers), str(peer))
        failures = self.failures.get(call.method) or self.failures.get(call.path)
        if failures:
            call.status = failures.pop(0)
        async with self._arrived:
            self.calls.append(call)
            self._arrived.notify_all()
        return call

    async def _web_api(self, request: web.Request) -> web.Response:
        call = await self._record(request)
        if call.status != 200:
            return web.json_response({"ok": False, "error": "fatal_error"}, status=call.status)
        if self.rate_limited.get(call.method, 0) > 0:
            self.rate_limited[call.method] -= 1
            call.status = 429
            return web.json_response(
                {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "1"}
            )
        if call.method == "auth.test":
            return web.json_response(
                {
                    "ok": True,
                    "url": "https://carehome.slack.com/",
                    "team": "Care Home",
                    "user": "nhsmail",
                    "team_id": "T0CAREHOME",
                    "user_id": BOT_USER_ID,
                    "bot_id": BOT_ID,
                    "is_enterprise_install": False,
                }
            )
        if call.method == "apps.connections.open":
            return web.json_response({"ok": True, "url": self.url.replace("http", "ws", 1) + "/socket"})
        if call.method.startswith("chat."):
            return web.json_response(
                {"ok": True, "channel": call.body.get("channel"), "ts": "1700000999.000900"}
            )
        return web.json_response({"ok": False, "error": "unknown_method"}, status=404)

    async def _response_url(self, request: web.Request) -> web.Response:
        call = await self._record(request)
        if call.status != 200:
            return web.Response(status=call.status, text="service unavailable")
        await self.responses_released.wait()
        return web.Response(text="ok")

    async def _socket_mode(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self.socket = socket
        await socket.send_json({"type": "hello", "num_connections": 1, "debug_info": {"host": "fake"}})
        async with self._arrived:
            self._arrived.notify_all()
        async for message in socket:
            if message.type == aiohttp.WSMsgType.TEXT:
                await self.socket_replies.put(json.loads(message.data))
        return socket

    async def wait_for_socket(self, timeout: float = 5.0) -> web.WebSocketResponse:
        async def connected() -> web.WebSocketResponse:
            async with self._arrived:
                await self._arrived.wait_for(lambda: self.socket is not None)
            assert self.socket is not None
            return self.socket

        return await asyncio.wait_for(connected(), timeout)


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    """Run an aiohttp app on a free loopback port; returns its runner (to clean up) and base URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """Slack's v0 request signature: HMAC-SHA256 of "v0:timestamp:body" with the signing secret."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass
class Answer:
    status: int
    text: str
    seconds: float

    @property
    def body(self) -> dict[str, Any]:
        """The acknowledgement's JSON: a slash command's answer comes back in it."""
        return json.loads(self.text) if self.text else {}


class SlackClient:
    """Sends requests to the bot's /slack/events signed exactly as Slack signs them."""

    def __init__(self, session: aiohttp.ClientSession, url: str, secret: str, fake: FakeSlack) -> None:
        self.session, self.url, self.secret, self.fake = session, url, secret, fake

    def trigger_id(self) -> str:
        """A new trigger id, as Slack gives every slash command and click its own."""
        return f"{int(time.time())}.1000000000.{uuid.uuid4().hex}"

    async def post(
        self,
        body: bytes,
        content_type: str,
        *,
        timestamp: str | None = None,
        secret: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        timestamp = timestamp or str(int(time.time()))
        signed = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": signature(secret or self.secret, timestamp, body),
            **(headers or {}),
        }
        started = time.monotonic()
        async with self.session.post(self.url, data=body, headers=signed) as response:
            return Answer(response.status, await response.text(), time.monotonic() - started)

    async def command(self, text: str, response_url: str | None = None, **options: Any) -> Answer:
        form = payload("slash_command") | {
            "text": text,
            "response_url": response_url or self.fake.response_url(),
            "trigger_id": self.trigger_id(),
        }
        return await self.post(urlencode(form).encode(), "application/x-www-form-urlencoded", **options)

    async def event(
        self,
        name: str,
        text: str = "",
        event_id: str | None = None,
        headers: dict[str, str] | None = None,
        **fields: Any,
    ) -> Answer:
        """An event_callback from payloads/<name>.json with the event's text and other fields replaced."""
        body = payload(name)
        body["event"].update({"text": text, **fields})
        # unique in the whole run, as Slack's are: a server's store outlives one test
        body["event_id"] = event_id or f"Ev{uuid.uuid4().hex[:16].upper()}"
        return await self.post(json.dumps(body).encode(), "application/json", headers=headers)

    async def raw_event(self, body: dict[str, Any], headers: dict[str, str] | None = None) -> Answer:
        return await self.post(json.dumps(body).encode(), "application/json", headers=headers)

    async def click(
        self, action: dict[str, Any], *, response_url: str | None = None, **fields: Any
    ) -> Answer:
        """A block_actions payload for one clicked element, sent as interactivity sends it (`payload=`)."""
        body = payload("block_actions") | {"trigger_id": self.trigger_id()} | fields
        body["actions"] = [{"block_id": "b", "action_ts": "1700000300.000400", **action}]
        body["response_url"] = response_url or self.fake.response_url("click")
        form = urlencode({"payload": json.dumps(body)}).encode()
        return await self.post(form, "application/x-www-form-urlencoded")


def action(element: dict[str, Any]) -> dict[str, Any]:
    """The `actions` entry Slack sends when this button (or menu option) is chosen."""
    if element["type"] == "static_select":
        option = element["options"][0]
        return {"type": "static_select", "action_id": element["action_id"], "selected_option": option}
    return {
        "type": "button",
        "action_id": element["action_id"],
        "value": element["value"],
        "text": element["text"],
    }


def buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every interactive element in a message's blocks."""
    found = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    found += [b["accessory"] for b in blocks if "accessory" in b]
    return found


def texts(blocks: list[dict[str, Any]]) -> str:
    """All the text a message's blocks show, in order."""

    def walk(node: Any) -> list[str]:
        if isinstance(node, dict):
            own = [node["text"]] if isinstance(node.get("text"), str) else []
            return own + [
                t for k, v in node.items() if k != "text" or not isinstance(v, str) for t in walk(v)
            ]
        if isinstance(node, list):
            return [t for item in node for t in walk(item)]
        return []

    return "\n".join(walk(blocks))


def said_for(engine: Engine, kind: ReplyKind) -> str:
    """A message the engine answers with `kind` (with two choices or more, for CLARIFY), from the evaluation
    set: the engine's tuning moves, and these tests must not break with it."""
    data = yaml.safe_load(QUESTIONS.read_text(encoding="utf-8"))
    candidates = [q["text"] for q in data["in_scope"]] + list(data["out_of_scope"])
    for question in ("account", "admin", "shared", *candidates):
        reply = engine.reply(question)
        if reply.kind is kind and (kind is not ReplyKind.CLARIFY or len(reply.suggestions) >= 2):
            return question
    raise AssertionError(f"no question in {QUESTIONS.name} gets a {kind} reply")
