"""Routing memory shared by gateway processes through Redis: which replica served a prompt
prefix or a session last, and which replica's breaker one of them opened, so that the next
turn of a conversation finds its replica whichever worker takes it.

Each process keeps its own bounded index (`prefix_index`) and consults this only for what
that index lacks: one MGET per request, bounded by `redis_timeout_s`; Redis slow or down
means routing on what this process knows, never a failed request. Writes are off the
request path. Entries expire after `ttl_s`, which bounds what Redis holds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from api_server.background_writes import BackgroundWrites

logger = logging.getLogger(__name__)

_FAILURES = (RedisError, OSError, TimeoutError)
_MAX_PENDING_WRITES = 256


@dataclass(frozen=True, slots=True)
class Recalled:
    """What other processes knew: the deepest prefix (blocks, replica), the session's
    replica, and the replicas whose breakers they opened."""

    prefix: tuple[int, int] | None = None
    session: int | None = None
    tripped: tuple[int, ...] = ()


NOTHING_RECALLED = Recalled()


class SharedRoutes:
    def __init__(
        self,
        redis: aioredis.Redis,
        model: str,
        replicas: int,
        *,
        timeout_s: float,
        ttl_s: int,
        open_s: float,
    ) -> None:
        self.redis = redis
        self.replicas = replicas
        self.timeout_s = timeout_s
        self.ttl_s = ttl_s
        self.open_s = open_s
        self._prefix = f"isk:route:{model}:"
        # Routing memory is a hint: with Redis behind, writes are dropped, not queued.
        self._writes = BackgroundWrites(limit=_MAX_PENDING_WRITES)

    async def recall(self, keys: Sequence[int], known: int, session: int | None) -> Recalled:
        """Look up `keys` beyond the `known` blocks this process holds, the session, and
        every replica's breaker."""
        names = [self._name("p", key) for key in keys[known:]]
        if session is not None:
            names.append(self._name("s", session))
        names.extend(self._breaker(index) for index in range(self.replicas))
        try:
            async with asyncio.timeout(self.timeout_s):
                values = await self.redis.mget(names)
        except _FAILURES as exc:
            logger.debug("shared routes unavailable (routing on local knowledge): %r", exc)
            return NOTHING_RECALLED
        prefix_values = values[: len(keys) - known]
        prefix = None
        for depth in range(len(prefix_values), 0, -1):
            owner = self._replica(prefix_values[depth - 1])
            if owner is not None:
                prefix = (known + depth, owner)
                break
        session_owner = self._replica(values[len(prefix_values)]) if session is not None else None
        breakers = values[len(values) - self.replicas :]
        tripped = tuple(index for index, value in enumerate(breakers) if value is not None)
        return Recalled(prefix, session_owner, tripped)

    def remember(self, keys: Sequence[int], session: int | None, replica: int) -> None:
        """`replica` now holds these prefixes (and the session)."""
        names = [self._name("p", key) for key in keys]
        if session is not None:
            names.append(self._name("s", session))
        if names:
            self._write(names, str(replica), self.ttl_s)

    def tripped(self, replica: int) -> None:
        """This process opened `replica`'s breaker: the others skip it for as long."""
        self._write([self._breaker(replica)], "1", max(1, round(self.open_s)))

    async def drain(self) -> None:
        await self._writes.drain()

    def _write(self, names: list[str], value: str, ttl_s: int) -> None:
        self._writes.start(self._set(names, value, ttl_s))

    async def _set(self, names: list[str], value: str, ttl_s: int) -> None:
        try:
            async with asyncio.timeout(self.timeout_s * 4):
                pipe = self.redis.pipeline(transaction=False)
                for name in names:
                    pipe.set(name, value, ex=ttl_s)
                await pipe.execute()
        except _FAILURES as exc:
            logger.debug("shared routes not written: %r", exc)

    def _name(self, kind: str, key: int) -> str:
        return f"{self._prefix}{kind}:{key:016x}"

    def _breaker(self, replica: int) -> str:
        return f"{self._prefix}breaker:{replica}"

    def _replica(self, value: bytes | str | None) -> int | None:
        try:
            replica = int(value) if value is not None else -1
        except ValueError:
            return None
        return replica if 0 <= replica < self.replicas else None
