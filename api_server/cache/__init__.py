"""The response caches: which requests may use them (`policy`), the exact cache's key
(`keys`) and Redis store (`exact`), the semantic cache in Qdrant (`semantic`), how a
generation is recorded and replayed (`stored_events`), and which of them answers (`layered`)."""

from api_server.cache.exact import ExactCache
from api_server.cache.exact_key import exact_cache_key
from api_server.cache.layered import CachedGeneration, cached_events
from api_server.cache.policy import CachePolicy, cache_policy

__all__ = [
    "CachePolicy",
    "CachedGeneration",
    "ExactCache",
    "cache_policy",
    "cached_events",
    "exact_cache_key",
]
