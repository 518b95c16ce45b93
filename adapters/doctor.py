"""`nhsmail-bot doctor`: what `serve` would run and why, every problem with that, and the live checks."""

from __future__ import annotations

import asyncio
import errno
import json
import re
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from adapters.settings import Settings, bind_error, display_url, listen_problem
from bot import semantic
from bot.knowledge import KnowledgeError, load_knowledge

if TYPE_CHECKING:  # aiohttp is imported when a check needs it, so the report itself starts quickly
    from aiohttp import ClientResponse, ClientSession

__all__ = ["Check", "check_database", "describe_store", "diagnose", "online_checks", "secret"]

TIMEOUT_SECONDS = 5.0
SLACK_TOKEN_KINDS = ("xoxb-", "xapp-", "xoxp-", "xoxe-")
# long enough that its last 4 characters say which secret it is without giving much of it away
SHOW_TAIL_FROM = 16


@dataclass(frozen=True, slots=True)
class Check:
    """One live check: passed or not (None: not applicable), and one line saying what was found."""

    ok: bool | None
    line: str


def secret(value: str) -> str:
    """Whether a secret is set, its kind and at most its last 4 characters: never the secret itself."""
    if not value:
        return "not set"
    kind = next((k for k in SLACK_TOKEN_KINDS if value.startswith(k)), "")
    tail = value[-4:] if len(value) >= SHOW_TAIL_FROM else ""
    shown = f"{kind}…{tail}" if kind or tail else ""
    return f"set ({shown})" if shown else "set"


def describe_store(url: str) -> str:
    """Where the store keeps its data, with no password."""
    from adapters.store import in_memory
    from adapters.store.database import to_async_url

    if in_memory(url):
        return "store: in memory (DATABASE_URL=memory:): nothing kept across restarts, each replica its own"
    parts = urlsplit(url or str(to_async_url(url)))
    scheme = parts.scheme.split("+")[0].lower()
    if scheme == "sqlite":
        path = unquote(parts.path[1:])
        unset = " (DATABASE_URL not set)" if not url else ""
        return f"store: SQLite at {path}{unset}" if path else "store: SQLite in memory (nothing is kept)"
    if scheme in ("postgresql", "postgres"):
        host = parts.hostname or "localhost (socket)"
        port = f":{parts.port}" if parts.port else ""
        user = f" as {unquote(parts.username)}" if parts.username else ""
        password = ", password set" if parts.password else ""
        return f"store: PostgreSQL at {host}{port}/{unquote(parts.path.lstrip('/'))}{user}{password}"
    return f"store: {scheme or 'unknown'} (DATABASE_URL)"


def describe(settings: Settings) -> list[str]:
    """One line per platform: what will run, and why."""
    lines = []
    if settings.local_mode:
        lines.append(
            "Teams: local mode (no MicrosoftAppId): no authentication; answers only loopback serviceUrls, "
            "for the Bot Framework Emulator"
        )
    else:
        assumed = " (assumed: MicrosoftAppType not set)" if settings.app_type_defaulted else ""
        kind = settings.app_type + assumed
        tenant = f", tenant {settings.app_tenant_id}" if settings.app_tenant_id else ""
        credential = f"app password {secret(settings.app_password)}"
        lines.append(f"Teams: production, {kind}{tenant}; app id {settings.app_id}; {credential}")
        login, scope = display_url(settings.bot_login_url), display_url(settings.oauth_scope)
        lines.append(f"Teams: token from {login}, scope {scope}")
    if not settings.slack_bot_token and not settings.slack_signing_secret and not settings.slack_app_token:
        lines.append("Slack: off (SLACK_BOT_TOKEN not set)")
    elif not settings.slack_enabled:
        lines.append("Slack: off (incomplete: see the problems below)")
    else:
        modes = []
        if settings.slack_signing_secret:
            modes.append(f"HTTP mode, signing secret {secret(settings.slack_signing_secret)}")
        if settings.slack_app_token:
            modes.append(f"Socket Mode, app token {secret(settings.slack_app_token)}")
        api = f"; Web API at {display_url(settings.slack_api_base)}" if settings.slack_api_url else ""
        lines.append(f"Slack: {' and '.join(modes)}; bot token {secret(settings.slack_bot_token)}{api}")
    lines.append(describe_store(settings.database_url))
    why = "local mode: loopback only" if settings.local_mode else "production"
    lines.append(f"server: listens on {settings.host}:{settings.port} ({why})")
    return lines


