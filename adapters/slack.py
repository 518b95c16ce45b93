"""Slack: the to_question / to_blocks converters, the Bolt listeners, and register(app, engine, settings)."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import cache
from pathlib import Path
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.recent import RecentKeys
from adapters.settings import Settings
from bot.engine import Engine
from bot.models import Feedback, Reply, ReplyKind, Suggestion
from bot.redact import redact

logger = logging.getLogger(__name__)

COMMAND = "/nhsmail"
EVENTS_PATH = "/slack/events"
DEFAULT_API_URL = "https://slack.com/api/"
LABELS_FILE = Path(__file__).parent / "cards" / "slack_blocks.json"

# Block Kit's limits (https://docs.slack.dev/reference/block-kit/blocks)
MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_BUTTON_TEXT = 75
MAX_OPTION_TEXT = 75
MAX_OPTIONS = 100
MAX_ACTIONS = 25
# chat.postMessage truncates longer `text`; it is the notification and screen-reader fallback, not the answer
MAX_FALLBACK_TEXT = 3000

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
# in escaped text: "&amp;" may be part of a URL, "&lt;" and "&gt;" end one
_URL = re.compile(r"https://(?:[^\s<>|&]|&amp;)+")
_URL_TRAILING = ".,;:!?)'\""
# Slack markup in what people type: mentions (<@U1>), broadcasts (<!here>), channels (<#C1|name>)
_MENTION = re.compile(r"<[@!#][^>]*>")
_LABELLED_LINK = re.compile(r"<[^<>|]+\|([^<>]*)>")
_LINK = re.compile(r"<([^<>]*)>")


# ---------------------------------------------------------------- converters


def to_question(text: str) -> str:
    """A Slack message's text as typed: mentions dropped, links as their labels, entities decoded."""
    text = _MENTION.sub(" ", text)
    text = _LABELLED_LINK.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return " ".join(text.split())


def escape(text: str) -> str:
    """Escape text for Slack mrkdwn, so it can never become a mention, a broadcast or a disguised link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_mrkdwn(paragraph: str) -> str:
    """One answer paragraph as mrkdwn: escaped, "- " lines as bullets, bare https:// URLs as links."""
    lines = []
    for line in escape(paragraph).splitlines():
        lines.append("• " + line[2:] if line.startswith("- ") else line)
    return _URL.sub(_link, "\n".join(lines))


def _link(match: re.Match[str]) -> str:
    url = match.group(0)
    stripped = url.rstrip(_URL_TRAILING)
    return f"<{stripped}>{url[len(stripped) :]}"


def to_text(reply: Reply) -> str:
    """The message's top-level `text`: Slack shows it in notifications and where blocks cannot be shown."""
    return _cut(escape(reply.text), MAX_FALLBACK_TEXT)


def to_blocks(
    reply: Reply, *, share: bool = False, feedback_given: bool = False, list_topics: bool = False
) -> list[dict[str, Any]]:
    """A Reply as Block Kit blocks for an interactive message (an ephemeral one when `share` is set)."""
    labels = _labels()
    blocks = _content_blocks(reply)
    # CLARIFY: the choices; ANSWER: other close topics, in case this answer is not the one meant
    related = {s.topic for s in reply.follow_ups}
    choices = tuple(s for s in reply.suggestions if reply.kind is ReplyKind.CLARIFY or s.topic not in related)
    if choices:
        label = labels["did_you_mean"] if reply.kind is ReplyKind.CLARIFY else labels["not_quite"]
        blocks.append(_section("did_you_mean", escape(label)))
        blocks.append(_buttons("choices", "choose", choices))
    if reply.follow_ups:
        label = labels["related"] if reply.kind is ReplyKind.ANSWER else labels["examples"]
        blocks.append(_section("follow_ups_label", escape(label)))
        blocks.append(_buttons("follow_ups", "follow_up", reply.follow_ups))
    if reply.menu:
        if list_topics:
            topics = "\n".join(f"• {escape(s.title)}" for s in reply.menu)
            blocks.append(_section("topics", f"{escape(labels['topics'])}\n{topics}"))
        blocks.append(_menu(reply.menu))
    if reply.kind is ReplyKind.ANSWER and reply.topic:
        if share:
            blocks.append(
                _actions("share", [_button("share", labels["share"], reply.topic, style="primary")])
            )
        blocks.append(_feedback(reply.topic, given=feedback_given))
    return _fit(blocks)


