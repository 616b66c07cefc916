"""What interceptors may never hold, and how big a recording may grow: admin routes (the
plaintext key `POST /v1/admin/keys` returns) are shown to no interceptor whatever
skip_paths says; credential headers are dropped as an exchange is captured; a recording
cuts each body to its cap (marked truncated) and stops at its file cap (counted)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api_server.app import create_app
from api_server.config import Settings
from api_server.interceptors import InterceptorChain, InterceptorMiddleware
from api_server.interceptors.event_recorder import EventRecorder
from api_server.interceptors.exchange import BodyChunk, Exchange
from api_server.interceptors.exchange_log import read_recording
from api_server.registry import ModelRegistry
from tests.unit.auth.fakes import ListSink, MemoryKeyStore
from tests.unit.interceptors.conftest import Answers, Collector, tiny_app

SECRET = "sk-inferstack-plaintext-0123456789"
ADMIN = "an-admin-key-long-enough"
CHAT = {"model": "tiny", "messages": [{"role": "user", "content": "hello"}], "max_tokens": 4}


async def mint_key(request: Request) -> Response:
    await request.body()
    return JSONResponse({"id": "k1", "key": SECRET}, status_code=201)


def client_for(app: object) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def test_admin_routes_are_never_shown_to_an_interceptor() -> None:
    app = Starlette(
        routes=[
            Route("/v1/admin/keys", mint_key, methods=["POST"]),
            Route("/v1/admin/keys/{key_id}", mint_key, methods=["POST"]),
        ]
    )
    collector = Collector()
    chain = InterceptorChain([collector])
    chain.start()
    middleware = InterceptorMiddleware(app, chain, skip_paths=())  # nothing skipped: but admin
    async with client_for(middleware) as client:
        for path in ("/v1/admin/keys", "/v1/admin/keys/k1"):
            response = await client.post(path, json={"name": "ci"})
            assert response.json()["key"] == SECRET  # the client still gets its key
    await asyncio.to_thread(chain.close, 5)
    assert collector.starts == [] and collector.ends == []


async def test_credential_headers_never_reach_an_interceptor() -> None:
    answers = Answers()
    collector = Collector()
    chain = InterceptorChain([collector])
    chain.start()
    credentials = {
        "Authorization": f"Bearer {SECRET}",
        "x-api-key": SECRET,
        "api-key": SECRET,
        "Cookie": f"session={SECRET}",
    }
    async with client_for(InterceptorMiddleware(tiny_app(answers), chain)) as client:
        assert (
            await client.post("/v1/chat/completions", json=CHAT, headers=credentials)
        ).is_success
    await asyncio.to_thread(chain.close, 5)
    assert answers.headers[0]["authorization"] == f"Bearer {SECRET}"  # the app got them
    [start], [end] = collector.starts, collector.ends
    for exchange in (start, end):
        assert SECRET not in repr(exchange.request_headers)
        assert exchange.request_header("content-type") == "application/json"


def test_a_gateway_records_no_admin_exchange(models_file: Path, tmp_path: Path) -> None:
    recording = tmp_path / "recording.jsonl"
    messages = tmp_path / "messages.jsonl"
    keys = MemoryKeyStore()
    _, user_key = keys.add("user")
    settings = Settings(
        models_file=models_file,
        auth_mode="api_key",
        database_url="postgresql://u:p@127.0.0.1:9/x",  # never reached: the memory store
        admin_key=ADMIN,
        interceptors=[
            {"type": "event_recorder", "path": recording},
            {"type": "message_logger", "path": messages},
        ],
    )
    app = create_app(settings, ModelRegistry.from_file(models_file), ListSink(), keys)
    with TestClient(app) as client:
        admin = client.get("/v1/admin/keys", headers={"authorization": "Bearer wrong-admin-key"})
        assert admin.status_code == 401
        chat = client.post("/v1/chat/completions", json=CHAT, headers={"x-api-key": user_key})
        assert chat.status_code == 200
    [recorded] = list(read_recording(recording))
    assert recorded.path == "/v1/chat/completions"
    for text in (recording.read_text(), messages.read_text()):
        assert "/v1/admin" not in text and user_key not in text and "wrong-admin-key" not in text


def exchange(request_body: bytes, *chunks: bytes) -> Exchange:
    return Exchange(
        method="POST",
        path="/v1/chat/completions",
        query="",
        request_headers=(("content-type", "application/json"),),
        request_body=request_body,
        started_at=1_700_000_000.0,
        status=200,
        chunks=tuple(BodyChunk(float(i), data) for i, data in enumerate(chunks)),
        latency_ms=3.0,
    )


def test_each_body_is_cut_to_the_cap_and_marked(tmp_path: Path) -> None:
    path = tmp_path / "recording.jsonl"
    recorder = EventRecorder(path, max_body_bytes=10)
    recorder.on_exchange_end(exchange(b"a" * 25, b"data: 123\n\n", b"data: 456\n\n"))
    recorder.on_exchange_end(exchange(b"small", b"ok"))
    recorder.close()
    cut, whole = read_recording(path)
    assert cut.request_bytes() == b"a" * 10 and cut.request_truncated
    assert cut.response_bytes() == b"data: 123\n" and cut.response_truncated
    assert [chunk.offset_ms for chunk in cut.chunks] == [0.0]
    assert whole.request_bytes() == b"small" and not whole.request_truncated
    assert whole.response_bytes() == b"ok" and not whole.response_truncated


def test_a_full_recording_leaves_further_exchanges_out_and_counts_them(tmp_path: Path) -> None:
    path = tmp_path / "recording.jsonl"
    one = exchange(b"x" * 100, b"y" * 100)
    probe = EventRecorder(tmp_path / "probe.jsonl")
    probe.on_exchange_end(one)
    probe.close()
    line_bytes = (tmp_path / "probe.jsonl").stat().st_size
    recorder = EventRecorder(path, max_bytes=line_bytes * 2 + line_bytes // 2)
    for _ in range(5):
        recorder.on_exchange_end(one)
    recorder.close()
    assert len(list(read_recording(path))) == 2
    assert recorder.skipped == 3
    assert path.stat().st_size <= recorder.max_bytes
    again = EventRecorder(path, max_bytes=recorder.max_bytes)  # a restart: the cap holds
    again.on_exchange_end(one)
    again.close()
    assert again.skipped == 1 and len(list(read_recording(path))) == 2
