"""Replicas of one model's engine: which one serves a request (`routing`), each one's
circuit breaker (`breaker`), and the lease every request path holds on the replica it was
given."""

from __future__ import annotations

import logging
import time
from collections.abc import Collection
from dataclasses import replace
from types import TracebackType
from typing import Protocol

import aiohttp

from api_server.engines.breaker import CircuitBreaker
from api_server.engines.client import EngineReplica
from api_server.engines.prefix_index import PrefixIndex
from api_server.engines.routing import (
    NO_ROUTE,
    Route,
    RouteReason,
    RoutingSettings,
    choose,
)
from api_server.engines.shared_routes import SharedRoutes
from api_server.errors import (
    EngineError,
    EngineResponseError,
    EngineTimeoutError,
    EngineUnavailableError,
)
from api_server.registry import ModelSpec

logger = logging.getLogger(__name__)

# What says a replica is broken (its breaker counts it); a 429 says only that it is busy,
# and a 4xx that the request was bad.
BREAKER_FAILURES = (EngineUnavailableError, EngineTimeoutError, EngineResponseError)


class ReplicaObserver(Protocol):
    """Who is told which replica serves a request, and how it failed (the tracker)."""

    def engine_chosen(self, replica: EngineReplica) -> None: ...
    def engine_failed(self, replica: EngineReplica, error: EngineError) -> None: ...


class RoutingObserver(Protocol):
    """Told of every routing decision and breaker change (the gateway's metrics)."""

    def routed(self, model: str, reason: RouteReason) -> None: ...


