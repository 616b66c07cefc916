"""Response helpers shared by every router."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from typing import Any, TypeVar

import orjson
from fastapi import Request
from fastapi.responses import Response, StreamingResponse

from api_server.chat.streaming import JsonResult, RelayResult, StreamResult
from api_server.errors import ClientGoneError

T = TypeVar("T")

_SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def json_response(
    payload: Any, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    # orjson directly: FastAPI's jsonable_encoder walk is the slowest part of a small response.
    return Response(
        orjson.dumps(payload),
        status_code=status_code,
        media_type="application/json",
        headers=headers,
    )


def respond(result: dict[str, Any] | JsonResult | StreamResult | RelayResult) -> Response:
    """A service's result as JSON, as a server-sent event stream, or relayed as is."""
    if isinstance(result, RelayResult):
        headers = (
            {**_SSE_HEADERS, **result.headers}
            if "event-stream" in result.media_type
            else result.headers
        )
        return StreamingResponse(
            result.chunks,
            status_code=result.status,
            media_type=result.media_type,
            headers=headers,
        )
    if isinstance(result, StreamResult):
        return StreamingResponse(
            result.chunks,
            media_type="text/event-stream",
            headers={**_SSE_HEADERS, **result.headers},
        )
    if isinstance(result, JsonResult):
        return json_response(result.body, headers=result.headers)
    return json_response(result)


def client_addr(request: Request) -> str | None:
    return f"{request.client.host}:{request.client.port}" if request.client else None


async def unless_client_leaves(request: Request, work: Awaitable[T]) -> T:
    """Await `work`, cancelling it if the client disconnects first.

    Starlette does not cancel a handler whose client went away; a non-streaming completion
    would otherwise run to `max_tokens` for nobody. Cancelling closes the engine request.
    The request body must already be read: the next ASGI message is the disconnect.
    """
    task = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(_client_disconnected(request))
    try:
        await asyncio.wait((task, watcher), return_when=asyncio.FIRST_COMPLETED)
    finally:
        watcher.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    if task.cancelled():
        raise ClientGoneError("The client closed the connection before the response")
    return task.result()


async def _client_disconnected(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass
