"""The fake engine: wire shapes, scenarios chosen by model name, and its test hooks."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
import uvicorn

from api_server.fakes.engine import (
    DEFAULT_REPLY,
    TOOL_TEXTS,
    ErrorReply,
    TextReply,
    apply_limits,
    choose_reply,
    count_prompt_tokens,
    create_fake_engine_app,
)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_fake_engine_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://fake") as c:
        yield c


@pytest.fixture
async def server_url() -> AsyncIterator[str]:
    """A real uvicorn server on a free port: ASGITransport cannot stream or disconnect."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_fake_engine_app(), log_level="critical", lifespan="on", http="httptools"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task
    sock.close()


async def complete(client: httpx.AsyncClient, **body: Any) -> httpx.Response:
    return await client.post("/v1/completions", json={"prompt": "Say hi", **body})


async def sse_events(client: httpx.AsyncClient, **body: Any) -> list[Any]:
    """The ``data:`` payloads of a stream, JSON-decoded except ``[DONE]``."""
    events: list[Any] = []
    request = {"prompt": "Say hi", "stream": True, **body}
    async with client.stream("POST", "/v1/completions", json=request) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/event-stream"
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                data = line.removeprefix("data: ")
                events.append(data if data == "[DONE]" else orjson.loads(data))
    return events


def stream_text(events: list[Any]) -> str:
    return "".join(e["choices"][0]["text"] for e in events if e != "[DONE]" and e["choices"])


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("fake", TextReply(DEFAULT_REPLY)),
        ("anything", TextReply(DEFAULT_REPLY)),
        ("fake-slow", TextReply(DEFAULT_REPLY, token_delay_s=0.05)),
        ("fake-slow-200", TextReply(DEFAULT_REPLY, token_delay_s=0.2)),
        ("fake-midstream-error", TextReply(DEFAULT_REPLY, fail_after=2, failure="error")),
        ("fake-midstream-drop", TextReply(DEFAULT_REPLY, fail_after=2, failure="drop")),
        ("fake-len-3", TextReply(("tok ", "tok ", "tok "))),
        ("fake-hang", None),
    ],
)
def test_choose_reply(model: str, expected: TextReply | None) -> None:
    assert choose_reply(model) == expected


@pytest.mark.parametrize("model", ["fake-error-500", "fake-429", "fake-503"])
def test_choose_reply_errors(model: str) -> None:
    reply = choose_reply(model)
    assert isinstance(reply, ErrorReply)
    assert str(reply.status) in model


@pytest.mark.parametrize("model", sorted(TOOL_TEXTS))
def test_tool_replies_are_small_chunks_of_the_raw_syntax(model: str) -> None:
    reply = choose_reply(model)
    assert isinstance(reply, TextReply)
    assert "".join(reply.tokens) == TOOL_TEXTS[model]
    assert max(len(t) for t in reply.tokens) <= 4


@pytest.mark.parametrize(
    ("max_tokens", "stop", "text", "finish"),
    [
        (None, None, "Hello from the fake engine.", "stop"),
        (6, None, "Hello from the fake engine.", "stop"),
        (2, None, "Hello from", "length"),
        (0, None, "", "length"),
        (None, " the", "Hello from", "stop"),
        (None, ["zzz", "om t"], "Hello fr", "stop"),
        (None, "Hello", "", "stop"),
        (None, "", "Hello from the fake engine.", "stop"),
        (3, "engine", "Hello from the", "length"),
    ],
)
def test_apply_limits(max_tokens: Any, stop: Any, text: str, finish: str) -> None:
    reply = apply_limits(TextReply(DEFAULT_REPLY), max_tokens, stop)
    assert ("".join(reply.tokens), reply.finish_reason) == (text, finish)


@pytest.mark.parametrize(
    ("prompt", "count"),
    [("", 0), ("a b  c", 3), ([1, 2, 3, 4], 4), (["a b", "c"], 3), (None, 0)],
)
def test_count_prompt_tokens(prompt: Any, count: int) -> None:
    assert count_prompt_tokens(prompt) == count


