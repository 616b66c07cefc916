"""CORS: off by default; a preflight from an allowed origin is answered before auth, and our
own errors (a 401 here) carry the headers, so a browser page can read them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from api_server.app import create_app
from api_server.config import Settings
from api_server.registry import ModelRegistry
from tests.unit.auth.fakes import ListSink, MemoryKeyStore

ALLOWED = "https://chat.example.com"
OTHER = "https://evil.example.net"
DB = "postgresql://u:p@127.0.0.1:9/x"  # never reached: keys come from the memory store
CHAT = {"model": "tiny", "messages": [{"role": "user", "content": "hello"}], "max_tokens": 4}


def gateway(models_file: Path, **settings: Any) -> TestClient:
    settings = {"auth_mode": "api_key", "database_url": DB, **settings}
    app = create_app(
        Settings(models_file=models_file, **settings),
        ModelRegistry.from_file(models_file),
        request_log=ListSink(),
        key_store=MemoryKeyStore(),
    )
    return TestClient(app)


def preflight(client: TestClient, origin: str) -> Any:
    return client.options(
        "/v1/chat/completions",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, x-session-id",
        },
    )


def test_a_preflight_from_an_allowed_origin_is_answered_before_auth(models_file: Path) -> None:
    with gateway(models_file, cors_allow_origins=[ALLOWED]) as client:
        response = preflight(client, ALLOWED)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert "POST" in response.headers["access-control-allow-methods"]
    allowed_headers = response.headers["access-control-allow-headers"].lower()
    for header in ("authorization", "content-type", "x-session-id"):
        assert header in allowed_headers
    assert "access-control-allow-credentials" not in response.headers


def test_a_preflight_with_the_sdks_own_headers_is_allowed(models_file: Path) -> None:
    """openai-node and @anthropic-ai/sdk in a browser send these; one refused fails every call."""
    sdk_headers = (
        "x-stainless-lang, x-stainless-retry-count, anthropic-dangerous-direct-browser-access"
    )
    with gateway(models_file, cors_allow_origins=[ALLOWED]) as client:
        response = client.options(
            "/v1/messages",
            headers={
                "Origin": ALLOWED,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": f"x-api-key, anthropic-version, {sdk_headers}",
            },
        )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED


def test_a_preflight_from_another_origin_gets_no_allow_origin(models_file: Path) -> None:
    with gateway(models_file, cors_allow_origins=[ALLOWED]) as client:
        response = preflight(client, OTHER)
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


def test_a_401_carries_the_allow_origin_header(models_file: Path) -> None:
    with gateway(models_file, cors_allow_origins=[ALLOWED]) as client:
        response = client.post("/v1/chat/completions", json=CHAT, headers={"Origin": ALLOWED})
    assert response.status_code == 401
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert response.json()["error"]  # still the client's own (OpenAI) envelope
    assert "x-request-id" in response.headers["access-control-expose-headers"].lower()


def test_a_413_carries_the_allow_origin_header(models_file: Path) -> None:
    with gateway(
        models_file, auth_mode="none", max_body_bytes=64, cors_allow_origins=[ALLOWED]
    ) as client:
        response = client.post("/v1/chat/completions", json=CHAT, headers={"Origin": ALLOWED})
    assert response.status_code == 413
    assert response.headers["access-control-allow-origin"] == ALLOWED


def test_credentials_are_allowed_only_when_asked(models_file: Path) -> None:
    with gateway(models_file, cors_allow_origins=[ALLOWED], cors_allow_credentials=True) as client:
        response = preflight(client, ALLOWED)
    assert response.headers["access-control-allow-credentials"] == "true"


def test_cors_is_off_by_default(models_file: Path) -> None:
    with gateway(models_file) as client:
        response = client.post("/v1/chat/completions", json=CHAT, headers={"Origin": ALLOWED})
        assert "access-control-allow-origin" not in response.headers
        # No CORS answer either: the preflight reaches the routes (and auth) as any request.
        assert "access-control-allow-origin" not in preflight(client, ALLOWED).headers


def test_wildcard_origin_with_credentials_is_refused() -> None:
    with pytest.raises(ValidationError, match="cors_allow_origins"):
        Settings(cors_allow_origins=["*"], cors_allow_credentials=True)
    assert Settings(cors_allow_origins=["*"]).cors_allow_origins == ["*"]
