"""Shared fixtures: one engine for the whole run (loading is the slow part, replies are pure), and a data
folder of the run's own, so a server built without a store of its own keeps its SQLite file there."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from bot.engine import Engine


@pytest.fixture(scope="session", autouse=True)
def data_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Never the user's own data folder: the default store lives under XDG_DATA_HOME (subprocesses too)."""
    before = os.environ.get("XDG_DATA_HOME")
    os.environ["XDG_DATA_HOME"] = str(tmp_path_factory.mktemp("data"))
    yield
    if before is None:
        del os.environ["XDG_DATA_HOME"]
    else:
        os.environ["XDG_DATA_HOME"] = before


@pytest.fixture(scope="session")
def engine() -> Engine:
    return Engine.load()
