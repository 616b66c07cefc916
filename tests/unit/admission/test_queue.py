"""The fair queue on a real event loop: who goes next (priority, then least attained service,
then fewest in service, then first come), its bounds (429 full, 503 timeout, with
Retry-After), and that a waiter leaving, at any point, never leaks a slot."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
from prometheus_client import CollectorRegistry

from api_server.admission.metrics import AdmissionMetrics
from api_server.admission.queue import FairQueue, Slot, waiting_by_class
from api_server.admission.usage import ServiceCounters
from api_server.errors import QueueFullError, QueueTimeoutError
from api_server.priority_classes import PriorityClass
from tests.unit.admission.clock import ManualClock


class Room:
    """The replicas' free slots as the test sets them: `slots` at once, or None (no limit)."""

    def __init__(self, slots: int | None) -> None:
        self.slots = slots

    def __call__(self, admitted: int) -> int | None:
        return None if self.slots is None else self.slots - admitted


def fair_queue(
    slots: int | None,
    *,
    max_depth: int = 10,
    max_wait_s: float | None = 60.0,
    recheck_s: float = 60.0,
    reserved: int = 0,
    clock: ManualClock | None = None,
) -> tuple[FairQueue, Room, CollectorRegistry]:
    registry = CollectorRegistry()
    room = Room(slots)
    clock = clock or ManualClock()
    queue = FairQueue(
        "m",
        room,
        max_depth=max_depth,
        max_wait_s=max_wait_s,
        usage=ServiceCounters(60.0, clock),
        observer=AdmissionMetrics(registry),
        recheck_s=recheck_s,
        reserved=reserved,
        clock=clock,
    )
    return queue, room, registry


async def until(condition: Callable[[], bool]) -> None:
    """Let the other tasks run until `condition` holds (each turn one pass of the loop)."""
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition never held")


def rejections(registry: CollectorRegistry, reason: str, priority: str = "normal") -> float:
    labels = {"model": "m", "priority": priority, "reason": reason}
    return registry.get_sample_value("inferstack_queue_rejections_total", labels) or 0.0


async def served_in_order(
    queue: FairQueue,
    holder: Slot,
    requests: list[tuple[str, str, PriorityClass]],
    tokens: int = 0,
) -> list[str]:
    """Queue `requests` (name, tenant, class) behind `holder`, then free the slot: each one
    served releases at once, charging `tokens`. Their names, in the order they got in."""
    order: list[str] = []

    async def one(name: str, tenant: str, priority: PriorityClass) -> None:
        slot = await queue.acquire(tenant, priority)
        order.append(name)
        slot.release(tokens)

    tasks = []
    for name, tenant, priority in requests:
        tasks.append(asyncio.create_task(one(name, tenant, priority)))
        await asyncio.sleep(0)  # one turn of the loop: it is in the queue, in this order
        assert len(queue.waiting) == len(tasks)
    holder.release()
    await asyncio.gather(*tasks)
    return order


async def test_a_model_with_room_admits_at_once_and_counts_its_slots() -> None:
    queue, _, registry = fair_queue(2)
    first = await queue.acquire("a", "normal")
    second = await queue.acquire("b", "normal")
    assert (queue.admitted, dict(queue.in_service)) == (2, {"a": 1, "b": 1})
    first.release(10)
    first.release(10)  # a stream and its caller may both report the end: once only
    assert (queue.admitted, queue.usage.of("a")) == (1, 10)
    second.release()
    assert queue.admitted == 0 and not queue.in_service
    waits = {"model": "m", "priority": "normal"}
    assert registry.get_sample_value("inferstack_queue_wait_seconds_count", waits) == 2


async def test_without_a_known_limit_nobody_waits() -> None:
    queue, _, _ = fair_queue(None)
    slots = [await queue.acquire("a", "low") for _ in range(50)]
    assert queue.admitted == 50 and not queue.waiting
    for slot in slots:
        slot.release()


async def test_higher_classes_go_first_then_first_come_within_a_class() -> None:
    queue, _, _ = fair_queue(1)
    holder = await queue.acquire("x", "normal")
    order = await served_in_order(
        queue,
        holder,
        [
            ("low-1", "a", "low"),
            ("normal-1", "a", "normal"),
            ("high-1", "a", "high"),
            ("normal-2", "a", "normal"),
            ("low-2", "a", "low"),
        ],
    )
    assert order == ["high-1", "normal-1", "normal-2", "low-1", "low-2"]


