"""An upstream stream that ends cleanly but without saying it finished (no finish_reason,
no [DONE], no message_stop) is a cut-off answer, on every path: relayed to a client of the
upstream's protocol, translated for another front door (OpenAI, Anthropic, AI SDK), or
about to be cached. The client gets its protocol's error event, the request log a 502, and
the exact cache nothing to replay."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from api_server.app import create_app
from api_server.cache import ExactCache
from api_server.config import Settings
from api_server.registry import ModelRegistry
from tests.unit.auth.fakes import ListSink
from tests.unit.cache.fakes import DictRedis
from tests.unit.upstreams.conftest import ServedApp

HELLO = [{"role": "user", "content": "hello"}]
OPENAI_CUT = (
    b'data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,'
    b'"delta":{"role":"assistant","content":"Hel"},"finish_reason":null}]}\n\n'
)
ANTHROPIC_CUT = (
    b"event: message_start\n"
    b'data: {"type":"message_start","message":{"id":"msg_1","type":"message",'
    b'"role":"assistant","content":[],"model":"m","stop_reason":null,'
    b'"usage":{"input_tokens":3,"output_tokens":0}}}\n\n'
    b"event: content_block_start\n"
    b'data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n'
    b"event: content_block_delta\n"
    b'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel"}}\n\n'
)


def _cut_stream(events: bytes) -> StreamingResponse:
    async def body() -> AsyncIterator[bytes]:
        yield events  # and then a clean end: no finish, no [DONE], no message_stop

    return StreamingResponse(body(), media_type="text/event-stream")


async def openai_cut(request: Request) -> StreamingResponse:
    return _cut_stream(OPENAI_CUT)


ANTHROPIC_ERROR = (
    b"event: error\n"
    b'data: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n'
)


async def anthropic_cut(request: Request) -> StreamingResponse:
    failing = (await request.json())["model"] == "fails"  # ends with its own error event
    return _cut_stream(ANTHROPIC_CUT + (ANTHROPIC_ERROR if failing else b""))


@pytest.fixture(scope="module")
def cutting_upstream() -> Iterator[str]:
    app = Starlette(
        routes=[
            Route("/v1/chat/completions", openai_cut, methods=["POST"]),
            Route("/v1/messages", anthropic_cut, methods=["POST"]),
        ]
    )
    with ServedApp(app) as served:
        yield served.url


@pytest.fixture
def sink() -> ListSink:
    return ListSink()


@pytest.fixture
def gateway(cutting_upstream: str, tmp_path: Path, sink: ListSink) -> Iterator[TestClient]:
    def model(name: str, kind: str, url: str, served: str = "m") -> str:
        return (
            f"  - name: {name}\n"
            f"    engine: {{kind: {kind}, served_name: {served}, urls: ['{url}'],"
            " auth: {style: header}}\n"
            "    context_length: 1000\n"
            "    max_tokens: {default: 10, limit: 10}\n"
        )

    path = tmp_path / "models.yaml"
    path.write_text(
        "models:\n"
        + model("gpt-cut", "openai", f"{cutting_upstream}/v1")
        + model("claude-cut", "anthropic", cutting_upstream)
        + model("claude-fails", "anthropic", cutting_upstream, served="fails")
    )
    app = create_app(
        Settings(models_file=path, redis_url=None, database_url=None, cache_enabled=False),
        ModelRegistry.from_file(path),
        request_log=sink,
    )
    with TestClient(app, headers={"x-api-key": "sk-client"}) as client:
        yield client


def _streamed(client: TestClient, path: str, body: dict[str, object]) -> str:
    with client.stream("POST", path, json=body) as response:
        assert response.status_code == 200
        return response.read().decode()


def _assert_logged_as_failed(sink: ListSink) -> None:
    [record] = sink.records
    assert (record.status_code, record.error_type) == (502, "engine_error")


def _openai_error(text: str) -> dict[str, object]:
    events = [line[6:] for line in text.splitlines() if line.startswith("data: {")]
    error: dict[str, object] = json.loads(events[-1])["error"]
    assert "before finishing" in str(error["message"])
    assert text.rstrip().endswith("data: [DONE]")
    return error


def _anthropic_error(text: str) -> None:
    last = text.strip().split("\n\n")[-1]
    assert last.startswith("event: error\n")
    assert "before finishing" in json.loads(last.split("data: ", 1)[1])["error"]["message"]


def test_a_relayed_openai_stream_cut_short_ends_with_an_error(
    gateway: TestClient, sink: ListSink
) -> None:
    text = _streamed(
        gateway, "/v1/chat/completions", {"model": "gpt-cut", "messages": HELLO, "stream": True}
    )
    assert text.startswith(OPENAI_CUT.decode())  # what came is relayed as it came
    _openai_error(text)
    _assert_logged_as_failed(sink)


def test_a_relayed_anthropic_stream_cut_short_ends_with_an_error_event(
    gateway: TestClient, sink: ListSink
) -> None:
    body = {"model": "claude-cut", "max_tokens": 10, "messages": HELLO, "stream": True}
    text = _streamed(gateway, "/v1/messages", body)
    assert text.startswith(ANTHROPIC_CUT.decode())
    _anthropic_error(text)
    _assert_logged_as_failed(sink)


def test_an_upstream_error_event_is_relayed_once_and_logged_as_failed(
    gateway: TestClient, sink: ListSink
) -> None:
    body = {"model": "claude-fails", "max_tokens": 10, "messages": HELLO, "stream": True}
    text = _streamed(gateway, "/v1/messages", body)
    assert text == (ANTHROPIC_CUT + ANTHROPIC_ERROR).decode()  # no second error of ours
    _assert_logged_as_failed(sink)


def test_a_translated_openai_stream_cut_short_ends_with_an_error(
    gateway: TestClient, sink: ListSink
) -> None:
    body = {"model": "claude-cut", "messages": HELLO, "stream": True}
    text = _streamed(gateway, "/v1/chat/completions", body)
    assert '"finish_reason":"stop"' not in text.replace(" ", "")
    _openai_error(text)
    _assert_logged_as_failed(sink)


def test_a_translated_anthropic_stream_cut_short_ends_with_an_error_event(
    gateway: TestClient, sink: ListSink
) -> None:
    body = {"model": "gpt-cut", "max_tokens": 10, "messages": HELLO, "stream": True}
    text = _streamed(gateway, "/v1/messages", body)
    assert "message_stop" not in text and '"end_turn"' not in text
    _anthropic_error(text)
    _assert_logged_as_failed(sink)


def test_a_translated_answer_cut_short_is_a_502_not_a_complete_one(
    gateway: TestClient, sink: ListSink
) -> None:
    response = gateway.post("/v1/chat/completions", json={"model": "claude-cut", "messages": HELLO})
    assert response.status_code == 502, response.text
    assert "before finishing" in response.json()["error"]["message"]
    _assert_logged_as_failed(sink)


def test_an_ai_sdk_stream_cut_short_ends_with_an_error_chunk(
    gateway: TestClient, sink: ListSink
) -> None:
    body = {
        "model": "gpt-cut",
        "messages": [{"id": "u1", "role": "user", "parts": [{"type": "text", "text": "hello"}]}],
    }
    response = gateway.post("/api/chat", json=body)
    assert response.status_code == 200
    chunks = [json.loads(line[6:]) for line in response.text.splitlines() if line[6:7] == "{"]
    assert {"type": "finish"} not in chunks
    assert chunks[-1]["type"] == "error" and "before finishing" in chunks[-1]["errorText"]
    _assert_logged_as_failed(sink)


def test_a_stream_cut_short_is_not_cached(gateway: TestClient, sink: ListSink) -> None:
    state = gateway.app.state.inferstack  # type: ignore[attr-defined]
    cache = ExactCache(
        DictRedis(), state.metrics.cache, timeout_s=0.05, default_ttl_s=60, replay_max_ms=None
    )
    gateway.app.state.inferstack = dataclasses.replace(state, exact_cache=cache)  # type: ignore[attr-defined]
    body = {"model": "claude-cut", "messages": HELLO, "stream": True, "temperature": 0}
    for _ in range(2):
        with gateway.stream("POST", "/v1/chat/completions", json=body) as response:
            assert response.headers["x-cache"] == "MISS"  # never a HIT of the cut answer
            _openai_error(response.read().decode())
    assert [record.status_code for record in sink.records] == [502, 502]
