"""Settings read once from the environment in the entry point, checked, then passed explicitly."""

from __future__ import annotations

import errno
import ipaddress
import socket
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

# The Bot Framework's public cloud; Azure App Service and the other Bot Framework SDKs read the same names,
# so a sovereign cloud (or a test's local fakes) is one environment variable away.
BOT_FRAMEWORK_LOGIN = "https://login.microsoftonline.com"
BOT_FRAMEWORK_TENANT = "botframework.com"
BOT_FRAMEWORK_SCOPE = "https://api.botframework.com"
BOT_FRAMEWORK_OPENID_METADATA = "https://login.botframework.com/v1/.well-known/openidconfiguration"
BOT_FRAMEWORK_ISSUER = "https://api.botframework.com"
SLACK_API = "https://slack.com/api/"

DEFAULT_PORT = 3978
LOCAL_HOST = "127.0.0.1"
PUBLIC_HOST = "0.0.0.0"
# the app types the Bot Framework SDKs know, by their name folded to lower case without separators
APP_TYPES = {name.lower(): name for name in ("SingleTenant", "MultiTenant", "UserAssignedMSI")}
DATABASE_SCHEMES = ("postgresql", "postgres", "sqlite", "memory")


class ConfigError(ValueError):
    """The configuration cannot work. Each problem is one line naming the variable and saying what to do."""

    def __init__(self, problems: Sequence[str]) -> None:
        more = (
            f" (and {len(problems) - 1} more: `nhsmail-bot doctor` lists them all)"
            if len(problems) > 1
            else ""
        )
        super().__init__(problems[0] + more)
        self.problems = tuple(problems)


