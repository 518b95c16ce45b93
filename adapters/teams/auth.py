"""Inbound: is this request's token one the Bot Connector issued for this bot? Checked on the event loop,
keys fetched asynchronously with a timeout and cached, so a hanging fetch cannot stall genuine tokens."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import jwt

logger = logging.getLogger(__name__)

CLOCK_SKEW_SECONDS = 5 * 60  # the Bot Framework SDKs' own tolerance
KEY_FETCH_TIMEOUT_SECONDS = 5.0
# a failed fetch or an unknown key id refreshes the keys no more often than this: a flood of forged
# tokens costs one fetch per interval, not one per request
KEY_REFRESH_INTERVAL_SECONDS = 60.0
KEY_MAX_AGE_SECONDS = 24 * 3600


class Unauthorized(Exception):
    """The request's token is missing or not one the Bot Connector issued for this bot."""


@dataclass(frozen=True, slots=True)
class SigningKey:
    key: Any
    endorsements: tuple[str, ...]


class OpenIdKeys:
    """The Bot Connector's signing keys, fetched without blocking the loop, cached, refreshed sparingly."""

    def __init__(self, metadata_url: str, session: Callable[[], aiohttp.ClientSession]) -> None:
        self.metadata_url = metadata_url
        self._session = session
        self._keys: dict[str, SigningKey] = {}
        self._fetched_at = float("-inf")
        self._attempted_at = float("-inf")
        self._lock = asyncio.Lock()
        self.problem: str | None = "signing keys not fetched yet"

    async def get(self, kid: str) -> SigningKey | None:
        stale = time.monotonic() - self._fetched_at > KEY_MAX_AGE_SECONDS
        if stale or kid not in self._keys:
            await self.refresh()
        return self._keys.get(kid)

    async def refresh(self) -> None:
        async with self._lock:
            # whoever waited for the lock finds the work done (or recently failed) and does not repeat it
            if time.monotonic() - self._attempted_at < KEY_REFRESH_INTERVAL_SECONDS:
                return
            self._attempted_at = time.monotonic()
            try:
                self._keys = await self._fetch()
                self._fetched_at = time.monotonic()
                self.problem = None
            except TimeoutError:
                self._failed("timeout")
            except (aiohttp.ClientError, ValueError, KeyError, TypeError) as error:
                self._failed(repr(error))

    def _failed(self, reason: str) -> None:
        logger.warning("teams: could not fetch the Bot Connector's signing keys: %s", reason)
        if not self._keys:
            self.problem = f"cannot fetch the Bot Connector's signing keys: {reason}"

    async def _fetch(self) -> dict[str, SigningKey]:
        session = self._session()
        timeout = aiohttp.ClientTimeout(total=KEY_FETCH_TIMEOUT_SECONDS)
        async with session.get(self.metadata_url, timeout=timeout, allow_redirects=False) as response:
            response.raise_for_status()
            jwks_uri = (await response.json(content_type=None))["jwks_uri"]
        async with session.get(jwks_uri, timeout=timeout, allow_redirects=False) as response:
            response.raise_for_status()
            document = await response.json(content_type=None)
        keys = {}
        for jwk in document["keys"]:
            try:
                key = jwt.PyJWK.from_dict(jwk, algorithm="RS256").key
            except jwt.PyJWTError:
                continue
            keys[str(jwk.get("kid"))] = SigningKey(key, tuple(jwk.get("endorsements") or ()))
        return keys


class ChannelAuth:
    """The Bot Framework's channel-to-bot token check: RS256 by a published key endorsed for the channel,
    the Bot Connector's issuer, this bot's app id as audience, in date, and for this serviceUrl."""

    def __init__(self, app_id: str, issuer: str, keys: OpenIdKeys) -> None:
        self.app_id = app_id
        self.issuer = issuer
        self.keys = keys

    async def check(self, auth_header: str, channel_id: str, service_url: str) -> None:
        scheme, _, token = auth_header.partition(" ")
        if scheme != "Bearer" or token.count(".") != 2:
            raise Unauthorized("no bearer token")
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as error:
            raise Unauthorized(f"malformed token: {error}") from None
        kid = header.get("kid")
        if header.get("alg") != "RS256" or not isinstance(kid, str) or not kid:
            raise Unauthorized("not an RS256 token with a key id")
        # the cheap claims first: a forged token never costs a key fetch
        if claims.get("iss") != self.issuer:
            raise Unauthorized("not issued by the Bot Connector")
        if claims.get("aud") != self.app_id:
            raise Unauthorized("issued for another bot")
        if claims.get("serviceurl") != service_url:
            raise Unauthorized("serviceUrl differs from the token's")
        signing = await self.keys.get(kid)
        if signing is None:
            raise Unauthorized("unknown signing key")
        if signing.endorsements and channel_id not in signing.endorsements:
            raise Unauthorized("signing key not endorsed for this channel")
        try:
            jwt.decode(
                token,
                signing.key,
                algorithms=["RS256"],
                audience=self.app_id,
                issuer=self.issuer,
                leeway=CLOCK_SKEW_SECONDS,
                options={"require": ["exp"]},
            )
        except jwt.PyJWTError as error:
            raise Unauthorized(f"bad signature or claims: {error}") from None
