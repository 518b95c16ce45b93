"""Settings read once from the environment in the entry point, then passed explicitly."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "0.0.0.0"
    port: int = 3978
    # Bot Framework (Teams); no app id means local mode: no auth, loopback serviceUrls only
    app_id: str = ""
    app_password: str = ""
    app_type: str = "MultiTenant"
    app_tenant_id: str = ""
    # Slack (Bolt's usual variables); SLACK_API_URL points the Web API client elsewhere (tests, proxies)
    slack_bot_token: str = ""
    slack_signing_secret: str = ""
    slack_api_url: str = ""
    slack_app_token: str = ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        return cls(
            app_id=environ.get("MicrosoftAppId", ""),
            app_password=environ.get("MicrosoftAppPassword", ""),
            app_type=environ.get("MicrosoftAppType", "") or "MultiTenant",
            app_tenant_id=environ.get("MicrosoftAppTenantId", ""),
            slack_bot_token=environ.get("SLACK_BOT_TOKEN", ""),
            slack_signing_secret=environ.get("SLACK_SIGNING_SECRET", ""),
            slack_api_url=environ.get("SLACK_API_URL", ""),
            slack_app_token=environ.get("SLACK_APP_TOKEN", ""),
        )

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_bot_token and (self.slack_signing_secret or self.slack_app_token))
