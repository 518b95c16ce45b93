"""deploy/slack/manifest.yml is a valid Slack app manifest and asks for what the adapter uses, no more."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator
from referencing import Registry, Resource

from adapters.slack.endpoint import EVENTS_PATH
from adapters.slack.listeners import COMMAND

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / "deploy" / "slack" / "manifest.yml"
SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"
VERSIONED = (
    "https://raw.githubusercontent.com/slackapi/manifest-schema/v0.5.0/schemas/manifest.schema.{}.json"
)


def schema(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    return loaded


def validator() -> Draft7Validator:
    """The top-level schema, with its versioned schemas served from the local copies (no network)."""
    registry: Registry = Registry().with_resources(
        (VERSIONED.format(v), Resource.from_contents(schema(f"slack-manifest.schema.{v}.json")))
        for v in ("1.0.0", "2.0.0")
    )
    return Draft7Validator(schema("slack-manifest.schema.json"), registry=registry)


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    return loaded


def test_manifest_is_valid(manifest: dict[str, Any]) -> None:
    # the versioned schema gives the clearer message when something is wrong
    direct = Draft7Validator(schema("slack-manifest.schema.1.0.0.json"))
    assert [e.message for e in direct.iter_errors(manifest)] == []
    assert [e.message for e in validator().iter_errors(manifest)] == []


def test_the_validator_does_reject_a_broken_manifest(manifest: dict[str, Any]) -> None:
    broken = {**manifest, "display_information": {"colour": "blue"}}
    assert not validator().is_valid(broken)


def test_only_the_scopes_the_bot_uses(manifest: dict[str, Any]) -> None:
    # app_mention needs app_mentions:read, message.im needs im:history, answers need chat:write
    assert sorted(manifest["oauth_config"]["scopes"]["bot"]) == [
        "app_mentions:read",
        "chat:write",
        "commands",
        "im:history",
    ]
    assert "user" not in manifest["oauth_config"]["scopes"]


def test_events_commands_and_interactivity_all_go_to_the_one_endpoint(manifest: dict[str, Any]) -> None:
    settings, features = manifest["settings"], manifest["features"]
    assert settings["event_subscriptions"]["bot_events"] == ["app_mention", "message.im"]
    assert "user_events" not in settings["event_subscriptions"]
    assert settings["interactivity"]["is_enabled"] is True
    [command] = features["slash_commands"]
    assert command["command"] == COMMAND
    for url in (
        command["url"],
        settings["event_subscriptions"]["request_url"],
        settings["interactivity"]["request_url"],
    ):
        assert url == f"https://HOST{EVENTS_PATH}"
    # people can message the bot directly
    assert features["app_home"]["messages_tab_enabled"] is True
    assert features["app_home"]["messages_tab_read_only_enabled"] is False
