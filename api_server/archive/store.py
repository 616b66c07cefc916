"""The object store interface and its local-folder implementation (the native default)."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import BinaryIO, Protocol

from api_server.archive.object_keys import check_key

# What one read of a streamed object returns at most (uploads and batch files).
CHUNK_BYTES = 1024 * 1024


class ObjectStore(Protocol):
    """Objects by key: small ones whole (`put`, `get`: archived payloads), large ones
    streamed (`put_file`, `open_stream`: the Files API's uploads and batch results), never
    held whole in memory. Every call may raise on a store that is down."""

    async def put(self, key: str, data: bytes) -> None: ...

    async def get(self, key: str) -> bytes | None:
        """The object, or None when no object has this key."""
        ...

    async def put_file(self, key: str, path: Path, content_type: str) -> None:
        """Store the local file at `path` under `key`, read in pieces."""
        ...

    async def open_stream(self, key: str) -> AsyncGenerator[bytes, None] | None:
        """The object's bytes in pieces of at most CHUNK_BYTES, or None when no object has
        this key. Close the generator (`aclose`) when stopping early."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the object; an object already gone is no error."""
        ...


class FilesystemObjectStore:
    """Objects as files under `root`. A write goes to a temporary file beside its target and
    is renamed into place, so a reader never sees half an object."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        return self.root / check_key(key)

    async def put(self, key: str, data: bytes) -> None:
        await asyncio.to_thread(self._write, self.path(key), data)

    async def get(self, key: str) -> bytes | None:
        return await asyncio.to_thread(self._read, self.path(key))

    async def put_file(self, key: str, path: Path, content_type: str) -> None:
        await asyncio.to_thread(self._copy, path, self.path(key))

    async def open_stream(self, key: str) -> AsyncGenerator[bytes, None] | None:
        try:
            file = await asyncio.to_thread(self.path(key).open, "rb")
        except FileNotFoundError:
            return None
        return _chunks_of(file)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.path(key).unlink, missing_ok=True)

    @staticmethod
    def _copy(source: Path, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
        try:
            shutil.copyfile(source, temporary)
            os.replace(temporary, target)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise

    @staticmethod
    def _write(target: Path, data: bytes) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
        try:
            temporary.write_bytes(data)
            os.replace(temporary, target)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise

    @staticmethod
    def _read(target: Path) -> bytes | None:
        try:
            return target.read_bytes()
        except FileNotFoundError:
            return None


async def _chunks_of(file: BinaryIO) -> AsyncGenerator[bytes, None]:
    try:
        while chunk := await asyncio.to_thread(file.read, CHUNK_BYTES):
            yield chunk
    finally:
        file.close()
