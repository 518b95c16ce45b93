"""The store on real SQLite and real PostgreSQL: dedupe across replicas, context, votes, questions, purge."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from adapters.store import SqlStore, open_store, schema
from adapters.store.render import to_yaml
from adapters.store.report import build_report
from bot.engine import Engine
from bot.models import Reply, ReplyKind, Suggestion
from bot.store import Outcome, TurnEvent, Via, note_turn


async def _rows(store: SqlStore, table: sa.Table) -> list[sa.Row]:
    async with store.engine.connect() as connection:
        return list((await connection.execute(sa.select(table))).all())


async def _report(store: SqlStore, engine: Engine | None = None):
    now = datetime.now(UTC)
    entries = engine.kb.entries if engine else ()
    return await build_report(store.engine, now - timedelta(days=7), now + timedelta(seconds=1), entries)


async def test_two_replicas_racing_on_one_key_exactly_one_wins(database_url: str) -> None:
    first = await open_store(database_url, user_hash_key="k")
    second = await open_store(database_url, user_hash_key="k")
    try:
        keys = [f"slack-event-Ev{n:04d}" for n in range(40)]
        calls = [store.first_time(key) for key in keys for store in (first, second, first, second)]
        results = await asyncio.gather(*calls)
        wins = [sum(results[i * 4 : i * 4 + 4]) for i in range(len(keys))]
        assert wins == [1] * len(keys)
        assert first.health().ok and second.health().ok
        # later replays are refused by both, from the database or from memory
        assert not await first.first_time(keys[0]) and not await second.first_time(keys[-1])
    finally:
        await first.close()
        await second.close()


async def test_context_is_shared_between_replicas_and_expires(database_url: str) -> None:
    first = await open_store(database_url, user_hash_key="k")
    second = await open_store(database_url, user_hash_key="k")
    try:
        await first.remember("teams:19:abc", "forgotten-password")
        await first.flush()
        assert await second.context("teams:19:abc") == "forgotten-password"
        assert await second.context("teams:19:other") is None
        await second.remember("teams:19:abc", "account-locked")
        await second.flush()
        assert await first.context("teams:19:abc") == "account-locked"  # the newer, from the other replica
        await first.remember("slack:C1:171.2", "account-locked", ttl_s=0.0)
        await first.flush()
        assert await second.context("slack:C1:171.2") is None
    finally:
        await first.close()
        await second.close()


async def test_a_busy_moments_records_are_written_whole_and_as_given(store: SqlStore) -> None:
    """85 turns in one batch: each table's rows go in statements of 64, 16, 4 and 1 rows."""
    at = datetime(2026, 11, 20, 9, 30, 15, 123456, tzinfo=UTC)
    for n in range(85):
        await store.record(
            TurnEvent(
                platform="teams",
                conversation_kind="personal",
                outcome=Outcome.ANSWER if n % 2 else Outcome.FALLBACK,
                user=f"U{n}",
                conversation=f"teams:{n}",
                topic=f"topic-{n}" if n % 2 else None,
                confidence=n / 100,
                latency_ms=n + 0.5,
                at=at + timedelta(seconds=n),
            )
        )
        await store.remember(f"teams:{n}", f"topic-{n}", question="I forgot my password" if n == 84 else None)
    await store.flush()
    events = sorted(await _rows(store, schema.events), key=lambda row: row.at)
    assert len(events) == 85
    assert [(e.topic, e.confidence, e.latency_ms, e.at) for e in events[83:]] == [
        ("topic-83", 0.83, 83.5, at + timedelta(seconds=83)),
        (None, 0.84, 84.5, at + timedelta(seconds=84)),
    ]
    assert len({e.user_hash for e in events}) == 85
    contexts = {row.topic: row.question for row in await _rows(store, schema.contexts)}
    assert len(contexts) == 85 and contexts["topic-84"] == "I forgot my password"
    assert await store.context("teams:0") == "topic-0" and await store.context("teams:84") == "topic-84"


