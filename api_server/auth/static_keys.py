"""API keys listed (hashed) in the settings: `api_key` auth without PostgreSQL.

An entry is `sha256:<64 hex>` (the hash `inferstack keys hash` prints), or the richer
`{hash, name, models, rpm, tpm}`. A key's id is its hash's first 32 hex written as a UUID:
stable across restarts and gateways (so is its tenant, `key:<id>`), and a valid value for
request_logs.api_key_id, a uuid column, when a database is configured too.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, field_validator, model_validator

from api_server.auth.keys import ApiKey
from api_server.auth.repository import KeyStore

HASH_PREFIX = "sha256:"
_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")


class StaticApiKey(BaseModel):
    """One `static_api_keys` entry. `models` None: every model; rpm/tpm None: no limit."""

    # A key pasted here by mistake must not reach the startup log in the refusal.
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    hash: str
    name: str | None = Field(default=None, min_length=1)
    models: tuple[str, ...] | None = None
    rpm: PositiveInt | None = None
    tpm: PositiveInt | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_bare_hash(cls, value: Any) -> Any:
        return {"hash": value} if isinstance(value, str) else value

    @field_validator("hash")
    @classmethod
    def _is_a_sha256_entry(cls, value: str) -> str:
        digest = value.removeprefix(HASH_PREFIX)
        if not value.startswith(HASH_PREFIX) or not _HEX_DIGEST.fullmatch(digest):
            raise ValueError(
                "a static API key is `sha256:<64 lowercase hex>` (`inferstack keys hash`),"
                " never the key itself"
            )
        return value

    @property
    def digest(self) -> str:
        return self.hash.removeprefix(HASH_PREFIX)

    def as_record(self, loaded_at: datetime) -> ApiKey:
        key_id = str(uuid.UUID(hex=self.digest[:32]))
        return ApiKey(
            id=key_id,
            name=self.name or f"static-{self.digest[:8]}",
            prefix="",  # only the hash is known
            models=self.models,
            rpm=self.rpm,
            tpm=self.tpm,
            created_at=loaded_at,
        )


def hash_entry(key_hash: str) -> str:
    """A `static_api_keys` entry for a key's hash (`hash_key`)."""
    return HASH_PREFIX + key_hash


class StaticKeyStore:
    """The settings' keys, looked up by hash in a dict; a hash not among them goes on to
    `fallback` (PostgreSQL, when configured), so static keys cost no database round trip
    and keep working while it is down."""

    def __init__(self, entries: list[StaticApiKey], fallback: KeyStore | None = None) -> None:
        loaded_at = datetime.now(UTC)
        self.keys = {entry.digest: entry.as_record(loaded_at) for entry in entries}
        self.fallback = fallback

    async def find_by_hash(self, key_hash: str) -> ApiKey | None:
        found = self.keys.get(key_hash)
        if found is not None or self.fallback is None:
            return found
        return await self.fallback.find_by_hash(key_hash)
