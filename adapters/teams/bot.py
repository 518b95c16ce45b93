"""The Teams bot: one turn at a time, nothing kept between turns that a card button does not carry."""

from __future__ import annotations

import logging
import time

from botbuilder.core import ActivityHandler, TurnContext
from botbuilder.schema import Activity, ChannelAccount

from adapters.ratelimit import Verdict
from adapters.teams.activities import Click, bot_mentions, conversation_type, is_shared, to_click, to_question
from adapters.teams.cards import notice, to_activity
from adapters.teams.connector import DeliveryFailed
from adapters.turns import Turns
from bot.engine import Engine
from bot.models import Reply, ReplyKind
from bot.store import Via

logger = logging.getLogger(__name__)

PLATFORM = "teams"


class NhsmailTeamsBot(ActivityHandler):
    def __init__(self, engine: Engine, turns: Turns) -> None:
        self.engine = engine
        self.turns = turns

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        started = time.monotonic()
        activity = turn_context.activity
        click = to_click(activity.value)
        if click is not None:
            await self._on_click(turn_context, click, started)
            return
        # Teams sends channel and group messages only when the bot is @mentioned; guard anyway, so a bot
        # given wider permissions still speaks only when spoken to.
        if is_shared(activity) and not bot_mentions(activity):
            return
        verdict = self.turns.admit(PLATFORM, _user(activity))
        if verdict is not Verdict.ALLOW:
            if verdict is Verdict.REFUSE:
                await turn_context.send_activity(to_activity(self.engine.rate_limited()))
            return
        question = to_question(activity)
        conversation = conversation_key(activity)
        # in a group chat or channel everyone reads the reply: it warns there about contact details too
        reply = await self.turns.reply(self.engine, question, conversation, shared=is_shared(activity))
        await turn_context.send_activity(to_activity(reply))
        await self.turns.answered(
            PLATFORM,
            conversation_type(activity),
            reply,
            started,
            question=question,
            user=_user(activity),
            conversation=conversation,
        )

    async def _on_click(self, turn_context: TurnContext, click: Click, started: float) -> None:
        activity = turn_context.activity
        reply = self.engine.answer_topic(click.topic)
        if click.action == "topic":
            await turn_context.send_activity(to_activity(reply))
            await self.turns.answered(
                PLATFORM,
                conversation_type(activity),
                reply,
                started,
                question="",
                user=_user(activity),
                conversation=conversation_key(activity),
                via=Via.CLICK,
            )
            return
        if reply.kind is ReplyKind.ANSWER:
            await self.turns.voted(
                PLATFORM,
                click.topic,
                bool(click.helpful),
                user=_user(activity),
                conversation=conversation_key(activity),
                answer=activity.reply_to_id or "",
            )
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
            except DeliveryFailed as error:
                logger.warning("teams: could not update the card after feedback: %s", error)
        await turn_context.send_activity(notice("feedback"))

    async def on_conversation_update_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        bot_id = activity.recipient.id if activity.recipient else None
        added: list[ChannelAccount] = activity.members_added or []
        # welcome once, when the bot itself joins; people joining later are not greeted
        if bot_id and any(member.id == bot_id for member in added):
            logger.info("teams: added to a %s conversation, sending the welcome", conversation_type(activity))
            await turn_context.send_activity(to_activity(self.engine.welcome()))


def conversation_key(activity: Activity) -> str:
    """The conversation (a channel's thread included: Teams puts ;messageid= in its id) as the store
    keys it, the same for every turn and click in it."""
    return f"{PLATFORM}:{activity.conversation.id}"


def _user(activity: Activity) -> str:
    return (activity.from_property.id if activity.from_property else "") or ""


async def on_turn_error(turn_context: TurnContext, error: Exception) -> None:
    """A failed delivery goes back to the endpoint (the channel re-sends); anything else is our fault,
    logged, and the user is told so."""
    if isinstance(error, DeliveryFailed):
        raise error
    activity = turn_context.activity
    logger.error(
        "teams: turn failed (%s in a %s conversation)",
        activity.type,
        conversation_type(activity),
        exc_info=error,
    )
    await turn_context.send_activity(notice("error"))
