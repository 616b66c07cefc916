"""A stored JSONL file as numbered lines, read in pieces: never more than one line (at most
`max_line_bytes`) and one piece of the object in memory."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator

from api_server.archive.store import ObjectStore


class MissingObjectError(LookupError):
    """The file's row is there but its object is not (removed from the store by hand)."""


class LineTooLongError(ValueError):
    def __init__(self, line: int, limit: int) -> None:
        super().__init__(f"line {line} is longer than {limit} bytes")
        self.line = line
        self.limit = limit


async def numbered_lines(
    chunks: AsyncIterator[bytes], max_line_bytes: int
) -> AsyncGenerator[tuple[int, bytes], None]:
    """(1-based number, line without its end: LF or CRLF) for every line, blank ones
    included; a last line without an end counts too. LineTooLongError past the limit."""
    number, partial = 0, bytearray()
    async for chunk in chunks:
        start = 0
        while (end := chunk.find(b"\n", start)) != -1:
            partial += chunk[start:end]
            number += 1
            _check(number, partial, max_line_bytes)
            yield number, bytes(partial.removesuffix(b"\r"))
            partial.clear()
            start = end + 1
        partial += chunk[start:]
        _check(number + 1, partial, max_line_bytes)
    if partial:
        yield number + 1, bytes(partial.removesuffix(b"\r"))


async def stored_lines(
    store: ObjectStore, key: str, max_line_bytes: int
) -> AsyncGenerator[tuple[int, bytes], None]:
    """`numbered_lines` of the object under `key`; MissingObjectError when it is gone."""
    chunks = await store.open_stream(key)
    if chunks is None:
        raise MissingObjectError(key)
    try:
        async for numbered in numbered_lines(chunks, max_line_bytes):
            yield numbered
    finally:
        await chunks.aclose()


def _check(number: int, partial: bytearray, limit: int) -> None:
    # The line's end (CR) is not the line's: a limit-long line ending in CRLF is allowed.
    if len(partial) > limit + 1 or (len(partial) == limit + 1 and not partial.endswith(b"\r")):
        raise LineTooLongError(number, limit)
