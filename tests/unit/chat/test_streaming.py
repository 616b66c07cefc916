"""`start_stream`, the net under every front door's stream: a generation that stops without
its `Finished` event ends with the front door's error event and is reported as failed."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from api_server.chat.events import ChatEvent, Finished, TextDelta, Usage
from api_server.chat.streaming import start_stream
from api_server.errors import EngineResponseError, InferstackError


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
