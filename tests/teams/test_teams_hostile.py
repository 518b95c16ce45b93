"""Hostile input at /api/messages: bounded before any work, refused with a 4xx, never echoed or logged raw."""

from __future__ import annotations

import asyncio
import json
import logging
import time

import pytest
from aiohttp import web
from teams_fakes import Teams, payload, serve


async def _healthz_latencies(teams: Teams, busy: asyncio.Future[object]) -> list[float]:
    latencies = []
    while not busy.done():
        started = time.monotonic()
        assert (await teams.get("/healthz")).status == 200
        latencies.append(time.monotonic() - started)
        await asyncio.sleep(0.02)
    return latencies


@pytest.mark.parametrize(
    "text",
    [
        "<at" * 86_000,
        "<at>" * 40_000,
        "a" * 200_000,
        "password is " * 20_000,
        "0" * 200_000,
        "&amp;" * 40_000,
    ],
)
async def test_a_huge_hostile_message_is_answered_while_health_stays_quick(teams: Teams, text: str) -> None:
    activity = payload("channel_mention", teams.connector.url, text=text)

    started = time.monotonic()
    post = asyncio.ensure_future(teams.post(activity))
    latencies = await _healthz_latencies(teams, post)

    assert (await post).status == 200
    assert time.monotonic() - started < 2.0
    assert max(latencies, default=0) < 0.1
    assert len(await teams.connector.wait_for(1)) == 1


async def test_json_nested_100000_deep_is_a_400(teams: Teams) -> None:
    body = "[" * 100_000 + "]" * 100_000
    async with teams.session.post(
        f"{teams.url}/api/messages", data=body, headers={"Content-Type": "application/json"}
    ) as response:
        assert response.status == 400


async def test_json_nested_too_deep_inside_an_activity_is_a_400(teams: Teams) -> None:
    deep: object = "x"
    for _ in range(200):
        deep = {"a": deep}
    activity = payload("personal_message", teams.connector.url, channelData=deep)

    assert (await teams.post(activity)).status == 400
    assert teams.connector.sent == []


async def test_json_nested_deep_with_an_app_id_is_a_400_too(secured_teams: Teams) -> None:
    body = '{"a":' * 40_000 + "1" + "}" * 40_000
    async with secured_teams.session.post(
        f"{secured_teams.url}/api/messages", data=body, headers={"Content-Type": "application/json"}
    ) as response:
        assert response.status == 400


@pytest.mark.parametrize(
    "changes",
    [
        {"conversation": {"id": "c" * 200_000}},
        {"id": "i" * 300},
        {"from": {"id": "u" * 1000}},
        {"replyToId": "r" * 1000},
    ],
)
async def test_ids_longer_than_256_characters_are_a_400_and_not_remembered(
    teams: Teams, changes: dict[str, object]
) -> None:
    activity = payload("personal_message", teams.connector.url, **changes)

    assert (await teams.post(activity)).status == 400
    assert teams.connector.sent == []


async def test_a_backslash_service_url_is_refused_before_any_connection(teams: Teams) -> None:
    connections = 0

    async def count(request: web.Request) -> web.Response:
        nonlocal connections
        connections += 1
        return web.json_response({"id": "x"})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", count)
    runner, url = await serve(app)
    try:
        host_port = url.removeprefix("http://")
        for service_url in (f"http://evil.example\\@{host_port}/", f"http://user:pw@{host_port}/"):
            response = await teams.post(payload("personal_message", service_url))
            assert response.status == 403, service_url
    finally:
        await runner.cleanup()

    assert connections == 0
    assert teams.connector.sent == []


async def test_a_redirect_from_the_connector_is_not_followed(teams: Teams) -> None:
    followed = 0

    async def target(request: web.Request) -> web.Response:
        nonlocal followed
        followed += 1
        return web.json_response({"id": "x"})

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPTemporaryRedirect(location=f"{target_url}/v3/elsewhere")

    target_app = web.Application()
    target_app.router.add_route("*", "/{tail:.*}", target)
    target_runner, target_url = await serve(target_app)
    redirect_app = web.Application()
    redirect_app.router.add_route("*", "/{tail:.*}", redirect)
    redirect_runner, redirect_url = await serve(redirect_app)
    try:
        response = await teams.post(payload("personal_message", redirect_url))
    finally:
        await redirect_runner.cleanup()
        await target_runner.cleanup()

    assert response.status >= 500  # not delivered: the channel may re-send
    assert followed == 0


async def test_newlines_and_escapes_in_what_teams_sends_are_not_written_to_the_log(
    teams: Teams, caplog: pytest.LogCaptureFixture
) -> None:
    forged = "channel\n2026-01-01 INFO adapters.teams: FORGED \x1b[31mred"
    activity = payload("personal_message", teams.connector.url, text="forgotten password")
    activity["conversation"]["conversationType"] = forged
    click = payload(
        "card_submit", teams.connector.url, value={"action": "topic", "topic": "apply\nFORGED\x1b[0m"}
    )

    with caplog.at_level(logging.DEBUG):
        await teams.post(activity)
        await teams.post(click)

    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "FORGED" not in logged
    assert "\x1b" not in logged


async def test_the_message_text_is_never_logged(teams: Teams, caplog: pytest.LogCaptureFixture) -> None:
    secret = "my password is Sunshine-Alpaca-42 and resident John Smith"
    activity = payload("personal_message", teams.connector.url, text=secret)

    with caplog.at_level(logging.DEBUG):
        assert (await teams.post(activity)).status == 200

    logged = "\n".join(r.getMessage() for r in caplog.records)
    for part in ("Sunshine", "Alpaca", "John Smith"):
        assert part not in logged


async def test_a_body_of_valid_json_but_not_an_object_is_a_400(teams: Teams) -> None:
    async with teams.session.post(
        f"{teams.url}/api/messages", data=json.dumps([{}] * 10), headers={"Content-Type": "application/json"}
    ) as response:
        assert response.status == 400
