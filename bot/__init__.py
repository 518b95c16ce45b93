"""The platform-agnostic core: knowledge, matcher, engine. Imports nothing from adapters or platform SDKs."""

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
