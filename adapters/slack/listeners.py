"""The Bolt listeners: each turns a Slack payload into a question or a topic, and sends the Reply back."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from adapters.metrics import Metrics
from adapters.ratelimit import Verdict
from adapters.settings import Settings
from adapters.slack.blocks import labels, to_blocks, to_shared_blocks, to_text
from adapters.slack.payloads import to_question, well_formed
from adapters.slack.sdk_log import sdk_logger
from adapters.slack.web_api import Authorize, SlackWeb
from adapters.turns import Turns
from bot.engine import Engine
from bot.models import Reply, ReplyKind
from bot.store import Via

logger = logging.getLogger("adapters.slack")

COMMAND = "/nhsmail"
PLATFORM = "slack"


class SlackBot:
    """The Bolt listeners. Everything goes out through `web` (one client, one session), and every field of a
    payload is read as possibly missing or of the wrong type: it came from outside."""

    def __init__(self, engine: Engine, web: SlackWeb, turns: Turns) -> None:
        self.engine = engine
        self.web = web
        self.turns = turns

    async def check(self, body: Any) -> BoltResponse | None:
        """Refuse malformed payloads (Socket Mode ones too: HTTP ones were checked at the door), and take
        each delivery once, across replicas: Slack's retry of an event, or a replayed slash command or
        click (each carries its own trigger_id), is acknowledged and dropped."""
        if not well_formed(body):
            return BoltResponse(status=400, body="")
        key = _delivery_key(body)
        if key and not await self.turns.first_time(key):
            self.turns.resent(PLATFORM)
            return BoltResponse(status=200, body="")
        return None

    async def on_command(self, ack: AsyncAck, command: dict[str, Any]) -> None:
        # the answer goes back in the acknowledgement itself: the engine answers in a millisecond, well within
        # Slack's 3 seconds, and no response_url call is needed (or can fail)
        started = time.monotonic()
        user = _str(command, "user_id")
        # the answer is the user's own, even in a channel: so is the conversation
        conversation = _conversation(_str(command, "channel_id"), user)
        verdict = self.turns.admit(PLATFORM, user)
        if verdict is not Verdict.ALLOW:
            if verdict is Verdict.REFUSE:
                await ack(response_type="ephemeral", text=to_text(self.engine.rate_limited()))
            else:
                await ack()
            return
        question = to_question(_str(command, "text"))
        wants_help = question.lower() in ("", "help", "topics", "list")
        reply = await self._reply_in(conversation, "help" if wants_help else question)
        blocks = to_blocks(reply, share=True, list_topics=wants_help)
        await ack(response_type="ephemeral", text=to_text(reply), blocks=blocks)
        await self.turns.answered(
            PLATFORM,
            "slash command",
            reply,
            started,
            question=question,
            user=user,
            conversation=conversation,
        )

    async def on_mention(self, event: dict[str, Any]) -> None:
        if _ignored(event):
            return
        thread_ts = _str(event, "thread_ts") or _str(event, "ts")
        self.web.later(self._converse(event, "mention", thread_ts, shared=True))

    async def on_message(self, event: dict[str, Any]) -> None:
        # message.im only; mentions in channels arrive as app_mention
        if event.get("channel_type") != "im" or _ignored(event):
            return
        self.web.later(self._converse(event, "direct message", _str(event, "thread_ts"), shared=False))

    async def _converse(self, event: dict[str, Any], where: str, thread_ts: str, *, shared: bool) -> None:
        """Answer a message in its channel, in `thread_ts` (a mention's thread, or a new one under it). In
        a `shared` channel a warning about what the message carried goes to its sender alone."""
        started = time.monotonic()
        channel, user = _str(event, "channel"), _str(event, "user")
        verdict = self.turns.admit(PLATFORM, user)
        if verdict is not Verdict.ALLOW:
            if verdict is Verdict.REFUSE:
                await self._tell(channel, user, thread_ts, self.engine.rate_limited(), privately=shared)
            return
        question = to_question(_str(event, "text"))
        conversation = _conversation(channel, thread_ts)
        reply = await self._reply_in(conversation, question, shared=shared)
        if shared and reply.notices:
            warning = Reply(ReplyKind.SMALLTALK, "\n\n".join(reply.notices), paragraphs=reply.notices)
            await self._tell(channel, user, thread_ts, warning, privately=True)
            reply = replace(reply, notices=())
        if await self._post(channel, thread_ts, reply):
            await self.turns.answered(
                PLATFORM,
                where,
                reply,
                started,
                question=question,
                user=user,
                conversation=conversation,
            )

    async def _tell(self, channel: str, user: str, thread_ts: str, reply: Reply, *, privately: bool) -> None:
        """Say something to one person: in a shared channel as a message only they see."""
        if not privately:
            await self._post(channel, thread_ts, reply)
            return
        problem = await self.web.post_ephemeral(
            channel=channel,
            user=user,
            thread_ts=thread_ts or None,
            text=to_text(reply),
            blocks=to_blocks(reply),
        )
        if problem:
            self.turns.undelivered(PLATFORM, problem)

    async def on_choose(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        """A did-you-mean, follow-up or menu choice: answer the chosen topic where the click happened."""
        await ack()
        self.web.later(self._choose(body, action))

    async def _choose(self, body: dict[str, Any], action: dict[str, Any]) -> None:
        started = time.monotonic()
        topic = _str(action, "value") or _str(_obj(action, "selected_option"), "value")
        reply = self._answer(topic)
        if _obj(body, "container").get("is_ephemeral"):
            delivered = await self._respond(
                body, replace_original=True, text=to_text(reply), blocks=to_blocks(reply, share=True)
            )
        else:
            channel, thread_ts = _where_clicked(body)
            delivered = await self._post(channel, thread_ts, reply)
        if delivered:
            user = _str(_obj(body, "user"), "id")
            await self.turns.answered(
                PLATFORM,
                "click",
                reply,
                started,
                question="",
                user=user,
                conversation=_click_conversation(body),
                via=Via.CLICK,
            )

    async def on_share(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        """Post the ephemeral answer in the channel for everyone, then remove the private copy."""
        await ack()
        self.web.later(self._share(body, action))

    async def _share(self, body: dict[str, Any], action: dict[str, Any]) -> None:
        reply = self._answer(_str(action, "value"))
        if not reply.matched:
            return
        blocks = to_shared_blocks(reply, _str(_obj(body, "user"), "id"))
        if await self._respond(
            body, response_type="in_channel", replace_original=False, text=to_text(reply), blocks=blocks
        ):
            await self._respond(body, delete_original=True)

    async def on_feedback(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        self.web.later(self._feedback(body, action))

    async def _feedback(self, body: dict[str, Any], action: dict[str, Any]) -> None:
        reply = self._answer(_str(action, "value"))
        if not reply.matched or reply.topic is None:
            return
        helpful = action.get("action_id") == "helpful"
        await self.turns.voted(
            PLATFORM,
            reply.topic,
            helpful,
            user=_str(_obj(body, "user"), "id"),
            conversation=_click_conversation(body),
            answer=_str(_obj(body, "message"), "ts") or _str(_obj(body, "container"), "message_ts"),
        )
        # the answer is rebuilt from its topic rather than stored: the thanks replaces the buttons
        ephemeral = bool(_obj(body, "container").get("is_ephemeral"))
        blocks = to_blocks(reply, share=ephemeral, feedback_given=True)
        await self._respond(body, replace_original=True, text=to_text(reply), blocks=blocks)

    async def _reply_in(self, conversation: str, question: str, *, shared: bool = False) -> Reply:
        """The reply in this conversation (see Turns.reply), or a polite line when the engine fails."""
        try:
            return await self.turns.reply(self.engine, question, conversation, shared=shared)
        except Exception:
            # never the text itself: staff paste residents' details and passwords
            logger.exception("Slack: the engine failed on a message of %d characters", len(question))
            return _failed()

    def _answer(self, topic: str) -> Reply:
        try:
            return self.engine.answer_topic(topic)
        except Exception:
            logger.exception("Slack: the engine failed on a topic button")
            return _failed()

    async def _post(self, channel: str, thread_ts: str, reply: Reply) -> bool:
        if not channel:
            return False
        problem = await self.web.post_message(
            channel=channel,
            thread_ts=thread_ts or None,
            text=to_text(reply),
            blocks=to_blocks(reply),
            unfurl_links=False,
            unfurl_media=False,
        )
        if problem:
            self.turns.undelivered(PLATFORM, problem)
        return problem is None

    async def _respond(self, payload: dict[str, Any], **message: Any) -> bool:
        url = _str(payload, "response_url")
        if not url:
            logger.warning("Slack request has no response_url: cannot answer it")
            return False
        problem = await self.web.respond(url, **message)
        if problem:
            self.turns.undelivered(PLATFORM, problem)
        return problem is None


class Checks(AsyncMiddleware):
    """SlackBot.check as a Bolt middleware of its own: Bolt then calls it directly, without working out
    which arguments a plain function wants on every request."""

    def __init__(self, listeners: SlackBot) -> None:
        self.listeners = listeners

    async def async_process(
        self, *, req: AsyncBoltRequest, resp: BoltResponse, next: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse:
        # Bolt passes `next` by that name; in a dispatch it only marks that the chain goes on
        return await self.listeners.check(req.body) or await next()


def _conversation(channel: str, thread_or_user: str) -> str:
    """A conversation as the store keys it: a channel's thread, a DM, or one user's slash commands."""
    return f"{PLATFORM}:{channel}:{thread_or_user}"


def _where_clicked(body: dict[str, Any]) -> tuple[str, str]:
    """The channel and thread a click on a message (not an ephemeral one) is answered in: a channel's
    conversation stays in its thread; a DM has no threads unless the user made one."""
    channel = _str(_obj(body, "channel"), "id")
    message = _obj(body, "message")
    return channel, _str(message, "thread_ts") or ("" if channel.startswith("D") else _str(message, "ts"))


def _click_conversation(body: dict[str, Any]) -> str:
    """The conversation a click belongs to: the one its message was answered in."""
    if _obj(body, "container").get("is_ephemeral"):
        return _conversation(_str(_obj(body, "channel"), "id"), _str(_obj(body, "user"), "id"))
    return _conversation(*_where_clicked(body))


def _delivery_key(body: dict[str, Any]) -> str | None:
    """What makes one delivery: an event's event_id, a slash command's or a click's trigger_id."""
    if body.get("type") == "event_callback":
        event_id = body.get("event_id")
        return f"{PLATFORM}:event:{event_id}" if isinstance(event_id, str) and event_id else None
    trigger = body.get("trigger_id")
    return f"{PLATFORM}:trigger:{trigger}" if isinstance(trigger, str) and trigger else None


def _obj(part: Any, key: str) -> dict[str, Any]:
    """A nested object of a payload, or an empty one when it is missing or not an object."""
    value = part.get(key) if isinstance(part, dict) else None
    return value if isinstance(value, dict) else {}


def _str(part: Any, key: str) -> str:
    """A string field of a payload, or "" when it is missing or not a string."""
    value = part.get(key) if isinstance(part, dict) else None
    return value if isinstance(value, str) else ""


def _failed() -> Reply:
    """What the user sees when answering went wrong on our side: a polite line, never silence."""
    said = labels()["failed"]
    return Reply(ReplyKind.FALLBACK, said, paragraphs=(said,))


def _ignored(event: dict[str, Any]) -> bool:
    """Bots (ourselves included), edits, deletions and every other subtype are not questions."""
    return bool(event.get("bot_id") or event.get("subtype") or event.get("edited"))


def create_bolt_app(
    engine: Engine, settings: Settings, web: SlackWeb | None = None, turns: Turns | None = None
) -> AsyncApp:
    """The Bolt app with its listeners. It is given the bot's client and an authorize step that needs no Web
    API call, so an unreachable Slack never fails or delays an acknowledgement.

    Bolt is told to finish each listener before it answers (`process_before_response`): a slash command's
    answer is its acknowledgement, and otherwise Bolt would look for it every 10 ms. The listeners that send
    anything through the Web API hand that to `web.later` and return at once."""
    quiet = sdk_logger()
    web = web or SlackWeb(settings, quiet)
    bolt = AsyncApp(
        name="nhsmail-bot",
        logger=quiet,
        client=web.client,
        authorize=Authorize(web),
        signing_secret=settings.slack_signing_secret,
        process_before_response=True,
    )
    listeners = SlackBot(engine, web, turns or Turns(Metrics()))
    bolt.use(Checks(listeners))
    bolt.command(COMMAND)(listeners.on_command)
    bolt.event("app_mention")(listeners.on_mention)
    bolt.event("message")(listeners.on_message)
    bolt.action(re.compile(r"^(choose|follow_up)_\d+$"))(listeners.on_choose)
    bolt.action("menu")(listeners.on_choose)
    bolt.action("share")(listeners.on_share)
    bolt.action(re.compile(r"^(helpful|not_helpful)$"))(listeners.on_feedback)
    return bolt
