"""Token usage read off relayed responses, OpenAI's or Anthropic's, JSON or SSE."""

from __future__ import annotations

import json
from typing import Any

import pytest

from api_server.chat.events import Usage
from api_server.upstreams.usage import UsageSniffer


def sse(*payloads: dict[str, Any], event: bool = False, done: bool = False) -> bytes:
    out = b""
    for payload in payloads:
        if event:
            out += f"event: {payload['type']}\n".encode()
        out += f"data: {json.dumps(payload)}\n\n".encode()
    return out + (b"data: [DONE]\n\n" if done else b"")


def text_chunk(text: str) -> dict[str, Any]:
    return {
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": {"content": text}}],
    }


OPENAI_STREAM = sse(
    text_chunk("Hello"),
    text_chunk(' "usage" is a word'),  # mentions usage, carries none
    {
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
    },
    {
        "object": "chat.completion.chunk",
        "choices": [],
        "usage": {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19},
    },
    done=True,
)
ANTHROPIC_STREAM = sse(
    {
        "type": "message_start",
        "message": {
            "id": "msg_1",
            "role": "assistant",
            "content": [],
            "usage": {
                "input_tokens": 20,
                "cache_creation_input_tokens": 3,
                "cache_read_input_tokens": 100,
                "output_tokens": 1,
            },
        },
    },
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}},
    {"type": "content_block_stop", "index": 0},
    {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 9}},
    {"type": "message_stop"},
    event=True,
)


def sniff(body: bytes, streaming: bool, split: int | None = None) -> Usage | None:
    sniffer = UsageSniffer(streaming)
    step = split or len(body) or 1
    for start in range(0, len(body), step):
        sniffer.feed(body[start : start + step])
    return sniffer.usage()


@pytest.mark.parametrize("split", [1, 7, 64, None])
@pytest.mark.parametrize(
    ("body", "usage"),
    [
        (OPENAI_STREAM, Usage(12, 7)),
        (OPENAI_STREAM.replace(b"\n", b"\r\n"), Usage(12, 7)),
        (ANTHROPIC_STREAM, Usage(123, 9)),
        (sse(text_chunk("a"), text_chunk("b"), done=True), None),
        (b"", None),
    ],
    ids=["openai", "openai-crlf", "anthropic", "no-usage", "empty"],
)
def test_streamed(body: bytes, usage: Usage | None, split: int | None) -> None:
    assert sniff(body, streaming=True, split=split) == usage


@pytest.mark.parametrize("split", [1, 7, 64, None])
@pytest.mark.parametrize(
    ("payload", "usage"),
    [
        (
            {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}}],
                "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
            },
            Usage(5, 2),
        ),
        (
            {
                "id": "msg_1",
                "type": "message",
                "content": [{"type": "text", "text": "hi"}],
                "usage": {"input_tokens": 8, "cache_read_input_tokens": 2, "output_tokens": 3},
            },
            Usage(10, 3),
        ),
        ({"id": "x", "choices": []}, None),
        ({"error": {"message": "bad"}}, None),
        ({"usage": None}, None),
    ],
    ids=["openai", "anthropic", "no-usage", "error", "usage-null"],
)
def test_not_streamed(payload: dict[str, Any], usage: Usage | None, split: int | None) -> None:
    assert sniff(json.dumps(payload).encode(), streaming=False, split=split) == usage


@pytest.mark.parametrize(
    ("body", "streaming"),
    [
        (b"not json", False),
        (b"[1, 2]", False),
        (b'data: {"usage": oops\n\n', True),
        (b'data: ["usage"]\n\n', True),
        (b'event: x\ndata: {"usage": 1}\n\n', True),  # usage not an object
    ],
)
def test_unreadable_bodies_have_no_usage(body: bytes, streaming: bool) -> None:
    assert sniff(body, streaming) is None


def test_a_usage_line_without_its_newline_is_not_read_yet() -> None:
    sniffer = UsageSniffer(streaming=True)
    line = b'data: {"choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 2}}'
    sniffer.feed(line)
    assert sniffer.usage() is None
    sniffer.feed(b"\n\n")
    assert sniffer.usage() == Usage(1, 2)


def test_a_non_streamed_body_over_the_limit_is_relayed_unread() -> None:
    padding = "x" * (4 * 1024 * 1024)
    body = json.dumps({"pad": padding, "usage": {"prompt_tokens": 1, "completion_tokens": 1}})
    assert sniff(body.encode(), streaming=False, split=64 * 1024) is None
