"""`RequestDeadline`: the whole-request timeout cancels the work it bounds and says so in
the gateway's own error; a timeout of the work's own is left alone."""

from __future__ import annotations

import asyncio

import pytest

from api_server.chat.deadline import RequestDeadline, deadline_enforced
from api_server.errors import EngineTimeoutError, RequestTimeoutError


async def test_work_past_the_deadline_is_cancelled_and_reported() -> None:
    cancelled = False

    async def engine() -> None:
        nonlocal cancelled
        try:
            await asyncio.Event().wait()  # never answers
        except asyncio.CancelledError:
            cancelled = True
            raise

    with pytest.raises(RequestTimeoutError) as caught:
        async with RequestDeadline.from_now(0.01).enforced():
            await engine()
    assert cancelled, "the engine request is closed, not left running"
    assert isinstance(caught.value, EngineTimeoutError)  # a 504 in every envelope
    assert caught.value.message.endswith("request timeout (0.01 s)")


async def test_the_works_own_timeout_error_passes_through() -> None:
    with pytest.raises(TimeoutError) as caught:
        async with RequestDeadline.from_now(60).enforced():
            raise TimeoutError("the work's own")
    assert not isinstance(caught.value, RequestTimeoutError)


async def test_no_deadline_bounds_nothing() -> None:
    async with deadline_enforced(None):
        await asyncio.sleep(0)


async def test_a_later_timeout_moves_the_running_deadline() -> None:
    deadline = RequestDeadline.from_now(0.05)
    async with deadline.enforced():
        deadline.change_timeout(5.0)  # the model's own, longer: the work may finish
        await asyncio.sleep(0.2)
    deadline = RequestDeadline.from_now(None)
    with pytest.raises(RequestTimeoutError):
        async with deadline.enforced():
            deadline.change_timeout(0.05)  # the model's own, where the settings had none
            await asyncio.sleep(5)
    deadline = RequestDeadline.from_now(0.05)
    async with deadline.enforced():
        deadline.change_timeout(None)  # a model without any
        await asyncio.sleep(0.2)
