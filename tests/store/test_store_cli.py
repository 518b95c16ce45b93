"""The store's commands as an operator runs them: replicas migrating at once, a restart, the report."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from adapters.store import open_store, schema
from adapters.store.database import to_async_url
from adapters.store.migrate import _config, _current, head, upgrade
from bot.engine import Engine
from bot.store import note_turn

ROOT = Path(__file__).resolve().parents[2]


def _env(database_url: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": database_url, "USER_HASH_KEY": "cli-key", "LOG_LEVEL": "INFO"}


def _cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "adapters.cli", *args],
        capture_output=True,
        text=True,
        env=_env(database_url),
        cwd=ROOT,
        timeout=120,
    )


def test_two_processes_migrate_one_empty_database_at_once(database_url: str) -> None:
    command = [sys.executable, "-m", "adapters.cli", "db", "upgrade"]
    runs = [
        subprocess.Popen(command, env=_env(database_url), cwd=ROOT, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    errors = [run.communicate(timeout=120)[1] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], errors
    # exactly one of them did the work; the other waited and found the schema at head
    assert sum("schema upgraded from empty" in error for error in errors) == 1, errors
    version = _cli(database_url, "db", "upgrade")
    assert version.returncode == 0 and "upgraded" not in version.stderr


async def test_feedback_survives_a_restart_and_shows_in_the_report(database_url: str, engine: Engine) -> None:
    store = await open_store(database_url, user_hash_key="cli-key")
    reply = engine.reply("I forgot my password")
    await note_turn(
        store,
        reply,
        question="I forgot my password",
        platform="teams",
        conversation_kind="personal",
        user="29:u",
        conversation="teams:1",
        latency_ms=12.0,
    )
    await store.feedback("29:u", reply.topic, True, "teams", "teams:1")
    await store.close()  # writes what is queued

    reopened = await open_store(database_url, user_hash_key="cli-key")
    await reopened.feedback("29:u", reply.topic, True, "teams", "teams:1")  # a replay after the restart
    await reopened.close()
    engine_ = sa.ext.asyncio.create_async_engine(reopened.url)
    async with engine_.connect() as connection:
        assert (
            await connection.execute(sa.select(sa.func.count()).select_from(schema.feedback))
        ).scalar() == 1
    await engine_.dispose()

    result = _cli(database_url, "report", "--since", "1d", "--format", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)  # stdout holds the report alone
    assert {"since", "until", "messages", "outcomes", "by_platform", "topics", "unanswered"} <= report.keys()
    assert report["messages"] == 1 and report["outcomes"] == {
        "answer": 1,
        "clarify": 0,
        "fallback": 0,
        "smalltalk": 0,
    }
    assert report["by_platform"]["teams"]["answer"] == 1
    topic = next(t for t in report["topics"] if t["topic"] == reply.topic)
    assert (topic["answers"], topic["helpful"], topic["not_helpful"]) == (1, 1, 0)
    assert report["suggested_phrasings"] == [] and report["unanswered"] == []


async def test_report_formats_are_safe_and_complete(
    database_url: str, engine: Engine, tmp_path: Path
) -> None:
    store = await open_store(database_url, user_hash_key="cli-key")
    hostile = "=cmd who fixes the <b>hoist</b> <img src=x onerror=alert()>"
    await note_turn(
        store,
        engine.reply(hostile),
        question=hostile,
        platform="slack",
        conversation_kind="channel",
        user="U1",
        conversation="slack:C1",
        latency_ms=3.0,
    )
    await store.close()
    page = tmp_path / "report.html"
    result = _cli(database_url, "report", "--format", "html", "--out", str(page))
    assert result.returncode == 0 and result.stdout == "", result.stderr
    html = page.read_text(encoding="utf-8")
    assert "<b>hoist" not in html and "<img" not in html and "&lt;b&gt;hoist&lt;/b&gt;" in html
    assert "<svg" in html and "<script" not in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")  # nothing fetched
    rows = list(csv.reader(io.StringIO(_cli(database_url, "report", "--format", "csv").stdout)))
    unanswered = [row for row in rows if row[0] == "unanswered"]
    assert len(unanswered) == 1 and unanswered[0][-1].startswith("'=cmd")  # not a formula to a spreadsheet
    table = _cli(database_url, "report")
    assert table.returncode == 0 and "unanswered questions" in table.stdout and "hoist" in table.stdout


def test_purge_and_a_bad_since_are_answered_plainly(database_url: str) -> None:
    assert _cli(database_url, "purge").returncode == 0
    bad = _cli(database_url, "report", "--since", "last tuesday")
    assert bad.returncode == 2 and bad.stdout == "" and "--since" in bad.stderr
    assert "Traceback" not in bad.stderr


async def test_the_migrations_build_the_schema_the_store_declares(database_url: str) -> None:
    """Upgraded from the first revision: what the code reads and writes is what is there."""
    url = to_async_url(database_url)
    made = create_async_engine(url)
    try:
        async with made.begin() as connection:
            await connection.run_sync(lambda c: command.upgrade(_config(c), "0001"))
        await upgrade(url)
        async with made.connect() as connection:
            assert await connection.run_sync(_current) == head() == "0002"
            differences = await connection.run_sync(
                lambda c: compare_metadata(MigrationContext.configure(c), schema.metadata)
            )
    finally:
        await made.dispose()
    assert differences == []
