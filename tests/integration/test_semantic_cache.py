"""The semantic cache on the session stack: real all-MiniLM-L6-v2 embeddings and local-mode
Qdrant. A paraphrase is served from the cache without touching the engine; a negation of the
same question is not."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from stackctl.api import NativeStack
from tests.integration.own_gateway import gateway_env, own_gateway

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def semantic_gateway(
    native_stack: NativeStack, fake_engine_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A gateway of our own (its own local Qdrant folder) on the stack's Redis."""
    folder = tmp_path_factory.mktemp("semantic-gateway")
    env = gateway_env(native_stack, fake_engine_url, folder, INFERSTACK_AUTH_MODE="none")
    with own_gateway(env, folder / "gateway.log") as url:
        yield url


@pytest.fixture
def http(semantic_gateway: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=semantic_gateway, timeout=60) as client:
        yield client


@pytest.fixture
def client(semantic_gateway: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{semantic_gateway}/v1", api_key="unused", max_retries=0)


OPT_IN = {"x-semantic-cache": "on"}


def _ask(http: httpx.Client, question: str) -> httpx.Response:
    body = {
        "model": "fake-echo",
        "messages": [{"role": "user", "content": question}],
        "temperature": 0.7,  # sampling: the exact cache stays out of it
    }
    response = http.post("/v1/chat/completions", json=body, headers=OPT_IN)
    assert response.status_code == 200, response.text
    return response


def _completions(fake_engine: httpx.Client) -> int:
    stats: dict[str, Any] = fake_engine.get("/_stats").json()
    return int(stats["completions_total"])


def test_paraphrase_hits_and_negation_misses(
    http: httpx.Client, fake_engine: httpx.Client, client: openai.OpenAI
) -> None:
    # Lookups never wait for a cold model (they miss while it loads): load it first, as the
    # embeddings endpoint does on its first call.
    client.embeddings.create(model="all-MiniLM-L6-v2", input="warm up")
    first = _ask(http, "What is the capital of France?")
    assert first.headers["x-cache"] in ("MISS", "BYPASS")
    time.sleep(1.0)  # the answer is stored after the response, off the request path
    engine_calls = _completions(fake_engine)

    paraphrase = _ask(http, "What is France's capital?")  # cosine 0.984 with MiniLM
    assert paraphrase.headers["x-cache"] == "HIT"
    assert paraphrase.headers["x-cache-kind"] == "semantic"
    assert paraphrase.json()["choices"] == first.json()["choices"]
    assert _completions(fake_engine) == engine_calls  # the engine was not asked

    _ask(http, "Is Paris the capital of France?")
    time.sleep(1.0)
    engine_calls = _completions(fake_engine)
    negation = _ask(http, "Is Paris not the capital of France?")  # cosine 0.954: guarded
    assert negation.headers["x-cache"] != "HIT"
    assert _completions(fake_engine) == engine_calls + 1


def test_requests_without_opt_in_do_not_use_it(
    http: httpx.Client, fake_engine: httpx.Client
) -> None:
    _ask(http, "How tall is the Eiffel Tower?")
    engine_calls = _completions(fake_engine)
    body = {
        "model": "fake-echo",
        "messages": [{"role": "user", "content": "How tall is the Eiffel Tower exactly?"}],
        "temperature": 0.7,
    }
    response = http.post("/v1/chat/completions", json=body)
    assert response.headers["x-cache"] == "BYPASS"
    assert _completions(fake_engine) == engine_calls + 1


def test_embeddings_endpoint(client: openai.OpenAI) -> None:
    reply = client.embeddings.create(
        model="all-MiniLM-L6-v2", input=["What is the capital of France?", "Bonjour"]
    )
    assert [item.index for item in reply.data] == [0, 1]
    assert all(len(item.embedding) == 384 for item in reply.data)
    assert reply.usage.prompt_tokens > 0
