"""The NHSmail FAQ as YAML, shipped as package data so the bot finds it wherever it is installed."""

from pathlib import Path

KNOWLEDGE_DIR = Path(__file__).resolve().parent

__all__ = ["KNOWLEDGE_DIR"]
