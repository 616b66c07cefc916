"""The exact cache: a finished generation's events stored in Redis under a key of its
request, replayed for the next identical request without touching the engine.

The cache is an optimisation only: Redis down, slow or holding garbage means a miss (counted
in `inferstack_cache_errors_total`), never a failed request. Lookups are bounded by a timeout
of a few milliseconds; stores run after the response, off the request path, and are dropped
when too many are already waiting.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal, Protocol

from redis.exceptions import RedisError

from api_server.cache.keys import exact_cache_key
from api_server.cache.policy import BYPASS, CachePolicy
from api_server.cache.recording import (
    RecordingError,
    TimedEvent,
    decode_recording,
    encode_recording,
    replay,
)
from api_server.cache.semantic import SemanticCache, SemanticProbe, semantic_query
from api_server.chat.events import ChatEvent, Finished
from api_server.chat.generation import ChatRequest, GenerationObserver, generate_chat
from api_server.engines.types import Usage
from api_server.metrics import CacheMetrics

logger = logging.getLogger(__name__)

CacheOutcome = Literal["hit_exact", "hit_semantic", "miss", "bypass"]
_X_CACHE: dict[CacheOutcome, str] = {
    "hit_exact": "HIT",
    "hit_semantic": "HIT",
    "miss": "MISS",
    "bypass": "BYPASS",
}
_FAILURES = (RedisError, OSError, TimeoutError)


class AsyncKeyValue(Protocol):
    """What the cache needs of `redis.asyncio.Redis` (tests pass a dict-backed fake)."""

    def get(self, name: str) -> Awaitable[Any]: ...
    def set(self, name: str, value: bytes, ex: int | None = None) -> Awaitable[Any]: ...


@dataclass(frozen=True, slots=True)
class CachedGeneration:
    """The events to serve, replayed from the cache or the engine's (recorded on the way)."""

    events: AsyncGenerator[ChatEvent, None]
    outcome: CacheOutcome
    usage: Usage | None = None  # on a hit: the original generation's

    @property
    def headers(self) -> dict[str, str]:
        if self.outcome == "hit_semantic":
            return {"x-cache": "HIT", "x-cache-kind": "semantic"}
        return {"x-cache": _X_CACHE[self.outcome]}

    @property
    def log_outcome(self) -> str | None:
        """The request log's cache_outcome: exact, semantic, miss, or None when not
        consulted."""
        return {"hit_exact": "exact", "hit_semantic": "semantic", "miss": "miss"}.get(self.outcome)


class ExactCache:
    def __init__(
        self,
        redis: AsyncKeyValue,
        metrics: CacheMetrics,
        *,
        timeout_s: float,
        default_ttl_s: int,
        replay_max_ms: float | None,
        max_pending_stores: int = 64,
    ) -> None:
        """`replay_max_ms`: a streamed hit is paced like the original, compressed to last at
        most this long; None replays it at once."""
        self.redis = redis
        self.metrics = metrics
        self.timeout_s = timeout_s
        self.default_ttl_s = default_ttl_s
        self.replay_max_ms = replay_max_ms
        self.max_pending_stores = max_pending_stores
        self._pending: set[asyncio.Task[None]] = set()

    async def get(self, key: str) -> list[TimedEvent] | None:
        try:
            async with asyncio.timeout(self.timeout_s):
                data = await self.redis.get(key)
        except _FAILURES as exc:
            self._failed("lookup", exc)
            return None
        if data is None:
            return None
        try:
            return decode_recording(data)
        except RecordingError as exc:
            self._failed("decode", exc)
            return None

    def store_later(self, key: str, events: list[TimedEvent], ttl_s: int) -> None:
        if len(self._pending) >= self.max_pending_stores:
            self._failed("store_dropped", None)
            return
        task = asyncio.create_task(self._store(key, encode_recording(events), ttl_s))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def drain(self) -> None:
        """Wait for the stores already started (shutdown, tests)."""
        while self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)

    def count(self, model: str, outcome: CacheOutcome) -> None:
        self.metrics.requests.labels(model, outcome).inc()

    async def _store(self, key: str, payload: bytes, ttl_s: int) -> None:
        try:
            async with asyncio.timeout(self.timeout_s):
                await self.redis.set(key, payload, ex=ttl_s)
        except _FAILURES as exc:
            self._failed("store", exc)

    def _failed(self, operation: str, exc: BaseException | None) -> None:
        self.metrics.errors.labels(operation).inc()
        logger.debug("cache %s failed: %r", operation, exc)


