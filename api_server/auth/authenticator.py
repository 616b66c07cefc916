"""Turn a request's credentials into a `Principal`, by the configured auth mode.

Accepted: `Authorization: Bearer <key or token>` (OpenAI clients) and `x-api-key: <key>`
(Anthropic clients). The admin key is a caller in every mode, auth off included: tenant
"admin", every model, and what only the admin may ask (every log row, the translation debug
mode). Keys and tokens are never logged or echoed; refusals are audited (`auth.audit`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import asyncpg

from api_server.auth.admin import is_admin_key
from api_server.auth.audit import AuthAudit
from api_server.auth.keys import hash_key, looks_like_key
from api_server.auth.principal import ADMIN, ANONYMOUS, Principal, allowlist
from api_server.auth.repository import ApiKeyRepository, KeyStore
from api_server.auth.static_keys import StaticKeyStore
from api_server.auth.tokens import JwtVerifier
from api_server.config import Settings
from api_server.errors import AuthenticationError, AuthUnavailableError
from api_server.metrics import AuthMetrics
from api_server.pg_errors import DATABASE_ERRORS

MISSING = "Missing API key: send `Authorization: Bearer <key>` or `x-api-key: <key>`"


class Authenticator:
    def __init__(
        self,
        settings: Settings,
        keys: KeyStore | None = None,
        repository: ApiKeyRepository | None = None,
        audit: AuthAudit | None = None,
    ) -> None:
        self.mode = settings.auth_mode
        self.admin_key = settings.admin_key
        self.keys = keys  # where api_key mode looks keys up
        self.repository = repository  # PostgreSQL, for the admin endpoint (when configured)
        self.audit = audit or AuthAudit()
        self.jwt = JwtVerifier(settings) if self.mode == "jwt" else None
        self.lookup_timeout_s = settings.auth_key_lookup_timeout_s
        # "/" and other exact paths; a longer entry ending in "/" opens everything below it.
        paths = settings.auth_open_paths
        self._open_exact = frozenset(paths)
        self._open_prefixes = tuple(p for p in paths if p.endswith("/") and len(p) > 1)

    def is_open(self, path: str) -> bool:
        return path in self._open_exact or path.startswith(self._open_prefixes)

    async def authenticate(
        self, path: str, headers: Mapping[str, str], client: str | None = None
    ) -> Principal:
        if self.admin_key is not None and is_admin_key(self.admin_key, credential_from(headers)):
            return ADMIN
        if self.mode == "none" or self.is_open(path):
            return ANONYMOUS
        try:
            return await self._identify(headers)
        except AuthenticationError as exc:
            self.audit.refused(exc.reason, path, client)
            raise
        except AuthUnavailableError:
            self.audit.refused("unavailable", path, client)
            raise

    async def _identify(self, headers: Mapping[str, str]) -> Principal:
        credential = credential_from(headers)
        if credential is None:
            raise AuthenticationError(MISSING, reason="missing")
        if self.jwt is not None:
            return await self.jwt.verify(credential)
        return await self._check_key(credential)

    async def _check_key(self, key: str) -> Principal:
        if not looks_like_key(key):
            raise AuthenticationError("Invalid API key", reason="malformed_key")
        assert self.keys is not None
        try:
            # The whole lookup (pool acquire, query, release) is bounded: a PostgreSQL
            # that accepts and never answers costs a caller this long, then a 503.
            async with asyncio.timeout(self.lookup_timeout_s):
                found = await self.keys.find_by_hash(hash_key(key))
        except DATABASE_ERRORS as exc:
            raise AuthUnavailableError("API keys cannot be checked right now") from exc
        if found is None:
            raise AuthenticationError("Invalid API key", reason="unknown_key")
        return Principal(
            name=found.name,
            key_id=found.id,
            models=allowlist(found.models),
            rpm=found.rpm,
            tpm=found.tpm,
            priority=found.priority,
        )


def credential_from(headers: Mapping[str, str]) -> str | None:
    authorization = headers.get("authorization")
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    api_key = headers.get("x-api-key")
    return api_key.strip() if api_key and api_key.strip() else None


def build_authenticator(
    settings: Settings,
    postgres: asyncpg.Pool | None,
    keys: KeyStore | None = None,
    metrics: AuthMetrics | None = None,
) -> Authenticator:
    """`keys` (tests) replaces the PostgreSQL key store for authentication; the settings'
    static keys are looked up first either way."""
    repository = None
    if postgres is not None:
        repository = ApiKeyRepository(
            postgres,
            ttl_s=settings.auth_key_cache_ttl_s,
            lookup_timeout_s=settings.auth_key_lookup_timeout_s,
        )
    store = keys or repository
    if settings.static_api_keys:
        store = StaticKeyStore(settings.static_api_keys, fallback=store)
    return Authenticator(settings, store, repository, AuthAudit(metrics))