async def test_past_use_of_an_idle_model_is_no_debt() -> None:
    """A light tenant that had the model to itself, then starts beside a heavy one, waits
    about one request's tokens, not until the heavy one has caught up on its whole past."""
    queue, _, _ = fair_queue(1)
    for _ in range(10):
        (await queue.acquire("light", "normal")).release(100)
    holder = await queue.acquire("heavy", "normal")  # starts level with light's last admission
    order = await served_in_order(
        queue,
        holder,
        [("heavy-1", "heavy", "normal"), ("heavy-2", "heavy", "normal"),
         ("light-1", "light", "normal"), ("heavy-3", "heavy", "normal")],
        tokens=100,
    )  # fmt: skip
    assert order == ["heavy-1", "heavy-2", "light-1", "heavy-3"]


async def test_time_spent_idle_is_no_credit() -> None:
    """A tenant back from a quiet spell does not jump ahead of one served meanwhile."""
    queue, _, _ = fair_queue(1)
    (await queue.acquire("returning", "normal")).release(100)
    for _ in range(10):
        (await queue.acquire("busy", "normal")).release(100)
    holder = await queue.acquire("x", "normal")
    order = await served_in_order(
        queue,
        holder,
        [("busy-1", "busy", "normal"), ("returning-1", "returning", "normal"),
         ("busy-2", "busy", "normal")],
        tokens=100,
    )  # fmt: skip
    assert order == ["busy-1", "returning-1", "busy-2"]


async def test_tokens_charged_at_each_end_let_a_light_tenant_overtake_a_heavy_backlog() -> None:
    queue, _, _ = fair_queue(1)
    holder = await queue.acquire("x", "normal")
    requests: list[tuple[str, str, PriorityClass]] = [
        *((f"heavy-{i}", "heavy", "normal") for i in range(1, 6)),
        ("light-1", "light", "normal"),
        ("light-2", "light", "normal"),
    ]
    order = await served_in_order(queue, holder, requests, tokens=100)
    # heavy-1 came first; once charged, heavy waits behind light until light has been
    # served as much; a tie goes to the request that came first.
    assert order == ["heavy-1", "light-1", "heavy-2", "light-2", "heavy-3", "heavy-4", "heavy-5"]


async def test_a_class_outranks_attained_service() -> None:
    queue, _, _ = fair_queue(1)
    holder = await queue.acquire("x", "normal")
    order = await served_in_order(
        queue,
        holder,
        [("heavy-1", "heavy", "normal"), ("light-low", "light", "low"),
         ("heavy-2", "heavy", "normal")],
        tokens=5000,
    )  # fmt: skip
    assert order == ["heavy-1", "heavy-2", "light-low"]


async def test_with_equal_service_the_tenant_with_fewer_in_service_goes_first() -> None:
    queue, _, _ = fair_queue(2)
    busy = await queue.acquire("busy", "normal")  # still in service throughout
    holder = await queue.acquire("x", "normal")
    order = await served_in_order(
        queue, holder, [("busy-2", "busy", "normal"), ("idle-1", "idle", "normal")]
    )
    assert order == ["idle-1", "busy-2"]
    busy.release()


async def test_a_tenant_quiet_for_the_window_is_forgotten() -> None:
    clock = ManualClock()
    queue, _, _ = fair_queue(1, clock=clock)
    queue.usage.charge("old", 5000)
    clock.now += 61  # past the 60 s window: "old" is as fresh as anyone
    holder = await queue.acquire("x", "normal")
    order = await served_in_order(
        queue,
        holder,
        [("other-1", "other", "normal"), ("old-1", "old", "normal"),
         ("other-2", "other", "normal")],
        tokens=100,
    )  # fmt: skip
    assert order == ["other-1", "old-1", "other-2"]


async def test_a_full_queue_refuses_with_429_and_retry_after() -> None:
    queue, _, registry = fair_queue(1, max_depth=2)
    holder = await queue.acquire("x", "normal")
    waiting = [asyncio.create_task(queue.acquire("a", "normal")) for _ in range(2)]
    await until(lambda: len(queue.waiting) == 2)
    with pytest.raises(QueueFullError) as refused:
        await queue.acquire("b", "high")
    assert refused.value.status_code == 429 and refused.value.code == "queue_full"
    assert refused.value.retry_after_s == 1.0  # nothing has ended yet to estimate from
    assert rejections(registry, "full", "high") == 1
    holder.release()
    for task in waiting:  # one slot: each in turn
        (await task).release()
    assert queue.admitted == 0


