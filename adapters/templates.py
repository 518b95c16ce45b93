"""The deploy/ templates (manifests, icons): package data once installed, else the checkout's folder."""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["HostError", "check_host", "template_dir"]

_HERE = Path(__file__).resolve().parent
# a public host name, optionally with a port: what goes between https:// and the path
_HOST = re.compile(
    r"^(?=.{1,253}(?::\d{1,5})?$)[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::\d{1,5})?$"
)


class HostError(ValueError):
    """The host given for a manifest is not a bare host name."""


def template_dir(name: str) -> Path:
    """deploy/NAME: where `pip install .` puts it (adapters/deploy/NAME), else the source checkout's."""
    installed = _HERE / "deploy" / name
    return installed if installed.is_dir() else _HERE.parent / "deploy" / name


def check_host(host: str) -> str:
    """The host as it goes into https://HOST/…; a URL, a path or anything else is refused."""
    host = host.strip().rstrip(".").lower()
    if not _HOST.match(host):
        raise HostError(
            f"--host {host[:60]!r} is not a host name: give the server's public name only, "
            "e.g. bot.example.org (no https://, no path)"
        )
    return host
