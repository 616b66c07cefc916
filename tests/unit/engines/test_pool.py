"""The engine pool: routing among healthy replicas, breakers, and the lease."""

from __future__ import annotations

import time

import aiohttp

from api_server.engines.breaker import BreakerPolicy
from api_server.engines.client import EngineReplica
from api_server.engines.pool import EnginePool
from api_server.engines.routing import Route, RoutingSettings, route_for
from api_server.errors import (
    EngineError,
    EngineOverloadedError,
    EngineResponseError,
    EngineUnavailableError,
)
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


class Observer:
    def __init__(self) -> None:
        self.chosen: list[str] = []
        self.failures: list[tuple[str, str]] = []

    def engine_chosen(self, replica: EngineReplica) -> None:
        self.chosen.append(replica.url)

    def engine_failed(self, replica: EngineReplica, error: EngineError) -> None:
        self.failures.append((replica.url, type(error).__name__))


class Decisions:
    def __init__(self) -> None:
        self.reasons: list[str] = []

    def routed(self, model: str, reason: str) -> None:
        self.reasons.append(reason)


SETTINGS = RoutingSettings(block_bytes=16, balance_slack=2, breaker=BreakerPolicy(2, 60, 1))


async def test_pick_prefers_the_least_busy_healthy_replica() -> None:
    async with aiohttp.ClientSession() as http:
        pool = EnginePool(_spec(["http://a:1", "http://b:1", "http://c:1"]), http)
        a, b, c = pool.replicas
        a.in_flight, b.in_flight, c.in_flight = 3, 1, 2
        assert pool.pick() is b
        pool.mark_down(b)
        assert pool.pick() is c
        c.queue_depth = 5  # the engine's own queue counts as load
        assert pool.pick() is a
        pool.mark_down(a)
        pool.mark_down(c)
        # Every breaker open: still try the least busy rather than refuse (panic routing).
        assert pool.pick() is b


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


async def test_failures_in_a_row_open_a_replicas_breaker() -> None:
    async with aiohttp.ClientSession() as http:
        pool = EnginePool(_spec(["http://a:1", "http://b:1"]), http, SETTINGS)
        observer = Observer()
        a, b = pool.replicas
        for error in (EngineUnavailableError("down"), EngineResponseError("dropped")):
            with pool.lease(observer, exclude=[1]) as lease:
                lease.failed(error)
        assert pool.breakers[0].state(0) == "open"
        assert observer.failures == [
            (a.url, "EngineUnavailableError"),
            (a.url, "EngineResponseError"),
        ]
        a.in_flight = -5  # the least busy by far, but broken
        assert all(pool.pick() is b for _ in range(3))


async def test_busy_and_bad_requests_are_not_failures_of_the_replica() -> None:
    async with aiohttp.ClientSession() as http:
        pool = EnginePool(_spec(["http://a:1", "http://b:1"]), http, SETTINGS)
        for _ in range(3):
            with pool.lease(Observer(), exclude=[1]) as lease:
                lease.failed(EngineOverloadedError("busy"))
        assert pool.breakers[0].state(0) == "closed"


async def test_an_answer_resets_the_count_of_failures() -> None:
    async with aiohttp.ClientSession() as http:
        pool = EnginePool(_spec(["http://a:1", "http://b:1"]), http, SETTINGS)
        for failing in (True, False, True):
            with pool.lease(Observer(), exclude=[1]) as lease:
                if failing:
                    lease.failed(EngineUnavailableError("down"))
                else:
                    lease.answered()
        assert pool.breakers[0].state(0) == "closed"


async def test_excluding_every_replica_is_an_unavailable_model() -> None:
    async with aiohttp.ClientSession() as http:
        pool = EnginePool(_spec(["http://a:1", "http://b:1"]), http)
        assert pool.has_untried([0]) and not pool.has_untried([0, 1])
        try:
            pool.lease(Observer(), exclude=[0, 1])
        except EngineUnavailableError as exc:
            assert "Every replica of model 'm' failed" in str(exc)
        else:
            raise AssertionError("leased an excluded replica")


