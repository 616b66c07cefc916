"""The semantic cache over a real local-mode Qdrant (a tmp folder) and a fake embedder whose
vectors the tests choose: threshold, filters, expiry, the negation guard, failures."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from qdrant_client import AsyncQdrantClient

from api_server.cache.layered import cached_events
from api_server.cache.policy import (
    BYPASS,
    CachePolicy,
    semantic_cache_policy,
    semantic_cache_requested,
)
from api_server.cache.semantic import SemanticCache, negation_words
from api_server.chat.conversation import ChatMessage, Conversation
from api_server.chat.sampling import SamplingParams
from api_server.embeddings.backend import EmbeddingBatch
from api_server.metrics import CacheMetrics
from tests.unit.cache.test_exact import ANSWER, Engine, chat_request

BOTH = CachePolicy(lookup=True, store=True)
ASKED = "What is the capital of France?"


def _unit(angle_deg: float) -> list[float]:
    """A vector at `angle_deg` from ASKED's: cosine similarity cos(angle)."""
    a = math.radians(angle_deg)
    return [math.cos(a), math.sin(a), 0.0, 0.0]


VECTORS = {
    ASKED: _unit(0),
    "What's the capital city of France?": _unit(10),  # cos 0.985: a paraphrase
    "Which city is the capital of France?": _unit(25),  # cos 0.906: below 0.95
    "Is Paris the capital of France?": [0.0, 0.0, 1.0, 0.0],
    "Is Paris not the capital of France?": [0.0, 0.0, 0.999, math.sqrt(1 - 0.999**2)],
}


class FakeEmbedder:
    model_name = "fake"
    dimensions = 4

    def __init__(self, fail: bool = False, warm: bool = True) -> None:
        self.fail, self.calls, self.warm = fail, 0, warm

    def ready(self) -> bool:
        was_warm, self.warm = self.warm, True  # the first call starts warming
        return was_warm

    async def embed(self, texts: Sequence[str]) -> EmbeddingBatch:
        self.calls += 1
        if self.fail:
            raise RuntimeError("embedder down")
        return EmbeddingBatch([VECTORS[text] for text in texts], len(texts))

    def close(self) -> None:
        pass


@pytest.fixture
async def qdrant(tmp_path: Path) -> AsyncIterator[AsyncQdrantClient]:
    client = AsyncQdrantClient(path=str(tmp_path / "qdrant"))
    yield client
    await client.close()


def make_cache(qdrant: Any, embedder: Any = None, ttl_s: int = 3600) -> SemanticCache:
    return SemanticCache(
        qdrant,
        embedder or FakeEmbedder(),
        CacheMetrics(CollectorRegistry()),
        threshold=0.95,
        timeout_s=5.0,
        default_ttl_s=ttl_s,
        replay_max_ms=None,
    )


def asking(text: str, *, system: str | None = None, temperature: float = 0.0) -> Any:
    chat = chat_request()
    messages = ((ChatMessage("system", system),) if system else ()) + (ChatMessage("user", text),)
    return replace(
        chat,
        conversation=Conversation(messages),
        sampling=SamplingParams(max_tokens=16, temperature=temperature),
    )


async def serve(cache: SemanticCache, chat: Any, tenant: str | None = None) -> tuple[str, int]:
    """x-cache (with -semantic on a semantic hit) and how often the engine was asked."""
    engine = Engine(ANSWER)
    generation = await cached_events(
        None, chat, engine.generate(), BYPASS, paced=False, metric_name="tiny-chatml",
        tenant=tenant, semantic=cache, semantic_policy=BOTH,
    )  # fmt: skip
    events = [event async for event in generation.events]
    assert events == ANSWER
    await cache.drain()
    kind = generation.headers.get("x-cache-kind")
    return generation.headers["x-cache"] + (f"-{kind}" if kind else ""), engine.started


async def test_a_paraphrase_hits_and_a_distant_question_misses(qdrant: Any) -> None:
    cache = make_cache(qdrant)
    assert await serve(cache, asking(ASKED)) == ("MISS", 1)
    assert await serve(cache, asking("What's the capital city of France?")) == ("HIT-semantic", 0)
    assert await serve(cache, asking("Which city is the capital of France?")) == ("MISS", 1)
    assert cache.metrics.requests.labels("tiny-chatml", "hit_semantic")._value.get() == 1