def to_shared_blocks(reply: Reply, user_id: str) -> list[dict[str, Any]]:
    """An answer shared in a channel: the content and who shared it, no buttons (the bot may not be in it)."""
    blocks = _content_blocks(reply)
    if _USER_ID.match(user_id):
        text = _labels()["shared_by"].format(user=user_id)
        blocks.append({"type": "context", "block_id": "shared_by", "elements": [_mrkdwn(text)]})
    return _fit(blocks)


def _content_blocks(reply: Reply) -> list[dict[str, Any]]:
    labels = _labels()
    blocks: list[dict[str, Any]] = []
    if reply.title:
        blocks.append({"type": "header", "block_id": "header", "text": _plain(reply.title, MAX_HEADER_TEXT)})
    # the phone menu is the whole answer where it exists (the paragraphs repeat it as plain text)
    paragraphs = [to_mrkdwn(p) for p in reply.paragraphs] if reply.phone_steps is None else []
    if reply.phone_steps is not None:
        s = reply.phone_steps
        paragraphs = [
            labels["call"].format(number=escape(s.number)) + "\n" + escape(s.intro),
            _numbered(s.steps),
            labels["have_ready"] + "\n" + escape(s.have_ready_intro),
            "\n".join(f"• {escape(item)}" for item in s.have_ready),
            escape(s.have_ready_note),
            labels["after_call"] + "\n" + escape(s.after_intro),
            _numbered(s.after_steps),
            *(to_mrkdwn(note) for note in s.after_notes),
        ]
    for i, chunk in enumerate(_chunks([p for p in paragraphs if p.strip()])):
        blocks.append(_section(f"answer_{i}", chunk))
    if reply.contacts:
        lines = [
            f"• {escape(c.label)}: <{c.uri}|{escape(c.value)}>"
            if c.kind == "email"
            else f"• {escape(c.label)}: *{escape(c.value)}*"
            for c in reply.contacts
        ]
        blocks.append(
            _section("contacts", _cut(labels["contacts"] + "\n" + "\n".join(lines), MAX_SECTION_TEXT))
        )
    if reply.links:
        lines = [f"• <{escape(link.url)}|{escape(link.label)}>" for link in reply.links]
        blocks.append(_section("links", _cut(labels["links"] + "\n" + "\n".join(lines), MAX_SECTION_TEXT)))
    return blocks


def _numbered(steps: tuple[str, ...]) -> str:
    return "\n".join(f"{n}. {escape(step)}" for n, step in enumerate(steps, start=1))


def _chunks(paragraphs: list[str], limit: int = MAX_SECTION_TEXT) -> list[str]:
    """Paragraphs packed into as few section texts as fit Slack's limit, split at line breaks if need be."""
    pieces: list[str] = []
    for paragraph in paragraphs:
        while len(paragraph) > limit:
            cut = paragraph.rfind("\n", 0, limit)
            cut = cut if cut > 0 else paragraph.rfind(" ", 0, limit)
            cut = cut if cut > 0 else limit
            pieces.append(paragraph[:cut])
            paragraph = paragraph[cut:].lstrip()
        pieces.append(paragraph)
    chunks: list[str] = []
    for piece in pieces:
        if chunks and len(chunks[-1]) + 2 + len(piece) <= limit:
            chunks[-1] += "\n\n" + piece
        else:
            chunks.append(piece)
    return chunks


