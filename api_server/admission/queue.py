"""One model's admission queue in one gateway process: while every replica of the model is
busy, requests wait here instead of piling into the engines' own first-come queues.

Who goes next, whenever a slot frees (a request ends) or the engines' signals change: the
highest priority class first; within a class the tenant with the lowest virtual token
counter (least attained service: `usage.ServiceCounters`), then the one with the fewest
requests in service now; first come, first served within a tenant. Waiting is bounded:
past `max_depth` waiting requests a newcomer is refused at once (QueueFullError, 429), and
a request that waited `max_wait_s`, or until its own deadline, is refused then
(QueueTimeoutError, 503); both carry a Retry-After estimated from how long requests have
been holding their slots.

A slot is handed over at the moment it is granted: the queue counts it as taken from then
until `Slot.release`, and a waiter cancelled (its client left) after being granted gives it
straight back, so no cancellation ever leaks one.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from api_server.admission.priority import rank
from api_server.admission.usage import ServiceCounters
from api_server.errors import QueueFullError, QueueTimeoutError
from api_server.priority_classes import PRIORITY_CLASSES, PriorityClass

FreeSlots = Callable[[int], int | None]
"""How many more requests the model's replicas take now, given how many this queue has let
in that have not ended; None: no limit is known, so nobody waits."""

# How much each finished request moves the mean hold time (an exponential average).
_HOLD_WEIGHT = 0.2
# A waiter gives up this long before its request's own deadline, so that the client hears
# this queue's 503 with Retry-After rather than the request timeout's 504 firing first.
_BEFORE_DEADLINE_S = 0.01
_RETRY_AFTER_MAX_S = 60.0


class QueueObserver(Protocol):
    """Told how long each admitted request waited, and why one was refused or left
    (`full`, `timeout`, `client_gone`): the queue's metrics."""

    def waited(self, model: str, priority: PriorityClass, seconds: float) -> None: ...
    def refused(self, model: str, priority: PriorityClass, reason: str) -> None: ...


class Slot:
    """A request's hold on one of its model's slots, from its grant until `release`."""

    __slots__ = ("_held", "granted_at", "priority", "queue", "tenant", "waited_s")

    def __init__(
        self,
        queue: FairQueue,
        tenant: str,
        priority: PriorityClass,
        granted_at: float,
        waited_s: float,
    ) -> None:
        self.queue = queue
        self.tenant = tenant
        self.priority = priority
        self.granted_at = granted_at
        self.waited_s = waited_s
        self._held = True

    def release(self, tokens: int = 0) -> None:
        """Give the slot back (once; later calls do nothing), charging the tenant `tokens`
        of attained service, and let the next waiter in."""
        if self._held:
            self._held = False
            self.queue.released(self, tokens)


@dataclass(eq=False, slots=True)
class _Waiter:
    tenant: str
    priority: PriorityClass
    sequence: int
    enqueued_at: float
    granted: asyncio.Future[Slot]