def diagnose(
    environ: Mapping[str, str],
    knowledge: Path,
    *,
    host: str | None = None,
    port: str | int | None = None,
    insecure_local: bool = False,
) -> tuple[Settings, list[str], list[str], list[str]]:
    """(settings, what will run, warnings, problems) for the configuration `serve` would read."""
    settings, problems = Settings.read(environ, host=host, port=port, insecure_local=insecure_local)
    lines = describe(settings)
    try:
        kb = load_knowledge(knowledge)
        lines.append(f"knowledge: {len(kb.entries)} entries, {len(kb.out_of_scope)} out-of-scope subjects")
        if semantic.installed():
            lines.append("sentence model: installed; it weighs in where the words leave doubt")
        else:
            lines.append("sentence model: not installed (requirements-model.txt): answers on words alone")
    except KnowledgeError as error:
        problems.append(f"knowledge base {knowledge}: {error}")
    if not any(p.startswith(("--host", "--port")) for p in problems):
        error = bind_error(settings.host, settings.port)
        if (
            error is not None
            and error.errno == errno.EADDRINUSE
            and _bot_answers(settings.host, settings.port)
        ):
            # doctor run beside the server it checks (in its container, say): that is no problem
            lines.append(f"server: already running on {settings.host}:{settings.port} (its /healthz answers)")
        elif error is not None:
            problems.append(listen_problem(settings.host, settings.port, error))
    return settings, lines, settings.warnings(), problems


def _bot_answers(host: str, port: int) -> bool:
    """Whether what holds the port is this bot: its /healthz answers 200 with its JSON."""
    address = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    if ":" in address:
        address = f"[{address}]"
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through a proxy
    try:
        with direct.open(f"http://{address}:{port}/healthz", timeout=2) as response:
            body = json.loads(response.read(4096))
    except (OSError, ValueError):
        return False
    return isinstance(body, dict) and body.get("status") == "ok"


async def online_checks(settings: Settings, timeout: float = TIMEOUT_SECONDS) -> list[Check]:
    """What needs the network, each with its own timeout, all at once."""
    from aiohttp import ClientSession, ClientTimeout

    async with ClientSession(timeout=ClientTimeout(total=timeout)) as session:
        checks = [
            bot_framework_token(session, settings),
            slack_auth_test(session, settings),
            check_database(settings.database_url, timeout),
        ]
        if settings.slack_enabled and settings.slack_app_token:
            checks.append(slack_socket_mode(session, settings))
        return list(await asyncio.gather(*checks))


async def bot_framework_token(session: ClientSession, settings: Settings) -> Check:
    """The bot's own token by client credentials, as the Teams adapter gets it to send replies."""
    from aiohttp import ClientError

    if settings.local_mode:
        return Check(None, "Teams: local mode, no token needed")
    url = f"{settings.bot_login_url}/oauth2/v2.0/token"
    shown = display_url(url)
    form = {
        "grant_type": "client_credentials",
        "client_id": settings.app_id,
        "client_secret": settings.app_password,
        "scope": f"{settings.oauth_scope.rstrip('/')}/.default",
    }
    try:
        async with session.post(url, data=form, allow_redirects=False) as response:
            body = await _json(response)
            status = response.status
    except (ClientError, TimeoutError) as error:
        return Check(False, f"Teams: cannot reach {shown}: {_error(error)}")
    if status == 200 and body.get("access_token"):
        return Check(
            True, f"Teams: got a Bot Framework token from {shown} (valid {body.get('expires_in')} s)"
        )
    description = (str(body.get("error_description", "")).splitlines() or [""])[0]
    reason = _clean(f"{body.get('error', '')}: {description}")
    return Check(
        False,
        f"Teams: no token from {shown}: HTTP {status} {reason}; check MicrosoftAppId, MicrosoftAppPassword "
        "and MicrosoftAppTenantId",
    )


