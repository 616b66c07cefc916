"""The exact response cache in Redis: which requests may use it (`policy`), the key
(`keys`), how a generation is stored and replayed (`recording`), and the cache itself
(`exact`)."""

from api_server.cache.exact import CachedGeneration, ExactCache, cached_chat, cached_events
from api_server.cache.keys import exact_cache_key
from api_server.cache.policy import CachePolicy, cache_policy

__all__ = [
    "CachePolicy",
    "CachedGeneration",
    "ExactCache",
    "cache_policy",
    "cached_chat",
    "cached_events",
    "exact_cache_key",
]
