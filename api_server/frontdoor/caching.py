"""A front door's chat behind the caches: generated (local engine or hosted upstream) only
when neither cache has its answer; the tracker told how it was served."""

from __future__ import annotations

from typing import Protocol

from api_server.cache.exact import ExactCache
from api_server.cache.layered import CachedGeneration, cached_events
from api_server.cache.policy import BYPASS, CachePolicy
from api_server.cache.semantic import SemanticCache
from api_server.chat.events import Usage
from api_server.frontdoor.generation import generate_chat
from api_server.generation.request import ChatRequest, GenerationObserver


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
    metric_name: str,
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
        metric_name=metric_name,
        tenant=tenant,
        semantic=semantic,
        semantic_policy=semantic_policy,
    )
    observer.cache_consulted(generation.log_outcome, generation.usage)
    return generation
