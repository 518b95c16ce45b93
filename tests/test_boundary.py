"""The core knows no platform, and the CLI path loads no platform SDK."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLATFORM_MODULES = ("adapters", "aiohttp", "botbuilder", "botframework", "slack_bolt", "slack_sdk", "slack")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_core_imports_no_adapter_or_platform_sdk() -> None:
    offenders = {
        f"{path.name}: {name}"
        for path in (ROOT / "bot").glob("*.py")
        for name in _imports(path)
        if name.split(".")[0] in PLATFORM_MODULES
    }
    assert not offenders


def test_botbuilder_is_imported_only_by_the_teams_adapter() -> None:
    users = {
        path.relative_to(ROOT).as_posix()
        for folder in ("bot", "adapters")
        for path in (ROOT / folder).rglob("*.py")
        if any(name.split(".")[0] in ("botbuilder", "botframework") for name in _imports(path))
    }
    assert users and all(user.startswith("adapters/teams/") for user in users)


def test_cli_answers_without_loading_platform_sdks() -> None:
    script = (
        "import sys; from adapters.cli import main\n"
        "try:\n    main(['ask', 'locked out'])\nexcept SystemExit:\n    pass\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {PLATFORM_MODULES[1:]!r}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert result.stdout.strip().splitlines()[-1] == "[]"
