"""The per-model concurrency safety valve (`max_concurrency` in the registry).

In-process on purpose: it protects the engines from one gateway process's burst without a
Redis round trip, so the effective limit is max_concurrency x gateway processes.
"""

from __future__ import annotations

from collections import Counter


class ModelConcurrency:
    """Counts the requests each model is serving; `try_acquire` refuses past the limit
    instead of queueing (a queue would hide overload from the client)."""

    def __init__(self) -> None:
        self.in_flight: Counter[str] = Counter()

    def try_acquire(self, model: str, limit: int | None) -> bool:
        if limit is not None and self.in_flight[model] >= limit:
            return False
        self.in_flight[model] += 1
        return True

    def release(self, model: str) -> None:
        self.in_flight[model] -= 1
        if self.in_flight[model] <= 0:
            del self.in_flight[model]