@dataclass(frozen=True, slots=True)
class Settings:
    # where the server listens; in local mode (no app id) only loopback unless insecure_local
    host: str = LOCAL_HOST
    port: int = DEFAULT_PORT
    insecure_local: bool = False
    # Bot Framework (Teams); no app id means local mode: no auth, loopback serviceUrls only
    app_id: str = ""
    app_password: str = ""
    app_type: str = "MultiTenant"
    app_tenant_id: str = ""
    # MicrosoftAppType was not set, so MultiTenant is assumed as every Bot Framework SDK does (warned about)
    app_type_defaulted: bool = False
    # where the bot gets its own token (ToChannelFromBotLoginUrl) and for which audience (…OAuthScope);
    # empty: the public cloud's, per app type
    login_url: str = ""
    oauth_scope: str = BOT_FRAMEWORK_SCOPE
    # how the bot checks the Bot Connector's tokens (ToBotFromChannel…)
    openid_metadata_url: str = BOT_FRAMEWORK_OPENID_METADATA
    token_issuer: str = BOT_FRAMEWORK_ISSUER
    # the hosts a serviceUrl may name with an app id set (TEAMS_SERVICE_URL_HOSTS, comma-separated,
    # "*.example.com" for subdomains); empty: the public Bot Framework channels'
    service_hosts: tuple[str, ...] = ()
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
    # messages one person may send a minute before the bot asks them to wait (per replica)
    rate_limit_per_minute: int = 20

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str],
        *,
        host: str | None = None,
        port: str | int | None = None,
        insecure_local: bool = False,
    ) -> Settings:
        """The settings `serve` runs with; ConfigError when any of them cannot work."""
        settings, problems = cls.read(environ, host=host, port=port, insecure_local=insecure_local)
        if problems:
            raise ConfigError(problems)
        return settings

    @classmethod
    def read(
        cls,
        environ: Mapping[str, str],
        *,
        host: str | None = None,
        port: str | int | None = None,
        insecure_local: bool = False,
    ) -> tuple[Settings, list[str]]:
        """The settings and every problem with them (for `doctor`); an unusable value gets its default."""
        problems: list[str] = []
        raw_type = environ.get("MicrosoftAppType", "").strip()
        app_type = APP_TYPES.get(raw_type.replace("-", "").replace("_", "").replace(" ", "").lower())
        if raw_type and app_type is None:
            problems.append(
                f"MicrosoftAppType {_shown(raw_type)} is not known: "
                "set it to SingleTenant, MultiTenant or UserAssignedMSI"
            )
        app_id = environ.get("MicrosoftAppId", "").strip()
        bound_port = _port(port, problems)
        settings = cls(
            host=host if host is not None else (PUBLIC_HOST if app_id else LOCAL_HOST),
            port=bound_port,
            insecure_local=insecure_local,
            app_id=app_id,
            app_password=environ.get("MicrosoftAppPassword", ""),
            app_type=app_type or "MultiTenant",
            app_tenant_id=environ.get("MicrosoftAppTenantId", "").strip(),
            app_type_defaulted=not raw_type,
            login_url=environ.get("ToChannelFromBotLoginUrl", ""),
            oauth_scope=environ.get("ToChannelFromBotOAuthScope", "") or BOT_FRAMEWORK_SCOPE,
            openid_metadata_url=environ.get("ToBotFromChannelOpenIdMetadataUrl", "")
            or BOT_FRAMEWORK_OPENID_METADATA,
            token_issuer=environ.get("ToBotFromChannelTokenIssuer", "") or BOT_FRAMEWORK_ISSUER,
            service_hosts=tuple(
                h.strip() for h in environ.get("TEAMS_SERVICE_URL_HOSTS", "").split(",") if h.strip()
            ),
            slack_bot_token=environ.get("SLACK_BOT_TOKEN", "").strip(),
            slack_signing_secret=environ.get("SLACK_SIGNING_SECRET", "").strip(),
            slack_api_url=environ.get("SLACK_API_URL", "").strip(),
            slack_app_token=environ.get("SLACK_APP_TOKEN", "").strip(),
            database_url=environ.get("DATABASE_URL", "").strip(),
            store_questions=_switch(environ, "STORE_QUESTIONS", problems),
            retention_days=_whole(environ, "RETENTION_DAYS", 90, problems),
            user_hash_key=environ.get("USER_HASH_KEY", ""),
            review_months=_whole(environ, "REVIEW_MONTHS", 6, problems),
            rate_limit_per_minute=_whole(environ, "RATE_LIMIT_PER_MINUTE", 20, problems),
        )
        if host is not None:
            problems += settings._bind_problems()
        problems += settings._teams_problems(known_type=app_type is not None or not raw_type)
        problems += settings._slack_problems()
        problems += settings._url_problems()
        problems += settings._database_problems()
        return settings, problems

    @property
    def local_mode(self) -> bool:
        return not self.app_id

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_bot_token and (self.slack_signing_secret or self.slack_app_token))

    @property
    def slack_api_base(self) -> str:
        """The Slack Web API's base URL, ending in one slash."""
        return (self.slack_api_url or SLACK_API).rstrip("/") + "/"

    @property
    def bot_login_url(self) -> str:
        """Where the bot's own token comes from: the setting, else the public cloud's for its app type."""
        if self.login_url:
            return self.login_url.rstrip("/")
        single = self.app_type.lower() == "singletenant" and self.app_tenant_id
        return f"{BOT_FRAMEWORK_LOGIN}/{self.app_tenant_id if single else BOT_FRAMEWORK_TENANT}"

    def warnings(self) -> list[str]:
        """What works but is probably not what the operator meant; one line each."""
        notes = []
        if self.app_id and self.app_type_defaulted:
            notes.append(
                "MicrosoftAppType is not set, so MultiTenant is assumed; new Azure bots are single-tenant, "
                "and a mismatch shows up only as 401s: set MicrosoftAppType=SingleTenant and "
                "MicrosoftAppTenantId (or MicrosoftAppType=MultiTenant to keep this)"
            )
        if self.local_mode and (not self.app_type_defaulted or self.app_tenant_id):
            notes.append(
                "MicrosoftAppType or MicrosoftAppTenantId is set but MicrosoftAppId is not: the bot runs in "
                "local mode; set MicrosoftAppId (and MicrosoftAppPassword) for Teams"
            )
        if self.app_id and self.app_type == "MultiTenant" and self.app_tenant_id:
            notes.append(
                "MicrosoftAppTenantId is not used by a MultiTenant bot: unset it, or use SingleTenant"
            )
        if self.local_mode and self.insecure_local and not is_loopback_host(self.host):
            notes.append(
                f"local mode on {self.host} (--insecure-local): anyone who can reach this address can use "
                "the bot without authentication"
            )
        if self.slack_signing_secret and self.slack_app_token:
            notes.append(
                "both SLACK_SIGNING_SECRET and SLACK_APP_TOKEN are set: the bot answers over HTTP and over "
                "Socket Mode; set only the one the Slack app uses (socket_mode_enabled in its manifest)"
            )
        return notes

    def _bind_problems(self) -> list[str]:
        if not self.host.strip():
            return ["--host is empty: give an address to listen on, e.g. 127.0.0.1"]
        try:
            addresses = {a[4][0] for a in socket.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM)}
        except (OSError, UnicodeError):
            return [f"--host {_shown(self.host)} cannot be resolved: give an IP address or a known host name"]
        if self.local_mode and not self.insecure_local and not all(map(is_loopback_host, addresses)):
            return [
                f"--host {_shown(self.host)} is refused in local mode (no MicrosoftAppId): without "
                "authentication anyone who can reach it could use the bot; set MicrosoftAppId, keep the "
                "default 127.0.0.1, or add --insecure-local"
            ]
        return []

    def _teams_problems(self, known_type: bool) -> list[str]:
        problems = []
        if self.app_id:
            try:
                uuid.UUID(self.app_id)
            except ValueError:
                problems.append(
                    "MicrosoftAppId is not a GUID: copy the Microsoft App ID from the Azure Bot's "
                    "Configuration page"
                )
        if self.app_password and not self.app_id:
            problems.append(
                "MicrosoftAppPassword is set but MicrosoftAppId is not: set MicrosoftAppId too, "
                "or unset MicrosoftAppPassword to run in local mode"
            )
        if self.app_id and self.app_type == "UserAssignedMSI":
            problems.append(
                "MicrosoftAppType UserAssignedMSI is not supported: give the Azure Bot a client secret and "
                "set MicrosoftAppType=SingleTenant, MicrosoftAppTenantId and MicrosoftAppPassword"
            )
        elif self.app_id and not self.app_password:
            problems.append(
                "MicrosoftAppId is set but MicrosoftAppPassword is not: set the bot's client secret"
            )
        if self.app_id and known_type and self.app_type == "SingleTenant" and not self.app_tenant_id:
            problems.append(
                f"MicrosoftAppType is {self.app_type} but MicrosoftAppTenantId is not set: set it to the "
                "App Tenant ID from the Azure Bot's Configuration"
            )
        return problems

    def _slack_problems(self) -> list[str]:
        problems = []
        if self.slack_bot_token and not (self.slack_signing_secret or self.slack_app_token):
            problems.append(
                "SLACK_BOT_TOKEN is set without SLACK_SIGNING_SECRET (HTTP mode) or SLACK_APP_TOKEN "
                "(Socket Mode): set one, or unset SLACK_BOT_TOKEN to run without Slack"
            )
        for name, value in (
            ("SLACK_SIGNING_SECRET", self.slack_signing_secret),
            ("SLACK_APP_TOKEN", self.slack_app_token),
        ):
            if value and not self.slack_bot_token:
                problems.append(
                    f"{name} is set without SLACK_BOT_TOKEN: set the bot token (xoxb-…) too, "
                    f"or unset {name} to run without Slack"
                )
        if self.slack_bot_token and not self.slack_bot_token.startswith("xoxb-"):
            problems.append(
                "SLACK_BOT_TOKEN is not a bot token (xoxb-…): copy the Bot User OAuth Token from the Slack "
                "app's OAuth & Permissions page"
            )
        if self.slack_app_token and not self.slack_app_token.startswith("xapp-"):
            problems.append(
                "SLACK_APP_TOKEN is not an app-level token (xapp-…): create one with connections:write "
                "under the Slack app's Basic Information"
            )
        return problems

    def _url_problems(self) -> list[str]:
        urls = (
            ("ToChannelFromBotLoginUrl", self.login_url),
            ("ToChannelFromBotOAuthScope", self.oauth_scope),
            ("ToBotFromChannelOpenIdMetadataUrl", self.openid_metadata_url),
            ("ToBotFromChannelTokenIssuer", self.token_issuer),
            ("SLACK_API_URL", self.slack_api_url),
        )
        return [
            f"{name} must be an https:// URL (http:// only on a loopback host such as 127.0.0.1); "
            f"got {_shown(_origin(value))}"
            for name, value in urls
            if value and not is_safe_url(value)
        ]

    def _database_problems(self) -> list[str]:
        if not self.database_url:
            return []
        scheme = urlsplit(self.database_url).scheme.split("+")[0].lower()
        if scheme not in DATABASE_SCHEMES:
            return [
                f"DATABASE_URL has the scheme {_shown(scheme)}: use postgresql://user@host/db, "
                "sqlite:///path/to/file.db or memory:"
            ]
        return []


