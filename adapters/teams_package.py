"""Build the Teams app package (manifest.json with the bot's id, and the two icons) to upload to Teams."""

from __future__ import annotations

import json
import uuid
import zipfile
from pathlib import Path
from typing import Any

__all__ = ["TEAMS_DEPLOY", "write_package"]

TEAMS_DEPLOY = Path(__file__).resolve().parents[1] / "deploy" / "teams"
ICONS = ("color.png", "outline.png")


def to_manifest(template: dict[str, Any], app_id: str) -> dict[str, Any]:
    """The manifest for one bot: the Teams app and its bot both take the bot's Microsoft App ID."""
    manifest = json.loads(json.dumps(template))
    manifest["id"] = app_id
    for bot in manifest.get("bots", ()):
        bot["botId"] = app_id
    return manifest


def write_package(app_id: str, out: Path) -> Path:
    """Write the zip Teams accepts (manifest.json, color.png, outline.png at its root); return its path."""
    try:
        app_id = str(uuid.UUID(app_id))
    except ValueError:
        raise ValueError(f"the app id must be the bot's Microsoft App ID, a GUID; got {app_id!r}") from None
    if not (TEAMS_DEPLOY / "manifest.json").is_file():
        raise FileNotFoundError(f"the Teams manifest is missing: {TEAMS_DEPLOY / 'manifest.json'}")
    template = json.loads((TEAMS_DEPLOY / "manifest.json").read_text(encoding="utf-8"))
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as package:
        package.writestr(
            "manifest.json", json.dumps(to_manifest(template, app_id), indent=2, ensure_ascii=False)
        )
        for icon in ICONS:
            package.write(TEAMS_DEPLOY / icon, icon)
    return out
