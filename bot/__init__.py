"""The platform-agnostic core: knowledge, matcher, engine. Imports nothing from adapters or platform SDKs."""

import os

# One BLAS thread, set before numpy loads: a message needs one small matrix product (its closeness in meaning
# to the phrasings), and OpenBLAS's extra threads spin between products, burning another core for nothing.
# A process answers one message at a time; a deployment scales by processes. Set OPENBLAS_NUM_THREADS to
# choose otherwise. (The sentence model runs on one onnxruntime thread, for the same reason.)
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from bot.engine import Engine
from bot.knowledge import KnowledgeBase, KnowledgeError, load_knowledge
from bot.models import Contact, Entry, Link, PhoneSteps, Reply, ReplyKind, Suggestion

__all__ = [
    "Contact",
    "Engine",
    "Entry",
    "KnowledgeBase",
    "KnowledgeError",
    "Link",
    "PhoneSteps",
    "Reply",
    "ReplyKind",
    "Suggestion",
    "load_knowledge",
]
