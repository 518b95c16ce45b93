"""Print index build time, reply latency (p50/p99) and throughput without and with the sentence model,
the peak RSS of a process that answers every message once, without and with the model, and the CLI's time
from start to first answer, for a message the words settle and for one the model weighs in on."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.accuracy import every_message  # noqa: E402
from bot.engine import Engine  # noqa: E402
from bot.knowledge import load_knowledge  # noqa: E402

ROUNDS = 10


def main() -> None:
    messages = every_message()
    started = time.perf_counter()
    kb = load_knowledge()
    loaded = time.perf_counter()
    engine = Engine(kb, semantic=False)
    built = time.perf_counter()
    print(f"knowledge load          {1000 * (loaded - started):8.1f} ms")
    print(f"index build             {1000 * (built - loaded):8.1f} ms")
    t = time.perf_counter()
    engine.warm()
    print(f"speller (Engine.warm)   {1000 * (time.perf_counter() - t):8.1f} ms")
    print(f"messages                {len(messages):8d} x {ROUNDS} rounds")
    latencies("without the sentence model", engine, messages)
    engine = Engine(kb)
    t = time.perf_counter()
    if engine.matcher.semantic is None:
        print("sentence model not installed")
    else:
        print(f"sentence model load     {1000 * (time.perf_counter() - t):8.1f} ms")
        asked = sum(engine.matcher.evidence(m, engine._question_of) is not None for m in messages)
        print(f"messages it weighs in on {100 * asked / len(messages):7.0f} %")
        latencies("with the sentence model", engine, messages)
    for kind in ("words", "model"):
        footprint = subprocess.run(
            [sys.executable, __file__, "--footprint", kind], check=True, capture_output=True, text=True
        )
        print(f"peak RSS, {kind:5} (a process){float(footprint.stdout):8.1f} MiB")
    cli_start()


def footprint(semantic: bool) -> None:
    """Answer every message once, in a fresh process, as a server would over a long run, and print the
    process's peak RSS in MiB."""
    engine = Engine(load_knowledge(), semantic=semantic).warm()
    for message in every_message():
        engine.reply(message)
    # VmHWM, not getrusage's ru_maxrss: a child started from a bigger process inherits the parent's figure
    status = Path("/proc/self/status").read_text().splitlines()
    print(int(next(line for line in status if line.startswith("VmHWM")).split()[1]) / 1024)


def cli_start() -> None:
    for kind, question in (
        ("words settle it", "I've forgotten my password"),
        ("model", "my email won't let me in"),
    ):
        runs = []
        for _ in range(5):
            t = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "adapters.cli", "ask", question],
                cwd=ROOT,
                check=True,
                capture_output=True,
            )
            runs.append(time.perf_counter() - t)
        print(f"CLI ask, start to answer, best of 5 ({kind:15}) {1000 * min(runs):6.0f} ms")


def latencies(name: str, engine: Engine, messages: list[str]) -> None:
    """Per-message reply latency once the word caches are full, as a running server's would be."""
    times = []
    for message in messages:  # the first pass fills the word caches
        t = time.perf_counter()
        engine.reply(message)
        times.append(time.perf_counter() - t)
    cold = sorted(times)
    times = []
    for _ in range(ROUNDS):
        for message in messages:
            t = time.perf_counter()
            engine.reply(message)
            times.append(time.perf_counter() - t)
    times.sort()
    p50, p99 = statistics.median(times), times[int(0.99 * len(times))]
    print(f"{name}:")
    print(f"  latency p50           {1000 * p50:8.3f} ms")
    print(f"  latency p99           {1000 * p99:8.3f} ms")
    print(f"  latency p99, first pass {1000 * cold[int(0.99 * len(cold))]:6.3f} ms")
    print(f"  throughput            {len(times) / sum(times):8.0f} messages/s")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--footprint"]:
        footprint(semantic=sys.argv[2] == "model")
    else:
        main()
