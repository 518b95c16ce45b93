"""A floor under the figures bench/accuracy.py prints, so a change that makes the bot worse fails."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bench.accuracy import Score, evaluate
from bot.engine import Engine

DATA = Path(__file__).resolve().parent / "data"
SETS = sorted(DATA.glob("questions*.yaml"))


@pytest.fixture(scope="module", params=SETS, ids=[path.stem for path in SETS])
def score(request: pytest.FixtureRequest, engine: Engine) -> Score:
    return evaluate(engine, yaml.safe_load(request.param.read_text(encoding="utf-8")))


def test_the_developer_set_is_big_enough() -> None:
    developer = yaml.safe_load((DATA / "questions.yaml").read_text(encoding="utf-8"))
    assert len(developer["in_scope"]) >= 200 and len(developer["out_of_scope"]) >= 50


def test_most_questions_get_the_right_answer(score: Score) -> None:
    assert score.percentages()["answered correctly"] >= 90.0


def test_wrong_answers_are_rare(score: Score) -> None:
    assert score.percentages()["wrong answers (all messages)"] <= 2.5


def test_what_the_faq_does_not_cover_is_declined(score: Score) -> None:
    assert score.percentages()["out-of-scope declined"] >= 90.0
