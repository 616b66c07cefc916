"""Attained service as virtual token counters, which the fair queue serves least-first.

The Virtual Token Counter of Sheng et al., "Fairness in Serving Large Language Models"
(OSDI 2024): each tenant's counter grows by the tokens it is served (prompt and completion,
from the request's log row, at its end). A tenant that arrives with nothing waiting is
lifted level with the tenants waiting (the least of their counters) or, with nobody
waiting, with the tenant admitted last: time spent idle is no credit, and being served
while nobody else wanted the model is no debt. A light tenant that starts beside a heavy
one is therefore served first at once, whatever either did before, and the counters of
tenants competing never drift apart by more than about one request's tokens.

A tenant quiet for `forget_after_s` is forgotten (it comes back level with the others, as
anyone new does), so memory follows the tenants active lately.

Per process on purpose: the choice is made on every freed slot, on the event loop, so it
cannot wait for Redis; with several gateway processes each sees about the same share of
every tenant's traffic, so each one's ranking is the same as a shared one's would be.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable


class ServiceCounters:
    """Virtual token counters per tenant, on `clock` (monotonic seconds)."""

    def __init__(self, forget_after_s: float, clock: Callable[[], float]) -> None:
        self.forget_after_s = forget_after_s
        self._clock = clock
        # tenant → (counter, last seen); least recently seen first, for O(1) forgetting.
        self._tenants: OrderedDict[str, tuple[int, float]] = OrderedDict()
        self._level = 0  # the counter of the tenant admitted last

    def arrive(self, tenant: str, waiting: Iterable[str]) -> None:
        """`tenant` sends a request while it has none waiting; `waiting`: the tenants
        that do have some waiting."""
        self._forget()
        floor = min((self.of(other) for other in waiting if other != tenant), default=None)
        self._set(tenant, max(self.of(tenant), self._level if floor is None else floor))

    def admitted(self, tenant: str) -> None:
        """One of `tenant`'s requests got a slot: where the next arrival to an empty
        queue starts."""
        self._level = self.of(tenant)

    def charge(self, tenant: str, tokens: int) -> None:
        """`tokens` served to `tenant` (a request ended). One forgotten while its request
        ran picks up where the others are."""
        self._forget()
        start = self._tenants[tenant][0] if tenant in self._tenants else self._level
        self._set(tenant, start + max(tokens, 0))

    def of(self, tenant: str) -> int:
        entry = self._tenants.get(tenant)
        return entry[0] if entry is not None else 0

    def tenant_names(self) -> set[str]:
        """The tenants seen within `forget_after_s`."""
        self._forget()
        return set(self._tenants)

    def _set(self, tenant: str, counter: int) -> None:
        self._tenants[tenant] = (counter, self._clock())
        self._tenants.move_to_end(tenant)

    def _forget(self) -> None:
        oldest_kept = self._clock() - self.forget_after_s
        tenants = self._tenants
        while tenants:
            tenant, (_, seen) = next(iter(tenants.items()))
            if seen > oldest_kept:
                return
            del tenants[tenant]
