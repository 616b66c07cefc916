"""Text assembly for every wire format the gateway speaks, table-driven."""

from __future__ import annotations

import json
from typing import Any

import pytest

from api_server.interceptors.text import (
    RequestSummary,
    response_text,
    response_tool_names,
    shorten,
    sse_data,
    sse_payloads,
    summarize_request,
)

SSE = "text/event-stream; charset=utf-8"
JSON = "application/json"


def sse(*payloads: Any, done: bool = False, event: str | None = None) -> bytes:
    lines = []
    for payload in payloads:
        if event:
            lines.append(f"event: {event}\n")
        lines.append(f"data: {json.dumps(payload)}\n\n")
    if done:
        lines.append("data: [DONE]\n\n")
    return "".join(lines).encode()


def chat_chunk(content: str | None) -> dict[str, Any]:
    delta = {} if content is None else {"content": content}
    return {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta}]}


@pytest.mark.parametrize(
    ("content_type", "body", "text"),
    [
        pytest.param(
            SSE,
            sse(chat_chunk("Hel"), chat_chunk("lo"), chat_chunk(None), done=True),
            "Hello",
            id="openai-chat-sse",
        ),
        pytest.param(
            JSON,
            json.dumps({"choices": [{"message": {"role": "assistant", "content": "Hi"}}]}).encode(),
            "Hi",
            id="openai-chat-json",
        ),
        pytest.param(
            JSON,
            json.dumps({"choices": [{"message": {"role": "assistant", "content": None}}]}).encode(),
            "",
            id="openai-chat-json-tool-call-only",
        ),
        pytest.param(
            JSON,
            json.dumps({"choices": [{"text": "legacy"}]}).encode(),
            "legacy",
            id="openai-completion-json",
        ),
        pytest.param(
            JSON,
            json.dumps(
                {
                    "type": "message",
                    "content": [
                        {"type": "text", "text": "Paris"},
                        {"type": "tool_use", "id": "t", "name": "f", "input": {}},
                        {"type": "text", "text": "."},
                    ],
                }
            ).encode(),
            "Paris.",
            id="anthropic-json",
        ),
        pytest.param(
            SSE,
            b"event: message_start\ndata: "
            + json.dumps({"type": "message_start", "message": {"content": []}}).encode()
            + b"\n\n"
            + sse(
                {"type": "content_block_delta", "delta": {"type": "text_delta", "text": "Par"}},
                {"type": "content_block_delta", "delta": {"type": "input_json_delta"}},
                {"type": "content_block_delta", "delta": {"type": "text_delta", "text": "is"}},
                event="content_block_delta",
            ),
            "Paris",
            id="anthropic-sse",
        ),
        pytest.param(
            SSE,
            sse(
                {"type": "start"},
                {"type": "text-start", "id": "0"},
                {"type": "text-delta", "id": "0", "delta": "Bon"},
                {"type": "text-delta", "id": "0", "delta": "jour"},
                {"type": "finish"},
                done=True,
            ),
            "Bonjour",
            id="ai-sdk-ui-stream",
        ),
        pytest.param(JSON, b'{"error": {"message": "nope"}}', "", id="error-envelope"),
        pytest.param(JSON, b"not json", "", id="bad-json"),
        pytest.param("text/plain", b"plain", "", id="not-a-format"),
        pytest.param(SSE, b'data: {"choices": [{"delta": {"content": "cut"}}]}', "cut", id="cut"),
        pytest.param(SSE, b"data: [DONE]\r\n\r\n", "", id="crlf-done-only"),
    ],
)
def test_response_text(content_type: str, body: bytes, text: str) -> None:
    assert response_text(content_type, body) == text


@pytest.mark.parametrize(
    ("body", "data"),
    [
        (b"data: a\n\ndata: b\n\n", ["a", "b"]),
        (b"event: x\ndata: one\ndata: two\n\n", ["one\ntwo"]),
        (b": comment\n\ndata:tight\r\n\r\n", ["tight"]),
        (b"data: partial", ["partial"]),
        (b"", []),
    ],
)
def test_sse_data(body: bytes, data: list[str]) -> None:
    assert sse_data(body) == data


