"""Print index build time, per-message latency (p50/p99), throughput, peak RSS, CLI time to first answer."""

from __future__ import annotations

import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.accuracy import question_sets  # noqa: E402
from bot.engine import Engine  # noqa: E402
from bot.knowledge import load_knowledge  # noqa: E402

ROUNDS = 10


def main() -> None:
    messages = []
    for _, questions in question_sets():  # short, long and out-of-scope messages alike
        messages += [q["text"] for q in questions["in_scope"]] + questions["out_of_scope"]

    started = time.perf_counter()
    kb = load_knowledge()
    loaded = time.perf_counter()
    engine = Engine(kb)
    built = time.perf_counter()
    print(f"knowledge load          {1000 * (loaded - started):8.1f} ms")
    print(f"index build             {1000 * (built - loaded):8.1f} ms")
    t = time.perf_counter()
    engine.warm()
    print(f"speller (Engine.warm)   {1000 * (time.perf_counter() - t):8.1f} ms")

    latencies = []
    for message in messages:  # the first pass fills the word caches, as a running server's would be
        t = time.perf_counter()
        engine.reply(message)
        latencies.append(time.perf_counter() - t)
    cold = sorted(latencies)
    latencies = []
    for _ in range(ROUNDS):
        for message in messages:
            t = time.perf_counter()
            engine.reply(message)
            latencies.append(time.perf_counter() - t)
    latencies.sort()
    p50, p99 = statistics.median(latencies), latencies[int(0.99 * len(latencies))]
    print(f"messages                {len(messages):8d} x {ROUNDS} rounds")
    print(f"latency p50             {1000 * p50:8.3f} ms")
    print(f"latency p99             {1000 * p99:8.3f} ms")
    print(f"latency p99, first pass {1000 * cold[int(0.99 * len(cold))]:8.3f} ms")
    print(f"throughput              {len(latencies) / sum(latencies):8.0f} messages/s")
    print(f"peak RSS                {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:8.1f} MiB")

    runs = []
    for _ in range(5):
        t = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "adapters.cli", "ask", "I've forgotten my password"],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        runs.append(time.perf_counter() - t)
    print(f"CLI ask, process start to answer (best of 5) {1000 * min(runs):6.0f} ms")


if __name__ == "__main__":
    main()
