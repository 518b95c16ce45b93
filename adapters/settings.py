"""Settings read once from the environment in the entry point, then passed explicitly."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# The Bot Framework's public cloud; Azure App Service and the other Bot Framework SDKs read the same names,
# so a sovereign cloud (or a test's local fakes) is one environment variable away.
BOT_FRAMEWORK_LOGIN = "https://login.microsoftonline.com"
BOT_FRAMEWORK_TENANT = "botframework.com"
BOT_FRAMEWORK_SCOPE = "https://api.botframework.com"
BOT_FRAMEWORK_OPENID_METADATA = "https://login.botframework.com/v1/.well-known/openidconfiguration"
BOT_FRAMEWORK_ISSUER = "https://api.botframework.com"


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "0.0.0.0"
    port: int = 3978
    # Bot Framework (Teams); no app id means local mode: no auth, loopback serviceUrls only
    app_id: str = ""
    app_password: str = ""
    app_type: str = "MultiTenant"
    app_tenant_id: str = ""
    # where the bot gets its own token (ToChannelFromBotLoginUrl) and for which audience (…OAuthScope);
    # empty: the public cloud's, per app type
    login_url: str = ""
    oauth_scope: str = BOT_FRAMEWORK_SCOPE
    # how the bot checks the Bot Connector's tokens (ToBotFromChannel…)
    openid_metadata_url: str = BOT_FRAMEWORK_OPENID_METADATA
    token_issuer: str = BOT_FRAMEWORK_ISSUER
    # Slack (Bolt's usual variables); SLACK_API_URL points the Web API client elsewhere (tests, proxies)
    slack_bot_token: str = ""
    slack_signing_secret: str = ""
    slack_api_url: str = ""
    slack_app_token: str = ""
    # the store: DATABASE_URL (empty: SQLite under the user's data directory), what it keeps and how long
    database_url: str = ""
    store_questions: bool = True
    retention_days: int = 90
    user_hash_key: str = ""
    review_months: int = 6

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        return cls(
            app_id=environ.get("MicrosoftAppId", ""),
            app_password=environ.get("MicrosoftAppPassword", ""),
            app_type=environ.get("MicrosoftAppType", "") or "MultiTenant",
            app_tenant_id=environ.get("MicrosoftAppTenantId", ""),
            login_url=environ.get("ToChannelFromBotLoginUrl", ""),
            oauth_scope=environ.get("ToChannelFromBotOAuthScope", "") or BOT_FRAMEWORK_SCOPE,
            openid_metadata_url=environ.get("ToBotFromChannelOpenIdMetadataUrl", "")
            or BOT_FRAMEWORK_OPENID_METADATA,
            token_issuer=environ.get("ToBotFromChannelTokenIssuer", "") or BOT_FRAMEWORK_ISSUER,
            slack_bot_token=environ.get("SLACK_BOT_TOKEN", ""),
            slack_signing_secret=environ.get("SLACK_SIGNING_SECRET", ""),
            slack_api_url=environ.get("SLACK_API_URL", ""),
            slack_app_token=environ.get("SLACK_APP_TOKEN", ""),
            database_url=environ.get("DATABASE_URL", ""),
            store_questions=environ.get("STORE_QUESTIONS", "on").strip().lower() not in _OFF,
            retention_days=_whole(environ, "RETENTION_DAYS", 90),
            user_hash_key=environ.get("USER_HASH_KEY", ""),
            review_months=_whole(environ, "REVIEW_MONTHS", 6),
        )

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_bot_token and (self.slack_signing_secret or self.slack_app_token))

    @property
    def bot_login_url(self) -> str:
        """Where the bot's own token comes from: the setting, else the public cloud's for its app type."""
        if self.login_url:
            return self.login_url.rstrip("/")
        single = self.app_type.lower() == "singletenant" and self.app_tenant_id
        return f"{BOT_FRAMEWORK_LOGIN}/{self.app_tenant_id if single else BOT_FRAMEWORK_TENANT}"


_OFF = ("off", "false", "no", "0")


def _whole(environ: Mapping[str, str], name: str, default: int) -> int:
    value = environ.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{name} must be a whole number of at least 1, not {value!r}")
    return int(value)
