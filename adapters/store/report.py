"""The content owner's report, read from the store: what was asked, what was answered, what to add."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.store import schema
from bot.knowledge import review_due
from bot.models import Entry
from bot.store import Outcome, Via

OUTCOMES = tuple(outcome.value for outcome in Outcome)
# a click answers the question asked just before it only if it comes soon after
CLICK_WINDOW = timedelta(minutes=30)
MAX_ROWS = 200_000  # the report reads at most this many questions and clicks; a summary, not an export
_SINCE = re.compile(r"^\s*(\d+)\s*([hdw])\s*$")


@dataclass(frozen=True, slots=True)
class Report:
    since: datetime
    until: datetime
    messages: int
    clicks: int
    outcomes: dict[str, int]
    by_platform: dict[str, dict[str, int]]
    daily: list[dict[str, Any]]
    topics: list[dict[str, Any]]
    unanswered: list[dict[str, Any]]
    suggested_phrasings: list[dict[str, Any]]
    review_due: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        answered = self.outcomes.get(Outcome.ANSWER.value, 0)
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "messages": self.messages,
            "clicks": self.clicks,
            "answer_rate": round(answered / self.messages, 4) if self.messages else None,
            "outcomes": self.outcomes,
            "by_platform": self.by_platform,
            "daily": self.daily,
            "topics": self.topics,
            "unanswered": [{**row, "last_seen": row["last_seen"].isoformat()} for row in self.unanswered],
            "suggested_phrasings": self.suggested_phrasings,
            "review_due": self.review_due,
        }


def parse_since(value: str, now: datetime) -> datetime:
    """`7d`, `12h`, `2w`, or a date (YYYY-MM-DD, UTC midnight)."""
    found = _SINCE.match(value)
    if found:
        amount, unit = int(found[1]), found[2]
        return now - timedelta(**{{"h": "hours", "d": "days", "w": "weeks"}[unit]: amount})
    try:
        return datetime.combine(date.fromisoformat(value.strip()), datetime.min.time(), UTC)
    except ValueError:
        raise ValueError(f"--since {value!r}: give a span (7d, 12h, 2w) or a date (2026-11-01)") from None


def normalise(text: str) -> str:
    """Group questions that differ only in case, spacing or closing punctuation."""
    return " ".join(text.lower().split()).strip(" ?!.,;:")


async def build_report(
    engine: AsyncEngine,
    since: datetime,
    until: datetime,
    entries: tuple[Entry, ...] = (),
    review_months: int = 6,
) -> Report:
    events, votes, questions = schema.events, schema.feedback, schema.unanswered
    in_events = (events.c.at >= since) & (events.c.at < until)
    async with engine.connect() as connection:
        by_kind = (
            await connection.execute(
                select(events.c.platform, events.c.via, events.c.outcome, func.count())
                .where(in_events)
                .group_by(events.c.platform, events.c.via, events.c.outcome)
            )
        ).all()
        days = (
            await connection.execute(
                select(func.date(events.c.at), events.c.outcome, func.count())
                .where(in_events & (events.c.via == Via.MESSAGE.value))
                .group_by(func.date(events.c.at), events.c.outcome)
            )
        ).all()
        answers = (
            await connection.execute(
                select(events.c.topic, func.count())
                .where(in_events & (events.c.outcome == Outcome.ANSWER.value) & events.c.topic.is_not(None))
                .group_by(events.c.topic)
            )
        ).all()
        feedback = (
            await connection.execute(
                select(votes.c.topic, votes.c.helpful, func.count())
                .where((votes.c.at >= since) & (votes.c.at < until))
                .group_by(votes.c.topic, votes.c.helpful)
            )
        ).all()
        asked = (
            await connection.execute(
                select(questions.c.at, questions.c.kind, questions.c.conversation_hash, questions.c.text)
                .where((questions.c.at >= since) & (questions.c.at < until))
                .order_by(questions.c.at)
                .limit(MAX_ROWS)
            )
        ).all()
        conversations = {row.conversation_hash for row in asked if row.kind != "not_helpful"}
        turns = []
        if conversations:
            turns = (
                await connection.execute(
                    select(
                        events.c.at,
                        events.c.conversation_hash,
                        events.c.via,
                        events.c.outcome,
                        events.c.topic,
                    )
                    .where(
                        (events.c.at >= since)
                        & (events.c.at < until + CLICK_WINDOW)
                        & events.c.conversation_hash.in_(sorted(conversations))
                    )
                    .order_by(events.c.at)
                    .limit(MAX_ROWS)
                )
            ).all()

    outcomes = dict.fromkeys(OUTCOMES, 0)
    by_platform: dict[str, dict[str, int]] = {}
    messages = clicks = 0
    for platform, via, outcome, count in by_kind:
        if via == Via.CLICK.value:
            clicks += count
            continue
        messages += count
        outcomes[outcome] = outcomes.get(outcome, 0) + count
        row = by_platform.setdefault(platform, {"messages": 0, **dict.fromkeys(OUTCOMES, 0)})
        row["messages"] += count
        row[outcome] = row.get(outcome, 0) + count

    per_day: dict[str, Counter[str]] = defaultdict(Counter)
    for day, outcome, count in days:
        per_day[str(day)][outcome] += count
    daily = []
    for day in sorted(per_day):
        total = sum(per_day[day].values())
        answered = per_day[day][Outcome.ANSWER.value]
        daily.append(
            {"date": day, "messages": total, "answered": answered, "answer_rate": round(answered / total, 4)}
        )

    titles = {entry.id: entry.short_title for entry in entries}
    topic_rows: dict[str, dict[str, Any]] = {
        topic: {"topic": topic, "title": title, "answers": 0, "helpful": 0, "not_helpful": 0}
        for topic, title in titles.items()
    }
    for topic, count in answers:
        topic_rows.setdefault(topic, _topic(topic))["answers"] += count
    for topic, helpful, count in feedback:
        topic_rows.setdefault(topic, _topic(topic))["helpful" if helpful else "not_helpful"] += count
    topics = sorted(topic_rows.values(), key=lambda r: (-r["answers"], -r["not_helpful"], r["topic"]))

    return Report(
        since=since,
        until=until,
        messages=messages,
        clicks=clicks,
        outcomes=outcomes,
        by_platform=dict(sorted(by_platform.items())),
        daily=daily,
        topics=topics,
        unanswered=_group(asked),
        suggested_phrasings=_suggest(asked, turns, set(titles) or None),
        review_due=_review_due(entries, until, review_months),
    )


def _topic(topic: str) -> dict[str, Any]:
    return {"topic": topic, "title": None, "answers": 0, "helpful": 0, "not_helpful": 0}


def _group(asked: list[Any]) -> list[dict[str, Any]]:
    groups: dict[str, dict[str, Any]] = {}
    for row in asked:
        key = normalise(row.text)
        if not key:
            continue
        group = groups.setdefault(
            key, {"text": row.text, "count": 0, "last_seen": row.at, "kinds": Counter()}
        )
        group["count"] += 1
        group["kinds"][row.kind] += 1
        if row.at >= group["last_seen"]:
            group["last_seen"], group["text"] = row.at, row.text
    ordered = sorted(groups.values(), key=lambda g: (-g["count"], -g["last_seen"].timestamp()))
    return [{**group, "kinds": dict(group["kinds"])} for group in ordered]


def _suggest(asked: list[Any], turns: list[Any], known: set[str] | None) -> list[dict[str, Any]]:
    """A did-you-mean or fallback, then the next turn in that conversation a click on a topic that was
    answered: the question is a way of asking for that topic."""
    by_conversation: dict[str, list[Any]] = defaultdict(list)
    for turn in turns:
        by_conversation[turn.conversation_hash].append(turn)
    found: Counter[tuple[str, str]] = Counter()
    texts: dict[tuple[str, str], str] = {}
    for question in asked:
        if question.kind == "not_helpful":
            continue
        later = [t for t in by_conversation[question.conversation_hash] if t.at > question.at]
        if not later:
            continue
        following = later[0]
        if (
            following.via == Via.CLICK.value
            and following.outcome == Outcome.ANSWER.value
            and following.topic
            and (known is None or following.topic in known)
            and following.at - question.at <= CLICK_WINDOW
        ):
            key = (following.topic, normalise(question.text))
            found[key] += 1
            texts[key] = question.text
    return [
        {"topic": topic, "text": texts[(topic, key)], "count": count}
        for (topic, key), count in sorted(found.items(), key=lambda item: (item[0][0], -item[1], item[0][1]))
    ]


def _review_due(entries: tuple[Entry, ...], until: datetime, months: int) -> list[dict[str, Any]]:
    """Entries whose last_reviewed is more than `months` before the report's end: kb check's own rule."""
    return [
        {"topic": entry.id, "title": entry.short_title, "last_reviewed": entry.last_reviewed}
        for entry in review_due(entries, until.date(), months)
    ]
