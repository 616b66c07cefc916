"""Exact, then semantic, then generate: which cache answers a chat, if any, and the
recording of a miss for both. The generation is an argument (not yet started), so the
caches never call the engine themselves.

The caches are an optimisation only: Redis or Qdrant down, slow or holding garbage means a
miss, never a failed request. Lookups are bounded by a timeout of a few milliseconds; stores
run after the response, off the request path, and are dropped when too many are waiting.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from functools import partial
from typing import Literal

from api_server.cache.exact import ExactCache
from api_server.cache.exact_key import exact_cache_key
from api_server.cache.policy import BYPASS, CachePolicy
from api_server.cache.semantic import SemanticCache, SemanticProbe, semantic_query
from api_server.cache.stored_events import TimedEvent, replay
from api_server.chat.events import ChatEvent, Finished, Usage
from api_server.generation.request import ChatRequest

CacheOutcome = Literal["hit_exact", "hit_semantic", "miss", "bypass"]
_X_CACHE: dict[CacheOutcome, str] = {
    "hit_exact": "HIT",
    "hit_semantic": "HIT",
    "miss": "MISS",
    "bypass": "BYPASS",
}


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


async def cached_events(
    cache: ExactCache | None,
    chat: ChatRequest,
    events: AsyncGenerator[ChatEvent, None],
    policy: CachePolicy,
    *,
    paced: bool,
    metric_name: str,
    tenant: str | None = None,
    semantic: SemanticCache | None = None,
    semantic_policy: CachePolicy = BYPASS,
) -> CachedGeneration:
    """`events` (the engine's, not yet started) when neither cache has an answer for `chat`
    (the exact cache first, then the semantic one when its policy allows), else the cached
    answer replayed, with the original's timing when `paced` (streams). A miss the policies
    let store is recorded and stored once it finished successfully. Front doors share this,
    streaming or not. `metric_name` labels the cache's metrics: the registry's bounded
    accounting name, never the client's (a proxy takes any model name)."""
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
            store.metrics.requests.labels(metric_name, "bypass").inc()
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
        store.metrics.requests.labels(metric_name, outcome).inc()
        finished = recorded[-1][1]
        usage = finished.usage if isinstance(finished, Finished) else None
        replayed = replay(recorded, replay_max_ms if paced else None)
        return CachedGeneration(replayed, outcome, usage)
    looked_up = (exact_on and policy.lookup) or (probe is not None and semantic_policy.lookup)
    outcome = "miss" if looked_up else "bypass"
    store.metrics.requests.labels(metric_name, outcome).inc()
    stores: list[Callable[[list[TimedEvent]], None]] = []
    if cache is not None and exact_on and policy.store:
        stores.append(partial(cache.store_later, key, ttl_s=ttl_s))
    if semantic is not None and probe is not None and semantic_policy.store:
        stores.append(partial(semantic.store_later, probe, ttl_s=ttl_s))
    if stores:
        events = _recorded(events, stores)
    return CachedGeneration(events, outcome)


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
