"""Many concurrent lookups as one statement: while one batch is at the database, the next one gathers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Batcher(Generic[K, V]):
    """`await get(key)` -> `run(keys)[key]`. Alone, a call costs one round trip as before; under load, the
    calls that arrive while a batch is at the database share the next round trip."""

    def __init__(self, run: Callable[[list[K]], Awaitable[dict[K, V]]], default: V) -> None:
        self._run = run
        self._default = default
        self._pending: dict[K, list[asyncio.Future[V]]] = {}
        self._worker: asyncio.Task[None] | None = None

    async def get(self, key: K) -> V:
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._pending.setdefault(key, []).append(future)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        # one turn of the event loop first: the requests read in the same turn add their keys to this batch
        await asyncio.sleep(0)
        while self._pending:
            batch, self._pending = self._pending, {}
            try:
                found = await self._run(list(batch))
            except BaseException as error:  # the callers decide what an outage means
                for futures in batch.values():
                    for future in futures:
                        if not future.done():
                            future.set_exception(error)
                if isinstance(error, asyncio.CancelledError):
                    raise
                continue
            for key, futures in batch.items():
                for future in futures:
                    if not future.done():  # a caller that timed out has gone
                        future.set_result(found.get(key, self._default))
