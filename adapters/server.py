"""One aiohttp application for every platform: each adapter adds its own route through `register`."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from adapters.ratelimit import RateLimiter
from adapters.settings import Settings
from adapters.turns import Turns
from bot.engine import Engine
from bot.store import Store

logger = logging.getLogger(__name__)

ENGINE = web.AppKey("engine", Engine)
SETTINGS = web.AppKey("settings", Settings)
# each platform's answer to "can you work now?": None, or why not (read by /readyz, never waits)
READINESS = web.AppKey("readiness", dict[str, Callable[[], str | None]])
BODY_TIMEOUT = web.AppKey("body_timeout", float)
TURNS = web.AppKey("turns", Turns)

# Teams sends small JSON activities, Slack small forms; anything far bigger is refused with 413.
MAX_BODY_BYTES = 256 * 1024
# a body sent a byte at a time is cut off: Teams and Slack send theirs at once
BODY_TIMEOUT_SECONDS = 10.0
# idle connections are closed soon, and never more than this many are open: a flood of idle sockets
# cannot use up the process's file handles
KEEPALIVE_SECONDS = 15.0
MAX_CONNECTIONS = 512


async def healthz(request: web.Request) -> web.Response:
    """Liveness: the process serves. Reads nothing that can wait."""
    engine = request.app[ENGINE]
    return web.json_response({"status": "ok", "topics": len(engine.topics())})


async def readyz(request: web.Request) -> web.Response:
    """Readiness: 200 when every platform can work, else 503 with each one's reason. A store that cannot
    be reached is named but does not make the bot unready: answers go on, dedupe from memory."""
    problems = {name: problem for name, check in request.app[READINESS].items() if (problem := check())}
    if problems:
        return web.json_response(problems, status=503)
    health = request.app[TURNS].store.health()
    store = {} if health.ok else {"store": f"degraded: {health.reason}"}
    return web.json_response({"status": "ready", **store})


@web.middleware
async def whole_body_in_time(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Read the body before any handler does, within BODY_TIMEOUT; handlers then read it from memory."""
    if request.body_exists:
        try:
            await asyncio.wait_for(request.read(), request.app[BODY_TIMEOUT])
        except TimeoutError:
            logger.warning("a request body was not sent in time: closing")
            raise web.HTTPRequestTimeout(text="the body was not sent in time") from None
    return await handler(request)


def create_app(settings: Settings, engine: Engine, store: Store | None = None) -> web.Application:
    """Build the server. Platform SDKs are imported here, not by the CLI, so `ask` stays quick. Without a
    `store`, the server opens the one DATABASE_URL names when it starts (tests give one of their own)."""
    from adapters import metrics, slack, teams

    app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[whole_body_in_time])
    # what is otherwise built on first use (the speller) is built now: no user's message pays for it
    app[ENGINE] = engine.warm()
    app[SETTINGS] = settings
    app[READINESS] = {}
    app[BODY_TIMEOUT] = BODY_TIMEOUT_SECONDS
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    turns = app[TURNS] = Turns(
        metrics.register(app, (topic.topic for topic in engine.topics())),
        store,
        RateLimiter(limit=settings.rate_limit_per_minute, period=60.0),
    )
    if store is None:
        # first: the platforms' own start-up may already answer
        app.cleanup_ctx.append(_store_for(turns, settings))
    teams.register(app, engine, settings)
    if settings.slack_enabled:
        slack.register(app, engine, settings)
    else:
        logger.warning(
            "Slack is not configured (SLACK_BOT_TOKEN, and SLACK_SIGNING_SECRET or SLACK_APP_TOKEN): "
            "running without it"
        )
    return app


def _store_for(turns: Turns, settings: Settings) -> Callable[[web.Application], AsyncIterator[None]]:
    async def lifetime(app: web.Application) -> AsyncIterator[None]:
        from adapters.store import running_store

        async with running_store(settings) as store:
            turns.store = store
            yield

    return lifetime


class _Refused(asyncio.Protocol):
    """What a connection over the cap gets: closed at once, before it costs a request handler."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.close()


async def serve(
    app: web.Application,
    host: str,
    port: int,
    stop: asyncio.Event | None = None,
    max_connections: int = MAX_CONNECTIONS,
) -> None:
    """Serve `app` until SIGINT or SIGTERM (or `stop`), with at most `max_connections` open at once.
    An address that cannot be bound raises OSError before anything is served."""
    runner = web.AppRunner(app, keepalive_timeout=KEEPALIVE_SECONDS, access_log=None)
    await runner.setup()
    try:
        requests = runner.server
        assert requests is not None

        def accept() -> asyncio.Protocol:
            return _Refused() if len(requests.connections) >= max_connections else requests()

        loop = asyncio.get_running_loop()
        listener = await loop.create_server(accept, host, port, reuse_address=True)
        stop = stop or asyncio.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        logger.info("serving on %s:%d", host, port)
        await stop.wait()
        listener.close()
    finally:
        await runner.cleanup()
