"""The door: local mode for loopback only, a quick 401 for any bad token (even a flood), 4xx for bad input."""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid

import pytest
from aiohttp import web
from teams_fakes import Teams, forged_token, payload, serve, visible_text

from adapters.server import create_app
from adapters.settings import Settings
from adapters.teams import TEAMS
from bot.engine import Engine


async def test_local_mode_refuses_a_service_url_off_loopback_and_sends_nothing(teams: Teams) -> None:
    for url in (
        "https://smba.trafficmanager.net/uk/",
        "http://attacker.example:8080/",
        "http://127.0.0.1.attacker.example/",
        "http://127.0.0.1@attacker.example/",
        "http://10.0.0.5/",
        "file:///etc/passwd",
        "",
    ):
        response = await teams.post(payload("personal_message", url))
        assert response.status == 403, url

    await teams.connector.wait_for(1, timeout=0.3)
    assert teams.connector.sent == []


async def test_local_mode_accepts_localhost_by_name(teams: Teams) -> None:
    url = teams.connector.url.replace("127.0.0.1", "localhost")

    assert (await teams.post(payload("personal_message", url))).status == 200

    assert len(await teams.connector.wait_for(1)) == 1


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"not json at all", "application/json", 400),
        (b"\xff\xfe\x00garbage", "application/json", 400),
        (b'{"type": "message"', "application/json", 400),
        (b"[1, 2, 3]", "application/json", 400),
        (b'"a string"', "application/json", 400),
        (b"{}", "application/json", 400),
        (b'{"type": "message", "text": "hi"}', "application/json", 400),  # no serviceUrl, no conversation
        (b'{"type": "message", "text": "hi"}', "text/plain", 415),
        (b"type=message&text=hi", "application/x-www-form-urlencoded", 415),
        (b"", "", 415),
        (b"x" * (300 * 1024), "application/json", 413),
    ],
)
async def test_bad_bodies_get_a_4xx_never_a_5xx(
    teams: Teams, body: bytes, content_type: str, status: int
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    async with teams.session.post(f"{teams.url}/api/messages", data=body, headers=headers) as response:
        assert response.status == status

    assert teams.connector.sent == []


@pytest.mark.parametrize(
    "changes",
    [
        {"entities": "not a list"},
        {"conversation": "not an object"},
        {"recipient": None},
        {"value": [1, 2]},
        {"text": 42},
        {"type": "messageReaction", "reactionsAdded": [{"type": "like"}]},
    ],
)
async def test_odd_activities_never_get_a_5xx(teams: Teams, changes: dict[str, object]) -> None:
    activity = payload("personal_message", teams.connector.url, **changes)

    response = await teams.post(activity)

    assert response.status < 500


@pytest.mark.parametrize(
    ("name", "value", "status"),
    [
        ("adaptiveCard/action", {"action": {}}, 400),  # botbuilder's own answer to a malformed Action.Execute
        ("composeExtension/query", {"commandId": "search"}, 501),  # no message extension: not implemented
    ],
)
async def test_invokes_the_bot_does_not_handle_get_botbuilders_answer_not_a_crash(
    teams: Teams, name: str, value: dict[str, object], status: int
) -> None:
    invoke = payload("card_submit", teams.connector.url, type="invoke", name=name, value=value)

    response = await teams.post(invoke)

    assert response.status == status
    assert teams.connector.sent == []


async def test_with_an_app_id_a_request_without_a_good_token_is_401_and_nothing_is_sent(
    secured_teams: Teams,
) -> None:
    teams = secured_teams
    url = teams.connector.url
    tokens = [
        None,
        "",
        "not-a-jwt",
        "a.b.c",
        "eyJhbGciOiJub25lIn0.eyJpc3MiOiJodHRwczovL2FwaS5ib3RmcmFtZXdvcmsuY29tIn0.",  # alg none
        forged_token(teams.app_id, url, aud="some-other-bot"),
        forged_token(teams.app_id, url, iss="https://sts.windows.net/attacker/"),
        forged_token(teams.app_id, url, exp=int(time.time()) - 3600),
        forged_token(teams.app_id, "https://attacker.example/"),  # token for another serviceUrl
        forged_token(teams.app_id, url),  # everything right but the signature
    ]
    for token in tokens:
        response = await teams.post(payload("personal_message", url), token=token)
        assert response.status == 401, token

    basic = {"Authorization": "Basic dXNlcjpwYXNz"}
    async with teams.session.post(
        f"{teams.url}/api/messages", json=payload("personal_message", url), headers=basic
    ) as response:
        assert response.status == 401

    await teams.connector.wait_for(1, timeout=0.3)
    assert teams.connector.sent == []


async def test_a_forged_token_is_refused_quickly(secured_teams: Teams) -> None:
    teams = secured_teams
    token = forged_token(teams.app_id, teams.connector.url)

    started = time.monotonic()
    response = await teams.post(payload("personal_message", teams.connector.url), token=token)

    assert response.status == 401
    assert time.monotonic() - started < 6  # at most the key fetch's own timeout, never a hang


async def test_a_flood_of_forged_tokens_does_not_stall_the_server(secured_teams: Teams) -> None:
    teams = secured_teams
    url = teams.connector.url
    forged = [(payload("personal_message", url), forged_token(teams.app_id, url)) for _ in range(50)]

    async def healthz_latency() -> float:
        started = time.monotonic()
        response = await teams.get("/healthz")
        assert response.status == 200
        return time.monotonic() - started

    started = time.monotonic()
    flood = asyncio.gather(*(teams.post(activity, token=token) for activity, token in forged))
    await asyncio.sleep(0)
    latencies = [await healthz_latency() for _ in range(5)]
    responses = await flood

    assert [r.status for r in responses] == [401] * 50
    assert max(latencies) < 1.0
    assert time.monotonic() - started < 10
    assert teams.connector.sent == []


async def test_a_key_server_that_hangs_still_ends_in_a_quick_401(secured_teams: Teams) -> None:
    teams = secured_teams
    hanging = asyncio.Event()

    async def never_answers(request: web.Request) -> web.Response:
        await hanging.wait()
        return web.json_response({})

    app = web.Application()
    app.router.add_get("/openid", never_answers)
    runner, keys_url = await serve(app)
    # stands in for login.botframework.com on a network that swallows packets
    teams.app[TEAMS].keys.metadata_url = f"{keys_url}/openid"
    try:
        activity = payload("personal_message", teams.connector.url)
        started = time.monotonic()
        post = asyncio.ensure_future(
            teams.post(activity, token=forged_token(teams.app_id, teams.connector.url))
        )
        await asyncio.sleep(0.2)
        health_started = time.monotonic()
        assert (await teams.get("/healthz")).status == 200
        assert time.monotonic() - health_started < 1.0
        response = await post
        assert response.status == 401
        assert time.monotonic() - started < 8
    finally:
        hanging.set()
        await runner.cleanup()
    assert teams.connector.sent == []


async def test_with_an_app_id_a_genuine_token_is_answered_with_the_bots_own_token(
    secured_teams: Teams,
) -> None:
    teams = secured_teams
    activity = payload("personal_message", teams.connector.url, text="I've forgotten my password")

    response = await teams.post(activity, token=teams.genuine_token())

    assert response.status == 200
    (reply,) = await teams.connector.wait_for(1)
    assert reply.cards and "forgotten" in visible_text(reply.card).lower()
    assert teams.login is not None
    (grant,) = teams.login.tokens
    assert grant["grant_type"] == "client_credentials"
    assert grant["client_id"] == teams.app_id
    assert grant["scope"] == "https://api.botframework.com/.default"
    assert teams.connector.authorizations == [f"Bearer {teams.login.issued(1)}"]


async def test_a_genuine_token_for_a_service_url_off_the_allow_list_is_refused_before_any_call(
    secured_teams: Teams,
) -> None:
    teams = secured_teams
    elsewhere = teams.connector.url.replace("127.0.0.1", "localhost")  # loopback, but not on the list
    activity = payload("personal_message", elsewhere)

    response = await teams.post(activity, token=teams.genuine_token(elsewhere))

    assert response.status == 403
    await teams.connector.wait_for(1, timeout=0.3)
    assert teams.connector.sent == []


def test_single_tenant_settings_build_the_server(engine: Engine) -> None:
    settings = Settings(
        app_id=str(uuid.uuid4()),
        app_password=secrets.token_urlsafe(24),
        app_type="SingleTenant",
        app_tenant_id=str(uuid.uuid4()),
    )

    app = create_app(settings, engine)

    assert not app[TEAMS].local_mode
