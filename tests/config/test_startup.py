"""Every configuration `serve` cannot work with stops it with one line saying what to fix, exit status 2."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from config_tools import ROOT, clean_env, free_port, run_cli

from adapters.settings import ConfigError, Settings
from knowledge import KNOWLEDGE_DIR

APP_ID = "0b5d7f9e-1c3a-4e5f-9a7b-2c4d6e8f0a1b"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
PASSWORD = "Q7w~xFAKEclientSECRETvalue.abcd1234"


def _knowledge_copy(tmp_path: Path, edit: Callable[[bytes], bytes]) -> str:
    folder = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE_DIR, folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    faq = folder / "faq.yaml"
    faq.write_bytes(edit(faq.read_bytes()))
    return str(folder)


def _not_utf8(tmp_path: Path) -> list[str]:
    # "café" as Latin-1, as a Windows editor may save it
    edited = _knowledge_copy(tmp_path, lambda text: text.replace(b"Forgotten", b"Forgotten caf\xe9", 1))
    return ["--knowledge", edited, "serve"]


def _unknown_field(tmp_path: Path) -> list[str]:
    # a field the loader does not know, which used to be ignored without a word
    edited = _knowledge_copy(
        tmp_path, lambda text: text.replace(b"    short_title:", b"    colour: blue\n    short_title:", 1)
    )
    return ["--knowledge", edited, "serve"]


CASES: list[tuple[str, dict[str, str], list[str] | Callable[[Path], list[str]], tuple[str, ...]]] = [
    ("port 70000", {}, ["serve", "--port", "70000"], ("--port", "1 to 65535")),
    ("port abc", {}, ["serve", "--port", "abc"], ("--port", "'abc'")),
    ("unresolvable host", {}, ["serve", "--host", "no-such-host.invalid"], ("--host", "cannot be resolved")),
    ("invalid host", {}, ["serve", "--host", "bad host!"], ("--host",)),
    ("public host in local mode", {}, ["serve", "--host", "0.0.0.0"], ("local mode", "--insecure-local")),
    ("app id without password", {"MicrosoftAppId": APP_ID}, ["serve"], ("MicrosoftAppPassword",)),
    ("password without app id", {"MicrosoftAppPassword": PASSWORD}, ["serve"], ("MicrosoftAppId",)),
    (
        "app id not a GUID",
        {"MicrosoftAppId": "my-bot", "MicrosoftAppPassword": PASSWORD, "MicrosoftAppType": "MultiTenant"},
        ["serve"],
        ("MicrosoftAppId", "GUID"),
    ),
    (
        "SingleTenant without tenant",
        {"MicrosoftAppId": APP_ID, "MicrosoftAppPassword": PASSWORD, "MicrosoftAppType": "SingleTenant"},
        ["serve"],
        ("MicrosoftAppTenantId",),
    ),
    (
        "managed identity",
        {"MicrosoftAppId": APP_ID, "MicrosoftAppType": "UserAssignedMSI", "MicrosoftAppTenantId": TENANT},
        ["serve"],
        ("UserAssignedMSI is not supported",),
    ),
    (
        "unknown app type",
        {"MicrosoftAppType": "SingleTennant"},
        ["serve"],
        ("MicrosoftAppType", "SingleTenant"),
    ),
    (
        "Slack token alone",
        {"SLACK_BOT_TOKEN": "xoxb-1-2-abc"},
        ["serve"],
        ("SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"),
    ),
    (
        "Slack secret alone",
        {"SLACK_SIGNING_SECRET": "8f14e45fceea167a5a36dedd4bea2543"},
        ["serve"],
        ("SLACK_BOT_TOKEN",),
    ),
    ("Slack app token alone", {"SLACK_APP_TOKEN": "xapp-1-A1-2-abc"}, ["serve"], ("SLACK_BOT_TOKEN",)),
    (
        "Slack user token as bot token",
        {"SLACK_BOT_TOKEN": "xoxp-1-2-abc", "SLACK_SIGNING_SECRET": "8f14e45fceea167a5a36dedd4bea2543"},
        ["serve"],
        ("SLACK_BOT_TOKEN", "xoxb-"),
    ),
    (
        "login URL over plain http",
        {"ToChannelFromBotLoginUrl": "http://login.example.org/tenant"},
        ["serve"],
        ("ToChannelFromBotLoginUrl", "https://"),
    ),
    (
        "OpenID metadata URL with a backslash trick",
        {"ToBotFromChannelOpenIdMetadataUrl": "http://evil.example\\@127.0.0.1/.well-known"},
        ["serve"],
        ("ToBotFromChannelOpenIdMetadataUrl",),
    ),
    (
        "token issuer not a URL",
        {"ToBotFromChannelTokenIssuer": "api.botframework.com"},
        ["serve"],
        ("ToBotFromChannelTokenIssuer",),
    ),
    (
        "OAuth scope over http",
        {"ToChannelFromBotOAuthScope": "http://api.example.org"},
        ["serve"],
        ("ToChannelFromBotOAuthScope",),
    ),
    (
        "Slack API over http",
        {"SLACK_API_URL": "http://slack.example.org/api/"},
        ["serve"],
        ("SLACK_API_URL",),
    ),
    ("database scheme", {"DATABASE_URL": "mysql://db.example.org/bot"}, ["serve"], ("DATABASE_URL",)),
    ("log level", {"LOG_LEVEL": "VERBOSE"}, ["serve"], ("LOG_LEVEL",)),
    ("knowledge not UTF-8", {}, _not_utf8, ("faq.yaml", "UTF-8")),
    ("knowledge unknown field", {}, _unknown_field, ("faq.yaml", "'colour'", "not a known field")),
]


def _assert_one_line(result: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("nhsmail-bot: ")
    for text in expected:
        assert text in lines[0], (text, lines[0])


@pytest.mark.parametrize(("env", "args", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_serve_refuses_with_one_line(
    tmp_path: Path,
    env: dict[str, str],
    args: list[str] | Callable[[Path], list[str]],
    expected: tuple[str, ...],
) -> None:
    argv = args(tmp_path) if callable(args) else args
    # a free port, so that only the case's own problem can stop the server
    if "--port" not in argv and argv[-1] == "serve":
        argv = [*argv, "--port", str(free_port())]
    result = run_cli(*argv, env=env)
    _assert_one_line(result, *expected)
    assert PASSWORD not in result.stderr


def test_a_port_in_use_is_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("serve", "--port", str(port))
    _assert_one_line(result, f"127.0.0.1:{port}", "in use", "--port")


def _serve(env: dict[str, str], *args: str) -> tuple[int, str]:
    """Start the real server, wait for /healthz, stop it; return the HTTP status and what it logged."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "adapters.cli", "serve", "--port", str(port), *args],
        cwd=ROOT,
        env=clean_env(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    status = 0
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    status = response.status
                    break
            except OSError:
                time.sleep(0.2)
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=30)
    return status, stderr


