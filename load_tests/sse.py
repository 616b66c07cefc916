"""Reading an OpenAI chat-completion SSE stream as it arrives: time to first token, the gaps
between token chunks, the answer's text, usage and error events. Text completions
(`/v1/completions`, an engine's stream read directly) carry their tokens in `choices[].text`
and are read the same way. Pure: it is fed `(arrival time, bytes)` pairs, so it is tested
without a network."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class StreamResult:
    ttft_ms: float | None = None  # request sent → first chunk carrying content or a tool call
    itl_ms: list[float] = field(default_factory=list)  # gaps between token-carrying chunks
    completion_tokens: int | None = None  # from the final usage chunk
    error: str | None = None  # an error event, or a stream that ended without [DONE]
    done: bool = False
    token_chunks: int = 0
    pieces: list[str] = field(default_factory=list)  # the answer's text, chunk by chunk

    @property
    def text(self) -> str:
        return "".join(self.pieces)


def read_chat_stream(chunks: Iterable[tuple[float, bytes]], sent_at: float) -> StreamResult:
    """`chunks` are network reads with their arrival time (`time.perf_counter()` seconds);
    events that arrive in the same read share its arrival time, so their gap is 0."""
    result = StreamResult()
    buffer = b""
    last_token_at: float | None = None
    for arrived_at, data in chunks:
        buffer += data
        *events, buffer = buffer.split(b"\n\n")
        for event in events:
            payload = _data_of(event)
            if payload is None:
                continue
            if payload == "[DONE]":
                result.done = True
                continue
            piece = _token_text(_parse(payload, result))
            if piece is None:
                continue
            result.pieces.append(piece)
            result.token_chunks += 1
            if last_token_at is None:
                result.ttft_ms = (arrived_at - sent_at) * 1000
            else:
                result.itl_ms.append((arrived_at - last_token_at) * 1000)
            last_token_at = arrived_at
    if not result.done and result.error is None:
        result.error = "stream ended without [DONE]"
    return result


def _data_of(event: bytes) -> str | None:
    lines = [line[5:].strip() for line in event.split(b"\n") if line.startswith(b"data:")]
    return b"\n".join(lines).decode("utf-8", errors="replace") if lines else None


def _parse(payload: str, result: StreamResult) -> dict[str, Any]:
    try:
        chunk = json.loads(payload)
    except ValueError:
        result.error = result.error or f"malformed SSE data: {payload[:80]!r}"
        return {}
    if not isinstance(chunk, dict):
        return {}
    if "error" in chunk:
        error = chunk["error"]
        message = error.get("message") if isinstance(error, dict) else error
        result.error = result.error or f"error event: {message}"
    usage = chunk.get("usage")
    if isinstance(usage, dict) and isinstance(usage.get("completion_tokens"), int):
        result.completion_tokens = usage["completion_tokens"]
    return chunk


def _token_text(chunk: dict[str, Any]) -> str | None:
    """The text a chunk carries when it carries a token (a tool call's is ""); None for
    a chunk without one (the role chunk, the finish chunk, usage)."""
    for choice in chunk.get("choices") or []:
        delta = choice.get("delta") or {}
        content = delta.get("content") or choice.get("text")
        if content and isinstance(content, str):
            return content
        if delta.get("tool_calls"):
            return ""
    return None
