"""Server-sent events off an upstream's byte lines: table-driven."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from api_server.sse import SSEEvent, parse_sse, read_sse_events


async def lines_of(*lines: bytes) -> AsyncIterator[bytes]:
    for line in lines:
        yield line


async def events(*lines: bytes) -> list[SSEEvent]:
    return [event async for event in read_sse_events(lines_of(*lines))]


CASES = [
    pytest.param(
        [b"event: message_start\n", b'data: {"a": 1}\n', b"\n"],
        [SSEEvent("message_start", b'{"a": 1}')],
        id="event-and-data",
    ),
    pytest.param(
        [b'data: {"a": 1}\n', b"\n"],
        [SSEEvent(None, b'{"a": 1}')],
        id="data-only",
    ),
    pytest.param(
        [b"data: one\n", b"data: two\n", b"data: three\n", b"\n"],
        [SSEEvent(None, b"one\ntwo\nthree")],
        id="multi-line-data",
    ),
    pytest.param(
        [b": keep-alive\n", b"\n", b"data: x\n", b":comment\n", b"\n"],
        [SSEEvent(None, b"x")],
        id="comments-skipped",
    ),
    pytest.param(
        [b"event: ping\r\n", b"data: {}\r\n", b"\r\n", b"data: y\r\n", b"\r\n"],
        [SSEEvent("ping", b"{}"), SSEEvent(None, b"y")],
        id="crlf",
    ),
    pytest.param(
        [b"data: a\n", b"\n", b"data: b\n"],
        [SSEEvent(None, b"a"), SSEEvent(None, b"b")],
        id="no-blank-line-at-eof",
    ),
    pytest.param(
        [b"data: a"],
        [SSEEvent(None, b"a")],
        id="no-newline-at-eof",
    ),
    pytest.param(
        [b'data:{"a":1}\n', b"\n"],
        [SSEEvent(None, b'{"a":1}')],
        id="data-without-space",
    ),
    pytest.param(
        [b"data:  two spaces\n", b"\n"],
        [SSEEvent(None, b" two spaces")],
        id="only-one-space-stripped",
    ),
    pytest.param(
        [b"event:delta\n", b"data: 1\n", b"\n"],
        [SSEEvent("delta", b"1")],
        id="event-without-space",
    ),
    pytest.param(
        [b"event: a\n", b"data: 1\n", b"\n", b"data: 2\n", b"\n"],
        [SSEEvent("a", b"1"), SSEEvent(None, b"2")],
        id="event-name-reset-after-dispatch",
    ),
    pytest.param(
        [b"event: lonely\n", b"\n", b"data: 2\n", b"\n"],
        [SSEEvent(None, b"2")],
        id="event-without-data-not-dispatched",
    ),
    pytest.param(
        [b"id: 7\n", b"retry: 100\n", b"data: x\n", b"\n"],
        [SSEEvent(None, b"x")],
        id="other-fields-ignored",
    ),
    pytest.param(
        [b"data: [DONE]\n", b"\n"],
        [SSEEvent(None, b"[DONE]")],
        id="done-marker-is-data",
    ),
    pytest.param([b"\n", b"\n"], [], id="only-blank-lines"),
    pytest.param([], [], id="empty"),
]


@pytest.mark.parametrize(("lines", "expected"), CASES)
async def test_read_sse_events(lines: list[bytes], expected: list[SSEEvent]) -> None:
    assert await events(*lines) == expected


@pytest.mark.parametrize(("lines", "expected"), CASES)
def test_a_whole_body_parses_like_the_stream(lines: list[bytes], expected: list[SSEEvent]) -> None:
    assert list(parse_sse(b"".join(lines))) == expected
