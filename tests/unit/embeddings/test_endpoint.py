"""`POST /v1/embeddings` as a front-door request like chat: the key's model allowlist (403),
a request-log row with the caller and the tokens, the embedder's bound as a 429 with
Retry-After, and errors in OpenAI's envelope. Rate limits: tests/unit/ratelimit."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from fastapi.testclient import TestClient

from api_server.app import create_app
from api_server.config import Settings
from api_server.registry import ModelRegistry
from tests.unit.auth.fakes import ListSink, MemoryKeyStore
from tests.unit.embeddings.fakes import GatedModel, local_embedder

DB = "postgresql://u:p@127.0.0.1:9/x"  # never reached: keys come from the memory store
EMBED = {"model": "all-MiniLM-L6-v2", "input": ["one two", "three"]}


@pytest.fixture
def sink() -> ListSink:
    return ListSink()


@pytest.fixture
def keys() -> MemoryKeyStore:
    return MemoryKeyStore()


def with_embedder(client: TestClient, max_pending: int = 8) -> TestClient:
    state = client.app.state.inferstack  # type: ignore[attr-defined]
    embedder = local_embedder(GatedModel(), max_pending=max_pending)
    client.app.state.inferstack = dataclasses.replace(state, embedder=embedder)  # type: ignore[attr-defined]
    return client


@pytest.fixture
def client(models_file: Path, sink: ListSink, keys: MemoryKeyStore) -> Iterator[TestClient]:
    settings = Settings(models_file=models_file, auth_mode="api_key", database_url=DB)
    app = create_app(
        settings, ModelRegistry.from_file(models_file), request_log=sink, key_store=keys
    )
    with TestClient(app) as test_client:
        yield with_embedder(test_client)


def post(
    client: TestClient, key: str, body: dict[str, object] = EMBED
) -> openai.types.CreateEmbeddingResponse:
    sdk = openai.OpenAI(base_url="http://testserver/v1", api_key=key, http_client=client)
    return sdk.embeddings.create(**body)  # type: ignore[arg-type]


def test_a_key_outside_its_allowlist_is_refused_and_logged(
    client: TestClient, keys: MemoryKeyStore, sink: ListSink
) -> None:
    record, key = keys.add("chat-only", models=("tiny",))
    with pytest.raises(openai.PermissionDeniedError) as refused:
        post(client, key)
    assert refused.value.code == "model_not_allowed"
    [row] = sink.records
    assert (row.endpoint, row.status_code, row.api_key_id) == ("/v1/embeddings", 403, record.id)


def test_an_allowed_key_is_served_and_logged_with_its_tokens(
    client: TestClient, keys: MemoryKeyStore, sink: ListSink
) -> None:
    record, key = keys.add("embedder", models=("ALL-MiniLM-L6-v2",))
    reply = post(client, key)
    assert [len(item.embedding) for item in reply.data] == [384, 384]
    assert reply.usage.prompt_tokens == 3
    [row] = sink.records
    assert (row.endpoint, row.status_code, row.api_key_id) == ("/v1/embeddings", 200, record.id)
    assert (row.model, row.prompt_tokens, row.completion_tokens) == ("all-MiniLM-L6-v2", 3, 0)


def test_a_model_that_is_not_the_embedding_model_is_404(
    client: TestClient, keys: MemoryKeyStore, sink: ListSink
) -> None:
    _, key = keys.add("any")
    with pytest.raises(openai.NotFoundError):
        post(client, key, {**EMBED, "model": "tiny"})
    assert post(client, key, {**EMBED, "model": "sentence-transformers/all-minilm-l6-v2"}).data
    assert [row.status_code for row in sink.records] == [404, 200]


def test_past_the_embedders_bound_is_429_with_retry_after(
    client: TestClient, keys: MemoryKeyStore, sink: ListSink
) -> None:
    _, key = keys.add("any")
    with_embedder(client, max_pending=1)
    embedder = client.app.state.inferstack.embedder  # type: ignore[attr-defined]
    embedder.pending = 1  # one call already waiting for the model
    response = client.post("/v1/embeddings", json=EMBED, headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
    assert response.json()["error"]["code"] == "model_overloaded"
    assert sink.records[-1].status_code == 429
