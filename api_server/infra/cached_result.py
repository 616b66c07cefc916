"""An async answer kept for a short time and computed by one caller at a time: a burst of
health checks costs the database one query, not one each."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class CachedResult(Generic[T]):
    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self.computed = 0  # how many times `compute` ran (tests)
        self._value: tuple[float, T] | None = None
        self._running: asyncio.Task[T] | None = None

    async def get(self, compute: Callable[[], Awaitable[T]]) -> T:
        """The cached answer while fresh; else `compute`'s, shared with callers that ask
        while it runs. `compute` must bound its own time and not raise."""
        if self._value is not None and time.monotonic() < self._value[0]:
            return self._value[1]
        if self._running is None:
            self.computed += 1
            self._running = asyncio.ensure_future(compute())
            self._running.add_done_callback(self._store)
        return await asyncio.shield(self._running)  # one caller leaving cancels nothing

    def _store(self, task: asyncio.Task[T]) -> None:
        self._running = None
        if not task.cancelled() and task.exception() is None:
            self._value = (time.monotonic() + self.ttl_s, task.result())
