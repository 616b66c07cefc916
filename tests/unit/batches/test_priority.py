"""Batch lines yield to interactive traffic: a per-model cap, and no start while the model
has more interactive requests in flight than the threshold."""

from __future__ import annotations

from api_server.batches.priority import BatchSlots


async def test_lines_start_only_below_the_cap() -> None:
    slots = BatchSlots(2, threshold=10, in_flight=lambda model: 0)
    assert await slots.acquire("m", lambda: False)
    assert await slots.acquire("m", lambda: False)
    assert not slots.may_start("m")
    assert slots.may_start("other")  # the cap is per model
    slots.release("m")
    assert slots.may_start("m")


async def test_a_line_waits_while_interactive_requests_are_above_the_threshold() -> None:
    in_flight = {"m": 3}
    checks: list[int] = []

    async def interactive_traffic_drains(seconds: float) -> None:
        checks.append(in_flight["m"])
        in_flight["m"] -= 1

    slots = BatchSlots(2, threshold=1, in_flight=in_flight.get, sleep=interactive_traffic_drains)
    assert await slots.acquire("m", lambda: False)
    assert checks == [3, 2]  # waited while 3, then 2 were in flight; started at 1
    # Its own line (in flight from now) is not counted as interactive.
    in_flight["m"] += 1
    assert slots.interactive("m") == 1 and slots.may_start("m")


async def test_waiting_ends_when_the_run_stops() -> None:
    stopping = [False]

    async def stop_while_waiting(seconds: float) -> None:
        stopping[0] = True

    slots = BatchSlots(1, threshold=0, in_flight=lambda model: 5, sleep=stop_while_waiting)
    assert not await slots.acquire("m", lambda: stopping[0])
    assert slots.running["m"] == 0
