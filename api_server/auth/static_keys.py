"""API keys listed (hashed) in the settings (`static_api_keys`): `api_key` auth without
PostgreSQL.

A key's id is its hash's first 32 hex written as a UUID: stable across restarts and gateways
(so is its tenant, `key:<id>`), and a valid value for request_logs.api_key_id, a uuid
column, when a database is configured too.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from api_server.auth.keys import ApiKey
from api_server.auth.repository import KeyStore
from api_server.config_secrets import STATIC_KEY_HASH_PREFIX, StaticApiKey


def hash_entry(key_hash: str) -> str:
    """A `static_api_keys` entry for a key's hash (`hash_key`)."""
    return STATIC_KEY_HASH_PREFIX + key_hash


def static_key_record(entry: StaticApiKey, loaded_at: datetime) -> ApiKey:
    return ApiKey(
        id=str(uuid.UUID(hex=entry.digest[:32])),
        name=entry.name or f"static-{entry.digest[:8]}",
        prefix="",  # only the hash is known
        models=entry.models,
        rpm=entry.rpm,
        tpm=entry.tpm,
        priority=entry.priority,
        created_at=loaded_at,
    )


class StaticKeyStore:
    """The settings' keys, looked up by hash in a dict; a hash not among them goes on to
    `fallback` (PostgreSQL, when configured), so static keys cost no database round trip
    and keep working while it is down."""

    def __init__(self, entries: list[StaticApiKey], fallback: KeyStore | None = None) -> None:
        loaded_at = datetime.now(UTC)
        self.keys = {entry.digest: static_key_record(entry, loaded_at) for entry in entries}
        self.fallback = fallback

    async def find_by_hash(self, key_hash: str) -> ApiKey | None:
        found = self.keys.get(key_hash)
        if found is not None or self.fallback is None:
            return found
        return await self.fallback.find_by_hash(key_hash)
