"""The server itself: liveness and readiness, routes, slow bodies and a cap on open connections."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest

from adapters.server import BODY_TIMEOUT, create_app, serve
from adapters.settings import Settings
from bot.engine import Engine


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
async def server(engine: Engine) -> AsyncIterator[tuple[str, int, asyncio.Event]]:
    """`nhsmail-bot serve`'s own loop in local mode, with a cap of 20 connections and a 0.5 s body timeout."""
    app = create_app(Settings(), engine)
    app[BODY_TIMEOUT] = 0.5
    port, stop = _free_port(), asyncio.Event()
    task = asyncio.create_task(serve(app, "127.0.0.1", port, stop=stop, max_connections=20))
    for _ in range(100):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            break
        except OSError:
            await asyncio.sleep(0.02)
    yield "127.0.0.1", port, stop
    stop.set()
    await task


async def test_health_ready_unknown_routes_and_wrong_methods(server: tuple[str, int, asyncio.Event]) -> None:
    host, port, _ = server
    async with aiohttp.ClientSession(f"http://{host}:{port}") as session:
        statuses = {}
        for method, path in [
            ("GET", "/healthz"),
            ("GET", "/readyz"),
            ("GET", "/nowhere"),
            ("GET", "/api/messages"),
            ("DELETE", "/healthz"),
        ]:
            async with session.request(method, path) as response:
                statuses[(method, path)] = response.status

    assert statuses == {
        ("GET", "/healthz"): 200,
        ("GET", "/readyz"): 200,
        ("GET", "/nowhere"): 404,
        ("GET", "/api/messages"): 405,
        ("DELETE", "/healthz"): 405,
    }


async def test_a_body_sent_a_byte_at_a_time_is_cut_off(server: tuple[str, int, asyncio.Event]) -> None:
    host, port, _ = server
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(
        b"POST /api/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000\r\n\r\n{"
    )
    started = time.monotonic()
    answer = b""
    try:
        while time.monotonic() - started < 5:
            writer.write(b" ")
            await writer.drain()
            try:
                chunk = await asyncio.wait_for(reader.read(1024), 0.2)
            except TimeoutError:
                continue
            answer += chunk
            if not chunk or b"\r\n\r\n" in answer:
                break
    except ConnectionError:
        pass
    finally:
        writer.close()

    assert time.monotonic() - started < 3
    assert answer.startswith(b"HTTP/1.1 408")


async def test_connections_over_the_cap_are_closed_and_the_server_still_answers(
    server: tuple[str, int, asyncio.Event],
) -> None:
    host, port, _ = server
    idle = [await asyncio.open_connection(host, port) for _ in range(20)]
    await asyncio.sleep(0.1)
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    refused = await asyncio.wait_for(reader.read(), 2)
    writer.close()
    for _, idle_writer in idle:
        idle_writer.close()
    await asyncio.sleep(0.2)

    assert refused == b""  # closed without a word, and without costing a request handler
    async with aiohttp.ClientSession() as session, session.get(f"http://{host}:{port}/healthz") as response:
        assert response.status == 200


async def test_an_address_in_use_is_an_oserror_before_serving(engine: Engine) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError):
            await serve(create_app(Settings(), engine), "127.0.0.1", port, stop=asyncio.Event())