def test_serve_with_nothing_set_starts_on_loopback() -> None:
    status, stderr = _serve({})
    assert status == 200, stderr
    assert "Traceback" not in stderr


def test_an_app_id_without_app_type_starts_multitenant_with_one_warning() -> None:
    status, stderr = _serve(
        {"MicrosoftAppId": APP_ID, "MicrosoftAppPassword": PASSWORD}, "--host", "127.0.0.1"
    )
    assert status == 200, stderr
    [warning] = [line for line in stderr.splitlines() if "MicrosoftAppType" in line]
    assert "MultiTenant" in warning and "single-tenant" in warning and "401" in warning
    assert "MicrosoftAppTenantId" in warning
    assert PASSWORD not in stderr


# ---- the same rules, read in process (what doctor and serve both rely on)


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"MicrosoftAppId": APP_ID, "MicrosoftAppPassword": PASSWORD},
        {
            "MicrosoftAppId": APP_ID,
            "MicrosoftAppPassword": PASSWORD,
            "MicrosoftAppType": "singletenant",
            "MicrosoftAppTenantId": TENANT,
        },
        {"MicrosoftAppId": APP_ID, "MicrosoftAppPassword": PASSWORD, "MicrosoftAppType": "multi-tenant"},
        {"SLACK_BOT_TOKEN": "xoxb-1-2-abc", "SLACK_SIGNING_SECRET": "8f14e45f"},
        {"SLACK_BOT_TOKEN": "xoxb-1-2-abc", "SLACK_APP_TOKEN": "xapp-1-A1-2-abc"},
        {"ToChannelFromBotLoginUrl": "http://127.0.0.1:9/tenant", "SLACK_API_URL": "http://localhost:9/api/"},
        {"ToBotFromChannelOpenIdMetadataUrl": "http://[::1]:9/openid", "DATABASE_URL": "sqlite:///bot.db"},
        {"DATABASE_URL": "postgresql+psycopg://bot:pw@db.example.org/nhsmail"},
    ],
)
def test_valid_configurations_are_accepted(env: dict[str, str]) -> None:
    settings = Settings.from_env(env)
    assert settings.app_type in ("SingleTenant", "MultiTenant")


def test_app_type_in_any_case_is_the_canonical_name() -> None:
    env = {"MicrosoftAppId": APP_ID, "MicrosoftAppPassword": PASSWORD, "MicrosoftAppTenantId": TENANT}
    assert Settings.from_env({**env, "MicrosoftAppType": "SINGLETENANT"}).app_type == "SingleTenant"
    assert Settings.from_env({**env, "MicrosoftAppType": "Single Tenant"}).app_type == "SingleTenant"
    defaulted = Settings.from_env({k: v for k, v in env.items() if k != "MicrosoftAppTenantId"})
    assert (defaulted.app_type, defaulted.app_type_defaulted) == ("MultiTenant", True)


def test_the_default_address_follows_the_mode() -> None:
    assert Settings.from_env({}).host == "127.0.0.1"
    production = {
        "MicrosoftAppId": APP_ID,
        "MicrosoftAppPassword": PASSWORD,
        "MicrosoftAppType": "MultiTenant",
    }
    assert Settings.from_env(production).host == "0.0.0.0"
    opened = Settings.from_env({}, host="0.0.0.0", insecure_local=True)
    assert opened.host == "0.0.0.0"
    assert any("--insecure-local" in w for w in opened.warnings())


def test_every_problem_is_listed_and_the_error_is_one_line() -> None:
    env = {"MicrosoftAppPassword": PASSWORD, "SLACK_BOT_TOKEN": "xoxb-1", "MicrosoftAppType": "x"}
    _, problems = Settings.read(env, port="0")
    assert len(problems) == 4
    with pytest.raises(ConfigError) as raised:
        Settings.from_env(env)
    assert "\n" not in str(raised.value) and "doctor" in str(raised.value)
    assert len(raised.value.problems) == 3


def test_teams_settings_without_an_app_id_are_a_warning() -> None:
    settings = Settings.from_env({"MicrosoftAppType": "SingleTenant", "MicrosoftAppTenantId": TENANT})
    assert settings.local_mode
    [warning] = settings.warnings()
    assert "MicrosoftAppId" in warning and "local mode" in warning
