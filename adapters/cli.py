"""The nhsmail-bot command. Platform SDKs are imported only by `serve`, so `ask` starts quickly."""

from __future__ import annotations

import argparse
import errno
import json
import logging
import os
import re
import sys
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import NoReturn

from adapters import console, logs
from bot.engine import Engine
from bot.knowledge import KnowledgeError, load_knowledge, review_due
from bot.models import Entry, ReplyKind
from knowledge import KNOWLEDGE_DIR

logger = logging.getLogger(__name__)

# what binding the server's socket raises when the address or port cannot be had
BIND_ERRORS = frozenset({errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL})
# `kb check` warns about answers not checked against the source for this many months (REVIEW_MONTHS)
REVIEW_MONTHS = 6
_REVIEW_MONTHS = re.compile(r"[0-9]{1,6}")  # ASCII digits only: int() would take "٦" and refuse "²"


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
    _listen_options(serve)
    doctor = commands.add_parser("doctor", help="say what `serve` would run, and every problem with it")
    _listen_options(doctor)
    doctor.add_argument(
        "--online",
        action="store_true",
        help="also get a Bot Framework token, call Slack's auth.test (and apps.connections.open in Socket "
        "Mode) and connect to the database",
    )
    package = commands.add_parser("teams-package", help="write the Teams app package (zip) to upload")
    package.add_argument("--app-id", required=True, help="the bot's Microsoft App ID (a GUID)")
    package.add_argument("--host", help="the server's public host name, the manifest's valid domain")
    package.add_argument("--developer-name", help="your organisation's name (at most 32 characters)")
    package.add_argument("--website", help="your organisation's https:// web site for the app")
    package.add_argument("--privacy-url", help="the https:// address of the app's privacy statement")
    package.add_argument("--terms-url", help="the https:// address of the app's terms of use")
    package.add_argument("--out", type=Path, default=Path("nhsmail-bot-teams.zip"))
    slack = commands.add_parser("slack-manifest", help="write the Slack app manifest for this server")
    slack.add_argument("--host", help="the server's public host name, e.g. bot.example.org")
    slack.add_argument(
        "--socket-mode", action="store_true", help="Socket Mode: no public address, no request URLs"
    )
    slack.add_argument("--out", type=Path, help="the file to write (default: print it)")
    db = commands.add_parser("db", help="the store's database (DATABASE_URL)")
    db.add_argument("action", choices=["upgrade"], help="upgrade: bring the schema to the newest version")
    purge = commands.add_parser("purge", help="delete what is older than RETENTION_DAYS (default 90)")
    purge.add_argument("--days", type=int, default=0, help="another retention, in days")
    report = commands.add_parser("report", help="the content owner's report from the store")
    report.add_argument("--since", default="7d", help="7d, 12h, 2w or a date (YYYY-MM-DD); default 7d")
    report.add_argument("--format", choices=["table", "json", "csv", "html"], default="table")
    report.add_argument("--out", type=Path, help="write the report to this file instead of stdout")
    return parser


def _listen_options(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--host", help="the address to listen on (default 127.0.0.1 in local mode, else 0.0.0.0)"
    )
    command.add_argument("--port", help="the port to listen on (default 3978)")
    command.add_argument(
        "--insecure-local",
        action="store_true",
        help="allow a non-loopback --host in local mode (no MicrosoftAppId): no authentication",
    )


def _ask(engine: Engine, args: argparse.Namespace) -> int:
    if not args.question:
        console.ask_lines(engine, sys.stdin, sys.stdout, args.json)
        return 0
    reply = engine.reply(" ".join(args.question))
    print(json.dumps(console.to_json(reply), ensure_ascii=False) if args.json else console.to_text(reply))
    return 0


def review_months(environ: Mapping[str, str]) -> int:
    """REVIEW_MONTHS as `kb check` reads it itself: checking the knowledge needs no server settings."""
    value = environ.get("REVIEW_MONTHS", "").strip()
    if not value:
        return REVIEW_MONTHS
    if not _REVIEW_MONTHS.fullmatch(value) or int(value) < 1:
        raise ValueError(
            f"REVIEW_MONTHS must be a whole number of months from 1 to 999999, not {value[:40]!r}"
        )
    return int(value)


def review_warnings(entries: Iterable[Entry], today: date, months: int) -> list[str]:
    """One line for each entry not reviewed within `months` months of `today`, longest unreviewed first."""
    return [
        f"warning: {entry.id}: last reviewed {entry.last_reviewed}, more than {months} months ago "
        f"(REVIEW_MONTHS): check it against the source, then update last_reviewed"
        for entry in review_due(entries, today, months)
    ]


