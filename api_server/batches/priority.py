"""Batch lines run at the lowest priority. In each gateway process, per model:

- at most `per_model` batch lines at once (`batch_max_concurrency_per_model`), whatever
  number of batches of that model are running;
- a line starts only while the model's interactive requests in flight here (the engine
  pool's in-flight count less this process's own batch lines) are at most `threshold`
  (`batch_interactive_threshold`); otherwise it waits, checking again every `poll_s`.

A line already running is never pre-empted: interactive traffic waits for at most
`per_model` batch lines per process, and the engines' own continuous batching serves both.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable

InFlight = Callable[[str], int]  # a model's requests in flight at its engines, here


class BatchSlots:
    def __init__(
        self,
        per_model: int,
        threshold: int,
        in_flight: InFlight,
        *,
        poll_s: float = 0.05,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.per_model = per_model
        self.threshold = threshold
        self._in_flight = in_flight
        self._poll_s = poll_s
        self._sleep = sleep
        self.running: Counter[str] = Counter()

    def interactive(self, model: str) -> int:
        """The model's requests in flight that are not batch lines (approximately: a batch
        line is counted from its start, before it reaches the engine)."""
        return max(0, self._in_flight(model) - self.running[model])

    def may_start(self, model: str) -> bool:
        return self.running[model] < self.per_model and self.interactive(model) <= self.threshold

    async def acquire(self, model: str, stopping: Callable[[], bool]) -> bool:
        """Wait for a slot; False (no slot taken) once `stopping` says so."""
        while not stopping():
            if self.may_start(model):  # no await between the check and the count
                self.running[model] += 1
                return True
            await self._sleep(self._poll_s)
        return False

    def release(self, model: str) -> None:
        self.running[model] -= 1
        if self.running[model] <= 0:
            del self.running[model]
