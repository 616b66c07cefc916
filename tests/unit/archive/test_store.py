from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from api_server.archive.store import CHUNK_BYTES, FilesystemObjectStore


async def test_round_trip_and_overwrite(tmp_path: Path) -> None:
    store = FilesystemObjectStore(tmp_path / "objects")
    await store.put("2025/01/02/req-1.json", b'{"a": 1}')
    assert await store.get("2025/01/02/req-1.json") == b'{"a": 1}'
    await store.put("2025/01/02/req-1.json", b'{"a": 2}')
    assert await store.get("2025/01/02/req-1.json") == b'{"a": 2}'
    # Written by rename: no temporary file is left beside the object.
    assert _names(tmp_path / "objects/2025/01/02") == ["req-1.json"]


async def test_missing_key_is_none(tmp_path: Path) -> None:
    store = FilesystemObjectStore(tmp_path)
    assert await store.get("2025/01/02/nothing.json") is None


async def test_concurrent_writers_of_one_key_leave_one_whole_object(tmp_path: Path) -> None:
    store = FilesystemObjectStore(tmp_path)
    payloads = [bytes([65 + i]) * 100_000 for i in range(8)]
    await asyncio.gather(*(store.put("k.json", data) for data in payloads))
    assert await store.get("k.json") in payloads
    assert _names(tmp_path) == ["k.json"]


async def test_keys_outside_the_root_are_refused(tmp_path: Path) -> None:
    store = FilesystemObjectStore(tmp_path / "root")
    with pytest.raises(ValueError):
        await store.put("../escape.json", b"x")
    with pytest.raises(ValueError):
        await store.get("/etc/passwd")
    assert not (tmp_path / "escape.json").exists()


def _names(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


async def test_files_stream_in_and_out_in_pieces(tmp_path: Path) -> None:
    store = FilesystemObjectStore(tmp_path / "objects")
    source = tmp_path / "upload.jsonl"
    data = b"0123456789" * (CHUNK_BYTES // 4)  # two and a half pieces
    source.write_bytes(data)
    await store.put_file("files/abc/file-1", source, "application/jsonl")
    chunks = await store.open_stream("files/abc/file-1")
    assert chunks is not None
    pieces = [piece async for piece in chunks]
    assert [len(piece) for piece in pieces] == [
        CHUNK_BYTES,
        CHUNK_BYTES,
        len(data) - 2 * CHUNK_BYTES,
    ]
    assert b"".join(pieces) == data
    assert _names(tmp_path / "objects/files/abc") == ["file-1"]  # no temporary file left
    assert await store.open_stream("files/abc/none") is None
    await store.delete("files/abc/file-1")
    await store.delete("files/abc/file-1")  # already gone: no error
    assert await store.open_stream("files/abc/file-1") is None
    with pytest.raises(ValueError):
        await store.put_file("../escape", source, "application/jsonl")


async def test_a_stream_closed_early_closes_its_file(tmp_path: Path) -> None:
    store = FilesystemObjectStore(tmp_path)
    await store.put("k", b"x" * (CHUNK_BYTES + 1))
    chunks = await store.open_stream("k")
    assert chunks is not None
    assert len(await anext(chunks)) == CHUNK_BYTES
    await chunks.aclose()  # the file is closed: no ResourceWarning (warnings are errors)