def _check(engine: Engine, today: date, months: int) -> int:
    """Every title and alternate phrasing must bring back its own entry; entries due a review are warned
    about, which does not change the exit status."""
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
    print(
        "sentence model: weighed"
        if engine.matcher.semantic
        else "sentence model: not installed, checked on words alone (see requirements-model.txt)"
    )
    for warning in review_warnings(engine.kb.entries, today, months):
        print(warning)
    if collisions:
        print("collisions:", *collisions, sep="\n")
        return 1
    return 0


def _serve(engine: Engine, args: argparse.Namespace) -> int:
    from adapters.settings import ConfigError, Settings, bind_problem, listen_problem

    settings = Settings.from_env(
        os.environ, host=args.host, port=args.port, insecure_local=args.insecure_local
    )
    for warning in settings.warnings():
        logger.warning("%s", warning)
    # found before the app is built, so a taken port is one line, not a page of start-up logs
    taken = bind_problem(settings.host, settings.port)
    if taken:
        raise ConfigError([taken])

    import asyncio

    from adapters.server import create_app, serve

    async def run() -> None:
        await serve(create_app(settings, engine), settings.host, settings.port)

    try:
        asyncio.run(run())
    except OSError as error:
        if error.errno not in BIND_ERRORS:
            raise
        raise ConfigError([listen_problem(settings.host, settings.port, error)]) from error
    return 0


def _doctor(args: argparse.Namespace) -> int:
    """What `serve` would run, the warnings and problems; 0 when it would start and work, else 1."""
    import asyncio

    from adapters import doctor

    settings, lines, warnings, problems = doctor.diagnose(
        os.environ, args.knowledge, host=args.host, port=args.port, insecure_local=args.insecure_local
    )
    print(*lines, sep="\n")
    failed = 0
    if args.online:
        for check in asyncio.run(doctor.online_checks(settings)):
            mark = {True: "ok", False: "FAILED", None: "skipped"}[check.ok]
            print(f"online {mark}: {check.line}")
            failed += check.ok is False
    for warning in warnings:
        print(f"warning: {warning}")
    for problem in problems:
        print(f"problem: {problem}")
    if problems:
        print(f"{len(problems)} problem(s): `nhsmail-bot serve` would stop with exit status 2")
    elif failed:
        print(f"{failed} online check(s) failed: the server would start but not work")
    else:
        print("`nhsmail-bot serve` would start" + (" and reach what it needs" if args.online else ""))
    return 1 if problems or failed else 0


def _teams_package(args: argparse.Namespace) -> None:
    from adapters import teams_package

    developer = {
        "name": args.developer_name,
        "websiteUrl": args.website,
        "privacyUrl": args.privacy_url,
        "termsOfUseUrl": args.terms_url,
    }
    manifest = teams_package.manifest_for(args.app_id, args.host, developer)
    for warning in teams_package.placeholders_left(manifest):
        print(f"nhsmail-bot: warning: {warning}", file=sys.stderr)
    print(teams_package.write_zip(manifest, args.out))


def _slack_manifest(args: argparse.Namespace) -> None:
    from adapters.slack_manifest import render

    if not args.host and not args.socket_mode:
        raise ValueError("slack-manifest needs --host HOST (the server's public name), or --socket-mode")
    text = render(args.host, args.socket_mode)
    if args.out is None:
        sys.stdout.write(text)
        return
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(args.out)


def _configure_logging(environ: Mapping[str, str]) -> None:
    logs.configure(environ.get("LOG_LEVEL", "INFO"), environ.get("LOG_FORMAT"))


def main(argv: list[str] | None = None) -> None:
    try:
        _main(argv)
    except BrokenPipeError:  # the reader went away (`| head`): not an error worth a traceback
        sys.stderr.close()
        raise SystemExit(1) from None
    except KeyboardInterrupt:  # Ctrl-C before a command had its own way to stop: no traceback
        raise SystemExit(130) from None


def _main(argv: list[str] | None) -> None:
    args = _parser().parse_args(argv)
    try:
        _configure_logging(os.environ)
    except ValueError as error:
        _stop(error)
    if args.command in ("teams-package", "slack-manifest"):
        try:
            (_teams_package if args.command == "teams-package" else _slack_manifest)(args)
        except (ValueError, OSError) as error:
            _stop(error)
        return
    if args.command == "doctor":
        raise SystemExit(_doctor(args))
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
        try:
            months = review_months(os.environ)
        except ValueError as error:
            _stop(error)
        raise SystemExit(_check(engine, date.today(), months))
    elif args.command == "serve":
        from adapters.settings import ConfigError

        try:
            raise SystemExit(_serve(engine, args))
        except ConfigError as error:
            _stop(error)


def _stop(error: BaseException) -> NoReturn:
    """A configuration the bot cannot run with: one line saying what to do, exit status 2, no traceback."""
    print(f"nhsmail-bot: {error}", file=sys.stderr)
    raise SystemExit(2) from None


if __name__ == "__main__":
    main()