class FairQueue:
    def __init__(
        self,
        model: str,
        free_slots: FreeSlots,
        *,
        max_depth: int,
        max_wait_s: float | None,
        usage: ServiceCounters,
        observer: QueueObserver,
        recheck_s: float,
        reserved: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`recheck_s`: how often a waiter asks `free_slots` again on its own, for capacity
        that appears without a request ending (an engine's queue drained). `reserved`: the
        last free slots a tenant already in service may not take while a tenant served less
        is active (seen within the fairness window, or in service): a lighter tenant's next request
        finds a slot at once instead of waiting for a heavy one's to end."""
        self.model = model
        self._free_slots = free_slots
        self.max_depth = max_depth
        self.max_wait_s = max_wait_s
        self.usage = usage
        self._observer = observer
        self._recheck_s = recheck_s
        self.reserved = reserved
        self._clock = clock
        self.waiting: list[_Waiter] = []
        self.admitted = 0  # slots granted and not yet released
        self.in_service: Counter[str] = Counter()  # the same, per tenant
        self.mean_hold_s: float | None = None
        self._sequence = itertools.count()

    def depth(self, priority: PriorityClass) -> int:
        return sum(1 for waiter in self.waiting if waiter.priority == priority)

    async def acquire(
        self, tenant: str, priority: PriorityClass, deadline_at: float | None = None
    ) -> Slot:
        """A slot for one request: at once while the replicas have room and nobody waits,
        else after waiting its turn. `deadline_at` (the event loop's clock): the request's
        own deadline, which bounds the wait when sooner than the queue's maximum."""
        waiting_tenants = {waiter.tenant for waiter in self.waiting}
        if tenant not in waiting_tenants:
            self.usage.arrive(tenant, waiting_tenants)
        if not self.waiting and self._may_take(tenant, self._room()):
            return self._take(tenant, priority, waited_s=0.0)
        if len(self.waiting) >= self.max_depth:
            self._observer.refused(self.model, priority, "full")
            raise QueueFullError(
                f"The model {self.model!r} is busy and its queue is full; retry after the "
                "Retry-After delay",
                retry_after_s=self.retry_after_s(),
            )
        loop = asyncio.get_running_loop()
        give_up_at = self._give_up_at(loop.time(), deadline_at)
        waiter = _Waiter(
            tenant, priority, next(self._sequence), self._clock(), loop.create_future()
        )
        self.waiting.append(waiter)
        self.dispatch()  # the newcomer may be the one to go, if there is room
        give_up = asyncio.timeout_at(give_up_at)
        try:
            async with give_up:
                while not waiter.granted.done():
                    # asyncio.wait leaves the future alone when it times out or is cancelled.
                    await asyncio.wait((waiter.granted,), timeout=self._recheck_s)
                    if not waiter.granted.done():
                        self.dispatch()
        except BaseException as exc:
            if waiter.granted.done():  # granted just as it gave up or was cancelled
                if isinstance(exc, TimeoutError):
                    return waiter.granted.result()  # in time after all: serve it
                waiter.granted.result().release()
                raise
            self.waiting.remove(waiter)
            # Its own time ran out: that is why it stops, even when the request's deadline
            # cancelled it in the same turn of a stalled event loop (then the cancel arrives
            # as CancelledError, which this answer replaces).
            if isinstance(exc, TimeoutError) or give_up.expired():
                self._observer.refused(self.model, priority, "timeout")
                raise QueueTimeoutError(
                    f"The model {self.model!r} stayed busy for as long as this request may "
                    "wait; retry after the Retry-After delay",
                    retry_after_s=self.retry_after_s(),
                ) from None
            self._observer.refused(self.model, priority, "client_gone")
            raise
        return waiter.granted.result()

    def dispatch(self) -> None:
        """Grant slots to the best waiters while the replicas have room."""
        while self.waiting:
            chosen = min(self.waiting, key=self._turn)
            if not self._may_take(chosen.tenant, self._room()):
                return  # whoever is next cannot: the others are served more, or no room
            self.waiting.remove(chosen)
            waited_s = self._clock() - chosen.enqueued_at
            chosen.granted.set_result(self._take(chosen.tenant, chosen.priority, waited_s))

    def released(self, slot: Slot, tokens: int) -> None:
        self.admitted -= 1
        self.in_service[slot.tenant] -= 1
        if self.in_service[slot.tenant] <= 0:
            del self.in_service[slot.tenant]
        self.usage.charge(slot.tenant, tokens)
        held_s = self._clock() - slot.granted_at
        self.mean_hold_s = (
            held_s
            if self.mean_hold_s is None
            else (1 - _HOLD_WEIGHT) * self.mean_hold_s + _HOLD_WEIGHT * held_s
        )
        self.dispatch()

    def _give_up_at(self, now: float, deadline_at: float | None) -> float | None:
        """The sooner of the queue's maximum wait and the request's deadline; None: neither
        bounds it (only the queue's depth does)."""
        bounds = []
        if self.max_wait_s is not None:
            bounds.append(now + self.max_wait_s)
        if deadline_at is not None:
            bounds.append(deadline_at - _BEFORE_DEADLINE_S)
        return min(bounds, default=None)

    def retry_after_s(self) -> float:
        """When a refused request might find room: the waiters ahead of it served
        `admitted` at a time, each holding its slot the mean hold time; 1 s before any
        request has ended."""
        if self.mean_hold_s is None or self.admitted <= 0:
            return 1.0
        estimate = self.mean_hold_s * (len(self.waiting) + 1) / self.admitted
        return min(max(estimate, 1.0), _RETRY_AFTER_MAX_S)

    def _room(self) -> int | None:
        """Free slots now (None: unlimited); never negative."""
        free = self._free_slots(self.admitted)
        return None if free is None else max(free, 0)

    def _may_take(self, tenant: str, room: int | None) -> bool:
        if room is None or room > self.reserved:
            return True
        if room == 0:
            return False
        # One of the reserved last slots: not for a tenant already served while another,
        # served less, is active (one request in service is always allowed, so a model
        # with a single slot still serves everyone in turn).
        if not self.in_service[tenant]:
            return True
        served = self.usage.of(tenant)
        active = self.usage.tenant_names() | set(self.in_service)
        return all(served <= self.usage.of(other) for other in active - {tenant})

    def _turn(self, waiter: _Waiter) -> tuple[int, int, int, int]:
        return (
            rank(waiter.priority),
            self.usage.of(waiter.tenant),
            self.in_service[waiter.tenant],
            waiter.sequence,
        )

    def _take(self, tenant: str, priority: PriorityClass, waited_s: float) -> Slot:
        self.admitted += 1
        self.in_service[tenant] += 1
        self.usage.admitted(tenant)
        self._observer.waited(self.model, priority, waited_s)
        return Slot(self, tenant, priority, self._clock(), waited_s)


def waiting_by_class(queue: FairQueue) -> dict[PriorityClass, int]:
    """Each class's waiting requests, every class present (a gauge of 0 is a reading)."""
    return {priority: queue.depth(priority) for priority in PRIORITY_CLASSES}
