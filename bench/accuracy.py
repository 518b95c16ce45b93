"""Print how the engine does on the developer question set (tests/data/questions.yaml), and its misses."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from bot.engine import Engine
from bot.models import ReplyKind

QUESTIONS = Path(__file__).resolve().parents[1] / "tests" / "data" / "questions.yaml"


@dataclass
class Score:
    in_scope: int = 0
    correct: int = 0
    rescued: int = 0
    wrong: int = 0
    out_of_scope: int = 0
    declined: int = 0
    misses: list[str] = field(default_factory=list)

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
    parser.add_argument("--questions", type=Path, default=QUESTIONS)
    parser.add_argument("--quiet", action="store_true", help="figures only, no misses")
    args = parser.parse_args()
    questions = yaml.safe_load(args.questions.read_text(encoding="utf-8"))
    score = evaluate(Engine.load(), questions)
    print(
        f"{score.in_scope} in-scope and {score.out_of_scope} out-of-scope messages from {args.questions.name}"
    )
    for name, value in score.percentages().items():
        print(f"{name:30} {value:5.1f}%")
    if not args.quiet:
        print(f"\nmisses ({len(score.misses)}):")
        print("\n".join(sorted(score.misses)))


if __name__ == "__main__":
    main()
