"""Key format, hashing, the repository's lookup cache, and the settings auth refuses."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from api_server.auth.authenticator import credential_from
from api_server.auth.keys import display_prefix, generate_key, hash_key, looks_like_key
from api_server.auth.repository import ApiKeyRepository
from api_server.config import Settings


def test_key_format_hash_and_prefix() -> None:
    key = generate_key()
    assert key.startswith("isk-") and len(key) == 36 and looks_like_key(key)
    assert all(c.isalnum() or c in "-_" for c in key[4:])
    assert generate_key() != key
    assert hash_key(key) == hashlib.sha256(key.encode()).hexdigest()
    assert display_prefix(key) == key[:8]
    assert not looks_like_key("sk-" + "a" * 32)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"authorization": "Bearer isk-abc"}, "isk-abc"),
        ({"authorization": "bearer  isk-abc "}, "isk-abc"),
        ({"x-api-key": "isk-abc"}, "isk-abc"),
        ({"authorization": "Basic dXNlcg==", "x-api-key": "isk-abc"}, "isk-abc"),
        ({"authorization": "Bearer "}, None),
        ({}, None),
    ],
)
def test_credential_from_either_header_style(headers: dict[str, str], expected: str | None) -> None:
    assert credential_from(headers) == expected


class CountingPool:
    def __init__(self, row: dict[str, Any] | None) -> None:
        self.row = row
        self.queries = 0

    async def fetchrow(self, query: str, *args: object) -> dict[str, Any] | None:
        self.queries += 1
        return self.row


ROW = {
    "id": "3f1c0d7e-0000-0000-0000-000000000001",
    "name": "ci",
    "prefix": "isk-abcd",
    "models": ["tiny"],
    "rpm": 10,
    "tpm": None,
    "created_at": datetime.now(UTC),
    "revoked_at": None,
}


async def test_lookups_are_cached_for_the_ttl(monkeypatch: pytest.MonkeyPatch) -> None:
    pool = CountingPool(ROW)
    keys = ApiKeyRepository(pool, ttl_s=30)  # type: ignore[arg-type]
    now = 1000.0
    monkeypatch.setattr("api_server.auth.repository.time.monotonic", lambda: now)
    found = await keys.find_by_hash("h")
    assert found is not None and found.models == ("tiny",) and found.rpm == 10
    assert await keys.find_by_hash("h") == found
    assert pool.queries == 1
    now += 31
    await keys.find_by_hash("h")
    assert pool.queries == 2


async def test_unknown_keys_are_cached_briefly(monkeypatch: pytest.MonkeyPatch) -> None:
    pool = CountingPool(None)
    keys = ApiKeyRepository(pool, ttl_s=30)  # type: ignore[arg-type]
    now = 1000.0
    monkeypatch.setattr("api_server.auth.repository.time.monotonic", lambda: now)
    assert await keys.find_by_hash("h") is None
    assert await keys.find_by_hash("h") is None
    assert pool.queries == 1
    now += 6  # a key created meanwhile works within seconds, not the full TTL
    await keys.find_by_hash("h")
    assert pool.queries == 2


DB = "postgresql://u:p@127.0.0.1:9/x"


@pytest.mark.parametrize(
    "settings",
    [
        {"auth_mode": "api_key"},
        {"auth_mode": "jwt"},
        {"auth_mode": "jwt", "jwt_secret": "s" * 32, "jwt_jwks_url": "http://idp/jwks"},
        {"admin_key": "change-me", "database_url": DB},
        {"admin_key": "short", "database_url": DB},
        {"admin_key": "a-long-enough-admin-key"},
        {"auth_mode": "jwt", "jwt_secret": "changeme"},
    ],
)
def test_inconsistent_auth_settings_fail_at_startup(settings: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Settings(**settings)


def test_consistent_auth_settings() -> None:
    Settings(auth_mode="api_key", database_url=DB, admin_key="a-long-enough-admin-key")
    Settings(auth_mode="jwt", jwt_secret="s" * 32)
