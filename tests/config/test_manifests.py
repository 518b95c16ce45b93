"""The Slack manifest and the Teams package, generated for one server, valid against the published schemas,
and teams-package working from a plain `pip install .` outside the checkout."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from config_tools import ROOT, clean_env, run_cli
from jsonschema import Draft7Validator
from referencing import Registry, Resource

SCHEMAS = ROOT / "tests" / "schemas"
VERSIONED = (
    "https://raw.githubusercontent.com/slackapi/manifest-schema/v0.5.0/schemas/manifest.schema.{}.json"
)
APP_ID = "2b7a8c3e-1f4d-4e5a-9b6c-7d8e9f0a1b2c"
HOST = "bot.example.org"


def _schema(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    return loaded


def slack_errors(manifest: dict[str, Any]) -> list[str]:
    """Errors under Slack's router schema, its versioned schemas served from the local copies (no network)."""
    registry: Registry = Registry().with_resources(
        (VERSIONED.format(v), Resource.from_contents(_schema(f"slack-manifest.schema.{v}.json")))
        for v in ("1.0.0", "2.0.0")
    )
    validators = (
        Draft7Validator(_schema("slack-manifest.schema.json"), registry=registry),
        Draft7Validator(_schema("slack-manifest.schema.1.0.0.json")),
    )
    return [e.message for v in validators for e in v.iter_errors(manifest)]


def teams_errors(manifest: dict[str, Any]) -> list[str]:
    # the schema says draft-04 but uses `const`: Draft 7 reads it as meant (tests/schemas/README.md)
    validator = Draft7Validator(_schema("teams-manifest-1.19.schema.json"))
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(manifest)]


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str):
        yield value


def _urls(manifest: dict[str, Any]) -> list[str]:
    return [s for s in _strings(manifest) if s.startswith(("http://", "https://"))]


# ---- Slack


def test_slack_manifest_for_a_host_is_valid_and_every_url_is_on_it(tmp_path: Path) -> None:
    out = tmp_path / "slack-manifest.yml"
    result = run_cli("slack-manifest", "--host", HOST, "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(out)
    manifest = yaml.safe_load(out.read_text(encoding="utf-8"))

    assert slack_errors(manifest) == []
    settings, [command] = manifest["settings"], manifest["features"]["slash_commands"]
    requests = [
        command["url"],
        settings["event_subscriptions"]["request_url"],
        settings["interactivity"]["request_url"],
    ]
    assert requests == [f"https://{HOST}/slack/events"] * 3
    assert _urls(manifest) == requests  # no other URL, and none left on the placeholder
    assert settings["socket_mode_enabled"] is False
    assert "HOST" not in out.read_text(encoding="utf-8").replace(HOST, "")


def test_slack_manifest_for_socket_mode_has_no_request_urls() -> None:
    result = run_cli("slack-manifest", "--socket-mode")
    assert result.returncode == 0, result.stderr
    manifest = yaml.safe_load(result.stdout)

    assert slack_errors(manifest) == []
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert _urls(manifest) == []
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["settings"]["event_subscriptions"]["bot_events"] == ["app_mention", "message.im"]


def test_the_generated_manifest_keeps_the_template_s_scopes_and_events() -> None:
    template = yaml.safe_load((ROOT / "deploy" / "slack" / "manifest.yml").read_text(encoding="utf-8"))
    manifest = yaml.safe_load(run_cli("slack-manifest", "--host", HOST).stdout)
    assert manifest["oauth_config"] == template["oauth_config"]
    assert manifest["features"]["bot_user"] == template["features"]["bot_user"]
    assert (
        manifest["settings"]["event_subscriptions"]["bot_events"]
        == template["settings"]["event_subscriptions"]["bot_events"]
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--host", "https://bot.example.org"], "--host"),
        (["--host", "bot.example.org/slack"], "--host"),
        (["--host", "bot example"], "--host"),
        ([], "--host"),
    ],
)
def test_slack_manifest_refuses_what_is_not_a_host(args: list[str], expected: str) -> None:
    result = run_cli("slack-manifest", *args)
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1 and expected in result.stderr
    assert "Traceback" not in result.stderr