async def test_feedback_counts_one_vote_per_user_and_answer(store: SqlStore) -> None:
    for helpful in (True, False, False, False):  # a change of mind, then two replays
        await store.feedback("U1", "forgotten-password", helpful, "slack", "slack:C1")
    await store.feedback("U2", "forgotten-password", True, "slack", "slack:C1")
    await store.flush()
    votes = await _rows(store, schema.feedback)
    assert sorted(row.helpful for row in votes) == [False, True]
    topic = next(t for t in (await _report(store)).topics if t["topic"] == "forgotten-password")
    assert (topic["helpful"], topic["not_helpful"]) == (1, 1)


async def test_not_helpful_files_the_question_once_and_helpful_withdraws_it(store: SqlStore, engine) -> None:
    reply = engine.reply("I forgot my password")
    await note_turn(
        store,
        reply,
        question="I forgot my password, I'm on 07700 900123",
        platform="teams",
        conversation_kind="personal",
        user="29:u1",
        conversation="teams:a:1",
        latency_ms=3.0,
    )
    for _ in range(3):
        await store.feedback("29:u1", reply.topic, False, "teams", "teams:a:1")
    await store.flush()
    questions = await _rows(store, schema.unanswered)
    assert [(q.kind, q.topic) for q in questions] == [("not_helpful", reply.topic)]
    assert "07700" not in questions[0].text
    await store.feedback("29:u1", reply.topic, True, "teams", "teams:a:1")
    await store.flush()
    assert await _rows(store, schema.unanswered) == []


async def test_a_fallback_question_is_kept_without_email_phone_or_nhs_number(store: SqlStore, engine) -> None:
    question = (
        "can you move resident 422 395 6647 to the new home, email jane.doe@carehome.co.uk "
        "or ring 01632 960 001 about the hoist"
    )
    reply = engine.reply(question)
    assert reply.kind.value in ("fallback", "clarify")
    await note_turn(
        store,
        reply,
        question=question,
        platform="slack",
        conversation_kind="channel",
        user="U9",
        conversation="slack:C9",
        latency_ms=4.0,
    )
    await store.flush()
    report = await _report(store, engine)
    texts = [row["text"] for row in report.unanswered]
    assert len(texts) == 1 and "hoist" in texts[0]
    for secret in ("422 395 6647", "4223956647", "jane.doe", "carehome.co.uk", "01632", "960 001"):
        assert secret not in texts[0]
    events = await _rows(store, schema.events)
    assert [(e.outcome, e.platform, e.conversation_kind) for e in events] == [
        (reply.kind.value, "slack", "channel")
    ]
    assert events[0].user_hash != "U9" and len(events[0].user_hash) == 64


async def test_store_questions_off_keeps_no_text(database_url: str, engine) -> None:
    store = await open_store(database_url, user_hash_key="k", store_questions=False)
    try:
        reply = engine.reply("who fixes the hoist on the top floor")
        await note_turn(
            store,
            reply,
            question="who fixes the hoist on the top floor",
            platform="slack",
            conversation_kind="personal",
            user="U1",
            conversation="slack:D1",
            latency_ms=1.0,
        )
        answer = engine.reply("I forgot my password")
        await note_turn(
            store,
            answer,
            question="I forgot my password",
            platform="slack",
            conversation_kind="personal",
            user="U1",
            conversation="slack:D1",
            latency_ms=1.0,
        )
        await store.feedback("U1", answer.topic, False, "slack", "slack:D1")
        await store.flush()
        assert await _rows(store, schema.unanswered) == []
        assert all(row.question is None for row in await _rows(store, schema.contexts))
        assert len(await _rows(store, schema.events)) == 2
    finally:
        await store.close()


