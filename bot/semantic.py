"""How close in meaning a message is to each topic's phrasings, from word vectors: a second opinion that
does not depend on the message sharing the knowledge base's words ("odious code", "obtain", "ring").

The vectors are WordLlama's (MIT licence): token embeddings distilled from a large language model, 256
numbers a token, averaged over the message. They ship inside the `wordllama` wheel, and only its two data
files are read: the package itself is never imported (importing it sets up the root logger), and its
tokenizer's vocabulary is read by `Pieces` (loading the full tokenizer takes longer than the CLI may).
Without the files the bot works as before, on words alone."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

_PACKAGE = "wordllama"
_TOKENIZER = Path("tokenizers") / "l2_supercat_tokenizer_config.json"
_VECTORS = Path("weights") / "l2_supercat_256.safetensors"
# how phrasings are read into vectors (`Pieces`, `embed`): a change to either must name a new cache
_EMBEDDING = "pieces-1"


class Semantic:
    """Each topic's closeness to a message: the cosines of its closest phrasings, weighted as the matcher
    weighs its neighbours, as standard scores across the topics the FAQ answers (how much closer this topic
    is than an average one, which makes scores of short and long messages comparable)."""

    NEIGHBOUR_WEIGHTS = (1.0, 0.5, 0.25)

    def __init__(
        self,
        tokenizer: Pieces,
        vectors: np.ndarray,
        phrasings: np.ndarray,
        sizes: Sequence[int],
        in_scope: Sequence[bool],
    ):
        """`phrasings`: every topic's phrasings' vectors (see `embed`), topic after topic, `sizes` a topic."""
        self._tokenizer = tokenizer
        self._vectors = vectors  # half precision, as shipped: a message reads a few rows
        # as in the matcher: each topic's phrasings in one run, padded with a zero vector to the neighbours
        # counted, runs a step apart (cosines shifted into [0, 2]): one sort puts every topic's closest
        # phrasings at the end of its run
        k = len(self.NEIGHBOUR_WEIGHTS)
        padding = len(phrasings)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        runs = [
            [*range(start, start + size), *[padding] * (k - size)]
            for start, size in zip(starts, sizes, strict=True)
        ]
        self._phrasings = np.vstack([phrasings, np.zeros((1, phrasings.shape[1]), dtype=np.float32)])[
            [i for run in runs for i in run]
        ]
        self._offsets = np.repeat(np.arange(len(runs)) * 4.0 + 1.0, [len(run) for run in runs])
        ends = np.cumsum([len(run) for run in runs])
        self._closest = ends[:, None] - np.arange(1, k + 1)[None, :]  # a topic's row: the closest first
        self._closest_offsets = self._offsets[self._closest]
        self._weights = np.array(self.NEIGHBOUR_WEIGHTS) / sum(self.NEIGHBOUR_WEIGHTS)
        self._in_scope = np.array(in_scope, dtype=bool)

    @classmethod
    def load(cls, topics: Sequence[Sequence[str]], in_scope: Sequence[bool]) -> Semantic | None:
        """The signal, or None when the vectors are not installed (the bot then works on words alone).
        The phrasings' vectors are kept in the user's cache folder, so that the next start reads them."""
        home = installed()
        if home is None:
            log.info("word vectors not installed (%s): matching on words alone", _PACKAGE)
            return None
        try:
            from safetensors.numpy import load_file

            tokenizer = Pieces.load(home / _TOKENIZER)
            (vectors,) = load_file(str(home / _VECTORS)).values()
            if tokenizer.size > len(vectors):
                raise ValueError("the vocabulary has pieces the vectors do not")
        except Exception as error:  # a damaged or changed install must not stop the bot: words alone work
            log.warning("word vectors unreadable (%s): matching on words alone", type(error).__name__)
            return None
        texts = [text for phrasings in topics for text in phrasings]
        cached = _cache_path(home, texts)
        phrasings = _read(cached)
        if phrasings is None or phrasings.shape != (len(texts), vectors.shape[1]):
            phrasings = embed(tokenizer, vectors, texts)
            _write(cached, phrasings)
        return cls(tokenizer, vectors, phrasings, [len(p) for p in topics], in_scope)

    def closeness(self, text: str) -> np.ndarray:
        """Every topic's standard score for the message (0 for all when it has no token)."""
        ids = self._tokenizer.ids(text)
        vector = self._vectors[ids].sum(axis=0, dtype=np.float32)
        norm = math.sqrt(float(vector @ vector))
        if norm == 0.0:  # no token at all
            return np.zeros(len(self._in_scope))
        keyed = self._phrasings @ (vector / norm) + self._offsets
        keyed.sort()
        closest = (keyed[self._closest] - self._closest_offsets) @ self._weights
        answered = closest[self._in_scope]
        mean = float(answered.sum()) / len(answered)
        spread = math.sqrt(max(0.0, float(answered @ answered) / len(answered) - mean * mean))
        if spread == 0.0:
            return np.zeros_like(closest)
        return (closest - mean) / spread


