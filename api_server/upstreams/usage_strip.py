"""Take the usage OpenAI adds to a stream out of it, for a client that did not ask for it
(`stream_options.include_usage`) while the gateway did, to charge and log the tokens: the
usage-only chunk is dropped, and the `"usage":null` every other chunk then carries is cut
out of its bytes, so the client receives exactly what it would have without the option."""

from __future__ import annotations

import re

import orjson

# A top-level `"usage": null` member with its comma. Inside a JSON string a quote is
# escaped, so `"usage"` followed by a colon can only be a key.
_NULL_USAGE = re.compile(rb'\s*,\s*"usage"\s*:\s*null(?=\s*[,}])|"usage"\s*:\s*null\s*,\s*')


class StreamUsageStripper:
    """Feed it the upstream's bytes; it returns those the client gets. Complete lines pass
    at once; a partial one waits for its end (one SSE line at most)."""

    def __init__(self) -> None:
        self._pending = bytearray()
        self._dropping = False  # inside the usage chunk's event, up to its blank line

    def feed(self, piece: bytes) -> bytes:
        self._pending += piece
        end = self._pending.rfind(b"\n")
        if end < 0:
            return b""
        complete = bytes(self._pending[: end + 1])
        del self._pending[: end + 1]
        return b"".join(self._line(line) for line in complete.splitlines(keepends=True))

    def flush(self) -> bytes:
        rest = bytes(self._pending)
        self._pending.clear()
        return self._line(rest) if rest else b""

    def _line(self, line: bytes) -> bytes:
        content = line.rstrip(b"\r\n")
        if self._dropping:
            if not content.startswith(b"data:"):
                self._dropping = bool(content)  # its blank line ends the dropped event
                return b""
            self._dropping = False  # a new event without the blank line between
        if content.startswith(b"data:") and b'"usage"' in content:
            if _is_usage_chunk(content[5:]):
                self._dropping = True
                return b""
            return _NULL_USAGE.sub(b"", content) + line[len(content) :]
        return line


def _is_usage_chunk(data: bytes) -> bool:
    """The chunk include_usage adds before [DONE]: usage, and no choices."""
    try:
        payload = orjson.loads(data)
    except orjson.JSONDecodeError:
        return False
    return (
        isinstance(payload, dict)
        and isinstance(payload.get("usage"), dict)
        and not payload.get("choices")
    )
