"""A stored file as numbered lines, whatever the pieces the store hands it in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from api_server.archive.store import FilesystemObjectStore
from api_server.batchstore.lines import (
    LineTooLongError,
    MissingObjectError,
    numbered_lines,
    stored_lines,
)


async def pieces(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def collect(data: bytes, size: int, limit: int = 100) -> list[tuple[int, bytes]]:
    return [numbered async for numbered in numbered_lines(pieces(data, size), limit)]


@pytest.mark.parametrize("size", [1, 2, 3, 5, 64])
@pytest.mark.parametrize(
    ("data", "lines"),
    [
        (b"a\nbb\n", [(1, b"a"), (2, b"bb")]),
        (b"a\r\nbb\r\n", [(1, b"a"), (2, b"bb")]),
        (b"a\n\nc", [(1, b"a"), (2, b""), (3, b"c")]),  # no end on the last line
        (b"", []),
        (b"\n", [(1, b"")]),
    ],
)
async def test_lines_are_numbered_across_pieces(
    data: bytes, lines: list[tuple[int, bytes]], size: int
) -> None:
    assert await collect(data, size) == lines


@pytest.mark.parametrize("size", [1, 4, 64])
async def test_a_line_past_the_limit_is_named(size: int) -> None:
    with pytest.raises(LineTooLongError) as too_long:
        await collect(b"ok\n" + b"x" * 11 + b"\nok\n", size, limit=10)
    assert (too_long.value.line, too_long.value.limit) == (2, 10)
    assert await collect(b"x" * 10 + b"\r\n", size, limit=10) == [(1, b"x" * 10)]


async def test_a_stored_file_streams_and_a_missing_one_says_so(tmp_path: Path) -> None:
    store = FilesystemObjectStore(tmp_path)
    source = tmp_path / "upload.jsonl"
    source.write_bytes(b"one\ntwo\n")
    await store.put_file("files/abc/file-1", source, "application/jsonl")
    assert [n async for n in stored_lines(store, "files/abc/file-1", 10)] == [
        (1, b"one"),
        (2, b"two"),
    ]
    with pytest.raises(MissingObjectError):
        _ = [n async for n in stored_lines(store, "files/abc/none", 10)]
