"""Build the Teams app package (manifest.json with the bot's id, and the two icons) to upload to Teams."""

from __future__ import annotations

import json
import uuid
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from adapters.templates import check_host, template_dir

__all__ = ["DEVELOPER_OPTIONS", "TEAMS_DEPLOY", "manifest_for", "placeholders_left", "write_package"]

TEAMS_DEPLOY = template_dir("teams")
ICONS = ("color.png", "outline.png")
# the manifest's developer fields, and the command-line option that fills each
DEVELOPER_OPTIONS = {
    "name": "--developer-name",
    "websiteUrl": "--website",
    "privacyUrl": "--privacy-url",
    "termsOfUseUrl": "--terms-url",
}
MAX_DEVELOPER_NAME = 32  # the 1.19 schema's limit


def _template() -> dict[str, Any]:
    path = TEAMS_DEPLOY / "manifest.json"
    if not path.is_file():
        raise FileNotFoundError(f"the Teams manifest template is missing: {path}")
    template: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return template


def to_manifest(
    template: dict[str, Any],
    app_id: str,
    host: str | None = None,
    developer: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The manifest for one bot: the Teams app and its bot both take the bot's Microsoft App ID; the
    server's host is its valid domain; the developer details replace the template's placeholders."""
    manifest = json.loads(json.dumps(template))
    manifest["id"] = app_id
    for bot in manifest.get("bots", ()):
        bot["botId"] = app_id
    if host:
        manifest["validDomains"] = [check_host(host).split(":")[0]]
    for field, value in (developer or {}).items():
        if field not in DEVELOPER_OPTIONS:
            raise ValueError(f"unknown developer field {field!r}")
        if value is None:
            continue
        value = value.strip()
        if field == "name" and not 0 < len(value) <= MAX_DEVELOPER_NAME:
            raise ValueError(f"--developer-name must be 1 to {MAX_DEVELOPER_NAME} characters")
        if field != "name" and not (value.startswith("https://") and len(value) > len("https://")):
            raise ValueError(f"{DEVELOPER_OPTIONS[field]} must be an https:// address; got {value[:60]!r}")
        manifest["developer"][field] = value
    return manifest


def manifest_for(
    app_id: str, host: str | None = None, developer: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The manifest from the template in deploy/teams; ValueError names the option that is wrong."""
    try:
        app_id = str(uuid.UUID(app_id))
    except ValueError:
        raise ValueError(f"the app id must be the bot's Microsoft App ID, a GUID; got {app_id!r}") from None
    return to_manifest(_template(), app_id, host, developer)


def placeholders_left(manifest: dict[str, Any]) -> list[str]:
    """The developer details still as the template has them, each with the option that fills it."""
    template = _template()["developer"]
    return [
        f"developer.{field} is still the template's {template[field]!r}: pass {option}"
        for field, option in DEVELOPER_OPTIONS.items()
        if manifest["developer"].get(field) == template.get(field)
    ]


def write_zip(manifest: dict[str, Any], out: Path) -> Path:
    """Write the zip Teams accepts (manifest.json, color.png, outline.png at its root); return its path."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as package:
        package.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))
        for icon in ICONS:
            package.write(TEAMS_DEPLOY / icon, icon)
    return out


def write_package(
    app_id: str, out: Path, host: str | None = None, developer: Mapping[str, str] | None = None
) -> Path:
    """The Teams app package for this bot, written to `out`."""
    return write_zip(manifest_for(app_id, host, developer), out)