# ---- Teams


def _package(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    out = tmp_path / "teams.zip"
    result = run_cli("teams-package", "--app-id", APP_ID, "--out", str(out), *args)
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(out) as package:
        return result, json.loads(package.read("manifest.json"))


def test_teams_package_with_host_and_developer_details(tmp_path: Path) -> None:
    result, manifest = _package(
        tmp_path,
        "--host",
        HOST,
        "--developer-name",
        "Sunny Care Group",
        "--website",
        "https://sunnycare.example.org",
        "--privacy-url",
        "https://sunnycare.example.org/privacy",
        "--terms-url",
        "https://sunnycare.example.org/terms",
    )
    assert teams_errors(manifest) == []
    assert manifest["validDomains"] == [HOST]
    assert manifest["developer"] == {
        "name": "Sunny Care Group",
        "websiteUrl": "https://sunnycare.example.org",
        "privacyUrl": "https://sunnycare.example.org/privacy",
        "termsOfUseUrl": "https://sunnycare.example.org/terms",
    }
    assert result.stderr == ""


def test_teams_package_warns_about_each_placeholder_left(tmp_path: Path) -> None:
    result, manifest = _package(tmp_path, "--developer-name", "Sunny Care Group")
    warnings = result.stderr.splitlines()
    assert teams_errors(manifest) == []
    assert len(warnings) == 3
    assert all(w.startswith("nhsmail-bot: warning: developer.") for w in warnings)
    for option in ("--website", "--privacy-url", "--terms-url"):
        assert sum(option in w for w in warnings) == 1


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--website", "http://sunnycare.example.org"], "--website"),
        (["--developer-name", "A name far too long for the Teams manifest"], "--developer-name"),
        (["--host", "https://bot.example.org/api/messages"], "--host"),
    ],
)
def test_teams_package_refuses_bad_details(tmp_path: Path, args: list[str], expected: str) -> None:
    result = run_cli("teams-package", "--app-id", APP_ID, "--out", str(tmp_path / "x.zip"), *args)
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1 and expected in result.stderr
    assert not (tmp_path / "x.zip").exists()


def test_teams_package_works_from_a_plain_install_outside_the_checkout(tmp_path: Path) -> None:
    """`pip install .` of exactly what git would ship (a copy: nothing else of the checkout is there),
    into a fresh venv, then the installed command run from another folder."""
    source = tmp_path / "source"
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    # this venv's pip installs into the new one (quicker than bootstrapping a pip there); the wheel cache
    # is reused, the dependencies are installed for real
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(venv / "bin" / "python"),
            "install",
            "--no-compile",
            "-q",
            str(source),
        ],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=600,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = subprocess.run(
        [
            str(venv / "bin" / "nhsmail-bot"),
            "teams-package",
            "--app-id",
            APP_ID,
            "--out",
            "app.zip",
            "--host",
            HOST,
        ],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(elsewhere / "app.zip") as package:
        assert sorted(package.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(package.read("manifest.json"))
        icons = {name: package.read(name) for name in ("color.png", "outline.png")}
    assert teams_errors(manifest) == []
    assert (manifest["id"], manifest["bots"][0]["botId"], manifest["validDomains"]) == (
        APP_ID,
        APP_ID,
        [HOST],
    )
    assert icons == {name: (ROOT / "deploy" / "teams" / name).read_bytes() for name in icons}
    slack = subprocess.run(
        [str(venv / "bin" / "nhsmail-bot"), "slack-manifest", "--host", HOST],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=120,
    )
    assert slack.returncode == 0, slack.stderr
    assert slack_errors(yaml.safe_load(slack.stdout)) == []
