"""POST /api/messages: bound, parse, authenticate, answer each activity once, and say 5xx if it was not."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from aiohttp import web
from botbuilder.core import BotAdapter, TurnContext, serializer_helper
from botbuilder.schema import Activity, ActivityTypes, ConversationReference, ResourceResponse

from adapters.settings import Settings
from adapters.teams.auth import ChannelAuth, OpenIdKeys, Unauthorized
from adapters.teams.bot import PLATFORM, NhsmailTeamsBot, on_turn_error
from adapters.teams.connector import (
    DEFAULT_SERVICE_HOSTS,
    BotToken,
    Connector,
    DeliveryFailed,
    service_url_problem,
)
from adapters.teams.wire import from_wire, to_wire
from adapters.turns import Turns
from bot.engine import Engine

logger = logging.getLogger(__name__)

MAX_ID_CHARS = 256
# a real activity nests a few levels (entities, attachments, a card's submitted data); far deeper is hostile
MAX_JSON_DEPTH = 32
# Teams' calls, and each turn's own calls out, happen together: enough connections that one conversation's
# hanging connector never holds up another's
MAX_OUTBOUND_CONNECTIONS = 256


class ConnectorAdapter(BotAdapter):
    """botbuilder's turn (TurnContext, ActivityHandler) over this package's own Bot Connector client."""

    def __init__(self, connector: Connector) -> None:
        super().__init__(on_turn_error)
        self.connector = connector

    async def send_activities(
        self, context: TurnContext, activities: list[Activity]
    ) -> list[ResourceResponse]:
        responses = []
        for activity in activities:
            if activity.type == ActivityTypes.invoke_response:
                context.turn_state[self._INVOKE_RESPONSE_KEY] = activity
                responses.append(ResourceResponse(id=""))
            elif activity.type == ActivityTypes.trace:
                responses.append(ResourceResponse(id=""))
            else:
                body = to_wire(activity)
                sent = await self.connector.send(activity.service_url, activity.conversation.id, body)
                responses.append(ResourceResponse(id=sent))
        return responses

    async def update_activity(self, context: TurnContext, activity: Activity) -> ResourceResponse:
        sent = await self.connector.update(activity.service_url, activity.conversation.id, to_wire(activity))
        return ResourceResponse(id=sent or activity.id)

    async def delete_activity(self, context: TurnContext, reference: ConversationReference) -> None:
        await self.connector.delete(reference.service_url, reference.conversation.id, reference.activity_id)


class TeamsEndpoint:
    """POST /api/messages for the Bot Framework (Teams): in local mode (no app id) nothing is authenticated
    and only loopback serviceUrls are answered, as for the Bot Framework Emulator."""

    def __init__(self, engine: Engine, settings: Settings, turns: Turns) -> None:
        self.local_mode = settings.local_mode
        self.turns = turns
        self._session: aiohttp.ClientSession | None = None
        self.keys = OpenIdKeys(settings.openid_metadata_url, self.session)
        self.auth = ChannelAuth(settings.app_id, settings.token_issuer, self.keys)
        self.token = (
            None
            if self.local_mode
            else BotToken(
                settings.bot_login_url, settings.app_id, settings.app_password, settings.oauth_scope
            )
        )
        self.allowed_hosts = None if self.local_mode else (settings.service_hosts or DEFAULT_SERVICE_HOSTS)
        self.connector = Connector(self.session, self.token, self.allowed_hosts)
        self.adapter = ConnectorAdapter(self.connector)
        self.bot = NhsmailTeamsBot(engine, turns)
        # activities being answered now, so a re-send waits for the first answer rather than repeat it
        self._in_flight: dict[str, asyncio.Future[int]] = {}

    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise DeliveryFailed("the server is not running")
        return self._session

    async def lifespan(self, app: web.Application) -> AsyncIterator[None]:
        if self.local_mode:
            logger.warning(
                "Teams: MicrosoftAppId is not set, so the bot runs in LOCAL MODE: no authentication "
                "(as for the Bot Framework Emulator); only activities with a loopback serviceUrl are accepted"
            )
        connector = aiohttp.TCPConnector(limit=MAX_OUTBOUND_CONNECTIONS)
        async with aiohttp.ClientSession(connector=connector) as session:
            self._session = session
            warm = None if self.local_mode else asyncio.create_task(self._warm(session))
            yield
            if warm:
                warm.cancel()
            self._session = None

    async def _warm(self, session: aiohttp.ClientSession) -> None:
        """Fetch the signing keys and the bot's token before the first message needs them."""
        assert self.token is not None
        await self.keys.refresh()
        try:
            await self.token.get(session)
        except DeliveryFailed as error:
            logger.warning("teams: %s", error)

    def readiness(self) -> str | None:
        """Why the bot cannot answer Teams now, or None."""
        if self.local_mode:
            return None
        assert self.token is not None
        # a token that merely expired while the bot was idle is renewed on the next reply: only a failed
        # fetch (or none yet) makes the bot unready
        return self.keys.problem or self.token.problem

    async def handle(self, request: web.Request) -> web.Response:
        if request.content_type != "application/json":
            return _refuse(415, "expected application/json")
        try:
            body = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError, RecursionError):
            return _refuse(400, "the body is not JSON")
        if _depth(body) > MAX_JSON_DEPTH:
            return _refuse(400, "the body is nested too deeply")
        activity = _to_activity(body)
        if activity is None:
            return _refuse(
                400, "not an activity: type, serviceUrl, conversation.id and short ids are required"
            )
        if not self.local_mode:
            try:
                await self.auth.check(
                    request.headers.get("Authorization", ""), activity.channel_id or "", activity.service_url
                )
            except Unauthorized as error:
                logger.warning("teams: refused a request: %s", error)
                return _refuse(401, "unauthorized")
        # checked before any call goes out, in both modes: the token names the serviceUrl, but a channel
        # must still be one of the Bot Framework's
        problem = service_url_problem(activity.service_url, self.allowed_hosts)
        if problem:
            logger.warning("teams: refused an activity: %s", problem)
            return _refuse(403, "serviceUrl refused")
        if not activity.id:
            return await self._turn(activity)
        return await self._once(f"{PLATFORM}:{activity.conversation.id}|{activity.id}", activity)

    async def _once(self, key: str, activity: Activity) -> web.Response:
        """Answer an activity once: a re-send while the first is in hand gets the first's outcome; a
        re-send after a failed delivery is answered afresh."""
        pending = self._in_flight.get(key)
        if pending is not None:
            status = await asyncio.shield(pending)
            return web.Response(status=200 if status < 500 else status)
        # in flight before the first await, so a re-send arriving meanwhile waits rather than repeats
        outcome: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._in_flight[key] = outcome
        status = 500
        try:
            if not await self.turns.first_time(key):
                self.turns.resent(PLATFORM)
                status = 200
                return web.Response(status=status)
            response = await self._turn(activity)
            status = response.status
            if status >= 500:
                await self.turns.forget(key)
            return response
        finally:
            del self._in_flight[key]
            outcome.set_result(status)

    async def _turn(self, activity: Activity) -> web.Response:
        context = TurnContext(self.adapter, activity)
        try:
            await self.adapter.run_pipeline(context, self.bot.on_turn)
        except DeliveryFailed as error:
            self.turns.undelivered(PLATFORM, str(error))
            return _refuse(502, "the reply could not be delivered; send the activity again")
        except Exception:
            logger.exception("teams: could not process a %s activity", activity.type)
            return _refuse(500, "the bot could not process the activity")
        invoke = context.turn_state.get(BotAdapter._INVOKE_RESPONSE_KEY)
        if activity.type == ActivityTypes.invoke:
            if invoke is None:
                return web.json_response(None, status=501)
            try:
                body = serializer_helper(invoke.value.body)
            except Exception:
                # botbuilder can put an Exception in the body of an invoke it rejects (adaptiveCard/action)
                logger.warning("teams: could not serialise the response to an invoke")
                body = None
            return web.json_response(body, status=invoke.value.status)
        return web.Response(status=200)


