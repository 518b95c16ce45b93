"""Slack: the converters (payload -> question, Reply -> Block Kit) and register(app, engine, settings)."""

from __future__ import annotations

import logging

from aiohttp import web
from slack_bolt.async_app import AsyncApp

from adapters.server import READINESS, TURNS
from adapters.settings import Settings
from adapters.slack.blocks import to_blocks, to_shared_blocks, to_text
from adapters.slack.endpoint import EVENTS_PATH, events_handler, socket_mode
from adapters.slack.listeners import create_bolt_app
from adapters.slack.payloads import to_question
from adapters.slack.sdk_log import sdk_logger
from adapters.slack.web_api import SlackWeb
from bot.engine import Engine

logger = logging.getLogger(__name__)

BOLT = web.AppKey("slack_bolt", AsyncApp)
WEB = web.AppKey("slack_web", SlackWeb)


def register(app: web.Application, engine: Engine, settings: Settings) -> None:
    """Add Slack to the server: POST /slack/events given a signing secret, Socket Mode given an app token.
    The outbound session opens with the server and closes with it."""
    slack_web = SlackWeb(settings, sdk_logger())
    bolt = create_bolt_app(engine, settings, slack_web, app[TURNS])
    app[READINESS]["slack"] = lambda: slack_web.problem
    app[BOLT], app[WEB] = bolt, slack_web
    # first: Socket Mode's listeners already need the session
    app.cleanup_ctx.append(slack_web.lifetime)
    if settings.slack_signing_secret:
        app.router.add_post(EVENTS_PATH, events_handler(bolt, settings.slack_signing_secret))
        logger.info("Slack events, commands and interactivity at POST %s", EVENTS_PATH)
    if settings.slack_app_token:
        app.cleanup_ctx.append(socket_mode(bolt, settings.slack_app_token))
        logger.info("Slack Socket Mode on")


__all__ = [
    "BOLT",
    "WEB",
    "create_bolt_app",
    "register",
    "to_blocks",
    "to_question",
    "to_shared_blocks",
    "to_text",
]
