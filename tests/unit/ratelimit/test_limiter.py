"""The gate: the concurrency valve, whose limits apply to whom, and failing open."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry

from api_server.auth.principal import ANONYMOUS, Principal
from api_server.errors import ModelOverloadedError, RateLimitExceededError
from api_server.logs.record import RequestLogRecord
from api_server.ratelimit import RateLimiter, RateLimitMetrics, SlidingWindow
from api_server.registry import ModelSpec

SPEC = ModelSpec.model_validate(
    {
        "name": "m",
        "prompt_family": "chatml",
        "engine": {"kind": "llamacpp", "served_name": "m", "urls": ["http://127.0.0.1:9"]},
        "context_length": 2048,
        "max_tokens": {"default": 16, "limit": 64},
        "max_concurrency": 2,
    }
)
KEY = Principal(name="k", key_id="k1", rpm=2, tpm=50)


def limiter(redis: aioredis.Redis | None, **defaults: int) -> RateLimiter:
    window = SlidingWindow(redis) if redis is not None else None
    metrics = RateLimitMetrics(CollectorRegistry())
    return RateLimiter(window, metrics, timeout_s=0.5, **defaults)


def record(prompt: int, completion: int) -> RequestLogRecord:
    row = RequestLogRecord.__new__(RequestLogRecord)
    row.prompt_tokens, row.completion_tokens = prompt, completion
    return row


async def test_concurrency_valve_refuses_then_frees_a_slot() -> None:
    gate = limiter(None)
    first, _ = await gate.admit(ANONYMOUS, SPEC), await gate.admit(ANONYMOUS, SPEC)
    with pytest.raises(ModelOverloadedError) as refused:
        await gate.admit(ANONYMOUS, SPEC)
    assert refused.value.status_code == 429 and refused.value.retry_after_s == 1
    first.finish(record(0, 0))
    first.finish(record(0, 0))  # a stream and its caller may both report the end
    await gate.admit(ANONYMOUS, SPEC)
    assert gate.concurrency.in_flight["m"] == 2


async def test_a_keys_limits_refuse_with_headers(redis_client: aioredis.Redis) -> None:
    gate = limiter(redis_client)
    admitted = await gate.admit(KEY, SPEC)
    assert admitted.headers["x-ratelimit-remaining-requests"] == "1"
    assert admitted.headers["x-ratelimit-remaining-tokens"] == "50"
    admitted.finish(record(30, 30))
    await gate.drain()
    with pytest.raises(RateLimitExceededError) as refused:
        await gate.admit(KEY, SPEC)
    assert refused.value.headers["x-ratelimit-remaining-tokens"] == "0"
    assert refused.value.retry_after_s is not None and refused.value.retry_after_s > 0
    assert gate.concurrency.in_flight["m"] == 0  # a refused request holds no slot
    assert gate.metrics.rejections.labels("tokens")._value.get() == 1


async def test_callers_without_a_key_get_the_defaults(redis_client: aioredis.Redis) -> None:
    gate = limiter(redis_client, default_rpm=1)
    await gate.admit(ANONYMOUS, SPEC)
    with pytest.raises(RateLimitExceededError):
        await gate.admit(ANONYMOUS, SPEC)
    unlimited_key = Principal(name="u", key_id="u1")  # a key's None means no limit
    for _ in range(3):
        assert (await gate.admit(unlimited_key, SPEC)).headers == {}
        gate.concurrency.release("m")


async def test_redis_down_fails_open_and_counts() -> None:
    down = aioredis.from_url("redis://127.0.0.1:9/0", socket_connect_timeout=0.05)
    gate = limiter(down)
    admitted = await gate.admit(KEY, SPEC)
    assert admitted.headers == {}
    admitted.finish(record(10, 10))
    await gate.drain()
    assert gate.metrics.errors.labels("admit")._value.get() == 1
    assert gate.metrics.errors.labels("record_tokens")._value.get() == 1
    await down.aclose()


async def test_redis_hanging_fails_open_within_the_timeout() -> None:
    writers: list[asyncio.StreamWriter] = []

    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)  # read nothing, answer nothing

    server = await asyncio.start_server(hang, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    hanging = aioredis.from_url(f"redis://127.0.0.1:{port}/0")
    gate = RateLimiter(
        SlidingWindow(hanging), RateLimitMetrics(CollectorRegistry()), timeout_s=0.05
    )
    started = asyncio.get_running_loop().time()
    await gate.admit(KEY, SPEC)
    assert asyncio.get_running_loop().time() - started < 0.5
    await hanging.aclose()
    for writer in writers:
        writer.close()
    server.close()
    await server.wait_closed()
