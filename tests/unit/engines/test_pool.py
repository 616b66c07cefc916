from __future__ import annotations

import aiohttp

from api_server.engines.pool import EnginePool
from api_server.registry import ModelSpec


def _spec(urls: list[str]) -> ModelSpec:
    return ModelSpec.model_validate(
        {
            "name": "m",
            "prompt_family": "chatml",
            "engine": {"kind": "vllm", "served_name": "m", "urls": urls},
            "context_length": 100,
            "max_tokens": {"default": 1, "limit": 2},
        }
    )


async def test_pick_prefers_the_least_busy_healthy_replica() -> None:
    async with aiohttp.ClientSession() as http:
        pool = EnginePool(_spec(["http://a:1", "http://b:1", "http://c:1"]), http)
        a, b, c = pool.replicas
        a.in_flight, b.in_flight, c.in_flight = 3, 1, 2
        assert pool.pick() is b
        pool.mark_down(b)
        assert pool.pick() is c
        pool.mark_down(a)
        pool.mark_down(c)
        # Everything is cooling down: still try the least busy rather than refuse.
        assert pool.pick() is b
