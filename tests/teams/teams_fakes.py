"""A fake Bot Connector on loopback, Teams payloads recorded as JSON, forged tokens, card schema checks."""

from __future__ import annotations

import asyncio
import copy
import json
import secrets
import time
import uuid
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import aiohttp
import jsonschema
import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from bot.store import MemoryStore

PAYLOADS = Path(__file__).parent / "payloads"
SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"
BOT_ID = "28:0b5d7f9e-1c3a-4e5f-9a7b-2c4d6e8f0a1b"
ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"


def payload(name: str, service_url: str, /, **changes: Any) -> dict[str, Any]:
    """A recorded Teams activity from payloads/, sent to `service_url`, with a fresh id unless given one."""
    data: dict[str, Any] = copy.deepcopy(json.loads((PAYLOADS / f"{name}.json").read_text(encoding="utf-8")))
    data["serviceUrl"] = service_url
    data["id"] = f"{data['id']}-{uuid.uuid4().hex[:8]}"
    data.update(changes)
    return data


@dataclass
class Sent:
    """One call the bot made to the Bot Connector."""

    method: str
    conversation: str
    reply_to: str | None
    body: dict[str, Any]

    @property
    def cards(self) -> list[dict[str, Any]]:
        return [
            a["content"] for a in self.body.get("attachments") or () if a.get("contentType") == ADAPTIVE_CARD
        ]

    @property
    def card(self) -> dict[str, Any]:
        (card,) = self.cards
        return card


@dataclass
class FakeConnector:
    """The Bot Connector's v3 REST API as far as the bot uses it: send, reply, update, delete.

    `script` is what the next calls answer, one status each (then `status`); a 429 carries `retry_after`.
    Calls for a conversation in `hang` wait until `release` is set, as a connector that swallows packets."""

    sent: list[Sent] = field(default_factory=list)
    status: int = 200  # what calls answer once the script is used up; 500 plays a broken connector
    script: list[int] = field(default_factory=list)
    retry_after: str = "1"
    fail_updates: bool = False  # PUT answers 404, as for a message that was deleted
    hang: set[str] = field(default_factory=set)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    answers: list[int] = field(default_factory=list)  # the status each call got, in order
    authorizations: list[str] = field(default_factory=list)
    url: str = ""
    _runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v3/conversations/{conversation}/activities", self._record)
        app.router.add_post("/v3/conversations/{conversation}/activities/{activity}", self._record)
        app.router.add_put("/v3/conversations/{conversation}/activities/{activity}", self._record)
        app.router.add_delete("/v3/conversations/{conversation}/activities/{activity}", self._record)
        self._runner, self.url = await serve(app)

    async def stop(self) -> None:
        self.release.set()
        if self._runner:
            await self._runner.cleanup()

    @property
    def delivered(self) -> list[Sent]:
        """The calls the connector took (2xx), in order: what the user actually sees."""
        return [sent for sent, status in zip(self.sent, self.answers, strict=False) if status < 300]

    async def _record(self, request: web.Request) -> web.Response:
        conversation = request.match_info["conversation"]
        if conversation in self.hang:
            await self.release.wait()
        body = await request.json() if request.method != "DELETE" else {}
        self.sent.append(Sent(request.method, conversation, request.match_info.get("activity"), body))
        self.authorizations.append(request.headers.get("Authorization", ""))
        status = self.script.pop(0) if self.script else self.status
        if self.fail_updates and request.method == "PUT":
            status = 404
        self.answers.append(status)
        if status == 429:
            return web.json_response({}, status=429, headers={"Retry-After": self.retry_after})
        if status >= 300:
            return web.json_response({"error": {"code": "ServiceError", "message": "boom"}}, status=status)
        return web.json_response({"id": f"1:{uuid.uuid4().hex}"})

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[Sent]:
        deadline = time.monotonic() + timeout
        while len(self.sent) < count and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        return self.sent


