"""Running the real nhsmail-bot command as an operator does: a clean environment, a free port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# every variable the bot reads, so the machine's own environment never leaks into a case
BOT_VARIABLES = (
    "MicrosoftAppId",
    "MicrosoftAppPassword",
    "MicrosoftAppType",
    "MicrosoftAppTenantId",
    "ToChannelFromBotLoginUrl",
    "ToChannelFromBotOAuthScope",
    "ToBotFromChannelOpenIdMetadataUrl",
    "ToBotFromChannelTokenIssuer",
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "SLACK_API_URL",
    "DATABASE_URL",
    "LOG_LEVEL",
    "LOG_FORMAT",
)


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in BOT_VARIABLES}
    return {**env, **(extra or {})}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def run_cli(
    *args: str, env: Mapping[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "adapters.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=clean_env(env),
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
