"""Render `nhsmail-bot report --format html` from sample data to docs/img/report.png in headless Chromium.

The sample is two weeks of made-up turns written through the real store into a temporary SQLite file:
the shipped knowledge answers each sample question (so topics and outcomes are the engine's own), and a
few did-you-means are followed by a click, as staff do. The report is the real one, built by the same code
as the command. Nothing is fetched: the page has no external asset.

Setup: `apt-get update && apt-get install -y chromium`. Then, from the repository root::

    .venv/bin/python docs/img/render_report.py [--chromium /usr/bin/chromium] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from adapters.store import open_store  # noqa: E402
from adapters.store.render import to_html  # noqa: E402
from adapters.store.report import build_report  # noqa: E402
from bot.engine import Engine  # noqa: E402
from bot.store import Outcome, TurnEvent, UnansweredKind, Via  # noqa: E402

QUESTIONS = [
    "I forgot my password",
    "my account is locked",
    "how do I add a new starter to our shared mailbox",
    "the text with my password never came",
    "what is the acceptable use policy",
    "can I use nhsmail on my phone",
    "how do I register the care home",
    "who is our local administrator",
    "hello",
    "thanks",
]
UNANSWERED = [
    "how do I set an out of office",
    "can I get a smartcard for the new nurse",
    "who do I ring about the hoist",
    "my email signature is wrong, can you change it, I'm on 07700 900123",
    "how do I book leave in the rota app",
    "how do I set an out of office?",
]
# did-you-means and the topic the person then clicked
CLICKED = [
    ("nhsmail wont let me in", "forgotten-password"),
    ("email thing locked again", "forgotten-password"),
    ("new girl needs an email", "shared-mailbox-users"),
    ("carer left, take her off the box", "staff-left"),
]


async def _sample(database_url: str, engine: Engine) -> None:
    rng = random.Random(7)
    store = await open_store(database_url, user_hash_key="sample")
    now = datetime.now(UTC)
    for day in range(14):
        for n in range(rng.randint(18, 40)):
            at = now - timedelta(days=13 - day, hours=rng.uniform(0, 10))
            platform = rng.choice(["teams", "teams", "slack"])
            user, conversation = f"user-{rng.randint(1, 40)}", f"{platform}:{day}:{n}"
            common = {"platform": platform, "conversation_kind": "personal", "user": user}
            if rng.random() < 0.2:
                text = rng.choice(UNANSWERED)
                await store.record(
                    TurnEvent(outcome=Outcome.FALLBACK, conversation=conversation, at=at, **common)
                )
                await store.unanswered(
                    text,
                    kind=UnansweredKind.FALLBACK,
                    platform=platform,
                    conversation=conversation,
                    at=at,
                )
                continue
            if rng.random() < 0.1:
                text, topic = rng.choice(CLICKED)
                await store.record(
                    TurnEvent(outcome=Outcome.CLARIFY, conversation=conversation, at=at, **common)
                )
                await store.unanswered(
                    text, kind=UnansweredKind.CLARIFY, platform=platform, conversation=conversation, at=at
                )
                await store.record(
                    TurnEvent(
                        outcome=Outcome.ANSWER,
                        topic=topic,
                        via=Via.CLICK,
                        conversation=conversation,
                        at=at + timedelta(seconds=20),
                        **common,
                    )
                )
                continue
            reply = engine.reply(rng.choice(QUESTIONS))
            await store.record(
                TurnEvent(
                    outcome=Outcome(reply.kind.value),
                    topic=reply.topic,
                    confidence=reply.confidence,
                    conversation=conversation,
                    at=at,
                    latency_ms=rng.uniform(2, 9),
                    **common,
                )
            )
            if reply.topic and rng.random() < 0.3:
                await store.feedback(user, reply.topic, rng.random() < 0.8, platform, conversation)
    await store.close()


async def _report(database_url: str, engine: Engine) -> str:
    store = await open_store(database_url, user_hash_key="sample")
    now = datetime.now(UTC)
    try:
        report = await build_report(store.engine, now - timedelta(days=14), now, engine.kb.entries)
    finally:
        await store.close()
    return to_html(report)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img" / "report.png")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (database and page)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="nhsmail-report-"))
    try:
        database_url = f"sqlite:///{work / 'sample.db'}"
        engine = Engine.load()
        asyncio.run(_sample(database_url, engine))
        page = work / "report.html"
        page.write_text(asyncio.run(_report(database_url, engine)), encoding="utf-8")
        subprocess.run(
            [
                args.chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--hide-scrollbars",
                f"--user-data-dir={work / 'profile'}",
                f"--screenshot={args.out}",
                "--window-size=1200,1600",
                page.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        print(args.out)
    finally:
        if args.keep:
            print(work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