async def test_health_and_models(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health")).json() == {"status": "ok"}
    models = (await client.get("/v1/models")).json()
    assert models["object"] == "list"
    assert {"fake", "fake-slow", "fake-tool-hermes"} <= {m["id"] for m in models["data"]}


async def test_completion_shape(client: httpx.AsyncClient) -> None:
    response = await complete(client, model="fake", prompt="one two three")
    assert response.status_code == 200
    body = response.json()
    assert body["id"].startswith("cmpl-")
    assert isinstance(body["created"], int)
    assert {k: body[k] for k in ("object", "model")} == {
        "object": "text_completion",
        "model": "fake",
    }
    assert body["choices"] == [
        {
            "index": 0,
            "text": "Hello from the fake engine.",
            "finish_reason": "stop",
            "logprobs": None,
        }
    ]
    assert body["usage"] == {"prompt_tokens": 3, "completion_tokens": 6, "total_tokens": 9}


async def test_completion_max_tokens_and_len_model(client: httpx.AsyncClient) -> None:
    body = (await complete(client, model="fake-len-100", max_tokens=10)).json()
    assert body["choices"][0]["text"] == "tok " * 10
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] == 10
    body = (await complete(client, model="fake-len-5")).json()
    assert body["usage"]["completion_tokens"] == 5


@pytest.mark.parametrize(
    ("model", "status", "error_type"),
    [
        ("fake-error-500", 500, "server_error"),
        ("fake-429", 429, "rate_limit_error"),
        ("fake-503", 503, "unavailable_error"),
    ],
)
async def test_error_models(
    client: httpx.AsyncClient, model: str, status: int, error_type: str
) -> None:
    response = await complete(client, model=model)
    assert response.status_code == status
    error = response.json()["error"]
    assert (error["type"], error["code"]) == (error_type, status)
    assert response.headers.get("retry-after") == ("2" if status == 429 else None)


async def test_midstream_error_without_stream_is_a_500(client: httpx.AsyncClient) -> None:
    assert (await complete(client, model="fake-midstream-error")).status_code == 500


async def test_tokenize(client: httpx.AsyncClient) -> None:
    tokens = (await client.post("/tokenize", json={"content": "a b c"})).json()["tokens"]
    assert len(tokens) == 3
    body = {"content": "a b c", "add_special": True}
    assert (await client.post("/tokenize", json=body)).json()["tokens"] == [1, *tokens]


async def test_bad_requests(client: httpx.AsyncClient) -> None:
    assert (await client.post("/v1/completions", content=b"{not json")).status_code == 400
    assert (await client.post("/v1/completions", content=b"[1]")).status_code == 400
    assert (await client.get("/v1/nothing")).status_code == 404


async def test_last_request_stats_and_reset(client: httpx.AsyncClient) -> None:
    assert (await client.get("/_last_request")).json() is None
    sent = {
        "model": "fake",
        "prompt": "<s>[INST] hi",
        "stop": ["</s>"],
        "add_special_tokens": False,
    }
    await client.post("/v1/completions", json=sent)
    await client.post("/tokenize", json={"content": "not recorded"})
    assert (await client.get("/_last_request")).json() == sent
    stats = (await client.get("/_stats")).json()
    assert stats["completions_total"] == 1
    assert stats["in_flight"] == 1  # the /_stats request itself
    await client.post("/_reset")
    assert (await client.get("/_last_request")).json() is None
    assert (await client.get("/_stats")).json()["completions_total"] == 0


async def test_stream_default(server_url: str) -> None:
    async with httpx.AsyncClient(base_url=server_url) as client:
        events = await sse_events(client, model="fake")
    assert events[-1] == "[DONE]"
    assert stream_text(events) == "Hello from the fake engine."
    chunks = events[:-1]
    assert all(c["object"] == "text_completion" and c["model"] == "fake" for c in chunks)
    assert len({c["id"] for c in chunks}) == 1
    assert [c["choices"][0]["finish_reason"] for c in chunks] == [None] * 6 + ["stop"]
    assert all("usage" not in c for c in chunks)