def test_sse_payloads_parse_json_keep_text_and_skip_done() -> None:
    body = b'data: {"a": 1}\n\ndata: hello\n\ndata: [DONE]\n\n'
    assert sse_payloads(body) == [{"a": 1}, "hello"]


@pytest.mark.parametrize(
    ("request_body", "summary"),
    [
        pytest.param(
            {
                "model": "tiny",
                "stream": True,
                "messages": [
                    {"role": "system", "content": "be brief"},
                    {"role": "user", "content": "first"},
                    {"role": "assistant", "content": "ok"},
                    {"role": "user", "content": "second"},
                ],
            },
            RequestSummary("tiny", True, "second"),
            id="openai-chat",
        ),
        pytest.param(
            {
                "model": "claude-x",
                "max_tokens": 5,
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "image", "source": {}},
                            {"type": "text", "text": "what is it?"},
                        ],
                    },
                ],
            },
            RequestSummary("claude-x", False, "what is it?"),
            id="anthropic-parts",
        ),
        pytest.param(
            {"messages": [{"id": "m", "role": "user", "parts": [{"type": "text", "text": "hey"}]}]},
            RequestSummary(None, False, "hey"),
            id="ai-sdk-ui-message",
        ),
        pytest.param(
            {"model": "tiny", "prompt": "Once upon"},
            RequestSummary("tiny", False, "Once upon"),
            id="completion",
        ),
        pytest.param(
            {"model": "emb", "input": ["a", "b"]},
            RequestSummary("emb", False, "b"),
            id="embeddings-list",
        ),
        pytest.param([1, 2], RequestSummary(), id="not-an-object"),
    ],
)
def test_summarize_request(request_body: Any, summary: RequestSummary) -> None:
    assert summarize_request(json.dumps(request_body).encode()) == summary


def test_summarize_request_of_no_json() -> None:
    assert summarize_request(b"") == RequestSummary()
    assert summarize_request(b"\xff\xfe") == RequestSummary()


@pytest.mark.parametrize(
    ("text", "limit", "short"),
    [
        ("short", 80, "short"),
        ("  many\n  spaces\there ", 80, "many spaces here"),
        ("x" * 100, 10, "x" * 9 + "…"),
        ("exactly10!", 10, "exactly10!"),
    ],
)
def test_shorten(text: str, limit: int, short: str) -> None:
    assert shorten(text, limit) == short
    assert len(shorten(text, limit)) <= limit


@pytest.mark.parametrize(
    ("content_type", "body", "names"),
    [
        (
            "application/json",
            json.dumps(
                {"choices": [{"message": {"tool_calls": [{"function": {"name": "get_weather"}}]}}]}
            ).encode(),
            ["get_weather"],
        ),
        (
            "text/event-stream",
            sse(
                {"choices": [{"delta": {"tool_calls": [{"index": 0, "function": {"name": "a"}}]}}]},
                {
                    "choices": [
                        {"delta": {"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]}}
                    ]
                },
            ),
            ["a"],
        ),
        (
            "application/json",
            json.dumps({"content": [{"type": "tool_use", "name": "b"}, {"type": "text"}]}).encode(),
            ["b"],
        ),
        (
            "text/event-stream",
            sse(
                {"type": "content_block_start", "content_block": {"type": "tool_use", "name": "c"}}
            ),
            ["c"],
        ),
        ("text/event-stream", sse({"type": "tool-input-start", "toolName": "d"}), ["d"]),
        ("application/json", b'{"choices": [{"message": {"content": "hi"}}]}', []),
    ],
)
def test_response_tool_names(content_type: str, body: bytes, names: list[str]) -> None:
    assert response_tool_names(content_type, body) == names