async def test_no_depth_refuses_whoever_would_wait() -> None:
    queue, _, _ = fair_queue(1, max_depth=0)
    holder = await queue.acquire("x", "normal")
    with pytest.raises(QueueFullError):
        await queue.acquire("a", "normal")
    holder.release()
    (await queue.acquire("a", "normal")).release()


async def test_waiting_past_the_maximum_wait_is_a_503_with_retry_after() -> None:
    queue, _, registry = fair_queue(1, max_wait_s=0.01)
    holder = await queue.acquire("x", "normal")
    with pytest.raises(QueueTimeoutError) as refused:
        await queue.acquire("a", "low")
    assert refused.value.status_code == 503 and refused.value.code == "queue_timeout"
    assert refused.value.retry_after_s is not None and refused.value.retry_after_s >= 1
    assert rejections(registry, "timeout", "low") == 1
    assert not queue.waiting and queue.admitted == 1
    holder.release()
    assert queue.admitted == 0


async def test_the_requests_own_deadline_bounds_its_wait() -> None:
    queue, _, _ = fair_queue(1, max_wait_s=3600)
    holder = await queue.acquire("x", "normal")
    past = asyncio.get_running_loop().time()
    with pytest.raises(QueueTimeoutError):
        await queue.acquire("a", "normal", deadline_at=past)
    assert not queue.waiting
    holder.release()


async def test_without_a_maximum_a_request_waits_until_its_deadline() -> None:
    """No admission_queue_max_wait_s: the queue does not cut a wait the request's own
    timeout still allows (a burst on a slow engine is served, not refused)."""
    queue, _, _ = fair_queue(1, max_wait_s=None)
    holder = await queue.acquire("x", "normal")
    deadline = asyncio.get_running_loop().time() + 3600
    waiting = asyncio.create_task(queue.acquire("a", "normal", deadline_at=deadline))
    await until(lambda: len(queue.waiting) == 1)
    holder.release()
    (await waiting).release()
    assert queue.admitted == 0
    past = asyncio.get_running_loop().time()
    holder = await queue.acquire("x", "normal")
    with pytest.raises(QueueTimeoutError):
        await queue.acquire("a", "normal", deadline_at=past)
    holder.release()


async def test_its_own_timeout_wins_over_the_requests_deadline_in_the_same_turn() -> None:
    queue, _, _ = fair_queue(1)
    holder = await queue.acquire("x", "normal")
    deadline = asyncio.get_running_loop().time() + 0.05

    async def request() -> Slot:
        async with asyncio.timeout_at(deadline):  # as RequestDeadline enforces it
            return await queue.acquire("a", "normal", deadline_at=deadline)

    waiting = asyncio.create_task(request())
    await until(lambda: len(queue.waiting) == 1)
    # The event loop stalls (a loaded machine): both timers fire in one turn.
    time.sleep(0.1)  # noqa: ASYNC251
    with pytest.raises(QueueTimeoutError):
        await waiting
    assert not queue.waiting and queue.admitted == 1
    holder.release()


async def test_retry_after_estimates_from_how_long_slots_are_held() -> None:
    clock = ManualClock()
    queue, _, _ = fair_queue(2, max_depth=3, clock=clock)
    first = await queue.acquire("a", "normal")
    clock.now += 4
    first.release()  # held 4 s
    holders = [await queue.acquire("a", "normal") for _ in range(2)]
    waiting = [asyncio.create_task(queue.acquire("b", "normal")) for _ in range(3)]
    await until(lambda: len(queue.waiting) == 3)
    with pytest.raises(QueueFullError) as refused:
        await queue.acquire("c", "normal")
    assert refused.value.retry_after_s == pytest.approx(4 * (3 + 1) / 2)
    for slot in holders:
        slot.release()
    for task in waiting:
        (await task).release()