async def cached_events(
    cache: ExactCache | None,
    chat: ChatRequest,
    events: AsyncGenerator[ChatEvent, None],
    policy: CachePolicy,
    *,
    paced: bool,
    tenant: str | None = None,
    semantic: SemanticCache | None = None,
    semantic_policy: CachePolicy = BYPASS,
) -> CachedGeneration:
    """`events` (the engine's, not yet started) when neither cache has an answer for `chat`
    (the exact cache first, then the semantic one when its policy allows), else the cached
    answer replayed, with the original's timing when `paced` (streams). A miss the policies
    let store is recorded and stored once it finished successfully. Front doors share this,
    streaming or not."""
    spec = chat.model.spec
    store = cache or semantic
    ttl_s = (
        spec.cache_ttl_s if store is None or spec.cache_ttl_s is not None else (store.default_ttl_s)
    )
    exact_on = cache is not None and policy.used and bool(ttl_s)
    probe = None
    if semantic is not None and semantic_policy.used and ttl_s:
        query = semantic_query(spec.name, chat.conversation, chat.sampling, tenant)
        probe = SemanticProbe(query) if query is not None else None
    if store is None or not ttl_s or not (exact_on or probe):
        if store is not None:
            store.metrics.requests.labels(spec.name, "bypass").inc()
        return CachedGeneration(events, "bypass")
    key = exact_cache_key(spec.name, chat.conversation, chat.sampling, tenant)
    recorded = await cache.get(key) if cache is not None and exact_on and policy.lookup else None
    outcome: CacheOutcome = "hit_exact"
    replay_max_ms = cache.replay_max_ms if cache is not None else None
    if recorded is None and probe is not None and semantic is not None:
        hit = await semantic.lookup(probe) if semantic_policy.lookup else None
        recorded, outcome, replay_max_ms = (
            (hit.events, "hit_semantic", semantic.replay_max_ms) if hit else (None, outcome, None)
        )
    if recorded is not None:
        await events.aclose()  # never started: the engine was not asked
        store.metrics.requests.labels(spec.name, outcome).inc()
        finished = recorded[-1][1]
        usage = finished.usage if isinstance(finished, Finished) else None
        replayed = replay(recorded, replay_max_ms if paced else None)
        return CachedGeneration(replayed, outcome, usage)
    looked_up = (exact_on and policy.lookup) or (probe is not None and semantic_policy.lookup)
    outcome = "miss" if looked_up else "bypass"
    store.metrics.requests.labels(spec.name, outcome).inc()
    stores: list[Callable[[list[TimedEvent]], None]] = []
    if cache is not None and exact_on and policy.store:
        stores.append(partial(cache.store_later, key, ttl_s=ttl_s))
    if semantic is not None and probe is not None and semantic_policy.store:
        stores.append(partial(semantic.store_later, probe, ttl_s=ttl_s))
    if stores:
        events = _recorded(events, stores)
    return CachedGeneration(events, outcome)


class CacheObserver(GenerationObserver, Protocol):
    """A generation observer told how the cache served the request (`RequestTracker`)."""

    def cache_consulted(self, outcome: str | None, usage: Usage | None) -> None: ...


async def cached_chat(
    cache: ExactCache | None,
    chat: ChatRequest,
    observer: CacheObserver,
    policy: CachePolicy,
    *,
    paced: bool,
    tenant: str | None = None,
    semantic: SemanticCache | None = None,
    semantic_policy: CachePolicy = BYPASS,
) -> CachedGeneration:
    """`generate_chat` behind the caches, for every front door, streaming or not."""
    generation = await cached_events(
        cache,
        chat,
        generate_chat(chat, observer),
        policy,
        paced=paced,
        tenant=tenant,
        semantic=semantic,
        semantic_policy=semantic_policy,
    )
    observer.cache_consulted(generation.log_outcome, generation.usage)
    return generation


async def _recorded(
    events: AsyncGenerator[ChatEvent, None], stores: list[Callable[[list[TimedEvent]], None]]
) -> AsyncGenerator[ChatEvent, None]:
    """Pass `events` through; once they ended with `Finished` (no error, no cancellation),
    hand them with their times to each of `stores`."""
    started = time.perf_counter()
    recording: list[TimedEvent] = []
    try:
        async for event in events:
            recording.append(((time.perf_counter() - started) * 1000, event))
            yield event
    finally:
        await events.aclose()
    if recording and isinstance(recording[-1][1], Finished):
        for store in stores:
            store(recording)
