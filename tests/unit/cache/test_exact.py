"""The exact cache over fake Redis clients: hits replay, misses store, failures fall back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any, cast

import pytest
from prometheus_client import CollectorRegistry

from api_server.cache.exact import AsyncKeyValue, ExactCache
from api_server.cache.layered import cached_events
from api_server.cache.policy import CachePolicy
from api_server.chat.conversation import ChatMessage, Conversation
from api_server.chat.events import ChatEvent, Finished, TextDelta, Usage
from api_server.chat.sampling import SamplingParams
from api_server.generation.request import ChatRequest, ModelRuntime
from api_server.metrics import CacheMetrics
from api_server.registry import ModelSpec
from tests.unit.cache.fakes import DictRedis, DownRedis, HangingRedis

BOTH = CachePolicy(lookup=True, store=True)
ANSWER: list[ChatEvent] = [
    TextDelta("The capital"),
    TextDelta(" of France"),
    TextDelta(" is Paris."),
    Finished("stop", Usage(7, 3)),
]


def chat_request(cache_ttl_s: int | None = None) -> ChatRequest:
    spec = ModelSpec.model_validate(
        {
            "name": "tiny-chatml",
            "prompt_family": "chatml",
            "engine": {"kind": "llamacpp", "served_name": "tiny", "urls": ["http://127.0.0.1:9"]},
            "context_length": 2048,
            "max_tokens": {"default": 16, "limit": 64},
            "cache_ttl_s": cache_ttl_s,
        }
    )
    runtime = ModelRuntime(spec=spec, format_prompt=cast(Any, None), pool=cast(Any, None))
    return ChatRequest(
        model=runtime,
        conversation=Conversation((ChatMessage("user", "What is the capital of France?"),)),
        sampling=SamplingParams(max_tokens=16, temperature=0.0),
        request_id="req-1",
    )


class Engine:
    """Counts how often its events were started, as the engine would see requests."""

    def __init__(self, events: list[ChatEvent], fail_after: int | None = None) -> None:
        self.events, self.fail_after, self.started = events, fail_after, 0

    async def generate(self) -> AsyncGenerator[ChatEvent, None]:
        self.started += 1
        for i, event in enumerate(self.events):
            if i == self.fail_after:
                raise RuntimeError("engine died")
            await asyncio.sleep(0.002)
            yield event


def make_cache(
    redis: object, replay_max_ms: float | None = None, max_pending_stores: int = 64
) -> tuple[ExactCache, CacheMetrics]:
    metrics = CacheMetrics(CollectorRegistry())
    cache = ExactCache(
        cast(AsyncKeyValue, redis),
        metrics,
        timeout_s=0.01,
        default_ttl_s=3600,
        replay_max_ms=replay_max_ms,
        max_pending_stores=max_pending_stores,
    )
    return cache, metrics


def count(metrics: CacheMetrics, outcome: str) -> float:
    return float(metrics.requests.labels("tiny-chatml", outcome)._value.get())


def errors(metrics: CacheMetrics, operation: str) -> float:
    return float(metrics.errors.labels(operation)._value.get())


async def serve(
    cache: ExactCache, engine: Engine, policy: CachePolicy = BOTH, **kwargs: Any
) -> tuple[list[ChatEvent], str]:
    generation = await cached_events(
        cache,
        kwargs.pop("chat", chat_request()),
        engine.generate(),
        policy,
        paced=False,
        metric_name="tiny-chatml",
        **kwargs,
    )
    events = [event async for event in generation.events]
    await cache.drain()
    return events, generation.headers["x-cache"]


async def test_a_repeat_is_replayed_without_the_engine() -> None:
    redis = DictRedis()
    cache, metrics = make_cache(redis)
    engine = Engine(ANSWER)
    assert await serve(cache, engine) == (ANSWER, "MISS")
    (key,) = redis.data
    assert redis.ttls[key] == 3600
    generation = await cached_events(
        cache, chat_request(), engine.generate(), BOTH, paced=False, metric_name="tiny-chatml"
    )
    assert generation.outcome == "hit_exact"
    assert generation.usage == Usage(7, 3)
    assert generation.log_outcome == "exact"
    assert [event async for event in generation.events] == ANSWER
    assert engine.started == 1
    assert (count(metrics, "miss"), count(metrics, "hit_exact")) == (1, 1)


async def test_the_model_ttl_wins_and_zero_never_caches() -> None:
    redis = DictRedis()
    cache, _ = make_cache(redis)
    await serve(cache, Engine(ANSWER), chat=chat_request(cache_ttl_s=60))
    assert list(redis.ttls.values()) == [60]
    redis.data.clear()
    assert (await serve(cache, Engine(ANSWER), chat=chat_request(cache_ttl_s=0)))[1] == "BYPASS"
    assert not redis.data


async def test_policies_bypass_and_store_only() -> None:
    redis = DictRedis()
    cache, metrics = make_cache(redis)
    engine = Engine(ANSWER)
    assert (await serve(cache, engine, CachePolicy(False, False)))[1] == "BYPASS"
    assert not redis.data
    assert (await serve(cache, engine, CachePolicy(False, True)))[1] == "BYPASS"
    assert redis.data  # stored although not looked up
    assert (await serve(cache, engine, CachePolicy(False, True)))[1] == "BYPASS"
    assert engine.started == 3
    assert count(metrics, "bypass") == 3


async def test_failed_or_cut_generations_are_not_stored() -> None:
    redis = DictRedis()
    cache, _ = make_cache(redis)
    with pytest.raises(RuntimeError):
        await serve(cache, Engine(ANSWER, fail_after=2))
    generation = await cached_events(
        cache, chat_request(), Engine(ANSWER).generate(), BOTH, paced=False, metric_name="m"
    )
    events = generation.events
    assert await anext(events) == ANSWER[0]
    await events.aclose()  # the client went away mid-stream
    await cache.drain()
    assert not redis.data


@pytest.mark.parametrize("redis", [DownRedis(), HangingRedis()])
async def test_redis_down_or_slow_serves_from_the_engine(redis: object) -> None:
    cache, metrics = make_cache(redis)
    engine = Engine(ANSWER)
    assert await serve(cache, engine) == (ANSWER, "MISS")
    assert await serve(cache, engine) == (ANSWER, "MISS")
    assert engine.started == 2
    assert errors(metrics, "lookup") == 2
    assert errors(metrics, "store") == 2


async def test_garbage_in_redis_is_a_miss() -> None:
    redis = DictRedis()
    cache, metrics = make_cache(redis)
    await serve(cache, Engine(ANSWER))
    (key,) = redis.data
    redis.data[key] = b"garbage"
    assert await serve(cache, Engine(ANSWER)) == (ANSWER, "MISS")
    assert errors(metrics, "decode") == 1


async def test_stores_beyond_the_pending_cap_are_dropped() -> None:
    cache, metrics = make_cache(HangingRedis(), max_pending_stores=1)
    cache.store_later("a", [(0.0, ANSWER[-1])], 60)  # hangs until its 10 ms timeout
    cache.store_later("b", [(0.0, ANSWER[-1])], 60)
    assert errors(metrics, "store_dropped") == 1
    await cache.drain()
    assert errors(metrics, "store") == 1  # the first one ran, and timed out


async def test_without_a_cache_everything_bypasses() -> None:
    engine = Engine(ANSWER)
    generation = await cached_events(
        None, chat_request(), engine.generate(), BOTH, paced=True, metric_name="tiny-chatml"
    )
    assert generation.headers == {"x-cache": "BYPASS"}
    assert [event async for event in generation.events] == ANSWER
