"""An identity provider's signing keys (a JWKS URL), fetched so that it can neither stall
nor be hammered through us.

- Kept `cache_s`; past that, callers keep using the old set while one refresh runs.
- A token naming a kid we do not have refetches at most once per `refresh_min_s`: random
  kids cost the identity provider nothing more.
- One fetch at a time (callers that need it wait on the same one), each bounded by
  `timeout_s` from connect to last byte.
- No keys ever had (or the provider down since the start) is `AuthUnavailableError` (503);
  a kid that is not in the set, or no kid at all, is `AuthenticationError` (401).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import httpx
import jwt

from api_server.errors import AuthenticationError, AuthUnavailableError

logger = logging.getLogger(__name__)


class JwksCache:
    def __init__(self, url: str, *, cache_s: float, refresh_min_s: float, timeout_s: float) -> None:
        self.url = url
        self.cache_s = cache_s
        self.refresh_min_s = refresh_min_s
        self.timeout_s = timeout_s
        self.fetches = 0  # fetches started (tests and logs)
        self._keys: dict[str, jwt.PyJWK] | None = None
        self._fetched_at = 0.0
        self._last_attempt: float | None = None
        self._fetch: asyncio.Task[dict[str, jwt.PyJWK]] | None = None

    async def key_for(self, kid: object) -> jwt.PyJWK:
        """The key a token's header names (`kid`, untrusted: any JSON value)."""
        if not isinstance(kid, str) or not kid:
            raise AuthenticationError(
                "Invalid token: its header names no signing key (kid)", reason="unknown_kid"
            )
        keys = await self._current()
        if kid not in keys and self._may_refetch():
            keys = await self._refetched(keys)
        if kid not in keys:
            raise AuthenticationError(
                f"Invalid token: no signing key {kid[:64]!r} in the JWKS", reason="unknown_kid"
            )
        return keys[kid]

    async def _current(self) -> dict[str, jwt.PyJWK]:
        if self._keys is None:
            if not self._may_refetch():
                raise AuthUnavailableError("The token's signing keys cannot be fetched")
            return await self._refetched(None)
        if time.monotonic() - self._fetched_at > self.cache_s and self._fetch is None:
            self._start_fetch()  # stale: served while one refresh runs
        return self._keys

    def _may_refetch(self) -> bool:
        return (
            self._fetch is not None
            or self._last_attempt is None
            or time.monotonic() - self._last_attempt >= self.refresh_min_s
        )

    async def _refetched(self, fallback: dict[str, jwt.PyJWK] | None) -> dict[str, jwt.PyJWK]:
        fetch = self._fetch or self._start_fetch()
        try:
            return await asyncio.shield(fetch)  # a caller leaving does not cancel the fetch
        except (httpx.HTTPError, TimeoutError, ValueError, jwt.PyJWKError) as exc:
            if fallback is not None:
                return fallback
            raise AuthUnavailableError("The token's signing keys cannot be fetched") from exc

    def _start_fetch(self) -> asyncio.Task[dict[str, jwt.PyJWK]]:
        self._last_attempt = time.monotonic()
        self.fetches += 1
        self._fetch = asyncio.create_task(self._fetch_keys())
        self._fetch.add_done_callback(self._fetch_done)
        return self._fetch

    def _fetch_done(self, task: asyncio.Task[dict[str, jwt.PyJWK]]) -> None:
        self._fetch = None
        if task.cancelled():
            return
        if (exc := task.exception()) is not None:
            logger.warning("JWKS fetch from %s failed: %s", self.url, type(exc).__name__)
            return
        self._keys = task.result()
        self._fetched_at = time.monotonic()

    async def _fetch_keys(self) -> dict[str, jwt.PyJWK]:
        async with (
            asyncio.timeout(self.timeout_s),
            httpx.AsyncClient(timeout=self.timeout_s) as http,
        ):
            response = await http.get(self.url, headers={"accept": "application/json"})
            response.raise_for_status()
            document: Any = response.json()
        return keys_by_kid(jwt.PyJWKSet.from_dict(document))


def keys_by_kid(keys: jwt.PyJWKSet) -> dict[str, jwt.PyJWK]:
    """The set's signing keys by kid (a key without one cannot be chosen by a token)."""
    return {key.key_id: key for key in keys.keys if key.key_id}
