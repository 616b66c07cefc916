"""RS256 with a JWKS URL, against a real local identity provider that can hang: unknown or
missing kids are 401s, refetches are rate-limited, a fetch is bounded and single-flight, and
no keys at all is a 503."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from api_server.app import create_app
from api_server.auth.tokens import JwtVerifier
from api_server.config import Settings
from api_server.errors import AuthenticationError, AuthUnavailableError
from api_server.registry import ModelRegistry
from tests.unit.auth.hung_services import IdentityProvider

IDP = "https://idp.example"
GUARD_S = 20  # far above every timeout below: only a stall reaches it
HANG_TIMEOUT_S = 0.3  # how long a fetch from the hanging provider waits
PRIVATE = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwks() -> dict[str, Any]:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(PRIVATE.public_key()))
    return {"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}


def token(kid: str | None = "k1", **extra: Any) -> str:
    claims = {"sub": "alice", "exp": int(time.time()) + 60, "aud": "inferstack", "iss": IDP}
    headers = {"kid": kid} if kid is not None else None
    return jwt.encode({**claims, **extra}, PRIVATE, algorithm="RS256", headers=headers)


@pytest.fixture
def idp() -> Iterator[IdentityProvider]:
    server = IdentityProvider(jwks())
    yield server
    server.close()


def settings(url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "auth_mode": "jwt",
        "jwt_jwks_url": url,
        "jwt_audience": "inferstack",
        "jwt_issuer": IDP,
        # Ample for the local provider on a loaded machine; the hanging cases set their own.
        "jwt_jwks_timeout_s": 10,
        **overrides,
    }
    return Settings(**values)


async def test_keys_are_fetched_once_and_random_kids_refetch_at_most_once(
    idp: IdentityProvider,
) -> None:
    verifier = JwtVerifier(settings(idp.url, jwt_jwks_refresh_min_s=3600))
    assert (await verifier.verify(token())).name == "alice"
    for _ in range(20):
        with pytest.raises(AuthenticationError) as refused:
            await verifier.verify(token(kid=secrets.token_hex(8)))
        assert refused.value.reason == "unknown_kid"
    with pytest.raises(AuthenticationError, match="names no signing key"):
        await verifier.verify(token(kid=None))
    assert idp.requests == 1  # the first fetch came under refresh_min_s: no refetch at all
    assert (await verifier.verify(token())).name == "alice"


async def test_an_unknown_kid_refetches_once_the_interval_allows(idp: IdentityProvider) -> None:
    verifier = JwtVerifier(settings(idp.url, jwt_jwks_refresh_min_s=0.000001))
    await verifier.verify(token())
    idp.jwks = {"keys": [*jwks()["keys"], {**jwks()["keys"][0], "kid": "k2"}]}  # rotated in
    assert (await verifier.verify(token(kid="k2"))).name == "alice"
    assert idp.requests == 2


async def test_a_hanging_identity_provider_is_one_bounded_fetch_then_503s(
    idp: IdentityProvider,
) -> None:
    idp.hang.set()
    verifier = JwtVerifier(
        settings(idp.url, jwt_jwks_refresh_min_s=3600, jwt_jwks_timeout_s=HANG_TIMEOUT_S)
    )
    async with asyncio.timeout(GUARD_S):
        results = await asyncio.gather(
            *(verifier.verify(token()) for _ in range(5)), return_exceptions=True
        )
        assert all(isinstance(result, AuthUnavailableError) for result in results)
        with pytest.raises(AuthUnavailableError):  # within refresh_min_s: no new fetch
            await verifier.verify(token())
    assert idp.requests == 1 and verifier.jwks is not None and verifier.jwks.fetches == 1


async def test_cached_keys_keep_working_while_the_provider_hangs(idp: IdentityProvider) -> None:
    verifier = JwtVerifier(
        settings(idp.url, jwt_jwks_cache_s=0.000001, jwt_jwks_refresh_min_s=0.000001)
    )
    assert (await verifier.verify(token())).name == "alice"
    assert verifier.jwks is not None
    verifier.jwks.timeout_s = HANG_TIMEOUT_S  # keys in hand: now the provider hangs
    idp.hang.set()
    async with asyncio.timeout(GUARD_S):
        # Stale keys are served while one refresh (which hangs) runs in the background;
        # an unknown kid waits for that one bounded fetch, then is a 401, not a 503.
        assert (await verifier.verify(token())).name == "alice"
        with pytest.raises(AuthenticationError):
            await verifier.verify(token(kid="k9"))
        assert (await verifier.verify(token())).name == "alice"


def test_unknown_kid_is_a_401_in_each_clients_envelope(
    idp: IdentityProvider, models_file: Path
) -> None:
    app = create_app(
        settings(idp.url, models_file=models_file), ModelRegistry.from_file(models_file)
    )
    chat = {"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}
    with TestClient(app) as client:
        bad = {"authorization": f"Bearer {token(kid='nope')}"}
        response = client.post("/v1/chat/completions", json=chat, headers=bad)
        assert response.status_code == 401
        assert response.json()["error"]["type"] == "authentication_error"
        response = client.post("/v1/messages", json=chat, headers={"x-api-key": token(kid=None)})
        assert response.status_code == 401
        assert response.json()["type"] == "error"
        assert response.json()["error"]["type"] == "authentication_error"
        good = {"authorization": f"Bearer {token(models=['tiny'])}"}
        assert client.post("/v1/chat/completions", json=chat, headers=good).status_code == 200
        metrics = client.get("/metrics").text
    assert 'inferstack_auth_failures_total{reason="unknown_kid"} 2.0' in metrics


def test_no_keys_at_all_is_a_503(idp: IdentityProvider, models_file: Path) -> None:
    idp.hang.set()
    app = create_app(
        settings(idp.url, models_file=models_file, jwt_jwks_timeout_s=HANG_TIMEOUT_S),
        ModelRegistry.from_file(models_file),
    )
    with TestClient(app) as client:
        response = client.get("/v1/models", headers={"authorization": f"Bearer {token()}"})
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "auth_unavailable"
