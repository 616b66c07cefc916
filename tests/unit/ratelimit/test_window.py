"""The sliding-window Lua script on a real Redis: exact under concurrency, tokens reconciled
after the fact, retry and reset times, and a flushed script cache reloaded on its own."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from api_server.ratelimit import SlidingWindow


async def test_exactly_the_limit_of_concurrent_requests_pass(
    redis_client: aioredis.Redis, redis_url: str
) -> None:
    # Two clients stand for two gateway processes sharing the Redis.
    other = aioredis.from_url(redis_url)
    windows = [SlidingWindow(redis_client), SlidingWindow(other)]
    decisions = await asyncio.gather(
        *(windows[i % 2].admit("key:a", rpm=60, tpm=None) for i in range(100))
    )
    await other.aclose()
    assert sum(d.allowed for d in decisions) == 60
    refused = [d for d in decisions if not d.allowed]
    assert all(d.requests.remaining == 0 and d.requests.exhausted for d in refused)
    assert all(0 < d.retry_after_s <= 60 for d in refused)
    assert sorted(d.requests.used for d in decisions if d.allowed) == list(range(1, 61))


async def test_callers_are_counted_apart(redis_client: aioredis.Redis) -> None:
    window = SlidingWindow(redis_client)
    assert (await window.admit("key:a", rpm=1, tpm=None)).allowed
    assert not (await window.admit("key:a", rpm=1, tpm=None)).allowed
    assert (await window.admit("key:b", rpm=1, tpm=None)).allowed


async def test_tokens_count_once_reported_and_refuse_past_the_limit(
    redis_client: aioredis.Redis,
) -> None:
    window = SlidingWindow(redis_client)
    first = await window.admit("key:t", rpm=None, tpm=100)
    assert first.allowed and first.tokens.used == 0 and first.tokens.remaining == 100
    await window.record_tokens("key:t", 60)
    second = await window.admit("key:t", rpm=None, tpm=100)
    assert second.allowed and second.tokens.remaining == 40
    await window.record_tokens("key:t", 60)  # the last admitted request may overshoot
    refused = await window.admit("key:t", rpm=None, tpm=100)
    assert not refused.allowed and refused.tokens.exhausted and refused.tokens.remaining == 0
    assert 59 <= refused.retry_after_s <= 60
    assert 59_000 <= refused.tokens.reset_ms <= 60_000


async def test_the_window_slides(redis_client: aioredis.Redis) -> None:
    window = SlidingWindow(redis_client, window_s=1)
    assert (await window.admit("key:s", rpm=1, tpm=None)).allowed
    refused = await window.admit("key:s", rpm=1, tpm=None)
    assert not refused.allowed and 0 < refused.retry_after_s <= 1
    await asyncio.sleep(refused.retry_after_s + 0.05)
    again = await window.admit("key:s", rpm=1, tpm=None)
    assert again.allowed and again.requests.used == 1  # the old bucket was dropped
    assert await redis_client.hlen("inferstack:rl:{key:s}:requests") == 1


async def test_unlimited_touches_nothing(redis_client: aioredis.Redis) -> None:
    decision = await SlidingWindow(redis_client).admit("key:u", rpm=None, tpm=None)
    assert decision.allowed and decision.requests.limit is None
    assert await redis_client.keys("*") == []


async def test_a_flushed_script_cache_is_reloaded(redis_client: aioredis.Redis) -> None:
    window = SlidingWindow(redis_client)
    assert (await window.admit("key:f", rpm=5, tpm=None)).allowed
    await redis_client.script_flush()  # as after a Redis restart or failover: NOSCRIPT
    decision = await window.admit("key:f", rpm=5, tpm=None)
    assert decision.allowed and decision.requests.used == 2
