"""Key format, hashing, the repository's lookup cache, and the settings auth refuses."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from api_server.auth.authenticator import credential_from
from api_server.auth.keys import display_prefix, generate_key, hash_key, looks_like_key
from api_server.auth.repository import MAX_KNOWN, MAX_UNKNOWN, ApiKeyRepository, ExpiringLru
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
    """Answers `row` for every hash, or only for the hash `only` when given."""

    def __init__(self, row: dict[str, Any] | None, only: str | None = None) -> None:
        self.row = row
        self.only = only
        self.queries = 0

    async def acquire(self, **options: object) -> CountingPool:
        return self

    async def release(self, connection: object) -> None:
        pass

    async def fetchrow(self, query: str, key_hash: str, **options: object) -> dict[str, Any] | None:
        self.queries += 1
        return self.row if self.only in (None, key_hash) else None

    async def fetchval(self, query: str, *args: object) -> bool:
        return True  # the schema is current (schema_migrations has every version)


ROW = {
    "id": "3f1c0d7e-0000-0000-0000-000000000001",
    "name": "ci",
    "prefix": "isk-abcd",
    "models": ["tiny"],
    "rpm": 10,
    "tpm": None,
    "priority": "low",
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
    assert found.priority == "low"
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


async def test_random_guesses_never_evict_a_valid_key() -> None:
    pool = CountingPool(ROW, only="valid")
    keys = ApiKeyRepository(pool, ttl_s=30)  # type: ignore[arg-type]
    assert await keys.find_by_hash("valid") is not None
    for guess in range(MAX_UNKNOWN + MAX_KNOWN + 1):  # more than both maps hold
        assert await keys.find_by_hash(f"guess-{guess}") is None
    queries = pool.queries
    assert await keys.find_by_hash("valid") is not None
    assert pool.queries == queries  # still cached: the guesses only pushed out guesses
    assert len(keys.unknown) == MAX_UNKNOWN and len(keys.known) == 1


def test_expiring_lru_drops_the_least_recently_used() -> None:
    lru: ExpiringLru[int] = ExpiringLru(2)
    lru.put("a", 1, expires_at=10)
    lru.put("b", 2, expires_at=10)
    assert lru.get("a", now=0) == 1  # "a" used: "b" is now the oldest
    lru.put("c", 3, expires_at=10)
    assert "b" not in lru and lru.get("a", now=0) == 1 and lru.get("c", now=0) == 3
    assert lru.get("a", now=10) is None and "a" not in lru  # expired entries go on read


DB = "postgresql://u:p@127.0.0.1:9/x"
AUD_ISS = {"jwt_audience": "inferstack", "jwt_issuer": "https://idp.example"}


@pytest.mark.parametrize(
    "settings",
    [
        {"auth_mode": "api_key"},
        {"auth_mode": "jwt"},
        {"auth_mode": "jwt", "jwt_secret": "s" * 32, "jwt_jwks_url": "http://idp/jwks"},
        {"admin_key": "change-me", "database_url": DB},
        {"admin_key": "short", "database_url": DB},
        {"admin_key": "a-long-enough-admin-key"},
        {"auth_mode": "jwt", "jwt_secret": "changeme", **AUD_ISS},
    ],
)
def test_inconsistent_auth_settings_fail_at_startup(settings: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Settings(**settings)


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"jwt_issuer": "https://idp"}, "jwt_audience"),
        ({"jwt_audience": "inferstack"}, "jwt_issuer"),
        ({"jwt_verify_audience": False}, "jwt_issuer"),
    ],
)
def test_jwt_mode_needs_an_audience_and_an_issuer(settings: dict[str, Any], named: str) -> None:
    with pytest.raises(ValidationError, match=f"needs {named}.*{named.replace('_', '_verify_')}"):
        Settings(auth_mode="jwt", jwt_secret="s" * 32, **settings)


def test_consistent_auth_settings() -> None:
    Settings(auth_mode="api_key", database_url=DB, admin_key="a-long-enough-admin-key")
    Settings(auth_mode="jwt", jwt_secret="s" * 32, **AUD_ISS)
    # The deliberate opt-outs, for identity providers that set neither claim.
    Settings(
        auth_mode="jwt", jwt_secret="s" * 32, jwt_verify_audience=False, jwt_verify_issuer=False
    )
