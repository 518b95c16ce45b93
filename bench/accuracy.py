"""Print how the engine does on the question sets in tests/data (or those named), and its misses."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from bot.engine import Engine
from bot.knowledge import load_knowledge
from bot.models import ReplyKind

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"


def question_sets(*paths: Path) -> list[tuple[Path, dict]]:
    """The named question sets, or every set in tests/data, each with its questions."""
    chosen = paths or sorted(DATA.glob("questions*.yaml"))
    return [(path, yaml.safe_load(path.read_text(encoding="utf-8"))) for path in chosen]


def every_message() -> list[str]:
    """Every set's in-scope messages, then every set's out-of-scope ones: short, long and near-domain."""
    sets = [questions for _, questions in question_sets()]
    return [q["text"] for qs in sets for q in qs["in_scope"]] + [t for qs in sets for t in qs["out_of_scope"]]


@dataclass
class Score:
    in_scope: int = 0
    correct: int = 0
    rescued: int = 0
    wrong: int = 0
    out_of_scope: int = 0
    declined: int = 0
    misses: list[str] = field(default_factory=list)

    def add(self, other: Score) -> None:
        """Count another set's figures in with these (misses are kept per set)."""
        for name in ("in_scope", "correct", "rescued", "wrong", "out_of_scope", "declined"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def total(self) -> int:
        return self.in_scope + self.out_of_scope

    def percentages(self) -> dict[str, float]:
        return {
            "answered correctly": 100 * self.correct / self.in_scope,
            "rescued by did-you-mean": 100 * self.rescued / self.in_scope,
            "wrong answers (all messages)": 100
            * (self.wrong + self.out_of_scope - self.declined)
            / self.total,
            "out-of-scope declined": 100 * self.declined / self.out_of_scope,
        }


def evaluate(engine: Engine, questions: dict) -> Score:
    score = Score()
    for q in questions["in_scope"]:
        expected = {q["topic"], *q.get("also", [])}
        reply = engine.reply(q["text"])
        score.in_scope += 1
        if reply.kind is ReplyKind.ANSWER and reply.topic in expected:
            score.correct += 1
            continue
        if reply.kind is ReplyKind.CLARIFY and expected & {s.topic for s in reply.suggestions}:
            score.rescued += 1
            how = "rescued"
        elif reply.kind is ReplyKind.ANSWER:
            score.wrong += 1
            how = "WRONG"
        else:
            how = "declined"
        got = reply.topic or ",".join(s.topic for s in reply.suggestions) or reply.kind.value
        score.misses.append(
            f"{how:8} {reply.confidence:.2f} want {q['topic']:27} got {got:40} | {q['text'][:90]!r}"
        )
    for text in questions["out_of_scope"]:
        reply = engine.reply(text)
        score.out_of_scope += 1
        if reply.kind is ReplyKind.ANSWER:
            score.misses.append(f"{'OOS-ANS':8} {reply.confidence:.2f} got {reply.topic:32} | {text[:90]!r}")
        else:
            score.declined += 1
    return score


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("questions", type=Path, nargs="*", help="question sets (default: tests/data/*.yaml)")
    parser.add_argument("--quiet", action="store_true", help="figures only, no misses")
    parser.add_argument("--words-alone", action="store_true", help="without the sentence model's opinion")
    args = parser.parse_args()
    engine = Engine(load_knowledge(), semantic=not args.words_alone)
    total = Score()
    names = ["correct", "rescued", "wrong", "declined"]
    print(f"{'set':26} {'in':>4} {'out':>4}  " + "  ".join(f"{n:>12}" for n in names))
    misses = []
    for path, questions in question_sets(*args.questions):
        score = evaluate(engine, questions)
        _print_row(path.name, score)
        if "blind" in questions:  # the set's figures before it informed any change, as its file records
            blind = questions["blind"]
            label = f"  blind ({blind['bot']})" if "bot" in blind else "  blind"
            print(f"{label[:36]:36}  " + "  ".join(f"{blind[n]:11.1f}%" for n in names))
        misses += [f"{path.name}: {miss}" for miss in sorted(score.misses)]
        total.add(score)
    _print_row("all", total)
    print(
        "\ncorrect: answered correctly (in-scope messages); rescued: by did-you-mean, the expected topic"
        "\namong the choices; wrong: wrong answers, out-of-scope messages answered included (all messages);"
        "\ndeclined: out-of-scope messages declined; blind: what the bot of that commit scored on the set"
        "\nbefore the set informed any change"
    )
    if not args.quiet:
        print(f"\nmisses ({len(misses)}):")
        print("\n".join(misses))


def _print_row(name: str, score: Score) -> None:
    figures = score.percentages().values()
    print(
        f"{name:26} {score.in_scope:4} {score.out_of_scope:4}  " + "  ".join(f"{v:11.1f}%" for v in figures)
    )


if __name__ == "__main__":
    main()
