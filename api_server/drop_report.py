"""Loud but bounded reporting of things dropped under load: count every one, log at most once
per interval (a full queue means heavy load; a line per request would make it worse)."""

from __future__ import annotations

import time
from collections.abc import Callable


class DropReport:
    def __init__(
        self, interval_s: float = 10.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.interval_s = interval_s
        self._clock = clock
        self.unreported = 0
        self._reported_at = float("-inf")

    def add(self, count: int = 1) -> int | None:
        """Count `count` drops; the number to log now, or None within the interval."""
        self.unreported += count
        now = self._clock()
        if now - self._reported_at < self.interval_s:
            return None
        self._reported_at = now
        return self.take()

    def take(self) -> int:
        """Everything not yet reported (e.g. at shutdown), and start again from zero."""
        count, self.unreported = self.unreported, 0
        return count
