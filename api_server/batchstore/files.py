"""The `files` table: one row per stored file, always read within its owner's rows (another
tenant's file is as absent as a file that never was)."""

from __future__ import annotations

import hashlib
from typing import Literal

import asyncpg

from api_server.batchstore.records import FileRecord
from api_server.batchstore.rows import FILE_COLUMNS, INSERT_FILE, record_of, row_values

Order = Literal["asc", "desc"]
JSONL_MEDIA_TYPE = "application/jsonl"  # every stored file's: batch input, output, errors


def file_object_key(owner: str, file_id: str) -> str:
    """Under a folder of the owner's own (a digest: tenants hold ':'), named by the id."""
    digest = hashlib.sha256(owner.encode()).hexdigest()[:32]
    return f"files/{digest}/{file_id}"


class FileRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def insert(self, record: FileRecord) -> None:
        await self.pool.execute(INSERT_FILE, *row_values(record))

    async def get(self, owner: str, file_id: str) -> FileRecord | None:
        row = await self.pool.fetchrow(
            f"SELECT {FILE_COLUMNS} FROM files WHERE id = $1 AND owner = $2",
            file_id,
            owner,
        )
        return None if row is None else record_of(FileRecord, row)

    async def page(
        self, owner: str, *, after: str | None, limit: int, order: Order, purpose: str | None
    ) -> list[FileRecord]:
        """Up to `limit` + 1 files (the extra one says there are more), by creation time;
        after the file `after` when given (none when it is not the owner's)."""
        direction, beyond = ("DESC", "<") if order == "desc" else ("ASC", ">")
        rows = await self.pool.fetch(
            f"SELECT {FILE_COLUMNS} FROM files WHERE owner = $1"
            " AND ($2::text IS NULL OR purpose = $2)"
            f" AND ($3::text IS NULL OR (created_at, id) {beyond}"
            "  (SELECT created_at, id FROM files WHERE id = $3 AND owner = $1))"
            f" ORDER BY created_at {direction}, id {direction} LIMIT $4",
            owner,
            purpose,
            after,
            limit + 1,
        )
        return [record_of(FileRecord, row) for row in rows]

    async def delete(self, owner: str, file_id: str) -> FileRecord | None:
        """The row deleted, or None when the owner has no such file."""
        row = await self.pool.fetchrow(
            f"DELETE FROM files WHERE id = $1 AND owner = $2 RETURNING {FILE_COLUMNS}",
            file_id,
            owner,
        )
        return None if row is None else record_of(FileRecord, row)
