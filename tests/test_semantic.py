"""The word vectors' second opinion: its tokenizer, the cache of the phrasings' vectors, life without it."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

from bot.engine import Engine
from bot.models import ReplyKind
from bot.semantic import _TOKENIZER, Pieces, Semantic

HOME = Path(next(iter(importlib.util.find_spec("wordllama").submodule_search_locations)))
TOPICS = [
    ["I forgot my password", "I can't remember my password", "locked out of my account"],
    ["how do I find our ODS code", "where do I look up the organisation code", "ODS code lookup"],
    ["what is the weather tomorrow", "will it rain", "forecast for the weekend"],
]


@pytest.fixture(scope="module")
def pieces() -> Pieces:
    return Pieces.load(HOME / _TOKENIZER)


def test_common_words_are_whole_pieces(pieces: Pieces) -> None:
    assert len(pieces.ids("password reset")) == 2


def test_a_character_the_vocabulary_lacks_becomes_its_bytes(pieces: Pieces) -> None:
    assert len(pieces.ids("😬")) >= 4  # four UTF-8 bytes, after the space piece


@pytest.mark.parametrize("text", ["", "   ", "\ud800", "x\udfffy", "\x00\x01", "a" * 5000])
def test_any_text_is_read_without_error(pieces: Pieces, text: str) -> None:
    assert all(0 <= i < pieces.size for i in pieces.ids(text))


def test_the_closest_topic_in_meaning_scores_highest() -> None:
    semantic = Semantic.load(TOPICS, [True, True, False])
    assert semantic is not None
    closeness = semantic.closeness("cannot remember the password for my email")
    assert int(np.argmax(closeness)) == 0


def test_a_message_with_no_token_is_close_to_nothing() -> None:
    semantic = Semantic.load(TOPICS, [True, True, False])
    assert semantic is not None
    assert not semantic.closeness("   ").any()


def test_the_phrasings_vectors_are_cached_and_a_damaged_cache_is_rebuilt() -> None:
    first = Semantic.load(TOPICS, [True, True, False])
    cached = list(Path(os.environ["XDG_CACHE_HOME"]).glob("nhsmail-bot/phrasings-*.npy"))
    assert first is not None and len(cached) == 1
    cached[0].write_bytes(b"not an array")
    again = Semantic.load(TOPICS, [True, True, False])
    assert again is not None
    message = "where is the ODS code"
    assert np.allclose(first.closeness(message), again.closeness(message))
    assert np.load(cached[0]).shape == (9, 256)  # written afresh


def test_the_bot_answers_on_words_alone_without_the_vectors(engine: Engine) -> None:
    alone = Engine(engine.kb, word_vectors=False)
    assert alone.matcher.semantic is None
    reply = alone.reply("I've forgotten my NHSmail password")
    assert reply.kind is ReplyKind.ANSWER and reply.topic == "forgotten-password"
    assert all(m.sure is None for m in alone.matcher.rank("forgotten password", assess=True))


def test_with_the_vectors_the_best_topic_says_how_sure_the_bot_is(engine: Engine) -> None:
    matches = engine.matcher.rank("I've forgotten my NHSmail password", assess=True)
    best = next(m for m in matches if m.in_scope)
    assert best.sure is not None and best.sure > engine.SURE_AT
    assert all(m.sure is None for m in matches if m is not best)
