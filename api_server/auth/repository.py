"""API keys in PostgreSQL (table `api_keys`), with a small in-process cache of lookups so
that checking a key costs no database round trip on most requests.

The cache keeps answers for `ttl_s` (unknown keys for a few seconds only), so a key revoked
elsewhere keeps working for up to `ttl_s`; a revoke through this repository applies here
at once. Known keys and unknown hashes live in two separate LRU maps: a flood of random
guesses only evicts other guesses, never a valid key.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from typing import Generic, Protocol, TypeVar

import asyncpg

from api_server.auth.keys import ApiKey, display_prefix, generate_key, hash_key
from api_server.auth.schema import migrate_api_keys
from api_server.pg_schema import SchemaGate
from api_server.priority_classes import PriorityClass, priority_class

_COLUMNS = "id::text, name, prefix, models, rpm, tpm, priority, created_at, revoked_at"
NEGATIVE_TTL_S = 5.0
MAX_KNOWN = 10_000
MAX_UNKNOWN = 10_000

V = TypeVar("V")


class ExpiringLru(Generic[V]):
    """At most `capacity` entries, each kept until its expiry; the least recently used goes
    first when full."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[str, tuple[float, V]] = OrderedDict()

    def get(self, key: str, now: float) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= now:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry[1]

    def put(self, key: str, value: V, expires_at: float) -> None:
        self._entries[key] = (expires_at, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)

    def pop(self, key: str) -> None:
        self._entries.pop(key, None)

    def __contains__(self, key: str) -> bool:
        return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)


class KeyStore(Protocol):
    """What authentication needs from a key store (tests use an in-memory one)."""

    async def find_by_hash(self, key_hash: str) -> ApiKey | None: ...


class ApiKeyRepository:
    def __init__(
        self, pool: asyncpg.Pool, ttl_s: float = 30.0, lookup_timeout_s: float = 2.0
    ) -> None:
        self.pool = pool
        self.ttl_s = ttl_s
        self.lookup_timeout_s = lookup_timeout_s  # acquire, and then the query, each
        self.known: ExpiringLru[ApiKey] = ExpiringLru(MAX_KNOWN)
        self.unknown: ExpiringLru[bool] = ExpiringLru(MAX_UNKNOWN)
        self._schema = SchemaGate(migrate_api_keys)  # the table's later columns (schema.py)

    async def create(
        self,
        name: str,
        models: list[str] | None = None,
        rpm: int | None = None,
        tpm: int | None = None,
        priority: PriorityClass | None = None,
    ) -> tuple[ApiKey, str]:
        """The new key's record, and the key itself: shown once, never stored."""
        key = generate_key()
        async with self.pool.acquire() as connection:
            await self._schema.ensure(connection)
            row = await connection.fetchrow(
                "INSERT INTO api_keys (name, prefix, key_hash, models, rpm, tpm, priority)"
                f" VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {_COLUMNS}",
                name,
                display_prefix(key),
                hash_key(key),
                models,
                rpm,
                tpm,
                priority,
            )
        assert row is not None
        return _from_row(row), key

    async def list(self, include_revoked: bool = False) -> list[ApiKey]:
        where = "" if include_revoked else " WHERE revoked_at IS NULL"
        async with self.pool.acquire() as connection:
            await self._schema.ensure(connection)
            rows = await connection.fetch(
                f"SELECT {_COLUMNS} FROM api_keys{where} ORDER BY created_at"
            )
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
        self.known.pop(row["key_hash"])
        return True

    async def find_by_hash(self, key_hash: str) -> ApiKey | None:
        """The live key with this hash, or None (unknown or revoked)."""
        now = time.monotonic()
        if (known := self.known.get(key_hash, now)) is not None:
            return known
        if self.unknown.get(key_hash, now):
            return None
        connection = await self.pool.acquire(timeout=self.lookup_timeout_s)
        try:
            async with asyncio.timeout(self.lookup_timeout_s):
                await self._schema.ensure(connection)
            row = await connection.fetchrow(
                f"SELECT {_COLUMNS} FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
                key_hash,
                timeout=self.lookup_timeout_s,
            )
        except BaseException:
            # Timed out or cancelled mid-query (a hung server): asyncpg would wait, shielded,
            # for the server to acknowledge a cancel it may never send. Drop the connection.
            connection.terminate()
            raise
        finally:
            await self.pool.release(connection)
        now = time.monotonic()
        if row is None:
            self.unknown.put(key_hash, True, now + NEGATIVE_TTL_S)
            return None
        found = _from_row(row)
        self.unknown.pop(key_hash)
        self.known.put(key_hash, found, now + self.ttl_s)
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
        priority=priority_class(row["priority"]),
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
    )
