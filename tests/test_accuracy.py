"""A floor under the figures bench/accuracy.py prints, so a change that makes the bot worse fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.accuracy import Score, evaluate, question_sets
from bot.engine import Engine

DATA = Path(__file__).resolve().parent / "data"


def _evaluate(engine: Engine, *paths: Path) -> Score:
    total = Score()
    for _, questions in question_sets(*paths):
        total.add(evaluate(engine, questions))
    return total


@pytest.fixture(scope="module")
def developer(engine: Engine) -> Score:
    return _evaluate(engine, DATA / "questions.yaml")


@pytest.fixture(scope="module")
def every_set(engine: Engine) -> Score:
    return _evaluate(engine)  # every set


@pytest.fixture(scope="module")
def words_alone(engine: Engine) -> Score:
    """Without the sentence model, as where it is not installed: the bot must still be good."""
    return _evaluate(Engine(engine.kb, semantic=False))


def test_the_developer_set_is_big_enough(developer: Score) -> None:
    assert developer.in_scope >= 200 and developer.out_of_scope >= 50


def test_the_sentence_model_is_weighed(engine: Engine) -> None:
    assert engine.matcher.semantic is not None  # installed with the project: a floor below needs them


@pytest.mark.parametrize(
    ("which", "correct", "wrong", "declined"),
    [
        ("developer", 94.0, 1.0, 98.0),
        ("every_set", 93.5, 1.4, 98.0),
        ("words_alone", 89.5, 1.6, 97.5),
    ],
)
def test_floors(
    request: pytest.FixtureRequest, which: str, correct: float, wrong: float, declined: float
) -> None:
    figures = request.getfixturevalue(which).percentages()
    assert figures["answered correctly"] >= correct
    assert figures["wrong answers (all messages)"] <= wrong
    assert figures["out-of-scope declined"] >= declined
