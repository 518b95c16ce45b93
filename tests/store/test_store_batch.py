"""Concurrent lookups share a round trip, and each caller still gets its own answer."""

from __future__ import annotations

import asyncio

import pytest

from adapters.store.batch import Batcher


async def test_calls_arriving_together_share_one_run_and_get_their_own_answers() -> None:
    runs: list[list[int]] = []

    async def run(keys: list[int]) -> dict[int, int]:
        runs.append(keys)
        await asyncio.sleep(0.01)
        return {key: key * 10 for key in keys if key != 3}

    batcher: Batcher[int, int | None] = Batcher(run, None)
    first = await batcher.get(1)  # alone: a batch of one
    results = await asyncio.gather(*(batcher.get(key) for key in (2, 3, 4, 4)))
    assert first == 10 and results == [20, None, 40, 40]
    assert runs == [[1], [2, 3, 4]]


async def test_a_failed_run_fails_its_callers_and_the_next_run_goes_ahead() -> None:
    calls = 0

    async def run(keys: list[str]) -> dict[str, bool]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionRefusedError("down")
        return dict.fromkeys(keys, True)

    batcher: Batcher[str, bool] = Batcher(run, False)
    with pytest.raises(ConnectionRefusedError):
        await batcher.get("a")
    assert await batcher.get("b") is True
