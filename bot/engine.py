"""Question in, Reply out: the one place that decides between answer, did-you-mean, fallback, small talk."""

from __future__ import annotations

import re
from dataclasses import replace

from bot import privacy
from bot.feedback import FeedbackSink, InMemoryFeedback
from bot.knowledge import SMALLTALK_KINDS, KnowledgeBase, load_knowledge
from bot.matcher import Match, Matcher
from bot.models import Contact, Entry, Feedback, Reply, ReplyKind, Suggestion

# Longer messages are cut before matching: the question is near the start, and the cost stays bounded.
MAX_MESSAGE_CHARS = 4000
MAX_CHOICES = 3


class Engine:
    """Answers when sure, asks "did you mean" when torn or unsure, and says so honestly otherwise."""

    # Thresholds on the matcher's score in [0, 1], set on the question sets in tests/data (bench/accuracy.py).
    ANSWER_AT = 0.38
    CLARIFY_AT = 0.2
    # the closest rival's score as a share of the best: above TIE the user chooses; at or below LEAD the
    # best is answered even from the clarify band (long messages score lower, but one topic can stand out)
    TIE = 0.9
    LEAD = 0.5
    # did-you-mean lists topics scoring at least this share of the best
    CHOICE_SHARE = 0.75
    # a message with no word of NHSmail's (no anchor) is answered only when it is this close to the topic
    UNANCHORED_AT = 0.5

    def __init__(self, kb: KnowledgeBase, feedback: FeedbackSink | None = None) -> None:
        self.kb = kb
        self.feedback = feedback or InMemoryFeedback()
        self.matcher = Matcher(kb)
        self._entries = {e.id: e for e in kb.entries}
        words = self.matcher.normaliser.words
        self._by_title = {" ".join(words(t)): e for e in kb.entries for t in (e.title, e.short_title)}
        self._smalltalk_words = frozenset().union(*kb.messages.smalltalk.values())
        desk = kb.helpdesk
        self._helpdesk = (
            Contact("phone", desk.phone, desk.name),
            Contact("email", desk.email, desk.name),
        )
        self._menu = tuple(Suggestion(e.id, e.short_title) for e in kb.entries)
        self._examples = tuple(Suggestion(t, self._entries[t].short_title) for t in kb.messages.examples)
        # every answer is the same whatever the question: built once, then given its confidence
        self._answers = {e.id: self._answer_of(e) for e in kb.entries}

    @classmethod
    def load(cls, feedback: FeedbackSink | None = None) -> Engine:
        return cls(load_knowledge(), feedback)

    def warm(self) -> Engine:
        """Build now what is otherwise built on first use, so a server's first answer is as quick as any."""
        _ = self.matcher.normaliser.speller
        return self

    def topics(self) -> tuple[Suggestion, ...]:
        return self._menu

    def record_feedback(self, feedback: Feedback) -> None:
        self.feedback.record(feedback)

    @privacy.warns  # the Reply's warnings: a password or a resident's details in the message
    def reply(self, message: str) -> Reply:
        """Answer a message as typed (mentions, emoji, line breaks and all)."""
        message = message[:MAX_MESSAGE_CHARS]
        words = self.matcher.normaliser.words(message)
        if not words:
            return self._smalltalk(self.kb.messages.empty)
        entry = self._by_title.get(" ".join(words))
        if entry is not None:
            return self._answer(entry, 1.0)
        smalltalk = self._smalltalk_kind(words)
        if smalltalk is not None:
            return self._smalltalk(getattr(self.kb.messages, smalltalk), with_menu=smalltalk == "help")
        return self._decide(self.matcher.rank(message))

    def answer_topic(self, topic: str) -> Reply:
        """The answer for a topic id (a button click); an unknown id gets the fallback."""
        entry = self._entries.get(topic)
        return self._answer(entry, 1.0) if entry else self._fallback(0.0)

    def welcome(self) -> Reply:
        text = "\n".join([self.kb.messages.welcome, *(f"- {s.title}" for s in self._examples)])
        return Reply(
            ReplyKind.SMALLTALK, text, 1.0, paragraphs=(self.kb.messages.welcome,), follow_ups=self._examples
        )

    def _decide(self, matches: list[Match]) -> Reply:
        in_scope = [m for m in matches if m.in_scope]
        best = in_scope[0] if in_scope else None
        if (
            best is None
            or best.score < self.CLARIFY_AT
            or (not best.anchored and best.score < self.UNANCHORED_AT)
        ):
            return self._fallback(best.score if best else 0.0)
        out_of_scope = next((m for m in matches if not m.in_scope), None)
        if out_of_scope and best.score < out_of_scope.score * self.TIE:
            return self._fallback(best.score)  # a subject the FAQ does not cover fits the message better
        # the closest rival's score as a share of the best: another topic, or a subject the FAQ does not cover
        rivals = [m.score for m in (*in_scope[1:2], out_of_scope) if m is not None]
        runner_up = max(rivals, default=0.0) / best.score
        if (best.score >= self.ANSWER_AT and runner_up <= self.TIE) or runner_up <= self.LEAD:
            others = tuple(self._suggestion(m) for m in in_scope[1:MAX_CHOICES] if m.score >= self.ANSWER_AT)
            return self._answer(self._entries[best.topic], best.score, others)
        choices = tuple(
            self._suggestion(m) for m in in_scope[:MAX_CHOICES] if m.score >= best.score * self.CHOICE_SHARE
        )
        return self._clarify(choices, best.score)

    def _suggestion(self, match: Match) -> Suggestion:
        return Suggestion(match.topic, self._entries[match.topic].short_title, round(match.score, 3))

    def _answer(self, entry: Entry, confidence: float, others: tuple[Suggestion, ...] = ()) -> Reply:
        return replace(self._answers[entry.id], confidence=round(confidence, 3), suggestions=others)

    def _answer_of(self, entry: Entry) -> Reply:
        paragraphs = tuple(p.strip() for p in re.split(r"\n\s*\n", entry.answer) if p.strip())
        follow_ups = tuple(Suggestion(t, self._entries[t].short_title) for t in entry.related)
        return Reply(
            ReplyKind.ANSWER,
            text="\n\n".join([entry.title, *paragraphs]),
            confidence=1.0,
            topic=entry.id,
            title=entry.title,
            paragraphs=paragraphs,
            phone_steps=entry.phone_steps,
            links=entry.links,
            contacts=entry.contacts,
            follow_ups=follow_ups,
        )

    def _clarify(self, choices: tuple[Suggestion, ...], confidence: float) -> Reply:
        question = self.kb.messages.clarify
        text = "\n".join([question, *(f"{n}. {c.title}" for n, c in enumerate(choices, 1))])
        return Reply(
            ReplyKind.CLARIFY, text, round(confidence, 3), paragraphs=(question,), suggestions=choices
        )

    def _fallback(self, confidence: float) -> Reply:
        messages, desk = self.kb.messages, self.kb.helpdesk
        helpdesk = messages.fallback_helpdesk.format(name=desk.name, email=desk.email, phone=desk.phone)
        paragraphs = (messages.fallback, helpdesk, messages.fallback_topics)
        return Reply(
            ReplyKind.FALLBACK,
            text="\n\n".join(paragraphs),
            confidence=round(confidence, 3),
            paragraphs=paragraphs,
            contacts=self._helpdesk,
            follow_ups=self._examples,
            menu=self._menu,
        )

    def _smalltalk_kind(self, words: list[str]) -> str | None:
        if not all(w in self._smalltalk_words for w in words):
            return None
        kinds = self.kb.messages.smalltalk
        return next((k for k in SMALLTALK_KINDS if kinds[k].intersection(words)), "help")

    def _smalltalk(self, said: str, with_menu: bool = False) -> Reply:
        lines = [said, *(f"{n}. {s.title}" for n, s in enumerate(self._menu, 1))] if with_menu else [said]
        return Reply(
            ReplyKind.SMALLTALK,
            "\n".join(lines),
            1.0,
            paragraphs=(said,),
            menu=self._menu if with_menu else (),
        )


__all__ = ["Engine"]