async def test_a_negation_never_hits_even_when_the_vectors_agree(qdrant: Any) -> None:
    cache = make_cache(qdrant)
    assert await serve(cache, asking("Is Paris the capital of France?")) == ("MISS", 1)
    assert await serve(cache, asking("Is Paris not the capital of France?")) == ("MISS", 1)
    assert (await serve(cache, asking("Is Paris the capital of France?")))[0] == "HIT-semantic"


def test_negation_words() -> None:
    assert negation_words("Isn't Paris the capital?") == {"not"}
    assert negation_words("Is Paris not the capital?") == {"not"}
    assert negation_words("Is Paris the capital?") == frozenset()
    assert negation_words("Never say no") == {"never", "no"}


async def test_filters_keep_tenants_system_prompts_and_sampling_apart(qdrant: Any) -> None:
    cache = make_cache(qdrant)
    await serve(cache, asking(ASKED), tenant="key-a")
    assert (await serve(cache, asking(ASKED), tenant="key-b"))[0] == "MISS"
    assert (await serve(cache, asking(ASKED, system="Be terse."), tenant="key-a"))[0] == "MISS"
    assert (await serve(cache, asking(ASKED, temperature=0.5), tenant="key-a"))[0] == "MISS"
    assert (await serve(cache, asking(ASKED), tenant="key-a"))[0] == "HIT-semantic"


async def test_an_expired_entry_is_not_served(qdrant: Any) -> None:
    cache = make_cache(qdrant, ttl_s=1)
    await serve(cache, asking(ASKED))
    cache.default_ttl_s = 3600
    import time as clock

    real = clock.time
    try:
        clock.time = lambda: real() + 5  # type: ignore[assignment]
        assert (await serve(cache, asking(ASKED)))[0] == "MISS"
    finally:
        clock.time = real  # type: ignore[assignment]


async def test_an_embedder_failure_serves_from_the_engine(qdrant: Any) -> None:
    cache = make_cache(qdrant, FakeEmbedder(fail=True))
    assert await serve(cache, asking(ASKED)) == ("MISS", 1)
    assert cache.metrics.errors.labels("semantic_lookup")._value.get() == 1


async def test_a_tool_result_last_is_not_looked_up(qdrant: Any) -> None:
    chat = chat_request()
    chat = replace(chat, conversation=Conversation((ChatMessage("tool", "42", tool_call_id="c"),)))
    assert await serve(make_cache(qdrant), chat) == ("BYPASS", 1)


@pytest.mark.parametrize(
    ("opt_in", "requested", "cache_requested", "temperature", "expected"),
    [
        (False, None, None, 0.0, BYPASS),
        (True, None, None, 0.0, BOTH),
        (True, None, None, 0.7, BYPASS),  # the model's opt-in follows the exact policy
        (False, True, None, 0.7, BOTH),  # a request's opt-in overrides it
        (True, False, None, 0.0, BYPASS),
        (True, None, False, 0.0, BYPASS),
    ],
)
def test_semantic_policy(
    opt_in: bool, requested: bool | None, cache_requested: bool | None, temperature: float,
    expected: CachePolicy,
) -> None:  # fmt: skip
    sampling = SamplingParams(max_tokens=16, temperature=temperature)
    policy = semantic_cache_policy(
        sampling, model_opt_in=opt_in, requested=requested, cache_requested=cache_requested
    )
    assert policy == expected


def test_semantic_requested() -> None:
    assert semantic_cache_requested(None, "on") is True
    assert semantic_cache_requested(None, "off") is False
    assert semantic_cache_requested(False, "on") is False
    assert semantic_cache_requested(None, None) is None


async def test_a_cold_model_misses_at_once_and_warms_up(qdrant: Any) -> None:
    embedder = FakeEmbedder(warm=False)
    cache = make_cache(qdrant, embedder)
    # No request waits for the model: the first is served by the engine while it loads...
    assert await serve(cache, asking(ASKED)) == ("MISS", 1)
    # ...and once warm, what that request stored is found.
    assert await serve(cache, asking("What's the capital city of France?")) == ("HIT-semantic", 0)
