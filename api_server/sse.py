"""Server-sent events, per the SSE spec: `event:` and `data:` fields (multi-line data
joined with newlines), comments skipped, a blank line ends an event. One decoder for an
upstream's live stream (`read_sse_events`) and for a whole captured body (`parse_sse`); one
encoder for the named events the gateway sends (`sse_event`: Anthropic's, the Responses
API's)."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson


def sse_event(event_type: str, payload: dict[str, Any]) -> bytes:
    return b"event: " + event_type.encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"


@dataclass(frozen=True, slots=True)
class SSEEvent:
    event: str | None
    data: bytes


@dataclass(slots=True)
class SSEDecoder:
    """Fed one line at a time; gives back each event as its blank line arrives."""

    _event: str | None = None
    _data: list[bytes] = field(default_factory=list)

    def line(self, raw: bytes) -> SSEEvent | None:
        line = raw.rstrip(b"\r\n")
        if not line:
            return self.end()
        if line.startswith(b":"):
            return None
        name, _, value = line.partition(b":")
        if value.startswith(b" "):
            value = value[1:]
        if name == b"event":
            self._event = value.decode(errors="replace")
        elif name == b"data":
            self._data.append(value)
        return None

    def end(self) -> SSEEvent | None:
        """The event in progress, if it has data (a stream cut before its blank line)."""
        event = SSEEvent(self._event, b"\n".join(self._data)) if self._data else None
        self._event, self._data = None, []
        return event


async def read_sse_events(lines: AsyncIterable[bytes]) -> AsyncIterator[SSEEvent]:
    decoder = SSEDecoder()
    async for raw in lines:
        if (event := decoder.line(raw)) is not None:
            yield event
    if (event := decoder.end()) is not None:
        yield event


def parse_sse(body: bytes) -> Iterator[SSEEvent]:
    decoder = SSEDecoder()
    for raw in body.split(b"\n"):
        if (event := decoder.line(raw)) is not None:
            yield event
    if (event := decoder.end()) is not None:
        yield event
