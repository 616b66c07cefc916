"""Writes to a backing service started off the request path (the client has its answer
already): held until they end, since the event loop keeps only weak references to tasks,
bounded so that a slow service sheds writes rather than piling up tasks, and drained at
shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


class BackgroundWrites:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._pending: set[asyncio.Task[None]] = set()

    def start(self, write: Coroutine[Any, Any, None]) -> bool:
        """Run `write` in the background; False (and `write` closed unrun) when `limit`
        writes are under way already or no event loop runs (interpreter shutdown)."""
        if len(self._pending) >= self.limit:
            write.close()
            return False
        try:
            task = asyncio.get_running_loop().create_task(write)
        except RuntimeError:
            write.close()
            return False
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        return True

    def __len__(self) -> int:
        return len(self._pending)

    async def drain(self) -> None:
        """Wait for every write started, those started meanwhile included."""
        while self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
