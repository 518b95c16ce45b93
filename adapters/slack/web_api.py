"""Slack outbound: one Web API client and the response_url posts on one session, with bounded retries."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize import AsyncAuthorize
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.settings import Settings

logger = logging.getLogger(__name__)

DEFAULT_API_URL = "https://slack.com/api/"
# Two retries after the first try: one 5xx, 429 or dropped connection does not lose an answer, and a Web API
# that is down gives up within seconds rather than piling up work.
RETRIES = 2
# Per request, each try: Slack answers in well under a second when it is up.
TIMEOUT = aiohttp.ClientTimeout(total=10, connect=5)
# How often the bot's identity (auth.test) is tried again while the Web API cannot tell it.
VERIFY_RETRY_SECONDS = (1.0, 60.0)
# At shutdown, how long answers under way may take to be delivered (retries included) before it closes.
SHUTDOWN_WAIT_S = 15.0
# Failures worth a retry: what Slack's load balancers answer while a node restarts, not only 500 and 503.
SERVER_ERRORS = frozenset({500, 502, 503, 504})
NETWORK_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError)


class ServerErrorRetryHandler(AsyncServerErrorRetryHandler):
    """slack_sdk's server-error handler (500 and 503), also for 502 and 504 from the proxies in front."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is not None and response.status_code in SERVER_ERRORS


def retry_handlers() -> list[AsyncRetryHandler]:
    """Dropped or refused connections, 429 (after Slack's Retry-After) and 5xx: at most RETRIES more tries."""
    return [
        AsyncConnectionErrorRetryHandler(max_retry_count=RETRIES),
        AsyncRateLimitErrorRetryHandler(max_retry_count=RETRIES),
        ServerErrorRetryHandler(max_retry_count=RETRIES),
    ]


def api_url(settings: Settings) -> str:
    """SLACK_API_URL as slack_sdk wants a base URL: with one trailing slash."""
    return (settings.slack_api_url or DEFAULT_API_URL).rstrip("/") + "/"


@dataclass(frozen=True, slots=True)
class Identity:
    """Who the bot is in its workspace, as auth.test tells it."""

    team_id: str | None
    user_id: str | None
    bot_id: str | None


class SlackWeb:
    """The bot's way out to Slack: one AsyncWebClient and the response_url poster, on one aiohttp session
    that lives as long as the server (`lifetime`, a cleanup context)."""

    def __init__(self, settings: Settings, sdk_logger: logging.Logger) -> None:
        self.token = settings.slack_bot_token
        self.sdk_logger = sdk_logger
        self.retry_handlers = retry_handlers()
        self.client = AsyncWebClient(
            token=self.token,
            base_url=api_url(settings),
            logger=sdk_logger,
            retry_handlers=self.retry_handlers,
        )
        self.session: aiohttp.ClientSession | None = None
        self._running: set[asyncio.Task[None]] = set()
        self.identity: Identity | None = None
        # why the bot cannot use the Web API, for readiness checks; None once auth.test succeeded
        self.problem: str | None = "not verified yet"

    async def lifetime(self, app: web.Application) -> AsyncIterator[None]:
        """Open the shared session with the server, verify the token in the background, close on shutdown."""
        self.session = aiohttp.ClientSession(timeout=TIMEOUT)
        # Bolt copies this client's session into the client it makes for each request
        self.client.session = self.session
        verifying = asyncio.create_task(self.verify())
        try:
            yield
        finally:
            verifying.cancel()
            await asyncio.gather(verifying, return_exceptions=True)
            if self._running:  # answers under way are delivered before the session closes
                await asyncio.wait(self._running, timeout=SHUTDOWN_WAIT_S)
            self.client.session = None
            await self.session.close()
            self.session = None

    def later(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` (answering a message or a click) beside the acknowledgement, which Slack wants within
        3 s whatever the Web API does; the session stays open for it at shutdown."""
        task = asyncio.create_task(_logged(work))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def verify(self) -> None:
        """auth.test until it answers: the bot's identity, and a clear log line when the token is wrong.
        Runs beside the server, so a Web API outage at start delays nothing and fails no request."""
        wait = VERIFY_RETRY_SECONDS[0]
        while True:
            try:
                result = await self.client.auth_test()
            except SlackApiError as error:
                self.problem = f"auth.test: {error.response.get('error')}"
                logger.error("Slack rejected the bot token (SLACK_BOT_TOKEN): %s", self.problem)
            except NETWORK_ERRORS as error:
                self.problem = f"cannot reach the Slack Web API: {type(error).__name__}"
                logger.warning("%s; trying again in %.0f s", self.problem, wait)
            else:
                self.identity = Identity(result.get("team_id"), result.get("user_id"), result.get("bot_id"))
                self.problem = None
                logger.info("Slack: bot user %s in team %s", self.identity.user_id, self.identity.team_id)
                return
            await asyncio.sleep(wait * (1 + random.random() / 4))
            wait = min(wait * 2, VERIFY_RETRY_SECONDS[1])

    async def post_message(self, **message: Any) -> str | None:
        """chat.postMessage with the retries; why Slack would not take it, or None when it did."""
        try:
            await self.client.chat_postMessage(**message)
        except SlackApiError as error:
            return f"chat.postMessage failed: {error.response.get('error')}"
        except NETWORK_ERRORS as error:
            return f"chat.postMessage failed: {type(error).__name__}"
        return None

    async def post_ephemeral(self, **message: Any) -> str | None:
        """chat.postEphemeral (a message one person in a channel sees) with the retries; why it failed."""
        try:
            await self.client.chat_postEphemeral(**message)
        except SlackApiError as error:
            return f"chat.postEphemeral failed: {error.response.get('error')}"
        except NETWORK_ERRORS as error:
            return f"chat.postEphemeral failed: {type(error).__name__}"
        return None

    async def respond(self, url: str, **message: Any) -> str | None:
        """Post to a response_url (a slash command's or a click's) on the shared session, with the retries;
        why it failed, or None."""
        client = AsyncWebhookClient(
            url, session=self.session, logger=self.sdk_logger, retry_handlers=self.retry_handlers
        )
        try:
            response = await client.send_dict({"unfurl_links": False, "unfurl_media": False, **message})
        except NETWORK_ERRORS as error:
            return f"response_url failed: {type(error).__name__}"
        if response.status_code != 200:
            return f"response_url answered {response.status_code}"
        return None


class Authorize(AsyncAuthorize):
    """Bolt's authorize step for a single-workspace bot: the token from the settings and the identity from the
    start-up auth.test, never a Web API call while Slack waits for the acknowledgement."""

    def __init__(self, web_api: SlackWeb) -> None:
        self.web_api = web_api

    async def __call__(
        self,
        *,
        context: AsyncBoltContext,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        actor_enterprise_id: str | None = None,
        actor_team_id: str | None = None,
        actor_user_id: str | None = None,
    ) -> AuthorizeResult:
        identity = self.web_api.identity
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=team_id,
            bot_token=self.web_api.token,
            # unknown until auth.test answers: the listeners ignore every bot's messages anyway
            bot_user_id=identity.user_id if identity else None,
            bot_id=identity.bot_id if identity else None,
            user_id=user_id,
        )


async def _logged(work: Coroutine[Any, Any, None]) -> None:
    try:
        await work
    except Exception:  # the listeners handle what they expect; this is a bug, logged without the payload
        logger.exception("Slack: answering failed")
