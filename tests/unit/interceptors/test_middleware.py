"""The middleware around a tiny Starlette app: the client gets the same bytes, the chain
sees the same chunks and status, a slow interceptor delays nothing, a failing app or a
client that leaves still ends the exchange."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.responses import StreamingResponse
from starlette.types import Message, Receive, Scope, Send

from api_server.interceptors import InterceptorChain, InterceptorMiddleware
from api_server.interceptors.exchange import Exchange
from tests.unit.interceptors.conftest import Collector, tiny_app

CHAT = {"model": "tiny", "messages": [{"role": "user", "content": "capital of France?"}]}


def client_for(app: object, raise_app_exceptions: bool = True) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app, raise_app_exceptions=raise_app_exceptions)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def collect(chain: InterceptorChain, collector: Collector) -> list[Exchange]:
    await asyncio.to_thread(chain.close, 5)
    return collector.ends


async def test_json_route_bytes_and_exchange() -> None:
    collector = Collector()
    chain = InterceptorChain([collector])
    chain.start()
    async with client_for(InterceptorMiddleware(tiny_app(), chain)) as client:
        response = await client.post("/v1/chat/completions?x=1", json=CHAT)
    plain = tiny_app()
    async with client_for(plain) as client:
        expected = await client.post("/v1/chat/completions?x=1", json=CHAT)
    assert response.content == expected.content
    [end] = await collect(chain, collector)
    [start] = collector.starts
    assert (start.method, start.path, start.query, start.status) == (
        "POST",
        "/v1/chat/completions",
        "x=1",
        None,
    )
    assert start.request_body == end.request_body == response.request.content
    assert end.status == 200 and end.error is None
    assert end.response_body == response.content
    assert end.response_header("x-request-id") == "req-1"
    assert end.latency_ms is not None and end.latency_ms >= 0


async def test_sse_route_chunks_are_forwarded_and_kept_with_offsets() -> None:
    collector = Collector()
    chain = InterceptorChain([collector])
    chain.start()
    async with client_for(InterceptorMiddleware(tiny_app(), chain)) as client:
        response = await client.post("/v1/chat/completions", json={**CHAT, "stream": True})
    [end] = await collect(chain, collector)
    assert end.status == 200
    assert len(end.chunks) == 3
    assert b"".join(c.data for c in end.chunks) == response.content
    offsets = [c.offset_ms for c in end.chunks]
    assert offsets == sorted(offsets) and offsets[1] - offsets[0] >= 5  # the app's pacing


async def test_skipped_paths_are_not_seen() -> None:
    collector = Collector()
    chain = InterceptorChain([collector])
    chain.start()
    async with client_for(InterceptorMiddleware(tiny_app(), chain)) as client:
        assert (await client.get("/health/live")).status_code == 200
    assert await collect(chain, collector) == [] and collector.starts == []


async def test_an_app_error_ends_the_exchange_as_500_and_is_reraised() -> None:
    collector = Collector()
    chain = InterceptorChain([collector])
    chain.start()
    app = InterceptorMiddleware(tiny_app(), chain)
    async with client_for(app, raise_app_exceptions=False) as client:
        response = await client.post("/boom", content=b"raw")
    assert response.status_code == 500  # Starlette's ServerErrorMiddleware, outside ours
    async with client_for(app) as client:
        with pytest.raises(RuntimeError, match="boom"):
            await client.get("/boom")
    ends = await collect(chain, collector)
    assert [e.status for e in ends] == [500, 500]
    assert ends[0].error == "RuntimeError: boom" and ends[0].request_body == b"raw"
    assert len(collector.starts) == 2


async def test_a_client_that_leaves_mid_stream_is_recorded_as_499() -> None:
    async def endless(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"data: 1\n\n", "more_body": True})
        await asyncio.Event().wait()  # until cancelled

    collector = Collector()
    chain = InterceptorChain([collector])
    chain.start()
    app = InterceptorMiddleware(endless, chain)
    scope: Scope = {"type": "http", "method": "GET", "path": "/s", "headers": []}
    first_chunk_sent = asyncio.Event()

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.body":
            first_chunk_sent.set()

    task = asyncio.create_task(app(scope, receive, send))
    await asyncio.wait_for(first_chunk_sent.wait(), 5)
    task.cancel()  # what a server does when the client goes away
    with pytest.raises(asyncio.CancelledError):
        await task
    [end] = await collect(chain, collector)
    assert end.status == 499 and end.error == "CancelledError"
    assert end.response_body == b"data: 1\n\n"


async def test_caps_mark_the_exchange_truncated_and_the_client_gets_everything() -> None:
    collector = Collector()
    chain = InterceptorChain([collector])
    chain.start()
    app = InterceptorMiddleware(tiny_app(), chain, max_request_bytes=10, max_response_bytes=20)
    async with client_for(app) as client:
        response = await client.post("/v1/chat/completions", json={**CHAT, "stream": True})
    [end] = await collect(chain, collector)
    assert len(response.content) > 20
    assert end.request_truncated and len(end.request_body) == 10
    assert end.response_truncated and end.response_body == response.content[:20]


async def test_a_slow_interceptor_does_not_delay_the_response() -> None:
    entered, release = threading.Event(), threading.Event()

    class Slow(Collector):
        def on_exchange_start(self, exchange: Exchange) -> None:
            entered.set()
            release.wait(10)  # far longer than the request may take

    slow = Slow()
    chain = InterceptorChain([slow])
    chain.start()
    try:
        async with client_for(InterceptorMiddleware(tiny_app(), chain)) as client:
            response = await client.post("/v1/chat/completions", json={**CHAT, "stream": True})
        assert response.status_code == 200
        assert await asyncio.to_thread(entered.wait, 5)
        assert not release.is_set() and slow.ends == []  # the worker is still stuck
    finally:
        release.set()
    [end] = await collect(chain, slow)
    assert end.status == 200


async def test_a_raising_interceptor_leaves_the_response_and_the_others_alone() -> None:
    class Raising(Collector):
        def on_exchange_end(self, exchange: Exchange) -> None:
            raise ValueError("bad interceptor")

    collector = Collector()
    chain = InterceptorChain([Raising(), collector])
    chain.start()
    async with client_for(InterceptorMiddleware(tiny_app(), chain)) as client:
        first = await client.post("/v1/chat/completions", json=CHAT)
        second = await client.post("/v1/chat/completions", json=CHAT)
    assert first.status_code == second.status_code == 200
    assert len(await collect(chain, collector)) == 2


async def test_an_inactive_chain_passes_requests_straight_through() -> None:
    calls: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        calls.append(scope)
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    chain = InterceptorChain([])
    async with client_for(InterceptorMiddleware(app, chain)) as client:
        assert (await client.get("/x")).status_code == 204
    assert len(calls) == 1


@pytest.mark.parametrize(
    "last_event",
    [b"data: [DONE]\n\n", b'event: message_stop\ndata: {"type": "message_stop"}\n\n'],
)
async def test_a_client_that_leaves_right_after_the_last_event_is_recorded_as_200(
    last_event: bytes,
) -> None:
    # The race seen under load: the client reads the terminator and closes; the server's
    # disconnect listener cancels the app before it sends the closing empty body message.
    async def events() -> AsyncIterator[bytes]:
        yield b"data: 1\n\n"
        yield last_event
        await asyncio.Event().wait()  # work after the last event (a log write), never done

    end = await _stream_to_a_client_leaving_after(events(), last_event)
    assert (end.status, end.error) == (200, None)
    assert end.response_body == b"data: 1\n\n" + last_event


async def test_a_client_that_leaves_before_the_last_event_is_still_499() -> None:
    async def events() -> AsyncIterator[bytes]:
        yield b"data: 1\n\n"
        await asyncio.Event().wait()

    end = await _stream_to_a_client_leaving_after(events(), b"data: 1\n\n")
    assert end.status == 499 and end.response_body == b"data: 1\n\n"


async def _stream_to_a_client_leaving_after(events: AsyncIterator[bytes], chunk: bytes) -> Exchange:
    """The recorded end of an event stream whose client disconnects once `chunk` is sent."""
    collector = Collector()
    chain = InterceptorChain([collector])
    chain.start()
    app = InterceptorMiddleware(StreamingResponse(events, media_type="text/event-stream"), chain)
    scope: Scope = {"type": "http", "method": "GET", "path": "/s", "headers": []}
    chunk_sent = asyncio.Event()
    requested = False

    async def receive() -> Message:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await chunk_sent.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.body" and message.get("body") == chunk:
            chunk_sent.set()

    await asyncio.wait_for(app(scope, receive, send), 5)
    [end] = await collect(chain, collector)
    return end
