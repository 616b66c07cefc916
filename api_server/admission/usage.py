"""Attained service: the tokens each tenant was served over a sliding window, which the fair
queue serves least-first. Counted in this process, at each request's end, from the prompt and
completion tokens its log row holds.

Per process on purpose: the choice is made on every freed slot, on the event loop, so it
cannot wait for Redis; with several gateway processes each sees about the same share of
every tenant's traffic, so each one's ranking is the same as a shared one's would be.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable


class AttainedService:
    """Tokens served per tenant in the last `window_s` seconds of `clock` (monotonic).

    One deque of charges in time order for every tenant together: expiring the oldest is
    O(1) each, and a tenant gone quiet leaves nothing behind once its charges expire."""

    def __init__(self, window_s: float, clock: Callable[[], float]) -> None:
        self.window_s = window_s
        self._clock = clock
        self._charges: deque[tuple[float, str, int]] = deque()
        self._totals: dict[str, int] = {}

    def add(self, tenant: str, tokens: int) -> None:
        self._expire()
        if tokens > 0:
            self._charges.append((self._clock(), tenant, tokens))
            self._totals[tenant] = self._totals.get(tenant, 0) + tokens

    def of(self, tenant: str) -> int:
        self._expire()
        return self._totals.get(tenant, 0)

    def tenants(self) -> int:
        """How many tenants have tokens in the window."""
        self._expire()
        return len(self._totals)

    def tenant_names(self) -> set[str]:
        """The tenants with tokens in the window."""
        self._expire()
        return set(self._totals)

    def _expire(self) -> None:
        oldest_kept = self._clock() - self.window_s
        charges, totals = self._charges, self._totals
        while charges and charges[0][0] <= oldest_kept:
            _, tenant, tokens = charges.popleft()
            left = totals[tenant] - tokens
            if left:
                totals[tenant] = left
            else:
                del totals[tenant]
