"""The exact cache through the OpenAI and Anthropic front doors: x-cache headers, identical
replays, and a hit that never reaches the (scripted) engine."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from api_server import registry as registry_module
from api_server.app import create_app
from api_server.cache import ExactCache
from api_server.config import Settings
from api_server.registry import CATCH_ALL_MODEL, ModelRegistry
from tests.unit.cache.fakes import DictRedis
from tests.unit.scripted_engine import ScriptedEngine

QUESTION = [{"role": "user", "content": "What is the capital of France?"}]


@pytest.fixture(name="cached_client")
def cached_client_fixture(client: TestClient) -> TestClient:
    return cached_client(client)


def cached_client(client: TestClient) -> TestClient:
    """`client` with an exact cache over a dict-backed Redis."""
    state = client.app.state.inferstack  # type: ignore[attr-defined]
    cache = ExactCache(
        DictRedis(), state.metrics.cache, timeout_s=0.05, default_ttl_s=60, replay_max_ms=None
    )
    client.app.state.inferstack = dataclasses.replace(state, exact_cache=cache)  # type: ignore[attr-defined]
    return client


def post(client: TestClient, **body: object) -> tuple[str, dict[str, object]]:
    response = client.post(
        "/v1/chat/completions", json={"model": "tiny", "messages": QUESTION, **body}
    )
    assert response.status_code == 200, response.text
    return response.headers["x-cache"], response.json()


def test_a_deterministic_repeat_is_a_hit(cached_client: TestClient, engine: ScriptedEngine) -> None:
    first_cache, first = post(cached_client, temperature=0)
    second_cache, second = post(cached_client, temperature=0)
    assert (first_cache, second_cache) == ("MISS", "HIT")
    assert second["choices"] == first["choices"]
    assert second["usage"] == first["usage"]
    assert len(engine.requests) == 1
    metrics = cached_client.get("/metrics").text
    assert 'inferstack_cache_requests_total{model="tiny-chatml",outcome="hit_exact"} 1.0' in metrics


def test_opting_in_and_out(cached_client: TestClient, engine: ScriptedEngine) -> None:
    assert post(cached_client, temperature=0.7)[0] == "BYPASS"
    assert post(cached_client, temperature=0.7, cache=True)[0] == "MISS"
    assert post(cached_client, temperature=0.7, cache=True)[0] == "HIT"
    assert post(cached_client, temperature=0, cache=False)[0] == "BYPASS"
    response = cached_client.post(
        "/v1/chat/completions",
        json={"model": "tiny", "messages": QUESTION, "temperature": 0.7, "cache": True},
        headers={"Cache-Control": "no-cache"},
    )
    assert response.headers["x-cache"] == "BYPASS"
    assert len(engine.requests) == 4


def test_a_streamed_repeat_has_the_same_chunks(
    cached_client: TestClient, engine: ScriptedEngine
) -> None:
    def stream() -> tuple[str, list[dict[str, object]]]:
        body = {"model": "tiny", "messages": QUESTION, "temperature": 0, "stream": True}
        with cached_client.stream("POST", "/v1/chat/completions", json=body) as response:
            lines = [line for line in response.iter_lines() if line.startswith("data: {")]
            return response.headers["x-cache"], [json.loads(line[6:]) for line in lines]

    first_cache, first = stream()
    second_cache, second = stream()
    assert (first_cache, second_cache) == ("MISS", "HIT")
    assert [c["choices"] for c in second] == [c["choices"] for c in first]
    assert len(engine.requests) == 1
    # A non-streamed request for the same thing is served from the streamed answer.
    assert post(cached_client, temperature=0)[0] == "HIT"


def test_anthropic_messages_share_the_cache(
    cached_client: TestClient, engine: ScriptedEngine
) -> None:
    body = {"model": "tiny", "max_tokens": 16, "messages": QUESTION, "temperature": 0}
    first = cached_client.post("/v1/messages", json=body)
    second = cached_client.post("/v1/messages", json=body)
    assert [first.headers["x-cache"], second.headers["x-cache"]] == ["MISS", "HIT"]
    assert second.json()["content"] == first.json()["content"]
    assert second.json()["usage"] == first.json()["usage"]
    no_store = cached_client.post("/v1/messages", json=body, headers={"Cache-Control": "no-store"})
    assert no_store.headers["x-cache"] == "BYPASS"
    assert len(engine.requests) == 2


def test_ai_sdk_chat_streams_share_the_cache(
    cached_client: TestClient, engine: ScriptedEngine
) -> None:
    body = {
        "model": "tiny",
        "temperature": 0,
        "messages": [
            {
                "id": "u1",
                "role": "user",
                "parts": [{"type": "text", "text": QUESTION[0]["content"]}],
            }
        ],
    }

    def stream() -> tuple[str, list[str]]:
        response = cached_client.post("/api/chat", json=body)
        assert response.status_code == 200, response.text
        parts = [line for line in response.text.splitlines() if line.startswith("data: {")]
        deltas = [json.loads(p[6:]).get("delta", "") for p in parts if '"text-delta"' in p]
        return response.headers["x-cache"], deltas

    first_cache, first = stream()
    second_cache, second = stream()
    assert (first_cache, second_cache) == ("MISS", "HIT")
    assert "".join(second) == "".join(first) == "The capital of France is Paris."
    assert len(engine.requests) == 1


def test_client_chosen_model_names_do_not_grow_the_cache_metrics(
    tmp_path: Path, engine: ScriptedEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A catch-all entry takes any name the client sends; past its cap (3 here, 256 in
    # production) they are all accounted under "*", in the cache's metrics as elsewhere.
    monkeypatch.setattr(registry_module, "_MAX_CAUGHT_NAMES", 3)
    path = tmp_path / "models.yaml"
    path.write_text(
        "models:\n"
        "  - name: '*'\n"
        "    prompt_family: chatml\n"
        f"    engine: {{kind: llamacpp, served_name: x, urls: ['{engine.url}']}}\n"
        "    context_length: 2048\n"
        "    max_tokens: {default: 16, limit: 64}\n"
    )
    settings = Settings(models_file=path, max_body_bytes=64 * 1024)
    with TestClient(create_app(settings, ModelRegistry.from_file(path))) as client:
        cached = cached_client(client)
        names = [f"client-model-{i}" for i in range(12)]
        for name in names:
            body = {"model": name, "messages": QUESTION, "temperature": 0}
            assert cached.post("/v1/chat/completions", json=body).status_code == 200
        families = text_string_to_metric_families(cached.get("/metrics").text)
        (requests,) = (f for f in families if f.name == "inferstack_cache_requests")
    labelled = {sample.labels["model"] for sample in requests.samples}
    assert labelled == {*names[:3], CATCH_ALL_MODEL}
