"""Slack's ways in: POST /slack/events (HTTP mode) and a Socket Mode connection kept for the server's life."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.signature import SignatureVerifier

from adapters.slack.payloads import valid_timestamp, well_formed
from adapters.slack.sdk_log import sdk_logger

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"


def events_handler(
    bolt: AsyncApp, signing_secret: str
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """POST /slack/events: check the signature before anything reads the body, then hand it to Bolt."""
    verifier = SignatureVerifier(signing_secret)

    async def handle(request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:  # Slack sends UTF-8 only
            return web.json_response({"error": "malformed request"}, status=400)
        timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
        signature = request.headers.get("X-Slack-Signature", "")
        if not (valid_timestamp(timestamp) and verifier.is_valid(body, timestamp, signature)):
            logger.warning("Slack request refused: bad or old signature")
            return web.json_response({"error": "invalid request"}, status=401)
        try:
            bolt_request = await to_bolt_request(request)
        except (ValueError, TypeError, AttributeError, KeyError, IndexError):  # not a payload Bolt can read
            return web.json_response({"error": "malformed request"}, status=400)
        if not well_formed(bolt_request.body):
            return web.json_response({"error": "malformed request"}, status=400)
        return await to_aiohttp_response(await bolt.async_dispatch(bolt_request))

    return handle


def socket_mode(bolt: AsyncApp, app_token: str) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup context that keeps a Socket Mode connection open for the server's lifetime."""

    async def connection(app: web.Application) -> AsyncIterator[None]:
        # imported here: only organisations without a public endpoint need the websocket client
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        handler = AsyncSocketModeHandler(bolt, app_token, logger=sdk_logger())
        # connecting in the background: Slack being unreachable must not stop Teams and /healthz serving
        task = asyncio.create_task(handler.connect_async())
        task.add_done_callback(_report_connection)
        yield
        task.cancel()
        await handler.close_async()

    return connection


def _report_connection(task: asyncio.Task[None]) -> None:
    if task.cancelled():
        return
    if task.exception() is not None:
        logger.error("Slack Socket Mode could not connect: %s", type(task.exception()).__name__)
    else:
        logger.info("Slack Socket Mode connected")
