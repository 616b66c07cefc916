"""A generation as stored in the cache: its chat events with their arrival times, encoded
compactly, and replayed with the same chunking and (optionally) the same pacing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Sequence
from typing import Any, get_args

import orjson

from api_server.chat.events import (
    ChatEvent,
    Finished,
    FinishReason,
    Logprobs,
    TextDelta,
    TokenLogprob,
    ToolCallArgumentsDelta,
    ToolCallStart,
    TopLogprob,
    Usage,
)

FORMAT_VERSION = 1
_FINISH_REASONS: tuple[str, ...] = get_args(FinishReason)

# (milliseconds since the generation started, event)
TimedEvent = tuple[float, ChatEvent]


class RecordingError(ValueError):
    """A cached value that is not a recording this gateway can read."""


def encode_recording(events: Sequence[TimedEvent]) -> bytes:
    return orjson.dumps({"v": FORMAT_VERSION, "e": [_encode(ms, e) for ms, e in events]})


def decode_recording(data: bytes) -> list[TimedEvent]:
    try:
        value = orjson.loads(data)
        if value["v"] != FORMAT_VERSION:
            raise RecordingError(f"format version {value['v']}")
        events = [_decode(item) for item in value["e"]]
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, IndexError) as exc:
        raise RecordingError(str(exc)) from exc
    if not events or not isinstance(events[-1][1], Finished):
        raise RecordingError("a recording ends with its Finished event")
    return events


def _encode(ms: float, event: ChatEvent) -> list[Any]:
    offset = round(ms, 1)
    match event:
        case TextDelta(text):
            return [offset, "t", text]
        case ToolCallStart(index, name, model_id):
            return [offset, "s", index, name, model_id]
        case ToolCallArgumentsDelta(index, fragment):
            return [offset, "a", index, fragment]
        case Logprobs(tokens):
            return [offset, "l", [_encode_token(token) for token in tokens]]
        case Finished(reason, usage, stop_sequence):
            return [
                offset, "f", reason, usage.prompt_tokens, usage.completion_tokens, stop_sequence
            ]  # fmt: skip


def _encode_token(token: TokenLogprob) -> list[Any]:
    top = [[t.token, t.logprob, t.bytes] for t in token.top]
    return [token.token, token.logprob, token.bytes, top]


def _decode_token(item: list[Any]) -> TokenLogprob:
    top = tuple(TopLogprob(str(t), float(lp), _bytes(b)) for t, lp, b in item[3])
    return TokenLogprob(str(item[0]), float(item[1]), _bytes(item[2]), top)


def _bytes(value: Any) -> tuple[int, ...] | None:
    return None if value is None else tuple(int(b) for b in value)


def _decode(item: list[Any]) -> TimedEvent:
    ms, kind = float(item[0]), item[1]
    event: ChatEvent
    if kind == "t":
        event = TextDelta(str(item[2]))
    elif kind == "s":
        event = ToolCallStart(int(item[2]), str(item[3]), item[4])
    elif kind == "a":
        event = ToolCallArgumentsDelta(int(item[2]), str(item[3]))
    elif kind == "l":
        event = Logprobs(tuple(_decode_token(token) for token in item[2]))
    elif kind == "f" and item[2] in _FINISH_REASONS:
        event = Finished(item[2], Usage(int(item[3]), int(item[4])), item[5])
    else:
        raise RecordingError(f"unknown event {kind!r}")
    return ms, event


async def replay(
    events: Sequence[TimedEvent], max_duration_ms: float | None
) -> AsyncGenerator[ChatEvent, None]:
    """Yield `events`; with `max_duration_ms`, paced like the original from the first event
    on (no time to first token), the whole shape compressed to last at most that long, so a
    hit streams like the engine did but is never slower than the cap. None: no pacing."""
    if max_duration_ms is None or len(events) < 2:
        for _, event in events:
            yield event
        return
    first = events[0][0]
    span = events[-1][0] - first
    scale = min(1.0, max_duration_ms / span) if span > 0 else 0.0
    started = time.perf_counter()
    for ms, event in events:
        delay = (ms - first) * scale / 1000 - (time.perf_counter() - started)
        if delay > 0:
            await asyncio.sleep(delay)
        yield event
