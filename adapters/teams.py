"""Microsoft Teams: Bot Framework activities in on POST /api/messages, Adaptive Cards out."""

from __future__ import annotations

import asyncio
import copy
import html
import ipaddress
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import jwt
from aiohttp import web
from botbuilder.core import ActivityHandler, CardFactory, MessageFactory, TurnContext, serializer_helper
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication
from botbuilder.schema import Activity, ActivityTypes, ChannelAccount
from botframework.connector.auth import AuthenticateRequestResult, AuthenticationConstants

from adapters.recent import RecentKeys
from adapters.settings import Settings
from bot.engine import Engine
from bot.models import Contact, Feedback, Reply, ReplyKind, Suggestion
from bot.redact import redact

__all__ = ["TEAMS", "TeamsEndpoint", "register", "to_activity", "to_card", "to_click", "to_question"]

logger = logging.getLogger(__name__)

CARDS = Path(__file__).parent / "cards"
PLATFORM = "teams"
# Teams caps a message at about 28 KB; nothing much longer than this is a question, and the matcher's
# work grows with the length of a single word.
MAX_QUESTION_CHARS = 2000
# Inbound tokens from the Bot Connector (Teams included) are issued by this authority, audience = app id.
CHANNEL_ISSUER = AuthenticationConstants.TO_BOT_FROM_CHANNEL_TOKEN_ISSUER
OPENID_METADATA_URL = AuthenticationConstants.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL
CLOCK_SKEW_SECONDS = 5 * 60  # botbuilder's own tolerance
KEY_FETCH_TIMEOUT_SECONDS = 5.0
# a failed fetch or an unknown key id refreshes the keys no more often than this: a flood of forged
# tokens costs one fetch per interval, not one per request
KEY_REFRESH_INTERVAL_SECONDS = 60.0
KEY_MAX_AGE_SECONDS = 24 * 3600
# botbuilder's check fetches keys with a blocking call: it runs on these threads, never on the loop
AUTH_WORKERS = 4
AUTH_TIMEOUT_SECONDS = 10.0
DEDUP_TTL_SECONDS = 15 * 60
DEDUP_MAX_ENTRIES = 10_000
APP_TYPES = {
    "multitenant": "MultiTenant",
    "singletenant": "SingleTenant",
    "userassignedmsi": "UserAssignedMSI",
}
CONTACT_KINDS = {"phone": ("Phone", "Call {value}"), "email": ("Email", "Email {value}")}

_BARE_URL = re.compile(r"https?://[^\s<>()\[\]]+")
_AT_TAG = re.compile(r"</?at\b[^>]*>", re.IGNORECASE)


# ---------------------------------------------------------------------------------------------------
# Cards: JSON templates in adapters/cards, filled from a view of the Reply by a tiny subset of Adaptive
# Card Templating ("${path}", "$data" to repeat an element, "$when" to keep it only if truthy).


