"""Turn a chat generation into a response stream, for every front door: the first event is
awaited before answering, and a failure after that ends the stream with the front door's
own error event instead of a cut connection."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from api_server.chat.deadline import RequestDeadline, deadline_enforced
from api_server.chat.events import Finished
from api_server.errors import EngineResponseError, InferstackError

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StreamResult:
    """A stream whose first event is already known to have succeeded."""

    chunks: AsyncIterator[bytes]
    headers: dict[str, str] = field(default_factory=dict)  # extra response headers (x-cache)


@dataclass(frozen=True, slots=True)
class JsonResult:
    """A non-streaming response body with extra headers to send with it (x-cache)."""

    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RelayResult:
    """An upstream's answer relayed as is (status, media type, body as it arrives); it
    reports its own end to the request's tracker."""

    status: int
    media_type: str
    chunks: AsyncIterator[bytes]
    headers: dict[str, str] = field(default_factory=dict)


# What a stream is made of: chat events, or something carrying them (a choice's, for `n`).
Event = TypeVar("Event")


def is_finished(event: object) -> bool:
    """The last event of a complete chat generation."""
    return isinstance(event, Finished)


class StreamEnd(Protocol):
    """Told once how the stream ended (`api_server.tracking.RequestTracker`)."""

    def finish(self, error: BaseException | None) -> None: ...


async def start_stream(
    events: AsyncGenerator[Event, None],
    *,
    render: Callable[[Event], bytes],
    render_error: Callable[[InferstackError], bytes],
    opening: bytes,
    end: StreamEnd,
    request_id: str,
    headers: dict[str, str] | None = None,
    deadline: RequestDeadline | None = None,
    completes: Callable[[Event], bool] = is_finished,
) -> StreamResult:
    """Pull the first event before answering, so an engine that is down or refuses the
    request gets a proper HTTP error instead of a 200 stream. From here on the stream owns
    `end`, and `deadline` (the whole request's) bounds the wait for each further event.
    `completes` says whether the last event shows a complete answer."""
    first = await anext(events)

    async def chunks() -> AsyncIterator[bytes]:
        error: BaseException | None = None
        try:
            yield opening + render(first)
            last = first
            while (event := await _next_event(events, deadline)) is not None:
                last = event
                yield render(event)
            if not completes(last):
                # Every path raises for an answer cut off; this is the net under them all:
                # an unfinished stream is never shown (nor logged) as a complete one.
                raise EngineResponseError("The answer ended before it finished")
        except InferstackError as exc:
            error = exc
            logger.warning(
                "stream %s ended with %s: %s", request_id, type(exc).__name__, exc.message
            )
            yield render_error(exc)
        except Exception as exc:
            # A bug must still end the stream properly, not cut the connection.
            error = exc
            logger.exception("stream %s failed", request_id)
            yield render_error(InferstackError("The gateway hit an internal error"))
        except BaseException as exc:
            error = exc
            raise
        finally:
            await events.aclose()
            end.finish(error)

    return StreamResult(chunks(), headers or {})


async def _next_event(
    events: AsyncGenerator[Event, None], deadline: RequestDeadline | None
) -> Event | None:
    """The next event, None at the end; RequestTimeoutError past the deadline. The wait,
    not the client's reading, is bounded: a deadline is never checked inside a yield."""
    async with deadline_enforced(deadline):
        return await anext(events, None)
