"""`doctor --online` against local fakes of the Azure AD login service, Slack's Web API and a database."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web
from config_tools import ROOT, clean_env, free_port
from test_doctor import APP_TOKEN, BOT_TOKEN, SECRETS, SIGNING_SECRET
from test_startup import APP_ID, PASSWORD, TENANT

SCOPE = "https://api.botframework.com/.default"


@dataclass
class Fakes:
    """The login service (client-credentials tokens) and Slack's auth.test, recording what they were sent."""

    url: str = ""
    token_requests: list[dict[str, str]] = field(default_factory=list)
    auth_tests: list[str] = field(default_factory=list)
    connections: list[str] = field(default_factory=list)
    hang: bool = False

    async def token(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        self.token_requests.append({k: str(v) for k, v in form.items()})
        if self.hang:
            await asyncio.sleep(30)
        if request.match_info["tenant"] != TENANT or form.get("client_secret") != PASSWORD:
            return web.json_response(
                {
                    "error": "invalid_client",
                    "error_description": "AADSTS7000215: Invalid client secret provided.\r\nTrace ID: 1",
                },
                status=401,
            )
        return web.json_response({"token_type": "Bearer", "expires_in": 3599, "access_token": "eyJ.fake.jwt"})

    async def auth_test(self, request: web.Request) -> web.Response:
        self.auth_tests.append(request.headers.get("Authorization", ""))
        if request.headers.get("Authorization") != f"Bearer {BOT_TOKEN}":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        return web.json_response({"ok": True, "team": "Sunny Care\x1b[31m", "user": "nhsmail_helpdesk"})

    async def connections_open(self, request: web.Request) -> web.Response:
        self.connections.append(request.headers.get("Authorization", ""))
        if request.headers.get("Authorization") != f"Bearer {APP_TOKEN}":
            return web.json_response({"ok": False, "error": "not_allowed_token_type"})
        return web.json_response({"ok": True, "url": "wss://127.0.0.1:9/link/?ticket=1"})


@pytest.fixture
async def fakes() -> AsyncIterator[Fakes]:
    fake = Fakes()
    app = web.Application()
    app.router.add_post("/{tenant}/oauth2/v2.0/token", fake.token)
    app.router.add_post("/api/auth.test", fake.auth_test)
    app.router.add_post("/api/apps.connections.open", fake.connections_open)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    fake.url = f"http://127.0.0.1:{port}"
    yield fake
    await runner.cleanup()


def _env(fake: Fakes, **changes: str) -> dict[str, str]:
    return {
        "MicrosoftAppId": APP_ID,
        "MicrosoftAppPassword": PASSWORD,
        "MicrosoftAppType": "SingleTenant",
        "MicrosoftAppTenantId": TENANT,
        "ToChannelFromBotLoginUrl": f"{fake.url}/{TENANT}",
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": f"{fake.url}/api/",
        **changes,
    }


async def _doctor(env: dict[str, str]) -> tuple[int, str, str]:
    """The real command in its own process, while this test's event loop serves the fakes."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "adapters.cli",
        "doctor",
        "--online",
        "--port",
        str(free_port()),
        cwd=ROOT,
        env=clean_env(env),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(child.communicate(), 60)
    assert child.returncode is not None
    return child.returncode, out.decode(), err.decode()


def _online(out: str) -> dict[str, str]:
    """Each online check's line, by what it checked (Teams, Slack, store)."""
    lines = [line.removeprefix("online ") for line in out.splitlines() if line.startswith("online ")]
    return {line.split(": ", 2)[1]: line for line in lines}


async def test_a_working_configuration_passes_every_check(fakes: Fakes) -> None:
    status, out, err = await _doctor(_env(fakes))

    assert status == 0, out + err
    checks = _online(out)
    assert checks["Teams"].startswith("ok: Teams: got a Bot Framework token from http://127.0.0.1:")
    assert "(valid 3599 s)" in checks["Teams"]
    assert checks["Slack"] == "ok: Slack: auth.test ok: workspace Sunny Care [31m, bot user nhsmail_helpdesk"
    assert checks["store"].startswith("ok: store: SQLite at ")
    assert "(DATABASE_URL not set): answers, " in checks["store"]  # empty or migrated: the run's order says
    # what the login service was sent is exactly the client-credentials grant the Teams adapter uses
    assert fakes.token_requests == [
        {"grant_type": "client_credentials", "client_id": APP_ID, "client_secret": PASSWORD, "scope": SCOPE}
    ]
    assert fakes.auth_tests == [f"Bearer {BOT_TOKEN}"]
    assert fakes.connections == []  # HTTP mode: no app token to check
    assert "\x1b" not in out
    assert not any(secret in out + err for secret in SECRETS)


async def test_a_wrong_password_fails_with_the_login_service_s_reason(fakes: Fakes) -> None:
    status, out, err = await _doctor(_env(fakes, MicrosoftAppPassword="wrong-secret-value-0000"))

    assert status == 1
    teams = _online(out)["Teams"]
    assert teams.startswith("FAILED: Teams: no token from")
    assert "HTTP 401 invalid_client: AADSTS7000215: Invalid client secret provided." in teams
    assert "MicrosoftAppPassword" in teams
    assert "Trace ID" not in teams  # one line
    assert "wrong-secret-value" not in out + err
    assert out.splitlines()[-1] == "1 online check(s) failed: the server would start but not work"


async def test_a_wrong_slack_token_fails(fakes: Fakes) -> None:
    other = "xoxb-2-999-FAKEotherTOKEN000000000"
    status, out, _ = await _doctor(_env(fakes, SLACK_BOT_TOKEN=other))

    assert status == 1
    assert (
        _online(out)["Slack"]
        == "FAILED: Slack: auth.test failed: HTTP 200 invalid_auth; check SLACK_BOT_TOKEN"
    )
    assert other[:-4] not in out


async def test_a_hanging_login_service_times_out(fakes: Fakes) -> None:
    fakes.hang = True
    started = asyncio.get_running_loop().time()
    status, out, _ = await _doctor(_env(fakes))

    assert status == 1
    assert asyncio.get_running_loop().time() - started < 20
    assert _online(out)["Teams"].startswith("FAILED: Teams: cannot reach http://127.0.0.1:")
    assert _online(out)["Slack"].startswith("ok:")


async def test_services_that_refuse_connections_fail() -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    env = {
        **_env(Fakes(url=closed)),
        "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{free_port()}/nhsmail",
    }
    status, out, _ = await _doctor(env)

    assert status == 1
    checks = _online(out)
    assert checks["Teams"].startswith("FAILED: Teams: cannot reach")
    assert checks["Slack"].startswith("FAILED: Slack: cannot reach")
    assert checks["store"].startswith("FAILED: store: PostgreSQL at 127.0.0.1:")
    assert "cannot be used" in checks["store"]


async def test_local_mode_needs_no_token_and_sqlite_opens(tmp_path: Path) -> None:
    database = tmp_path / "bot.db"
    sqlite3.connect(database).close()
    status, out, _ = await _doctor({"DATABASE_URL": f"sqlite:///{database}"})

    assert status == 0, out
    checks = _online(out)
    assert checks["Teams"] == "skipped: Teams: local mode, no token needed"
    assert checks["Slack"] == "skipped: Slack: off, nothing to check"
    assert (
        checks["store"]
        == f"ok: store: SQLite at {database}: answers, schema empty: the server migrates it at start"
    )


async def test_a_sqlite_file_that_is_not_a_database_fails(tmp_path: Path) -> None:
    database = tmp_path / "bot.db"
    database.write_bytes(b"not a database, just text" * 100)
    status, out, _ = await _doctor({"DATABASE_URL": f"sqlite:///{database}"})

    assert status == 1
    assert _online(out)["store"].startswith(f"FAILED: store: SQLite at {database}: cannot be used")


async def test_the_real_postgresql_accepts_a_connection() -> None:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", 5432)
    except OSError:
        pytest.skip("no PostgreSQL on 127.0.0.1:5432")
    writer.close()
    status, out, _ = await _doctor({"DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/postgres"})

    assert status == 0, out
    assert _online(out)["store"].startswith(
        "ok: store: PostgreSQL at 127.0.0.1:5432/postgres as postgres: answers"
    )


async def test_socket_mode_checks_the_app_token(fakes: Fakes) -> None:
    env = {k: v for k, v in _env(fakes).items() if k != "SLACK_SIGNING_SECRET"}
    status, out, err = await _doctor({**env, "SLACK_APP_TOKEN": APP_TOKEN})

    assert status == 0, out + err
    assert _online(out)["Slack Socket Mode"] == (
        "ok: Slack Socket Mode: apps.connections.open ok: the app token can connect"
    )
    assert fakes.connections == [f"Bearer {APP_TOKEN}"]
    assert not any(secret in out + err for secret in SECRETS)


async def test_socket_mode_with_a_refused_app_token_fails(fakes: Fakes) -> None:
    env = {k: v for k, v in _env(fakes).items() if k != "SLACK_SIGNING_SECRET"}
    other = "xapp-1-A0FAKE-999-FAKEotherAPPtoken0000"
    status, out, _ = await _doctor({**env, "SLACK_APP_TOKEN": other})

    assert status == 1
    line = _online(out)["Slack Socket Mode"]
    assert line.startswith(
        "FAILED: Slack Socket Mode: apps.connections.open failed: HTTP 200 not_allowed_token_type"
    )
    assert "SLACK_APP_TOKEN" in line and other[:-4] not in out
