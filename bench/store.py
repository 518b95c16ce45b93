"""Print what the store adds to a turn: turns per second and CPU per turn with no store, in memory (the
server's store off, DATABASE_URL=memory:), on SQLite and on PostgreSQL.

Each turn does what an adapter does: dedupe the message id, answer with the engine (reading the
conversation's context first when the message could follow on from it), then note the turn (event, context
or redacted question); "no store" answers alone. The engine's own time is in every row, so the rows compare
like with like, and each is set against the store in memory. CPU counts every thread of the process, the
database's own (SQLite's threads) included; PostgreSQL's server processes are not counted.

PostgreSQL: `--postgres URL` of a database to use (its tables are created; default: a database made for
the run on 127.0.0.1:5432 and dropped after).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from adapters.metrics import Metrics  # noqa: E402
from adapters.store import open_store  # noqa: E402
from adapters.turns import Turns  # noqa: E402
from bench.accuracy import every_message  # noqa: E402
from bot.engine import Engine  # noqa: E402
from bot.knowledge import load_knowledge  # noqa: E402
from bot.store import MemoryStore, Store, note_turn  # noqa: E402

TURNS = 2000
ROUNDS = 3  # interleaved, best of each: the machine is shared, and a slow moment should not pick a winner
CONCURRENCY = 16  # turns in flight at once, as a busy server has


async def _turns(
    engine: Engine, store: Store | None, messages: list[str], run: int = 0
) -> tuple[float, float]:
    """Turns a second, and CPU µs a turn."""
    queue = list(enumerate(messages))
    turns = Turns(Metrics(), store)

    async def worker() -> None:
        while queue:
            n, text = queue.pop()
            if store is None:
                engine.reply(text)
                continue
            if not await store.first_time(f"bench:{os.getpid()}:{run}:{n}"):
                continue
            conversation = f"bench:conversation:{n % 200}"
            started = time.perf_counter()
            reply = await turns.reply(engine, text, conversation)  # as the adapters read the context
            await note_turn(
                store,
                reply,
                question=text,
                platform="slack",
                conversation_kind="personal",
                user=f"U{n % 50}",
                conversation=conversation,
                latency_ms=(time.perf_counter() - started) * 1000,
            )

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    if store is not None and hasattr(store, "flush"):
        await store.flush(60)  # count the writing too
    seconds = time.perf_counter() - started
    return len(messages) / seconds, (time.process_time() - cpu) / len(messages) * 1e6


async def _main(postgres: str, words_alone: bool) -> None:
    engine = Engine(load_knowledge(), semantic=not words_alone).warm()
    pool = every_message()
    messages = [pool[n % len(pool)] for n in range(TURNS)]
    await _turns(engine, None, messages[:300])  # warm the engine's caches
    made = ""
    if not postgres:
        import asyncpg

        made = f"nhsbot_bench_{os.getpid()}"
        admin = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres", timeout=10)
        await admin.execute(f'CREATE DATABASE "{made}"')
        postgres = f"postgresql://postgres@127.0.0.1:5432/{made}"
    best: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        stores: dict[str, Store | None] = {
            "no store": None,
            "in memory": MemoryStore(),
            "SQLite": await open_store(f"sqlite:///{folder}/bench.db"),
            "PostgreSQL": await open_store(postgres),
        }
        try:
            for run in range(ROUNDS):
                for name, store in stores.items():
                    rate, cpu = await _turns(engine, store, messages, run)
                    before = best.get(name, (0.0, float("inf")))
                    best[name] = (max(before[0], rate), min(before[1], cpu))
        finally:
            for store in stores.values():
                if store is not None:
                    await store.close()
            if made:
                await admin.execute(f'DROP DATABASE "{made}" WITH (FORCE)')
                await admin.close()
    rows = list(best.items())
    base_rate, base_cpu = best["in memory"]
    print(f"{TURNS} turns, {CONCURRENCY} at once, one process, best of {ROUNDS} interleaved rounds")
    print(f"{'store':12}{'turns/s':>10}{'vs memory':>10}{'CPU µs/turn':>14}{'vs memory':>10}")
    for name, (rate, cpu) in rows:
        print(f"{name:12}{rate:>10.0f}{rate / base_rate - 1:>+10.1%}{cpu:>14.0f}{cpu / base_cpu - 1:>+10.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default="", help="a PostgreSQL DATABASE_URL to use instead")
    parser.add_argument(
        "--words-alone",
        action="store_true",
        help="answer without the sentence model: a cheaper turn, against which the store's cost shows more",
    )
    args = parser.parse_args()
    asyncio.run(_main(args.postgres, args.words_alone))


if __name__ == "__main__":
    main()
