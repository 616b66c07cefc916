"""API keys in PostgreSQL (table `api_keys`), with a small in-process cache of lookups so
that checking a key costs no database round trip on most requests.

The cache keeps answers for `ttl_s` (unknown keys for a few seconds only), so a key revoked
elsewhere keeps working for up to `ttl_s`; a revoke through this repository applies here
at once.
"""

from __future__ import annotations

import time
from typing import Protocol

import asyncpg

from api_server.auth.keys import ApiKey, display_prefix, generate_key, hash_key

_COLUMNS = "id::text, name, prefix, models, rpm, tpm, created_at, revoked_at"
NEGATIVE_TTL_S = 5.0
MAX_CACHED = 10_000


class KeyStore(Protocol):
    """What authentication needs from a key store (tests use an in-memory one)."""

    async def find_by_hash(self, key_hash: str) -> ApiKey | None: ...


class ApiKeyRepository:
    def __init__(self, pool: asyncpg.Pool, ttl_s: float = 30.0) -> None:
        self.pool = pool
        self.ttl_s = ttl_s
        self._cache: dict[str, tuple[float, ApiKey | None]] = {}

    async def create(
        self,
        name: str,
        models: list[str] | None = None,
        rpm: int | None = None,
        tpm: int | None = None,
    ) -> tuple[ApiKey, str]:
        """The new key's record, and the key itself: shown once, never stored."""
        key = generate_key()
        row = await self.pool.fetchrow(
            "INSERT INTO api_keys (name, prefix, key_hash, models, rpm, tpm)"
            f" VALUES ($1, $2, $3, $4, $5, $6) RETURNING {_COLUMNS}",
            name,
            display_prefix(key),
            hash_key(key),
            models,
            rpm,
            tpm,
        )
        assert row is not None
        return _from_row(row), key

    async def list(self, include_revoked: bool = False) -> list[ApiKey]:
        where = "" if include_revoked else " WHERE revoked_at IS NULL"
        rows = await self.pool.fetch(f"SELECT {_COLUMNS} FROM api_keys{where} ORDER BY created_at")
        return [_from_row(row) for row in rows]

    async def revoke(self, key_id: str) -> bool:
        """False when no live key has this id."""
        row = await self.pool.fetchrow(
            "UPDATE api_keys SET revoked_at = now()"
            " WHERE id = $1::uuid AND revoked_at IS NULL RETURNING key_hash",
            key_id,
        )
        if row is None:
            return False
        self._cache.pop(row["key_hash"], None)
        return True

    async def find_by_hash(self, key_hash: str) -> ApiKey | None:
        """The live key with this hash, or None (unknown or revoked)."""
        now = time.monotonic()
        cached = self._cache.get(key_hash)
        if cached is not None and cached[0] > now:
            return cached[1]
        row = await self.pool.fetchrow(
            f"SELECT {_COLUMNS} FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
            key_hash,
        )
        found = _from_row(row) if row is not None else None
        if len(self._cache) >= MAX_CACHED:  # bounded: random guesses must not grow it
            self._cache.clear()
        self._cache[key_hash] = (now + (self.ttl_s if found else NEGATIVE_TTL_S), found)
        return found


def _from_row(row: asyncpg.Record) -> ApiKey:
    models = row["models"]
    return ApiKey(
        id=row["id"],
        name=row["name"],
        prefix=row["prefix"],
        models=tuple(models) if models is not None else None,
        rpm=row["rpm"],
        tpm=row["tpm"],
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
    )
