"""`nhsmail-bot db upgrade`, `purge` and `report`: the store's commands, loaded only when one is run."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from adapters.settings import Settings
from adapters.store import render
from adapters.store.database import DatabaseUrlError, create_engine, to_async_url
from adapters.store.migrate import upgrade
from adapters.store.report import build_report, parse_since
from adapters.store.sql import OUTAGE, SqlStore, StoreError, _describe
from bot.knowledge import KnowledgeError, load_knowledge

logger = logging.getLogger(__name__)

COMMANDS = ("db", "purge", "report")
RENDERERS = {"table": render.to_table, "json": render.to_json, "csv": render.to_csv, "html": render.to_html}


def run(args: argparse.Namespace) -> int:
    """Run one store command; errors are one line on stderr and exit status 2."""
    try:
        settings = Settings.from_env(os.environ)
        return asyncio.run(_run(args, settings))
    except (ValueError, DatabaseUrlError, StoreError, KnowledgeError, OSError) as error:
        print(f"nhsmail-bot: {error}", file=sys.stderr)
        return 2
    except OUTAGE as error:
        print(f"nhsmail-bot: the database did not answer: {_describe(error)}", file=sys.stderr)
        return 2


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    url = to_async_url(settings.database_url)
    if args.command == "db":
        await upgrade(url)
        print(f"database schema up to date ({url.get_backend_name()})", file=sys.stderr)
        return 0
    if args.command == "purge":
        store = SqlStore(url, hash_key=settings.user_hash_key)
        try:
            await upgrade(url)
            days = args.days or settings.retention_days
            removed = await store.purge(datetime.now(UTC) - timedelta(days=days))
        finally:
            await store.engine.dispose()
        print(f"purged {removed} rows older than {days} days", file=sys.stderr)
        return 0
    now = datetime.now(UTC)
    since = parse_since(args.since, now)
    entries = load_knowledge(args.knowledge).entries
    await upgrade(url)  # an empty database reports nothing rather than failing
    engine = create_engine(url)
    try:
        report = await build_report(engine, since, now, entries, settings.review_months)
    finally:
        await engine.dispose()
    text = RENDERERS[args.format](report)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        logger.info("report written to %s", args.out)
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0
