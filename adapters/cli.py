"""The nhsmail-bot command. Platform SDKs are imported only by `serve`, so `ask` starts quickly."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from adapters import console
from bot.engine import Engine
from bot.knowledge import KnowledgeError, load_knowledge
from bot.models import ReplyKind
from knowledge import KNOWLEDGE_DIR

logger = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nhsmail-bot", description="Answers NHSmail questions for care providers."
    )
    parser.add_argument("--knowledge", type=Path, default=KNOWLEDGE_DIR, help="the knowledge folder to load")
    commands = parser.add_subparsers(dest="command", required=True)
    ask = commands.add_parser("ask", help="answer one question, or one per line from stdin")
    ask.add_argument("question", nargs="*", help="the question; none: read one per line from stdin")
    ask.add_argument("--json", action="store_true", help="print JSON (JSON Lines from stdin)")
    commands.add_parser("chat", help="a conversation in the console")
    commands.add_parser("topics", help="list the topics the bot can answer")
    kb = commands.add_parser("kb", help="knowledge base tools")
    kb.add_argument("action", choices=["check"], help="check: validate, then route every phrasing and title")
    serve = commands.add_parser("serve", help="run the Teams and Slack server")
    serve.add_argument("--host", default="0.0.0.0")
    serve.add_argument("--port", type=int, default=3978)
    package = commands.add_parser("teams-package", help="write the Teams app package (zip) to upload")
    package.add_argument("--app-id", required=True, help="the bot's Microsoft App ID (a GUID)")
    package.add_argument("--out", type=Path, default=Path("nhsmail-bot-teams.zip"))
    db = commands.add_parser("db", help="the store's database (DATABASE_URL)")
    db.add_argument("action", choices=["upgrade"], help="upgrade: bring the schema to the newest version")
    purge = commands.add_parser("purge", help="delete what is older than RETENTION_DAYS (default 90)")
    purge.add_argument("--days", type=int, default=0, help="another retention, in days")
    report = commands.add_parser("report", help="the content owner's report from the store")
    report.add_argument("--since", default="7d", help="7d, 12h, 2w or a date (YYYY-MM-DD); default 7d")
    report.add_argument("--format", choices=["table", "json", "csv", "html"], default="table")
    report.add_argument("--out", type=Path, help="write the report to this file instead of stdout")
    return parser


def _ask(engine: Engine, args: argparse.Namespace) -> int:
    if not args.question:
        console.ask_lines(engine, sys.stdin, sys.stdout, args.json)
        return 0
    reply = engine.reply(" ".join(args.question))
    print(json.dumps(console.to_json(reply), ensure_ascii=False) if args.json else console.to_text(reply))
    return 0


def _check(engine: Engine) -> int:
    """Every title and alternate phrasing must bring back its own entry."""
    collisions = []
    total = 0
    for entry in engine.kb.entries:
        for phrasing in (entry.title, entry.short_title, *entry.alternates):
            total += 1
            reply = engine.reply(phrasing)
            if reply.kind is not ReplyKind.ANSWER or reply.topic != entry.id:
                got = reply.topic or "/".join(s.topic for s in reply.suggestions) or reply.kind.value
                collisions.append(f"  {entry.id}: {phrasing!r} -> {reply.kind.value} {got}")
    print(
        f"knowledge base valid: {len(engine.kb.entries)} entries, {len(engine.kb.out_of_scope)} out-of-scope"
    )
    print(f"test all: {total - len(collisions)}/{total} phrasings route to their own entry")
    if collisions:
        print("collisions:", *collisions, sep="\n")
        return 1
    return 0


def _serve(engine: Engine, args: argparse.Namespace) -> int:
    from aiohttp import web

    from adapters.server import create_app
    from adapters.settings import Settings

    settings = Settings.from_env(os.environ)
    web.run_app(create_app(settings, engine.warm()), host=args.host, port=args.port)
    return 0


def main(argv: list[str] | None = None) -> None:
    try:
        _main(argv)
    except BrokenPipeError:  # the reader went away (`| head`): not an error worth a traceback
        sys.stderr.close()
        raise SystemExit(1) from None


def _main(argv: list[str] | None) -> None:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO"), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.command == "teams-package":
        from adapters.teams_package import write_package

        try:
            print(write_package(args.app_id, args.out))
        except (ValueError, OSError) as error:
            print(f"nhsmail-bot: {error}", file=sys.stderr)
            raise SystemExit(2) from error
        return
    if args.command in ("db", "purge", "report"):
        from adapters.store.commands import run

        raise SystemExit(run(args))
    try:
        engine = Engine(load_knowledge(args.knowledge))
    except KnowledgeError as error:
        print(f"nhsmail-bot: invalid knowledge base: {error}", file=sys.stderr)
        raise SystemExit(2) from error
    if args.command == "ask":
        raise SystemExit(_ask(engine, args))
    if args.command == "chat":
        console.chat(engine)
    elif args.command == "topics":
        for topic in engine.topics():
            print(f"{topic.topic:28} {topic.title}")
    elif args.command == "kb":
        raise SystemExit(_check(engine))
    elif args.command == "serve":
        raise SystemExit(_serve(engine, args))


if __name__ == "__main__":
    main()
