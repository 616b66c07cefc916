"""One claimed batch being worked on, and why its run stops.

The stronger reason wins. A cancel lets the lines in flight finish and starts no more;
from an expiry up, the lines in flight are cut off; from a lost lease up the run ends
without finalizing (another runner, or this one later, carries on).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from api_server.batchstore.records import BatchRecord

Clock = Callable[[], float]
StopReason = Literal["cancelled", "expired", "input_missing", "lost", "storage", "shutdown"]
_RANK: dict[StopReason, int] = {
    "input_missing": 1,
    "cancelled": 2,
    "expired": 3,
    "lost": 4,
    "storage": 4,
    "shutdown": 4,
}


@dataclass(eq=False)
class BatchRun:
    """One claimed batch being worked on: its lines and result writes in flight, and the
    reason it stops once it does."""

    record: BatchRecord
    reason: StopReason | None = None
    lines: set[asyncio.Task[None]] = field(default_factory=set)
    writes: set[asyncio.Task[str | None]] = field(default_factory=set)
    stopped: asyncio.Event = field(default_factory=asyncio.Event)

    def stop(self, reason: StopReason) -> None:
        if self.reason is None or _RANK[reason] > _RANK[self.reason]:
            self.reason = reason
        self.stopped.set()
        if _RANK[reason] >= _RANK["expired"]:
            for task in self.lines:
                task.cancel()

    def stopping(self) -> bool:
        return self.reason is not None

    @property
    def abandoned(self) -> bool:
        """Ended without finalizing: another runner carries on."""
        return self.reason is not None and _RANK[self.reason] >= _RANK["lost"]
