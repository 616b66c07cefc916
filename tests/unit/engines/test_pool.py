from __future__ import annotations

import aiohttp

from api_server.engines.client import EngineReplica
from api_server.engines.pool import EnginePool
from api_server.errors import EngineError, EngineResponseError, EngineUnavailableError
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


class Observer:
    def __init__(self) -> None:
        self.chosen: list[str] = []
        self.failures: list[tuple[str, str]] = []

    def engine_chosen(self, replica: EngineReplica) -> None:
        self.chosen.append(replica.url)

    def engine_failed(self, replica: EngineReplica, error: EngineError) -> None:
        self.failures.append((replica.url, type(error).__name__))


async def test_a_lease_counts_its_replica_in_flight_until_released_once() -> None:
    async with aiohttp.ClientSession() as http:
        pool = EnginePool(_spec(["http://a:1", "http://b:1"]), http)
        observer = Observer()
        first = pool.lease(observer)
        second = pool.lease(observer)  # the other one: the first is busy
        assert {first.replica.url, second.replica.url} == {"http://a:1", "http://b:1"}
        assert observer.chosen == [first.replica.url, second.replica.url]
        assert [r.in_flight for r in pool.replicas] == [1, 1]
        first.release()
        first.release()
        with second:
            pass
        assert [r.in_flight for r in pool.replicas] == [0, 0]


async def test_an_unreachable_replica_is_cooled_down_and_reported() -> None:
    async with aiohttp.ClientSession() as http:
        pool = EnginePool(_spec(["http://a:1", "http://b:1"]), http)
        observer = Observer()
        with pool.lease(observer) as lease:
            lease.failed(EngineUnavailableError("down"))
        down = lease.replica
        assert all(pool.pick() is not down for _ in range(3))
        with pool.lease(observer) as other:
            other.failed(EngineResponseError("bad chunk"))  # a bad answer: not cooled down
        assert observer.failures == [
            (down.url, "EngineUnavailableError"),
            (other.replica.url, "EngineResponseError"),
        ]
        assert other.replica is not down and pool.pick() is other.replica