class EnginePool:
    def __init__(
        self,
        spec: ModelSpec,
        http: aiohttp.ClientSession,
        routing: RoutingSettings | None = None,
        observer: RoutingObserver | None = None,
    ) -> None:
        self.model = spec.name
        self.routing = routing or RoutingSettings()
        self._configured_slots = spec.engine.slots_per_replica
        self.replicas = tuple(
            EngineReplica(http, spec.engine.kind, spec.engine.served_name, url, metrics_url, index)
            for index, (url, metrics_url) in enumerate(spec.engine.replica_urls())
        )
        for replica in self.replicas:
            logger.info("model %s: replica %s is %s", self.model, replica.label, replica.url)
        self.breakers = tuple(CircuitBreaker(self.routing.breaker) for _ in self.replicas)
        self._observer = observer
        self._prefixes = PrefixIndex(self.routing.index_entries)
        self._sessions = PrefixIndex(self.routing.index_entries)
        # Set when several gateway processes route this model's requests.
        self.shared: SharedRoutes | None = None

    async def recall(self, route: Route) -> Route:
        """`route` with what other gateway processes remember beyond this one's index (and
        their breakers opened here too); `route` itself when nothing is shared."""
        if self.shared is None or (not route.keys and route.session is None):
            return route
        local = self._prefixes.longest_match(route.keys) if route.keys else None
        known = local[0] if local is not None else 0
        recalled = await self.shared.recall(route.keys, known, route.session)
        now = time.monotonic()
        for index in recalled.tripped:
            if self.breakers[index].state(now) == "closed":
                self.breakers[index].trip(now)
        return replace(route, recalled=recalled)

    def lease(
        self,
        observer: ReplicaObserver,
        route: Route = NO_ROUTE,
        exclude: Collection[int] = (),
    ) -> ReplicaLease:
        """The replica for one request, counted in flight until the lease is released; the
        local engine path and both hosted-upstream paths take theirs here. `exclude`: the
        replicas (indexes) this request already failed on. EngineUnavailableError when no
        replica may take it."""
        index, reason = self._choose(route, exclude)
        if self._observer is not None:
            self._observer.routed(self.model, reason)
        replica = self.replicas[index]
        observer.engine_chosen(replica)
        probing = self.breakers[index].take(time.monotonic())
        self._remember(route, index)
        return ReplicaLease(self, replica, observer, probing)

    def _remember(self, route: Route, index: int) -> None:
        """`index` holds the route's prefixes and session now: here, and for the other
        processes whatever this one did not already know it to hold."""
        if self.shared is not None:
            held = self._prefixes.longest_match(route.keys) if route.keys else None
            known = held[0] if held is not None and held[1] >> index & 1 else 0
            session = route.session
            served = self._sessions.longest_match((session,)) if session is not None else None
            if served is not None and served[1] >> index & 1:
                session = None
            self.shared.remember(route.keys[known:], session, index)
        if route.keys:
            self._prefixes.record(route.keys, index)
        if route.session is not None:
            self._sessions.record((route.session,), index)

    def pick(self, route: Route = NO_ROUTE) -> EngineReplica:
        """The replica a request would go to now (nothing recorded, nothing leased)."""
        return self.replicas[self._choose(route, ())[0]]

    def _choose(self, route: Route, exclude: Collection[int]) -> tuple[int, RouteReason]:
        now = time.monotonic()
        untried = [i for i in range(len(self.replicas)) if i not in exclude]
        if not untried:
            raise EngineUnavailableError(f"Every replica of model {self.model!r} failed")
        # Every breaker open: try them anyway (Envoy's "panic" routing) rather than refuse;
        # a replica that is back answers, one still down refuses at once.
        candidates = [i for i in untried if self.breakers[i].available(now)] or untried
        # A replica with a free slot before one whose slots are full or that just said 429:
        # the admission queue let the request in because some replica had room.
        candidates = [i for i in candidates if self._has_room(i, now)] or candidates
        if len(candidates) == 1:
            return candidates[0], "only"
        loads = [r.in_flight + (r.queue_depth or 0.0) for r in self.replicas]
        preferred, reason = self._preferred(route)
        index, took_preferred = choose(loads, candidates, preferred, self.routing.balance_slack)
        return index, reason if took_preferred else "least_busy"

    def _has_room(self, index: int, now: float) -> bool:
        replica = self.replicas[index]
        slots = self._configured_slots or replica.slots
        return (slots is None or replica.in_flight < slots) and replica.overloaded_until <= now

    def has_untried(self, tried: Collection[int]) -> bool:
        """Whether a replica other than `tried` is left to take a request."""
        return len(set(tried)) < len(self.replicas)

    def _preferred(self, route: Route) -> tuple[int, RouteReason]:
        """The replicas (bit i: replica i) holding the request's session, else the longest
        prefix of its prompt, here or in another process; 0 when none is known."""
        recalled = route.recalled
        if route.session is not None:
            session = self._sessions.longest_match((route.session,))
            if session is not None:
                return session[1], "session"
            if recalled.session is not None:
                return 1 << recalled.session, "session"
        match = self._prefixes.longest_match(route.keys) if route.keys else None
        if recalled.prefix is not None and (match is None or recalled.prefix[0] > match[0]):
            match = (recalled.prefix[0], 1 << recalled.prefix[1])
        return (match[1], "prefix") if match is not None else (0, "least_busy")

    def mark_down(self, replica: EngineReplica) -> None:
        """Its health check failed: no requests for a while. Whatever it held in its cache
        is forgotten once (it may come back restarted, holding nothing)."""
        now = time.monotonic()
        breaker = self.breakers[replica.index]
        if breaker.state(now) != "open":
            self._prefixes.forget_replica(replica.index)
            self._sessions.forget_replica(replica.index)
        breaker.trip(now)


class ReplicaLease:
    """One request's hold on a replica: in flight from the start until `release` (once, also
    as a context manager). `answered` (the engine began its answer) and `failed` are the
    replica's breaker's verdicts."""

    def __init__(
        self,
        pool: EnginePool,
        replica: EngineReplica,
        observer: ReplicaObserver,
        probing: bool = False,
    ):
        self.pool = pool
        self.replica = replica
        self._observer = observer
        self._breaker = pool.breakers[replica.index]
        self._verdict = not probing  # only a half-open probe owes its breaker a verdict
        self._answered = False
        self._held = True
        replica.in_flight += 1

    def answered(self) -> None:
        if not self._answered:
            self._answered = self._verdict = True
            self._breaker.succeeded()

    def failed(self, error: EngineError) -> None:
        if isinstance(error, BREAKER_FAILURES):
            self._verdict = True
            now = time.monotonic()
            was_open = self._breaker.state(now) == "open"
            self._breaker.failed(now)
            if not was_open and self._breaker.state(now) == "open" and self.pool.shared:
                self.pool.shared.tripped(self.replica.index)
        self._observer.engine_failed(self.replica, error)

    def release(self) -> None:
        if self._held:
            self._held = False
            self.replica.in_flight -= 1
            if not self._verdict:
                self._breaker.abandoned()

    def __enter__(self) -> ReplicaLease:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