def installed() -> Path | None:
    """The folder of the installed vectors' package (never imported), or None."""
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    home = Path(next(iter(spec.submodule_search_locations)))
    return home if (home / _TOKENIZER).is_file() and (home / _VECTORS).is_file() else None


def embed(tokenizer: Pieces, vectors: np.ndarray, texts: list[str]) -> np.ndarray:
    """Each text's mean token vector, of unit length (zero for a text with no token)."""
    pieces = [tokenizer.ids(text) for text in texts]
    counts = np.array([len(p) for p in pieces])
    ids = np.fromiter((i for p in pieces for i in p), dtype=np.intp, count=int(counts.sum()))
    sums = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
    some = counts > 0
    if some.any():  # each text's tokens are consecutive: one sum a text, over the texts that have any
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        sums[some] = np.add.reduceat(vectors[ids].astype(np.float32), starts[some])
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    return np.divide(sums, norms, out=np.zeros_like(sums), where=norms > 0)


class Pieces:
    """The vectors' tokenizer, near enough: each word, after a "▁" for the space before it (SentencePiece's
    way), is split into the longest pieces of the vocabulary from its start; a character the vocabulary
    lacks becomes its UTF-8 bytes' pieces. The full tokenizer merges pairs by rank instead, which splits a
    few rare words differently: a word's meaning is in its common pieces either way."""

    MAX_CACHED = 50_000

    def __init__(self, vocabulary: dict[str, int]) -> None:
        self._vocabulary = vocabulary
        self._longest = max(map(len, vocabulary))
        self._bytes = [vocabulary.get(f"<0x{b:02X}>", 0) for b in range(256)]
        self._words: dict[str, list[int]] = {}
        self.size = max(vocabulary.values()) + 1

    @classmethod
    def load(cls, path: Path) -> Pieces:
        """From a Hugging Face tokenizer file (its model's vocabulary)."""
        return cls(json.loads(path.read_bytes())["model"]["vocab"])

    def ids(self, text: str) -> list[int]:
        found: list[int] = []
        for word in text.split():
            ids = self._words.get(word)
            if ids is None:
                if len(self._words) >= self.MAX_CACHED:
                    self._words.clear()
                ids = self._words[word] = self._split("▁" + word)
            found += ids
        return found

    def _split(self, word: str) -> list[int]:
        ids: list[int] = []
        i = 0
        while i < len(word):
            for j in range(min(len(word), i + self._longest), i, -1):
                piece = self._vocabulary.get(word[i:j])
                if piece is not None:
                    ids.append(piece)
                    i = j
                    break
            else:  # a lone surrogate has no UTF-8 bytes, and no piece
                ids += [self._bytes[b] for b in word[i].encode("utf-8", "ignore")]
                i += 1
        return ids


def _cache_path(home: Path, texts: list[str]) -> Path | None:
    """Where the phrasings' vectors are kept: named after the texts and the installed vectors, so that a
    changed knowledge base or a new version of the vectors is embedded afresh."""
    try:
        from platformdirs import user_cache_path

        digest = hashlib.sha256(_EMBEDDING.encode())
        for file in (_TOKENIZER, _VECTORS):
            stat = (home / file).stat()
            digest.update(f"{file}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
        digest.update("\n".join(texts).encode())
        return user_cache_path("nhsmail-bot") / f"phrasings-{digest.hexdigest()[:32]}.npy"
    except OSError:
        return None


def _read(path: Path | None) -> np.ndarray | None:
    try:
        return np.load(path, allow_pickle=False) if path is not None else None
    except (OSError, ValueError):
        return None  # not there yet, or damaged: embedded again


def _write(path: Path | None, phrasings: np.ndarray) -> None:
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        for old in path.parent.glob("phrasings-*.npy"):
            old.unlink(missing_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        with temporary.open("wb") as file:
            np.save(file, phrasings, allow_pickle=False)
        temporary.replace(path)  # whole or not at all, whatever other process reads it
    except OSError:
        pass  # a read-only home (a locked-down container): embedded at each start instead
