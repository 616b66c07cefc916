"""A tiny app with a JSON route, an SSE route and a failing route, and an interceptor that
collects what the chain hands it."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from api_server.interceptors.exchange import Exchange

SSE_EVENTS = [
    {"choices": [{"index": 0, "delta": {"content": "The capital"}}]},
    {"choices": [{"index": 0, "delta": {"content": " is Paris."}}]},
]


class Answers:
    """What the tiny app says; tests change it to make a replay differ."""

    def __init__(self) -> None:
        self.text = "Paris."
        self.status = 200
        self.headers: list[dict[str, str]] = []  # of each chat request


def tiny_app(answers: Answers | None = None) -> Starlette:
    answers = answers or Answers()

    async def chat(request: Request) -> Response:
        answers.headers.append(dict(request.headers))
        body = await request.json()
        if body.get("stream"):
            return StreamingResponse(_events(), media_type="text/event-stream")
        message = {"role": "assistant", "content": answers.text}
        return JSONResponse(
            {"id": "chatcmpl-1", "choices": [{"index": 0, "message": message}]},
            status_code=answers.status,
            headers={"X-Request-ID": "req-1", "X-Session-ID": "sess-1"},
        )

    async def boom(request: Request) -> Response:
        await request.body()
        raise RuntimeError("boom")

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route("/v1/chat/completions", chat, methods=["POST"]),
            Route("/boom", boom, methods=["GET", "POST"]),
            Route("/health/live", health),
        ]
    )


async def _events() -> AsyncIterator[bytes]:
    for event in SSE_EVENTS:
        await asyncio.sleep(0.01)
        yield f"data: {json.dumps(event)}\n\n".encode()
    yield b"data: [DONE]\n\n"


class Collector:
    """Keeps every event; `ended` is set at each end event."""

    def __init__(self) -> None:
        self.starts: list[Exchange] = []
        self.ends: list[Exchange] = []
        self.ended = threading.Event()
        self.closed = False

    def on_exchange_start(self, exchange: Exchange) -> None:
        self.starts.append(exchange)

    def on_exchange_end(self, exchange: Exchange) -> None:
        self.ends.append(exchange)
        self.ended.set()

    def close(self) -> None:
        self.closed = True