async def test_a_waiter_whose_client_leaves_leaves_the_queue_and_leaks_nothing() -> None:
    queue, _, registry = fair_queue(1)
    holder = await queue.acquire("x", "normal")
    leaving = asyncio.create_task(queue.acquire("a", "normal"))
    staying = asyncio.create_task(queue.acquire("b", "normal"))
    await until(lambda: len(queue.waiting) == 2)
    leaving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leaving
    assert [waiter.tenant for waiter in queue.waiting] == ["b"]
    assert rejections(registry, "client_gone") == 1
    holder.release()
    (await staying).release()
    assert queue.admitted == 0 and not queue.in_service and not queue.waiting


async def test_a_waiter_cancelled_just_after_its_grant_gives_the_slot_to_the_next() -> None:
    queue, _, _ = fair_queue(1)
    holder = await queue.acquire("x", "normal")
    granted_then_gone = asyncio.create_task(queue.acquire("a", "high"))
    next_in_line = asyncio.create_task(queue.acquire("b", "normal"))
    await until(lambda: len(queue.waiting) == 2)
    holder.release()  # grants "a" its slot, before its task has run again
    assert [waiter.tenant for waiter in queue.waiting] == ["b"] and queue.admitted == 1
    granted_then_gone.cancel()
    with pytest.raises(asyncio.CancelledError):
        await granted_then_gone
    slot = await next_in_line  # "a" gave its slot straight back
    assert slot.tenant == "b" and queue.admitted == 1
    slot.release()
    assert queue.admitted == 0 and not queue.in_service


async def test_dispatch_lets_waiters_in_when_the_engines_make_room() -> None:
    queue, room, _ = fair_queue(0)
    waiter = asyncio.create_task(queue.acquire("a", "normal"))
    await until(lambda: len(queue.waiting) == 1)
    queue.dispatch()  # nothing yet
    assert len(queue.waiting) == 1
    room.slots = 1  # an engine's queue drained: no request of ours ended
    queue.dispatch()  # what a health probe's recheck does
    (await waiter).release()
    assert queue.admitted == 0


async def test_a_waiter_looks_again_by_itself_when_room_appears() -> None:
    queue, room, _ = fair_queue(0, recheck_s=0.001)
    waiter = asyncio.create_task(queue.acquire("a", "normal"))
    await until(lambda: len(queue.waiting) == 1)
    room.slots = 1  # nobody calls dispatch: the waiter's own recheck must notice
    async with asyncio.timeout(30):  # a guard against a hang, not a timing assertion
        slot = await waiter
    slot.release()


async def test_depth_is_counted_per_class() -> None:
    queue, _, _ = fair_queue(0)
    waiters = [
        asyncio.create_task(queue.acquire("a", priority))
        for priority in ("high", "low", "low")
    ]  # fmt: skip
    await until(lambda: len(queue.waiting) == 3)
    assert waiting_by_class(queue) == {"high": 1, "normal": 0, "low": 2}
    for task in waiters:
        task.cancel()
    await asyncio.gather(*waiters, return_exceptions=True)
    assert waiting_by_class(queue) == {"high": 0, "normal": 0, "low": 0}


async def test_the_last_slot_waits_for_a_lighter_tenant_while_one_is_active() -> None:
    queue, _, _ = fair_queue(3, reserved=1)
    # Alone, the heavy tenant may take every slot.
    alone = [await queue.acquire("heavy", "normal") for _ in range(3)]
    for slot in alone:
        slot.release(100)
    light = await queue.acquire("light", "normal")
    light.release(5)  # the light tenant is active: seen within the window
    held = [await queue.acquire("heavy", "normal") for _ in range(2)]
    third = asyncio.create_task(queue.acquire("heavy", "normal"))
    await until(lambda: len(queue.waiting) == 1)
    assert not third.done()  # the last free slot is kept
    light = await queue.acquire("light", "normal")  # and the light tenant gets it at once
    light.release(5)
    held.pop().release(100)  # two free now: the heavy one may have one of them
    slot = await third
    for one in (slot, *held):
        one.release()
    assert queue.admitted == 0


async def test_a_tenant_with_nothing_in_service_may_take_a_reserved_slot() -> None:
    # One slot in all: the heavy tenant still gets its turn (nothing of its own in service).
    queue, _, _ = fair_queue(1, reserved=1)
    light = await queue.acquire("light", "normal")
    light.release(5)
    heavy = await queue.acquire("heavy", "normal")
    heavy.release(100)
    assert queue.admitted == 0
