"""`start_stream`, the net under every front door's stream: a generation that stops without
its `Finished` event ends with the front door's error event and is reported as failed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

from api_server.chat.deadline import RequestDeadline
from api_server.chat.events import ChatEvent, Finished, TextDelta, Usage
from api_server.chat.streaming import start_stream
from api_server.errors import EngineResponseError, InferstackError, RequestTimeoutError


class End:
    def __init__(self) -> None:
        self.errors: list[BaseException | None] = []

    def finish(self, error: BaseException | None) -> None:
        self.errors.append(error)


async def events(*items: ChatEvent) -> AsyncGenerator[ChatEvent, None]:
    for item in items:
        yield item


def render(event: ChatEvent) -> bytes:
    return f"{type(event).__name__};".encode()


def render_error(error: InferstackError) -> bytes:
    return f"error:{error.message}".encode()


async def streamed(*items: ChatEvent) -> tuple[bytes, End]:
    end = End()
    result = await start_stream(
        events(*items),
        render=render,
        render_error=render_error,
        opening=b"",
        end=end,
        request_id="r1",
    )
    return b"".join([chunk async for chunk in result.chunks]), end


async def test_a_generation_without_finished_ends_with_an_error() -> None:
    body, end = await streamed(TextDelta("Hel"), TextDelta("lo"))
    assert body == b"TextDelta;TextDelta;error:The answer ended before it finished"
    [error] = end.errors
    assert isinstance(error, EngineResponseError)


async def test_a_finished_generation_ends_cleanly() -> None:
    body, end = await streamed(TextDelta("Hi"), Finished("stop", Usage(1, 1)))
    assert body == b"TextDelta;Finished;" and end.errors == [None]


async def test_a_stream_past_its_deadline_ends_with_the_timeout_error() -> None:
    """The first event is awaited under the front door's own deadline; after it each wait
    is bounded by the stream's: an engine that stalls mid-answer ends the stream, with the
    error event, instead of holding the client forever."""
    stalled = asyncio.Event()  # never set: the engine sends nothing more

    async def stalling() -> AsyncGenerator[ChatEvent, None]:
        yield TextDelta("Hel")
        await stalled.wait()
        yield Finished("stop", Usage(1, 1))

    end = End()
    result = await start_stream(
        stalling(),
        render=render,
        render_error=render_error,
        opening=b"",
        end=end,
        request_id="r1",
        deadline=RequestDeadline.from_now(0.01),
    )
    body = b"".join([chunk async for chunk in result.chunks])
    expected = b"error:The request took longer than the gateway's request timeout (0.01 s)"
    assert body == b"TextDelta;" + expected
    [error] = end.errors
    assert isinstance(error, RequestTimeoutError)
    assert (error.status_code, error.code) == (504, "request_timeout")
