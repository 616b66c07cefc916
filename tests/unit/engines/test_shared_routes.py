"""Routing memory shared by gateway processes through a real Redis: two pools standing for
two workers in front of the same two replicas."""

from __future__ import annotations

import aiohttp
import redis.asyncio as aioredis

from api_server.engines.breaker import BreakerPolicy
from api_server.engines.client import EngineReplica
from api_server.engines.pool import EnginePool
from api_server.engines.routing import RoutingSettings, route_for
from api_server.engines.shared_routes import SharedRoutes
from api_server.errors import EngineError, EngineUnavailableError
from api_server.registry import ModelSpec

SETTINGS = RoutingSettings(block_bytes=16, balance_slack=2, breaker=BreakerPolicy(1, 30, 1))
SPEC = ModelSpec.model_validate(
    {
        "name": "m",
        "prompt_family": "chatml",
        "engine": {"kind": "llamacpp", "served_name": "m", "urls": ["http://a:1", "http://b:1"]},
        "context_length": 100,
        "max_tokens": {"default": 1, "limit": 2},
    }
)


class Observer:
    def engine_chosen(self, replica: EngineReplica) -> None: ...
    def engine_failed(self, replica: EngineReplica, error: EngineError) -> None: ...


def _worker(http: aiohttp.ClientSession, redis: aioredis.Redis) -> EnginePool:
    pool = EnginePool(SPEC, http, SETTINGS)
    pool.shared = SharedRoutes(redis, "m", 2, timeout_s=1.0, ttl_s=60, open_s=30)
    return pool


async def test_a_conversation_finds_its_replica_whichever_worker_takes_the_next_turn(
    redis_client: aioredis.Redis,
) -> None:
    async with aiohttp.ClientSession() as http:
        first, second = _worker(http, redis_client), _worker(http, redis_client)
        turn_one = route_for("system prompt, long enough. " * 3 + "Hi?", None, SETTINGS)
        first.replicas[0].in_flight = 1  # so the first turn goes to replica 1
        with first.lease(Observer(), await first.recall(turn_one)) as lease:
            assert lease.replica.index == 1
        assert first.shared is not None
        await first.shared.drain()
        turn_two = route_for(
            "system prompt, long enough. " * 3 + "Hi? Hello! And then?", None, SETTINGS
        )
        recalled = await second.recall(turn_two)
        assert recalled.recalled.prefix is not None and recalled.recalled.prefix[1] == 1
        assert second.pick(turn_two) is second.replicas[0]  # on its own it knows nothing
        assert second.pick(recalled) is second.replicas[1]


async def test_a_session_and_an_opened_breaker_are_known_to_every_worker(
    redis_client: aioredis.Redis,
) -> None:
    async with aiohttp.ClientSession() as http:
        first, second = _worker(http, redis_client), _worker(http, redis_client)
        session = route_for("short", "key:1\ns-1", SETTINGS)
        first.replicas[0].in_flight = 1
        with first.lease(Observer(), await first.recall(session)):
            pass
        with first.lease(Observer(), exclude=[1]) as lease:
            lease.failed(EngineUnavailableError("refused"))  # opens replica 0's breaker
        assert first.shared is not None
        await first.shared.drain()
        recalled = await second.recall(session)
        assert recalled.recalled.session == 1
        assert second.breakers[0].state(0) == "open"


async def test_redis_down_routes_on_what_the_worker_knows() -> None:
    dead = aioredis.from_url("redis://127.0.0.1:9/0")
    async with aiohttp.ClientSession() as http:
        pool = _worker(http, dead)
        route = route_for("x" * 64, "key:1\ns", SETTINGS)
        assert await pool.recall(route) == route  # nothing recalled, no error
        with pool.lease(Observer(), route):
            pass
        assert pool.shared is not None
        await pool.shared.drain()
    await dead.aclose()
