"""Question in, Reply out: the one place that decides between answer, did-you-mean, fallback, small talk."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date

from bot import privacy
from bot.knowledge import SMALLTALK_KINDS, KnowledgeBase, load_knowledge
from bot.matcher import Match, Matcher
from bot.models import Contact, Entry, Reply, ReplyKind, Suggestion

# Longer messages are cut before matching: the question is near the start, and the cost stays bounded.
MAX_MESSAGE_CHARS = 4000
MAX_CHOICES = 3
# for "checked 20 Nov 2026" under an answer: fixed, not the locale's, as the bot speaks English anywhere
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# kisses ("x", "xx", "xoxo") sign off a message in England; they are no word of a question
_KISSES = re.compile(r"x+(?:o+x+)*o?")
# where the question itself may start, after the situation it describes: "can't get into my account,
# can I just phone someone?" asks for the phone route
_ASKING = (
    r"(?:how|what|whats|where|wheres|which|who|whos|why|when|is there|is it|are there|"
    r"can i|can we|can you|can someone|could i|could we|could you|do i|do we|do you|does|should i|should we|"
    r"will i|will it|would it|am i|have i|has it|any way|anyway)\b"
)
_QUESTION_START = re.compile(r"\b" + _ASKING, re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.?!\n]")
# where a second question may begin: "I forgot my password and also how do I add a carer", "What is an
# ODS code? Also my attachments won't open."; a sentence or "and" only when a question follows
_CLAUSE_BREAK = re.compile(
    r"\?+|\b(?:and also|also|plus|as well as|another thing|one more thing)\b"
    r"|(?:[.!;\n]+|\b(?:and|but)\b)(?=\s*" + _ASKING + ")",
    re.IGNORECASE,
)


class Engine:
    """Answers when sure, asks "did you mean" when torn or unsure, and says so honestly otherwise."""

    # Thresholds on the matcher's score in [0, 1], set on the question sets in tests/data (bench/accuracy.py).
    ANSWER_AT = 0.38
    CLARIFY_AT = 0.2
    # the closest rival's score as a share of the best: above TIE the user chooses; at or below LEAD the
    # best is answered even from the clarify band (long messages score lower, but one topic can stand out)
    TIE = 0.9
    LEAD = 0.5
    # when the sentence model was asked, the best topic is answered when it is at least this likely right
    SURE_AT = 0.75
    # did-you-mean lists topics scoring at least this share of the best
    CHOICE_SHARE = 0.75
    # a message with no word of NHSmail's (no anchor) is answered only when it is this close to the topic
    UNANCHORED_AT = 0.5
    # a message this short that is not clear on its own is read as a follow-up to the previous answer:
    # that answer's related topics get a head start ("and what if that doesn't work?")
    FOLLOW_UP_WORDS = 8
    # by the related topic's place in the entry's list, most likely first
    FOLLOW_UP_BOOSTS = (0.2, 0.15, 0.1)
    # a clause of a message is a question of its own from this many words ("I forgot my password"); a
    # message longer than TWO_QUESTIONS_WORDS is one question with its background, far more often than two
    CLAUSE_WORDS = 3
    TWO_QUESTIONS_WORDS = 30

    def __init__(self, kb: KnowledgeBase, semantic: bool = True) -> None:
        """`semantic`: weigh the sentence model's opinion when it is installed (see bot/semantic.py)."""
        self.kb = kb
        self.matcher = Matcher(kb, semantic)
        self._entries = {e.id: e for e in kb.entries}
        words = self.matcher.normaliser.words
        self._by_title = {" ".join(words(t)): e for e in kb.entries for t in (e.title, e.short_title)}
        self._smalltalk_words = frozenset().union(*kb.messages.smalltalk.values())
        self._names = sorted((tuple(words(n)) for n in kb.messages.names), key=len, reverse=True)
        self._smalltalk_or_names = self._smalltalk_words.union(*self._names)
        desk = kb.helpdesk
        self._helpdesk = (
            Contact("phone", desk.phone, desk.name),
            Contact("email", desk.email, desk.name),
        )
        self._menu = tuple(Suggestion(e.id, e.short_title) for e in kb.entries)
        self._topics_all = (*kb.entries, *kb.out_of_scope)
        self._examples = tuple(Suggestion(t, self._entries[t].short_title) for t in kb.messages.examples)
        # every answer is the same whatever the question: built once, then given its confidence
        self._answers = {e.id: self._answer_of(e) for e in kb.entries}
        # the last message ranked and its ranking: a server asks for a short unclear message's reply twice,
        # the second time after the conversation's last topic (Turns.reply), and that ranking, with the
        # sentence model's 1-3 ms, is the same both times. Kept for that very string object only, so that
        # another request's equal text is ranked afresh and no text outlives the next message.
        self._last_ranked: tuple[str, list[Match]] | None = None

    @classmethod
    def load(cls) -> Engine:
        return cls(load_knowledge())

    def warm(self) -> Engine:
        """Build now what is otherwise built on first use, so a server's first answer is as quick as any."""
        _ = self.matcher.normaliser.speller, self.matcher.semantic
        return self

    def topics(self) -> tuple[Suggestion, ...]:
        return self._menu

    def reply(self, message: str, previous_topic: str | None = None, *, shared: bool = False) -> Reply:
        """Answer a message as typed (mentions, emoji, line breaks and all). `previous_topic` is the topic
        of the conversation's last answer, if any: a short message that is unclear on its own follows it.
        The reply still answers, and warns first about what the message should not carry (a password, a
        resident's details; in a `shared` channel, anyone's phone number or email too)."""
        reply = self._reply(message, previous_topic)
        kinds = privacy.warnings_for(privacy.find(message), shared=shared)
        if not kinds:
            return reply
        return replace(reply, warnings=kinds, notices=privacy.notices(kinds, self.kb.messages.warnings))

    def _reply(self, message: str, previous_topic: str | None) -> Reply:
        message = message[:MAX_MESSAGE_CHARS]
        words = self.matcher.normaliser.words(message)
        if not words:
            return self._smalltalk(self.kb.messages.empty)
        entry = self._by_title.get(" ".join(words))
        if entry is not None:
            return self._answer(entry, 1.0)
        previous = self._entries.get(previous_topic) if previous_topic else None
        smalltalk = self._smalltalk_kind(words)
        if smalltalk == "filler" and previous is None:
            smalltalk = "help"  # "what do I do?" with nothing before it
        if smalltalk is not None and smalltalk != "filler":
            return self._smalltalk(getattr(self.kb.messages, smalltalk), with_menu=smalltalk == "help")
        reply = self._decide(self._rank(message))
        if (
            previous is not None
            and reply.kind is not ReplyKind.ANSWER
            and len(words) <= self.FOLLOW_UP_WORDS
            and not self.matcher.unknown(message)  # "who do I call about the hoist" is about the hoist
        ):
            # a fragment ("and the password?") means little to the sentence model: read on its words
            matches = self.matcher.rank(message, limit=len(self._topics_all), meaning=False)
            return self._follow_up(matches, previous, reply)
        if len(words) <= self.TWO_QUESTIONS_WORDS:
            return self._two_questions(message, reply)
        return reply

    def follows_on(self, message: str, reply: Reply) -> bool:
        """Whether `reply`, made without the conversation's last topic, could change with it: a short
        message, or one of filler words alone, that got no answer of its own. Only then is the last topic
        worth fetching from a store."""
        words = self.matcher.normaliser.words(message[:MAX_MESSAGE_CHARS])
        return reply.kind is not ReplyKind.ANSWER and (
            len(words) <= self.FOLLOW_UP_WORDS or self._smalltalk_kind(words) == "filler"
        )

    def answer_topic(self, topic: str) -> Reply:
        """The answer for a topic id (a button click); an unknown id gets the fallback."""
        entry = self._entries.get(topic)
        return self._answer(entry, 1.0) if entry else self._fallback(0.0)

    def welcome(self) -> Reply:
        text = "\n".join([self.kb.messages.welcome, *(f"- {s.title}" for s in self._examples)])
        return Reply(
            ReplyKind.SMALLTALK, text, 1.0, paragraphs=(self.kb.messages.welcome,), follow_ups=self._examples
        )

    def rate_limited(self) -> Reply:
        """What one person sending faster than the bot answers a fair share is told, once."""
        said = self.kb.messages.rate_limited
        return Reply(ReplyKind.SMALLTALK, said, 1.0, paragraphs=(said,))

    def _rank(self, message: str) -> list[Match]:
        last = self._last_ranked
        if last is not None and last[0] is message:
            return last[1]
        matches = self.matcher.rank(message, question=self._question_of, assess=True)
        self._last_ranked = (message, matches)
        return matches

    @staticmethod
    def _question_of(message: str) -> str | None:
        """The last question in a message, from where it starts to the end of its sentence, when
        something comes before it; None when the message starts with its question."""
        start, end_of_last = -1, -1
        for found in _QUESTION_START.finditer(message):
            # "how do I", "what am I": one question start, not two
            if not message[end_of_last : found.start()].isspace():
                start = found.start()
            end_of_last = found.end()
        if start <= 3:
            return None
        end = _SENTENCE_END.search(message, start)
        question = message[start : end.end() if end else len(message)].strip()
        return question if len(question.split()) >= 2 else None

    def _decide(self, matches: list[Match]) -> Reply:
        in_scope = [m for m in matches if m.in_scope]
        best = in_scope[0] if in_scope else None
        if best is None or self._declined(matches):
            return self._fallback(best.score if best else 0.0)
        out_of_scope = next((m for m in matches if not m.in_scope), None)
        # the closest rival's score as a share of the best: another topic, or a subject the FAQ does not cover
        rivals = [m.score for m in (*in_scope[1:2], out_of_scope) if m is not None]
        runner_up = max(rivals, default=0.0) / best.score
        # when the sentence model was asked: how likely the best topic is right, all the evidence weighed
        if best.sure is not None:
            sure = best.sure >= self.SURE_AT
        else:
            sure = (best.score >= self.ANSWER_AT and runner_up <= self.TIE) or runner_up <= self.LEAD
        if sure:
            others = tuple(self._suggestion(m) for m in in_scope[1:MAX_CHOICES] if m.score >= self.ANSWER_AT)
            return self._answer(self._entries[best.topic], best.score, others)
        close = [m for m in in_scope[:MAX_CHOICES] if m.score >= best.score * self.CHOICE_SHARE]
        if len(close) < 2:  # a did-you-mean offers a choice: the next topic, however far behind
            if len(in_scope) < 2:
                return self._fallback(best.score)
            close = in_scope[:2]
        return self._clarify(tuple(self._suggestion(m) for m in close), best.score)

    def _declined(self, matches: list[Match]) -> bool:
        """Whether the message gets the fallback whatever else is weighed: no topic the FAQ answers fits
        well enough, a message with no word of NHSmail's does not fit closely, or a subject the FAQ does not
        cover fits better."""
        best = next((m for m in matches if m.in_scope), None)
        if (
            best is None
            or best.score < self.CLARIFY_AT
            or (not best.anchored and best.score < self.UNANCHORED_AT)
        ):
            return True
        outside = next((m for m in matches if not m.in_scope), None)
        return outside is not None and best.score < outside.score * self.TIE

    def _follow_up(self, matches: list[Match], previous: Entry, alone: Reply) -> Reply:
        """A short message that is unclear on its own (`alone`: its reply read so), read after the answer
        on `previous`: its related topics get a head start; the topic just answered is not answered again.
        Another topic is answered only as the message alone would be: the previous answer says nothing for
        it. A fragment that still makes no sense gets the related topics as choices, unless a subject the
        FAQ does not cover fits."""
        boosts = dict(zip(previous.related, self.FOLLOW_UP_BOOSTS, strict=False))
        shifted = sorted(
            (
                # how sure the bot is of a message read alone says nothing of it read as a follow-up
                Match(m.topic, min(1.0, m.score + boosts[m.topic]), True, True)
                if m.topic in boosts
                else m._replace(sure=None)
                for m in matches
                if m.topic != previous.id
            ),
            key=lambda m: -m.score,
        )
        reply = self._decide(shifted)
        if reply.kind is ReplyKind.ANSWER and reply.topic not in boosts:
            return alone
        if reply.kind is not ReplyKind.FALLBACK:
            return reply
        if matches and not matches[0].in_scope and matches[0].score >= self.CLARIFY_AT:
            return reply
        choices = tuple(Suggestion(t, self._entries[t].short_title) for t in previous.related)
        return self._clarify(choices[:MAX_CHOICES], 0.0)

    def _two_questions(self, message: str, reply: Reply) -> Reply:
        """Two questions in one message: each clause that is a clear question of its own is answered or
        offered, so neither is dropped. The whole message's answer stands when it is one of them."""
        clauses = [c for c in _CLAUSE_BREAK.split(message) if c and len(c.split()) >= self.CLAUSE_WORDS]
        # only a clause that says it is about NHSmail can be answered alone: most messages have one at most
        clauses = [c for c in clauses if self.matcher.anchored(c)] if len(clauses) >= 2 else []
        if len(clauses) < 2:
            return reply
        answers: dict[str, Reply] = {}
        for clause in clauses:
            matches = self.matcher.rank(clause)
            if matches and matches[0].anchored:
                said = self._decide(matches)
                if said.kind is ReplyKind.ANSWER and said.topic:
                    answers.setdefault(said.topic, said)
        if len(answers) < 2:
            return reply
        offered = [Suggestion(t, self._entries[t].short_title, a.confidence) for t, a in answers.items()]
        if reply.kind is ReplyKind.ANSWER:
            choices = [s for s in offered if s.topic != reply.topic]
            choices += [s for s in reply.suggestions if s.topic not in answers]
            return replace(reply, suggestions=tuple(choices[:MAX_CHOICES]))
        # unsure of the whole message: a clause read alone is often its background, so ask, never guess
        chosen = {s.topic for s in reply.suggestions}
        choices = [*reply.suggestions, *(s for s in offered if s.topic not in chosen)]
        return self._clarify(tuple(choices[:MAX_CHOICES]), reply.confidence)

    def _suggestion(self, match: Match) -> Suggestion:
        return Suggestion(match.topic, self._entries[match.topic].short_title, round(match.score, 3))

    def _answer(self, entry: Entry, confidence: float, others: tuple[Suggestion, ...] = ()) -> Reply:
        return replace(self._answers[entry.id], confidence=round(confidence, 3), suggestions=others)

    def _answer_of(self, entry: Entry) -> Reply:
        paragraphs = tuple(p.strip() for p in re.split(r"\n\s*\n", entry.answer) if p.strip())
        follow_ups = tuple(Suggestion(t, self._entries[t].short_title) for t in entry.related)
        reviewed = date.fromisoformat(entry.last_reviewed)
        checked = f"{reviewed.day} {_MONTHS[reviewed.month - 1]} {reviewed.year}"
        source = self.kb.messages.answer_source.format(title=self.kb.source_title, date=checked)
        return Reply(
            ReplyKind.ANSWER,
            text="\n\n".join([entry.title, *paragraphs, source]),
            confidence=1.0,
            topic=entry.id,
            title=entry.title,
            paragraphs=paragraphs,
            phone_steps=entry.phone_steps,
            links=entry.links,
            contacts=entry.contacts,
            follow_ups=follow_ups,
            source=source,
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
        """The kind of small talk a message is, "filler" if it is only filler words, None if it is no
        small talk. Kisses and the bot's names are set aside first ("Hello NHSmail Help", "ta x")."""
        known = self._smalltalk_or_names
        if not all(w in known or _KISSES.fullmatch(w) for w in words):
            return None  # most messages: a word of a question, found at once
        words = [w for w in words if w in known]
        if not words:
            return "ack"  # only kisses
        rest = self._without_names(words)
        if not rest or not all(w in self._smalltalk_words for w in rest):
            return None
        kinds = self.kb.messages.smalltalk
        return next((k for k in SMALLTALK_KINDS if kinds[k].intersection(rest)), "filler")

    def _without_names(self, words: list[str]) -> list[str]:
        rest: list[str] = []
        i = 0
        while i < len(words):
            name = next((n for n in self._names if tuple(words[i : i + len(n)]) == n), None)
            if name:
                i += len(name)
            else:
                rest.append(words[i])
                i += 1
        return rest

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
