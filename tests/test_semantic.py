"""The sentence model's second opinion: tokenizer, graph and cache, when it is asked, life without it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from bot import minilm, semantic
from bot.engine import Engine
from bot.models import ReplyKind
from bot.semantic import Semantic

HOME = semantic.installed()
TOPICS = [
    ["I forgot my password", "I can't remember my password", "locked out of my account"],
    ["how do I find our ODS code", "where do I look up the organisation code", "ODS code lookup"],
    ["what is the weather tomorrow", "will it rain", "forecast for the weekend"],
]


@pytest.fixture(scope="module")
def pieces() -> minilm.WordPieces:
    assert HOME is not None  # installed with the project (Makefile, Dockerfile)
    return minilm.WordPieces.load(HOME / "model" / "vocab.txt")


def _pieces(tokenizer: minilm.WordPieces, text: str) -> list[str]:
    vocabulary = (HOME / "model" / "vocab.txt").read_text(encoding="utf-8").splitlines()
    return [vocabulary[i] for i in tokenizer.ids(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Password reset", ["password", "reset"]),
        ("NHSmail?", ["nhs", "##mail", "?"]),
        ("Café’s ODS-code", ["cafe", "’", "s", "o", "##ds", "-", "code"]),
        ("can't\tlog\u200bin", ["can", "'", "t", "log", "##in"]),
        ("😬 help", ["[UNK]", "help"]),
    ],
)
# the expected pieces are what Hugging Face's tokenizer for the model gives
def test_text_is_split_as_bert_splits_it(pieces: minilm.WordPieces, text: str, expected: list[str]) -> None:
    assert _pieces(pieces, text) == ["[CLS]", *expected, "[SEP]"]


@pytest.mark.parametrize("text", ["", "   ", "\ud800", "x\udfffy", "\x00\x01", "a" * 5000, "ab " * 5000])
def test_any_text_is_read_within_the_model_s_length(pieces: minilm.WordPieces, text: str) -> None:
    ids = pieces.ids(text)
    assert 2 <= len(ids) <= minilm.MAX_PIECES
    assert ids[0] == pieces.ids("")[0] and ids[-1] == pieces.ids("")[-1]


def test_the_closest_topic_in_meaning_scores_highest() -> None:
    model = Semantic.load(TOPICS, [True, True, False])
    assert model is not None
    assert int(np.argmax(model.closeness("cannot remember the password for my email"))) == 0
    assert int(np.argmax(model.closeness("is it going to be sunny on saturday"))) == 2
    assert model.closeness("   ").shape == (3,)  # a message with no word is still read


def test_the_classifier_separates_topics_whose_phrasings_are_much_alike() -> None:
    """Two topics whose phrasings share most of their direction and differ in one: the classifier leans on
    the one that differs."""
    rng = np.random.default_rng(1)
    shared = rng.normal(size=8)
    phrasings = np.array(
        [
            shared + rng.normal(scale=0.05, size=8) + 0.3 * topic * np.eye(8)[0]
            for topic in (0, 1)
            for _ in range(20)
        ]
    )
    phrasings /= np.linalg.norm(phrasings, axis=1, keepdims=True)
    classifier = semantic.fit_classifier(phrasings.astype(np.float32), [20, 20])
    logits = phrasings @ classifier[:-1] + classifier[-1]
    assert (np.argmax(logits, axis=1) == np.repeat([0, 1], 20)).all()


@pytest.mark.parametrize("damaged_part", [".onnx", ".weights"])
def test_the_graph_and_the_phrasings_are_cached_and_damaged_ones_rebuilt(damaged_part: str) -> None:
    """The graph is kept as its structure and, beside it, its weights: either damaged, both are built
    again. (Damaged as a new file: the first model maps the weights' file into memory, as a running
    server would, and the bot itself only ever replaces a file whole.)"""
    first = Semantic.load(TOPICS, [True, True, False])
    cache = Path(os.environ["XDG_CACHE_HOME"]) / "nhsmail-bot"
    graphs, phrasings = list(cache.glob(f"graph-*{damaged_part}")), list(cache.glob("phrasings-*.npz"))
    assert first is not None and len(graphs) == 1 and len(phrasings) >= 1
    for damaged in (*graphs, *phrasings):
        damaged.unlink()
        damaged.write_bytes(b"not what it was")
    stale = cache / "phrasings-of-an-older-version.npy"
    stale.write_bytes(b"kept in an older format")
    again = Semantic.load(TOPICS, [True, True, False])
    assert again is not None and not stale.exists()  # replaced, whatever its format
    message = "where is the ODS code"
    assert np.allclose(first.closeness(message), again.closeness(message), atol=1e-5)
    assert graphs[0].stat().st_size > 10_000  # written afresh
    assert next(cache.glob("graph-*.weights")).stat().st_size > 10_000_000


def test_weights_other_than_the_published_ones_are_not_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A package of the model's name whose weights differ (damaged, or replaced): words alone."""
    assert HOME is not None
    copy = tmp_path / "site" / HOME.name
    shutil.copytree(HOME, copy)
    weights = copy / "model" / "model.safetensors"
    with weights.open("r+b") as file:
        file.seek(-4, os.SEEK_END)
        file.write(b"\x00\x00\x80\x7f")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    assert semantic.installed() == copy
    assert Semantic.load(TOPICS, [True, True, False]) is None


def test_the_bot_answers_on_words_alone_without_the_model(engine: Engine) -> None:
    alone = Engine(engine.kb, semantic=False)
    assert alone.matcher.semantic is None
    reply = alone.reply("I've forgotten my NHSmail password")
    assert reply.kind is ReplyKind.ANSWER and reply.topic == "forgotten-password"
    assert all(m.sure is None for m in alone.matcher.rank("forgotten password", assess=True))


def test_the_model_is_asked_only_when_the_words_leave_doubt(engine: Engine) -> None:
    clear = engine.matcher.rank("how do I find our ODS code", assess=True)
    assert clear[0].topic == "ods-code-find" and clear[0].sure is None
    assert engine.matcher.evidence("how do I find our ODS code") is None
    unclear = engine.matcher.rank("my email will not let me in", assess=True)
    best = next(m for m in unclear if m.in_scope)
    assert best.sure is not None and 0.0 < best.sure < 1.0
    assert all(m.sure is None for m in unclear if m is not best)
