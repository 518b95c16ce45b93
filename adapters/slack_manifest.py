"""The Slack app manifest for one server, from the template deploy/slack/manifest.yml."""

from __future__ import annotations

from typing import Any

import yaml

from adapters.templates import check_host, template_dir

__all__ = ["PLACEHOLDER", "render", "to_manifest"]

# the template's URLs are all https://HOST/…; HOST is replaced by the server's public host name
PLACEHOLDER = "HOST"


def to_manifest(template: dict[str, Any], host: str | None, socket_mode: bool = False) -> dict[str, Any]:
    """The template with every URL on `host`; in Socket Mode, no request URLs at all (Slack refuses them)."""
    manifest: dict[str, Any] = yaml.safe_load(yaml.safe_dump(template))
    settings = manifest["settings"]
    commands = manifest.get("features", {}).get("slash_commands", [])
    if socket_mode:
        settings["socket_mode_enabled"] = True
        for command in commands:
            command.pop("url", None)
        settings.get("event_subscriptions", {}).pop("request_url", None)
        settings.get("interactivity", {}).pop("request_url", None)
        return manifest
    if host is None:
        raise ValueError("a manifest for HTTP mode needs --host (or use --socket-mode)")
    host = check_host(host)
    settings["socket_mode_enabled"] = False
    return _fill(manifest, host)


def _fill(value: Any, host: str) -> Any:
    if isinstance(value, dict):
        return {k: _fill(v, host) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, host) for v in value]
    if isinstance(value, str) and value.startswith(f"https://{PLACEHOLDER}/"):
        return f"https://{host}/" + value.removeprefix(f"https://{PLACEHOLDER}/")
    return value


def render(host: str | None, socket_mode: bool = False) -> str:
    """The manifest as YAML, ready to paste into api.slack.com/apps (Create New App > From a manifest)."""
    template = yaml.safe_load((template_dir("slack") / "manifest.yml").read_text(encoding="utf-8"))
    manifest = to_manifest(template, host, socket_mode)
    how = "--socket-mode" if socket_mode else f"--host {check_host(host or '')}"
    header = (
        f"# Slack app manifest for nhsmail-bot, written by `nhsmail-bot slack-manifest {how}`.\n"
        "# Paste it at https://api.slack.com/apps: Create New App > From a manifest. See docs/slack.md.\n"
    )
    return header + yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True, width=100)
