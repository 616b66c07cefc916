"""The usage the gateway asked an OpenAI stream for, taken back out for a client that did
not ask: exactly the bytes it would have had, however the stream is split."""

from __future__ import annotations

import pytest

from api_server.upstreams.usage_strip import StreamUsageStripper

# OpenAI's own shape with include_usage: `"usage":null` on each chunk, then a usage chunk.
WITH_USAGE = (
    b'data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,'
    b'"delta":{"content":"Hi"},"finish_reason":null}],"usage":null}\n\n'
    b'data: {"id":"c1","usage":null,"choices":[{"index":0,"delta":{},'
    b'"finish_reason":"stop"}]}\n\n'
    b'data: {"id":"c1","object":"chat.completion.chunk","choices":[],'
    b'"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}\n\n'
    b"data: [DONE]\n\n"
)
WITHOUT_USAGE = (
    b'data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,'
    b'"delta":{"content":"Hi"},"finish_reason":null}]}\n\n'
    b'data: {"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
    b"data: [DONE]\n\n"
)


def stripped(stream: bytes, size: int) -> bytes:
    stripper = StreamUsageStripper()
    pieces = [stripper.feed(stream[i : i + size]) for i in range(0, len(stream), size)]
    return b"".join(pieces) + stripper.flush()


@pytest.mark.parametrize("size", [1, 3, 7, 64, 10_000])
def test_the_client_gets_the_stream_it_would_have_had(size: int) -> None:
    assert stripped(WITH_USAGE, size) == WITHOUT_USAGE


def test_spaced_json_and_crlf_lines() -> None:
    stream = (
        b'data: {"choices": [{"delta": {"content": "a"}}], "usage": null}\r\n\r\n'
        b'data: {"choices": [], "usage": {"prompt_tokens": 1}}\r\n\r\n'
        b"data: [DONE]\r\n\r\n"
    )
    expected = b'data: {"choices": [{"delta": {"content": "a"}}]}\r\n\r\ndata: [DONE]\r\n\r\n'
    assert stripped(stream, 5) == expected


def test_text_that_mentions_usage_is_left_alone() -> None:
    line = b'data: {"choices":[{"delta":{"content":"\\"usage\\":null, \\"usage\\""}}]}\n\n'
    assert stripped(line, 4) == line


def test_a_stream_without_usage_passes_unchanged() -> None:
    assert stripped(WITHOUT_USAGE, 9) == WITHOUT_USAGE
