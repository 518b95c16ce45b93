"""Fit how sure the bot can be of its best topic (Matcher.SURE_WEIGHTS) on the question sets in tests/data
(all but the newest, HELD_OUT, which are scored as held out) or those named, and print the weights with
what each answering threshold (Engine.SURE_AT) would give.

A logistic regression over the evidence Matcher._evidence lists: the label is whether the best topic the FAQ
answers is one the message wants (never, for an out-of-scope message). Only messages the engine would not
decline outright, and that the words alone leave in doubt (Matcher._clear), are counted, as only for those
is the choice between answering and asking made with the sentence model.
`--held-out` sets are scored with the fitted weights but not fitted on."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from bench.accuracy import Score, evaluate, question_sets
from bot.engine import Engine

L2 = 0.1  # a little shrinkage: the sets are a few thousand messages
DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
# sets written after the weights in use were fitted: scored as held out unless named
HELD_OUT = (
    "questions_night.yaml",
    "questions_managers.yaml",
    "questions_mixed_voices.yaml",
    "questions_second_language.yaml",
    "questions_near_domain.yaml",
    "questions_situations.yaml",
)
THRESHOLDS = (0.6, 0.65, 0.7, 0.75, 0.8, 0.85)


def examples(engine: Engine, paths: list[Path]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Evidence, label (the best topic is right) and whether the message is in scope, per message."""
    rows, labels, in_scope = [], [], []
    for _, questions in question_sets(*paths):
        messages = [(q["text"], {q["topic"], *q.get("also", [])}) for q in questions["in_scope"]]
        messages += [(text, set()) for text in questions["out_of_scope"]]
        for text, wanted in messages:
            matches = engine.matcher.rank(text, question=engine._question_of)
            evidence = engine.matcher.evidence(text, question=engine._question_of)
            if engine._declined(matches) or evidence is None:  # declined, or clear on words alone
                continue
            best = next(m for m in matches if m.in_scope)
            rows.append(evidence)
            labels.append(best.topic in wanted)
            in_scope.append(bool(wanted))
    return np.array(rows), np.array(labels, dtype=float), np.array(in_scope)


def fit(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Logistic regression by Newton's method, with L2 shrinkage."""
    w = np.zeros(x.shape[1])
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ w, -30, 30)))
        hessian = (x.T * (p * (1 - p))) @ x + L2 * np.eye(len(w))
        w -= np.linalg.solve(hessian, x.T @ (p - y) + L2 * w)
    return w


def report(name: str, x: np.ndarray, y: np.ndarray, in_scope: np.ndarray, w: np.ndarray) -> None:
    """Among the messages not declined outright: right and wrong answers at each threshold."""
    p = 1.0 / (1.0 + np.exp(-np.clip(x @ w, -30, 30)))
    cells = []
    for threshold in THRESHOLDS:
        answered = p >= threshold
        right, wrong = int((answered & (y == 1)).sum()), int((answered & (y == 0)).sum())
        cells.append(f"{threshold:.2f}: {right:4} right {wrong:3} wrong")
    print(f"{name:10} {len(y):5} messages ({int(in_scope.sum())} in scope)  " + " | ".join(cells))


def cross_validate(engine: Engine, paths: list[Path]) -> None:
    """Each set scored by the bot with weights fitted on the other sets alone: how the answer model does on
    messages it was not fitted on."""
    data = {path: examples(engine, [path]) for path in paths}
    total = Score()
    for path, questions in question_sets(*paths):
        others = [data[other] for other in paths if other != path]
        engine.matcher.SURE_WEIGHTS = tuple(
            fit(np.vstack([o[0] for o in others]), np.concatenate([o[1] for o in others]))
        )
        score = evaluate(engine, questions)
        total.add(score)
        print(f"{path.name:28} " + "  ".join(f"{v:5.1f}%" for v in score.percentages().values()))
    print(f"{'all, each set left out':28} " + "  ".join(f"{v:5.1f}%" for v in total.percentages().values()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("questions", type=Path, nargs="*", help="sets to fit on (default: tests/data)")
    parser.add_argument(
        "--held-out",
        type=Path,
        nargs="*",
        default=[DATA / name for name in HELD_OUT],
        help="sets to score, not fit on",
    )
    parser.add_argument(
        "--cross", action="store_true", help="score each set with weights fitted on the others alone"
    )
    args = parser.parse_args()
    engine = Engine.load()
    if engine.matcher.semantic is None:
        sys.exit("the sentence model is not installed: nothing to calibrate")
    chosen = args.questions or sorted(p for p in DATA.glob("questions*.yaml") if p.name not in HELD_OUT)
    if args.cross:
        print(f"{'set (correct, rescued, wrong, declined)':28}")
        cross_validate(engine, chosen + args.held_out)
        return
    x, y, in_scope = examples(engine, chosen)
    w = fit(x, y)
    print("SURE_WEIGHTS = (" + ", ".join(f"{v:.3f}" for v in w) + ")")
    report("fitted", x, y, in_scope, w)
    if args.held_out:
        report("held out", *examples(engine, args.held_out), w)
    print(f"\nthe threshold in use: Engine.SURE_AT = {engine.SURE_AT}")


if __name__ == "__main__":
    main()
