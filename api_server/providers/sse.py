"""Server-sent events read off an upstream's response, per the SSE spec: `event:` and
`data:` fields (multi-line data joined), comments skipped, a blank line ends an event."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SSEEvent:
    event: str | None
    data: bytes


async def read_sse_events(lines: AsyncIterable[bytes]) -> AsyncIterator[SSEEvent]:
    event: str | None = None
    data: list[bytes] = []
    async for raw in lines:
        line = raw.rstrip(b"\r\n")
        if not line:
            if data:
                yield SSEEvent(event, b"\n".join(data))
            event, data = None, []
            continue
        if line.startswith(b":"):
            continue
        name, _, value = line.partition(b":")
        if value.startswith(b" "):
            value = value[1:]
        if name == b"event":
            event = value.decode(errors="replace")
        elif name == b"data":
            data.append(value)
    if data:
        yield SSEEvent(event, b"\n".join(data))
