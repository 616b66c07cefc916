"""The exact cache's store: a finished generation's events kept in Redis under a key of
its request (`cache.layered` decides when it is asked, and replays what it holds).

The cache is an optimisation only: Redis down, slow or holding garbage means a miss (counted
in `inferstack_cache_errors_total`), never a failed request. Lookups are bounded by a timeout
of a few milliseconds; stores run after the response, off the request path, and are dropped
when too many are already waiting.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any, Protocol

from redis.exceptions import RedisError

from api_server.background_writes import BackgroundWrites
from api_server.cache.stored_events import (
    RecordingError,
    TimedEvent,
    decode_recording,
    encode_recording,
)
from api_server.metrics import CacheMetrics

logger = logging.getLogger(__name__)

_FAILURES = (RedisError, OSError, TimeoutError)


class AsyncKeyValue(Protocol):
    """What the cache needs of `redis.asyncio.Redis` (tests pass a dict-backed fake)."""

    def get(self, name: str) -> Awaitable[Any]: ...
    def set(self, name: str, value: bytes, ex: int | None = None) -> Awaitable[Any]: ...


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
        self._stores = BackgroundWrites(limit=max_pending_stores)

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
        if not self._stores.start(self._store(key, encode_recording(events), ttl_s)):
            self._failed("store_dropped", None)

    async def drain(self) -> None:
        """Wait for the stores already started (shutdown, tests)."""
        await self._stores.drain()

    async def _store(self, key: str, payload: bytes, ttl_s: int) -> None:
        try:
            async with asyncio.timeout(self.timeout_s):
                await self.redis.set(key, payload, ex=ttl_s)
        except _FAILURES as exc:
            self._failed("store", exc)

    def _failed(self, operation: str, exc: BaseException | None) -> None:
        self.metrics.errors.labels(operation).inc()
        logger.debug("cache %s failed: %r", operation, exc)
