"""Microsoft Teams: Bot Framework activities in on POST /api/messages, Adaptive Cards out."""

from __future__ import annotations

import logging

from aiohttp import web

from adapters.server import READINESS, TURNS
from adapters.settings import Settings
from adapters.teams.activities import to_click, to_question
from adapters.teams.cards import to_activity, to_card
from adapters.teams.endpoint import TeamsEndpoint
from bot.engine import Engine

__all__ = ["TEAMS", "TeamsEndpoint", "register", "to_activity", "to_card", "to_click", "to_question"]

logger = logging.getLogger(__name__)

TEAMS = web.AppKey("teams", TeamsEndpoint)


def register(app: web.Application, engine: Engine, settings: Settings) -> None:
    """Add POST /api/messages for the Bot Framework (Teams) to the shared server."""
    endpoint = TeamsEndpoint(engine, settings, app[TURNS])
    app[TEAMS] = endpoint
    app[READINESS]["teams"] = endpoint.readiness
    app.cleanup_ctx.append(endpoint.lifespan)
    app.router.add_post("/api/messages", endpoint.handle)