def _fit(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Keep within 50 blocks: drop answer sections from the end, never the buttons that follow them."""
    while len(blocks) > MAX_BLOCKS:
        answers = [i for i, b in enumerate(blocks) if b.get("block_id", "").startswith("answer_")]
        del blocks[answers[-1] if answers else -1]
    return blocks


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": _cut(text, limit), "emoji": True}


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def _section(block_id: str, text: str) -> dict[str, Any]:
    return {"type": "section", "block_id": block_id, "text": _mrkdwn(_cut(text, MAX_SECTION_TEXT))}


def _button(action_id: str, text: str, value: str, style: str | None = None) -> dict[str, Any]:
    button = {"type": "button", "action_id": action_id, "text": _plain(text, MAX_BUTTON_TEXT), "value": value}
    if style:
        button["style"] = style
    return button


def _actions(block_id: str, elements: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "actions", "block_id": block_id, "elements": elements[:MAX_ACTIONS]}


def _buttons(block_id: str, prefix: str, choices: tuple[Suggestion, ...]) -> dict[str, Any]:
    # action ids must be unique within a message; the topic travels in the value, so no server state
    return _actions(block_id, [_button(f"{prefix}_{i}", s.title, s.topic) for i, s in enumerate(choices)])


def _menu(menu: tuple[Suggestion, ...]) -> dict[str, Any]:
    labels = _labels()
    options = [{"text": _plain(s.title, MAX_OPTION_TEXT), "value": s.topic} for s in menu[:MAX_OPTIONS]]
    select = {
        "type": "static_select",
        "action_id": "menu",
        "placeholder": _plain(labels["menu_placeholder"], MAX_OPTION_TEXT),
        "options": options,
    }
    return {
        "type": "section",
        "block_id": "menu",
        "text": _mrkdwn(escape(labels["menu_prompt"])),
        "accessory": select,
    }


def _feedback(topic: str, *, given: bool) -> dict[str, Any]:
    labels = _labels()
    if given:
        return {
            "type": "context",
            "block_id": "feedback",
            "elements": [_mrkdwn(escape(labels["feedback_thanks"]))],
        }
    return _actions(
        "feedback",
        [_button("helpful", labels["helpful"], topic), _button("not_helpful", labels["not_helpful"], topic)],
    )


@cache
def _labels() -> dict[str, str]:
    labels: dict[str, str] = json.loads(LABELS_FILE.read_text(encoding="utf-8"))
    return labels


# ---------------------------------------------------------------- Bolt listeners


class SlackBot:
    """The Bolt listeners: each turns a Slack payload into a question or topic and sends the Reply back."""

    def __init__(
        self, engine: Engine, retry_handlers: list[AsyncRetryHandler], sdk_logger: logging.Logger
    ) -> None:
        self.engine = engine
        self.retry_handlers = retry_handlers
        self.sdk_logger = sdk_logger
        self.seen = RecentKeys(ttl=600.0)

    async def once(self, body: dict[str, Any], next_: Callable[[], Awaitable[None]]) -> BoltResponse | None:
        """Answer each event once: a retry of an event already taken is acknowledged and dropped."""
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if isinstance(event_id, str) and not self.seen.first_time(event_id):
            logger.info("Slack event %s delivered again: already answered", event_id)
            return BoltResponse(status=200, body="")
        await next_()
        return None

    async def on_command(self, ack: AsyncAck, command: dict[str, Any]) -> None:
        # acknowledge first: Slack gives up after 3 seconds; the answer follows through response_url
        await ack()
        question = to_question(str(command.get("text") or ""))
        wants_help = question.lower() in ("", "help", "topics", "list")
        reply = self._reply("help" if wants_help else question, "slash command")
        blocks = to_blocks(reply, share=True, list_topics=wants_help)
        await self._respond(
            command.get("response_url"), response_type="ephemeral", text=to_text(reply), blocks=blocks
        )

    async def on_mention(self, event: dict[str, Any], client: AsyncWebClient) -> None:
        if _ignored(event):
            return
        reply = self._reply(to_question(str(event.get("text") or "")), "mention")
        # answer in a thread: the one the mention was made in, or a new one under it
        await self._post(client, event.get("channel"), event.get("thread_ts") or event.get("ts"), reply)

    async def on_message(self, event: dict[str, Any], client: AsyncWebClient) -> None:
        # message.im only; mentions in channels arrive as app_mention
        if event.get("channel_type") != "im" or _ignored(event):
            return
        reply = self._reply(to_question(str(event.get("text") or "")), "direct message")
        await self._post(client, event.get("channel"), event.get("thread_ts"), reply)

    async def on_choose(
        self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        """A did-you-mean, follow-up or menu choice: answer the chosen topic where the click happened."""
        await ack()
        topic = str(action.get("value") or (action.get("selected_option") or {}).get("value") or "")
        reply = self._answer(topic, "choice")
        if (body.get("container") or {}).get("is_ephemeral"):
            await self._respond(
                body.get("response_url"),
                replace_original=True,
                text=to_text(reply),
                blocks=to_blocks(reply, share=True),
            )
            return
        channel = (body.get("channel") or {}).get("id")
        message = body.get("message") or {}
        # in a channel, keep the conversation in the thread; a DM has no threads unless the user made one
        thread_ts = message.get("thread_ts") or (None if str(channel).startswith("D") else message.get("ts"))
        await self._post(client, channel, thread_ts, reply)

    async def on_share(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        """Post the ephemeral answer in the channel for everyone, then remove the private copy."""
        await ack()
        reply = self._answer(str(action.get("value") or ""), "share")
        if not reply.matched:
            return
        user_id = str((body.get("user") or {}).get("id") or "")
        url = body.get("response_url")
        blocks = to_shared_blocks(reply, user_id)
        if await self._respond(
            url, response_type="in_channel", replace_original=False, text=to_text(reply), blocks=blocks
        ):
            await self._respond(url, delete_original=True)

    async def on_feedback(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        reply = self._answer(str(action.get("value") or ""), "feedback")
        if not reply.matched or reply.topic is None:
            return
        helpful = action.get("action_id") == "helpful"
        user_id = str((body.get("user") or {}).get("id") or "")
        self.engine.record_feedback(Feedback(reply.topic, helpful, "slack", user_id))
        logger.info("Slack feedback: topic %s helpful=%s", reply.topic, helpful)
        # the answer is rebuilt from its topic rather than stored: the thanks replaces the buttons
        ephemeral = bool((body.get("container") or {}).get("is_ephemeral"))
        blocks = to_blocks(reply, share=ephemeral, feedback_given=True)
        await self._respond(
            body.get("response_url"), replace_original=True, text=to_text(reply), blocks=blocks
        )

    def _reply(self, question: str, where: str) -> Reply:
        try:
            reply = self.engine.reply(question)
        except Exception:
            logger.exception("Slack %s: the engine failed on %r", where, redact(question))
            return _failed()
        logger.info("Slack %s: %r -> %s %s", where, redact(question), reply.kind, reply.topic or "")
        return reply

    def _answer(self, topic: str, where: str) -> Reply:
        try:
            reply = self.engine.answer_topic(topic)
        except Exception:
            logger.exception("Slack %s: the engine failed on topic %r", where, topic[:64])
            return _failed()
        logger.info("Slack %s: topic %r -> %s", where, topic[:64], reply.kind)
        return reply

    async def _post(self, client: AsyncWebClient, channel: Any, thread_ts: Any, reply: Reply) -> None:
        if not isinstance(channel, str):
            return
        try:
            await client.chat_postMessage(
                channel=channel,
                thread_ts=thread_ts if isinstance(thread_ts, str) else None,
                text=to_text(reply),
                blocks=to_blocks(reply),
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackApiError as error:
            logger.warning("Slack chat.postMessage failed: %s", error.response.get("error"))

    async def _respond(self, url: Any, **message: Any) -> bool:
        if not isinstance(url, str) or not url:
            logger.warning("Slack request has no response_url: cannot answer it")
            return False
        client = AsyncWebhookClient(url, logger=self.sdk_logger, retry_handlers=list(self.retry_handlers))
        response = await client.send_dict({"unfurl_links": False, "unfurl_media": False, **message})
        if response.status_code != 200:
            logger.warning("Slack response_url answered %s", response.status_code)
            return False
        return True


def _failed() -> Reply:
    """What the user sees when answering went wrong on our side: a polite line, never silence."""
    said = _labels()["failed"]
    return Reply(ReplyKind.FALLBACK, said, paragraphs=(said,))


def _ignored(event: dict[str, Any]) -> bool:
    """Bots (ourselves included), edits, deletions and every other subtype are not questions."""
    return bool(event.get("bot_id") or event.get("subtype") or event.get("edited"))


# ---------------------------------------------------------------- wiring


class _Redact(logging.Filter):
    """Bolt and slack_sdk put whole request bodies in some log lines: mask what a user could have typed."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage()), None
        return True


def sdk_logger() -> logging.Logger:
    """The logger given to Bolt and slack_sdk: WARNING and up only (Bolt logs a rejected request's body at
    INFO, the SDK logs every payload at DEBUG), and redacted."""
    sdk = logging.getLogger(f"{__name__}.sdk")
    sdk.setLevel(logging.WARNING)
    if not any(isinstance(f, _Redact) for f in sdk.filters):
        sdk.addFilter(_Redact())
    return sdk


def api_url(settings: Settings) -> str:
    """SLACK_API_URL as slack_sdk wants a base URL: with one trailing slash."""
    return (settings.slack_api_url or DEFAULT_API_URL).rstrip("/") + "/"


def create_bolt_app(engine: Engine, settings: Settings) -> AsyncApp:
    """The Bolt app with its listeners; its Web API client retries a 429 after Slack's Retry-After."""
    quiet = sdk_logger()
    retry_handlers: list[AsyncRetryHandler] = [
        AsyncConnectionErrorRetryHandler(),
        AsyncRateLimitErrorRetryHandler(max_retry_count=2),
    ]
    client = AsyncWebClient(
        token=settings.slack_bot_token,
        base_url=api_url(settings),
        logger=quiet,
        retry_handlers=retry_handlers,
    )
    bolt = AsyncApp(
        name="nhsmail-bot",
        logger=quiet,
        client=client,
        signing_secret=settings.slack_signing_secret,
    )
    listeners = SlackBot(engine, retry_handlers, quiet)
    bolt.middleware(listeners.once)
    bolt.command(COMMAND)(listeners.on_command)
    bolt.event("app_mention")(listeners.on_mention)
    bolt.event("message")(listeners.on_message)
    bolt.action(re.compile(r"^(choose|follow_up)_\d+$"))(listeners.on_choose)
    bolt.action("menu")(listeners.on_choose)
    bolt.action("share")(listeners.on_share)
    bolt.action(re.compile(r"^(helpful|not_helpful)$"))(listeners.on_feedback)
    return bolt


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
        if not (timestamp.isdigit() and verifier.is_valid(body, timestamp, signature)):
            logger.warning("Slack request refused: bad or old signature")
            return web.json_response({"error": "invalid request"}, status=401)
        try:
            bolt_request = await to_bolt_request(request)
        except (ValueError, TypeError, AttributeError):  # JSON or form data that is not a payload
            return web.json_response({"error": "malformed request"}, status=400)
        if not _well_formed(bolt_request.body):
            return web.json_response({"error": "malformed request"}, status=400)
        return await to_aiohttp_response(await bolt.async_dispatch(bolt_request))

    return handle


def _well_formed(body: Any) -> bool:
    """The shapes Bolt reads without checking: a mapping, and its event or actions the right types."""
    if not isinstance(body, dict) or not body:
        return False
    if "event" in body and not isinstance(body["event"], dict):
        return False
    actions = body.get("actions", [])
    return isinstance(actions, list) and all(isinstance(a, dict) for a in actions)


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
        logger.error("Slack Socket Mode could not connect: %s", task.exception())
    else:
        logger.info("Slack Socket Mode connected")


BOLT = web.AppKey("slack_bolt", AsyncApp)


def register(app: web.Application, engine: Engine, settings: Settings) -> None:
    """Add Slack to the server: POST /slack/events given a signing secret, Socket Mode given an app token."""
    bolt = create_bolt_app(engine, settings)
    app[BOLT] = bolt
    if settings.slack_signing_secret:
        app.router.add_post(EVENTS_PATH, events_handler(bolt, settings.slack_signing_secret))
        logger.info("Slack events, commands and interactivity at POST %s", EVENTS_PATH)
    if settings.slack_app_token:
        app.cleanup_ctx.append(socket_mode(bolt, settings.slack_app_token))
        logger.info("Slack Socket Mode on")


__all__ = ["register", "to_blocks", "to_question", "to_shared_blocks", "to_text"]