async def test_a_prompt_goes_where_its_prefix_was_served_unless_that_one_is_much_busier() -> None:
    async with aiohttp.ClientSession() as http:
        decisions = Decisions()
        pool = EnginePool(_spec(["http://a:1", "http://b:1"]), http, SETTINGS, decisions)
        a, b = pool.replicas
        system = "You are a careful assistant. " * 4
        first = route_for(system + "Question one?", None, SETTINGS)
        b.in_flight = 1  # the first goes to a, the least busy
        with pool.lease(Observer(), first) as lease:
            assert lease.replica is a
            a.in_flight += 2  # a is now 3, b 1: within the slack of 2
            second = route_for(system + "Question one? Answer. Question two?", None, SETTINGS)
            assert pool.pick(second) is a
            a.in_flight += 1  # 4 against 1: past the slack
            assert pool.pick(second) is b
        assert decisions.reasons == ["least_busy"]
        unrelated = route_for("Something else entirely, not shared at all.", None, SETTINGS)
        a.in_flight, b.in_flight = 1, 0
        with pool.lease(Observer(), unrelated) as lease:
            assert lease.replica is b
        assert decisions.reasons == ["least_busy", "least_busy"]
        with pool.lease(Observer(), second) as lease:
            assert lease.replica is a
        assert decisions.reasons[-1] == "prefix"


async def test_a_session_sticks_to_its_replica_and_least_busy_ignores_prompts() -> None:
    async with aiohttp.ClientSession() as http:
        pool = EnginePool(_spec(["http://a:1", "http://b:1"]), http, SETTINGS)
        a, b = pool.replicas
        route = route_for("short", "key:1\ns-1", SETTINGS)
        assert route.keys == () and route.session is not None
        a.in_flight = 1
        with pool.lease(Observer(), route):
            pass
        a.in_flight, b.in_flight = 0, 1
        assert pool.pick(route) is b  # the session's replica, though a is less busy
        other_tenant = route_for("short", "key:2\ns-1", SETTINGS)
        assert pool.pick(other_tenant) is a
        blind = route_for("short", "key:1\ns-1", RoutingSettings(policy="least_busy"))
        assert blind == Route() and pool.pick(blind) is a


async def test_a_replica_found_down_is_forgotten_as_holding_prefixes() -> None:
    async with aiohttp.ClientSession() as http:
        pool = EnginePool(_spec(["http://a:1", "http://b:1"]), http, SETTINGS)
        a, b = pool.replicas
        route = route_for("x" * 64, None, SETTINGS)
        with pool.lease(Observer(), route) as lease:
            assert lease.replica is a
        pool.mark_down(a)
        pool.breakers[0].succeeded()
        pool.breakers[0].succeeded()  # closed again (successes_to_close is 1)
        b.in_flight = 0
        a.in_flight = 1
        assert pool.pick(route) is b  # no memory of a holding the prefix


async def test_a_replica_with_a_free_slot_wins_over_a_full_or_refusing_one() -> None:
    async with aiohttp.ClientSession() as http:
        pool = EnginePool(_spec(["http://a:1", "http://b:1"]), http, SETTINGS)
        a, b = pool.replicas
        a.slots = b.slots = 2
        route = route_for("x" * 64, None, SETTINGS)
        with pool.lease(Observer(), route) as lease:
            assert lease.replica is a
        a.in_flight, b.in_flight = 2, 1  # a holds the prefix but its slots are full
        assert pool.pick(route) is b
        a.in_flight = 1
        assert pool.pick(route) is a
        a.overloaded_until = time.monotonic() + 60  # it said 429
        assert pool.pick(route) is b
        b.in_flight = 2  # nobody has room: the preferred one, as the slack allows
        assert pool.pick(route) is a