def bind_problem(host: str, port: int) -> str | None:
    """Why the server could not listen on host:port now (in use, not allowed, not here), or None."""
    error = bind_error(host, port)
    return None if error is None else listen_problem(host, port, error)


def bind_error(host: str, port: int) -> OSError | None:
    """The error binding host:port would raise now, or None."""
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except OSError as error:
        return error
    for family, kind, proto, _, address in addresses:
        with socket.socket(family, kind, proto) as probe:
            # as asyncio's server does, so a port left in TIME_WAIT counts as free
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as error:
                return error
    return None


def listen_problem(host: str, port: int, error: OSError) -> str:
    """One line for an error from binding host:port, saying what to do."""
    where = f"cannot listen on {host}:{port}"
    if isinstance(error, socket.gaierror):
        return f"--host {_shown(host)} cannot be resolved: give an IP address or a known host name"
    if error.errno == errno.EADDRINUSE:
        return f"{where}: the port is in use (by another server?): stop that one or choose another --port"
    if error.errno == errno.EACCES:
        return f"{where}: permission denied (ports below 1024 need privileges): choose --port 1024 or above"
    if error.errno == errno.EADDRNOTAVAIL:
        return f"{where}: the address is not one of this machine's: choose another --host"
    return f"{where}: {error.strerror or error}"


