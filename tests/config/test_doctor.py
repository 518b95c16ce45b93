"""`nhsmail-bot doctor`: what serve would run in every mode, every problem named, and no secret ever shown."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from config_tools import ROOT, clean_env, free_port, run_cli
from test_startup import APP_ID, CASES, PASSWORD, TENANT

from adapters.doctor import secret

BOT_TOKEN = "xoxb-2-1234567890123-FAKEbotTOKENvalueWXYZ"
APP_TOKEN = "xapp-1-A0FAKE-1234567890-FAKEappTOKENvalue7890"
SIGNING_SECRET = "8f14e45fceea167a5a36dedd4bea2543"
DB_PASSWORD = "FAKE-db-pass-never-shown"
SECRETS = (PASSWORD, BOT_TOKEN, APP_TOKEN, SIGNING_SECRET, DB_PASSWORD)

PRODUCTION = {"MicrosoftAppId": APP_ID, "MicrosoftAppPassword": PASSWORD}
SINGLE = {**PRODUCTION, "MicrosoftAppType": "SingleTenant", "MicrosoftAppTenantId": TENANT}

MODES: list[tuple[str, dict[str, str], tuple[str, ...]]] = [
    (
        "nothing set",
        {},
        (
            "Teams: local mode (no MicrosoftAppId)",
            "Slack: off (SLACK_BOT_TOKEN not set)",
            "(DATABASE_URL not set)",
            "server: listens on 127.0.0.1:",
            "knowledge: 24 entries",
            "sentence model: installed",
        ),
    ),
    (
        "single-tenant Teams",
        SINGLE,
        (f"Teams: production, SingleTenant, tenant {TENANT}; app id {APP_ID}; app password set (…1234)",),
    ),
    (
        "multi-tenant by default",
        PRODUCTION,
        ("Teams: production, MultiTenant (assumed: MicrosoftAppType not set)", "server: listens on 0.0.0.0:"),
    ),
    (
        "Slack over HTTP",
        {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET},
        ("Slack: HTTP mode, signing secret set (…2543); bot token set (xoxb-…WXYZ)",),
    ),
    (
        "Slack Socket Mode",
        {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN},
        ("Slack: Socket Mode, app token set (xapp-…7890); bot token set (xoxb-…WXYZ)",),
    ),
    (
        "PostgreSQL store",
        {"DATABASE_URL": f"postgresql://bot:{DB_PASSWORD}@db.example.org:5433/nhsmail"},
        ("store: PostgreSQL at db.example.org:5433/nhsmail as bot, password set",),
    ),
    (
        "SQLite store",
        {"DATABASE_URL": "sqlite:////var/lib/nhsmail-bot/bot.db"},
        ("store: SQLite at /var/lib/nhsmail-bot/bot.db",),
    ),
    (
        "sovereign cloud",
        {**SINGLE, "ToChannelFromBotLoginUrl": "https://login.microsoftonline.us/" + TENANT},
        (f"Teams: token from https://login.microsoftonline.us/{TENANT}, scope https://api.botframework.com",),
    ),
]


def _doctor(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = run_cli("doctor", "--port", str(free_port()), *args, env=env)
    assert "Traceback" not in result.stderr
    return result.returncode, result.stdout


@pytest.mark.parametrize(("env", "expected"), [m[1:] for m in MODES], ids=[m[0] for m in MODES])
def test_each_mode_is_described(env: dict[str, str], expected: tuple[str, ...]) -> None:
    status, out = _doctor(env)
    assert status == 0, out
    for line in expected:
        assert line in out, (line, out)
    assert out.splitlines()[-1] == "`nhsmail-bot serve` would start"
    assert "problem:" not in out


def test_an_assumed_app_type_is_one_warning_saying_what_to_set() -> None:
    status, out = _doctor(PRODUCTION)
    [warning] = [line for line in out.splitlines() if line.startswith("warning:")]
    assert status == 0
    assert "single-tenant" in warning and "401" in warning
    assert "MicrosoftAppType=SingleTenant" in warning and "MicrosoftAppTenantId" in warning
    assert "warning:" not in _doctor(SINGLE)[1]


@pytest.mark.parametrize(
    ("env", "args", "expected"),
    [c[1:] for c in CASES if c[0] != "log level"],
    ids=[c[0] for c in CASES if c[0] != "log level"],
)
def test_each_start_up_problem_is_named(
    tmp_path: Path,
    env: dict[str, str],
    args: list[str] | Callable[[Path], list[str]],
    expected: tuple[str, ...],
) -> None:
    argv = args(tmp_path) if callable(args) else args
    options = argv[argv.index("serve") + 1 :]
    knowledge = argv[: argv.index("serve")]
    result = run_cli(
        *knowledge,
        "doctor",
        *options,
        *([] if "--port" in options else ["--port", str(free_port())]),
        env=env,
    )
    assert result.returncode == 1, result.stdout
    problems = [line for line in result.stdout.splitlines() if line.startswith("problem:")]
    assert problems, result.stdout
    assert any(all(text in p for text in expected) for p in problems), (expected, problems)
    assert "would stop with exit status 2" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_a_port_in_use_is_a_problem() -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("doctor", "--port", str(port))
    assert result.returncode == 1
    assert f"problem: cannot listen on 127.0.0.1:{port}: the port is in use" in result.stdout


def test_all_problems_at_once_are_all_listed() -> None:
    env = {
        "MicrosoftAppPassword": PASSWORD,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "MicrosoftAppType": "Foo",
    }
    status, out = _doctor(env)
    problems = [line for line in out.splitlines() if line.startswith("problem:")]
    assert status == 1
    assert len(problems) == 3
    assert "3 problem(s)" in out


@pytest.mark.parametrize(
    "env",
    [
        {
            **SINGLE,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_APP_TOKEN": APP_TOKEN,
        },
        {"MicrosoftAppPassword": PASSWORD, "SLACK_SIGNING_SECRET": SIGNING_SECRET},  # half-set: problems
        {"SLACK_BOT_TOKEN": BOT_TOKEN},
        {"SLACK_APP_TOKEN": APP_TOKEN},
        {"DATABASE_URL": f"postgresql://bot:{DB_PASSWORD}@db.example.org/nhsmail"},
        {"DATABASE_URL": f"mysql://bot:{DB_PASSWORD}@db.example.org/nhsmail"},
        {**PRODUCTION, "ToChannelFromBotLoginUrl": f"http://user:{DB_PASSWORD}@login.example.org/x"},
    ],
)
def test_secrets_are_never_shown(env: dict[str, str]) -> None:
    result = run_cli("doctor", "--port", str(free_port()), env=env)
    shown = result.stdout + result.stderr
    for value in SECRETS:
        # at most the last 4 characters of a secret may appear
        assert value not in shown
        assert value[:-4] not in shown
        assert value[:8] not in shown or value.startswith(("xoxb-", "xapp-"))


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("", "not set"),
        ("short", "set"),
        (BOT_TOKEN, "set (xoxb-…WXYZ)"),
        ("xoxb-1", "set (xoxb-…)"),
        (SIGNING_SECRET, "set (…2543)"),
    ],
)
def test_secret_shows_only_kind_and_last_four(value: str, shown: str) -> None:
    assert secret(value) == shown


def test_doctor_beside_the_running_bot_is_not_a_problem() -> None:
    """Run where the server already runs (in its container, say): the port is taken by the bot itself."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "adapters.cli", "serve", "--port", str(port)],
        cwd=ROOT,
        env=clean_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).close()
                break
            except OSError:
                time.sleep(0.2)
        result = run_cli("doctor", "--port", str(port))
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert result.returncode == 0, result.stdout
    assert f"server: already running on 127.0.0.1:{port} (its /healthz answers)" in result.stdout