@cache
def _template(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((CARDS / f"{name}.json").read_text(encoding="utf-8"))
    return data


_EXPRESSION = re.compile(r"\$\{([\w.$]+)\}")


def _lookup(path: str, scopes: tuple[Mapping[str, Any], ...]) -> Any:
    for scope in scopes:
        value: Any = scope
        for part in path.split("."):
            if not isinstance(value, Mapping) or part not in value:
                break
            value = value[part]
        else:
            return value
    raise KeyError(f"card template refers to unknown data ${{{path}}}")


def _expand(node: Any, scopes: tuple[Mapping[str, Any], ...]) -> Any:
    """Fill one template node. Values are inserted, never re-expanded: no text can inject template syntax."""
    if isinstance(node, str):
        whole = _EXPRESSION.fullmatch(node)
        if whole:
            return _lookup(whole.group(1), scopes)
        return _EXPRESSION.sub(lambda m: str(_lookup(m.group(1), scopes)), node)
    if isinstance(node, list):
        out: list[Any] = []
        for item in node:
            out.extend(_expand_item(item, scopes))
        return out
    if isinstance(node, dict):
        return {key: _expand(value, scopes) for key, value in node.items()}
    return node


def _expand_item(item: Any, scopes: tuple[Mapping[str, Any], ...]) -> list[Any]:
    if not isinstance(item, dict) or not ({"$data", "$when"} & item.keys()):
        return [_expand(item, scopes)]
    body = {key: value for key, value in item.items() if key not in ("$data", "$when")}
    if "$when" in item and not _expand(item["$when"], scopes):
        return []
    if "$data" not in item:
        return [_expand(body, scopes)]
    return [_expand(body, (element, *scopes)) for element in _expand(item["$data"], scopes)]


def _render(name: str, data: Mapping[str, Any]) -> dict[str, Any]:
    card: dict[str, Any] = _expand(copy.deepcopy(_template(name)), (data,))
    if not card.get("actions"):
        card.pop("actions", None)
    return card


def _link_markdown(text: str, labels: Mapping[str, str]) -> str:
    """Bare URLs in the knowledge base become markdown links; a URL ending a sentence keeps its full stop."""

    def link(match: re.Match[str]) -> str:
        url = match.group(0)
        trailing = ""
        while url and url[-1] in ".,;:!?'\"":
            url, trailing = url[:-1], url[-1] + trailing
        label = labels.get(url) or labels.get(url.rstrip("/")) or url
        return f"[{label}]({url}){trailing}"

    return _BARE_URL.sub(link, text)


def _markdown_lines(lines: Iterable[str], *, numbered: bool = False) -> str:
    # Adaptive Cards' markdown takes "1. " and "- " list items separated by \r
    return "\r".join(f"{n}. {line}" if numbered else f"- {line}" for n, line in enumerate(lines, 1))


def _paragraph(text: str, labels: Mapping[str, str]) -> dict[str, str]:
    return {"markdown": _link_markdown("\r".join(text.splitlines()), labels)}


def _suggestions(items: Iterable[Suggestion]) -> list[dict[str, str]]:
    return [{"topic": item.topic, "title": item.title} for item in items]


def _contact(contact: Contact) -> dict[str, str]:
    kind, button = CONTACT_KINDS.get(contact.kind, (contact.label, "{value}"))
    return {
        "kind": kind,
        "value": contact.value,
        "button": button.format(value=contact.value),
        "uri": contact.uri,
    }


def _card_data(reply: Reply, feedback_given: bool) -> dict[str, Any]:
    labels = {link.url: link.label for link in reply.links} | {
        link.url.rstrip("/"): link.label for link in reply.links
    }
    contacts = [_contact(c) for c in reply.contacts]
    data: dict[str, Any] = {
        "text": reply.text,
        "title": reply.title or "",
        "topic": reply.topic or "",
        "paragraphs": [_paragraph(p, labels) for p in reply.paragraphs],
        "links": [{"label": link.label, "url": link.url} for link in reply.links],
        "contacts": contacts,
        # the answer's links, then its contacts, as buttons under the answer
        "buttons": [{"title": link.label, "url": link.url} for link in reply.links]
        + [{"title": c["button"], "url": c["uri"]} for c in contacts],
        "suggestions": _suggestions(reply.suggestions[:3]),
        "follow_ups": _suggestions(reply.follow_ups),
        "menu": _suggestions(reply.menu),
        "feedback_open": reply.kind is ReplyKind.ANSWER and bool(reply.topic) and not feedback_given,
        "feedback_given": feedback_given,
    }
    steps = reply.phone_steps
    if steps:
        phone = Contact("phone", steps.number, "")
        data["phone"] = {
            "number": steps.number,
            "uri": phone.uri,
            "intro": steps.intro,
            "steps": _markdown_lines(steps.steps, numbered=True),
            "have_ready_intro": steps.have_ready_intro,
            "have_ready": _markdown_lines(steps.have_ready),
            "have_ready_note": steps.have_ready_note,
            "after_intro": steps.after_intro,
            "after_steps": _link_markdown(_markdown_lines(steps.after_steps, numbered=True), labels),
            "after_notes": [_paragraph(note, labels) for note in steps.after_notes],
        }
    return data


def to_card(reply: Reply, *, feedback_given: bool = False) -> dict[str, Any]:
    """The Adaptive Card (1.5) for a Reply; `feedback_given` swaps the Helpful buttons for a thank-you."""
    if reply.kind is ReplyKind.ANSWER:
        layout = "ivr" if reply.phone_steps else "answer"
    elif reply.kind is ReplyKind.CLARIFY:
        layout = "clarify"
    else:
        layout = "menu"
    return _render(layout, _card_data(reply, feedback_given))


def _card_activity(card: dict[str, Any], summary: str) -> Activity:
    activity = MessageFactory.attachment(CardFactory.adaptive_card(card))
    # notifications and the chat list show the summary; the card's fallbackText serves clients without cards
    activity.summary = summary
    return activity


def to_activity(reply: Reply, *, feedback_given: bool = False) -> Activity:
    """The message activity that carries a Reply as an Adaptive Card, with a plain-text summary."""
    summary = reply.title or (reply.paragraphs[0] if reply.paragraphs else reply.text)
    return _card_activity(to_card(reply, feedback_given=feedback_given), summary.splitlines()[0][:200])


def _notice(name: str) -> Activity:
    card = copy.deepcopy(_template(name))
    return _card_activity(card, card["fallbackText"])


# ---------------------------------------------------------------------------------------------------
# Inbound converters


@dataclass(frozen=True, slots=True)
class Click:
    """An Action.Submit from one of our cards: its data carries everything, so any replica can answer it."""

    action: str  # "topic" or "feedback"
    topic: str
    helpful: bool | None = None


def to_click(value: object) -> Click | None:
    """A card submit's `value` as a Click; anything else (a typed message, foreign data) is None."""
    if not isinstance(value, Mapping):
        return None
    action, topic = value.get("action"), value.get("topic", "")
    if not isinstance(topic, str):
        return None
    if action == "topic":
        return Click("topic", topic)
    if action == "feedback" and topic and isinstance(value.get("helpful"), bool):
        return Click("feedback", topic, value["helpful"])
    return None


def _properties(entity: Any) -> Mapping[str, Any]:
    props = getattr(entity, "additional_properties", None)
    return props if isinstance(props, Mapping) else {}


def _bot_mentions(activity: Activity) -> list[Mapping[str, Any]]:
    bot_id = activity.recipient.id if activity.recipient else None
    mentions = []
    for entity in activity.entities or ():
        props = _properties(entity)
        mentioned = props.get("mentioned")
        if (
            (getattr(entity, "type", "") or "").lower() == "mention"
            and isinstance(mentioned, Mapping)
            and bot_id
            and mentioned.get("id") == bot_id
        ):
            mentions.append(props)
    return mentions


def to_question(activity: Activity) -> str:
    """What the user asked: the text without the bot's own @mention, on one line, at most 2000 characters."""
    text = activity.text if isinstance(activity.text, str) else ""
    for mention in _bot_mentions(activity):
        mention_text = mention.get("text")
        if not isinstance(mention_text, str) or not mention_text:
            name = (mention.get("mentioned") or {}).get("name")
            mention_text = f"<at>{name}</at>" if isinstance(name, str) and name else ""
        if mention_text:
            text = text.replace(mention_text, " ")
    # other people's mentions keep their names; Teams sends the text HTML-escaped around mentions
    text = html.unescape(_AT_TAG.sub("", text))
    return " ".join(text.split())[:MAX_QUESTION_CHARS]


def _conversation_type(activity: Activity) -> str:
    conversation = activity.conversation
    return (getattr(conversation, "conversation_type", None) or "personal") if conversation else "personal"


# ---------------------------------------------------------------------------------------------------
# The bot: one turn, no state kept between turns


class NhsmailTeamsBot(ActivityHandler):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        click = to_click(activity.value)
        if click is not None:
            await self._on_click(turn_context, click)
            return
        conversation_type = _conversation_type(activity)
        # Teams sends channel and group messages only when the bot is @mentioned; guard anyway, so a bot
        # given wider permissions still speaks only when spoken to.
        if conversation_type in ("channel", "groupChat") and not _bot_mentions(activity):
            return
        question = to_question(activity)
        reply = self.engine.reply(question)
        logger.info(
            "teams %s: %r -> %s %s (%.2f)",
            conversation_type,
            redact(question),
            reply.kind.value,
            reply.topic or "-",
            reply.confidence,
        )
        await turn_context.send_activity(to_activity(reply))

    async def _on_click(self, turn_context: TurnContext, click: Click) -> None:
        if click.action == "topic":
            reply = self.engine.answer_topic(click.topic)
            logger.info("teams click: topic %s -> %s", click.topic or "-", reply.kind.value)
            await turn_context.send_activity(to_activity(reply))
            return
        reply = self.engine.answer_topic(click.topic)
        if reply.kind is ReplyKind.ANSWER:
            activity = turn_context.activity
            user = activity.from_property.id if activity.from_property else ""
            self.engine.record_feedback(Feedback(click.topic, bool(click.helpful), PLATFORM, user or ""))
            logger.info("teams feedback: %s helpful=%s", click.topic, click.helpful)
        else:
            logger.warning("teams: feedback for an unknown topic, not recorded")
        await self._acknowledge(turn_context, reply)

    async def _acknowledge(self, turn_context: TurnContext, reply: Reply) -> None:
        """Swap the card's Helpful buttons for a thank-you; if that card cannot be updated, say thanks."""
        card_id = turn_context.activity.reply_to_id
        if card_id and reply.kind is ReplyKind.ANSWER:
            update = to_activity(reply, feedback_given=True)
            update.id = card_id
            try:
                await turn_context.update_activity(update)
                return
            except Exception:
                logger.warning("teams: could not update the card after feedback", exc_info=True)
        await turn_context.send_activity(_notice("feedback"))

    async def on_conversation_update_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        bot_id = activity.recipient.id if activity.recipient else None
        added: list[ChannelAccount] = activity.members_added or []
        # welcome once, when the bot itself joins; people joining later are not greeted
        if bot_id and any(member.id == bot_id for member in added):
            logger.info(
                "teams: added to a %s conversation, sending the welcome", _conversation_type(activity)
            )
            await turn_context.send_activity(to_activity(self.engine.welcome()))


async def _on_turn_error(turn_context: TurnContext, error: Exception) -> None:
    activity = turn_context.activity
    logger.error(
        "teams: turn failed (%s in a %s conversation)",
        activity.type,
        _conversation_type(activity),
        exc_info=error,
    )
    try:
        await turn_context.send_activity(_notice("error"))
    except Exception as send_error:
        logger.error("teams: could not tell the user either: %s", send_error)


# ---------------------------------------------------------------------------------------------------
# Security at the door


class Unauthorized(Exception):
    """The request's token is missing or not one the Bot Connector issued for this bot."""


def is_loopback(url: str) -> bool:
    """True for http(s) URLs on localhost or a loopback address (the Emulator's, in local mode)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class SigningKey:
    key: Any
    endorsements: tuple[str, ...]


class OpenIdKeys:
    """The Bot Connector's signing keys, fetched without blocking the loop, cached, refreshed sparingly."""

    def __init__(self, metadata_url: str = OPENID_METADATA_URL) -> None:
        self.metadata_url = metadata_url
        self._keys: dict[str, SigningKey] = {}
        self._fetched_at = float("-inf")
        self._attempted_at = float("-inf")
        self._lock = asyncio.Lock()
        self._session: aiohttp.ClientSession | None = None

    def bind(self, session: aiohttp.ClientSession | None) -> None:
        self._session = session

    async def get(self, kid: str) -> SigningKey | None:
        stale = time.monotonic() - self._fetched_at > KEY_MAX_AGE_SECONDS
        if stale or kid not in self._keys:
            await self._refresh()
        return self._keys.get(kid)

    async def _refresh(self) -> None:
        async with self._lock:
            # whoever waited for the lock finds the work done (or recently failed) and does not repeat it
            if time.monotonic() - self._attempted_at < KEY_REFRESH_INTERVAL_SECONDS:
                return
            self._attempted_at = time.monotonic()
            try:
                self._keys = await self._fetch()
                self._fetched_at = time.monotonic()
            except (aiohttp.ClientError, TimeoutError, ValueError, KeyError, TypeError) as error:
                logger.warning("teams: could not fetch the Bot Connector's signing keys: %r", error)

    async def _fetch(self) -> dict[str, SigningKey]:
        if self._session is None:
            raise ValueError("no HTTP session: the server is not running")
        timeout = aiohttp.ClientTimeout(total=KEY_FETCH_TIMEOUT_SECONDS)
        async with self._session.get(self.metadata_url, timeout=timeout) as response:
            response.raise_for_status()
            jwks_uri = (await response.json(content_type=None))["jwks_uri"]
        async with self._session.get(jwks_uri, timeout=timeout) as response:
            response.raise_for_status()
            document = await response.json(content_type=None)
        keys = {}
        for jwk in document["keys"]:
            try:
                key = jwt.PyJWK.from_dict(jwk, algorithm="RS256").key
            except jwt.PyJWTError:
                continue
            keys[str(jwk.get("kid"))] = SigningKey(key, tuple(jwk.get("endorsements") or ()))
        return keys


class TokenGate:
    """Cheap checks on the loop before botbuilder's own: a token that cannot be genuine never reaches it.

    botbuilder raises DecodeError, KeyError, IndexError and more for bad tokens, and fetches keys with a
    blocking call; this gate turns every bad token into Unauthorized and fetches keys asynchronously.
    """

    def __init__(self, app_id: str, keys: OpenIdKeys) -> None:
        self.app_id = app_id
        self.keys = keys

    async def check(self, auth_header: str, activity: Activity) -> None:
        scheme, _, token = auth_header.partition(" ")
        if scheme != "Bearer" or token.count(".") != 2:
            raise Unauthorized("no bearer token")
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as error:
            raise Unauthorized(f"malformed token: {error}") from None
        kid = header.get("kid")
        if header.get("alg") != "RS256" or not isinstance(kid, str) or not kid:
            raise Unauthorized("not an RS256 token with a key id")
        if claims.get("iss") != CHANNEL_ISSUER:
            raise Unauthorized("not issued by the Bot Connector")
        if claims.get("aud") != self.app_id:
            raise Unauthorized("issued for another bot")
        now = time.time()
        expires, not_before = claims.get("exp"), claims.get("nbf", 0)
        if not isinstance(expires, int | float) or expires + CLOCK_SKEW_SECONDS < now:
            raise Unauthorized("expired")
        if not isinstance(not_before, int | float) or not_before - CLOCK_SKEW_SECONDS > now:
            raise Unauthorized("not valid yet")
        if claims.get("serviceurl") != activity.service_url:
            raise Unauthorized("serviceUrl differs from the token's")
        signing = await self.keys.get(kid)
        if signing is None:
            raise Unauthorized("unknown signing key")
        if signing.endorsements and activity.channel_id not in signing.endorsements:
            raise Unauthorized("signing key not endorsed for this channel")
        try:
            jwt.decode(
                token,
                signing.key,
                algorithms=["RS256"],
                audience=self.app_id,
                issuer=CHANNEL_ISSUER,
                leeway=CLOCK_SKEW_SECONDS,
            )
        except jwt.PyJWTError as error:
            raise Unauthorized(f"bad signature or claims: {error}") from None


# ---------------------------------------------------------------------------------------------------
# The HTTP endpoint


def to_bot_config(settings: Settings) -> SimpleNamespace:
    """Settings in the shape ConfigurationBotFrameworkAuthentication reads (APP_ID, APP_TYPE, ...)."""
    app_type = APP_TYPES.get(settings.app_type.replace("-", "").replace(" ", "").lower())
    if app_type is None:
        raise ValueError(
            f"MicrosoftAppType {settings.app_type!r} is not one of SingleTenant, MultiTenant, UserAssignedMSI"
        )
    if (
        settings.app_id
        and app_type == "SingleTenant"
        and not (settings.app_password and settings.app_tenant_id)
    ):
        raise ValueError("MicrosoftAppType SingleTenant needs MicrosoftAppPassword and MicrosoftAppTenantId")
    if settings.app_id and app_type == "UserAssignedMSI" and not settings.app_tenant_id:
        raise ValueError("MicrosoftAppType UserAssignedMSI needs MicrosoftAppTenantId")
    return SimpleNamespace(
        APP_ID=settings.app_id or None,
        APP_PASSWORD=settings.app_password or None,
        APP_TYPE=app_type if settings.app_id else "MultiTenant",
        APP_TENANTID=settings.app_tenant_id or None,
    )


def _refuse(status: int, reason: str) -> web.Response:
    return web.json_response({"error": reason}, status=status)


class TeamsEndpoint:
    """POST /api/messages: parse, authenticate, drop re-sent activities, then run the turn."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.local_mode = not settings.app_id
        self.auth = ConfigurationBotFrameworkAuthentication(to_bot_config(settings))
        self.adapter = CloudAdapter(self.auth)
        self.adapter.on_turn_error = _on_turn_error
        self.bot = NhsmailTeamsBot(engine)
        self.keys = OpenIdKeys()
        self.gate = TokenGate(settings.app_id, self.keys)
        self.recent = RecentKeys(ttl=DEDUP_TTL_SECONDS, max_size=DEDUP_MAX_ENTRIES)
        self._executor: ThreadPoolExecutor | None = None

    async def lifespan(self, app: web.Application) -> AsyncIterator[None]:
        if self.local_mode:
            logger.warning(
                "Teams: MicrosoftAppId is not set, so the bot runs in LOCAL MODE: no authentication "
                "(as for the Bot Framework Emulator); only activities with a loopback serviceUrl are accepted"
            )
            yield
            return
        self._executor = ThreadPoolExecutor(AUTH_WORKERS, thread_name_prefix="teams-auth")
        async with aiohttp.ClientSession() as session:
            self.keys.bind(session)
            yield
            self.keys.bind(None)
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def handle(self, request: web.Request) -> web.Response:
        if request.content_type != "application/json":
            return _refuse(415, "expected application/json")
        try:
            body = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError):
            return _refuse(400, "the body is not JSON")
        activity = self._to_activity(body)
        if activity is None:
            return _refuse(400, "not an activity: type, serviceUrl and conversation.id are required")
        if self.local_mode:
            if not is_loopback(activity.service_url):
                logger.warning("teams: local mode refused an activity for a non-loopback serviceUrl")
                return _refuse(403, "local mode accepts only loopback serviceUrls")
            authenticated = await self.auth.authenticate_request(activity, "")
        else:
            try:
                authenticated = await self._authenticate(request.headers.get("Authorization", ""), activity)
            except Unauthorized as error:
                logger.warning("teams: refused a request: %s", error)
                return _refuse(401, "unauthorized")
        if activity.id and not self.recent.first_time(f"{activity.conversation.id}|{activity.id}"):
            logger.info("teams: activity re-sent by the channel, already answered")
            return web.Response(status=200)
        try:
            invoke = await self.adapter.process_activity(authenticated, activity, self.bot.on_turn)
        except Exception:
            logger.exception("teams: could not process a %s activity", activity.type)
            return _refuse(500, "the bot could not process the activity")
        if invoke:
            try:
                body = serializer_helper(invoke.body)
            except Exception:
                # botbuilder can put an Exception in the body of an invoke it rejects (adaptiveCard/action)
                logger.warning("teams: could not serialise the response to a %s invoke", activity.name)
                body = None
            return web.json_response(body, status=invoke.status)
        return web.Response(status=200)

    @staticmethod
    def _to_activity(body: object) -> Activity | None:
        if not isinstance(body, dict):
            return None
        try:
            activity = Activity().deserialize(body)
        except Exception:
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
        if activity.type == ActivityTypes.message and not activity.recipient:
            return None
        return activity

    async def _authenticate(self, auth_header: str, activity: Activity) -> AuthenticateRequestResult:
        await self.gate.check(auth_header, activity)
        if self._executor is None:
            raise Unauthorized("the server is not running")
        loop = asyncio.get_running_loop()

        def botbuilder_check() -> AuthenticateRequestResult:
            return asyncio.run(self.auth.authenticate_request(activity, auth_header))

        try:
            return await asyncio.wait_for(
                loop.run_in_executor(self._executor, botbuilder_check), AUTH_TIMEOUT_SECONDS
            )
        except TimeoutError:
            raise Unauthorized("botbuilder's token check timed out") from None
        except Exception as error:  # botbuilder raises PermissionError, DecodeError, KeyError, IndexError...
            raise Unauthorized(f"botbuilder refused the token: {error!r}") from None


TEAMS = web.AppKey("teams", TeamsEndpoint)


def register(app: web.Application, engine: Engine, settings: Settings) -> None:
    """Add POST /api/messages for the Bot Framework (Teams) to the shared server."""
    endpoint = TeamsEndpoint(engine, settings)
    app[TEAMS] = endpoint
    app.cleanup_ctx.append(endpoint.lifespan)
    app.router.add_post("/api/messages", endpoint.handle)
