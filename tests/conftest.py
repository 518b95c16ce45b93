"""Shared fixtures: one engine for the whole run (loading is the slow part, replies are pure)."""

from __future__ import annotations

import pytest

from bot.engine import Engine


@pytest.fixture(scope="session")
def engine() -> Engine:
    return Engine.load()
