"""A PostgreSQL that accepts and never answers: a key not in the cache gets a 503 within
auth_key_lookup_timeout_s, and keys already known keep working meanwhile. Real asyncpg
pools against real sockets (tests/unit/auth/hung_services.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Literal

import pytest

from api_server.auth.authenticator import Authenticator
from api_server.auth.keys import ApiKey, display_prefix, generate_key, hash_key
from api_server.auth.repository import ApiKeyRepository
from api_server.config import Settings
from api_server.errors import AuthUnavailableError
from api_server.infra.connections import open_postgres_pool
from tests.unit.auth.hung_services import HungPostgres

GUARD_S = 20  # far above every timeout below: only a stall reaches it


@pytest.fixture(params=["silent", "after_startup"])
def hung(request: pytest.FixtureRequest) -> Iterator[HungPostgres]:
    mode: Literal["silent", "after_startup"] = request.param
    server = HungPostgres(mode)
    yield server
    server.close()


async def test_a_hung_database_costs_a_503_not_a_stall(hung: HungPostgres) -> None:
    settings = Settings(
        auth_mode="api_key",
        database_url=hung.dsn,  # type: ignore[arg-type]
        auth_key_lookup_timeout_s=0.3,
        # Longer than the lookup's budget: the lookup's own bound must be what answers.
        database_connect_timeout_s=5,
    )
    pool = await open_postgres_pool(hung.dsn, settings)
    try:
        repository = ApiKeyRepository(pool, lookup_timeout_s=0.3)
        known_key = generate_key()
        known = ApiKey("k1", "ci", display_prefix(known_key), None, None, None, datetime.now(UTC))
        repository.known.put(hash_key(known_key), known, expires_at=float("inf"))
        auth = Authenticator(settings, repository, repository)

        async def guess() -> BaseException | None:
            try:
                await auth.authenticate("/v1/chat/completions", {"x-api-key": generate_key()})
            except AuthUnavailableError as exc:
                return exc
            return None

        async with asyncio.timeout(GUARD_S):
            guessing = [asyncio.create_task(guess()) for _ in range(3)]
            # While the guesses wait on the database, a known key is answered from memory.
            principal = await auth.authenticate("/v1/models", {"x-api-key": known_key})
            assert principal.key_id == "k1"
            results = await asyncio.gather(*guessing)
        assert all(isinstance(result, AuthUnavailableError) for result in results)
        assert hung.connections >= 1  # the lookups did reach the hung server
        assert auth.audit.metrics.failures.labels("unavailable")._value.get() == 3
    finally:
        pool.terminate()