async def test_a_did_you_mean_then_a_click_is_a_suggested_phrasing(store: SqlStore, engine) -> None:
    # the did-you-mean as the engine words one (which questions get one is the matcher's business)
    question = "nhsmail thing wont let me in"
    entry = engine.kb.entries[0]
    reply = Reply(
        ReplyKind.CLARIFY, "Did you mean...?", suggestions=(Suggestion(entry.id, entry.short_title),)
    )
    common = {"platform": "teams", "conversation_kind": "personal", "user": "29:u", "conversation": "c:1"}
    await note_turn(store, reply, question=question, latency_ms=5.0, **common)
    chosen = reply.suggestions[0]
    await asyncio.sleep(0.01)
    click = engine.reply(chosen.title)
    assert click.topic == chosen.topic
    await note_turn(store, click, question=chosen.title, latency_ms=2.0, via=Via.CLICK, **common)
    # a fallback left without a click is not a suggestion
    other = {**common, "conversation": "c:2"}
    await note_turn(
        store, engine.reply("who fixes the hoist"), question="who fixes the hoist", latency_ms=1, **other
    )
    await store.flush()
    report = await _report(store, engine)
    assert report.suggested_phrasings == [{"topic": chosen.topic, "text": question, "count": 1}]
    assert report.clicks == 1 and report.messages == 2
    assert to_yaml(report) == f"# {chosen.topic}: add to this entry's alternates\nalternates:\n- {question}\n"


async def test_purge_removes_rows_older_than_the_retention(store: SqlStore) -> None:
    old = datetime.now(UTC) - timedelta(days=100)
    for at in (old, datetime.now(UTC)):
        await store.record(TurnEvent("console", "console", Outcome.FALLBACK, "u", "c", at=at, latency_ms=1.0))
        await store.unanswered("old or new", kind="fallback", platform="console", conversation="c", at=at)
    await store.first_time("expired-key", ttl_s=0.0)
    await store.flush()
    removed = await store.purge(datetime.now(UTC) - timedelta(days=90))
    assert removed == 3  # one event, one question, one expired key
    assert [row.at.date() for row in await _rows(store, schema.events)] == [datetime.now(UTC).date()]
    assert len(await _rows(store, schema.unanswered)) == 1
    assert await _rows(store, schema.dedupe_keys) == []


async def test_hostile_text_neither_breaks_a_batch_nor_reaches_the_database_unredacted(
    store: SqlStore,
) -> None:
    at = datetime.now(UTC)
    await store.unanswered(
        "who fixes the hoist\x00 call 07700 900123",
        kind="fallback",
        platform="slack",
        conversation="c",
        at=at,
    )
    await store.record(TurnEvent("slack", "personal", Outcome.ANSWER, "u", "c", topic="t" * 300, at=at))
    await store.unanswered("a second question", kind="clarify", platform="slack", conversation="c", at=at)
    await store.flush()
    texts = sorted(row.text for row in await _rows(store, schema.unanswered))
    assert texts == ["a second question", "who fixes the hoist call [phone]"]
    assert [len(row.topic) for row in await _rows(store, schema.events)] == [100]


async def test_a_claim_waits_for_another_writer_off_the_event_loop(tmp_path) -> None:
    """A SQLite file another process is writing: the claim waits for it, and the server meanwhile serves."""
    import sqlite3

    path = tmp_path / "store.db"
    store = await open_store(f"sqlite:///{path}", user_hash_key="k")
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another writer holds the file
        claim = asyncio.create_task(store.first_time("slack:event:Ev1"))
        ticks = 0
        for _ in range(10):
            await asyncio.sleep(0.01)
            ticks += 1
        assert ticks == 10 and not claim.done()  # the loop ran on while the claim waited
        other.execute("COMMIT")
        assert await asyncio.wait_for(claim, 5) is True
        assert await store.first_time("slack:event:Ev1") is False
        assert store.health().ok
        keys = [row.key for row in await _rows(store, schema.dedupe_keys)]
        assert len(keys) == 1
    finally:
        other.close()
        await store.close()