async def test_stream_usage_and_max_tokens(server_url: str) -> None:
    async with httpx.AsyncClient(base_url=server_url) as client:
        options = {"include_usage": True}
        events = await sse_events(client, model="fake", max_tokens=2, stream_options=options)
    assert stream_text(events) == "Hello from"
    assert events[-3]["choices"][0]["finish_reason"] == "length"
    assert events[-2]["choices"] == []
    assert events[-2]["usage"] == {"prompt_tokens": 2, "completion_tokens": 2, "total_tokens": 4}


@pytest.mark.parametrize("model", sorted(TOOL_TEXTS))
async def test_stream_tool_syntax(server_url: str, model: str) -> None:
    async with httpx.AsyncClient(base_url=server_url) as client:
        events = await sse_events(client, model=model, max_tokens=500)
    assert stream_text(events) == TOOL_TEXTS[model]
    assert len(events) > 10


async def test_stream_midstream_error_event(server_url: str) -> None:
    async with httpx.AsyncClient(base_url=server_url) as client:
        events = await sse_events(client, model="fake-midstream-error")
    assert stream_text(events[:2]) == "Hello from"
    assert events[2]["error"]["code"] == 500
    assert events[3] == "[DONE]"


async def test_stream_midstream_drop(server_url: str) -> None:
    async with httpx.AsyncClient(base_url=server_url) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await sse_events(client, model="fake-midstream-drop")


async def wait_for_stat(client: httpx.AsyncClient, name: str, value: int) -> dict[str, int]:
    for _ in range(200):
        stats: dict[str, int] = (await client.get("/_stats")).json()
        if stats[name] == value:
            return stats
        await asyncio.sleep(0.01)
    raise AssertionError(f"{name} never reached {value}: {stats}")


async def test_stream_client_disconnect_is_counted(server_url: str) -> None:
    async with httpx.AsyncClient(base_url=server_url) as client:
        body = {"model": "fake-slow", "prompt": "hi", "stream": True}
        async with client.stream("POST", "/v1/completions", json=body) as response:
            async for line in response.aiter_lines():
                if line.startswith("data: "):
                    break  # leave after the first chunk
        async with httpx.AsyncClient(base_url=server_url) as probe:
            stats = await wait_for_stat(probe, "cancelled_streams", 1)
    assert stats["completed_streams"] == 0


async def test_hang_until_client_leaves(server_url: str) -> None:
    async with httpx.AsyncClient(base_url=server_url, timeout=0.2) as client:
        with pytest.raises(httpx.ReadTimeout):
            await complete(client, model="fake-hang")
    async with httpx.AsyncClient(base_url=server_url) as probe:
        stats = await wait_for_stat(probe, "cancelled_requests", 1)
    assert stats["in_flight"] == 1  # only the probe


async def test_native_completion_names_the_stop_word(server_url: str) -> None:
    async with httpx.AsyncClient(base_url=server_url) as client:
        body = {"model": "fake", "prompt": "hi there", "stop": ["fake"], "stream": True}
        response = await client.post("/completion", json=body)
        events = [
            json.loads(line[6:]) for line in response.text.splitlines() if line.startswith("data: ")
        ]
        limited = (await client.post("/completion", json={"model": "fake", "n_predict": 2})).json()
    assert "".join(e["content"] for e in events) == "Hello from the "
    last = events[-1]
    assert (last["stop"], last["stop_type"], last["stopping_word"]) == (True, "word", "fake")
    assert (last["tokens_evaluated"], last["tokens_predicted"]) == (2, 4)
    assert (limited["content"], limited["stop_type"]) == ("Hello from", "limit")