@dataclass
class FakeLogin:
    """Azure AD's token endpoint for the bot's client-credentials grant, issuing made-up tokens.
    With `hang` set, it takes requests and never answers, as a login service that swallows packets."""

    tokens: list[dict[str, str]] = field(default_factory=list)  # the form of each request
    expires_in: int = 3600
    hang: bool = False
    url: str = ""
    _runner: web.AppRunner | None = None
    _stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/botframework.com/oauth2/v2.0/token", self._token)
        self._runner, self.url = await serve(app)

    async def stop(self) -> None:
        self._stop.set()
        if self._runner:
            await self._runner.cleanup()

    @property
    def login_url(self) -> str:
        return f"{self.url}/botframework.com"

    def issued(self, n: int) -> str:
        return f"bot-token-{n}"

    async def _token(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        if self.hang:
            await self._stop.wait()
        self.tokens.append({k: str(v) for k, v in form.items()})
        token = self.issued(len(self.tokens))
        body = {"token_type": "Bearer", "expires_in": self.expires_in, "access_token": token}
        return web.json_response(body)


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    """Run an aiohttp app on a free loopback port; return the runner and its base URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"


@cache
def _forger_key() -> rsa.RSAPrivateKey:
    """A key made for this test run (generating one per token would make a flood slow to build)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def forged_token(app_id: str, service_url: str, **claims: Any) -> str:
    """A well-formed token with the Bot Connector's issuer and this bot's audience, signed by a key that
    Microsoft never published (made here, so its signature is as good as random)."""
    now = int(time.time())
    body = {
        "iss": "https://api.botframework.com",
        "aud": app_id,
        "serviceurl": service_url,
        "nbf": now - 60,
        "exp": now + 3600,
        **claims,
    }
    return jwt.encode(body, _forger_key(), algorithm="RS256", headers={"kid": secrets.token_urlsafe(16)})


def signed_token(app_id: str, service_url: str, kid: str) -> str:
    """A token signed with this run's key under `kid`: genuine to anyone who trusts FakeOpenId's keys."""
    now = int(time.time())
    body = {"iss": "https://api.botframework.com", "aud": app_id, "serviceurl": service_url, "exp": now + 600}
    return jwt.encode(body, _forger_key(), algorithm="RS256", headers={"kid": kid})


@dataclass
class FakeOpenId:
    """An OpenID metadata document and key set, like login.botframework.com's, publishing this run's key."""

    kid: str = "test-key"
    url: str = ""
    _runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/openid", self._metadata)
        app.router.add_get("/keys", self._keys)
        self._runner, self.url = await serve(app)

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    @property
    def metadata_url(self) -> str:
        return f"{self.url}/openid"

    async def _metadata(self, request: web.Request) -> web.Response:
        return web.json_response({"issuer": "https://api.botframework.com", "jwks_uri": f"{self.url}/keys"})

    async def _keys(self, request: web.Request) -> web.Response:
        jwk = json.loads(RSAAlgorithm.to_jwk(_forger_key().public_key()))
        return web.json_response({"keys": [{**jwk, "kid": self.kid, "endorsements": ["msteams"]}]})


def _load_schema(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    return schema


CARD_VALIDATOR = jsonschema.Draft6Validator(_load_schema("adaptive-card-1.5.json"))
MANIFEST_VALIDATOR = jsonschema.Draft7Validator(_load_schema("teams-manifest-1.19.schema.json"))


def card_errors(card: dict[str, Any]) -> list[str]:
    """Schema errors in an Adaptive Card, Teams' own "msteams" key set aside (the schema does not know it)."""
    plain = {key: value for key, value in card.items() if key != "msteams"}
    return [f"{list(e.absolute_path)}: {e.message}" for e in CARD_VALIDATOR.iter_errors(plain)]


def visible_text(card: Any) -> str:
    """Every string a user can read on a card (text, titles, choices, facts), one per line."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("text", "title", "value", "label") and isinstance(value, str):
                    out.append(value)
                elif key not in ("data", "url", "fallbackText"):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(card)
    return "\n".join(out)


def actions(card: Any, kind: str) -> list[dict[str, Any]]:
    """Every action of one kind ("Action.Submit", "Action.OpenUrl") on a card, wherever it is, in order."""
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == kind:
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(card)
    return found


def submits(card: Any) -> list[dict[str, Any]]:
    """The data of every Action.Submit on a card, in order."""
    return [action.get("data", {}) for action in actions(card, "Action.Submit")]


@dataclass
class Teams:
    """A client that posts activities as the Bot Connector does, and the fake connector the bot answers."""

    session: aiohttp.ClientSession
    url: str
    connector: FakeConnector
    store: MemoryStore
    app: web.Application
    app_id: str = ""
    openid: FakeOpenId | None = None
    login: FakeLogin | None = None

    @property
    def votes(self) -> list[tuple[str, bool]]:
        """The Helpful / Not helpful votes the store holds: (topic, helpful), in order."""
        return [(topic, helpful) for (_, topic, _, _), helpful in self.store.votes.items()]

    def genuine_token(self, service_url: str | None = None) -> str:
        """A token the bot accepts: signed by the key the local OpenID metadata publishes."""
        assert self.openid is not None, "only with authentication on"
        return signed_token(self.app_id, service_url or self.connector.url, self.openid.kid)

    async def post(self, activity: Any, token: str | None = None, **kwargs: Any) -> aiohttp.ClientResponse:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.session.post(
            f"{self.url}/api/messages", json=activity, headers=headers, **kwargs
        ) as r:
            await r.read()
            return r

    async def get(self, path: str) -> aiohttp.ClientResponse:
        async with self.session.get(f"{self.url}{path}") as response:
            await response.read()
            return response