def _refuse(status: int, reason: str) -> web.Response:
    return web.json_response({"error": reason}, status=status)


def _depth(node: Any, limit: int = MAX_JSON_DEPTH) -> int:
    """How deep `node` nests, counted no further than one past `limit`."""
    deepest, level = 0, [node]
    while level and deepest <= limit:
        deepest += 1
        children: list[Any] = []
        for item in level:
            if isinstance(item, dict):
                children.extend(v for v in item.values() if isinstance(v, dict | list))
            elif isinstance(item, list):
                children.extend(v for v in item if isinstance(v, dict | list))
        level = children
    return deepest


def _short(value: Any) -> bool:
    return value is None or (isinstance(value, str) and len(value) <= MAX_ID_CHARS)


def _to_activity(body: object) -> Activity | None:
    activity = from_wire(body)
    if activity is None:
        return None
    conversation_id = getattr(activity.conversation, "id", None)
    if not (
        isinstance(activity.type, str)
        and activity.type
        and isinstance(activity.service_url, str)
        and isinstance(conversation_id, str)
        and conversation_id
    ):
        return None
    ids = (
        activity.id,
        conversation_id,
        activity.reply_to_id,
        activity.channel_id,
        getattr(activity.from_property, "id", None),
        getattr(activity.recipient, "id", None),
        activity.service_url,
    )
    if not all(_short(value) for value in ids):
        return None
    if activity.type == ActivityTypes.message and not activity.recipient:
        return None
    return activity
