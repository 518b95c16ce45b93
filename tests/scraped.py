"""What GET /metrics says of one platform, as the tests of each platform read it."""

from __future__ import annotations

import re

import aiohttp


async def platform_metrics(session: aiohttp.ClientSession, base_url: str, platform: str) -> dict[str, float]:
    """Each nhsmail_bot sample with this platform's label, by its name and labels as exposed."""
    async with session.get(f"{base_url}/metrics") as response:
        text = await response.text()
    return {
        name: float(value)
        for name, value in re.findall(r"^(nhsmail_bot_\S+) (\S+)$", text, flags=re.MULTILINE)
        if f'platform="{platform}"' in name
    }
