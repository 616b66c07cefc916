"""Rate limits through both front doors on a real Redis: x-ratelimit-* headers on answers,
429s in each client's envelope, tokens reconciled after the response."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api_server.app import create_app
from api_server.config import Settings
from api_server.registry import ModelRegistry
from tests.unit.embeddings.fakes import GatedModel, local_embedder
from tests.unit.scripted_engine import ScriptedEngine

HELLO = [{"role": "user", "content": "hello"}]
CHAT = {"model": "tiny", "messages": HELLO, "temperature": 0.7}
MESSAGE = {"model": "tiny", "max_tokens": 16, "messages": HELLO}


def limited_client(
    models_file: Path, redis_url: str, rpm: int | None = None, tpm: int | None = None
) -> Iterator[TestClient]:
    settings = Settings(
        models_file=models_file,
        redis_url=redis_url,
        cache_enabled=False,
        default_rpm=rpm,
        default_tpm=tpm,
    )
    with TestClient(create_app(settings, ModelRegistry.from_file(models_file))) as client:
        yield client


@pytest.fixture
def rpm_client(models_file: Path, redis_url: str) -> Iterator[TestClient]:
    yield from limited_client(models_file, redis_url, rpm=2)


@pytest.fixture
def tpm_client(models_file: Path, redis_url: str) -> Iterator[TestClient]:
    yield from limited_client(models_file, redis_url, tpm=15)


def test_openai_answers_carry_headers_until_the_429(
    rpm_client: TestClient, engine: ScriptedEngine
) -> None:
    remaining = []
    for _ in range(2):
        response = rpm_client.post("/v1/chat/completions", json=CHAT)
        assert response.status_code == 200
        assert response.headers["x-ratelimit-limit-requests"] == "2"
        remaining.append(response.headers["x-ratelimit-remaining-requests"])
        assert "x-ratelimit-limit-tokens" not in response.headers  # tpm unlimited
    assert remaining == ["1", "0"]
    refused = rpm_client.post("/v1/chat/completions", json=CHAT)
    assert refused.status_code == 429
    assert refused.json()["error"]["type"] == "rate_limit_error"
    assert refused.json()["error"]["code"] == "rate_limit_exceeded"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"
    assert refused.headers["x-ratelimit-reset-requests"].endswith("s")
    assert len(engine.requests) == 2  # the refused one never reached the engine


def test_anthropic_429_is_in_anthropics_envelope(rpm_client: TestClient) -> None:
    streamed = rpm_client.post("/v1/messages", json={**MESSAGE, "stream": True})
    assert streamed.status_code == 200
    assert streamed.headers["x-ratelimit-remaining-requests"] == "1"
    assert rpm_client.post("/v1/messages", json=MESSAGE).status_code == 200
    refused = rpm_client.post("/v1/messages", json=MESSAGE)
    assert refused.status_code == 429
    assert refused.json() == {
        "type": "error",
        "error": {"type": "rate_limit_error", "message": refused.json()["error"]["message"]},
    }
    assert "Retry-After" in refused.headers and "x-ratelimit-limit-requests" in refused.headers


def test_count_tokens_is_not_rate_limited(rpm_client: TestClient) -> None:
    for _ in range(3):
        response = rpm_client.post("/v1/messages/count_tokens", json=MESSAGE)
        assert response.status_code != 429


def test_tokens_are_reconciled_after_the_response(tpm_client: TestClient) -> None:
    limiter = tpm_client.app.state.inferstack.rate_limiter  # type: ignore[attr-defined]
    seen = []
    for _ in range(2):  # the scripted engine reports 7 + 3 tokens
        response = tpm_client.post("/v1/chat/completions", json={**CHAT, "stream": True})
        assert response.status_code == 200
        seen.append(response.headers["x-ratelimit-remaining-tokens"])
        tpm_client.portal.call(limiter.drain)  # type: ignore[union-attr]
    assert seen == ["15", "5"]
    refused = tpm_client.post("/v1/completions", json={"model": "tiny", "prompt": "hi"})
    assert refused.status_code == 429
    assert refused.headers["x-ratelimit-remaining-tokens"] == "0"


def test_the_concurrency_valve_answers_429_with_retry_after_1(rpm_client: TestClient) -> None:
    limiter = rpm_client.app.state.inferstack.rate_limiter  # type: ignore[attr-defined]
    limiter.concurrency.try_acquire = lambda model, limit: False
    refused = rpm_client.post("/v1/chat/completions", json=CHAT)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "1"
    assert json.loads(refused.text)["error"]["code"] == "model_overloaded"


def test_embeddings_count_against_the_callers_limits(tpm_client: TestClient) -> None:
    """rpm and tpm like chat: an embedding's prompt tokens are charged once it is answered."""
    state = tpm_client.app.state.inferstack  # type: ignore[attr-defined]
    embedder = local_embedder(GatedModel())
    tpm_client.app.state.inferstack = dataclasses.replace(state, embedder=embedder)  # type: ignore[attr-defined]
    text = " ".join(["word"] * 10)  # ten tokens to the fake model
    remaining = []
    for _ in range(2):
        response = tpm_client.post(
            "/v1/embeddings", json={"model": "all-MiniLM-L6-v2", "input": text}
        )
        assert response.status_code == 200, response.text
        remaining.append(response.headers["x-ratelimit-remaining-tokens"])
        tpm_client.portal.call(state.rate_limiter.drain)
    assert remaining == ["15", "5"]
    refused = tpm_client.post("/v1/embeddings", json={"model": "all-MiniLM-L6-v2", "input": "x"})
    assert refused.status_code == 429
    assert refused.json()["error"]["type"] == "rate_limit_error"
