"""Outbound to the Bot Connector on the event loop: the bot's own token, service URL checks, retried calls."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote

import aiohttp
from yarl import URL

from adapters.settings import is_loopback_host, url_problem

logger = logging.getLogger(__name__)

# The channel waits about 15 s for the bot's HTTP answer before it re-sends: a delivery, token included,
# gives up well before that, so the re-send finds the first attempt over.
DELIVERY_BUDGET_SECONDS = 10.0
ATTEMPT_TIMEOUT_SECONDS = 4.0
MAX_ATTEMPTS = 3
BACKOFF_SECONDS = 0.4
TOKEN_TIMEOUT_SECONDS = 5.0
# a token is renewed this long before it expires, so no call goes out with one about to lapse
TOKEN_EARLY_SECONDS = 5 * 60
RETRIED_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
# The public Bot Framework channels' service URLs (Teams: smba.trafficmanager.net/<region>/).
DEFAULT_SERVICE_HOSTS = ("smba.trafficmanager.net", "*.botframework.com", "*.botframework.us")


class DeliveryFailed(Exception):
    """The Bot Connector did not take a reply, even after retries: the turn is not answered."""


def service_url_problem(url: str, allowed_hosts: Iterable[str] | None) -> str | None:
    """Why the bot must not call this serviceUrl, or None. Parsed as aiohttp parses it (yarl), so what is
    checked is where the call would go. `allowed_hosts` None means local mode: loopback only."""
    problem = url_problem(url)
    if problem:
        return f"serviceUrl {problem}"
    parsed = URL(url)
    host = parsed.host or ""
    if parsed.query_string or parsed.fragment:
        return "serviceUrl has a query or fragment"
    loopback = is_loopback_host(host)
    if allowed_hosts is None:
        return None if loopback else "local mode accepts only loopback serviceUrls"
    if parsed.scheme != "https" and not loopback:
        return "serviceUrl is not https"
    if not any(_host_matches(host.lower(), pattern.lower()) for pattern in allowed_hosts):
        return "serviceUrl's host is not a Bot Framework channel host"
    return None


def _host_matches(host: str, pattern: str) -> bool:
    if pattern.startswith("*."):
        return host.endswith(pattern[1:])
    return host == pattern


class BotToken:
    """The bot's own token for the Bot Connector, by client credentials: fetched once for all waiting
    turns, kept until shortly before it expires, with a timeout, and never on a blocking call."""

    def __init__(self, login_url: str, app_id: str, password: str, scope: str) -> None:
        self.token_url = f"{login_url.rstrip('/')}/oauth2/v2.0/token"
        self._form = {
            "grant_type": "client_credentials",
            "client_id": app_id,
            "client_secret": password,
            "scope": f"{scope.rstrip('/')}/.default",
        }
        self._token = ""
        self._expires_at = 0.0
        self._lock = asyncio.Lock()
        self.problem: str | None = "no token yet"

    def valid(self) -> bool:
        return bool(self._token) and time.monotonic() < self._expires_at

    async def get(self, session: aiohttp.ClientSession, timeout: float = TOKEN_TIMEOUT_SECONDS) -> str:
        if self.valid():
            return self._token
        async with self._lock:
            # whoever waited for the lock finds the token the first caller fetched
            if not self.valid():
                await self._fetch(session, timeout)
        return self._token

    def invalidate(self) -> None:
        self._expires_at = 0.0

    async def _fetch(self, session: aiohttp.ClientSession, timeout: float) -> None:
        try:
            async with session.post(
                self.token_url,
                data=self._form,
                timeout=aiohttp.ClientTimeout(total=timeout),
                allow_redirects=False,
            ) as response:
                if response.status != 200:
                    raise DeliveryFailed(f"the login service answered {response.status}")
                body = await response.json(content_type=None)
            token, lifetime = body["access_token"], float(body.get("expires_in", 3600))
            if not isinstance(token, str) or not token:
                raise ValueError("no access_token")
        except TimeoutError:
            self.problem = "cannot get a token: timeout"
            raise DeliveryFailed(self.problem) from None
        except (aiohttp.ClientError, ValueError, KeyError, TypeError, DeliveryFailed) as error:
            self.problem = f"cannot get a token: {error}"
            raise DeliveryFailed(self.problem) from None
        self._token = token
        self._expires_at = time.monotonic() + max(lifetime - TOKEN_EARLY_SECONDS, lifetime / 2)
        self.problem = None


class Connector:
    """The Bot Connector's v3 REST calls the bot makes: send, reply, update, delete. Each call is retried
    on 429 (after Retry-After), 5xx, timeouts and lost connections, within DELIVERY_BUDGET_SECONDS."""

    def __init__(
        self,
        session: Callable[[], aiohttp.ClientSession],
        token: BotToken | None,
        allowed_hosts: Iterable[str] | None,
    ) -> None:
        self._session = session
        self.token = token
        self.allowed_hosts = tuple(allowed_hosts) if allowed_hosts is not None else None

    async def send(self, service_url: str, conversation: str, activity: dict[str, Any]) -> str:
        reply_to = activity.get("replyToId")
        path = f"v3/conversations/{_segment(conversation)}/activities"
        if reply_to:
            path += f"/{_segment(reply_to)}"
        return await self._call("POST", service_url, path, activity)

    async def update(self, service_url: str, conversation: str, activity: dict[str, Any]) -> str:
        path = f"v3/conversations/{_segment(conversation)}/activities/{_segment(activity['id'])}"
        return await self._call("PUT", service_url, path, activity)

    async def delete(self, service_url: str, conversation: str, activity_id: str) -> None:
        path = f"v3/conversations/{_segment(conversation)}/activities/{_segment(activity_id)}"
        await self._call("DELETE", service_url, path, None)

    async def _call(self, method: str, service_url: str, path: str, body: dict[str, Any] | None) -> str:
        problem = service_url_problem(service_url, self.allowed_hosts)
        if problem:
            raise DeliveryFailed(problem)
        url = URL(f"{service_url.rstrip('/')}/{path}", encoded=True)
        outcome: list[str] = []
        try:
            # a hard bound over every try: aiohttp rounds its own timeouts up to whole seconds
            async with asyncio.timeout(DELIVERY_BUDGET_SECONDS):
                return await self._tries(method, url, body, outcome)
        except TimeoutError:
            raise DeliveryFailed(f"{outcome[-1] if outcome else method} and then out of time") from None

    async def _tries(self, method: str, url: URL, body: dict[str, Any] | None, outcome: list[str]) -> str:
        deadline = time.monotonic() + DELIVERY_BUDGET_SECONDS
        session = self._session()
        last = "not tried"
        for attempt in range(1, MAX_ATTEMPTS + 1):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            wait = 0.0
            try:
                headers: dict[str, str] = {}
                if self.token is not None:
                    token = await self.token.get(session, min(TOKEN_TIMEOUT_SECONDS, left))
                    headers["Authorization"] = f"Bearer {token}"
                async with session.request(
                    method,
                    url,
                    json=body,
                    headers=headers,
                    allow_redirects=False,
                    timeout=aiohttp.ClientTimeout(total=min(ATTEMPT_TIMEOUT_SECONDS, left)),
                ) as response:
                    if response.status < 300:
                        return _resource_id(await response.read())
                    last = f"{method} answered {response.status}"
                    if response.status == 401 and self.token is not None:
                        self.token.invalidate()  # perhaps revoked early: one more try with a new one
                    elif response.status not in RETRIED_STATUSES:
                        break
                    wait = _retry_after(response.headers.get("Retry-After"))
            except TimeoutError:
                last = f"{method} timed out"
            except aiohttp.ClientError as error:
                last = f"{method} failed: {type(error).__name__}"
            except DeliveryFailed as error:  # no token: another try may get one
                last = str(error)
            outcome.append(last)
            if attempt < MAX_ATTEMPTS:
                wait = wait or BACKOFF_SECONDS * 2 ** (attempt - 1) * random.uniform(0.5, 1.5)
                if time.monotonic() + wait >= deadline:
                    break
                logger.info("teams: %s, trying again in %.1f s", last, wait)
                await asyncio.sleep(wait)
        raise DeliveryFailed(last)


def _segment(value: str) -> str:
    return quote(value, safe="")


def _retry_after(value: str | None) -> float:
    try:
        return min(max(float(value or 0), 0.0), DELIVERY_BUDGET_SECONDS)
    except ValueError:
        return 0.0


def _resource_id(body: bytes) -> str:
    try:
        data = json.loads(body) if body else {}
    except ValueError:
        return ""
    value = data.get("id") if isinstance(data, dict) else None
    return value if isinstance(value, str) else ""
