"""Shared fixtures: one engine for the whole run (loading is the slow part, replies are pure), and data and
cache folders of the run's own, so a server built without a store of its own keeps its SQLite file there."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from bot.engine import Engine


@pytest.fixture(scope="session", autouse=True)
def data_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Never the user's own folders: the default store lives under XDG_DATA_HOME, the phrasings' word
    vectors under XDG_CACHE_HOME (subprocesses too)."""
    before = {name: os.environ.get(name) for name in ("XDG_DATA_HOME", "XDG_CACHE_HOME")}
    for name in before:
        os.environ[name] = str(tmp_path_factory.mktemp(name.lower()))
    yield
    for name, value in before.items():
        if value is None:
            del os.environ[name]
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def engine() -> Engine:
    return Engine.load()
