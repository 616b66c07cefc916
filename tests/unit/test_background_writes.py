"""Background writes: held until they end, shed past the limit, drained on demand."""

from __future__ import annotations

import asyncio

from api_server.background_writes import BackgroundWrites


async def test_writes_run_in_the_background_and_drain_waits_for_them() -> None:
    writes = BackgroundWrites(limit=4)
    release = asyncio.Event()
    done: list[int] = []

    async def write(number: int) -> None:
        await release.wait()
        done.append(number)

    assert all(writes.start(write(n)) for n in range(3))
    assert len(writes) == 3 and not done
    release.set()
    await writes.drain()
    assert sorted(done) == [0, 1, 2] and len(writes) == 0


async def test_past_the_limit_a_write_is_shed_and_never_left_unawaited() -> None:
    writes = BackgroundWrites(limit=1)
    release = asyncio.Event()
    ran: list[str] = []

    async def write(name: str) -> None:
        ran.append(name)
        await release.wait()

    assert writes.start(write("first"))
    shed = write("shed")
    assert not writes.start(shed)
    assert shed.cr_frame is None  # closed: no "coroutine was never awaited" at its end
    release.set()
    await writes.drain()
    assert ran == ["first"]
    assert writes.start(write("after"))  # room again once the first ended
    await writes.drain()
    assert ran == ["first", "after"]


def test_without_an_event_loop_a_write_is_refused() -> None:
    ran: list[str] = []

    async def write() -> None:
        ran.append("ran")

    refused = write()
    assert not BackgroundWrites(limit=4).start(refused)
    assert refused.cr_frame is None and not ran