async def _slack_call(
    session: ClientSession, settings: Settings, method: str, token: str
) -> tuple[int, dict[str, object]] | str:
    """One Slack Web API call: its status and body, or why it could not be made."""
    from aiohttp import ClientError

    url = f"{settings.slack_api_base}{method}"
    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with session.post(url, headers=headers, allow_redirects=False) as response:
            return response.status, await _json(response)
    except (ClientError, TimeoutError) as error:
        return f"cannot reach {display_url(url)}: {_error(error)}"


async def slack_auth_test(session: ClientSession, settings: Settings) -> Check:
    """Slack's auth.test with the bot token: the token works, and for which workspace and bot user."""
    if not settings.slack_enabled:
        return Check(None, "Slack: off, nothing to check")
    answer = await _slack_call(session, settings, "auth.test", settings.slack_bot_token)
    if isinstance(answer, str):
        return Check(False, f"Slack: {answer}")
    status, body = answer
    if status == 200 and body.get("ok") is True:
        return Check(
            True,
            f"Slack: auth.test ok: workspace {_clean(str(body.get('team')))}, "
            f"bot user {_clean(str(body.get('user')))}",
        )
    return Check(
        False,
        f"Slack: auth.test failed: HTTP {status} {_clean(str(body.get('error')))}; check SLACK_BOT_TOKEN",
    )


async def slack_socket_mode(session: ClientSession, settings: Settings) -> Check:
    """The app-level token: Slack hands out a Socket Mode address for it (which is then left unused)."""
    answer = await _slack_call(session, settings, "apps.connections.open", settings.slack_app_token)
    if isinstance(answer, str):
        return Check(False, f"Slack Socket Mode: {answer}")
    status, body = answer
    if status == 200 and body.get("ok") is True:
        return Check(True, "Slack Socket Mode: apps.connections.open ok: the app token can connect")
    return Check(
        False,
        f"Slack Socket Mode: apps.connections.open failed: HTTP {status} {_clean(str(body.get('error')))}; "
        "check SLACK_APP_TOKEN (an app-level token with connections:write) and that Socket Mode is on",
    )


async def check_database(url: str, timeout: float) -> Check:
    """Whether the store's database answers, and whether its schema is the newest this version ships."""
    from adapters.store import in_memory, migrate
    from adapters.store.database import create_engine, to_async_url

    if in_memory(url):
        return Check(None, "store: in memory, nothing to check")
    where = describe_store(url).removeprefix("store: ")
    engine = create_engine(to_async_url(url))
    try:
        async with asyncio.timeout(timeout):
            revision = await migrate.current(engine)
    except Exception as error:  # the driver's, the network's or our time limit: all say "cannot use it"
        return Check(False, f"store: {where}: cannot be used: {_error(error)}")
    finally:
        await engine.dispose()
    newest = migrate.head()
    if revision == newest:
        return Check(True, f"store: {where}: answers, migrations current ({newest})")
    state = "empty" if revision is None else f"at {revision}, the newest is {newest}"
    return Check(True, f"store: {where}: answers, schema {state}: the server migrates it at start")


async def _json(response: ClientResponse) -> dict[str, object]:
    try:
        body = await response.json(content_type=None)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _error(error: BaseException) -> str:
    return _clean(str(error) or type(error).__name__)


def _clean(text: str) -> str:
    """Text from another server, safe on one terminal line: no control characters, bounded."""
    text = re.sub(r"[\x00-\x1f\x7f-\x9f]+", " ", text).strip()
    return text[:200] + ("…" if len(text) > 200 else "")
