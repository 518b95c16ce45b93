"""DATABASE_URL and the store's other settings, read as an operator writes them."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.settings import Settings
from adapters.store import DatabaseUrlError, to_async_url
from adapters.store.report import _review_due, parse_since
from bot.engine import Engine

ROOT = Path(__file__).resolve().parents[2]


def test_database_urls_become_async_drivers(tmp_path: Path) -> None:
    url = to_async_url("postgresql://bot:s3cret@db.example:5432/nhsbot?sslmode=require")
    assert url.drivername == "postgresql+asyncpg" and url.database == "nhsbot"
    assert dict(url.query) == {"ssl": "require"}
    assert to_async_url("postgres://bot@db/x").drivername == "postgresql+asyncpg"
    assert to_async_url(f"sqlite:///{tmp_path}/bot.db").drivername == "sqlite+aiosqlite"
    default = to_async_url("", {"XDG_DATA_HOME": str(tmp_path)})
    assert default.database == str(tmp_path / "nhsmail-bot" / "nhsmail-bot.db")
    for bad in ("mysql://x/y", "sqlite://", "sqlite:///:memory:", "not a url"):
        with pytest.raises(DatabaseUrlError):
            to_async_url(bad)


def test_store_settings_from_the_environment() -> None:
    settings = Settings.from_env({"STORE_QUESTIONS": "off", "RETENTION_DAYS": "30", "USER_HASH_KEY": "k"})
    assert (settings.store_questions, settings.retention_days, settings.user_hash_key) == (False, 30, "k")
    assert Settings.from_env({}).store_questions and Settings.from_env({}).retention_days == 90
    with pytest.raises(ValueError, match="RETENTION_DAYS"):
        Settings.from_env({"RETENTION_DAYS": "ninety"})


def test_a_bad_database_url_is_one_line_without_the_password() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "adapters.cli", "db", "upgrade"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "DATABASE_URL": "mysql://bot:hunter2@db/x"},
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "DATABASE_URL" in result.stderr and "hunter2" not in result.stderr


def test_since_spans_and_dates() -> None:
    now = datetime(2026, 11, 27, 12, tzinfo=UTC)
    assert parse_since("7d", now) == datetime(2026, 11, 20, 12, tzinfo=UTC)
    assert parse_since("12h", now) == datetime(2026, 11, 27, 0, tzinfo=UTC)
    assert parse_since("2026-11-01", now) == datetime(2026, 11, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="--since"):
        parse_since("yesterday", now)


def test_entries_not_reviewed_within_the_months_are_due(engine: Engine) -> None:
    entries = engine.kb.entries
    newest = max(entry.last_reviewed for entry in entries)
    assert _review_due(entries, datetime.fromisoformat(newest).replace(tzinfo=UTC), 6) == []
    later = datetime(int(newest[:4]) + 1, 12, 31, tzinfo=UTC)
    assert len(_review_due(entries, later, 6)) == len(entries)