def _port(value: str | int | None, problems: list[str]) -> int:
    if value is None:
        return DEFAULT_PORT
    try:
        port = int(str(value).strip())
    except ValueError:
        port = -1
    if not 1 <= port <= 65535:
        problems.append(f"--port {_shown(str(value))} is not a port: give a number from 1 to 65535")
        return DEFAULT_PORT
    return port


def is_loopback_host(host: str | None) -> bool:
    """True for localhost and loopback addresses (127.0.0.0/8, ::1), as a URL or a socket writes them."""
    if not host:
        return False
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def url_problem(value: str) -> str | None:
    """Why an outbound URL must not be called, or None. Parsed as aiohttp parses it (yarl), so what is
    checked is where a call would go: an absolute http(s) URL with a host, and no user info, backslash,
    space or control character, which clients read differently."""
    from yarl import URL  # aiohttp's own; imported here so `ask` starts without it

    if "\\" in value or any(ord(c) < 0x21 for c in value):
        return "has a backslash, a space or a control character"
    try:
        parsed = URL(value)
    except (ValueError, TypeError):
        return "is not a URL"
    if parsed.scheme not in ("http", "https") or not parsed.is_absolute() or not parsed.host:
        return "is not an absolute http(s) URL"
    if parsed.user is not None or parsed.password is not None:
        return "carries credentials"
    return None


def is_safe_url(value: str) -> bool:
    """https with a host, or http on loopback, as url_problem allows."""
    if url_problem(value) is not None:
        return False
    parts = urlsplit(value)
    return parts.scheme == "https" or is_loopback_host(parts.hostname)


def display_url(url: str) -> str:
    """A URL as it may be shown: no user info, query or fragment (any of which can hold a secret)."""
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return _origin(url)
    host = f"[{parts.hostname}]" if parts.hostname and ":" in parts.hostname else parts.hostname or ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _origin(url: str) -> str:
    """A URL's scheme and host, never its path, query or user info (which can hold secrets)."""
    try:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.hostname or ''}" if parts.scheme else url[:40]
    except ValueError:
        return url[:40]


def _shown(value: str) -> str:
    """A value from outside, quoted, with control characters escaped and the length bounded."""
    return repr(value[:60] + ("…" if len(value) > 60 else ""))


_SWITCHES = {
    "on": True,
    "true": True,
    "yes": True,
    "1": True,
    "off": False,
    "false": False,
    "no": False,
    "0": False,
}


def _switch(environ: Mapping[str, str], name: str, problems: list[str]) -> bool:
    value = environ.get(name, "").strip().lower() or "on"
    if value not in _SWITCHES:
        problems.append(f"{name} is {_shown(value)}: set it to on or off")
        return True
    return _SWITCHES[value]


def _whole(environ: Mapping[str, str], name: str, default: int, problems: list[str]) -> int:
    value = environ.get(name, "").strip()
    if not value:
        return default
    if not (value.isascii() and value.isdigit() and len(value) <= 6) or int(value) < 1:
        problems.append(f"{name} must be a whole number from 1 to 999999, not {_shown(value)}")
        return default
    return int(value)
