"""One aiohttp application for every platform: each adapter adds its own route through `register`."""

from __future__ import annotations

import logging

from aiohttp import web

from adapters.settings import Settings
from bot.engine import Engine

logger = logging.getLogger(__name__)

ENGINE = web.AppKey("engine", Engine)
SETTINGS = web.AppKey("settings", Settings)

# Teams sends small JSON activities; anything far bigger is refused by aiohttp with 413 before parsing.
MAX_BODY_BYTES = 256 * 1024


async def healthz(request: web.Request) -> web.Response:
    engine = request.app[ENGINE]
    return web.json_response({"status": "ok", "topics": len(engine.topics())})


def create_app(settings: Settings, engine: Engine) -> web.Application:
    """Build the server. Platform SDKs are imported here, not by the CLI, so `ask` stays quick."""
    from adapters import metrics, slack, teams

    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app[ENGINE] = engine
    app[SETTINGS] = settings
    app.router.add_get("/healthz", healthz)
    metrics.register(app, (topic.topic for topic in engine.topics()))
    teams.register(app, engine, settings)
    if settings.slack_enabled:
        slack.register(app, engine, settings)
    else:
        logger.warning(
            "Slack is not configured (SLACK_BOT_TOKEN, and SLACK_SIGNING_SECRET or SLACK_APP_TOKEN): "
            "running without it"
        )
    return app
